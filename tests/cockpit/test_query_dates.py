"""JOC's date filters (queries/dates.py): absolute, relative, time zones, and refusals instead of crashes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from js7es.projections.cockpit.queries.dates import DateError, into_past, parse_date

NOW = int(datetime(2026, 12, 6, 9, 31, 34, tzinfo=UTC).timestamp() * 1000)


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "date_to", "zone", "expected"),
    [
        ("2026-12-01T10:00:00Z", False, None, ms(2026, 12, 1, 10)),
        ("2026-12-01 10:00:00", False, "Europe/Berlin", ms(2026, 12, 1, 9)),
        ("2026-12-01T10:00:00+02:00", False, None, ms(2026, 12, 1, 8)),
        ("-1h", False, None, NOW - 3600_000),
        ("0d", False, None, ms(2026, 12, 6)),
        ("0d", True, None, ms(2026, 12, 7)),  # a relative dateTo is the exclusive end of its day
        ("-1d", False, None, ms(2026, 12, 5)),
        ("0M", False, None, ms(2026, 12, 1)),
        ("now", False, None, NOW),
        ("", False, None, None),
    ],
)
def test_joc_date_forms(text: str, date_to: bool, zone: str | None, expected: int | None) -> None:
    assert parse_date(text, date_to=date_to, time_zone=zone, now_ms=NOW) == expected


def test_positive_relative_dates_look_back_in_the_history_filters() -> None:
    assert into_past("1d") == "-1d"
    assert into_past("-1d") == "-1d"
    assert into_past("2026-12-01T10:00:00Z") == "2026-12-01T10:00:00Z"


@pytest.mark.parametrize("text", ["yesterday", "12:00", "-30000000M", "-99999999y", "2026-13-45T99:00:00Z"])
def test_what_is_no_date_is_refused_with_date_error(text: str) -> None:
    """Found by schemathesis: months beyond the calendar crashed with an AssertionError (a 500)."""
    with pytest.raises((DateError, ValueError, OverflowError)):
        parse_date(text, date_to=False, time_zone=None, now_ms=NOW)
