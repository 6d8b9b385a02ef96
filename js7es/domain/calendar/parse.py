"""Reading a calendar from JOC Cockpit's JSON, refusing a malformed one as a whole with a coded problem.

Unknown fields (`name`, `title`, `version`, `documentationName`, ...) are ignored, as JOC's decoder does,
so that exported calendars load unchanged. Every problem is `InvalidCalendar` with the JSON path in
`where`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

from js7es.domain.calendar.model import (
    Calendar,
    CalendarType,
    Frequencies,
    MonthDays,
    Months,
    Repetition,
    RepetitionUnit,
    WeekDays,
    WeeklyDay,
)
from js7es.domain.problem import Problem, problem

T = TypeVar("T")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")  # JOC's own check (FrequencyResolver.getCalendarFromString)


class _Refused(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def parse_calendar(obj: Any, *, type: CalendarType | None = None) -> Calendar | Problem:
    """A calendar from its JSON object (a decoded `*.calendar.json` or a JOC API `calendar` field).

    `type` is what the caller knows from elsewhere (the inventory's object type, as a file name or a
    deployment gives a workflow's path); the JSON's own `type` wins, and one of them is required.
    """
    try:
        return _calendar(obj, type)
    except _Refused as refused:
        return refused.problem


def _refuse(where: str, message: str) -> _Refused:
    return _Refused(problem("InvalidCalendar", f"{message} at {where}", where=where))


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _object(obj: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise _refuse(where, f"Expected an object, got {_kind(obj)}")
    return obj


def _list(obj: Mapping[str, Any], key: str, where: str, item: Callable[[Any, str], T]) -> tuple[T, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _refuse(f"{where}.{key}", f"Expected a list, got {_kind(value)}")
    return tuple(item(element, f"{where}.{key}[{i}]") for i, element in enumerate(value))


def _date(value: Any, where: str) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise _refuse(where, f"Expected a date YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _refuse(where, f"No such date {value!r}") from None


def _optional_date(obj: Mapping[str, Any], key: str, where: str) -> date | None:
    value = obj.get(key)
    # JOC treats an empty string like an absent field (FrequencyResolver.getFrom/getTo)
    return None if value is None or value == "" else _date(value, f"{where}.{key}")


def _integer(low: int, high: int) -> Callable[[Any, str], int]:
    def check(value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _refuse(where, f"Expected an integer from {low} to {high}, got {value!r}")
        return value

    return check


def _weekday(value: Any, where: str) -> int:
    return _integer(0, 7)(value, where) % 7  # JOC: 0 and 7 are both Sunday


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise _refuse(where, f"Expected a non-empty string, got {value!r}")
    return value


def _calendar(obj: Any, known_type: CalendarType | None) -> Calendar:
    obj = _object(obj, "$")
    type_ = obj.get("type")
    if type_ is None and known_type is not None:
        calendar_type = known_type
    else:
        try:
            calendar_type = CalendarType(type_)
        except ValueError:
            message = f"Expected WORKINGDAYSCALENDAR or NONWORKINGDAYSCALENDAR, got {type_!r}"
            raise _refuse("$.type", message) from None
    path = obj.get("path")
    if path is not None and not isinstance(path, str):
        raise _refuse("$.path", f"Expected a string, got {_kind(path)}")
    return Calendar(
        type=calendar_type,
        from_date=_optional_date(obj, "from", "$"),
        to_date=_optional_date(obj, "to", "$"),
        includes=_frequencies(obj.get("includes"), "$.includes"),
        excludes=_frequencies(obj.get("excludes"), "$.excludes"),
        path=path,
    )


def _frequencies(value: Any, where: str) -> Frequencies:
    if value is None:
        return Frequencies()
    obj = _object(value, where)
    holidays = _list(obj, "holidays", where, _holidays)
    return Frequencies(
        dates=_list(obj, "dates", where, _date),
        weekdays=_list(obj, "weekdays", where, _weekdays),
        monthdays=_list(obj, "monthdays", where, _monthdays),
        ultimos=_list(obj, "ultimos", where, _monthdays),
        months=_list(obj, "months", where, _months),
        holidays=tuple(day for group in holidays for day in group),
        repetitions=_list(obj, "repetitions", where, _repetition),
        non_working_day_calendars=_list(obj, "nonWorkingDayCalendars", where, _string),
    )


def _holidays(value: Any, where: str) -> tuple[date, ...]:
    return _list(_object(value, where), "dates", where, _date)


def _weekdays(value: Any, where: str) -> WeekDays:
    obj = _object(value, where)
    days = _list(obj, "days", where, _weekday)
    if not days:  # JOC: "json field 'days' in 'weekdays' is undefined."
        raise _refuse(f"{where}.days", "Expected at least one weekday")
    return WeekDays(
        days=frozenset(days), from_date=_optional_date(obj, "from", where), to_date=_optional_date(obj, "to", where)
    )


def _weekly_day(value: Any, where: str) -> WeeklyDay:
    obj = _object(value, where)
    return WeeklyDay(
        day=_weekday(obj.get("day"), f"{where}.day"),
        week_of_month=_integer(1, 5)(obj.get("weekOfMonth"), f"{where}.weekOfMonth"),
    )


def _monthdays(value: Any, where: str) -> MonthDays:
    obj = _object(value, where)
    return MonthDays(
        days=frozenset(_list(obj, "days", where, _integer(1, 31))),
        weekly_days=frozenset(_list(obj, "weeklyDays", where, _weekly_day)),
        from_date=_optional_date(obj, "from", where),
        to_date=_optional_date(obj, "to", where),
    )


def _repetition(value: Any, where: str) -> Repetition:
    obj = _object(value, where)
    unit = obj.get("repetition")
    try:
        repetition_unit = RepetitionUnit(unit)
    except ValueError:
        raise _refuse(f"{where}.repetition", f"Expected DAILY, WEEKLY, MONTHLY or YEARLY, got {unit!r}") from None
    from_date = _optional_date(obj, "from", where)
    if from_date is None:  # JOC counts from it and refuses a repetition without it
        raise _refuse(f"{where}.from", "A repetition needs the date it counts from")
    step = obj.get("step", 1)
    return Repetition(
        unit=repetition_unit,
        step=_integer(1, 100_000)(1 if step is None else step, f"{where}.step"),
        from_date=from_date,
        to_date=_optional_date(obj, "to", where),
    )


def _months(value: Any, where: str) -> Months:
    obj = _object(value, where)
    return Months(
        months=frozenset(_list(obj, "months", where, _integer(1, 12))),
        weekdays=_list(obj, "weekdays", where, _weekdays),
        monthdays=_list(obj, "monthdays", where, _monthdays),
        ultimos=_list(obj, "ultimos", where, _monthdays),
        repetitions=_list(obj, "repetitions", where, _repetition),
        from_date=_optional_date(obj, "from", where),
        to_date=_optional_date(obj, "to", where),
    )
