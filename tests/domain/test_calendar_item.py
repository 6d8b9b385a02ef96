"""The Controller's Calendar item: its JSON, its checks, the order's day it gives (JS7's CalendarTest and
CalendarExecutorTest), and deploying it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from js7es.domain.calendar.item import CalendarItem, order_day
from js7es.domain.commands.items import UpdateItems
from js7es.domain.items import ItemDeleted, UnsignedSimpleItemAdded, UnsignedSimpleItemChanged, parse_simple_item
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json
from tests.domain.simulator import Simulator

CALENDAR = {
    "TYPE": "Calendar",
    "path": "CALENDAR",
    "dateOffset": 21600,
    "orderIdPattern": "#([^#]+)#.*",
    "periodDatePattern": "yyyy-MM-dd",
}
MARIEHAMN = ZoneInfo("Europe/Mariehamn")


def calendar(**changes: Any) -> CalendarItem:
    item = parse_simple_item({**CALENDAR, **changes})
    assert isinstance(item, CalendarItem), item
    return item


def local_ms(text: str, zone: ZoneInfo = MARIEHAMN) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=zone).timestamp() * 1000)


def test_json_as_js7_writes_it_and_the_default_date_offset() -> None:
    item = calendar()
    assert (item.path, item.date_offset_s, item.order_id_pattern, item.period_date_pattern) == (
        "CALENDAR",
        6 * 3600,
        "#([^#]+)#.*",
        "yyyy-MM-dd",
    )
    assert item.key == "Calendar:CALENDAR"
    assert dict(item.raw) == CALENDAR
    without_offset = {k: v for k, v in CALENDAR.items() if k != "dateOffset"}
    parsed = parse_simple_item(without_offset)
    assert isinstance(parsed, CalendarItem) and parsed.date_offset_s == 0


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"dateOffset": -1}, "InvalidItem"),  # JS7: "Invalid Calender arguments"
        ({"dateOffset": 86400}, "InvalidItem"),  # JS7: "Invalid dateOffset" (not less than the period)
        ({"dateOffset": "6h"}, "InvalidItem"),
        ({"orderIdPattern": None}, "InvalidItem"),
        ({"orderIdPattern": "#([^#]+#.*"}, "InvalidCalendarPattern"),  # no regular expression
        ({"orderIdPattern": "#[^#]+#.*"}, "InvalidCalendarPattern"),  # no group
        ({"orderIdPattern": "#([^#]+)#(.*)"}, "InvalidCalendarPattern"),  # two groups
        ({"periodDatePattern": ""}, "InvalidItem"),
        ({"periodDatePattern": "yyyy-MM-dd HH:mm"}, "InvalidCalendarPattern"),  # a time is no day
        ({"periodDatePattern": "yyyy-MM"}, "InvalidCalendarPattern"),  # no whole date
        ({"periodDatePattern": "yyyy-MM-dd'"}, "InvalidCalendarPattern"),
        ({"periodDatePattern": "yyyy[-MM-dd]"}, "InvalidCalendarPattern"),
        ({"periodDatePattern": "YYYY-'W'w"}, "NotSupported"),  # JS7's experimental week calendar
        ({"path": "a b"}, "InvalidItem"),
    ],
)
def test_bad_calendars_are_refused_with_a_coded_problem(changes: dict[str, Any], code: str) -> None:
    result = parse_simple_item({**CALENDAR, **changes})
    assert isinstance(result, Problem)
    assert result.code == code, result


def test_an_order_id_that_says_no_day() -> None:
    """JS7's CalendarExecutorTest "Invalid": the pattern must match the whole id."""
    item = calendar()
    for order_id in ("x", "PREFIX#2021-10-01#"):
        result = order_day(item, order_id, MARIEHAMN)
        assert isinstance(result, Problem)
        assert result.code == "OrderIdDoesNotMatchCalendar"
        assert result.message == f"Order:{order_id} does not match the pattern defined in Calendar:CALENDAR"
    bad_date = order_day(item, "#2021-10-1#", MARIEHAMN)
    assert isinstance(bad_date, Problem)
    assert bad_date.code == "InvalidOrderDate"
    assert "could not be parsed at index 8" in bad_date.message  # as Java's DateTimeParseException says
    assert not isinstance(order_day(item, "#2021-10-01#", MARIEHAMN), Problem)
    assert not isinstance(order_day(item, "#2021-10-01#SUFFIX", MARIEHAMN), Problem)


def test_the_order_day_and_daylight_saving_time() -> None:
    """JS7's CalendarExecutorTest "Summer", "While changing to daylight saving time", "…leaving…"."""
    item = calendar()
    hour = 3600_000
    assert order_day(item, "#2021-10-01#", MARIEHAMN) == (local_ms("2021-10-01T06:00"), local_ms("2021-10-02T06:00"))
    start, end = order_day(item, "#2021-10-01#", MARIEHAMN)  # type: ignore[misc]
    assert end - start == 24 * hour
    start, end = order_day(item, "#2021-03-27#", MARIEHAMN)  # type: ignore[misc]
    assert (start, end - start) == (local_ms("2021-03-27T06:00"), 23 * hour)
    start, end = order_day(item, "#2021-10-30#", MARIEHAMN)  # type: ignore[misc]
    assert (start, end - start) == (local_ms("2021-10-30T06:00"), 25 * hour)


@pytest.mark.parametrize(
    ("pattern", "order_id", "day"),
    [
        ("yyyyMMdd", "#20240229#", date(2024, 2, 29)),  # adjacent fields: the year leaves 4 digits
        ("dd.MM.yyyy", "#31.12.2023#", date(2023, 12, 31)),
        ("d.M.yy", "#1.2.24#", date(2024, 2, 1)),  # two-digit year, base 2000
        ("yyyy-MMM-dd", "#2024-Mar-05#", date(2024, 3, 5)),
        ("uuuu-DDD", "#2024-060#", date(2024, 2, 29)),
        ("yyyy-MM-dd", "#2023-02-30#", date(2023, 2, 28)),  # Java's SMART resolver clamps the day
        ("'day 'yyyy-MM-dd", "#day 2024-01-02#", date(2024, 1, 2)),
    ],
)
def test_date_patterns(pattern: str, order_id: str, day: date) -> None:
    item = calendar(periodDatePattern=pattern, dateOffset=0)
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    assert order_day(item, order_id, ZoneInfo("UTC")) == (
        int(start.timestamp() * 1000),
        int((start + timedelta(days=1)).timestamp() * 1000),
    )


@pytest.mark.parametrize("order_id", ["#2024-13-01#", "#2024-00-10#", "#2023-002-01#", "#24-01-01#", "#2023-01-01x#"])
def test_dates_that_do_not_parse(order_id: str) -> None:
    result = order_day(calendar(), order_id, MARIEHAMN)
    assert isinstance(result, Problem) and result.code == "InvalidOrderDate", result


def _oracle_instant(local: datetime, zone: ZoneInfo) -> int:
    """Java's LocalDateTime.atZone by brute force over the offsets the zone has near that time: the
    earliest instant whose wall clock shows `local`; in a gap, the wall clock pushed on by the gap."""
    offsets = set()
    for hours in range(-30, 31):
        probe = local.replace(tzinfo=UTC) + timedelta(hours=hours)
        offset = probe.astimezone(zone).utcoffset()
        assert offset is not None
        offsets.add(offset)
    fitting = [
        local.replace(tzinfo=UTC) - offset
        for offset in offsets
        if (local.replace(tzinfo=UTC) - offset).astimezone(zone).replace(tzinfo=None) == local
    ]
    if fitting:
        return int(min(fitting).timestamp() * 1000)
    before = (local.replace(tzinfo=UTC) - timedelta(hours=30)).astimezone(zone).utcoffset()
    assert before is not None
    return int((local.replace(tzinfo=UTC) - before).timestamp() * 1000)


@settings(max_examples=300, deadline=None)
@given(
    day=st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31)),
    offset_s=st.integers(min_value=0, max_value=86399),
    zone_name=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]),
)
def test_the_order_day_equals_a_brute_force_oracle(day: date, offset_s: int, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    item = calendar(dateOffset=offset_s)
    start_local = datetime(day.year, day.month, day.day) + timedelta(seconds=offset_s)
    expected = (_oracle_instant(start_local, zone), _oracle_instant(start_local + timedelta(days=1), zone))
    assert order_day(item, f"#{day.isoformat()}#P1", zone) == expected


def update(sim: Simulator, *operations: dict[str, Any]) -> Any:
    return sim.command(UpdateItems(operations=tuple(value_from_json(o) for o in operations)))


CYCLING = {
    "path": "W",
    "calendarPath": "CALENDAR",
    "instructions": [
        {
            "TYPE": "Cycle",
            "schedule": {"schemes": []},
            "cycleWorkflow": {"instructions": []},
        }
    ],
}


def test_deploy_change_and_delete_a_calendar() -> None:
    sim = Simulator()
    added = update(sim, {"TYPE": "AddOrChangeSimple", "item": CALENDAR})
    assert not isinstance(added, Problem), added
    assert [type(k.event) for k in added.events] == [UnsignedSimpleItemAdded]
    assert sim.state.calendars["CALENDAR"].date_offset_s == 6 * 3600
    changed = update(sim, {"TYPE": "AddOrChangeSimple", "item": {**CALENDAR, "dateOffset": 0}})
    assert not isinstance(changed, Problem), changed
    assert [type(k.event) for k in changed.events] == [UnsignedSimpleItemChanged]
    assert sim.state.calendars["CALENDAR"].date_offset_s == 0
    restored = ControllerState.from_snapshot(sim.state.snapshot_objects())
    assert restored == sim.state and restored.calendars == sim.state.calendars
    deleted = update(sim, {"TYPE": "DeleteSimple", "path": "Calendar:CALENDAR"})
    assert not isinstance(deleted, Problem), deleted
    assert [k.event for k in deleted.events] == [ItemDeleted(key="Calendar:CALENDAR")]
    assert sim.state.calendars == {}


def test_a_workflow_needs_its_calendar_and_a_used_calendar_stays() -> None:
    sim = Simulator()
    refused = update(sim, {"TYPE": "AddVersion", "versionId": "1"}, {"TYPE": "AddOrChangeSimple", "item": CYCLING})
    assert isinstance(refused, Problem) and refused.code == "UnknownItem", refused
    assert "Calendar:CALENDAR" in refused.message
    ok = update(
        sim,
        {"TYPE": "AddVersion", "versionId": "1"},
        {"TYPE": "AddOrChangeSimple", "item": CALENDAR},
        {"TYPE": "AddOrChangeSimple", "item": CYCLING},
    )
    assert not isinstance(ok, Problem), ok
    still_used = update(sim, {"TYPE": "DeleteSimple", "path": "Calendar:CALENDAR"})
    assert isinstance(still_used, Problem) and still_used.code == "UnknownItem"
    both = update(sim, {"TYPE": "RemoveVersioned", "path": "W"}, {"TYPE": "DeleteSimple", "path": "Calendar:CALENDAR"})
    assert not isinstance(both, Problem), both
    assert sim.state.calendars == {}
