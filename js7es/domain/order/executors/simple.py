"""Executors of the instructions that only move, fail, finish, ask or sleep."""

from __future__ import annotations

from decimal import Decimal

from js7es.domain.order.events import (
    OrderEvent,
    OrderFinished,
    OrderMoved,
    OrderOutcomeAdded,
    OrderPrompted,
    OrderSleeping,
)
from js7es.domain.order.executors.cycle import cycle_finished
from js7es.domain.order.executors.lock import lock_end, releases_leaving
from js7es.domain.order.executors.notices import consume_notices_end
from js7es.domain.order.executors.plain import sticky_subagent_end
from js7es.domain.order.executors.step import Step, enclosing_fork
from js7es.domain.order.outcome import Failed, Succeeded
from js7es.domain.problem import Problem
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import (
    CONSUME_NOTICES_BRANCH,
    STICKY_SUBAGENT_BRANCH,
    Block,
    Fail,
    Finish,
    If,
    ImplicitEnd,
    Prompt,
    Sleep,
    Try,
    is_cycle_branch,
    then_branch,
)


def execute_if(step: Step, instruction: If) -> list[OrderEvent]:
    here = step.order.position
    for i, if_then in enumerate(instruction.if_thens):
        result = step.evaluate(if_then.predicate)
        if isinstance(result, Problem):
            return step.fail_with(result.message)
        if not isinstance(result, bool):
            return step.fail_with(f"If predicate {if_then.predicate!r} gives no Boolean but {result!r}")
        if result:
            return [step.move(pos.nested(here, then_branch(i)))]
    if instruction.else_ is not None:
        return [step.move(pos.nested(here, "else"))]
    return [step.move(pos.next_of(here))]


def execute_try(step: Step, instruction: Try) -> list[OrderEvent]:
    return [step.move(pos.nested(step.order.position, "try+0"))]


def execute_fail(step: Step, instruction: Fail) -> list[OrderEvent]:
    message = "Failed"
    if instruction.message is not None:
        evaluated = step.evaluate(instruction.message)
        message = evaluated.message if isinstance(evaluated, Problem) else str(evaluated)
    named = dict(instruction.named_values)
    handling = step.fail(uncatchable=instruction.uncatchable)
    if handling == step.detach():
        return handling
    return [OrderOutcomeAdded(outcome=Failed(error_message=message, named_values=named)), *handling]


def execute_finish(step: Step, instruction: Finish) -> list[OrderEvent]:
    if not step.ctx.at_controller:
        return step.detach()
    here = step.order.position
    fork = enclosing_fork(here)
    releases, _ = releases_leaving(step.workflow, here, 0)  # the locks of the order's own blocks
    if fork is not None:  # in a fork branch, Finish ends the branch (the child order), not the parent
        branch_start = here[: len(fork) + 2]
        block = step.workflow.block(branch_start[:-1])
        assert isinstance(block, Block)
        return [*releases, OrderMoved(to=pos.with_index(branch_start, len(block.instructions)))]
    named = instruction.named_values
    outcome = (
        Failed(error_message=instruction.message, named_values=named)
        if instruction.outcome_failed
        else Succeeded(named_values=named)
    )
    return [*releases, OrderFinished(outcome=outcome)]


def execute_prompt(step: Step, instruction: Prompt) -> list[OrderEvent]:
    if not step.ctx.at_controller:
        return step.detach()
    question = step.evaluate(instruction.question)
    if isinstance(question, Problem):
        return step.fail_with(question.message)
    return [OrderPrompted(question=question)]


def execute_sleep(step: Step, instruction: Sleep) -> list[OrderEvent]:
    duration = step.evaluate(instruction.duration)
    if isinstance(duration, Problem):
        return step.fail_with(duration.message)
    if isinstance(duration, bool) or not isinstance(duration, (int, Decimal)):
        return step.fail_with(f"Sleep duration must be a number of seconds, not {duration!r}")
    if duration <= 0:
        return [step.move(pos.next_of(step.order.position))]
    return [OrderSleeping(until=step.ctx.now_ms + int(duration * 1000))]


def execute_end(step: Step, instruction: ImplicitEnd) -> list[OrderEvent]:
    here = step.order.position
    if len(here) == 1:
        if not step.ctx.at_controller:
            return step.detach()
        return [OrderFinished(outcome=None)]
    if str(here[-2]).startswith("fork"):
        return [] if step.ctx.at_controller else step.detach()  # the child waits for the join
    if is_cycle_branch(str(here[-2])):
        return cycle_finished(step)
    if here[-2] == CONSUME_NOTICES_BRANCH:
        return consume_notices_end(step)
    if here[-2] == "lock":
        return lock_end(step)
    if here[-2] == STICKY_SUBAGENT_BRANCH:
        return sticky_subagent_end(step)
    return [step.move(pos.next_of(here[:-2]))]
