"""Execute (Named and Anonymous): attach the order to the job's Agent; after the step, move on or fail."""

from __future__ import annotations

from js7es.domain.order.admission import NO_ADMISSION_PERIOD_START, skips_job
from js7es.domain.order.events import OrderAttachable, OrderEvent, OrderMoved
from js7es.domain.order.executors.step import Step, move_target
from js7es.domain.order.outcome import Disrupted
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import ExecuteAnonymous, ExecuteNamed


def execute_execute(step: Step, instruction: ExecuteNamed | ExecuteAnonymous) -> list[OrderEvent]:
    job = step.workflow.job_of(instruction)
    if job is None:  # refused at deployment; a bug if it happens
        return step.fail_with(f"Unknown job at {pos.to_string(step.order.position)}")
    if skips_job(step.workflow, job, step.order):  # decided alike wherever the order is (JS7's nextMove)
        to = move_target(step.workflow, pos.next_of(step.order.position))
        return [OrderMoved(to=to, reason=NO_ADMISSION_PERIOD_START)]
    if step.ctx.at_controller:
        return [OrderAttachable(agent_path=job.agent_path)]
    if step.ctx.here != job.agent_path:
        return step.detach()
    return []  # the Agent starts the process when admitted and the job and the Agent have a free slot


def after_processed(step: Step) -> list[OrderEvent]:
    """The step's outcome decides: Succeeded moves on, ProcessLost repeats the step, others fail."""
    outcome = step.order.last_outcome
    here = step.order.position
    if outcome is not None and outcome.is_succeeded:
        return [step.move(pos.next_of(here))]
    if isinstance(outcome, Disrupted) and outcome.is_process_lost:
        instruction = step.workflow.instruction(here)
        job = step.workflow.job_of(instruction) if instruction is not None else None
        if job is not None and not job.is_not_restartable:
            return [OrderMoved(to=here, reason="ProcessLost")]
    return step.fail()
