"""`now(format=…, timezone=…)`: formats a timestamp with a Java DateTimeFormatter pattern.

Supported pattern letters: y u (year), M (month; MMM, MMMM names), d, D (day of year), E (weekday),
H, h, a, m, s, S (fraction), X x Z (offset), z VV (zone id); 'quoted text' and '' for a quote.
Other letters are rejected (a Problem), so that a pattern never silently means something else.
Without a timezone the time is formatted in UTC (JS7 uses the JVM's default zone; the domain of
js7es must not depend on the host).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from js7es.domain.expression.values import fail

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def format_epoch_milli(epoch_milli: int, pattern: str, timezone: str | None) -> str:
    try:
        moment = (_EPOCH + timedelta(milliseconds=epoch_milli)).astimezone(_zone(timezone))
    except OverflowError:
        fail("InvalidFunctionArguments", f"Timestamp out of range: {epoch_milli}")
    result: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "'":
            literal, i = _quoted(pattern, i)
            result.append(literal)
        elif c.isascii() and c.isalpha():
            count = 1
            while i + count < len(pattern) and pattern[i + count] == c:
                count += 1
            result.append(_field(moment, c, count, pattern))
            i += count
        else:
            result.append(c)
            i += 1
    return "".join(result)


def _quoted(pattern: str, start: int) -> tuple[str, int]:
    """Text in single quotes, where '' stands for a quote (also on its own)."""
    if pattern.startswith("''", start):
        return "'", start + 2
    text: list[str] = []
    i = start + 1
    while True:
        end = pattern.find("'", i)
        if end < 0:
            fail("InvalidFunctionArguments", f"Unterminated quote in time format: {pattern}")
        text.append(pattern[i:end])
        if not pattern.startswith("''", end):
            return "".join(text), end + 1
        text.append("'")
        i = end + 2


def _zone(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ValueError, OSError, KeyError):
        fail("InvalidFunctionArguments", f"Unknown timezone: {name}")


def _field(moment: datetime, letter: str, count: int, pattern: str) -> str:
    match letter:
        case "y" | "u":
            return f"{moment.year % 100:02d}" if count == 2 else f"{moment.year:0{count}d}"
        case "M":
            if count >= 4:
                return _MONTHS[moment.month - 1]
            if count == 3:
                return _MONTHS[moment.month - 1][:3]
            return f"{moment.month:0{count}d}"
        case "d":
            return f"{moment.day:0{count}d}"
        case "D":
            return f"{moment.timetuple().tm_yday:0{count}d}"
        case "E":
            weekday = _WEEKDAYS[moment.weekday()]
            return weekday if count >= 4 else weekday[:3]
        case "H":
            return f"{moment.hour:0{count}d}"
        case "h":
            return f"{(moment.hour - 1) % 12 + 1:0{count}d}"
        case "a":
            return "AM" if moment.hour < 12 else "PM"
        case "m":
            return f"{moment.minute:0{count}d}"
        case "s":
            return f"{moment.second:0{count}d}"
        case "S":
            return f"{moment.microsecond:06d}".ljust(count, "0")[:count]
        case "X" | "x" | "Z":
            return _offset(moment, letter, count)
        case "z" | "V":
            return getattr(moment.tzinfo, "key", None) or "UTC"
    fail("InvalidFunctionArguments", f"Unsupported letter '{letter}' in time format: {pattern}")


def _offset(moment: datetime, letter: str, count: int) -> str:
    offset = moment.utcoffset() or timedelta()
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0 and letter == "X":
        return "Z"
    sign = "+" if minutes >= 0 else "-"
    hours, minutes = divmod(abs(minutes), 60)
    if letter == "Z":
        return f"{sign}{hours:02d}{minutes:02d}"
    if count == 1:
        return f"{sign}{hours:02d}" + (f"{minutes:02d}" if minutes else "")
    separator = ":" if count >= 3 else ""
    return f"{sign}{hours:02d}{separator}{minutes:02d}"
