"""Calendars against an independent oracle: python-dateutil's rrule (RFC 5545 recurrence rules).

Random weekday, monthday, ultimo and repetition frequencies, each with its own optional from/to, in
includes and excludes, over windows within 2019-2030 (leap years 2020, 2024, 2028).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from dateutil import rrule
from hypothesis import given, settings
from hypothesis import strategies as st

from js7es.domain.calendar import dates, parse_calendar
from js7es.domain.problem import orthrow

FIRST, LAST = date(2019, 1, 1), date(2030, 12, 31)
days_in_range = st.dates(min_value=FIRST, max_value=LAST)
# JOC numbers weekdays 0 = Sunday (7 too) ... 6 = Saturday; dateutil 0 = Monday ... 6 = Sunday
joc_weekdays = st.integers(0, 7)


def dateutil_weekday(joc: int) -> int:
    return (joc - 1) % 7


@st.composite
def limits(draw: st.DrawFn) -> dict[str, str]:
    result = {}
    for key in ("from", "to"):
        if draw(st.booleans()):
            result[key] = draw(days_in_range).isoformat()
    return result


weekly_days = st.lists(
    st.fixed_dictionaries({"day": st.integers(0, 6), "weekOfMonth": st.integers(1, 5)}), min_size=1, max_size=3
)
weekdays = st.builds(
    lambda days, lim: {"weekdays": [{"days": days, **lim}]}, st.lists(joc_weekdays, min_size=1, max_size=7), limits()
)
monthdays = st.builds(
    lambda days, weekly, lim, ultimo: {
        "ultimos" if ultimo else "monthdays": [{"days": days, "weeklyDays": weekly, **lim}]
    },
    st.lists(st.integers(1, 31), max_size=3),
    st.one_of(st.just([]), weekly_days),
    limits(),
    st.booleans(),
)
repetitions = st.builds(
    lambda unit, step, start, lim: {
        "repetitions": [
            {"repetition": unit, "step": step, "from": start.isoformat(), **({"to": lim["to"]} if "to" in lim else {})}
        ]
    },
    st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
    st.integers(1, 5),
    days_in_range,
    limits(),
)
frequency = st.one_of(weekdays, monthdays, repetitions)


def merge(frequencies: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    merged: dict[str, list[Any]] = {}
    for f in frequencies:
        for key, items in f.items():
            merged.setdefault(key, []).extend(items)
    return merged


def oracle_frequency(kind: str, f: dict[str, Any], low: date, high: date) -> set[date]:
    low = max(low, date.fromisoformat(f.get("from", low.isoformat())))
    high = min(high, date.fromisoformat(f.get("to", high.isoformat())))
    if low > high:
        return set()
    start = datetime.combine(low, datetime.min.time())
    rules: list[rrule.rrule] = []
    sign = -1 if kind == "ultimos" else 1
    if kind == "weekdays":
        rules.append(rrule.rrule(rrule.DAILY, dtstart=start, byweekday=[dateutil_weekday(d) for d in f["days"]]))
    elif kind in ("monthdays", "ultimos"):
        if f["days"]:
            rules.append(rrule.rrule(rrule.MONTHLY, dtstart=start, bymonthday=[sign * d for d in f["days"]]))
        for w in f["weeklyDays"]:
            byweekday = rrule.weekday(dateutil_weekday(w["day"]), sign * w["weekOfMonth"])
            rules.append(rrule.rrule(rrule.MONTHLY, dtstart=start, byweekday=byweekday))
    else:
        anchor = datetime.fromisoformat(f["from"])
        step = f["step"]
        if f["repetition"] in ("DAILY", "WEEKLY"):
            rules.append(
                rrule.rrule(rrule.DAILY if f["repetition"] == "DAILY" else rrule.WEEKLY, dtstart=anchor, interval=step)
            )
        else:
            # JOC falls back to the month's last day where the anchor's day is missing: "the anchor's
            # day or else the last day", i.e. the first of {day, -1} that exists in the period
            freq = rrule.MONTHLY if f["repetition"] == "MONTHLY" else rrule.YEARLY
            bymonth = None if freq == rrule.MONTHLY else anchor.month
            first = anchor.replace(day=1)
            rules.append(
                rrule.rrule(
                    freq, dtstart=first, interval=step, bymonth=bymonth, bymonthday=(anchor.day, -1), bysetpos=1
                )
            )
    end = datetime.combine(high, datetime.min.time())
    return {d.date() for rule in rules for d in rule.between(start, end, inc=True)}


def oracle(frequencies: dict[str, list[Any]], low: date, high: date) -> set[date]:
    return {d for kind, items in frequencies.items() for f in items for d in oracle_frequency(kind, f, low, high)}


@settings(max_examples=150, deadline=None)
@given(
    includes=st.lists(frequency, min_size=1, max_size=3),
    excludes=st.lists(frequency, max_size=2),
    calendar_limits=limits(),
    window=st.tuples(days_in_range, st.integers(0, 3700)),
)
def test_dates_agree_with_rrule(
    includes: list[dict[str, list[Any]]],
    excludes: list[dict[str, list[Any]]],
    calendar_limits: dict[str, str],
    window: tuple[date, int],
) -> None:
    start, length = window
    end = min(LAST, start + timedelta(days=length))
    obj = {"type": "WORKINGDAYSCALENDAR", "includes": merge(includes), "excludes": merge(excludes), **calendar_limits}
    result = orthrow(dates(orthrow(parse_calendar(obj)), start, end))
    low = max(start, date.fromisoformat(calendar_limits.get("from", start.isoformat())))
    high = min(end, date.fromisoformat(calendar_limits.get("to", end.isoformat())))
    expected = oracle(merge(includes), low, high) - oracle(merge(excludes), low, high) if low <= high else set()
    assert result == tuple(sorted(expected))
