"""Calendars: JOC's JSON parsed into typed values, and their dates per frequency, hand-checked."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.calendar import Calendar, CalendarType, dates, joc_weekday, parse_calendar
from js7es.domain.problem import Problem, orthrow

SAMPLES = Path(__file__).parent / "calendar_samples"
JS7_SAMPLE = Path(__file__).parents[1] / "fixtures" / "js7-samples" / "jocDailyPlan.calendar.json"


def calendar(includes: dict[str, Any], excludes: dict[str, Any] | None = None, **fields: Any) -> Calendar:
    obj = {"type": "WORKINGDAYSCALENDAR", "includes": includes, **fields}
    if excludes is not None:
        obj["excludes"] = excludes
    return orthrow(parse_calendar(obj))


def resolved(cal: Calendar, start: str, end: str, **kwargs: Any) -> list[str]:
    return [
        day.isoformat() for day in orthrow(dates(cal, date.fromisoformat(start), date.fromisoformat(end), **kwargs))
    ]


def test_joc_numbers_weekdays_from_sunday() -> None:
    # FrequencyResolver.resolveWeekDays: Calendar.DAY_OF_WEEK - 1, so 0 = Sunday ... 6 = Saturday
    assert [joc_weekday(date(2024, 6, d)) for d in range(2, 9)] == [0, 1, 2, 3, 4, 5, 6]  # 2024-06-02 a Sunday


# (frequencies, start, end, the dates, checked against a printed calendar)
CASES: list[tuple[str, dict[str, Any], str, str, list[str]]] = [
    ("dates", {"dates": ["2024-05-01", "2024-04-30", "2025-01-01"]}, "2024-05-01", "2024-12-31", ["2024-05-01"]),
    (
        "holidays",
        {"holidays": [{"dates": ["2024-12-25"]}, {"dates": ["2024-12-26"]}]},
        "2024-12-01",
        "2024-12-31",
        ["2024-12-25", "2024-12-26"],
    ),
    (
        "weekdays Sat+Sun, 7 = Sunday",
        {"weekdays": [{"days": [6, 7]}]},
        "2024-06-01",
        "2024-06-10",
        ["2024-06-01", "2024-06-02", "2024-06-08", "2024-06-09"],
    ),
    (
        "weekdays own from/to",
        {"weekdays": [{"days": [1], "from": "2024-06-05", "to": "2024-06-30"}]},
        "2024-06-01",
        "2024-07-31",
        ["2024-06-10", "2024-06-17", "2024-06-24"],
    ),
    (
        "monthdays 31 skips short months",
        {"monthdays": [{"days": [31]}]},
        "2024-01-01",
        "2024-06-30",
        ["2024-01-31", "2024-03-31", "2024-05-31"],
    ),
    (
        "monthdays 2nd Tuesday",
        {"monthdays": [{"weeklyDays": [{"day": 2, "weekOfMonth": 2}]}]},
        "2024-01-01",
        "2024-04-30",
        ["2024-01-09", "2024-02-13", "2024-03-12", "2024-04-09"],
    ),
    (
        "monthdays 5th Friday exists only sometimes",
        {"monthdays": [{"weeklyDays": [{"day": 5, "weekOfMonth": 5}]}]},
        "2024-01-01",
        "2024-06-30",
        ["2024-03-29", "2024-05-31"],
    ),
    (
        "ultimos 1 = last day, leap February",
        {"ultimos": [{"days": [1]}]},
        "2024-01-01",
        "2024-04-30",
        ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30"],
    ),
    (
        "ultimos 2 = second to last",
        {"ultimos": [{"days": [2]}]},
        "2023-02-01",
        "2023-03-31",
        ["2023-02-27", "2023-03-30"],
    ),
    (
        "ultimos last Friday",
        {"ultimos": [{"weeklyDays": [{"day": 5, "weekOfMonth": 1}]}]},
        "2024-01-01",
        "2024-03-31",
        ["2024-01-26", "2024-02-23", "2024-03-29"],
    ),
    (
        "repetition daily step 3 counted from its from",
        {"repetitions": [{"repetition": "DAILY", "step": 3, "from": "2024-01-01"}]},
        "2024-01-05",
        "2024-01-15",
        ["2024-01-07", "2024-01-10", "2024-01-13"],
    ),
    (
        "repetition weekly step 2 with to",
        {"repetitions": [{"repetition": "WEEKLY", "step": 2, "from": "2024-01-01", "to": "2024-02-12"}]},
        "2024-01-01",
        "2024-12-31",
        ["2024-01-01", "2024-01-15", "2024-01-29", "2024-02-12"],
    ),
    (
        "repetition monthly from the 31st",
        {"repetitions": [{"repetition": "MONTHLY", "from": "2024-01-31"}]},
        "2024-01-01",
        "2024-05-31",
        ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31"],
    ),
    (
        "repetition yearly from 29 February",
        {"repetitions": [{"repetition": "YEARLY", "from": "2024-02-29"}]},
        "2024-01-01",
        "2028-12-31",
        ["2024-02-29", "2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"],
    ),
    (
        "repetition yearly step 2 before its from",
        {"repetitions": [{"repetition": "YEARLY", "step": 2, "from": "2025-07-01"}]},
        "2024-01-01",
        "2029-12-31",
        ["2025-07-01", "2027-07-01", "2029-07-01"],
    ),
    (
        "months with weekdays",
        {"months": [{"months": [1, 3], "weekdays": [{"days": [1]}]}]},
        "2024-01-01",
        "2024-03-31",
        [
            "2024-01-01",
            "2024-01-08",
            "2024-01-15",
            "2024-01-22",
            "2024-01-29",
            "2024-03-04",
            "2024-03-11",
            "2024-03-18",
            "2024-03-25",
        ],
    ),
    (
        "months with ultimos and own to",
        {"months": [{"months": [2, 4, 6], "to": "2024-05-31", "ultimos": [{"days": [1]}]}]},
        "2024-01-01",
        "2024-12-31",
        ["2024-02-29", "2024-04-30"],
    ),
    (
        "months with repetitions, yearly ignored as in JOC",
        {
            "months": [
                {
                    "months": [2, 3],
                    "repetitions": [
                        {"repetition": "WEEKLY", "step": 4, "from": "2024-01-01"},
                        {"repetition": "YEARLY", "from": "2024-02-01"},
                    ],
                }
            ]
        },
        "2024-01-01",
        "2024-06-30",
        ["2024-02-26", "2024-03-25"],
    ),
]


@pytest.mark.parametrize(("includes", "start", "end", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_frequency(includes: dict[str, Any], start: str, end: str, expected: list[str]) -> None:
    assert resolved(calendar(includes), start, end) == expected


def test_excludes_remove_and_calendar_from_to_limit() -> None:
    cal = calendar(
        {"weekdays": [{"days": [1, 2, 3, 4, 5]}]},
        {"dates": ["2024-06-05"], "monthdays": [{"days": [7]}]},
        **{"from": "2024-06-04", "to": "2024-06-10"},
    )
    assert resolved(cal, "2024-06-01", "2024-06-30") == ["2024-06-04", "2024-06-06", "2024-06-10"]
    assert resolved(cal, "2024-06-11", "2024-06-30") == []


def test_non_working_day_calendars_remove_their_dates() -> None:
    holidays = calendar({"dates": ["2024-06-05", "2024-06-06"]}, type="NONWORKINGDAYSCALENDAR", to="2024-06-05")
    cal = calendar({"weekdays": [{"days": [3, 4]}]}, {"nonWorkingDayCalendars": ["holidays"]})
    assert resolved(cal, "2024-06-01", "2024-06-13", non_working={"holidays": holidays}) == [
        "2024-06-06",  # the holiday calendar ends on 2024-06-05
        "2024-06-12",
        "2024-06-13",
    ]
    missing = dates(cal, date(2024, 6, 1), date(2024, 6, 13))
    assert isinstance(missing, Problem) and missing.code == "UnknownNonWorkingDayCalendar"


def test_sample_calendars() -> None:
    # businessDays: Monday to Friday in 2024, plus Saturday 2024-03-09; minus the last Friday of March
    # (2024-03-29, also in `holidays`) and minus `holidays`: 2024-01-01, 2024-03-29, 2024-12-25 and the
    # yearly repetition from 2020-05-01, i.e. Wednesday 2024-05-01. 2024 has 262 weekdays (366 days =
    # 52 weeks + Monday and Tuesday), so 262 + 1 - 4 (1 Jan Mon, 29 Mar Fri, 1 May Wed, 25 Dec Wed) = 259.
    business = orthrow(parse_calendar(json.loads((SAMPLES / "businessDays.calendar.json").read_text())))
    holidays = orthrow(parse_calendar(json.loads((SAMPLES / "holidays.calendar.json").read_text())))
    assert holidays.type is CalendarType.NON_WORKING
    result = orthrow(dates(business, date(2023, 1, 1), date(2025, 12, 31), non_working={"holidays": holidays}))
    assert len(result) == 259
    assert result[0] == date(2024, 1, 2) and result[-1] == date(2024, 12, 31)
    assert date(2024, 3, 9) in result
    assert not {date(2024, 3, 29), date(2024, 5, 1), date(2024, 12, 25)} & set(result)
    assert resolved(holidays, "2020-01-01", "2023-12-31") == ["2020-05-01", "2021-05-01", "2022-05-01", "2023-05-01"]


def test_js7_sample_loads_unchanged_and_has_no_dates() -> None:
    # jocDailyPlan.calendar.json is JS7's daily-plan calendar: path, orderIdPattern and periodDatePattern
    # (how an order id names its plan date), no `type` and no frequencies. The inventory files it as a
    # WORKINGDAYSCALENDAR by its suffix (js7es/domain/cockpit/inventory.py), so it loads with that type.
    # With no `includes` it defines no dates: JOC's FrequencyResolver adds dates only from `includes`,
    # so its dates in any range are none.
    text = JS7_SAMPLE.read_text()
    sample = json.loads(text)
    assert set(sample) == {"path", "orderIdPattern", "periodDatePattern"}
    cal = orthrow(parse_calendar(sample, type=CalendarType.WORKING))
    assert json.loads(text) == sample  # read, not changed
    assert cal.type is CalendarType.WORKING and cal.path == "jocDailyPlan"
    assert dates(cal, date(2020, 1, 1), date(2030, 12, 31)) == ()
    refused = parse_calendar(sample)  # without the type the inventory knows, nothing says what it is
    assert isinstance(refused, Problem)
    assert (refused.code, refused.arguments["where"]) == ("InvalidCalendar", "$.type")
    typed = orthrow(parse_calendar({**sample, "type": "NONWORKINGDAYSCALENDAR"}, type=CalendarType.WORKING))
    assert typed.type is CalendarType.NON_WORKING  # the JSON's own type wins


MALFORMED: list[tuple[Any, str]] = [
    ([], "$"),
    ({"type": "WORKDAYS"}, "$.type"),
    ({"type": "WORKINGDAYSCALENDAR", "from": "2024-1-1"}, "$.from"),
    ({"type": "WORKINGDAYSCALENDAR", "to": "2024-02-30"}, "$.to"),
    ({"type": "WORKINGDAYSCALENDAR", "includes": []}, "$.includes"),
    ({"type": "WORKINGDAYSCALENDAR", "includes": {"dates": "2024-01-01"}}, "$.includes.dates"),
    ({"type": "WORKINGDAYSCALENDAR", "includes": {"weekdays": [{"days": []}]}}, "$.includes.weekdays[0].days"),
    ({"type": "WORKINGDAYSCALENDAR", "includes": {"weekdays": [{"days": [8]}]}}, "$.includes.weekdays[0].days[0]"),
    ({"type": "WORKINGDAYSCALENDAR", "includes": {"weekdays": [{"days": [True]}]}}, "$.includes.weekdays[0].days[0]"),
    ({"type": "WORKINGDAYSCALENDAR", "includes": {"monthdays": [{"days": [0]}]}}, "$.includes.monthdays[0].days[0]"),
    (
        {"type": "WORKINGDAYSCALENDAR", "excludes": {"ultimos": [{"weeklyDays": [{"day": 1, "weekOfMonth": 6}]}]}},
        "$.excludes.ultimos[0].weeklyDays[0].weekOfMonth",
    ),
    ({"type": "WORKINGDAYSCALENDAR", "includes": {"months": [{"months": [13]}]}}, "$.includes.months[0].months[0]"),
    (
        {"type": "WORKINGDAYSCALENDAR", "includes": {"repetitions": [{"repetition": "HOURLY", "from": "2024-01-01"}]}},
        "$.includes.repetitions[0].repetition",
    ),
    (
        {"type": "WORKINGDAYSCALENDAR", "includes": {"repetitions": [{"repetition": "DAILY"}]}},
        "$.includes.repetitions[0].from",
    ),
    (
        {
            "type": "WORKINGDAYSCALENDAR",
            "includes": {"repetitions": [{"repetition": "DAILY", "step": 0, "from": "2024-01-01"}]},
        },
        "$.includes.repetitions[0].step",
    ),
    (
        {"type": "WORKINGDAYSCALENDAR", "includes": {"holidays": [{"dates": [20240101]}]}},
        "$.includes.holidays[0].dates[0]",
    ),
    (
        {"type": "WORKINGDAYSCALENDAR", "excludes": {"nonWorkingDayCalendars": [""]}},
        "$.excludes.nonWorkingDayCalendars[0]",
    ),
]


@pytest.mark.parametrize(("obj", "where"), MALFORMED, ids=[m[1] for m in MALFORMED])
def test_malformed_is_a_problem(obj: Any, where: str) -> None:
    refused = parse_calendar(obj)
    assert isinstance(refused, Problem)
    assert (refused.code, refused.arguments["where"]) == ("InvalidCalendar", where)


def test_unknown_fields_ignored_and_empty_window() -> None:
    cal = calendar({"dates": ["2024-01-01"]}, title="t", documentationName="d", version="1.5.0")
    assert resolved(cal, "2024-01-01", "2024-01-01") == ["2024-01-01"]
    assert resolved(cal, "2024-01-02", "2024-01-01") == []
    assert dates(cal, date(2024, 1, 1), date(2024, 1, 1) - timedelta(days=1)) == ()
