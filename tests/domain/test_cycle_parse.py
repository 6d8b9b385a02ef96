"""Reading the Cycle and Break instructions and a workflow's timeZone/calendarPath (JS7's CycleTest,
ScheduleTest, BreakTest and Workflow.checkCalendar/checkBreak)."""

from __future__ import annotations

from typing import Any

import pytest

from js7es.domain.problem import Problem
from js7es.domain.workflow.instructions import Break, Cycle, ImplicitEnd
from js7es.domain.workflow.parse import parse_workflow
from js7es.domain.workflow.schedule import Continuous, Periodic, Ticking, parse_schedule, schedule_to_json
from js7es.domain.workflow.workflow import Workflow

# JS7's ScheduleTester.schedule, as js7-data/.../instructions/CycleTest.scala writes it
JS7_SCHEDULE: dict[str, Any] = {
    "schemes": [
        {
            "admissionTimeScheme": {
                "periods": [
                    {"TYPE": "DailyPeriod", "secondOfDay": 32400, "duration": 4800},
                    {"TYPE": "DailyPeriod", "duration": 960, "secondOfDay": 43200},
                ]
            },
            "repeat": {"TYPE": "Periodic", "offsets": [600, 900, 1200], "period": 3600},
        },
        {
            "admissionTimeScheme": {
                "periods": [
                    {"TYPE": "WeekdayPeriod", "secondOfWeek": 93600, "duration": 3600},
                    {"TYPE": "WeekdayPeriod", "secondOfWeek": 446400, "duration": 3600},
                ]
            },
            "repeat": {"TYPE": "Ticking", "interval": 1200},
        },
        {
            "admissionTimeScheme": {"periods": [{"TYPE": "WeekdayPeriod", "duration": 1800, "secondOfWeek": 590400}]},
            "repeat": {"TYPE": "Continuous", "pause": 60, "limit": 3},
        },
        {
            "admissionTimeScheme": {"periods": [{"TYPE": "WeekdayPeriod", "duration": 1800, "secondOfWeek": 583200}]},
            "repeat": {"TYPE": "Continuous", "pause": 300},
        },
    ]
}


def workflow(*instructions: dict[str, Any], **fields: Any) -> Workflow | Problem:
    return parse_workflow({"path": "W", "calendarPath": "CALENDAR", "instructions": list(instructions), **fields})


def cycle(*instructions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"TYPE": "Cycle", "schedule": JS7_SCHEDULE, "cycleWorkflow": {"instructions": list(instructions)}, **fields}


def test_js7s_cycle_json_reads_and_writes_back() -> None:
    parsed = workflow(cycle(onlyOnePeriod=True), timeZone="Europe/Mariehamn")
    assert isinstance(parsed, Workflow), parsed
    instruction = parsed.instructions.instructions[0]
    assert isinstance(instruction, Cycle)
    assert instruction.only_one_period is True
    assert [type(s.repeat) for s in instruction.schedule.schemes] == [Periodic, Ticking, Continuous, Continuous]
    assert instruction.schedule.schemes[0].repeat == Periodic(
        period_ms=3600_000, offsets_ms=(600_000, 900_000, 1200_000)
    )
    assert instruction.schedule.schemes[2].repeat == Continuous(pause_ms=60_000, limit=3)
    assert schedule_to_json(instruction.schedule) == JS7_SCHEDULE
    assert (parsed.time_zone, parsed.calendar_path) == ("Europe/Mariehamn", "CALENDAR")


def test_the_shortest_cycle_and_the_defaults() -> None:
    """JS7's CycleTest: schedule without schemes, onlyOnePeriod false; the workflow's zone is UTC."""
    parsed = workflow({"TYPE": "Cycle", "schedule": {"schemes": []}, "cycleWorkflow": {"instructions": []}})
    assert isinstance(parsed, Workflow), parsed
    instruction = parsed.instructions.instructions[0]
    assert isinstance(instruction, Cycle) and instruction.only_one_period is False
    assert instruction.schedule.schemes == ()
    assert parsed.time_zone == "UTC"


def test_positions_in_a_cycle_with_and_without_the_cycle_state() -> None:
    parsed = workflow(cycle({"TYPE": "Break"}))
    assert isinstance(parsed, Workflow), parsed
    assert isinstance(parsed.instruction((0, "cycle", 0)), Break)
    assert isinstance(parsed.instruction((0, "cycle+end=1633143600000,i=2", 0)), Break)
    assert isinstance(parsed.instruction((0, "cycle+end=1633143600000,i=2", 1)), ImplicitEnd)
    assert parsed.instruction((0, "cyclic", 0)) is None
    assert [p for p, _ in parsed.positions()] == [(0,), (0, "cycle", 0), (0, "cycle", 1), (1,)]


@pytest.mark.parametrize(
    ("repeat", "message"),
    [  # JS7's ScheduleTest
        ({"TYPE": "Periodic", "period": 3600, "offsets": []}, "Invalid Periodic arguments"),
        ({"TYPE": "Periodic", "period": 3600, "offsets": [3600]}, "Invalid Periodic arguments"),
        ({"TYPE": "Periodic", "period": 3600, "offsets": [-1]}, "Invalid Periodic arguments"),
        ({"TYPE": "Periodic", "period": 3600, "offsets": [1, 1]}, "Invalid Periodic arguments"),
        ({"TYPE": "Periodic", "period": 0, "offsets": [0]}, "Invalid Periodic arguments"),
        ({"TYPE": "Ticking", "interval": -1}, "Invalid Ticking arguments"),
        ({"TYPE": "Ticking", "interval": 0}, "Invalid Ticking arguments"),
        ({"TYPE": "Continuous"}, "Continuous: limit or pause must be set"),
        ({"TYPE": "Continuous", "pause": 0}, "Continuous: limit or pause must be set"),
        ({"TYPE": "Continuous", "limit": -1}, "Invalid Continuous arguments"),
        ({"TYPE": "Continuous", "pause": -1}, "Invalid Continuous arguments"),
        ({"TYPE": "Continuous", "pause": "1m"}, "Invalid Continuous arguments"),
        ({"TYPE": "Hourly"}, "Unknown repeat TYPE 'Hourly'"),
    ],
)
def test_bad_repeats_are_refused_with_js7s_message(repeat: dict[str, Any], message: str) -> None:
    schedule = {"schemes": [{"admissionTimeScheme": {"periods": []}, "repeat": repeat}]}
    parsed = parse_schedule(schedule)
    assert isinstance(parsed, Problem) and parsed.code == "InvalidInstruction"
    assert parsed.message.endswith(message), parsed
    refused = workflow({"TYPE": "Cycle", "schedule": schedule, "cycleWorkflow": {"instructions": []}})
    assert isinstance(refused, Problem) and refused.code == "InvalidInstruction"


def test_good_edge_repeats() -> None:
    continuous = parse_schedule(
        {
            "schemes": [
                {"admissionTimeScheme": {"periods": []}, "repeat": {"TYPE": "Continuous", "pause": 0, "limit": 0}}
            ]
        }
    )
    assert not isinstance(continuous, Problem)
    assert continuous.schemes[0].repeat == Continuous(pause_ms=0, limit=0)
    # JS7 sorts the offsets and wants one of them within the period (Periodic.checked)
    periodic = parse_schedule(
        {
            "schemes": [
                {
                    "admissionTimeScheme": {"periods": []},
                    "repeat": {"TYPE": "Periodic", "period": 60, "offsets": [30.5, 0]},
                }
            ]
        }
    )
    assert not isinstance(periodic, Problem)
    assert periodic.schemes[0].repeat == Periodic(period_ms=60_000, offsets_ms=(0, 30_500))
    assert schedule_to_json(periodic)["schemes"][0]["repeat"]["offsets"][1] == pytest.approx(30.5)


@pytest.mark.parametrize(
    ("obj", "code"),
    [
        ({"path": "W", "instructions": [cycle()]}, "CycleRequiresCalendar"),
        ({"path": "W", "calendarPath": "C", "instructions": [{"TYPE": "Break"}]}, "BreakWithoutCycle"),
        (
            {
                "path": "W",
                "calendarPath": "C",
                "instructions": [
                    cycle(
                        {"TYPE": "Fork", "branches": [{"id": "a", "workflow": {"instructions": [{"TYPE": "Break"}]}}]}
                    )
                ],
            },
            "BreakWithoutCycle",
        ),
        (
            {"path": "W", "calendarPath": "C", "instructions": [cycle({"TYPE": "Break"}, {"TYPE": "Break"})]},
            "UnreachableInstruction",
        ),
        (
            {
                "path": "W",
                "calendarPath": "C",
                "instructions": [{"TYPE": "Cycle", "cycleWorkflow": {"instructions": []}}],
            },
            "InvalidInstruction",
        ),
        ({"path": "W", "calendarPath": "C", "instructions": [cycle(onlyOnePeriod="yes")]}, "InvalidInstruction"),
        ({"path": "W", "timeZone": "Mars/Olympus_Mons", "instructions": []}, "UnknownTimeZone"),
        ({"path": "W", "timeZone": "", "instructions": []}, "UnknownTimeZone"),
        ({"path": "W", "calendarPath": "a b", "instructions": []}, "InvalidWorkflow"),
    ],
)
def test_bad_workflows_are_refused(obj: dict[str, Any], code: str) -> None:
    result = parse_workflow(obj)
    assert isinstance(result, Problem) and result.code == code, result


def test_break_in_an_if_or_try_inside_a_cycle_is_fine() -> None:
    parsed = workflow(
        cycle(
            {"TYPE": "If", "predicate": "true", "then": {"instructions": [{"TYPE": "Break"}]}},
            {"TYPE": "Try", "try": {"instructions": [{"TYPE": "Break"}]}, "catch": {"instructions": []}},
        )
    )
    assert isinstance(parsed, Workflow), parsed
    assert isinstance(parsed.instruction((0, "cycle", 0, "then", 0)), Break)


def test_a_bad_admission_time_scheme_is_refused() -> None:
    bad = {
        "schemes": [
            {
                "admissionTimeScheme": {"periods": [{"TYPE": "DailyPeriod", "secondOfDay": -1, "duration": 60}]},
                "repeat": {"TYPE": "Ticking", "interval": 60},
            }
        ]
    }
    result = workflow({"TYPE": "Cycle", "schedule": bad, "cycleWorkflow": {"instructions": []}})
    assert isinstance(result, Problem) and result.code == "InvalidAdmissionTimeScheme", result
