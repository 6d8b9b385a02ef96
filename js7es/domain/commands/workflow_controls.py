"""ControlWorkflowPath: suspend or resume a workflow, skip or unskip its instructions by label (JS7's
controlWorkflowPathExecutor); ControlWorkflow: breakpoints of one workflow version (JS7's
controlWorkflowExecutor). The items are in js7es.domain.workflow_control."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from js7es.domain import codec
from js7es.domain.commands.base import Command, Decided, handles
from js7es.domain.event import NO_KEY, KeyedEvent
from js7es.domain.items import (
    UnsignedItemAdded,
    UnsignedItemChanged,
    UnsignedSimpleItemAdded,
    UnsignedSimpleItemChanged,
)
from js7es.domain.order.context import Context
from js7es.domain.problem import Problem, problem
from js7es.domain.value import value_from_json
from js7es.domain.workflow.position import Position
from js7es.domain.workflow.workflow import WorkflowId
from js7es.domain.workflow_control import WorkflowControl, WorkflowPathControl, normalized

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ControlWorkflowPath(Command):
    """`suspend`: None leaves it as it is; `skip`: label -> true (skip it) or false (run it again)."""

    workflow_path: str
    suspend: bool | None = None
    skip: Mapping[str, bool] = field(default_factory=dict)


@handles(ControlWorkflowPath)
def control_workflow_path(state: ControllerState, command: ControlWorkflowPath, ctx: Context) -> Decided | Problem:
    path = command.workflow_path
    if path not in state.current_versions and not any(wid.path == path for wid in state.workflows):
        return problem("UnknownItem", f"Unknown Workflow:{path}", key=f"Workflow:{path}")
    for label in command.skip:
        if not isinstance(label, str) or not label:
            return problem("InvalidLabel", f"Invalid label {label!r}", label=str(label))
    existing = state.workflow_path_controls.get(path)
    before = existing or WorkflowPathControl(path=path)
    item = before.updated(suspend=command.suspend, skip=command.skip)
    raw = value_from_json(dict(item.raw))
    event = UnsignedSimpleItemAdded(item=raw) if existing is None else UnsignedSimpleItemChanged(item=raw)
    # The workflow's orders may go on (resumed, a label no longer or newly skipped): follow them all.
    touched = tuple(sorted(o.id for o in state.orders.values() if o.workflow_id.path == path))
    return Decided(events=(KeyedEvent(NO_KEY, event),), touched_orders=touched)


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ControlWorkflow(Command):
    workflow_id: WorkflowId
    add_breakpoints: tuple[Position, ...] = ()
    remove_breakpoints: tuple[Position, ...] = ()


@handles(ControlWorkflow)
def control_workflow(state: ControllerState, command: ControlWorkflow, ctx: Context) -> Decided | Problem:
    wid = command.workflow_id
    workflow = state.workflows.get(wid)
    if workflow is None:
        return problem("UnknownItem", f"Unknown Workflow:{wid}", key=f"Workflow:{wid}")
    valid = {normalized(p) for p, _ in workflow.positions()}  # a try block's breakpoint holds in every round
    for position in command.add_breakpoints:
        if normalized(tuple(position)) not in valid:
            return problem("InvalidPosition", f"Workflow:{wid} has no position {list(position)}", workflow=str(wid))
    existing = state.workflow_controls.get(wid)
    breakpoints = existing.breakpoints if existing is not None else frozenset()
    breakpoints = (breakpoints - {normalized(tuple(p)) for p in command.remove_breakpoints}) | {
        normalized(tuple(p)) for p in command.add_breakpoints
    }
    item = WorkflowControl(
        workflow_path=wid.path,
        version_id=wid.version_id,
        breakpoints=breakpoints,
        item_revision=0 if existing is None else existing.item_revision + 1,
    )
    raw = value_from_json(item.to_json())
    event = UnsignedItemAdded(item=raw) if existing is None else UnsignedItemChanged(item=raw)
    touched = tuple(sorted(o.id for o in state.orders.values() if o.workflow_id == wid))
    return Decided(events=(KeyedEvent(NO_KEY, event),), touched_orders=touched)
