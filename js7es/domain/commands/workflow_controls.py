"""ControlWorkflowPath: suspend or resume a workflow, skip or unskip its instructions by label (JS7's
controlWorkflowPathExecutor; the item is js7es.domain.workflow_control.WorkflowPathControl)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from js7es.domain import codec
from js7es.domain.commands.base import Command, Decided, handles
from js7es.domain.event import NO_KEY, KeyedEvent
from js7es.domain.items import UnsignedSimpleItemAdded, UnsignedSimpleItemChanged
from js7es.domain.order.context import Context
from js7es.domain.problem import Problem, problem
from js7es.domain.value import value_from_json
from js7es.domain.workflow_control import WorkflowPathControl

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
