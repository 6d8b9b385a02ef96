"""The Controller's Calendar item (JS7's data/calendar/Calendar.scala) and the order day it gives.

JOC's daily plan names its orders `#2021-10-01#P…`; the Calendar item says how to read the day out of
an order id (`orderIdPattern`, a regular expression with one group, matched against the whole id) and
how that group is written (`periodDatePattern`, a Java DateTimeFormatter pattern), and when the day
begins (`dateOffset`, seconds after midnight). The order's day is then the interval
[day 00:00 + dateOffset, the next day 00:00 + dateOffset) in the workflow's time zone (JS7's
CalendarExecutor.orderIdToTimeInterval): 23 or 25 hours long on a DST change.

JSON, as JS7 writes it: `{"TYPE": "Calendar", "path": "CALENDAR", "dateOffset": 21600,
"orderIdPattern": "#([^#]+)#.*", "periodDatePattern": "yyyy-MM-dd"}`; `dateOffset` defaults to 0.

Where JS7 checks late, js7es checks when the item is deployed: a pattern that is not a regular
expression with exactly one group, a date pattern that cannot be parsed, a dateOffset outside
[0, 24h) are refused then (JS7 accepts them and fails every cycling order). JS7's experimental week
calendars (a periodDatePattern starting with the week-based year `Y`, a test of JS7 marks them
pending) are refused as NotSupported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from js7es.domain.problem import Problem, problem

DAY_S = 24 * 3600
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# JOC's daily plan ids: "#2021-10-01#P…" (JS7's Calendar.jocStandard)
JOC_ORDER_ID_PATTERN = "#([^#]+)#.*"
JOC_PERIOD_DATE_PATTERN = "yyyy-MM-dd"


@dataclass(frozen=True, slots=True, kw_only=True)
class CalendarItem:
    path: str
    order_id_pattern: str
    period_date_pattern: str
    date_offset_s: int = 0
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"Calendar:{self.path}"


def parse_calendar_item(obj: Mapping[str, Any], path: str) -> CalendarItem | Problem:
    """A Calendar item from its JSON (the caller has checked TYPE and path)."""
    where = f"Calendar {path}"
    offset = obj.get("dateOffset", 0)
    if isinstance(offset, bool) or not isinstance(offset, (int, float, Decimal)):
        return problem("InvalidItem", f"{where}: dateOffset must be a number of seconds", field="dateOffset")
    if not 0 <= offset < DAY_S:  # JS7: "Invalid dateOffset" (CalendarExecutor), negative: Calendar.checked
        return problem(
            "InvalidItem", f"{where}: dateOffset must be at least 0 and less than 24 hours", field="dateOffset"
        )
    order_id_pattern = obj.get("orderIdPattern")
    if not isinstance(order_id_pattern, str):
        return problem("InvalidItem", f"{where}: orderIdPattern is missing", field="orderIdPattern")
    try:
        groups = re.compile(order_id_pattern).groups
    except re.error as e:
        return problem(
            "InvalidCalendarPattern", f"{where}: orderIdPattern is no regular expression: {e}", field="orderIdPattern"
        )
    if groups != 1:
        return problem(
            "InvalidCalendarPattern",
            f"{where}: orderIdPattern must have exactly one group (the date), it has {groups}",
            field="orderIdPattern",
        )
    date_pattern = obj.get("periodDatePattern")
    if not isinstance(date_pattern, str) or not date_pattern:
        return problem("InvalidItem", f"{where}: periodDatePattern is missing", field="periodDatePattern")
    if date_pattern.startswith("Y"):
        return problem(
            "NotSupported",
            f"{where}: js7es does not support week calendars (periodDatePattern {date_pattern!r}) yet",
            field="periodDatePattern",
        )
    compiled = _compile_date_pattern(date_pattern)
    if isinstance(compiled, Problem):
        return problem(compiled.code, f"{where}: {compiled.message}", field="periodDatePattern")
    return CalendarItem(
        path=path,
        order_id_pattern=order_id_pattern,
        period_date_pattern=date_pattern,
        date_offset_s=int(offset),  # JS7: dateOffset.toSeconds
        raw=dict(obj),
    )


def zone_of(name: object) -> ZoneInfo | Problem:
    """The time zone of an IANA name (zoneinfo), or UnknownTimeZone."""
    if not isinstance(name, str) or not name:
        return problem("UnknownTimeZone", f"Unknown time zone {name!r}", timeZone=name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return problem("UnknownTimeZone", f"Unknown time zone {name!r}", timeZone=name)


def order_day(calendar: CalendarItem, order_id: str, zone: ZoneInfo) -> tuple[int, int] | Problem:
    """(start, end) in epoch milliseconds of the order's day, or a problem when the id says no day."""
    match = re.fullmatch(calendar.order_id_pattern, order_id)  # Scala's Regex.unapplySeq: the whole id
    if match is None:
        return problem(
            "OrderIdDoesNotMatchCalendar",
            f"Order:{order_id} does not match the pattern defined in Calendar:{calendar.path}",
            orderId=order_id,
            calendar=calendar.path,
        )
    compiled = _compile_date_pattern(calendar.period_date_pattern)
    if isinstance(compiled, Problem):
        return compiled
    day = _parse_date(compiled, match.group(1))
    if isinstance(day, Problem):
        return problem(day.code, f"Order:{order_id}: {day.message}", orderId=order_id, calendar=calendar.path)
    start = _local_to_epoch_ms(day, calendar.date_offset_s, zone)
    end = _local_to_epoch_ms(day + timedelta(days=1), calendar.date_offset_s, zone)
    return start, end


def _local_to_epoch_ms(day: date, seconds: int, zone: ZoneInfo) -> int:
    # Wall clock with fold=0: a time in a gap is pushed on by the gap, in an overlap the earlier offset
    # is taken: what Java's LocalDateTime.atZone and ZonedDateTime.plusDays do.
    local = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(seconds=seconds)
    return (local - _EPOCH) // timedelta(milliseconds=1)


# -- Java DateTimeFormatter date patterns (parsing only) ---------------------------------------------
# A compiled pattern is a list of parts: a literal string, or (letter, count) for a numeric field.
_Part = str | tuple[str, int]
_FIXED_WIDTH = {("M", 2): 2, ("d", 2): 2, ("D", 3): 3, ("y", 2): 2, ("u", 2): 2}
_MONTH_NAMES = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]


def _compile_date_pattern(pattern: str) -> list[_Part] | Problem:
    """The parts of a date pattern: y/u (year), M (month, also MMM/MMMM names), d (day of month),
    D (day of year), quoted literals and other non-letters. Other letters (times, zones, week fields)
    mean nothing for a day and are refused, so that a pattern never silently means something else."""
    parts: list[_Part] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "'":
            end = i + 1
            text = []
            while True:
                if end >= len(pattern):
                    return problem("InvalidCalendarPattern", f"Unterminated quote in date pattern {pattern!r}")
                if pattern[end] == "'":
                    if end + 1 < len(pattern) and pattern[end + 1] == "'":
                        text.append("'")
                        end += 2
                        continue
                    break
                text.append(pattern[end])
                end += 1
            parts.append("'" if end == i + 1 else "".join(text))
            i = end + 1
        elif c.isascii() and c.isalpha():
            count = 1
            while i + count < len(pattern) and pattern[i + count] == c:
                count += 1
            valid = {"y": 19, "u": 19, "M": 4, "L": 4, "d": 2, "D": 3}
            if c not in valid or count > valid[c]:
                return problem("InvalidCalendarPattern", f"Date pattern {pattern!r}: {c * count!r} is not a date field")
            parts.append(("M" if c == "L" else c, count))
            i += count
        elif c in "[]{}#":
            return problem("InvalidCalendarPattern", f"Date pattern {pattern!r}: {c!r} is not supported")
        else:
            parts.append(c)
            i += 1
    letters = {p[0] for p in parts if isinstance(p, tuple)}
    if not ({"y", "u"} & letters and ("D" in letters or {"M", "d"} <= letters)):
        return problem("InvalidCalendarPattern", f"Date pattern {pattern!r} does not name a whole date")
    return parts


def _widths(letter: str, count: int) -> tuple[int, int]:
    """The least and most digits of a numeric field (Java's DateTimeFormatterBuilder.parsePattern)."""
    fixed = _FIXED_WIDTH.get((letter, count))
    if fixed is not None:
        return fixed, fixed
    if letter in "yu":
        return count, 19
    if letter in "Md":
        return 1, 2
    return count, 3  # D


def _parse_date(parts: list[_Part], text: str) -> date | Problem:
    """Java's parse with the SMART resolver: numbers of the pattern's widths (a variable width field
    leaves the digits of the fixed width fields right after it), day of month clamped to the month."""
    values: dict[str, int] = {}
    at = 0

    def bad() -> Problem:
        return problem("InvalidOrderDate", f"Text {text!r} could not be parsed at index {at}")

    for n, part in enumerate(parts):
        if isinstance(part, str):
            if not text.startswith(part, at):
                return bad()
            at += len(part)
            continue
        letter, count = part
        if letter == "M" and count >= 3:
            for number, name in enumerate(_MONTH_NAMES, 1):
                token = name if count == 4 else name[:3]
                if text[at : at + len(token)].lower() == token:
                    values["M"] = number
                    at += len(token)
                    break
            else:
                return bad()
            continue
        min_width, max_width = _widths(letter, count)
        reserved = 0
        for following in parts[n + 1 :]:  # Java's adjacent value parsing
            if isinstance(following, str) or following not in _FIXED_WIDTH:
                break
            reserved += _FIXED_WIDTH[following]
        digits = 0
        while at + digits < len(text) and text[at + digits].isascii() and text[at + digits].isdigit():
            digits += 1
        width = min(digits - reserved, max_width)
        if width < min_width:
            return bad()
        value = int(text[at : at + width])
        if letter in "yu" and count == 2:
            value += 2000  # Java's reduced two-digit year, base 2000
        values["y" if letter == "u" else letter] = value
        at += width
    if at != len(text):
        return bad()
    try:
        if "D" in values:
            first = date(values["y"], 1, 1)
            day_of_year = first + timedelta(days=values["D"] - 1)
            return day_of_year if values["D"] >= 1 and day_of_year.year == first.year else bad()
        year, month, day = values["y"], values["M"], values["d"]
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return bad()
        for clamped in range(day, 27, -1):  # SMART: the 31st of April is the 30th
            try:
                return date(year, month, clamped)
            except ValueError:
                continue
        return date(year, month, day)
    except (ValueError, OverflowError):
        return bad()
