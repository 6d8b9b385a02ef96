"""Fork: child orders `parent|branch` run the branches; the parent joins when all are through.

With `agentPath` the order is attached to that Agent and forked there, so the children start on it
without a round trip through the Controller; the forked parent goes back to the Controller, and the
children come back there at the ends of their branches, where the Controller joins (as JS7 does).
"""

from __future__ import annotations

from js7es.domain.order.events import ForkedChild, OrderAttachable, OrderEvent, OrderForked, OrderJoined
from js7es.domain.order.executors.step import Step
from js7es.domain.order.order import child_order_id
from js7es.domain.order.outcome import Failed, Succeeded
from js7es.domain.order.states import Cancelled, FailedInFork, Forked, Ready
from js7es.domain.workflow.instructions import Fork, ImplicitEnd


def execute_fork(step: Step, instruction: Fork) -> list[OrderEvent]:
    """The fork happens on Fork.agentPath when given (the children start there, JS7), else on the
    Controller. The join is always the Controller's."""
    agent_path = instruction.agent_path
    if step.ctx.at_controller and agent_path is not None:
        return [OrderAttachable(agent_path=agent_path)]
    if not step.ctx.at_controller and step.ctx.here != agent_path:
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
