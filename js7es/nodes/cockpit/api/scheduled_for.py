"""JOC's `scheduledFor` forms (common/timestampWithNow-schema.json, JobSchedulerDate.getScheduledForInUTC):
"now", "now + SECONDS", "now + HH:MM[:SS]", "yyyy-mm-dd HH:MM[:SS]" in `timeZone` (default Etc/UTC), an
ISO 8601 timestamp with its offset, "never" (JOC's NEVER_MILLIS: a pending order), or empty (= now)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from js7es.nodes.cockpit.api.joc import JocError, bad_request

NEVER_MS = 253402300799000  # JOC's JobSchedulerDate.NEVER_MILLIS: 9999-12-31T23:59:59Z

_NOW = re.compile(r"^now(?:\s*\+\s*(?:(\d+):(\d{1,2})(?::(\d{1,2}))?|(\d+)))?$")
_LOCAL = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2}))?$")


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Etc/UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request(f"unknown timeZone '{name}'") from None


def scheduled_for_ms(text: str | None, time_zone: str | None, now_ms: int) -> int | None:
    """Epoch milliseconds, or None for "now" (the Controller starts the order at once)."""
    value = (text or "").strip()
    if not value or value == "now":
        return None
    if value == "never":
        return NEVER_MS
    m = _NOW.match(value)
    if m:
        hours, minutes, seconds, plain = m.groups()
        delta = int(plain) if plain is not None else int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0)
        return now_ms + delta * 1000
    tz = zone(time_zone)
    m = _LOCAL.match(value)
    try:
        if m:
            y, mo, d, h, mi, s = m.groups()
            moment = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), tzinfo=tz)
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
    except ValueError as e:
        raise _invalid(value, str(e)) from None
    return int(moment.timestamp() * 1000)


def _invalid(value: str, why: str) -> JocError:
    return bad_request(
        f"scheduledFor '{value}': {why}; use now, now + SECONDS, now + HH:MM[:SS], yyyy-mm-dd HH:MM[:SS], never"
    )


def plan_date(now_ms: int, time_zone: str | None) -> str:
    """The daily-plan date of now in `time_zone` (JOC's order id `#<date>#T…`)."""
    return datetime.fromtimestamp(now_ms / 1000, zone(time_zone)).strftime("%Y-%m-%d")
