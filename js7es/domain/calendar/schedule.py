"""JOC Cockpit schedules: their JSON as typed values, and the instants a daily plan would start orders at.

What JOC's daily plan does (`DailyPlanRunner`, `PeriodResolver`), and so what this module does:

- The days of an assigned calendar are the calendar's dates, limited by the assignment's own
  `includes` (when it has any) and minus its `excludes`.
- A period starts once at `singleStart` and, when it has a `repeat`, every `repeat` from `begin`
  while the start is before `end` (end exclusive; an absent `begin` is 00:00:00, an absent `end`
  24:00:00, the next midnight).
- `whenHoliday` (default SUPPRESS) is checked against the schedule's non-working-day calendars:
  SUPPRESS, NEXTNONWORKINGDAY and PREVIOUSNONWORKINGDAY drop a start on a non-working day; IGNORE
  keeps it. NEXTNONWORKINGDAY also starts on the first working day after a run of non-working days
  in which the calendar had a day; PREVIOUSNONWORKINGDAY on the last working day before such a run.
  As in JOC, the run is looked for within the 7 days next to that working day.

Time zones (the DST rule). A local time becomes an instant as Java's `ZonedDateTime.of` makes it,
which JOC uses (`JobSchedulerDate.getScheduledForInUTC`, `PeriodResolver.isInDailyPlanPeriod`):
a local time in a spring-forward gap is moved later by the length of the gap (02:30 in
Europe/Berlin on the last Sunday of March is 03:30 CEST), and a local time that occurs twice on
fall-back is its first occurrence (the earlier offset). That is Python's `fold=0`. A repeat walks
in absolute time from its begin instant to its end instant, so a day with a change has one
hour more or fewer of repeats, never a duplicate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from js7es.domain.calendar.model import Calendar, CalendarType, Frequencies
from js7es.domain.calendar.parse import parse_calendar
from js7es.domain.calendar.resolve import dates
from js7es.domain.problem import Problem, problem

_DAY = timedelta(days=1)
_LOOK_AROUND = 7  # days JOC searches for a run of non-working days (DailyPlanRunner.isDayAfterNonWorkingDays)
_TIME = re.compile(r"(\d{1,2})(?::(\d{1,2}))?(?::(\d{1,2}))?")


class WhenHoliday(Enum):
    SUPPRESS = "SUPPRESS"
    IGNORE = "IGNORE"
    PREVIOUS_NON_WORKING_DAY = "PREVIOUSNONWORKINGDAY"
    NEXT_NON_WORKING_DAY = "NEXTNONWORKINGDAY"


@dataclass(frozen=True, slots=True, kw_only=True)
class Period:
    """Times of day as seconds after midnight; `end` may be 86400 (24:00:00)."""

    single_start: int | None = None
    begin: int = 0
    end: int = 86400
    repeat: int | None = None  # seconds, > 0
    when_holiday: WhenHoliday = WhenHoliday.SUPPRESS


@dataclass(frozen=True, slots=True, kw_only=True)
class AssignedCalendar:
    calendar_name: str
    time_zone: str
    periods: tuple[Period, ...]
    restrictions: Calendar | None = None  # the assignment's includes/excludes, when it has any


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderParameterisation:
    order_name: str | None = None
    variables: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Schedule:
    workflow_names: tuple[str, ...]
    calendars: tuple[AssignedCalendar, ...]
    non_working_day_calendars: tuple[str, ...] = ()
    order_parameterisations: tuple[OrderParameterisation, ...] = ()
    plan_order_automatically: bool = True
    submit_order_to_controller_when_planned: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedStart:
    """One order a daily plan would create: `day` is the calendar's day, `epoch_ms` the instant in UTC."""

    calendar_name: str
    day: date
    epoch_ms: int
    period: Period
    order_name: str | None
    variables: tuple[tuple[str, Any], ...]


class _Refused(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _refuse(where: str, message: str) -> _Refused:
    return _Refused(problem("InvalidSchedule", f"{message} at {where}", where=where))


def parse_schedule(obj: Any) -> Schedule | Problem:
    """A schedule from its JSON object (a `*.schedule.json`); unknown fields are ignored, as JOC does."""
    try:
        return _schedule(obj)
    except _Refused as refused:
        return refused.problem


def _object(obj: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise _refuse(where, f"Expected an object, got {type(obj).__name__}")
    return obj


def _items(obj: Mapping[str, Any], key: str, where: str) -> list[tuple[Any, str]]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _refuse(f"{where}.{key}", f"Expected a list, got {type(value).__name__}")
    return [(element, f"{where}.{key}[{i}]") for i, element in enumerate(value)]


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _refuse(where, f"Expected a non-empty string, got {value!r}")
    return value


def _boolean(obj: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise _refuse(f"{where}.{key}", f"Expected a boolean, got {value!r}")
    return value


def _schedule(obj: Any) -> Schedule:
    obj = _object(obj, "$")
    names = [_string(name, where) for name, where in _items(obj, "workflowNames", "$")]
    if obj.get("workflowName") is not None:
        single = _string(obj["workflowName"], "$.workflowName")
        names = names if single in names else [single, *names]
    if not names:
        raise _refuse("$.workflowName", "Expected a workflowName or workflowNames")
    non_working = [_name(item, where) for item, where in _items(obj, "nonWorkingDayCalendars", "$")]
    return Schedule(
        workflow_names=tuple(names),
        calendars=tuple(_assigned(item, where) for item, where in _items(obj, "calendars", "$")),
        non_working_day_calendars=tuple(non_working),
        order_parameterisations=tuple(
            _parameterisation(item, where) for item, where in _items(obj, "orderParameterisations", "$")
        ),
        plan_order_automatically=_boolean(obj, "planOrderAutomatically", "$", True),
        submit_order_to_controller_when_planned=_boolean(obj, "submitOrderToControllerWhenPlanned", "$", False),
    )


def _name(obj: Any, where: str) -> str:
    obj = _object(obj, where)
    if obj.get("calendarName") is not None:
        return _string(obj["calendarName"], f"{where}.calendarName")
    # JOC also accepts a calendarPath; its last segment is the name
    return _string(obj.get("calendarPath"), f"{where}.calendarName").rsplit("/", 1)[-1]


def _assigned(obj: Any, where: str) -> AssignedCalendar:
    name = _name(obj, where)
    obj = _object(obj, where)
    zone = obj.get("timeZone", "UTC")
    try:
        ZoneInfo(_string(zone, f"{where}.timeZone"))
    except (ZoneInfoNotFoundError, ValueError):
        raise _refuse(f"{where}.timeZone", f"Unknown time zone {zone!r}") from None
    restrictions = None
    if obj.get("includes") or obj.get("excludes"):
        raw = {"type": CalendarType.WORKING.value, "includes": obj.get("includes"), "excludes": obj.get("excludes")}
        parsed = parse_calendar(raw)
        if isinstance(parsed, Problem):
            inner = parsed.arguments.get("where", "$").removeprefix("$")
            raise _refuse(f"{where}{inner}", parsed.message.split(" at ")[0])
        restrictions = parsed
    periods = tuple(_period(item, p_where) for item, p_where in _items(obj, "periods", where))
    return AssignedCalendar(calendar_name=name, time_zone=zone, periods=periods, restrictions=restrictions)


def _seconds(value: Any, where: str, *, duration: bool = False, allow_24: bool = False) -> int:
    """JOC's PeriodResolver.normalizeTimeValue: "H", "H:MM", "H:MM:SS"; a repeat given short is
    counted from the right ("30" is 30 seconds, "5:00" five minutes)."""
    match = _TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise _refuse(where, f"Expected a time HH:MM:SS, got {value!r}")
    parts = [int(p) for p in match.groups() if p is not None]
    padding = [0] * (3 - len(parts))
    parts = padding + parts if duration else parts + padding
    hours, minutes, seconds = parts
    total = hours * 3600 + minutes * 60 + seconds
    if minutes > 59 or seconds > 59 or total > 86400 or (total == 86400 and not allow_24):
        raise _refuse(where, f"No such time {value!r}")
    return total


def _period(obj: Any, where: str) -> Period:
    obj = _object(obj, where)
    single = obj.get("singleStart")
    repeat = obj.get("repeat")
    when = obj.get("whenHoliday")
    try:
        when_holiday = WhenHoliday.SUPPRESS if when is None else WhenHoliday(when)
    except ValueError:
        expected = ", ".join(w.value for w in WhenHoliday)
        raise _refuse(f"{where}.whenHoliday", f"Expected one of {expected}, got {when!r}") from None
    repeat_seconds = None if repeat in (None, "") else _seconds(repeat, f"{where}.repeat", duration=True)
    if repeat_seconds == 0:
        repeat_seconds = None  # JOC ignores a repeat of 00:00:00
    period = Period(
        single_start=None if single in (None, "") else _seconds(single, f"{where}.singleStart"),
        begin=0 if obj.get("begin") in (None, "") else _seconds(obj["begin"], f"{where}.begin", allow_24=True),
        end=86400 if obj.get("end") in (None, "") else _seconds(obj["end"], f"{where}.end", allow_24=True),
        repeat=repeat_seconds,
        when_holiday=when_holiday,
    )
    if period.single_start is None and period.repeat is None:
        raise _refuse(where, "Expected a singleStart or a repeat")
    return period


def _parameterisation(obj: Any, where: str) -> OrderParameterisation:
    obj = _object(obj, where)
    name = obj.get("orderName")
    variables = _object(obj.get("variables") or {}, f"{where}.variables")
    return OrderParameterisation(
        order_name=None if name in (None, "") else _string(name, f"{where}.orderName"),
        variables=tuple(sorted(variables.items())),
    )


def local_to_epoch_ms(day: date, seconds: int, zone: ZoneInfo) -> int:
    """The instant of a local time of day (86400 is the next midnight), by the DST rule above."""
    local = datetime.combine(day, time(), tzinfo=zone) + timedelta(seconds=seconds)
    # datetime + timedelta keeps the wall clock and fold=0: Java's ZonedDateTime.of resolution
    return int(local.astimezone(UTC).timestamp()) * 1000


def _starts(period: Period, day: date, zone: ZoneInfo) -> list[int]:
    result = []
    if period.single_start is not None:
        result.append(local_to_epoch_ms(day, period.single_start, zone))
    if period.repeat is not None:
        start = local_to_epoch_ms(day, period.begin, zone)
        end = local_to_epoch_ms(day, period.end, zone)
        while start < end:
            result.append(start)
            start += period.repeat * 1000
    return result


def planned_starts(
    schedule: Schedule, calendars: Mapping[str, Calendar], day_from: date, day_to: date
) -> tuple[PlannedStart, ...] | Problem:
    """Every start of the schedule on the days [day_from, day_to], ordered by day, calendar, instant.

    `calendars` holds every calendar the schedule names (assigned and non-working-day ones) and those
    their `excludes.nonWorkingDayCalendars` name; one missing is UnknownCalendar.
    """
    low, high = day_from - _LOOK_AROUND * _DAY, day_to + _LOOK_AROUND * _DAY
    non_working: set[date] = set()
    for name in schedule.non_working_day_calendars:
        days = _dates(name, calendars, low, high)
        if isinstance(days, Problem):
            return days
        non_working |= days
    parameterisations = schedule.order_parameterisations or (OrderParameterisation(),)
    result: list[PlannedStart] = []
    for assigned in schedule.calendars:
        days = _dates(assigned.calendar_name, calendars, low, high, assigned.restrictions)
        if isinstance(days, Problem):
            return days
        zone = ZoneInfo(assigned.time_zone)
        day = day_from
        while day <= day_to:
            seen: set[int] = set()
            for period in _periods_on(assigned.periods, day, days, non_working):
                for epoch_ms in _starts(period, day, zone):
                    if epoch_ms in seen:
                        continue  # JOC keeps the first period that yields a start (PeriodResolver.add)
                    seen.add(epoch_ms)
                    result.extend(
                        PlannedStart(
                            calendar_name=assigned.calendar_name,
                            day=day,
                            epoch_ms=epoch_ms,
                            period=period,
                            order_name=p.order_name,
                            variables=p.variables,
                        )
                        for p in parameterisations
                    )
            day += _DAY
    return tuple(sorted(result, key=lambda s: (s.day, s.calendar_name, s.epoch_ms)))


def _dates(
    name: str, calendars: Mapping[str, Calendar], low: date, high: date, restrictions: Calendar | None = None
) -> set[date] | Problem:
    calendar = calendars.get(name)
    if calendar is None:
        return problem("UnknownCalendar", f"The calendar {name!r} is unknown", name=name)
    resolved = dates(calendar, low, high, non_working=calendars)
    if isinstance(resolved, Problem):
        return resolved
    days = set(resolved)
    if restrictions is not None:
        if restrictions.includes != Frequencies():
            allowed = dates(restrictions, low, high, non_working=calendars)
            if isinstance(allowed, Problem):
                return allowed
            days &= set(allowed)
        excluded = dates(Calendar(type=CalendarType.WORKING, includes=restrictions.excludes), low, high)
        if isinstance(excluded, Problem):
            return excluded
        days -= set(excluded)
    return days


def _periods_on(periods: tuple[Period, ...], day: date, days: set[date], non_working: set[date]) -> list[Period]:
    if day in days:
        if day not in non_working:
            return list(periods)
        return [p for p in periods if p.when_holiday is WhenHoliday.IGNORE]
    if day in non_working:
        return []
    return [p for p in periods if _moved_here(p.when_holiday, day, days, non_working)]


def _moved_here(when: WhenHoliday, day: date, days: set[date], non_working: set[date]) -> bool:
    """Whether `day`, a working day off the calendar, takes over a calendar day from the run of
    non-working days right after (PREVIOUS...) or right before (NEXT...) it."""
    if when is WhenHoliday.NEXT_NON_WORKING_DAY:
        step = -_DAY
    elif when is WhenHoliday.PREVIOUS_NON_WORKING_DAY:
        step = _DAY
    else:
        return False
    other = day + step
    for _ in range(_LOOK_AROUND):
        if other not in non_working:
            return False
        if other in days:
            return True
        other += step
    return False
