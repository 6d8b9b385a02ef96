"""The Lock instruction (JS7's LockExecutor), and giving locks back when an order leaves their blocks.

Locks are taken and given back on the Controller, as in JS7: an order on an Agent that reaches a Lock,
the end of a Lock's block, or a failure, Finish or Break that leaves one, goes back to the Controller
first (OrderDetachable). There, a Ready order at a Lock takes every demanded lock at once
(OrderLocksAcquired, into the block) when each is free enough and no waiting order ranks before it
(see js7es.domain.lock); otherwise it waits (OrderLocksQueued, WaitingForLock) until a release lets it
go first. An order leaving the block by any route gives the locks back (OrderLocksReleased), the
innermost block first, before the event that takes it elsewhere (OrderCaught, OrderFailed,
OrderFailedInFork, OrderFinished, OrderMoved, OrderCancelled).

A forked child never waits for a lock its parent (or a grandparent) holds: the parent waits for the
child, so it would wait forever. As in JS7 the child then fails (outcome Disrupted) instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from js7es.domain.lock import NOT_AVAILABLE, holds_locks
from js7es.domain.order.events import (
    OrderEvent,
    OrderLocksAcquired,
    OrderLocksQueued,
    OrderLocksReleased,
    OrderOutcomeAdded,
)
from js7es.domain.order.outcome import Disrupted
from js7es.domain.order.states import WaitingForLock
from js7es.domain.problem import Problem, problem
from js7es.domain.workflow.instructions import LockInstruction
from js7es.domain.workflow.position import Position
from js7es.domain.workflow.workflow import Workflow

if TYPE_CHECKING:
    from js7es.domain.order.executors.step import Step
    from js7es.domain.state import ControllerState


def execute_lock(step: Step, instruction: LockInstruction) -> list[OrderEvent]:
    if not step.ctx.at_controller:
        return step.detach()
    order = step.order
    state = step.state
    refused = permanent_refusal(state, order.id, instruction)
    if refused is not None:
        return disrupted(step, refused)
    if can_acquire(state, order.id, instruction):
        return [OrderLocksAcquired(demands=instruction.demands)]
    if isinstance(order.state, WaitingForLock):
        return []
    for demand in instruction.demands:
        lock_state = state.locks[demand.lock_path]
        cannot_queue = lock_state.check_enqueue(order.id, demand.count)
        if cannot_queue is not None:
            return disrupted(step, cannot_queue)
    return [OrderLocksQueued(demands=instruction.demands)]


def permanent_refusal(state: ControllerState, order_id: str, instruction: LockInstruction) -> Problem | None:
    """Why the order can never take the locks (an unknown lock, an invalid count, a lock it holds)."""
    for demand in instruction.demands:
        lock_state = state.locks.get(demand.lock_path)
        if lock_state is None:
            key = f"Lock:{demand.lock_path}"
            return problem("UnknownItem", f"Unknown {key}", key=key)
        refused = lock_state.check_acquire(order_id, demand.count)
        if refused is not None and refused.code not in NOT_AVAILABLE:
            return refused
        if demand.count is not None and demand.count > lock_state.lock.limit:
            return lock_state.check_enqueue(order_id, demand.count)
    return None


def can_acquire(state: ControllerState, order_id: str, instruction: LockInstruction) -> bool:
    """Every demanded lock is free enough now, and (for an order holding no lock yet) no waiting order
    goes before this one (see js7es.domain.lock)."""
    rank = state.order_rank(order_id)
    for demand in instruction.demands:
        lock_state = state.locks[demand.lock_path]
        if lock_state.check_acquire(order_id, demand.count) is not None:
            return False
        if not rank[0] and not lock_state.ranks_first(order_id, rank, state.order_rank):
            return False
    return True


def disrupted(step: Step, refused: Problem) -> list[OrderEvent]:
    """JS7: a lock refusal fails the order with the outcome Disrupted(problem)."""
    handling = step.fail()
    if handling == step.detach():
        return handling
    return [OrderOutcomeAdded(outcome=Disrupted(reason="Other", message=refused.message)), *handling]


def lock_end(step: Step) -> list[OrderEvent]:
    """An order at the end of a Lock's block: back on the Controller, it gives the locks back."""
    if not step.ctx.at_controller:
        return step.detach()
    here = step.order.position
    instruction = step.workflow.instruction(here[:-2])
    if not isinstance(instruction, LockInstruction):
        return step.fail_with(f"No Lock instruction holds the position {list(here)}")
    return [OrderLocksReleased(lock_paths=instruction.lock_paths)]


def releases_leaving(workflow: Workflow, position: Position, outer: int) -> tuple[list[OrderEvent], Position | None]:
    """The OrderLocksReleased of every Lock block the position is in, innermost first, down to the
    branch at index `outer` of the position (exclusive; 0: all of the order's own, those within its
    fork branch), and the outermost Lock's position."""
    events: list[OrderEvent] = []
    outermost: Position | None = None
    for i in range(len(position) - 2, outer, -2):
        if str(position[i]).startswith("fork"):
            break
        if position[i] == "lock":
            instruction = workflow.instruction(position[:i])
            if isinstance(instruction, LockInstruction):
                events.append(OrderLocksReleased(lock_paths=instruction.lock_paths))
                outermost = position[:i]
    return events, outermost


def in_lock_block(position: Position) -> bool:
    return holds_locks(position)
