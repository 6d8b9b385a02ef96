"""The schedule of a Cycle instruction (JS7's data/workflow/instructions/Schedule.scala).

A schedule is a list of schemes; each scheme is an admission time scheme (when cycles may start)
and a repeat:
- `Periodic{period, offsets}`: starts at the offsets within each period, counted on the local wall
  clock from midnight (period 3600, offsets [0, 1800]: at :00 and :30 of each hour);
- `Ticking{interval}`: starts every interval from the start of the admission period;
- `Continuous{pause, limit?}`: the next cycle starts a pause after the previous one ended, at most
  `limit` times per admission period.

JSON durations are seconds (numbers, as JS7 writes a FiniteDuration); js7es keeps milliseconds.
The admission time schemes are JS7's, read and computed by js7es.domain.time.admission.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from js7es.domain.problem import Problem, problem
from js7es.domain.time.admission import (
    AdmissionTimeScheme,
    admission_time_scheme_to_json,
    parse_admission_time_scheme,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Periodic:
    period_ms: int
    offsets_ms: tuple[int, ...]  # sorted, as JS7's decoder sorts them


@dataclass(frozen=True, slots=True, kw_only=True)
class Ticking:
    interval_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Continuous:
    pause_ms: int = 0
    limit: int | None = None


Repeat = Periodic | Ticking | Continuous


@dataclass(frozen=True, slots=True, kw_only=True)
class Scheme:
    admission_time_scheme: AdmissionTimeScheme
    repeat: Repeat


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    schemes: tuple[Scheme, ...] = ()


def parse_schedule(obj: Any) -> Schedule | Problem:
    """A schedule from JS7's JSON, or InvalidInstruction with JS7's message for bad repeats."""
    if not isinstance(obj, Mapping) or not isinstance(obj.get("schemes"), list):
        return problem("InvalidInstruction", 'Cycle needs a schedule {"schemes": [...]}')
    schemes = []
    for i, scheme in enumerate(obj["schemes"]):
        if not isinstance(scheme, Mapping):
            return problem("InvalidInstruction", f"schedule.schemes[{i}] must be an object")
        admission = parse_admission_time_scheme(
            scheme.get("admissionTimeScheme"), f"schedule.schemes[{i}].admissionTimeScheme"
        )
        if isinstance(admission, Problem):
            return admission
        repeat = _repeat(scheme.get("repeat"))
        if isinstance(repeat, Problem):
            return problem(repeat.code, f"schedule.schemes[{i}].repeat: {repeat.message}")
        schemes.append(Scheme(admission_time_scheme=admission, repeat=repeat))
    return Schedule(schemes=tuple(schemes))


def _repeat(obj: Any) -> Repeat | Problem:
    if not isinstance(obj, Mapping):
        return problem("InvalidInstruction", "repeat must be an object with a TYPE")
    match obj.get("TYPE"):
        case "Periodic":
            period = _ms(obj.get("period"))
            offsets = obj.get("offsets")
            offset_ms = [_ms(o) for o in offsets] if isinstance(offsets, list) else [None]
            if (
                period is None
                or period <= 0
                or any(o is None for o in offset_ms)
                or not any(o is not None and 0 <= o < period for o in offset_ms)  # JS7: exists, not forall
                or len(set(offset_ms)) != len(offset_ms)
            ):
                return problem("InvalidInstruction", "Invalid Periodic arguments")
            return Periodic(period_ms=period, offsets_ms=tuple(sorted(o for o in offset_ms if o is not None)))
        case "Ticking":
            interval = _ms(obj.get("interval"))
            if interval is None or interval <= 0:
                return problem("InvalidInstruction", "Invalid Ticking arguments")
            return Ticking(interval_ms=interval)
        case "Continuous":
            pause = _ms(obj.get("pause", 0))
            limit = obj.get("limit")
            if pause is None or pause < 0 or (limit is not None and (not _is_int(limit) or limit < 0)):
                return problem("InvalidInstruction", "Invalid Continuous arguments")
            if pause == 0 and limit is None:
                return problem("InvalidInstruction", "Continuous: limit or pause must be set")
            return Continuous(pause_ms=pause, limit=limit)
    return problem("InvalidInstruction", f"Unknown repeat TYPE {obj.get('TYPE')!r}")


def schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    return {
        "schemes": [
            {
                "admissionTimeScheme": admission_time_scheme_to_json(s.admission_time_scheme),
                "repeat": repeat_to_json(s.repeat),
            }
            for s in schedule.schemes
        ]
    }


def repeat_to_json(repeat: Repeat) -> dict[str, Any]:
    match repeat:
        case Periodic(period_ms=period, offsets_ms=offsets):
            return {"TYPE": "Periodic", "period": seconds(period), "offsets": [seconds(o) for o in offsets]}
        case Ticking(interval_ms=interval):
            return {"TYPE": "Ticking", "interval": seconds(interval)}
        case Continuous(pause_ms=pause, limit=limit):
            out: dict[str, Any] = {"TYPE": "Continuous", "pause": seconds(pause)}
            if limit is not None:
                out["limit"] = limit
            return out


def seconds(ms: int) -> int | Decimal:
    """Milliseconds as JS7 writes a duration: whole seconds as an integer, else a decimal."""
    return ms // 1000 if ms % 1000 == 0 else Decimal(ms) / 1000


def _ms(value: Any) -> int | None:
    """Seconds (a JSON number) as milliseconds, rounded; None when it is no number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    try:
        return int((Decimal(str(value)) * 1000).to_integral_value())
    except (InvalidOperation, ValueError, OverflowError):
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
