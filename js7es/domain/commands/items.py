"""UpdateItems: deploy workflows, job resources, agent refs, subagents and calendars, all or nothing.

Operations in JS7's ItemOperation form: AddVersion{versionId}, AddOrChangeSimple{item},
AddOrChangeSigned{signedString:{string}} (the signature is not checked yet), RemoveVersioned{path},
DeleteSimple{path: "AgentRef:a"}. A workflow may also come with AddOrChangeSimple (TYPE Workflow).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from js7es.domain import codec
from js7es.domain.board.item import GlobalBoard, PlannableBoard
from js7es.domain.board.references import check_board_references
from js7es.domain.calendar.item import CalendarItem
from js7es.domain.commands.base import Command, Decided, handles
from js7es.domain.commands.subagent_references import check_subagent_references
from js7es.domain.event import NO_KEY, Event, KeyedEvent
from js7es.domain.items import (
    AgentRef,
    ItemDeleted,
    JobResource,
    SignedItemAdded,
    SignedItemChanged,
    SimpleItem,
    SubagentBundle,
    SubagentItem,
    UnsignedSimpleItemAdded,
    UnsignedSimpleItemChanged,
    VersionAdded,
    VersionedItemAdded,
    VersionedItemChanged,
    VersionedItemRemoved,
    parse_simple_item,
    simple_item_id,
)
from js7es.domain.lock import Lock, holders
from js7es.domain.order.context import Context
from js7es.domain.order.events import OrderExternalVanished
from js7es.domain.orderwatch.item import FileWatch
from js7es.domain.problem import Problem, problem
from js7es.domain.value import Value, loads, value_from_json, value_to_json
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import LockInstruction
from js7es.domain.workflow.parse import parse_workflow
from js7es.domain.workflow.workflow import Workflow, WorkflowId
from js7es.domain.workflow_control import WorkflowPathControl

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateItems(Command):
    operations: tuple[Value, ...]


@dataclass(slots=True)
class _Batch:
    version_id: str | None = None
    workflows: list[Mapping[str, Any]] | None = None
    simple: list[SimpleItem] | None = None
    removed_paths: list[str] | None = None
    deleted_keys: list[str] | None = None


@handles(UpdateItems)
def update_items(state: ControllerState, command: UpdateItems, ctx: Context) -> Decided | Problem:
    batch = _Batch(workflows=[], simple=[], removed_paths=[], deleted_keys=[])
    for nr, operation in enumerate(command.operations):
        checked = _read_operation(batch, value_to_json(operation), nr)
        if checked is not None:
            return checked
    assert batch.workflows is not None and batch.simple is not None
    assert batch.removed_paths is not None and batch.deleted_keys is not None

    workflows: list[Workflow] = []
    for obj in batch.workflows:
        version_id = obj.get("versionId") or batch.version_id
        if not version_id:
            return problem("MissingVersionId", f"Workflow {obj.get('path')!r} needs a versionId (AddVersion)")
        parsed = parse_workflow(obj, version_id=version_id)
        if isinstance(parsed, Problem):
            where = obj.get("path", "?")
            return problem(parsed.code, f"Workflow {where}: {parsed.message}", workflow=where, **parsed.arguments)
        workflows.append(parsed)
    if batch.version_id is not None and batch.version_id in state.versions:
        return problem("DuplicateVersion", f"Version {batch.version_id!r} exists already")
    for workflow in workflows:
        if workflow.id in state.workflows:
            return problem("DuplicateVersion", f"Workflow {workflow.id} exists already")
    paths = [w.path for w in workflows]
    if len(set(paths)) != len(paths):
        return problem("DuplicateItem", "A workflow path occurs twice in one deployment")

    checked = _check_references(state, workflows, batch.simple, batch.removed_paths, batch.deleted_keys)
    if checked is not None:
        return checked
    vanishing = _file_orders_vanishing(state, batch.deleted_keys)
    events = (*vanishing, *(KeyedEvent(NO_KEY, e) for e in _events(state, batch, workflows)))
    return Decided(events=events, touched_orders=tuple(k.key for k in vanishing))


def _read_operation(batch: _Batch, op: Any, nr: int) -> Problem | None:
    assert batch.workflows is not None and batch.simple is not None
    assert batch.removed_paths is not None and batch.deleted_keys is not None
    if not isinstance(op, Mapping):
        return problem("InvalidItemOperation", f"Operation {nr} must be an object")
    match op.get("TYPE"):
        case "AddVersion":
            version_id = op.get("versionId")
            if not isinstance(version_id, str) or not version_id or "~" in version_id:
                return problem("InvalidVersionId", f"Invalid versionId {version_id!r}")
            if batch.version_id is not None:
                return problem("InvalidItemOperation", "Only one AddVersion per deployment")
            batch.version_id = version_id
        case "AddOrChangeSigned":
            signed = op.get("signedString")
            text = signed.get("string") if isinstance(signed, Mapping) else None
            if not isinstance(text, str):
                return problem("InvalidItemOperation", f"Operation {nr}: signedString.string is missing")
            try:
                item = loads(text)  # numbers exact, as everywhere in js7es
            except ValueError as e:
                return problem("InvalidItemOperation", f"Operation {nr}: the signed string is no JSON: {e}")
            return _add_item(batch, item, nr)
        case "AddOrChangeSimple":
            return _add_item(batch, op.get("item"), nr)
        case "RemoveVersioned":
            path = op.get("path")
            if not isinstance(path, str):
                return problem("InvalidItemOperation", f"Operation {nr}: RemoveVersioned needs a path")
            batch.removed_paths.append(path.removeprefix("Workflow:"))
        case "DeleteSimple":
            key = op.get("path")
            if not isinstance(key, str) or ":" not in key:
                return problem("InvalidItemOperation", f"Operation {nr}: DeleteSimple needs a key like AgentRef:a")
            batch.deleted_keys.append(key)
        case other:
            return problem("InvalidItemOperation", f"Operation {nr}: unknown TYPE {other!r}")
    return None


def _add_item(batch: _Batch, item: Any, nr: int) -> Problem | None:
    assert batch.workflows is not None and batch.simple is not None
    if isinstance(item, Mapping) and item.get("TYPE", "Workflow") == "Workflow" and "instructions" in item:
        batch.workflows.append(item)
        return None
    parsed = parse_simple_item(item)
    if isinstance(parsed, Problem):
        return problem(parsed.code, f"Operation {nr}: {parsed.message}", **parsed.arguments)
    if isinstance(parsed, WorkflowPathControl):  # JS7: only the ControlWorkflowPath command writes it
        return problem(
            "ItemIsNotDeployable",
            f"Operation {nr}: {parsed.key} is changed by the ControlWorkflowPath command, not deployed",
            key=parsed.key,
        )
    batch.simple.append(parsed)
    return None


def _check_references(
    state: ControllerState,
    workflows: list[Workflow],
    simple: list[SimpleItem],
    removed_paths: list[str],
    deleted_keys: list[str],
) -> Problem | None:
    agents = (set(state.agent_refs) | {i.path for i in simple if isinstance(i, AgentRef)}) - {
        k.removeprefix("AgentRef:") for k in deleted_keys if k.startswith("AgentRef:")
    }
    resources = (set(state.job_resources) | {i.path for i in simple if isinstance(i, JobResource)}) - {
        k.removeprefix("JobResource:") for k in deleted_keys if k.startswith("JobResource:")
    }
    calendars = (set(state.calendars) | {i.path for i in simple if isinstance(i, CalendarItem)}) - {
        k.removeprefix("Calendar:") for k in deleted_keys if k.startswith("Calendar:")
    }
    locks = (set(state.locks) | {i.path for i in simple if isinstance(i, Lock)}) - {
        k.removeprefix("Lock:") for k in deleted_keys if k.startswith("Lock:")
    }
    for key in deleted_keys:
        kind, _, ident = key.partition(":")
        tables: dict[str, Mapping[str, object]] = {
            "AgentRef": state.agent_refs,
            "SubagentItem": state.subagents,
            "SubagentBundle": state.subagent_bundles,
            "JobResource": state.job_resources,
            "Calendar": state.calendars,
            "Board": state.boards.items,
            "Lock": state.locks,
            "OrderWatch": state.order_watches.watches,
        }
        table = tables.get(kind, {})
        if ident not in table:
            return problem("UnknownItem", f"Unknown item {key}", key=key)
        if kind == "Lock":
            lock_in_use = lock_is_in_use(state, ident)
            if lock_in_use is not None:
                return lock_in_use
        if kind == "Calendar":
            for wid, used in state.workflows.items():
                if used.calendar_path == ident and state.orders_using(wid):
                    return problem("ItemIsStillReferenced", f"{key} is used by orders of Workflow:{wid}", key=key)
    for path in removed_paths:
        if path not in state.current_versions:
            return problem("UnknownItem", f"Unknown workflow {path!r}", key=f"Workflow:{path}")
    current = {p: state.current_workflow(p) for p in state.current_versions if p not in removed_paths}
    current.update({w.path: w for w in workflows})
    for workflow in current.values():
        if workflow is None:
            continue
        if workflow.calendar_path is not None and workflow.calendar_path not in calendars:
            return problem(
                "UnknownItem",
                f"Workflow {workflow.path}: unknown Calendar:{workflow.calendar_path}",
                key=f"Calendar:{workflow.calendar_path}",
                workflow=workflow.path,
            )
        for position, instruction in workflow.positions():
            if isinstance(instruction, LockInstruction):
                for lock_path in instruction.lock_paths:
                    if lock_path not in locks:
                        return problem(
                            "UnknownItem",
                            f"Workflow {workflow.path} at {pos.to_string(position)}: unknown Lock:{lock_path}",
                            key=f"Lock:{lock_path}",
                            workflow=workflow.path,
                            position=pos.to_string(position),
                        )
            job = workflow.job_of(instruction)
            agent_path = workflow.agent_path_of(instruction)
            if agent_path is not None and agent_path not in agents:
                return problem(
                    "UnknownItem",
                    f"Workflow {workflow.path} at {pos.to_string(position)}: unknown AgentRef:{agent_path}",
                    key=f"AgentRef:{agent_path}",
                    workflow=workflow.path,
                    position=pos.to_string(position),
                )
            for resource in (*(job.job_resource_paths if job else ()), *workflow.job_resource_paths):
                if resource not in resources:
                    return problem(
                        "UnknownItem",
                        f"Workflow {workflow.path}: unknown JobResource:{resource}",
                        key=f"JobResource:{resource}",
                        workflow=workflow.path,
                    )
    for watch in simple:
        if isinstance(watch, FileWatch):
            if watch.agent_path not in agents:
                return problem(
                    "UnknownItem",
                    f"{watch.key}: unknown AgentRef:{watch.agent_path}",
                    key=f"AgentRef:{watch.agent_path}",
                )
            if current.get(watch.workflow_path) is None:
                return problem(
                    "UnknownItem",
                    f"{watch.key}: unknown Workflow:{watch.workflow_path}",
                    key=f"Workflow:{watch.workflow_path}",
                )
    for watch_state in state.order_watches.watches.values():
        watch = watch_state.item
        if f"{watch.key}" in deleted_keys or any(isinstance(i, FileWatch) and i.path == watch.path for i in simple):
            continue
        if watch.agent_path not in agents or current.get(watch.workflow_path) is None:
            return problem(
                "ItemIsStillReferenced",
                f"{watch.key} refers to AgentRef:{watch.agent_path} and Workflow:{watch.workflow_path}",
                key=watch.key,
            )
    boards = check_board_references(state, list(current.values()), simple, deleted_keys)
    if boards is not None:
        return boards
    current_workflows = [w for w in current.values() if w is not None]
    return check_subagent_references(state, current_workflows, simple, deleted_keys, agents)


def lock_is_in_use(state: ControllerState, path: str) -> Problem | None:
    """A Lock is deleted only when no order holds or waits for it and no version that orders use refers
    to it (JS7: ItemIsStillReferenced); the current versions are checked with the deployment's others."""
    lock_state = state.locks[path]
    if holders(lock_state.acquired) or lock_state.queue:
        return problem("ItemIsStillReferenced", f"Lock:{path} is held or awaited by orders", key=f"Lock:{path}")
    for wid, workflow in state.workflows.items():
        if not state.orders_using(wid):
            continue
        for _, instruction in workflow.positions():
            if isinstance(instruction, LockInstruction) and path in instruction.lock_paths:
                return problem("ItemIsStillReferenced", f"Lock:{path} is used by Workflow:{wid}", key=f"Lock:{path}")
    return None


def _events(state: ControllerState, batch: _Batch, workflows: list[Workflow]) -> list[Event]:
    assert batch.simple is not None and batch.removed_paths is not None and batch.deleted_keys is not None
    events: list[Event] = []
    if batch.version_id is not None:
        events.append(VersionAdded(version_id=batch.version_id))
    for item in batch.simple:
        ident = simple_item_id(item)
        tables: dict[type[Any], Mapping[str, object]] = {
            AgentRef: state.agent_refs,
            SubagentItem: state.subagents,
            SubagentBundle: state.subagent_bundles,
            JobResource: state.job_resources,
            CalendarItem: state.calendars,
            GlobalBoard: state.boards.items,
            PlannableBoard: state.boards.items,
            Lock: state.locks,
            FileWatch: state.order_watches.watches,
        }
        exists = ident in tables[type(item)]
        raw = value_from_json(dict(item.raw))
        if isinstance(item, JobResource):
            events.append(SignedItemChanged(item=raw) if exists else SignedItemAdded(item=raw))
        else:
            events.append(UnsignedSimpleItemChanged(item=raw) if exists else UnsignedSimpleItemAdded(item=raw))
    replaced: list[WorkflowId] = []
    for workflow in workflows:
        old = state.current_workflow(workflow.path)
        raw = value_from_json(dict(workflow.raw))
        events.append(VersionedItemChanged(item=raw) if old is not None else VersionedItemAdded(item=raw))
        if old is not None:
            replaced.append(old.id)
    for path in batch.removed_paths:
        events.append(VersionedItemRemoved(path=path))
        old = state.current_workflow(path)
        if old is not None:
            replaced.append(old.id)
    for wid in replaced:
        if not state.orders_using(wid):
            events.append(ItemDeleted(key=f"Workflow:{wid}"))
    events.extend(ItemDeleted(key=key) for key in batch.deleted_keys)
    return events


def _file_orders_vanishing(state: ControllerState, deleted_keys: list[str]) -> list[KeyedEvent]:
    """A deleted FileWatch's orders lose their files (JS7: the Agent announces them all vanished when the
    FileWatch is detached): each is deleted once it has terminated."""
    paths = {k.removeprefix("OrderWatch:") for k in deleted_keys if k.startswith("OrderWatch:")}
    if not paths:
        return []
    return [
        KeyedEvent(order.id, OrderExternalVanished())
        for order in state.orders.values()
        if order.external_order is not None
        and order.external_order.order_watch_path in paths
        and not order.external_order.vanished
    ]
