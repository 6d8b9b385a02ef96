"""What an instruction executor sees, and the failure handling they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from js7es.domain.board.events import OrderNoticesConsumed
from js7es.domain.expression import evaluate_text
from js7es.domain.order.context import Context
from js7es.domain.order.events import (
    OrderCaught,
    OrderDetachable,
    OrderEvent,
    OrderFailed,
    OrderFailedInFork,
    OrderLocksReleased,
    OrderMoved,
    OrderOutcomeAdded,
    OrderStopped,
)
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Failed
from js7es.domain.order.scope import OrderScope
from js7es.domain.order.stop_positions import is_stop_position
from js7es.domain.problem import Problem
from js7es.domain.value import Value
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import (
    CONSUME_NOTICES_BRANCH,
    STICKY_SUBAGENT_BRANCH,
    Fork,
    ForkList,
    ImplicitEnd,
    LockInstruction,
)
from js7es.domain.workflow.position import Position, PositionOrLabel
from js7es.domain.workflow.workflow import Workflow

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState


@dataclass(frozen=True, slots=True)
class Step:
    state: ControllerState
    order: Order
    workflow: Workflow
    ctx: Context

    def evaluate(self, text: str) -> Value | Problem:
        return evaluate_text(text, OrderScope(self.order, self.workflow, self.ctx))

    def move(self, to: Position) -> OrderMoved:
        return OrderMoved(to=move_target(self.workflow, to, self.order.stop_positions))

    def detach(self) -> list[OrderEvent]:
        return [OrderDetachable()]

    def fail_with(self, message: str, *, uncatchable: bool = False) -> list[OrderEvent]:
        """An instruction failed: record the outcome where the failure is handled, then fail or catch."""
        handling = self.fail(uncatchable=uncatchable)
        if handling == [OrderDetachable()]:
            return handling  # the Controller records the failure after the order is back
        return [OrderOutcomeAdded(outcome=Failed(error_message=message)), *handling]

    def fail(self, *, uncatchable: bool = False) -> list[OrderEvent]:
        """The order failed at its position: caught by the innermost Try, failed in a fork, or failed.

        Lock blocks left on the way give their locks back first (on the Controller: an order on an
        Agent goes back there), ConsumeNotices blocks left end their consumptions as failed, and a
        failed order stands at the outermost Lock or ConsumeNotices it left (JS7). Within an
        Options(stopOnFailure) the order stops instead, where it is, holding its locks (JS7)."""
        from js7es.domain.order.executors.plain import stops_on_failure

        position = self.order.position
        if stops_on_failure(self.workflow, position):
            return [OrderStopped()] if self.ctx.at_controller else self.detach()
        catch = None if uncatchable else catch_position(position)
        outer = 0 if catch is None else len(catch) - 2  # the try+N branch's index in the position
        if not self.ctx.at_controller and (consume_notices_left(position, catch) or lock_blocks_left(position, outer)):
            return self.detach()  # the Controller ends the consumptions and gives the locks back
        leaving, moved_to = self.leave_blocks(outer)
        if catch is not None:
            return [*leaving, OrderCaught(moved_to=catch)]
        if not self.ctx.at_controller:
            return self.detach()
        if self.order.parent is not None and self._fork_joins_if_failed():
            return [*leaving, OrderFailedInFork(moved_to=moved_to)]
        return [*leaving, OrderFailed(moved_to=moved_to)]

    def leave_blocks(self, outer: int) -> tuple[list[OrderEvent], Position | None]:
        """Leaving its ConsumeNotices and Lock blocks (within its fork branch, down to the branch at
        index `outer`, exclusive), innermost first as JS7's leaveBlocks: OrderNoticesConsumed(failed)
        for each consumption begun, OrderLocksReleased for each Lock; and the outermost block left."""
        position = self.order.position
        begun = len(self.state.boards.consumptions.get(self.order.id, ()))  # moved in by a person: none
        events: list[OrderEvent] = []
        outermost: Position | None = None
        consumptions = 0
        for i in range(len(position) - 2, outer, -2):
            branch = str(position[i])
            if branch.startswith("fork"):
                break
            if branch == CONSUME_NOTICES_BRANCH and consumptions < begun:
                consumptions += 1
                events.append(OrderNoticesConsumed(failed=True))
                outermost = position[:i]
            elif branch == "lock":
                instruction = self.workflow.instruction(position[:i])
                if isinstance(instruction, LockInstruction):
                    events.append(OrderLocksReleased(lock_paths=instruction.lock_paths))
                    outermost = position[:i]
        return events, outermost

    def _fork_joins_if_failed(self) -> bool:
        fork_position = enclosing_fork(self.order.position)
        if fork_position is None:
            return False
        fork = self.workflow.instruction(fork_position)
        return isinstance(fork, (Fork, ForkList)) and fork.join_if_failed


def move_target(
    workflow: Workflow, position: Position, stop_positions: tuple[PositionOrLabel, ...] | None = None
) -> Position:
    """Where an order moving to `position` lands: past the ends of then/else/try/catch blocks, as JS7
    moves an order straight to the next instruction after a block (the end of a fork branch or of a
    cycle, of a lock's or a ConsumeNotices block is a real stop; so is one of the order's stop positions)."""
    while len(position) >= 3 and not str(position[-2]).startswith(
        ("fork", "cycle", "lock", CONSUME_NOTICES_BRANCH, STICKY_SUBAGENT_BRANCH)
    ):
        if not isinstance(workflow.instruction(position), ImplicitEnd):
            break
        if stop_positions and is_stop_position(workflow, position, stop_positions):
            break
        position = pos.next_of(position[:-2])
    return position


def lock_blocks_left(position: Position, outer: int) -> list[Position]:
    """The Lock instructions (innermost first) whose blocks an order leaves, within its fork branch."""
    left = []
    for i in range(len(position) - 2, outer, -2):
        branch = str(position[i])
        if branch.startswith("fork"):
            break
        if branch == "lock":
            left.append(position[:i])
    return left


def consume_notices_left(position: Position, catch: Position | None) -> list[Position]:
    """The ConsumeNotices instructions (innermost first) whose blocks a failing order leaves on its way
    to `catch` (or out of its fork branch, or out of the workflow)."""
    boundary = len(catch) - 2 if catch is not None else 0
    left = []
    for i in range(len(position) - 2, boundary, -2):
        branch = str(position[i])
        if branch.startswith("fork"):
            break
        if branch == CONSUME_NOTICES_BRANCH:
            left.append(position[:i])
    return left


def catch_position(position: Position) -> Position | None:
    """The start of the catch block of the innermost Try whose try block holds the position."""
    for i in range(len(position) - 2, 0, -2):
        branch = str(position[i])
        if branch.startswith("fork"):
            return None  # a failure in a fork branch is handled by the join, not by an outer Try
        if branch.startswith("try+"):
            return (*position[:i], "catch+" + branch[4:], 0)
    return None


def enclosing_catch(position: Position) -> tuple[Position, int] | None:
    """The position of the Try whose catch block holds the position, and the retry number N."""
    for i in range(len(position) - 2, 0, -2):
        branch = str(position[i])
        if branch.startswith("fork"):
            return None
        if branch.startswith("catch+"):
            count = pos.try_count(branch)
            if count is not None:
                return position[:i], count
    return None


def enclosing_fork(position: Position) -> Position | None:
    """The position of the Fork whose branch holds the position."""
    for i in range(len(position) - 2, 0, -2):
        if str(position[i]).startswith("fork"):
            return position[:i]
    return None
