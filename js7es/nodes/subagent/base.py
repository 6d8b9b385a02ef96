"""The common face of a running job step: an OS process, an internal job, or a step refused at start."""

from __future__ import annotations

import abc
from typing import Literal

from js7es.domain.order.outcome import Failed, Killed, Outcome, Succeeded, TimedOut
from js7es.domain.value import NamedValues
from js7es.domain.workflow.job import ReturnCodeMeaning

EndedBy = Literal["killed", "timed out"] | None


class JobProcess(abc.ABC):
    """One job step being processed. `wait()` never raises for the job's own failures."""

    pid: int | None = None  # the process (= its process group); None for an internal job

    @abc.abstractmethod
    async def wait(self) -> Outcome:
        """The outcome, after the last output chunk has been delivered and every process has gone."""

    @abc.abstractmethod
    def kill(self, immediately: bool = False) -> None:
        """SIGTERM to the process group and SIGKILL after sigkill_delay, or SIGKILL now; idempotent."""


class RefusedProcess(JobProcess):
    """A step that could not start (unknown executable, '..' in a path, ...): it fails, the Agent goes on."""

    def __init__(self, message: str) -> None:
        self.message = message

    async def wait(self) -> Outcome:
        return Failed(error_message=self.message)

    def kill(self, immediately: bool = False) -> None:
        pass


def outcome_of(
    return_code: int,
    named_values: NamedValues,
    meaning: ReturnCodeMeaning,
    *,
    ended_by: EndedBy = None,
    err_written: bool = False,
    fail_on_err_written: bool = False,
    last_err_line: str | None = None,
) -> Outcome:
    """JS7's mapping: returnCodeMeaning decides, failOnErrWritten vetoes, a kill or timeout wraps a Failed.

    A killed or timed-out step never succeeds, whatever its return code (a trap may `exit 0`); its
    inner Failed carries the return code: 143 after SIGTERM, 137 after SIGKILL, or the trap's own.
    A Failed's message is the last line written to stderr, as JS7 does.
    """
    values = {**named_values, "returnCode": return_code}
    if ended_by is not None:
        inner = Failed(named_values=values)
        return TimedOut(outcome=inner) if ended_by == "timed out" else Killed(outcome=inner)
    if not meaning.is_success(return_code):
        return Failed(error_message=last_err_line, named_values=values)
    if fail_on_err_written and err_written:
        return Failed(error_message=last_err_line or "The job wrote to stderr", named_values=values)
    return Succeeded(named_values=values)
