"""JOC Cockpit calendars and schedules: their JSON, their dates and planned starts, purely (no clock)."""

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
from js7es.domain.calendar.schedule import (
    AssignedCalendar,
    OrderParameterisation,
    Period,
    PlannedStart,
    Schedule,
    WhenHoliday,
    parse_schedule,
    planned_starts,
)

__all__ = [
    "AssignedCalendar",
    "Calendar",
    "CalendarType",
    "Frequencies",
    "MonthDays",
    "Months",
    "OrderParameterisation",
    "Period",
    "PlannedStart",
    "Repetition",
    "RepetitionUnit",
    "Schedule",
    "WeekDays",
    "WeeklyDay",
    "WhenHoliday",
    "dates",
    "joc_weekday",
    "parse_calendar",
    "parse_schedule",
    "planned_starts",
]
