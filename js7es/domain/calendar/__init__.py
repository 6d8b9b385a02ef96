"""JOC Cockpit calendars: parsing their JSON and resolving their dates, purely (no clock, no time zones)."""

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
from js7es.domain.calendar.parse import parse_calendar
from js7es.domain.calendar.resolve import dates, joc_weekday

__all__ = [
    "Calendar",
    "CalendarType",
    "Frequencies",
    "MonthDays",
    "Months",
    "Repetition",
    "RepetitionUnit",
    "WeekDays",
    "WeeklyDay",
    "dates",
    "joc_weekday",
    "parse_calendar",
]
