"""The state of an Agent Director: the orders attached to it and the items they need.

Same events as the Controller's for orders, so both sides fold an order identically; the Agent's
own events (dedication, attached items) and the removal of a detached order are handled here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from js7es.domain import codec
from js7es.domain.agent.events import (
    AgentDedicatedToController,
    ItemAttachedToMe,
    ItemDetachedFromMe,
    SubagentDedicated,
    SubagentEventsObserved,
    SubagentReset,
    SubagentRestarted,
)
from js7es.domain.agent.subagent_events import SubagentResetStarted
from js7es.domain.cluster import ClusterEmpty, ClusterEvent
from js7es.domain.event import Event
from js7es.domain.items import BUNDLE_TYPES, JobResource, SubagentBundle, SubagentItem, parse_simple_item
from js7es.domain.order.apply import apply_order
from js7es.domain.order.events import OrderDetached, OrderEvent
from js7es.domain.orderwatch.events import OrderWatchEvent
from js7es.domain.orderwatch.item import FileWatch
from js7es.domain.orderwatch.state import FileWatchState, file_watch_from_snapshot
from js7es.domain.problem import Problem, problem
from js7es.domain.state import ControllerState
from js7es.domain.value import value_to_json
from js7es.domain.workflow.parse import parse_workflow
from js7es.domain.workflow.workflow import Workflow, WorkflowId
from js7es.domain.workflow_control import WorkflowPathControl, parse_workflow_control


@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentRun:
    """The Director's view of a remote Subagent it dedicated (JS7's SubagentItemState): the Subagent's
    run, and the EventId up to which the Director has journaled that run's events. An ended run is kept
    so that the Director can tell it from a new one: a Subagent reset while unreachable still runs it."""

    subagent_run_id: str
    event_id: int = 0
    ended: bool = False  # SubagentRestarted or SubagentReset: a new run must be dedicated (never this one)


class AgentState(ControllerState):
    def __init__(self) -> None:
        super().__init__()
        # Which Director of the AgentRef's `directors` runs this state (0, or 1 for a pair's Backup): the
        # node's own configuration, not an event — each node of a pair sets it for itself.
        self.local_director = 0
        self.agent_path: str | None = None
        self.controller_id: str | None = None
        self.agent_run_id: str | None = None
        self.directors: tuple[str, ...] = ()
        self.file_watches: dict[str, FileWatchState] = {}  # the FileWatches this Agent runs, by path
        self.subagent_runs: dict[str, SubagentRun] = {}  # remote Subagents dedicated to this Director

    @property
    def local_subagent_id(self) -> str | None:
        """The Subagent of the Director running this state: the first of the AgentRef's directors, or of a
        Director pair the one of this node (`local_director`: 0 Primary, 1 Backup)."""
        if not self.directors:
            return self.agent_path
        return self.directors[min(self.local_director, len(self.directors) - 1)]

    @property
    def local_subagent_enabled(self) -> bool:
        """Whether jobs may start here: the Controller may disable the Director's own Subagent (its
        SubagentItem's `disabled`), and then orders wait until it is enabled again (JS7's
        SubagentDisabledTest); processes already running go on."""
        subagent = self.subagents.get(self.local_subagent_id or "")
        return subagent is None or not subagent.disabled

    @property
    def is_dedicated(self) -> bool:
        return self.agent_run_id is not None

    def apply_event(self, key: str, event: Event) -> Problem | None:
        match event:
            case AgentDedicatedToController():
                if self.is_dedicated:
                    return problem("AgentAlreadyDedicated", f"Agent is dedicated to {self.controller_id}")
                self.agent_path, self.controller_id = event.agent_path, event.controller_id
                self.agent_run_id, self.directors = event.agent_run_id, event.directors
                return None
            case SubagentDedicated(subagent_run_id=run_id):
                self.subagent_runs[key] = SubagentRun(subagent_run_id=run_id)
                return None
            case SubagentEventsObserved(until_event_id=until):
                run = self.subagent_runs.get(key)
                if run is None or run.ended:
                    return problem("SubagentNotDedicated", f"SubagentEventsObserved of {key!r}, not dedicated")
                self.subagent_runs[key] = SubagentRun(subagent_run_id=run.subagent_run_id, event_id=until)
                return None
            case SubagentRestarted() | SubagentReset():
                run = self.subagent_runs.get(key)
                if run is not None:
                    self.subagent_runs[key] = SubagentRun(
                        subagent_run_id=run.subagent_run_id, event_id=run.event_id, ended=True
                    )
                return None
            case ItemAttachedToMe(item=item):
                return self._attach_item(value_to_json(item))
            case ItemDetachedFromMe(key=item_key) if item_key.startswith("OrderWatch:"):
                if self.file_watches.pop(item_key.removeprefix("OrderWatch:"), None) is None:
                    return problem("UnknownItem", f"Unknown item {item_key}")
                return None
            case ItemDetachedFromMe(key=item_key):
                return self._delete_item(item_key)
            case SubagentResetStarted():  # the Director resets the Subagent's connection (its pool)
                if key not in self.subagents:
                    return problem("UnknownItem", f"SubagentResetStarted for unknown SubagentItem:{key}")
                return None
            case OrderWatchEvent():
                watch = self.file_watches.get(key)
                if watch is None:
                    return problem("UnknownItem", f"{type(event).__name__} for unknown OrderWatch:{key}")
                return watch.apply_event(event)
            case OrderDetached():
                order = self.orders.get(key)
                if order is None:
                    return problem("UnknownOrder", f"Unknown order {key!r} for OrderDetached")
                checked = apply_order(order, event)
                if isinstance(checked, Problem):
                    return checked
                self._remove_order(key)  # the Controller has it now
                return None
            case OrderEvent() | ClusterEvent():  # ClusterEvent: a Director pair (the Controller's cluster machinery)
                return super().apply_event(key, event)
        return problem("UnknownEvent", f"AgentState cannot apply {type(event).__name__}")

    def _attach_item(self, obj: Any) -> Problem | None:
        if isinstance(obj, Mapping) and obj.get("TYPE") == "WorkflowControl":  # breakpoints hold orders here too
            control = parse_workflow_control(obj)
            if isinstance(control, Problem):
                return control
            self.workflow_controls[WorkflowId(control.workflow_path, control.version_id)] = control
            return None
        if isinstance(obj, Mapping) and "instructions" in obj:
            workflow = parse_workflow(obj, committed=True)  # the Controller deployed it
            if isinstance(workflow, Problem):
                return workflow
            self.workflows[workflow.id] = workflow
            return None
        item = parse_simple_item(obj, committed=True)
        if isinstance(item, Problem):
            return item
        if isinstance(item, SubagentItem):
            if self.agent_path is not None and item.agent_path != self.agent_path:
                return problem(
                    "InvalidItem", f"{item.key} belongs to Agent {item.agent_path!r}, not {self.agent_path!r}"
                )
            self.subagents[item.id] = item
            return None
        if isinstance(item, SubagentBundle):  # the Controller sends an Agent the bundles of its Subagents
            self.subagent_bundles[item.id] = item
            return None
        if isinstance(item, FileWatch):  # watched here (js7es.nodes.agent.file_watch)
            if self.agent_path is not None and item.agent_path != self.agent_path:
                return problem("InvalidItem", f"{item.key} belongs to Agent {item.agent_path!r}")
            existing = self.file_watches.get(item.path)
            if existing is not None and existing.files and existing.item.directory_expr != item.directory_expr:
                return problem("InvalidItem", f"{item.key}: its files must vanish before the directory changes")
            files = existing.files if existing is not None else set()
            self.file_watches[item.path] = FileWatchState(item=item, files=files)
            return None
        if isinstance(item, WorkflowPathControl):  # the Agent holds the workflow's orders too
            self.workflow_path_controls[item.path] = item
            return None
        if not isinstance(item, JobResource):
            return problem("InvalidItem", f"{item.key} is not attached to Agents")
        self.job_resources[item.path] = item
        return None

    def has_item(self, obj: Any) -> bool:
        """Whether exactly this item is attached already (attaching is idempotent)."""
        if not isinstance(obj, Mapping):
            return False
        existing: Workflow | JobResource | SubagentItem | SubagentBundle | WorkflowPathControl | None
        if obj.get("TYPE") == "WorkflowControl":
            control = parse_workflow_control(obj)
            return (
                not isinstance(control, Problem)
                and self.workflow_controls.get(WorkflowId(control.workflow_path, control.version_id)) == control
            )
        if "instructions" in obj:
            existing = self.workflows.get(WorkflowId(str(obj.get("path")), str(obj.get("versionId"))))
        elif obj.get("TYPE") in ("SubagentItem", "Subagent"):
            existing = self.subagents.get(str(obj.get("id")))
            obj = {**obj, "TYPE": "SubagentItem"}
        elif obj.get("TYPE") in BUNDLE_TYPES:
            existing = self.subagent_bundles.get(str(obj.get("id")))
            obj = {**obj, "TYPE": "SubagentBundle"}
        elif obj.get("TYPE") == "WorkflowPathControl":
            existing = self.workflow_path_controls.get(str(obj.get("path")))
        elif obj.get("TYPE") == "FileWatch":
            watch = self.file_watches.get(str(obj.get("path")))
            return watch is not None and dict(watch.item.raw) == dict(obj)
        else:
            existing = self.job_resources.get(str(obj.get("path")))
        return existing is not None and dict(existing.raw) == dict(obj)

    def snapshot_objects(self) -> Iterator[dict[str, Any]]:
        yield {
            "TYPE": "AgentMetaState",
            "lastEventId": self.last_event_id,
            "agentPath": self.agent_path,
            "controllerId": self.controller_id,
            "agentRunId": self.agent_run_id,
            "directors": list(self.directors),
            **({"subagentRuns": self._subagent_runs_json()} if self.subagent_runs else {}),
        }
        if not isinstance(self.cluster, ClusterEmpty):
            yield {"TYPE": "ClusterStateSnapshot", "clusterState": codec.encode(self.cluster)}
        for sub in sorted(self.subagents.values(), key=lambda i: i.id):
            yield {"TYPE": "SimpleItem", "item": dict(sub.raw)}
        for bundle in sorted(self.subagent_bundles.values(), key=lambda i: i.id):
            yield {"TYPE": "SimpleItem", "item": dict(bundle.raw)}
        for res in sorted(self.job_resources.values(), key=lambda i: i.path):
            yield {"TYPE": "SimpleItem", "item": dict(res.raw)}
        for control in sorted(self.workflow_path_controls.values(), key=lambda i: i.path):
            yield {"TYPE": "SimpleItem", "item": dict(control.raw)}
        for path in sorted(self.file_watches):
            yield from self.file_watches[path].snapshot_objects()
        for wid in sorted(self.workflows, key=str):
            yield {"TYPE": "WorkflowItem", "item": dict(self.workflows[wid].raw)}
        for wid in sorted(self.workflow_controls, key=str):
            yield self.workflow_controls[wid].to_json()
        for order_id in sorted(self.orders):
            yield codec.encode(self.orders[order_id])

    def _subagent_runs_json(self) -> dict[str, Any]:
        return {
            i: {"subagentRunId": run.subagent_run_id, "eventId": run.event_id, **({"ended": True} if run.ended else {})}
            for i, run in sorted(self.subagent_runs.items())
        }

    def _restore(self, obj: Mapping[str, Any]) -> None:
        if obj.get("TYPE") == "FileWatchState":
            watch = file_watch_from_snapshot(obj)
            if isinstance(watch, Problem):
                raise ValueError(f"Bad snapshot FileWatch: {watch}")
            self.file_watches[watch.item.path] = watch
        elif obj.get("TYPE") == "FileWatchState.File":
            self.file_watches[obj["orderWatchPath"]].files.add(obj["path"])
        elif obj.get("TYPE") == "AgentMetaState":
            self.last_event_id = int(obj["lastEventId"])
            self.agent_path = obj.get("agentPath")
            self.controller_id = obj.get("controllerId")
            self.agent_run_id = obj.get("agentRunId")
            self.directors = tuple(obj.get("directors", ()))
            self.subagent_runs = {
                subagent_id: SubagentRun(
                    subagent_run_id=str(run["subagentRunId"]),
                    event_id=int(run["eventId"]),
                    ended=bool(run.get("ended", False)),
                )
                for subagent_id, run in obj.get("subagentRuns", {}).items()
            }
        else:
            super()._restore(obj)

    def summary(self) -> dict[str, Any]:
        return {
            **super().summary(),
            "agentPath": self.agent_path,
            "controllerId": self.controller_id,
            "fileWatches": len(self.file_watches),
        }
