"""Fork: child orders `parent|branch` run the branches; the parent joins when all are through."""

from __future__ import annotations

from js7es.domain.order.events import ForkedChild, OrderEvent, OrderForked, OrderJoined
from js7es.domain.order.executors.step import Step
from js7es.domain.order.order import child_order_id
from js7es.domain.order.outcome import Failed, Succeeded
from js7es.domain.order.states import Cancelled, FailedInFork, Forked, Ready
from js7es.domain.workflow.instructions import Fork, ImplicitEnd


def execute_fork(step: Step, instruction: Fork) -> list[OrderEvent]:
    if not step.ctx.at_controller:
        return step.detach()
    return [
        OrderForked(
            children=tuple(
                ForkedChild(order_id=child_order_id(step.order.id, b.id), branch_id=b.id) for b in instruction.branches
            )
        )
    ]


def join(step: Step) -> list[OrderEvent]:
    """OrderJoined when every child is detached and at its branch end, failed in fork, or cancelled."""
    state = step.order.state
    assert isinstance(state, Forked)
    failed = []
    for child_id in state.children:
        child = step.state.orders.get(child_id)
        if child is None or child.attached is not None:
            return []
        if isinstance(child.state, (FailedInFork, Cancelled)):
            failed.append(child_id)
            continue
        at_end = (
            isinstance(child.state, Ready)
            and len(child.position) == len(step.order.position) + 2
            and isinstance(step.workflow.instruction(child.position), ImplicitEnd)
        )
        if not at_end or child.is_suspended:
            return []
    if failed:
        return [OrderJoined(outcome=Failed(error_message=f"Order:{failed[0]} failed"))]
    return [OrderJoined(outcome=Succeeded())]
