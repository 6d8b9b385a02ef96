"""The state of an Agent Director: the orders attached to it and the items they need.

Same events as the Controller's for orders, so both sides fold an order identically; the Agent's
own events (dedication, attached items) and the removal of a detached order are handled here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from js7es.domain import codec
from js7es.domain.agent.events import AgentDedicatedToController, ItemAttachedToMe, ItemDetachedFromMe
from js7es.domain.event import Event
from js7es.domain.items import JobResource, parse_simple_item
from js7es.domain.order.apply import apply_order
from js7es.domain.order.events import OrderDetached, OrderEvent
from js7es.domain.problem import Problem, problem
from js7es.domain.state import ControllerState
from js7es.domain.value import value_to_json
from js7es.domain.workflow.parse import parse_workflow
from js7es.domain.workflow.workflow import WorkflowId


class AgentState(ControllerState):
    def __init__(self) -> None:
        super().__init__()
        self.agent_path: str | None = None
        self.controller_id: str | None = None
        self.agent_run_id: str | None = None
        self.directors: tuple[str, ...] = ()

    @property
    def local_subagent_id(self) -> str | None:
        return self.directors[0] if self.directors else self.agent_path

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
            case ItemAttachedToMe(item=item):
                return self._attach_item(value_to_json(item))
            case ItemDetachedFromMe(key=item_key):
                return self._delete_item(item_key)
            case OrderDetached():
                order = self.orders.get(key)
                if order is None:
                    return problem("UnknownOrder", f"Unknown order {key!r} for OrderDetached")
                checked = apply_order(order, event)
                if isinstance(checked, Problem):
                    return checked
                self._remove_order(key)  # the Controller has it now
                return None
            case OrderEvent():
                return super().apply_event(key, event)
        return problem("UnknownEvent", f"AgentState cannot apply {type(event).__name__}")

    def _attach_item(self, obj: Any) -> Problem | None:
        if isinstance(obj, Mapping) and "instructions" in obj:
            workflow = parse_workflow(obj, committed=True)  # the Controller deployed it
            if isinstance(workflow, Problem):
                return workflow
            self.workflows[workflow.id] = workflow
            return None
        item = parse_simple_item(obj, committed=True)
        if isinstance(item, Problem):
            return item
        if not isinstance(item, JobResource):
            return problem("InvalidItem", f"{item.key} is not attached to Agents")
        self.job_resources[item.path] = item
        return None

    def has_item(self, obj: Any) -> bool:
        """Whether exactly this item is attached already (attaching is idempotent)."""
        if isinstance(obj, Mapping) and "instructions" in obj:
            wid = WorkflowId(str(obj.get("path")), str(obj.get("versionId")))
            existing = self.workflows.get(wid)
            return existing is not None and dict(existing.raw) == dict(obj)
        existing_resource = self.job_resources.get(str(obj.get("path"))) if isinstance(obj, Mapping) else None
        return existing_resource is not None and dict(existing_resource.raw) == dict(obj)

    def snapshot_objects(self) -> Iterator[dict[str, Any]]:
        yield {
            "TYPE": "AgentMetaState",
            "lastEventId": self.last_event_id,
            "agentPath": self.agent_path,
            "controllerId": self.controller_id,
            "agentRunId": self.agent_run_id,
            "directors": list(self.directors),
        }
        for res in sorted(self.job_resources.values(), key=lambda i: i.path):
            yield {"TYPE": "SimpleItem", "item": dict(res.raw)}
        for wid in sorted(self.workflows, key=str):
            yield {"TYPE": "WorkflowItem", "item": dict(self.workflows[wid].raw)}
        for order_id in sorted(self.orders):
            yield codec.encode(self.orders[order_id])

    def _restore(self, obj: Mapping[str, Any]) -> None:
        if obj.get("TYPE") == "AgentMetaState":
            self.last_event_id = int(obj["lastEventId"])
            self.agent_path = obj.get("agentPath")
            self.controller_id = obj.get("controllerId")
            self.agent_run_id = obj.get("agentRunId")
            self.directors = tuple(obj.get("directors", ()))
        else:
            super()._restore(obj)

    def summary(self) -> dict[str, Any]:
        return {**super().summary(), "agentPath": self.agent_path, "controllerId": self.controller_id}
