"""JOC's date filters (common/dateFromTo-schema.json): ISO 8601 timestamps and relative dates.

A faithful port of JOC's `JobSchedulerDate.getInstantFromDateStr` and `setRelativeDateIntoPast`
(sos-components: sos-webservices-joc-global/.../classes/JobSchedulerDate.java), which the history
endpoints apply to dateFrom/dateTo/completedDateFrom/completedDateTo:

- ``2026-12-06T09:31:34.123Z``, ``2026-12-06 09:31:34``, with an offset (``+02:00``) or none; a given
  `time_zone` wins over the offset (JOC's order of precedence), none and no offset mean UTC.
- relative: one or more ``[+-]N`` + unit ``s m h d w M y`` (``-1h``, ``0d``, ``-1d-2h``), counted from
  now in `time_zone`. A unit among ``d w M y`` first truncates to midnight; ``y``/``M``/``w`` go to the
  first day of the year/month/week (Monday, as JOC computes it from Calendar.DAY_OF_WEEK); a *dateTo*
  goes one period further (the exclusive end: ``0d`` as dateTo is tomorrow 00:00) — JOC adds that day
  for every relative dateTo, ``-1h`` included, and so do we.
- a positive relative date means the past in the history filters: ``1d`` → ``-1d``.
- ``0`` and ``now`` (accepted by the schema's pattern, not parsed by JOC) mean now.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from js7es.projections.cockpit.queries.common import NEVER_MS

_OFFSET = re.compile(
    r"(\d{2,4}-\d{1,2}-\d{1,2}(?:T| )\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d+)?|(?:\s*[+-]?\d+\s*[smhdwMy])+)"
    r"([+-]\d{2}(?::?\d{2})?|Z)?$"
)
_RELATIVE = re.compile(r"([+-]?\d+)\s*([smhdwMy])")
_POSITIVE_RELATIVE = re.compile(r"\+?[0-9]+\s*[smhdwMy].*")


class DateError(ValueError):
    """A date filter JOC would refuse (its JOC-… error is the API layer's to choose)."""


def into_past(text: str | None) -> str | None:
    """JOC's setRelativeDateIntoPast: ``1d`` → ``-1d`` (the history filters look back)."""
    if text is not None and _POSITIVE_RELATIVE.fullmatch(text.strip()):
        return "-" + text.strip().replace("+", "").replace(" ", "")
    return text


def _zone(time_zone: str | None) -> ZoneInfo | None:
    if not time_zone:
        return None
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        # Java's TimeZone.getTimeZone answers GMT for an unknown id
        return ZoneInfo("UTC")


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    if not 1 <= year <= 9999:
        raise DateError(f"{months} months from {day} is out of range")
    for candidate in (31, 30, 29, 28):  # Calendar.add clamps the day of month
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def parse_date(text: str | None, *, date_to: bool, time_zone: str | None, now_ms: int) -> int | None:
    """Epoch milliseconds of a JOC date filter value, or None for none."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    if text.lower() == "never":
        return NEVER_MS
    if text in ("0", "+0", "-0") or text.lower() == "now":
        return now_ms
    zone = _zone(time_zone)
    match = _OFFSET.search(text)
    if match is None:
        raise DateError(f"not a JOC date: {text!r}")
    if zone is None:
        offset = match.group(2)
        if offset is None or offset == "Z":
            zone = ZoneInfo("UTC")
        else:
            if ":" not in offset and len(offset) > 3:
                offset = offset[:3] + ":" + offset[3:]
            sign = 1 if offset[0] == "+" else -1
            hours, _, minutes = offset[1:].partition(":")
            zone_offset = timedelta(hours=int(hours), minutes=int(minutes or 0)) * sign
            return _absolute_or_relative(match.group(1), date_to, None, zone_offset, now_ms)
    return _absolute_or_relative(match.group(1), date_to, zone, None, now_ms)


def _absolute_or_relative(
    body: str, date_to: bool, zone: ZoneInfo | None, offset: timedelta | None, now_ms: int
) -> int:
    units: dict[str, int] = {}
    for number, unit in _RELATIVE.findall(body):
        units.setdefault(unit, int(number))  # JOC: putIfAbsent, the first of each unit counts
    if not units:
        try:
            local = datetime.fromisoformat(body.replace(" ", "T"))
        except ValueError as e:
            raise DateError(f"not a JOC date: {body!r}") from e
        if zone is not None:
            return int(local.replace(tzinfo=zone).timestamp() * 1000)
        assert offset is not None
        return int((local.replace(tzinfo=UTC) - offset).timestamp() * 1000)
    now = datetime.fromtimestamp(now_ms / 1000, UTC)
    local = now.astimezone(zone) if zone is not None else (now + (offset or timedelta())).replace(tzinfo=None)
    naive = local.replace(tzinfo=None)
    if any(u in units for u in "dwMy"):
        naive = naive.replace(hour=0, minute=0, second=0, microsecond=0)
    day = naive.date()
    if "y" in units:
        if date_to:
            day = date(day.year + 1 + units["y"], 1, 1) - timedelta(days=1)
        else:
            day = date(day.year + units["y"], 1, 1)
    if "M" in units:
        if date_to:
            day = _add_months(day, 1 + units["M"]).replace(day=1) - timedelta(days=1)
        else:
            day = _add_months(day, units["M"]).replace(day=1)
    if "w" in units:
        day = day + timedelta(weeks=(1 if date_to else 0) + units["w"])
        java_day_of_week = day.isoweekday() % 7 + 1  # Calendar: Sunday 1, Monday 2, … Saturday 7
        day = day + timedelta(days=2 - java_day_of_week - (1 if date_to else 0))
    if "d" in units:
        day = day + timedelta(days=units["d"])
    if date_to:
        day = day + timedelta(days=1)
    naive = datetime.combine(day, naive.time())
    if zone is not None:
        moment = naive.replace(tzinfo=zone).astimezone(UTC)
    else:
        moment = (naive - (offset or timedelta())).replace(tzinfo=UTC)
    moment += timedelta(hours=units.get("h", 0), minutes=units.get("m", 0), seconds=units.get("s", 0))
    return int(moment.timestamp() * 1000)
