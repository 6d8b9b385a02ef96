"""A JOC Cockpit calendar as typed values: what `includes` and `excludes` say, nothing resolved yet.

Weekdays are numbered as JOC numbers them: 0 = Sunday, 1 = Monday, ... 6 = Saturday (JOC also reads 7 as
Sunday; the parser turns it into 0). Every frequency may carry its own `from`/`to`; `None` means open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum


class CalendarType(Enum):
    WORKING = "WORKINGDAYSCALENDAR"
    NON_WORKING = "NONWORKINGDAYSCALENDAR"


class RepetitionUnit(Enum):
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    YEARLY = "YEARLY"


@dataclass(frozen=True, slots=True, kw_only=True)
class WeekDays:
    days: frozenset[int]
    from_date: date | None = None
    to_date: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class WeeklyDay:
    """The `week_of_month`-th `day` of a month (1 = first), or of its end for an ultimo (1 = last)."""

    day: int
    week_of_month: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthDays:
    """Days of the month (1 = first), or for an ultimo days counted back from its end (1 = last)."""

    days: frozenset[int] = frozenset()
    weekly_days: frozenset[WeeklyDay] = frozenset()
    from_date: date | None = None
    to_date: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Repetition:
    """Every `step` units counted from `from_date`, which JOC requires."""

    unit: RepetitionUnit
    step: int
    from_date: date
    to_date: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Months:
    """The nested frequencies, limited to the given months (1 = January)."""

    months: frozenset[int]
    weekdays: tuple[WeekDays, ...] = ()
    monthdays: tuple[MonthDays, ...] = ()
    ultimos: tuple[MonthDays, ...] = ()
    repetitions: tuple[Repetition, ...] = ()
    from_date: date | None = None
    to_date: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Frequencies:
    dates: tuple[date, ...] = ()
    weekdays: tuple[WeekDays, ...] = ()
    monthdays: tuple[MonthDays, ...] = ()
    ultimos: tuple[MonthDays, ...] = ()
    months: tuple[Months, ...] = ()
    holidays: tuple[date, ...] = ()  # JOC's [{dates}] flattened: the grouping means nothing to the dates
    repetitions: tuple[Repetition, ...] = ()
    non_working_day_calendars: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Calendar:
    type: CalendarType
    from_date: date | None = None
    to_date: date | None = None
    includes: Frequencies = Frequencies()
    excludes: Frequencies = Frequencies()
    path: str | None = None
