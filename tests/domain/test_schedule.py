"""Schedules: parsing, whenHoliday, order parameterisations, and the DST rule against an oracle.

The oracle turns a local time into an instant from zoneinfo's UTC → local conversion only (which has
no ambiguity): it tries the offsets in force a day before and a day after, keeps those that convert
back to the same wall clock, takes the earlier instant when two do (fall-back: first occurrence) and,
when none does (spring-forward gap), uses the offset in force before the gap (Java's
`ZonedDateTime.of`: the time moves later by the length of the gap).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from js7es.domain.calendar import Calendar, parse_calendar
from js7es.domain.calendar.schedule import (
    Period,
    PlannedStart,
    WhenHoliday,
    parse_schedule,
    planned_starts,
)
from js7es.domain.problem import Problem, orthrow

ZONES = ("Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata")
EVERY_DAY = orthrow(
    parse_calendar({"type": "WORKINGDAYSCALENDAR", "includes": {"weekdays": [{"days": [0, 1, 2, 3, 4, 5, 6]}]}})
)


def oracle_ms(day: date, seconds: int, zone_name: str) -> int:
    zone = ZoneInfo(zone_name)
    wall = datetime.combine(day, datetime.min.time()) + timedelta(seconds=seconds)
    as_utc = wall.replace(tzinfo=UTC)
    offsets = {(as_utc + delta).astimezone(zone).utcoffset() for delta in (timedelta(days=-1), timedelta(days=1))}
    matches = []
    for offset in offsets:
        assert offset is not None
        instant = as_utc - offset
        if instant.astimezone(zone).replace(tzinfo=None) == wall:
            matches.append(instant)
    if not matches:
        offset_before = (as_utc - timedelta(days=1)).astimezone(zone).utcoffset()
        assert offset_before is not None
        matches = [as_utc - offset_before]
    return int(min(matches).timestamp()) * 1000


def schedule(periods: list[dict[str, Any]], zone: str = "UTC", **extra: Any) -> Any:
    obj = {"workflowName": "w", "calendars": [{"calendarName": "c", "timeZone": zone, "periods": periods}], **extra}
    return orthrow(parse_schedule(obj))


def instants(starts: tuple[PlannedStart, ...] | Problem) -> list[str]:
    return [datetime.fromtimestamp(s.epoch_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for s in orthrow(starts)]


def test_parses_joc_schedule() -> None:
    parsed = orthrow(
        parse_schedule(
            {
                "version": "1.0",
                "workflowNames": ["a", "b"],
                "calendars": [
                    {
                        "calendarName": "c",
                        "timeZone": "Europe/Berlin",
                        "periods": [
                            {"singleStart": "5", "whenHoliday": "IGNORE"},
                            {"begin": "08:00", "end": "24:00:00", "repeat": "30"},
                        ],
                    }
                ],
                "nonWorkingDayCalendars": [{"calendarName": "holidays"}],
                "orderParameterisations": [{"orderName": "o", "variables": {"x": 1, "a": "s"}}],
                "planOrderAutomatically": False,
                "submitOrderToControllerWhenPlanned": True,
                "title": "ignored",
            }
        )
    )
    assert parsed.workflow_names == ("a", "b")
    assert parsed.calendars[0].periods == (
        Period(single_start=5 * 3600, when_holiday=WhenHoliday.IGNORE),
        Period(begin=8 * 3600, end=86400, repeat=30),
    )
    assert parsed.non_working_day_calendars == ("holidays",)
    assert parsed.order_parameterisations[0].variables == (("a", "s"), ("x", 1))
    assert (parsed.plan_order_automatically, parsed.submit_order_to_controller_when_planned) == (False, True)


@pytest.mark.parametrize(
    ("obj", "where"),
    [
        ([], "$"),
        ({"calendars": []}, "$.workflowName"),
        ({"workflowName": "w", "calendars": {}}, "$.calendars"),
        ({"workflowName": "w", "calendars": [{"timeZone": "UTC", "periods": []}]}, "$.calendars[0].calendarName"),
        (
            {"workflowName": "w", "calendars": [{"calendarName": "c", "timeZone": "Mars/Base"}]},
            "$.calendars[0].timeZone",
        ),
        (
            {"workflowName": "w", "calendars": [{"calendarName": "c", "periods": [{"singleStart": "25:00:00"}]}]},
            "$.calendars[0].periods[0].singleStart",
        ),
        (
            {"workflowName": "w", "calendars": [{"calendarName": "c", "periods": [{"begin": "01:00"}]}]},
            "$.calendars[0].periods[0]",
        ),
        (
            {
                "workflowName": "w",
                "calendars": [{"calendarName": "c", "periods": [{"singleStart": "1", "whenHoliday": "NEVER"}]}],
            },
            "$.calendars[0].periods[0].whenHoliday",
        ),
        (
            {"workflowName": "w", "calendars": [{"calendarName": "c", "includes": {"weekdays": [{"days": [9]}]}}]},
            "$.calendars[0].includes.weekdays[0].days[0]",
        ),
        ({"workflowName": "w", "planOrderAutomatically": "yes"}, "$.planOrderAutomatically"),
    ],
)
def test_refuses_malformed_schedule(obj: Any, where: str) -> None:
    result = parse_schedule(obj)
    assert isinstance(result, Problem)
    assert (result.code, result.arguments["where"]) == ("InvalidSchedule", where)


@pytest.mark.parametrize(
    ("zone", "day", "local", "expected"),
    [
        ("Europe/Berlin", date(2026, 3, 29), "02:30:00", "2026-03-29T01:30:00Z"),  # gap: 03:30 CEST
        ("Europe/Berlin", date(2026, 10, 25), "02:30:00", "2026-10-25T00:30:00Z"),  # twice: the CEST one
        ("America/New_York", date(2026, 3, 8), "02:30:00", "2026-03-08T07:30:00Z"),  # gap: 03:30 EDT
        ("America/New_York", date(2026, 11, 1), "01:30:00", "2026-11-01T05:30:00Z"),  # twice: the EDT one
        ("Australia/Sydney", date(2026, 10, 4), "02:30:00", "2026-10-03T16:30:00Z"),  # gap: 03:30 AEDT
        ("Australia/Sydney", date(2026, 4, 5), "02:30:00", "2026-04-04T15:30:00Z"),  # twice: the AEDT one
        ("Asia/Kolkata", date(2026, 3, 29), "02:30:00", "2026-03-28T21:00:00Z"),
    ],
)
def test_single_start_on_dst_days(zone: str, day: date, local: str, expected: str) -> None:
    assert instants(planned_starts(schedule([{"singleStart": local}], zone), {"c": EVERY_DAY}, day, day)) == [expected]


def test_repeat_walks_in_absolute_time_across_the_change() -> None:
    period = [{"begin": "00:00", "end": "06:00", "repeat": "01:00:00"}]
    berlin = schedule(period, "Europe/Berlin")
    spring = instants(planned_starts(berlin, {"c": EVERY_DAY}, date(2026, 3, 29), date(2026, 3, 29)))
    autumn = instants(planned_starts(berlin, {"c": EVERY_DAY}, date(2026, 10, 25), date(2026, 10, 25)))
    assert spring == ["2026-03-28T23:00:00Z", *(f"2026-03-29T0{h}:00:00Z" for h in range(4))]
    assert autumn == [f"2026-10-24T2{h}:00:00Z" for h in (2, 3)] + [f"2026-10-25T0{h}:00:00Z" for h in range(5)]


def test_repeat_end_is_exclusive_and_24_is_next_midnight() -> None:
    starts = planned_starts(
        schedule([{"begin": "22:00", "end": "24:00:00", "repeat": "01:00:00"}]),
        {"c": EVERY_DAY},
        date(2026, 1, 1),
        date(2026, 1, 1),
    )
    assert instants(starts) == ["2026-01-01T22:00:00Z", "2026-01-01T23:00:00Z"]


MON_WED = orthrow(parse_calendar({"type": "WORKINGDAYSCALENDAR", "includes": {"weekdays": [{"days": [1, 3]}]}}))


def holidays(*days: str) -> Calendar:
    return orthrow(parse_calendar({"type": "NONWORKINGDAYSCALENDAR", "includes": {"dates": list(days)}}))


@pytest.mark.parametrize(
    ("when", "non_working", "expected_days"),
    [
        ("SUPPRESS", ("2026-01-07",), [date(2026, 1, 5)]),
        ("IGNORE", ("2026-01-07",), [date(2026, 1, 5), date(2026, 1, 7)]),
        ("NEXTNONWORKINGDAY", ("2026-01-07",), [date(2026, 1, 5), date(2026, 1, 8)]),
        ("NEXTNONWORKINGDAY", ("2026-01-07", "2026-01-08"), [date(2026, 1, 5), date(2026, 1, 9)]),
        ("PREVIOUSNONWORKINGDAY", ("2026-01-07",), [date(2026, 1, 5), date(2026, 1, 6)]),
        ("PREVIOUSNONWORKINGDAY", ("2026-01-06", "2026-01-07"), [date(2026, 1, 5)]),  # Monday is planned anyway
        ("PREVIOUSNONWORKINGDAY", ("2026-01-05", "2026-01-07"), [date(2026, 1, 6)]),  # Tuesday: both runs
    ],
)
def test_when_holiday(when: str, non_working: tuple[str, ...], expected_days: list[date]) -> None:
    sched = schedule(
        [{"singleStart": "12:00", "whenHoliday": when}], nonWorkingDayCalendars=[{"calendarName": "holidays"}]
    )
    starts = orthrow(
        planned_starts(sched, {"c": MON_WED, "holidays": holidays(*non_working)}, date(2026, 1, 5), date(2026, 1, 11))
    )
    assert [s.day for s in starts] == expected_days


def test_one_start_per_order_parameterisation() -> None:
    sched = schedule(
        [{"singleStart": "12:00"}],
        orderParameterisations=[{"orderName": "a", "variables": {"x": 1}}, {"orderName": "b"}],
    )
    starts = orthrow(planned_starts(sched, {"c": EVERY_DAY}, date(2026, 1, 1), date(2026, 1, 1)))
    assert [(s.order_name, s.variables) for s in starts] == [("a", (("x", 1),)), ("b", ())]


def test_assigned_includes_and_excludes_narrow_the_calendar() -> None:
    obj = {
        "workflowName": "w",
        "calendars": [
            {
                "calendarName": "c",
                "includes": {"weekdays": [{"days": [1, 2, 3]}]},
                "excludes": {"dates": ["2026-01-06"]},
                "periods": [{"singleStart": "12:00"}],
            }
        ],
    }
    starts = orthrow(planned_starts(orthrow(parse_schedule(obj)), {"c": MON_WED}, date(2026, 1, 5), date(2026, 1, 11)))
    assert [s.day for s in starts] == [date(2026, 1, 5), date(2026, 1, 7)]


def test_unknown_calendar_is_a_problem() -> None:
    result = planned_starts(schedule([{"singleStart": "1"}]), {}, date(2026, 1, 1), date(2026, 1, 1))
    assert isinstance(result, Problem) and result.code == "UnknownCalendar"


def hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@st.composite
def periods(draw: st.DrawFn) -> dict[str, str]:
    if draw(st.booleans()):
        return {"singleStart": hms(draw(st.integers(0, 86399)))}
    begin = draw(st.integers(0, 86400))
    end = draw(st.integers(0, 86400))
    return {"begin": hms(begin), "end": hms(end), "repeat": hms(draw(st.integers(600, 86399)))}


# days around the changes of the four zones are drawn often
dst_days = st.sampled_from(
    [date(y, m, d) for y in (2024, 2026) for m, d in ((3, 10), (3, 31), (10, 27), (11, 3), (4, 7), (10, 6))]
    + [date(2026, 3, 8), date(2026, 3, 29), date(2026, 10, 25), date(2026, 11, 1), date(2026, 4, 5), date(2026, 10, 4)]
)


@settings(max_examples=400, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    day=st.one_of(dst_days, st.dates(min_value=date(2019, 1, 1), max_value=date(2030, 12, 31))),
    period=periods(),
)
def test_starts_match_oracle(zone: str, day: date, period: dict[str, str]) -> None:
    starts = orthrow(planned_starts(schedule([period], zone), {"c": EVERY_DAY}, day, day))
    if "singleStart" in period:
        expected = [oracle_ms(day, _seconds(period["singleStart"]), zone)]
    else:
        begin = oracle_ms(day, _seconds(period["begin"]), zone)
        end = oracle_ms(day, _seconds(period["end"]), zone)
        expected = list(range(begin, end, _seconds(period["repeat"]) * 1000))
    assert [s.epoch_ms for s in starts] == expected


def _seconds(text: str) -> int:
    h, m, s = (int(p) for p in text.split(":"))
    return h * 3600 + m * 60 + s
