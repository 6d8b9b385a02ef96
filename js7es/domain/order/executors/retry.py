"""Retry (in a catch block): run the try block again, after the Try's retry delay, up to maxTries."""

from __future__ import annotations

from js7es.domain.order.events import OrderEvent, OrderRetrying
from js7es.domain.order.executors.step import Step, enclosing_catch
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import Retry, Try


def execute_retry(step: Step, instruction: Retry) -> list[OrderEvent]:
    found = enclosing_catch(step.order.position)
    if found is None:  # refused at deployment
        return step.fail_with("Retry outside of a catch block")
    try_position, retry_number = found
    try_ = step.workflow.instruction(try_position)
    if not isinstance(try_, Try):
        return step.fail_with("Retry: no Try around the catch block")
    tries = retry_number + 1
    if try_.max_tries is not None and tries >= try_.max_tries:
        return step.fail_with(f"Retry stopped because maxTries={try_.max_tries} has been reached")
    delay_s = try_.retry_delay_s(tries)
    until = step.ctx.now_ms + int(delay_s * 1000) if delay_s > 0 else None
    return [OrderRetrying(moved_to=pos.nested(try_position, f"try+{tries}"), delayed_until=until)]
