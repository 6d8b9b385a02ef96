"""Admission time schemes: JS7's JSON, JS7's own examples, and a brute-force oracle over minutes.

The oracle knows the periods only by their plain-word meaning (the 2nd Monday, the last day at
23:00, …), finds a local time's instant by trying the zone's offsets (the first one that shows that
local time; in a gap, the offset of the day before), and marks every admitted minute.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from js7es.domain.problem import Problem
from js7es.domain.time.admission import (
    DAY_S,
    WEEK_S,
    AdmissionTimeScheme,
    DailyPeriod,
    MonthlyDatePeriod,
    MonthlyLastDatePeriod,
    MonthlyLastWeekdayPeriod,
    MonthlyWeekdayPeriod,
    RestrictedScheme,
    SpecificDatePeriod,
    TimeInterval,
    WeekdayPeriod,
    admission_time_scheme_to_json,
    find_interval,
    has_admission_start_on_day,
    is_permitted,
    order_id_to_day,
    parse_admission_time_scheme,
    time_intervals,
)

H = 3600
MIN_MS = 60_000
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC", "Europe/Mariehamn"]


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def utc(ms_: int) -> str:
    return datetime.fromtimestamp(ms_ / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parsed(obj: object) -> AdmissionTimeScheme:
    scheme = parse_admission_time_scheme(obj)
    assert isinstance(scheme, AdmissionTimeScheme), scheme
    return scheme


# --- JSON -------------------------------------------------------------------------------------


JS7_RESTRICTED_JSON = {  # AdmissionTimeSchemeTest "JSON"
    "restrictedSchemes": [
        {
            "periods": [
                {"TYPE": "WeekdayPeriod", "secondOfWeek": 115200, "duration": 7200},
                {"TYPE": "DailyPeriod", "secondOfDay": 43200, "duration": 3600},
            ],
            "restriction": {"TYPE": "MonthRestriction", "months": [1, 12]},
        }
    ]
}
JS7_PERIODS_JSON = {
    "periods": [
        {"TYPE": "WeekdayPeriod", "secondOfWeek": 115200, "duration": 7200},
        {"TYPE": "DailyPeriod", "secondOfDay": 43200, "duration": 3600},
    ]
}


def test_js7_json_forms_round_trip() -> None:
    restricted = parsed(JS7_RESTRICTED_JSON)
    assert restricted == AdmissionTimeScheme(
        restricted_schemes=(
            RestrictedScheme(
                periods=(
                    WeekdayPeriod(second_of_week=115200, duration_ms=7_200_000),
                    DailyPeriod(second_of_day=43200, duration_ms=3_600_000),
                ),
                months=frozenset({1, 12}),
            ),
        )
    )
    assert admission_time_scheme_to_json(restricted) == JS7_RESTRICTED_JSON
    assert admission_time_scheme_to_json(parsed(JS7_PERIODS_JSON)) == JS7_PERIODS_JSON
    unrestricted = {"restrictedSchemes": [{**JS7_PERIODS_JSON, "restriction": {"TYPE": "Unrestricted"}}]}
    assert admission_time_scheme_to_json(parsed(unrestricted)) == JS7_PERIODS_JSON
    assert admission_time_scheme_to_json(parsed({"restrictedSchemes": []})) == {"restrictedSchemes": []}


def test_every_period_type_round_trips() -> None:
    obj = {
        "periods": [
            {"TYPE": "DailyPeriod", "secondOfDay": 0, "duration": 86400},
            {"TYPE": "WeekdayPeriod", "secondOfWeek": WEEK_S - 1, "duration": WEEK_S},
            {"TYPE": "MonthlyDatePeriod", "secondOfMonth": 30 * DAY_S, "duration": 1.5},
            {"TYPE": "MonthlyLastDatePeriod", "lastSecondOfMonth": -3600, "duration": 60},
            {"TYPE": "MonthlyWeekdayPeriod", "secondOfWeeks": 3 * WEEK_S, "duration": 60},
            {"TYPE": "MonthlyLastWeekdayPeriod", "secondOfWeeks": -WEEK_S, "duration": 60},
            {"TYPE": "SpecificDatePeriod", "secondsSinceLocalEpoch": 1_688_644_800, "duration": 1},
        ]
    }
    scheme = parsed(obj)
    assert admission_time_scheme_to_json(scheme) == obj
    assert parsed(admission_time_scheme_to_json(scheme)) == scheme


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {},
        {"periods": {}},
        {"periods": [{"TYPE": "HourlyPeriod"}]},
        {"periods": [{"TYPE": "DailyPeriod", "secondOfDay": 86400, "duration": 1}]},
        {"periods": [{"TYPE": "DailyPeriod", "secondOfDay": -1, "duration": 1}]},
        {"periods": [{"TYPE": "DailyPeriod", "secondOfDay": 0, "duration": 0}]},
        {"periods": [{"TYPE": "DailyPeriod", "secondOfDay": 0, "duration": "1h"}]},
        {"periods": [{"TYPE": "DailyPeriod", "secondOfDay": True, "duration": 1}]},
        {"periods": [{"TYPE": "DailyPeriod", "secondOfDay": 1.5, "duration": 1}]},
        {"periods": [{"TYPE": "WeekdayPeriod", "secondOfWeek": 0, "duration": WEEK_S + 1}]},
        {"periods": [{"TYPE": "MonthlyDatePeriod", "secondOfMonth": 31 * DAY_S, "duration": 1}]},
        {"periods": [{"TYPE": "MonthlyLastDatePeriod", "lastSecondOfMonth": 0, "duration": 1}]},
        {"periods": [{"TYPE": "MonthlyLastDatePeriod", "lastSecondOfMonth": -28 * DAY_S, "duration": 1}]},
        {"periods": [{"TYPE": "MonthlyWeekdayPeriod", "secondOfWeeks": 4 * WEEK_S, "duration": 1}]},
        {"periods": [{"TYPE": "MonthlyLastWeekdayPeriod", "secondOfWeeks": 0, "duration": 1}]},
        {"periods": [{"TYPE": "SpecificDatePeriod", "secondsSinceLocalEpoch": 10**12, "duration": 1}]},
        {"restrictedSchemes": [{"periods": [], "restriction": {"TYPE": "MonthRestriction", "months": []}}]},
        {"restrictedSchemes": [{"periods": [], "restriction": {"TYPE": "MonthRestriction", "months": [13]}}]},
        {
            "restrictedSchemes": [
                {"periods": [], "restriction": {"TYPE": "MonthRestriction", "months": list(range(1, 13))}}
            ]
        },
        {"restrictedSchemes": [{"periods": [], "restriction": {"TYPE": "YearRestriction"}}]},
        {"restrictedSchemes": [{}]},
    ],
)
def test_bad_json_is_a_coded_problem(bad: Any) -> None:
    result = parse_admission_time_scheme(bad)
    assert isinstance(result, Problem)
    assert result.code == "InvalidAdmissionTimeScheme"


# --- JS7's own examples (AdmissionTimeSchemeTest, AdmissionTimeSchemeForJavaTimeTest) ----------

MARIEHAMN = ZoneInfo("Europe/Mariehamn")


def weekday_s(weekday: int, hour: int, minute: int = 0) -> int:
    return weekday * DAY_S + hour * H + minute * 60


def local_ms(iso: str, zone: ZoneInfo) -> int:
    return ms(datetime.fromisoformat(iso).replace(tzinfo=zone).isoformat())


def test_js7_weekday_periods_and_overlap_from_previous_week() -> None:
    scheme = AdmissionTimeScheme.of(
        WeekdayPeriod(second_of_week=weekday_s(1, 8), duration_ms=2 * H * 1000),
        WeekdayPeriod(second_of_week=weekday_s(6, 22), duration_ms=3 * H * 1000),
    )

    def found(iso: str) -> tuple[int, int] | None:
        interval = find_interval(scheme, local_ms(iso, MARIEHAMN), MARIEHAMN)
        return None if interval is None else (interval.start_ms, interval.duration_ms)

    assert found("2021-08-23T06:00") == (local_ms("2021-08-24T08:00", MARIEHAMN), 2 * H * 1000)
    assert found("2021-08-24T09:59") == (local_ms("2021-08-24T08:00", MARIEHAMN), 2 * H * 1000)
    assert found("2021-08-24T10:00") == (local_ms("2021-08-29T22:00", MARIEHAMN), 3 * H * 1000)
    assert found("2021-08-30T00:59") == (local_ms("2021-08-29T22:00", MARIEHAMN), 3 * H * 1000)
    assert found("2021-08-30T01:00") == (local_ms("2021-08-31T08:00", MARIEHAMN), 2 * H * 1000)


def js7_mixed_scheme() -> AdmissionTimeScheme:
    """AdmissionTimeSchemeForJavaTimeTest's scheme (date offset 5 h)."""
    local_epoch = int((datetime(2023, 7, 6, 12) - datetime(1970, 1, 1)).total_seconds())
    return AdmissionTimeScheme(
        restricted_schemes=(
            RestrictedScheme(
                periods=(
                    DailyPeriod(second_of_day=2 * H, duration_ms=4 * H * 1000),
                    WeekdayPeriod(second_of_week=weekday_s(1, 18), duration_ms=2 * H * 1000),
                    MonthlyWeekdayPeriod(second_of_weeks=WEEK_S + weekday_s(0, 19), duration_ms=2 * H * 1000),
                    MonthlyLastWeekdayPeriod(second_of_weeks=-2 * WEEK_S + weekday_s(4, 20), duration_ms=H * 1000),
                    MonthlyLastDatePeriod(last_second_of_month=-3 * H, duration_ms=3 * H * 1000),
                    MonthlyDatePeriod(second_of_month=2 * DAY_S, duration_ms=H * 1000),
                    SpecificDatePeriod(seconds_since_local_epoch=local_epoch, duration_ms=1000),
                ),
                months=frozenset({5, 7}),
            ),
            RestrictedScheme(
                periods=(
                    MonthlyDatePeriod(second_of_month=H, duration_ms=22 * H * 1000),
                    MonthlyDatePeriod(second_of_month=21 * H, duration_ms=3 * H * 1000),
                ),
                months=frozenset({2}),
            ),
        )
    )


def test_js7_find_time_intervals_with_month_restriction_and_date_offset() -> None:
    got = [
        (utc(i.start_ms), i.duration_ms // 1000)
        for i in time_intervals(
            js7_mixed_scheme(), ms("2023-07-01T00:00:00Z"), ms("2024-04-01T00:00:00Z"), MARIEHAMN, 5 * H
        )
    ]
    daily = [
        (f"2023-{d[:5]}T23:00:00Z", 4 * H)
        for d in [f"{m:02}-{n:02}" for m, n in [(6, 30)] + [(7, n) for n in range(1, 31)]]
    ]
    extra = [
        ("2023-07-02T21:00:00Z", H),  # the 3rd, 00:00
        ("2023-07-04T15:00:00Z", 2 * H),  # Tuesdays 18:00
        ("2023-07-06T09:00:00Z", 1),  # the specific date
        ("2023-07-10T16:00:00Z", 2 * H),  # the 2nd Monday 19:00
        ("2023-07-11T15:00:00Z", 2 * H),
        ("2023-07-18T15:00:00Z", 2 * H),
        ("2023-07-21T17:00:00Z", H),  # the 2nd last Friday 20:00
        ("2023-07-25T15:00:00Z", 2 * H),
        ("2023-07-31T18:00:00Z", 3 * H),  # the last day, 21:00
        ("2024-01-31T23:00:00Z", 23 * H),  # February: 01:00 + 22 h and 21:00 + 3 h, merged
    ]
    assert got == sorted(daily + extra)


def test_js7_is_permitted_and_find_interval() -> None:
    scheme = js7_mixed_scheme()
    offset = 5 * H
    assert not is_permitted(scheme, ms("2023-07-03T22:59:59Z"), MARIEHAMN, offset)
    assert is_permitted(scheme, ms("2023-07-03T23:00:00Z"), MARIEHAMN, offset)
    assert is_permitted(scheme, ms("2023-07-04T02:59:59Z"), MARIEHAMN, offset)
    assert not is_permitted(scheme, ms("2023-07-04T03:00:00Z"), MARIEHAMN, offset)
    assert not is_permitted(scheme, ms("2023-07-04T14:59:59Z"), MARIEHAMN, offset)
    assert is_permitted(scheme, ms("2023-07-04T15:00:00Z"), MARIEHAMN, offset)
    assert find_interval(scheme, ms("2023-07-04T22:59:59Z"), MARIEHAMN, offset) == TimeInterval(
        ms("2023-07-04T23:00:00Z"), 4 * H * 1000
    )
    assert find_interval(scheme, ms("2023-07-04T08:00:00Z"), MARIEHAMN, offset) == TimeInterval(
        ms("2023-07-04T15:00:00Z"), 2 * H * 1000
    )


def test_js7_29th_of_february_and_last_monday_over_leap_years() -> None:
    scheme = AdmissionTimeScheme(
        restricted_schemes=(
            RestrictedScheme(
                periods=(
                    MonthlyDatePeriod(second_of_month=28 * DAY_S + 2 * H, duration_ms=6 * H * 1000),
                    MonthlyLastWeekdayPeriod(second_of_weeks=-WEEK_S + H, duration_ms=H * 1000),
                ),
                months=frozenset({2}),
            ),
        )
    )
    starts = [
        datetime.fromtimestamp(i.start_ms / 1000, MARIEHAMN).strftime("%Y-%m-%dT%H:%M")
        for i in time_intervals(
            scheme, local_ms("2023-01-01T00:00", MARIEHAMN), local_ms("2029-01-01T00:00", MARIEHAMN), MARIEHAMN
        )
    ]
    assert starts == [
        "2023-02-27T01:00", "2023-02-28T02:00",
        "2024-02-26T01:00", "2024-02-29T02:00",
        "2025-02-24T01:00", "2025-02-28T02:00",
        "2026-02-23T01:00", "2026-02-28T02:00",
        "2027-02-22T01:00", "2027-02-28T02:00",
        "2028-02-28T01:00", "2028-02-29T02:00",
    ]  # fmt: skip


def test_js7_daily_period_longer_than_a_day_and_merging() -> None:
    scheme = AdmissionTimeScheme.of(DailyPeriod(second_of_day=12 * H, duration_ms=73 * H * 1000))
    # Every day's period overlaps the next: one interval, from the last start before the look-back.
    interval = find_interval(scheme, ms("2026-05-01T00:00:00Z"), ZoneInfo("UTC"), limit_ms=3 * DAY_S * 1000)
    assert interval is not None
    assert interval.contains(ms("2026-05-01T00:00:00Z"))
    assert interval.end_ms == ms("2026-05-03T12:00:00Z") + 73 * H * 1000
    # JS7's findLongTimeInterval example: 02:00+2h, Wednesday 04:00+3h, 1st Wednesday 06:00+6h.
    scheme = AdmissionTimeScheme.of(
        DailyPeriod(second_of_day=2 * H, duration_ms=2 * H * 1000),
        WeekdayPeriod(second_of_week=weekday_s(2, 4), duration_ms=3 * H * 1000),
        MonthlyWeekdayPeriod(second_of_weeks=weekday_s(2, 6), duration_ms=6 * H * 1000),
    )
    assert find_interval(scheme, ms("2025-07-02T04:00:00Z"), MARIEHAMN) == TimeInterval(
        ms("2025-07-01T23:00:00Z"), 10 * H * 1000
    )


def test_never_and_always() -> None:
    never = AdmissionTimeScheme(restricted_schemes=())
    assert find_interval(never, 0, MARIEHAMN) is None
    assert not is_permitted(never, 0, MARIEHAMN)
    always = AdmissionTimeScheme.of(DailyPeriod(second_of_day=0, duration_ms=DAY_S * 1000))
    assert is_permitted(always, ms("2025-03-30T01:30:00Z"), ZoneInfo("Europe/Berlin"))


# --- DST --------------------------------------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_start_in_the_spring_gap_moves_later_by_the_gap_and_the_duration_is_absolute() -> None:
    scheme = AdmissionTimeScheme.of(DailyPeriod(second_of_day=2 * H + 30 * 60, duration_ms=H * 1000))
    interval = find_interval(scheme, ms("2025-03-30T00:00:00+01:00"), BERLIN)
    assert interval == TimeInterval(ms("2025-03-30T03:30:00+02:00"), H * 1000)


def test_an_ambiguous_start_on_fall_back_takes_the_earlier_offset() -> None:
    scheme = AdmissionTimeScheme.of(DailyPeriod(second_of_day=2 * H + 30 * 60, duration_ms=2 * H * 1000))
    interval = find_interval(scheme, ms("2025-10-26T00:00:00+02:00"), BERLIN)
    assert interval == TimeInterval(ms("2025-10-26T02:30:00+02:00"), 2 * H * 1000)
    assert interval.end_ms == ms("2025-10-26T03:30:00+01:00")  # 2 real hours, 1 hour on the wall clock


# --- order day and skipping ---------------------------------------------------------------------


def test_order_id_to_day() -> None:
    assert order_id_to_day("#2025-06-01#P123-x") == date(2025, 6, 1)
    assert order_id_to_day("#2025-02-30#P123-x") is None
    assert order_id_to_day("2025-06-01#x") is None
    assert order_id_to_day("#2025-6-01#x") is None


def test_has_admission_start_on_day() -> None:
    tuesday = AdmissionTimeScheme.of(WeekdayPeriod(second_of_week=weekday_s(1, 18), duration_ms=2 * H * 1000))
    assert not has_admission_start_on_day(tuesday, date(2023, 7, 3))
    assert has_admission_start_on_day(tuesday, date(2023, 7, 4))
    # Saturday 23:00 until Monday 02:00: only Saturday has the start.
    weekend = AdmissionTimeScheme.of(WeekdayPeriod(second_of_week=weekday_s(5, 23), duration_ms=27 * H * 1000))
    assert [has_admission_start_on_day(weekend, date(2021, 3, d)) for d in (5, 6, 7, 8)] == [False, True, False, False]
    last_day = AdmissionTimeScheme.of(MonthlyDatePeriod(second_of_month=30 * DAY_S, duration_ms=1000))
    assert has_admission_start_on_day(last_day, date(2024, 2, 29))
    assert not has_admission_start_on_day(last_day, date(2024, 2, 28))
    november = AdmissionTimeScheme(
        restricted_schemes=(RestrictedScheme(periods=tuesday.restricted_schemes[0].periods, months=frozenset({11})),)
    )
    assert has_admission_start_on_day(november, date(2025, 11, 4))
    assert not has_admission_start_on_day(november, date(2025, 9, 2))
    # and it waits for November (JS-2203)
    interval = find_interval(november, local_ms("2025-09-01T00:00", MARIEHAMN), MARIEHAMN)
    assert interval is not None and interval.start_ms == local_ms("2025-11-04T18:00", MARIEHAMN)


# --- the oracle ---------------------------------------------------------------------------------


def oracle_instant(local: datetime, zone: ZoneInfo) -> int:
    """The instant of a naive local time: its first occurrence; in a gap, the offset before it."""
    probe = local.replace(tzinfo=UTC)
    seen = {(probe + timedelta(hours=h)).astimezone(zone).utcoffset() for h in range(-30, 31, 3)}
    offsets = sorted((o for o in seen if o is not None), reverse=True)
    for offset in offsets:  # the largest offset gives the earliest instant
        instant = (local - offset).replace(tzinfo=UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == local:
            return int(instant.timestamp() * 1000)
    before = (probe - timedelta(days=1)).astimezone(zone).utcoffset()
    assert before is not None
    return int((local - before).replace(tzinfo=UTC).timestamp() * 1000)


def oracle_local_starts(period: object, day: date) -> list[datetime]:
    """The local start on `day`, if the period has one, by the plain meaning of each type."""
    midnight = datetime(day.year, day.month, day.day)
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    match period:
        case DailyPeriod(second_of_day=s):
            return [midnight + timedelta(seconds=s)]
        case WeekdayPeriod(second_of_week=s) if day.weekday() == s // DAY_S:
            return [midnight + timedelta(seconds=s % DAY_S)]
        case MonthlyDatePeriod(second_of_month=s) if day.day == min(s // DAY_S + 1, days_in_month):
            return [midnight + timedelta(seconds=s % DAY_S)]
        case MonthlyLastDatePeriod(last_second_of_month=s):
            days_before_last = (-s - 1) // DAY_S
            if day.day == days_in_month - days_before_last:
                return [midnight + timedelta(seconds=s + (days_before_last + 1) * DAY_S)]
        case MonthlyWeekdayPeriod(second_of_weeks=s):
            if day.weekday() == (s // DAY_S) % 7 and (day.day - 1) // 7 == s // WEEK_S:
                return [midnight + timedelta(seconds=s % DAY_S)]
        case MonthlyLastWeekdayPeriod(second_of_weeks=s):
            nth_last = -(s // WEEK_S) - 1  # 0: the last
            if day.weekday() == (s % WEEK_S) // DAY_S and (days_in_month - day.day) // 7 == nth_last:
                return [midnight + timedelta(seconds=s % DAY_S)]
        case SpecificDatePeriod(seconds_since_local_epoch=s):
            local = datetime(1970, 1, 1) + timedelta(seconds=s)
            if local.date() == day:
                return [local]
    return []


def oracle_minutes(
    scheme: AdmissionTimeScheme, from_ms: int, until_ms: int, zone: ZoneInfo, offset_s: int
) -> bytearray:
    """One byte per minute of from..until: 1 when admitted."""
    n = (until_ms - from_ms) // MIN_MS
    admitted = bytearray(n)

    def offset_month(instant_ms: int) -> int:
        local = datetime.fromtimestamp(instant_ms / 1000, zone).replace(tzinfo=None) - timedelta(seconds=offset_s)
        return local.month

    months = [offset_month(from_ms + i * MIN_MS) for i in range(n)]
    first_day = (datetime.fromtimestamp(from_ms / 1000, zone) - timedelta(days=40)).date()
    last_day = (datetime.fromtimestamp(until_ms / 1000, zone) + timedelta(days=1)).date()
    for restricted in scheme.restricted_schemes:
        day = first_day
        while day <= last_day:
            for period in restricted.periods:
                for local in oracle_local_starts(period, day):
                    start = oracle_instant(local, zone)
                    start_month = offset_month(start)
                    for i in range(max(0, -(-(start - from_ms) // MIN_MS)), n):
                        if from_ms + i * MIN_MS >= start + period.duration_ms:
                            break
                        # Restricted: the start's own calendar month until its month (by the date
                        # offset) ends, then the month of the minute.
                        month = local.month if months[i] == start_month else months[i]
                        if restricted.months is None or month in restricted.months:
                            admitted[i] = 1
            day += timedelta(days=1)
    return admitted


def minutes_of(scheme: AdmissionTimeScheme, from_ms: int, until_ms: int, zone: ZoneInfo, offset_s: int) -> bytearray:
    n = (until_ms - from_ms) // MIN_MS
    admitted = bytearray(n)
    previous_end = None
    for interval in time_intervals(scheme, from_ms, until_ms, zone, offset_s):
        assert interval.duration_ms > 0
        assert previous_end is None or interval.start_ms > previous_end, "not ascending and merged"
        previous_end = interval.end_ms
        for i in range(
            max(0, (interval.start_ms - from_ms) // MIN_MS), min(n, -(-(interval.end_ms - from_ms) // MIN_MS))
        ):
            admitted[i] = 1
    return admitted


# Starts in the hour that DST skips or repeats (02:00..02:59 in the zones tested) half of the time.
minute = st.one_of(
    st.integers(0, 24 * 60 - 1).map(lambda m: m * 60), st.sampled_from([2 * H, 2 * H + 1800, 2 * H + 3540])
)
duration_ms = st.integers(1, 3 * 24 * 60).map(lambda m: m * MIN_MS)
periods = st.one_of(
    st.builds(DailyPeriod, second_of_day=minute, duration_ms=duration_ms),
    st.builds(
        WeekdayPeriod,
        second_of_week=st.one_of(
            st.integers(0, 7 * 24 * 60 - 1).map(lambda m: m * 60),
            minute.map(lambda s: 6 * DAY_S + s),  # Sundays
        ),
        duration_ms=st.integers(1, 7 * 24 * 60).map(lambda m: m * MIN_MS),
    ),
    st.builds(
        MonthlyDatePeriod,
        second_of_month=st.integers(0, 31 * 24 * 60 - 1).map(lambda m: m * 60),
        duration_ms=duration_ms,
    ),
    st.builds(
        MonthlyLastDatePeriod,
        last_second_of_month=st.integers(-28 * 24 * 60 + 1, -1).map(lambda m: m * 60),
        duration_ms=duration_ms,
    ),
    st.builds(
        MonthlyWeekdayPeriod,
        second_of_weeks=st.integers(0, 4 * 7 * 24 * 60 - 1).map(lambda m: m * 60),
        duration_ms=duration_ms,
    ),
    st.builds(
        MonthlyLastWeekdayPeriod,
        second_of_weeks=st.integers(-4 * 7 * 24 * 60 + 1, -1).map(lambda m: m * 60),
        duration_ms=duration_ms,
    ),
    st.builds(
        SpecificDatePeriod,
        seconds_since_local_epoch=st.integers(
            int((datetime(2019, 12, 1) - datetime(1970, 1, 1)).total_seconds()) // 60,
            int((datetime(2031, 2, 1) - datetime(1970, 1, 1)).total_seconds()) // 60,
        ).map(lambda m: m * 60),
        duration_ms=duration_ms,
    ),
)
restricted_schemes = st.builds(
    RestrictedScheme,
    periods=st.lists(periods, min_size=0, max_size=3).map(tuple),
    months=st.one_of(st.none(), st.frozensets(st.integers(1, 12), min_size=1, max_size=11)),
)
schemes = st.builds(
    AdmissionTimeScheme, restricted_schemes=st.lists(restricted_schemes, min_size=1, max_size=2).map(tuple)
)
# Interesting instants: around DST changes, month ends and leap days, and anywhere in 2020..2030.
anchors = st.sampled_from(
    [
        "2024-03-30T12:00",
        "2024-10-26T12:00",
        "2025-04-05T12:00",
        "2025-11-01T12:00",
        "2024-02-27T00:00",
        "2028-02-28T00:00",
        "2025-12-30T00:00",
        "2026-03-28T12:00",
        "2025-10-04T12:00",
    ]
).map(lambda iso: int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp() * 1000))
any_instant = st.integers(
    int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()) // 60, int(datetime(2030, 12, 1, tzinfo=UTC).timestamp()) // 60
).map(lambda m: m * MIN_MS)


@settings(max_examples=120, deadline=None)
@given(
    scheme=schemes,
    from_ms=st.one_of(anchors, any_instant),
    days=st.integers(1, 12),
    zone=st.sampled_from(ZONES),
    offset_s=st.sampled_from([0, 0, 5 * H, 6 * H]),
)
def test_intervals_equal_the_minute_oracle(
    scheme: AdmissionTimeScheme, from_ms: int, days: int, zone: str, offset_s: int
) -> None:
    tz = ZoneInfo(zone)
    until_ms = from_ms + days * DAY_S * 1000
    assert minutes_of(scheme, from_ms, until_ms, tz, offset_s) == oracle_minutes(
        scheme, from_ms, until_ms, tz, offset_s
    )


@settings(max_examples=150, deadline=None)
@given(scheme=schemes, now_ms=st.one_of(anchors, any_instant), zone=st.sampled_from(ZONES))
def test_find_interval_and_is_permitted_agree_with_the_oracle(
    scheme: AdmissionTimeScheme, now_ms: int, zone: str
) -> None:
    tz = ZoneInfo(zone)
    admitted_now = oracle_minutes(scheme, now_ms, now_ms + MIN_MS, tz, 0)[0] == 1
    assert is_permitted(scheme, now_ms, tz) == admitted_now
    interval = find_interval(scheme, now_ms, tz, limit_ms=40 * DAY_S * 1000)
    if interval is None:
        assert not admitted_now
        assert oracle_minutes(scheme, now_ms, now_ms + 40 * DAY_S * 1000, tz, 0).find(1) == -1
    elif admitted_now:
        assert interval.contains(now_ms)
    else:
        first = oracle_minutes(scheme, now_ms, interval.start_ms + MIN_MS, tz, 0)
        assert first.find(1) == len(first) - 1  # nothing admitted before the interval's start


@settings(max_examples=150, deadline=None)
@given(scheme=schemes, day=st.dates(date(2020, 1, 1), date(2030, 12, 31)))
def test_has_admission_start_on_day_equals_the_oracle(scheme: AdmissionTimeScheme, day: date) -> None:
    expected = any(
        oracle_local_starts(period, day)
        for restricted in scheme.restricted_schemes
        if restricted.months is None or day.month in restricted.months
        for period in restricted.periods
    )
    assert has_admission_start_on_day(scheme, day) == expected


@settings(max_examples=200, deadline=None)
@given(scheme=schemes)
def test_json_round_trip(scheme: AdmissionTimeScheme) -> None:
    assert parsed(admission_time_scheme_to_json(scheme)) == scheme
