"""EmptyInstruction, Stop, BreakOrder, Options and StickySubagent (JS7's executors of the same names).

Options is syntax like If: the order moves into its block and out past its end without an event of its
own; what it changes is how a failure within it is handled (`stops_on_failure`). StickySubagent enters
its block with OrderStickySubagentEntered and leaves it with OrderStickySubagentLeaved, wherever the
order is (Controller or Agent), as JS7 does. An order that is still Fresh moves through Empty, Options
and StickySubagent without starting, as in JS7.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from js7es.domain.order.events import (
    OrderBroken,
    OrderEvent,
    OrderStickySubagentEntered,
    OrderStickySubagentLeaved,
    OrderStopped,
)
from js7es.domain.problem import Problem
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import (
    OPTIONS_BRANCH,
    STICKY_SUBAGENT_BRANCH,
    BreakOrder,
    EmptyInstruction,
    Options,
    StickySubagent,
    Stop,
)
from js7es.domain.workflow.position import Position
from js7es.domain.workflow.workflow import Workflow

if TYPE_CHECKING:
    from js7es.domain.order.executors.step import Step

# Instructions a Fresh order passes without OrderStarted (JS7: their executors take IsFreshOrReady).
PASSED_WHILE_FRESH = (EmptyInstruction, Options, StickySubagent)


def execute_empty(step: Step, instruction: EmptyInstruction) -> list[OrderEvent]:
    return [step.move(pos.next_of(step.order.position))]


def execute_stop(step: Step, instruction: Stop) -> list[OrderEvent]:
    if not step.ctx.at_controller:
        return step.detach()
    return [OrderStopped()]


def execute_break_order(step: Step, instruction: BreakOrder) -> list[OrderEvent]:
    return [OrderBroken(problem="BreakOrder")]


def execute_options(step: Step, instruction: Options) -> list[OrderEvent]:
    return [step.move(pos.nested(step.order.position, OPTIONS_BRANCH))]


def execute_sticky_subagent(step: Step, instruction: StickySubagent) -> list[OrderEvent]:
    if STICKY_SUBAGENT_BRANCH in step.order.position[1::2]:
        return step.fail_with("StickySubagent instruction must not be nested")
    bundle_id: str | None = None
    if instruction.subagent_bundle_id_expr is not None:
        evaluated = step.evaluate(instruction.subagent_bundle_id_expr)
        if isinstance(evaluated, Problem):
            return step.fail_with(evaluated.message)
        if not isinstance(evaluated, str):
            return step.fail_with(f"subagentBundleIdExpr gives no string but {evaluated!r}")
        bundle_id = evaluated
    return [OrderStickySubagentEntered(agent_path=instruction.agent_path, subagent_bundle_id=bundle_id)]


def sticky_subagent_end(step: Step) -> list[OrderEvent]:
    return [OrderStickySubagentLeaved()]


def stops_on_failure(workflow: Workflow, position: Position) -> bool:
    """The innermost enclosing Options with a stopOnFailure says whether a failure at `position` stops
    the order (JS7's OrderEventSource.isStopOnFailure: it goes out of fork branches and Try blocks too)."""
    for i in range(len(position) - 2, 0, -2):
        if position[i] == OPTIONS_BRANCH:
            instruction = workflow.instruction(position[:i])
            if isinstance(instruction, Options) and instruction.stop_on_failure is not None:
                return instruction.stop_on_failure
    return False
