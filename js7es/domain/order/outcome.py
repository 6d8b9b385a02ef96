"""Outcomes of a job step or an instruction (JS7's OrderOutcome)."""

from __future__ import annotations

from dataclasses import dataclass, field

from js7es.domain import codec
from js7es.domain.value import NamedValues


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """Base of the outcomes."""

    @property
    def is_succeeded(self) -> bool:
        return False

    @property
    def named_values(self) -> NamedValues:
        return {}


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Succeeded(Outcome):
    named_values: NamedValues = field(default_factory=dict)

    @property
    def is_succeeded(self) -> bool:
        return True


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Failed(Outcome):
    error_message: str | None = None
    named_values: NamedValues = field(default_factory=dict)


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class TimedOut(Outcome):
    """The job ran longer than its timeout and was killed (JS7: TimedOut(Failed rc=143))."""

    outcome: Outcome


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Killed(Outcome):
    outcome: Outcome


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Disrupted(Outcome):
    """The process was lost (`reason` "ProcessLost": the Subagent restarted) or disrupted otherwise."""

    reason: str
    message: str | None = None

    @property
    def is_process_lost(self) -> bool:
        return self.reason == "ProcessLost"


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Caught(Outcome):
    """Recorded when a failure was caught by a Try."""


def error_message(outcome: Outcome) -> str:
    match outcome:
        case Failed(error_message=message):
            return message or "Failed"
        case TimedOut():
            return "Timed out"
        case Killed():
            return "Killed"
        case Disrupted(reason=reason, message=message):
            return f"Disrupted({reason}{': ' + message if message else ''})"
    return type(outcome).__name__


def succeeded_with_return_code(return_code: int, named_values: NamedValues | None = None) -> Succeeded:
    return Succeeded(named_values={**(named_values or {}), "returnCode": return_code})


def failed_with_return_code(
    return_code: int, message: str | None = None, named_values: NamedValues | None = None
) -> Failed:
    return Failed(error_message=message, named_values={**(named_values or {}), "returnCode": return_code})
