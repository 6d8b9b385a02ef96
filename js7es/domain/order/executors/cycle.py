"""The Cycle and Break instructions (JS7's CycleExecutor and BreakExecutor).

An order at a Cycle: OrderCyclingPrepared(first cycle) → BetweenCycles; when the cycle is due and
admitted, OrderCycleStarted (into the block); at the block's end OrderCycleFinished(next cycle) → back
at the Cycle, BetweenCycles; when no cycle is left in the order's day, OrderMoved past the Cycle.
A Break leaves the cycling: OrderCycleFinished without a state, then OrderMoved.

The order's day comes from the workflow's Calendar (calendarPath) and the order id, in the
workflow's time zone; a workflow with a Cycle must name a Calendar (JS7 refuses it otherwise, so does
js7es when it is deployed). An order whose id names no day fails with the problem (JS7: the order
fails with the problem as outcome).

js7es runs cycles on the Controller: an order at a Cycle, at the end of a cycle or at a Break on an
Agent goes back to the Controller first (JS7 runs them on the Agent too).
"""

from __future__ import annotations

from js7es.domain.calendar.item import order_day, zone_of
from js7es.domain.order.cycle import cycle_state_of_branch
from js7es.domain.order.events import (
    OrderCycleFinished,
    OrderCycleStarted,
    OrderCyclingPrepared,
    OrderEvent,
    OrderMoved,
)
from js7es.domain.order.executors.cycle_schedule import (
    ChangeCycleState,
    EndCycling,
    KeepWaiting,
    ScheduleCalculator,
    StartCycle,
)
from js7es.domain.order.executors.lock import releases_leaving
from js7es.domain.order.executors.step import Step
from js7es.domain.order.states import BetweenCycles
from js7es.domain.problem import Problem, problem
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import Block, Break, Cycle, is_cycle_branch
from js7es.domain.workflow.position import Position


def execute_cycle(step: Step, instruction: Cycle) -> list[OrderEvent]:
    """A Ready order at a Cycle instruction: prepare the first cycle, or move on when there is none."""
    if not step.ctx.at_controller:
        return step.detach()
    found = _calculator(step, instruction)
    if isinstance(found, Problem):
        return step.fail_with(found.message)
    calculator, day_end = found
    first = calculator.initial_cycle_state(day_end, step.ctx.now_ms)
    if first is None:
        return [step.move(pos.next_of(step.order.position))]
    return [OrderCyclingPrepared(cycle_state=first)]


def between_cycles(step: Step, instruction: Cycle) -> list[OrderEvent]:
    """An order BetweenCycles at its Cycle: wait, start the next cycle, change to another, or end."""
    state = step.order.state
    assert isinstance(state, BetweenCycles)
    if not step.ctx.at_controller:
        return step.detach()
    if state.cycle_state is None:
        return [step.move(pos.next_of(step.order.position))]
    calculator = _calculator(step, instruction)
    if isinstance(calculator, Problem):
        return step.fail_with(calculator.message)
    do = calculator[0].on_next_cycle_is_due(state.cycle_state, step.ctx.now_ms)
    match do:
        case Problem():
            return step.fail_with(do.message)
        case KeepWaiting():
            return []
        case StartCycle(skipped_ms=skipped):
            return [OrderCycleStarted(skipped=None if skipped is None else skipped / 1000)]
        case ChangeCycleState(cycle_state=changed):
            return [OrderCyclingPrepared(cycle_state=changed)]
        case EndCycling():
            return [step.move(pos.next_of(step.order.position))]


def cycle_finished(step: Step) -> list[OrderEvent]:
    """An order at the end of a cycle's block: back to the Cycle, with the next cycle if any."""
    if not step.ctx.at_controller:
        return step.detach()
    here = step.order.position
    cycle_position = pos.parent(here)
    branch = pos.branch_id(here)
    instruction = step.workflow.instruction(cycle_position) if cycle_position is not None else None
    if not isinstance(instruction, Cycle) or branch is None:
        return step.fail_with(f"No Cycle instruction holds the position {pos.to_string(here)}")
    ended = cycle_state_of_branch(branch)
    if isinstance(ended, Problem):
        return step.fail_with(ended.message)
    calculator = _calculator(step, instruction)
    if isinstance(calculator, Problem):
        return step.fail_with(calculator.message)
    return [OrderCycleFinished(cycle_state=calculator[0].next_cycle_state(ended, step.ctx.now_ms))]


def execute_break(step: Step, instruction: Break) -> list[OrderEvent]:
    """Leave the innermost cycle's block (from nested If/Try blocks too) and end the cycling."""
    if not step.ctx.at_controller:
        return step.detach()
    block_end = _cycle_block_end(step)
    if block_end is None:
        return step.fail_with(f"Break at {pos.to_string(step.order.position)} is not in a Cycle")
    releases, _ = releases_leaving(step.workflow, step.order.position, len(block_end) - 2)
    return [*releases, OrderMoved(to=block_end), OrderCycleFinished(cycle_state=None)]  # JS7's leaveBlocks


def _cycle_block_end(step: Step) -> Position | None:
    """The position of the ImplicitEnd of the innermost cycle block that holds the order."""
    here = step.order.position
    for i in range(len(here) - 2, 0, -2):
        branch = str(here[i])
        if branch.startswith("fork"):
            return None
        if is_cycle_branch(branch):
            block = step.workflow.block(here[: i + 1])
            if not isinstance(block, Block):
                return None
            return (*here[: i + 1], len(block.instructions))
    return None


def _calculator(step: Step, instruction: Cycle) -> tuple[ScheduleCalculator, int] | Problem:
    """The schedule calculator for the order's day, and the day's end."""
    workflow = step.workflow
    if workflow.calendar_path is None:
        return problem("CycleRequiresCalendar", "Cycle instruction requires Workflow.calendarPath")
    calendar = step.state.calendars.get(workflow.calendar_path)
    if calendar is None:
        key = f"Calendar:{workflow.calendar_path}"
        return problem("UnknownItem", f"Unknown {key}", key=key)
    zone = zone_of(workflow.time_zone)
    if isinstance(zone, Problem):
        return zone
    day = order_day(calendar, step.order.id, zone)
    if isinstance(day, Problem):
        return day
    calculator = ScheduleCalculator(
        schedule=instruction.schedule,
        zone=zone,
        day_start_ms=day[0],
        date_offset_s=calendar.date_offset_s,
        only_one_period=instruction.only_one_period,
    )
    return calculator, day[1]
