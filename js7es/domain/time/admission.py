"""JS7's admission time schemes: their JSON, and the instants they admit, purely (no clock).

An admission time scheme (`js7.base.time.AdmissionTimeScheme`, `RestrictedScheme`,
`AdmissionPeriod`) is a set of periods in local time, each repeating daily, weekly or monthly (or
once, on a specific date). A job with a scheme starts orders only inside one of its periods; a Cycle
scheme repeats only inside them.

JSON, exactly JS7's (its circe codecs):

- `{"periods": [...]}` — the form of JS7 up to 2.7 and the encoding of an unrestricted scheme;
- `{"restrictedSchemes": [{"periods": [...], "restriction": {"TYPE": "MonthRestriction",
  "months": [1, 12]}}]}` — JS7 2.8+; an absent restriction (or `{"TYPE": "Unrestricted"}`) is none.
- Periods, durations in seconds (a JSON number, fractions allowed):
  `DailyPeriod{secondOfDay, duration}` (0 ≤ secondOfDay < 1 day),
  `WeekdayPeriod{secondOfWeek, duration}` (Monday 00:00 is 0; duration at most 7 days),
  `MonthlyDatePeriod{secondOfMonth, duration}` (the 1st at 00:00 is 0; a day the month lacks is
  the month's last day, at the same time of day),
  `MonthlyLastDatePeriod{lastSecondOfMonth, duration}` (negative: -3600 is the last day at 23:00),
  `MonthlyWeekdayPeriod{secondOfWeeks, duration}` (the n-th weekday of the month: 0 is the first
  Monday at 00:00, one week more is the second),
  `MonthlyLastWeekdayPeriod{secondOfWeeks, duration}` (negative: -1 week + 0 is the last Monday),
  `SpecificDatePeriod{secondsSinceLocalEpoch, duration}` (a local date-time once).

Time zones (the DST rule, JS7's `LocalInterval.toTimeInterval`: `ZonedDateTime.of(start, zone)` and
an absolute duration). A period's local start becomes an instant as Java's `ZonedDateTime.of` makes
it: a local start in a spring-forward gap is moved later by the length of the gap (02:30 in
Europe/Berlin on the last Sunday of March is 03:30 CEST), a local start that occurs twice on
fall-back is its first occurrence (the earlier offset). That is Python's `fold=0`. The duration is
absolute time: a 2-hour period over a change lasts 2 real hours.

Merging: overlapping and adjacent periods form one interval (JS7's `findLongTimeInterval`, which
the Agent's `AdmissionTimeSwitch` uses for jobs).

A month restriction (JS7's `MonthRestriction`, whose months begin `date_offset_s` after midnight
on their first day): a period occurrence counts for the calendar month of its local start date
(JS7 generates occurrences per calendar day, week or month and skips those of excluded months,
whatever the date offset). An occurrence of an admitted month is admitted from its start up to the
first month boundary after which the month is excluded; an occurrence of an excluded month (one that
began before and is still open, or a Sunday of a week that began in the month before) is admitted
only from a month boundary into an admitted month (`MonthRestriction.clipLocalInterval`). With no
date offset that is the intersection with the admitted months.

No clock and no file are read: the zone is a `ZoneInfo` the caller passes.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from js7es.domain.problem import Problem, problem

DAY_S = 24 * 3600
WEEK_S = 7 * DAY_S
_MS = timedelta(milliseconds=1)
_LOCAL_EPOCH = datetime(1970, 1, 1)
_UTC_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CHUNK_MS = 32 * DAY_S * 1000
# Every period but SpecificDatePeriod repeats at least monthly: a start at most this long before
# an instant covers it if any earlier one does, so looking further back shows nothing new.
_MAX_LOOKBACK_MS = 64 * DAY_S * 1000
FIND_TIME_INTERVAL_LIMIT_MS = 1096 * DAY_S * 1000  # JS7's js7.findTimeIntervalLimit = 1096 days


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyPeriod:
    second_of_day: int
    duration_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WeekdayPeriod:
    second_of_week: int  # Monday 00:00 is 0
    duration_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthlyDatePeriod:
    second_of_month: int  # the 1st at 00:00 is 0
    duration_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthlyLastDatePeriod:
    last_second_of_month: int  # negative: -3600 is the last day at 23:00
    duration_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthlyWeekdayPeriod:
    second_of_weeks: int  # 0 is the month's first Monday at 00:00
    duration_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthlyLastWeekdayPeriod:
    second_of_weeks: int  # negative: -WEEK_S is the month's last Monday at 00:00
    duration_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecificDatePeriod:
    seconds_since_local_epoch: int
    duration_ms: int


AdmissionPeriod = (
    DailyPeriod
    | WeekdayPeriod
    | MonthlyDatePeriod
    | MonthlyLastDatePeriod
    | MonthlyWeekdayPeriod
    | MonthlyLastWeekdayPeriod
    | SpecificDatePeriod
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RestrictedScheme:
    periods: tuple[AdmissionPeriod, ...]
    months: frozenset[int] | None = None  # None: unrestricted; else 1..12, one to eleven of them


@dataclass(frozen=True, slots=True, kw_only=True)
class AdmissionTimeScheme:
    restricted_schemes: tuple[RestrictedScheme, ...]

    @staticmethod
    def of(*periods: AdmissionPeriod) -> AdmissionTimeScheme:
        return AdmissionTimeScheme(restricted_schemes=(RestrictedScheme(periods=periods),))


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """Epoch milliseconds, end exclusive."""

    start_ms: int
    duration_ms: int

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms

    def contains(self, ms: int) -> bool:
        return self.start_ms <= ms < self.end_ms


# ---------------------------------------------------------------------------------------------
# JSON

_PERIOD_FIELDS: dict[str, str] = {
    "DailyPeriod": "secondOfDay",
    "WeekdayPeriod": "secondOfWeek",
    "MonthlyDatePeriod": "secondOfMonth",
    "MonthlyLastDatePeriod": "lastSecondOfMonth",
    "MonthlyWeekdayPeriod": "secondOfWeeks",
    "MonthlyLastWeekdayPeriod": "secondOfWeeks",
    "SpecificDatePeriod": "secondsSinceLocalEpoch",
}


class _Refused(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def _refuse(message: str, where: str) -> _Refused:
    return _Refused(problem("InvalidAdmissionTimeScheme", f"{message} at {where}", where=where))


def parse_admission_time_scheme(obj: object, where: str = "admissionTimeScheme") -> AdmissionTimeScheme | Problem:
    """JS7's JSON (either form) as a scheme, or an `InvalidAdmissionTimeScheme` problem."""
    try:
        return _parse_scheme(obj, where)
    except _Refused as refused:
        return refused.problem


def admission_time_scheme_to_json(scheme: AdmissionTimeScheme) -> dict[str, Any]:
    """JS7's encoding: the short `periods` form for a single unrestricted scheme."""
    schemes = scheme.restricted_schemes
    if len(schemes) == 1 and schemes[0].months is None:
        return {"periods": [_period_to_json(p) for p in schemes[0].periods]}
    return {"restrictedSchemes": [_restricted_to_json(s) for s in schemes]}


def _restricted_to_json(scheme: RestrictedScheme) -> dict[str, Any]:
    result: dict[str, Any] = {"periods": [_period_to_json(p) for p in scheme.periods]}
    if scheme.months is not None:
        result["restriction"] = {"TYPE": "MonthRestriction", "months": sorted(scheme.months)}
    return result


_PERIOD_ATTRS: dict[str, str] = {
    "DailyPeriod": "second_of_day",
    "WeekdayPeriod": "second_of_week",
    "MonthlyDatePeriod": "second_of_month",
    "MonthlyLastDatePeriod": "last_second_of_month",
    "MonthlyWeekdayPeriod": "second_of_weeks",
    "MonthlyLastWeekdayPeriod": "second_of_weeks",
    "SpecificDatePeriod": "seconds_since_local_epoch",
}


def _period_to_json(period: AdmissionPeriod) -> dict[str, Any]:
    type_ = type(period).__name__
    return {
        "TYPE": type_,
        _PERIOD_FIELDS[type_]: getattr(period, _PERIOD_ATTRS[type_]),
        "duration": duration_ms_to_json(period.duration_ms),
    }


def duration_ms_to_json(ms: int) -> int | float:
    """Seconds as JS7 writes a FiniteDuration: a whole number when whole."""
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def _parse_scheme(obj: object, where: str) -> AdmissionTimeScheme:
    if not isinstance(obj, Mapping):
        raise _refuse("An object is expected", where)
    if "periods" in obj:
        periods = _parse_periods(obj["periods"], f"{where}.periods")
        return AdmissionTimeScheme(restricted_schemes=(RestrictedScheme(periods=periods),))
    if "restrictedSchemes" not in obj:
        raise _refuse("Either 'periods' or 'restrictedSchemes' is required", where)
    raw = obj["restrictedSchemes"]
    if not isinstance(raw, list):
        raise _refuse("A list is expected", f"{where}.restrictedSchemes")
    return AdmissionTimeScheme(
        restricted_schemes=tuple(_parse_restricted(r, f"{where}.restrictedSchemes[{i}]") for i, r in enumerate(raw))
    )


def _parse_restricted(obj: object, where: str) -> RestrictedScheme:
    if not isinstance(obj, Mapping):
        raise _refuse("An object is expected", where)
    if "periods" not in obj:
        raise _refuse("'periods' is required", where)
    periods = _parse_periods(obj["periods"], f"{where}.periods")
    restriction = obj.get("restriction")
    if restriction is None:
        return RestrictedScheme(periods=periods)
    where = f"{where}.restriction"
    if not isinstance(restriction, Mapping):
        raise _refuse("An object is expected", where)
    match restriction.get("TYPE"):
        case "Unrestricted":
            return RestrictedScheme(periods=periods)
        case "MonthRestriction":
            months = restriction.get("months")
            if not isinstance(months, list) or not all(_is_int(m) for m in months):
                raise _refuse("'months' must be a list of numbers", where)
            if not all(1 <= m <= 12 for m in months):
                raise _refuse("Month must be a number between 1 and 12", where)
            month_set = frozenset(months)
            if not 1 <= len(month_set) <= 11:
                raise _refuse("MonthRestriction must contain between 1 and 11 months", where)
            return RestrictedScheme(periods=periods, months=month_set)
        case other:
            raise _refuse(f"Unknown restriction TYPE {other!r}", where)


def _parse_periods(obj: object, where: str) -> tuple[AdmissionPeriod, ...]:
    if not isinstance(obj, list):
        raise _refuse("A list is expected", where)
    return tuple(_parse_period(p, f"{where}[{i}]") for i, p in enumerate(obj))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_period(obj: object, where: str) -> AdmissionPeriod:
    if not isinstance(obj, Mapping):
        raise _refuse("An object is expected", where)
    type_ = obj.get("TYPE")
    if not isinstance(type_, str) or type_ not in _PERIOD_FIELDS:
        raise _refuse(f"Unknown period TYPE {type_!r}", where)
    field = _PERIOD_FIELDS[type_]
    number = obj.get(field)
    if not _is_int(number):
        raise _refuse(f"'{field}' must be a whole number", where)
    assert isinstance(number, int)
    duration_ms = _parse_duration(obj.get("duration"), f"{where}.duration")
    if duration_ms <= 0:
        raise _refuse("Duration must be positive", where)
    match type_:
        case "DailyPeriod":
            if not 0 <= number < DAY_S:
                raise _refuse(f"Invalid daytime number {number}", where)
            return DailyPeriod(second_of_day=number, duration_ms=duration_ms)
        case "WeekdayPeriod":
            if not 0 <= number < WEEK_S:
                raise _refuse(f"Invalid weekday time number {number}", where)
            if duration_ms > WEEK_S * 1000:
                raise _refuse("A WeekdayPeriod lasts at most 7 days", where)
            return WeekdayPeriod(second_of_week=number, duration_ms=duration_ms)
        case "MonthlyDatePeriod":
            if not 0 <= number < 31 * DAY_S:
                raise _refuse(f"Invalid time in a month {number}", where)
            return MonthlyDatePeriod(second_of_month=number, duration_ms=duration_ms)
        case "MonthlyLastDatePeriod":
            if not -28 * DAY_S < number < 0:
                raise _refuse(f"Invalid reverse time in a month (must be negative) {number}", where)
            return MonthlyLastDatePeriod(last_second_of_month=number, duration_ms=duration_ms)
        case "MonthlyWeekdayPeriod":
            if not 0 <= number < 4 * WEEK_S:
                raise _refuse(f"Invalid time in a month {number}", where)
            return MonthlyWeekdayPeriod(second_of_weeks=number, duration_ms=duration_ms)
        case "MonthlyLastWeekdayPeriod":
            if not -4 * WEEK_S < number < 0:
                raise _refuse(f"Invalid time in a month {number}", where)
            return MonthlyLastWeekdayPeriod(second_of_weeks=number, duration_ms=duration_ms)
        case _:
            try:
                _LOCAL_EPOCH + timedelta(seconds=number, milliseconds=duration_ms)
            except OverflowError:
                raise _refuse(f"Date out of range {number}", where) from None
            return SpecificDatePeriod(seconds_since_local_epoch=number, duration_ms=duration_ms)


def _parse_duration(obj: object, where: str) -> int:
    if _is_int(obj):
        assert isinstance(obj, int)
        return obj * 1000
    if isinstance(obj, float | Decimal) and obj == obj and -1e15 < obj < 1e15:
        return round(Decimal(str(obj)) * 1000)
    raise _refuse("A duration in seconds (a number) is expected", where)


# ---------------------------------------------------------------------------------------------
# Local time


def local_to_ms(local: datetime, zone: ZoneInfo) -> int:
    """A naive local date-time as epoch ms, as `ZonedDateTime.of(local, zone)` makes it (fold=0)."""
    offset = local.replace(tzinfo=zone, fold=0).utcoffset()
    assert offset is not None
    return (local - _LOCAL_EPOCH - offset) // _MS


def ms_to_local(ms: int, zone: ZoneInfo) -> datetime:
    return (_UTC_EPOCH + timedelta(milliseconds=ms)).astimezone(zone).replace(tzinfo=None)


def _month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1)


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _months(first: date, last: date) -> Iterator[tuple[int, int]]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield year, month
        year, month = _next_month(year, month)


def _local_starts(period: AdmissionPeriod, first: date, last: date) -> Iterator[datetime]:
    """The local starts of a repeating period for the days, weeks or months that touch first..last."""
    match period:
        case DailyPeriod(second_of_day=second):
            day = first
            while day <= last:
                yield datetime(day.year, day.month, day.day) + timedelta(seconds=second)
                day += timedelta(days=1)
        case WeekdayPeriod(second_of_week=second):
            monday = first - timedelta(days=first.weekday())
            while monday <= last:
                yield datetime(monday.year, monday.month, monday.day) + timedelta(seconds=second)
                monday += timedelta(days=7)
        case _:
            for year, month in _months(first, last):
                yield _monthly_start(period, year, month)


def _monthly_start(period: AdmissionPeriod, year: int, month: int) -> datetime:
    start = _month_start(year, month)
    next_start = _month_start(*_next_month(year, month))
    last_day = next_start - timedelta(days=1)
    match period:
        case MonthlyDatePeriod(second_of_month=second):
            local = start + timedelta(seconds=second)
            if local.month != month:  # the 31st of a 30-day month: its last day
                local = last_day + timedelta(seconds=second % DAY_S)
            return local
        case MonthlyLastDatePeriod(last_second_of_month=second):
            return next_start + timedelta(seconds=second)
        case MonthlyWeekdayPeriod(second_of_weeks=second):
            weekday, rest = divmod(second % WEEK_S, DAY_S)
            first_weekday = start + timedelta(days=(weekday - start.weekday()) % 7)
            return first_weekday + timedelta(weeks=second // WEEK_S, seconds=rest)
        case MonthlyLastWeekdayPeriod(second_of_weeks=second):
            weekday, rest = divmod(second % WEEK_S, DAY_S)
            weeks_back = -(second // WEEK_S) - 1  # -1 week..0: the last one
            last_weekday = last_day - timedelta(days=(last_day.weekday() - weekday) % 7)
            return last_weekday - timedelta(weeks=weeks_back) + timedelta(seconds=rest)
        case _:
            raise AssertionError(period)


def _specific_local(period: SpecificDatePeriod) -> datetime:
    return _LOCAL_EPOCH + timedelta(seconds=period.seconds_since_local_epoch)


# ---------------------------------------------------------------------------------------------
# Intervals


_Occurrence = tuple[int, int, int]  # start ms, end ms, calendar month (1..12) of the local start


def _candidates(scheme: RestrictedScheme, lo_ms: int, hi_ms: int, zone: ZoneInfo) -> list[_Occurrence]:
    """Every repeating period of `scheme` that starts in lo..hi (hi exclusive), by start."""
    first = ms_to_local(lo_ms, zone).date() - timedelta(days=1)
    last = ms_to_local(hi_ms, zone).date() + timedelta(days=1)
    result = []
    for period in scheme.periods:
        if isinstance(period, SpecificDatePeriod):
            continue
        for local in _local_starts(period, first, last):
            start = local_to_ms(local, zone)
            if lo_ms <= start < hi_ms:
                result.append((start, start + period.duration_ms, local.month))
    result.sort()
    return result


def _occurrences(scheme: RestrictedScheme, from_ms: int, until_ms: int, zone: ZoneInfo) -> Iterator[_Occurrence]:
    """Every period occurrence that may touch from..until, by start (each starts before until)."""
    specific = sorted(
        (start, start + p.duration_ms, local.month)
        for p in scheme.periods
        if isinstance(p, SpecificDatePeriod)
        for local in (_specific_local(p),)
        for start in (local_to_ms(local, zone),)
        if start < until_ms and start + p.duration_ms > from_ms
    )
    repeating = [p.duration_ms for p in scheme.periods if not isinstance(p, SpecificDatePeriod)]
    if not repeating:
        yield from specific
        return
    lo = from_ms - min(max(repeating), _MAX_LOOKBACK_MS)
    while lo < until_ms:
        hi = min(lo + _CHUNK_MS, until_ms)
        chunk = _candidates(scheme, lo, hi, zone)
        while specific and specific[0][0] < hi:
            chunk.append(specific.pop(0))
        chunk.sort()
        yield from chunk
        lo = hi
    yield from specific


def _merged(intervals: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Overlapping or adjacent intervals, given by start, as one."""
    current: tuple[int, int] | None = None
    for start, end in intervals:
        if current is None:
            current = (start, end)
        elif start <= current[1]:
            current = (current[0], max(current[1], end))
        else:
            yield current
            current = (start, end)
    if current is not None:
        yield current


def _month_boundary_ms(year: int, month: int, zone: ZoneInfo, date_offset_s: int) -> int:
    return local_to_ms(_month_start(year, month) + timedelta(seconds=date_offset_s), zone)


def _month_of(ms: int, zone: ZoneInfo, date_offset_s: int) -> tuple[int, int]:
    """The (year, month) whose boundary instants (first day at date_offset_s) enclose ms."""
    local = ms_to_local(ms, zone) - timedelta(seconds=date_offset_s)
    year, month = local.year, local.month
    if ms < _month_boundary_ms(year, month, zone, date_offset_s):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    elif ms >= _month_boundary_ms(*_next_month(year, month), zone, date_offset_s):
        year, month = _next_month(year, month)
    return year, month


def _clip(
    occurrence: _Occurrence, months: frozenset[int], zone: ZoneInfo, date_offset_s: int
) -> Iterator[tuple[int, int]]:
    """The parts of an occurrence that a month restriction admits (see the module docstring)."""
    start, end, start_month = occurrence
    admitted = start_month in months
    current = start
    year, month = _month_of(start, zone, date_offset_s)
    while current < end:
        year, month = _next_month(year, month)
        boundary = _month_boundary_ms(year, month, zone, date_offset_s)
        if admitted:
            yield current, min(end, boundary)
        current = boundary
        admitted = month in months


def _restricted(
    occurrences: Iterable[_Occurrence], months: frozenset[int] | None, zone: ZoneInfo, date_offset_s: int
) -> Iterator[tuple[int, int]]:
    """The admitted parts, by start: a part is held back until no later occurrence can precede it."""
    if months is None:
        for start, end, _ in occurrences:
            yield start, end
        return
    pending: list[tuple[int, int]] = []
    for occurrence in occurrences:
        while pending and pending[0][0] <= occurrence[0]:
            yield heapq.heappop(pending)
        for part in _clip(occurrence, months, zone, date_offset_s):
            heapq.heappush(pending, part)
    while pending:
        yield heapq.heappop(pending)


def time_intervals(
    scheme: AdmissionTimeScheme, from_ms: int, until_ms: int, zone: ZoneInfo, date_offset_s: int = 0
) -> Iterator[TimeInterval]:
    """The admitted intervals that touch from..until (until exclusive), ascending and merged.

    The first one may have begun before from_ms. Only periods that start before until_ms are looked
    at, so the last interval's end does not include a period that starts later and would continue it.
    """
    streams = [
        _restricted(_occurrences(restricted, from_ms, until_ms, zone), restricted.months, zone, date_offset_s)
        for restricted in scheme.restricted_schemes
    ]
    for start, end in _merged(heapq.merge(*streams)):
        if start >= until_ms:
            return
        if end > from_ms:
            yield TimeInterval(start, end - start)


def find_interval(
    scheme: AdmissionTimeScheme,
    now_ms: int,
    zone: ZoneInfo,
    date_offset_s: int = 0,
    limit_ms: int = FIND_TIME_INTERVAL_LIMIT_MS,
) -> TimeInterval | None:
    """The interval that holds now_ms, else the next one starting within limit_ms, else None."""
    return next(time_intervals(scheme, now_ms, now_ms + limit_ms, zone, date_offset_s), None)


def is_permitted(scheme: AdmissionTimeScheme, now_ms: int, zone: ZoneInfo, date_offset_s: int = 0) -> bool:
    interval = find_interval(scheme, now_ms, zone, date_offset_s, limit_ms=1)
    return interval is not None and interval.contains(now_ms)


def has_admission_start_on_day(scheme: AdmissionTimeScheme, day: date) -> bool:
    """Whether a period of the scheme starts (local time) on `day` (JS7's hasAdmissionPeriodStartForDay).

    Unlike JS7 2.8, which ignores the month restriction here, a start in a month that its
    restriction excludes does not count: such a period never admits an order on that day.
    """
    for restricted in scheme.restricted_schemes:
        if restricted.months is not None and day.month not in restricted.months:
            continue
        for period in restricted.periods:
            if isinstance(period, SpecificDatePeriod):
                starts: Iterable[datetime] = (_specific_local(period),)
            else:
                starts = _local_starts(period, day, day)
            if any(local.date() == day for local in starts):
                return True
    return False


_ORDER_DAY = re.compile(r"#([0-9]{4}-[0-9][0-9]-[0-9][0-9])#.*", re.DOTALL)


def order_id_to_day(order_id: str) -> date | None:
    """The daily-plan date of an order id `#YYYY-MM-DD#…` (JS7's ExecuteExecutor.orderIdToDate)."""
    match = _ORDER_DAY.fullmatch(order_id)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None
