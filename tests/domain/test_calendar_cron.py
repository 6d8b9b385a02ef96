"""Calendars against a second independent oracle: croniter, for the days a cron expression can say.

A random cron day expression (`0 0 <day of month> <month> <day of week>`, ten years 2020-2029 with the
leap years 2020, 2024 and 2028) and the JOC calendar that says the same:
- day of week (JOC and cron both number 0 = Sunday ... 6 = Saturday, 7 = Sunday too): `weekdays`;
  `d#n` (the n-th weekday d of the month): a `monthdays` weeklyDay; `Ld` (the last weekday d): an
  `ultimos` weeklyDay;
- day of month: `monthdays`; `L` (the last day): ultimo 1;
- month: the nested frequencies inside `months`;
- cron ORs day of month and day of week when both are restricted (POSIX): JOC's union of includes.

Only where cron implementations agree: `*/n` in the day fields counts as `*` in Vixie cron and as a
restriction in croniter and POSIX, so the day fields get `a-b/n` instead; croniter ignores the day of
month next to `d#n` and ANDs it with `Ld`, so those two come with a `*` day of month only; croniter 7.0
reads a range of one value (`3-3`) as `*`, so a range here has two values at least, and it reads 30
days of month with `L` as `*` (it counts `L` as a 31st day), so that one case is not generated.
Each cron field is rendered from terms (values, ranges, stepped ranges) whose days are computed here
with Python's `range`, so that croniter's parsing is checked too, not only its date arithmetic.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from croniter import croniter_range
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from js7es.domain.calendar import dates, parse_calendar
from js7es.domain.problem import orthrow

FIRST, LAST = date(2020, 1, 1), date(2029, 12, 31)
Field = tuple[str, frozenset[int]]  # the cron text and the values it names


@st.composite
def terms(draw: st.DrawFn, low: int, high: int, *, star_steps: bool = False) -> Field:
    """A cron list of single values, ranges `a-b` and stepped ranges `a-b/n` (`*/n` if allowed)."""
    texts: list[str] = []
    values: set[int] = set()
    for _ in range(draw(st.integers(1, 4))):
        a = draw(st.integers(low, high - 1))
        b = draw(st.integers(a + 1, high))  # croniter reads a range `a-a` as `*` (croniter 7.0)
        step = draw(st.integers(1, high - low))
        match draw(st.sampled_from(["value", "range", "step", *(["star"] if star_steps else [])])):
            case "value":
                single = draw(st.sampled_from([a, b]))
                texts.append(str(single))
                values.add(single)
            case "range":
                texts.append(f"{a}-{b}")
                values.update(range(a, b + 1))
            case "step":
                texts.append(f"{a}-{b}/{step}")
                values.update(range(a, b + 1, step))
            case "star":
                texts.append(f"*/{step}")
                values.update(range(low, high + 1, step))
    return ",".join(texts), frozenset(values)


@st.composite
def cron_days(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """(cron day of month and day of week, the JOC frequencies that say the same)."""
    frequencies: dict[str, list[dict[str, Any]]] = {}
    kind = draw(st.sampled_from(["weekdays", "monthdays", "either", "nth", "last", "every day"]))
    dom, dow = "*", "*"
    if kind in ("weekdays", "either"):
        dow, weekdays = draw(terms(0, 7))
        frequencies["weekdays"] = [{"days": sorted(weekdays)}]  # JOC reads 7 as Sunday too
    if kind in ("monthdays", "either"):
        days: frozenset[int] = frozenset()
        last = draw(st.booleans())
        if draw(st.booleans()) or not last:
            dom, days = draw(terms(1, 31))
        assume(not (last and len(days) == 30))  # croniter 7.0 counts `L` as a day: 30 days and L mean `*`
        dom = ",".join(t for t in (dom if days else "", "L" if last else "") if t)
        if days:
            frequencies["monthdays"] = [{"days": sorted(days)}]
        if last:
            frequencies["ultimos"] = [{"days": [1]}]
    if kind == "nth":
        nth = draw(st.lists(st.tuples(st.integers(0, 6), st.integers(1, 5)), min_size=1, max_size=3, unique=True))
        dow = ",".join(f"{day}#{n}" for day, n in nth)
        weekly = [{"day": day, "weekOfMonth": n} for day, n in nth]
        frequencies["monthdays"] = [{"days": [], "weeklyDays": weekly}]
    if kind == "last":
        last_days = draw(st.lists(st.integers(0, 6), min_size=1, max_size=3, unique=True))
        dow = ",".join(f"L{day}" for day in last_days)
        frequencies["ultimos"] = [{"days": [], "weeklyDays": [{"day": d, "weekOfMonth": 1} for d in last_days]}]
    if kind == "every day":
        frequencies["weekdays"] = [{"days": list(range(7))}]
    return f"{dom} {{month}} {dow}", frequencies


@st.composite
def cron_calendars(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """(a cron expression, the JOC calendar that says the same)."""
    days, frequencies = draw(cron_days())
    month, months = "*", frozenset(range(1, 13))
    if draw(st.booleans()):
        month, months = draw(terms(1, 12, star_steps=True))
        frequencies = {"months": [{"months": sorted(months), **frequencies}]}
    return f"0 0 {days.format(month=month)}", {"type": "WORKINGDAYSCALENDAR", "includes": frequencies}


def cron_dates(expression: str) -> tuple[date, ...]:
    start, end = datetime.combine(FIRST, datetime.min.time()), datetime.combine(LAST, datetime.min.time())
    return tuple(d.date() for d in croniter_range(start, end, expression))


def js7es_dates(calendar: dict[str, Any]) -> tuple[date, ...]:
    return orthrow(dates(orthrow(parse_calendar(calendar)), FIRST, LAST))


@settings(max_examples=100, deadline=None)
@given(cron_calendars())
def test_dates_agree_with_croniter(case: tuple[str, dict[str, Any]]) -> None:
    expression, calendar = case
    assert js7es_dates(calendar) == cron_dates(expression), expression


@pytest.mark.parametrize(
    ("expression", "calendar", "count"),
    [
        ("0 0 29 2 *", {"months": [{"months": [2], "monthdays": [{"days": [29]}]}]}, 3),  # leap days
        ("0 0 L 2 *", {"months": [{"months": [2], "ultimos": [{"days": [1]}]}]}, 10),
        ("0 0 31 * *", {"monthdays": [{"days": [31]}]}, 70),  # seven months a year
        ("0 0 13 * 5", {"monthdays": [{"days": [13]}], "weekdays": [{"days": [5]}]}, None),  # 13th or Friday
        ("0 0 * * 1#5", {"monthdays": [{"days": [], "weeklyDays": [{"day": 1, "weekOfMonth": 5}]}]}, None),
        ("0 0 * * L0", {"ultimos": [{"days": [], "weeklyDays": [{"day": 0, "weekOfMonth": 1}]}]}, 120),
    ],
)
def test_known_expressions_over_ten_years(expression: str, calendar: dict[str, Any], count: int | None) -> None:
    found = js7es_dates({"type": "WORKINGDAYSCALENDAR", "includes": calendar})
    assert found == cron_dates(expression)
    if count is not None:
        assert len(found) == count
