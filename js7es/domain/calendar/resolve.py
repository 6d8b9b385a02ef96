"""The dates of a calendar in a range, with JOC Cockpit's semantics (its `FrequencyResolver`).

The window is the requested range narrowed by the calendar's own `from`/`to`; each frequency is then
narrowed again by its own `from`/`to`. The result is the union of the included frequencies minus the
union of the excluded ones and of the dates of the non-working-day calendars that `excludes` names.
A calendar's type does not change its dates: a non-working-day calendar resolves to its non-working
days, which is what a working-day calendar or a schedule subtracts.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from types import MappingProxyType

from js7es.domain.calendar.model import (
    Calendar,
    Frequencies,
    MonthDays,
    Months,
    Repetition,
    RepetitionUnit,
    WeekDays,
)
from js7es.domain.problem import Problem, problem

_NO_CALENDARS: Mapping[str, Calendar] = MappingProxyType({})
_DAY = timedelta(days=1)


def dates(
    calendar: Calendar, start: date, end: date, *, non_working: Mapping[str, Calendar] = _NO_CALENDARS
) -> tuple[date, ...] | Problem:
    """The calendar's dates in [start, end], ascending.

    `non_working` holds the calendars that `excludes.nonWorkingDayCalendars` may name, by name; one
    named but missing is the problem UnknownNonWorkingDayCalendar. As in JOC, the referenced calendars'
    own references are not followed.
    """
    low = max(start, calendar.from_date or start)
    high = min(end, calendar.to_date or end)
    if low > high:
        return ()
    removed: set[date] = set()
    for name in calendar.excludes.non_working_day_calendars:
        referenced = non_working.get(name)
        if referenced is None:
            return problem(
                "UnknownNonWorkingDayCalendar", f"The non-working-day calendar {name!r} is unknown", name=name
            )
        removed |= _resolve(referenced, low, high)
    return tuple(sorted(_resolve(calendar, low, high) - removed))


def _resolve(calendar: Calendar, start: date, end: date) -> set[date]:
    low = max(start, calendar.from_date or start)
    high = min(end, calendar.to_date or end)
    if low > high:
        return set()
    return _frequencies(calendar.includes, low, high) - _frequencies(calendar.excludes, low, high)


def _frequencies(frequencies: Frequencies, low: date, high: date) -> set[date]:
    result = {day for day in (*frequencies.dates, *frequencies.holidays) if low <= day <= high}
    for weekdays in frequencies.weekdays:
        result.update(_weekdays(weekdays, low, high))
    for monthdays in frequencies.monthdays:
        result.update(_monthdays(monthdays, low, high, ultimo=False))
    for ultimos in frequencies.ultimos:
        result.update(_monthdays(ultimos, low, high, ultimo=True))
    for repetition in frequencies.repetitions:
        result.update(_repetition(repetition, low, high))
    for months in frequencies.months:
        result.update(_months(months, low, high))
    return result


def joc_weekday(day: date) -> int:
    """JOC's weekday number: 0 = Sunday, 1 = Monday, ... 6 = Saturday."""
    return day.isoweekday() % 7


def _days(low: date, high: date, from_date: date | None, to_date: date | None) -> Iterator[date]:
    day = max(low, from_date or low)
    last = min(high, to_date or high)
    while day <= last:
        yield day
        day += _DAY


def _weekdays(weekdays: WeekDays, low: date, high: date) -> Iterator[date]:
    return (day for day in _days(low, high, weekdays.from_date, weekdays.to_date) if joc_weekday(day) in weekdays.days)


def _month_length(day: date) -> int:
    return _stdlib_calendar.monthrange(day.year, day.month)[1]


def _monthdays(monthdays: MonthDays, low: date, high: date, *, ultimo: bool) -> Iterator[date]:
    """Days of the month, or with `ultimo` counted back from its end; a weekly day's week of the month is
    the week of seven days it falls in, counted from the month's first (or last) day, as JOC counts it."""
    for day in _days(low, high, monthdays.from_date, monthdays.to_date):
        number = _month_length(day) + 1 - day.day if ultimo else day.day
        if number in monthdays.days:
            yield day
        elif monthdays.weekly_days:
            week = (number - 1) // 7 + 1
            if any(w.day == joc_weekday(day) and w.week_of_month == week for w in monthdays.weekly_days):
                yield day


def _repetition(repetition: Repetition, low: date, high: date) -> Iterator[date]:
    """Every `step` units from the repetition's own `from`, whatever the window. A monthly or yearly
    repetition from the 31st (or 29 February) falls on the month's last day where the day is missing
    and returns to the 31st where it exists (JOC's `resolveRepetitions`)."""
    anchor = repetition.from_date
    last = min(high, repetition.to_date or high)
    if repetition.unit in (RepetitionUnit.DAILY, RepetitionUnit.WEEKLY):
        stride = repetition.step * (7 if repetition.unit is RepetitionUnit.WEEKLY else 1)
        skipped = max(0, -(-(low - anchor).days // stride))
        day = anchor + timedelta(days=skipped * stride)
        while day <= last:
            yield day
            day += timedelta(days=stride)
        return
    stride = repetition.step * (12 if repetition.unit is RepetitionUnit.YEARLY else 1)
    anchor_month = anchor.year * 12 + anchor.month - 1
    k = max(0, (low.year * 12 + low.month - 1 - anchor_month) // stride - 1)
    while True:
        year, month0 = divmod(anchor_month + k * stride, 12)
        if year > last.year:
            return
        day = date(year, month0 + 1, min(anchor.day, _stdlib_calendar.monthrange(year, month0 + 1)[1]))
        if day > last:
            return
        if day >= low:
            yield day
        k += 1


def _months(months: Months, low: date, high: date) -> set[date]:
    low_m = max(low, months.from_date or low)
    high_m = min(high, months.to_date or high)
    result: set[date] = set()
    if low_m <= high_m:
        for weekdays in months.weekdays:
            result.update(_weekdays(weekdays, low_m, high_m))
        for monthdays in months.monthdays:
            result.update(_monthdays(monthdays, low_m, high_m, ultimo=False))
        for ultimos in months.ultimos:
            result.update(_monthdays(ultimos, low_m, high_m, ultimo=True))
    # JOC's addMonthsRepetitions: nested repetitions are limited by their own from/to and the window
    # only (not by the months' from/to), and YEARLY ones are ignored (IGNORE_MONTHS_REPETITION_YEARLY).
    for repetition in months.repetitions:
        if repetition.unit is not RepetitionUnit.YEARLY:
            result.update(_repetition(repetition, low, high))
    return {day for day in result if day.month in months.months}
