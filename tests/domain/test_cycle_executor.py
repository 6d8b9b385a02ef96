"""The Cycle instruction with a clock the test controls: JS7's CycleExecutorTest and ScheduleTester
expectations, and cycles over a day checked against a zoneinfo brute-force oracle."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from js7es.domain.commands.items import UpdateItems
from js7es.domain.order.context import Context
from js7es.domain.order.cycle import CycleState
from js7es.domain.order.event_source import next_events
from js7es.domain.order.events import (
    OrderAdded,
    OrderCycleFinished,
    OrderCycleStarted,
    OrderCyclingPrepared,
    OrderEvent,
    OrderFailed,
    OrderFinished,
    OrderMoved,
    OrderOutcomeAdded,
    OrderStarted,
)
from js7es.domain.order.states import BetweenCycles, Failed, Finished, Ready
from js7es.domain.problem import orthrow
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json
from tests.domain.simulator import Simulator

MARIEHAMN = ZoneInfo("Europe/Mariehamn")  # JS7's CycleExecutorTest zone
BERLIN = ZoneInfo("Europe/Berlin")
MINUTE = 60_000
HOUR = 60 * MINUTE


def local(text: str, zone: ZoneInfo = MARIEHAMN) -> int:
    return (datetime.fromisoformat(text).replace(tzinfo=zone) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        milliseconds=1
    )


def daily(start: str, hours: float) -> dict[str, Any]:
    h, m = map(int, start.split(":"))
    return {"TYPE": "DailyPeriod", "secondOfDay": h * 3600 + m * 60, "duration": int(hours * 3600)}


def weekday(day: int, start: str, hours: float) -> dict[str, Any]:
    """day: 1 = Monday … 7 = Sunday."""
    h, m = map(int, start.split(":"))
    return {
        "TYPE": "WeekdayPeriod",
        "secondOfWeek": (day - 1) * 86400 + h * 3600 + m * 60,
        "duration": int(hours * 3600),
    }


def scheme(periods: list[dict[str, Any]], repeat: dict[str, Any]) -> dict[str, Any]:
    return {"admissionTimeScheme": {"periods": periods}, "repeat": repeat}


ALL_DAY = [daily("00:00", 24)]

# JS7's ScheduleTester.schedule (business day from 06:00, Europe/Mariehamn)
JS7_SCHEMES = [
    scheme(
        [daily("09:00", 1 + 20 / 60), daily("12:00", 16 / 60)],
        {"TYPE": "Periodic", "period": 3600, "offsets": [600, 900, 1200]},
    ),
    scheme([weekday(2, "02:00", 1), weekday(6, "04:00", 1)], {"TYPE": "Ticking", "interval": 1200}),
    scheme([weekday(7, "20:00", 0.5)], {"TYPE": "Continuous", "limit": 3, "pause": 60}),
    scheme([weekday(7, "18:00", 0.5)], {"TYPE": "Continuous", "pause": 300}),
]


class Stepper:
    """One order through a workflow whose first instruction is the Cycle; `step` decides once."""

    def __init__(
        self,
        order_id: str,
        schemes: list[dict[str, Any]],
        now_ms: int,
        *,
        zone: ZoneInfo = MARIEHAMN,
        date_offset_s: int = 6 * 3600,
        only_one_period: bool = False,
        block: list[dict[str, Any]] | None = None,
    ) -> None:
        self.now_ms = now_ms
        self.sim = Simulator(now_ms=now_ms)
        calendar = {
            "TYPE": "Calendar",
            "path": "CALENDAR",
            "dateOffset": date_offset_s,
            "orderIdPattern": "#([^#]+)#.*",
            "periodDatePattern": "yyyy-MM-dd",
        }
        orthrow(
            self.sim.command(
                UpdateItems(operations=(value_from_json({"TYPE": "AddOrChangeSimple", "item": calendar}),))
            )
        )
        cycle = {
            "TYPE": "Cycle",
            "schedule": {"schemes": schemes},
            "cycleWorkflow": {"instructions": block or []},
            "onlyOnePeriod": only_one_period,
        }
        self.sim.deploy({"path": "W", "timeZone": zone.key, "calendarPath": "CALENDAR", "instructions": [cycle]})
        workflow = self.sim.state.current_workflow("W")
        assert workflow is not None
        assert self.state.apply_event(order_id, OrderAdded(workflow_id=workflow.id)) is None  # without stepping
        self.order_id = order_id
        assert self.step() == [OrderStarted()]

    @property
    def state(self) -> ControllerState:
        return self.sim.state

    @property
    def order(self) -> Any:
        return self.state.orders[self.order_id]

    def step(self) -> list[OrderEvent]:
        events = next_events(self.state, self.order_id, Context(now_ms=self.now_ms))
        for event in events:
            assert self.state.apply_event(self.order_id, event) is None, event
        return events

    def cycle_starts(self, cycle_duration_ms: int = 0) -> list[int]:
        """JS7's CycleExecutorTest.testCycle: run until Finished, the block taking cycle_duration_ms."""
        starts = []
        for _ in range(10_000):
            if isinstance(self.order.state, Finished):
                return starts
            events = self.step()
            assert events, f"no event at {self.now_ms} in {self.order}"
            if any(isinstance(e, OrderCycleStarted) for e in events):
                starts.append(self.now_ms)
                self.now_ms += cycle_duration_ms
            elif isinstance(self.order.state, BetweenCycles):
                cycle_state = self.order.state.cycle_state
                if cycle_state is not None and cycle_state.next > self.now_ms:
                    self.now_ms = cycle_state.next
        raise AssertionError("the order did not finish")


def test_a_cycle_without_schemes_is_skipped() -> None:
    stepper = Stepper("#2021-10-01#", [], local("2021-10-01T00:00"))
    assert stepper.step() == [OrderMoved(to=(1,))]
    assert stepper.step() == [OrderFinished()]


def test_loop_with_time_limit_and_pause() -> None:
    """JS7's CycleExecutorTest "Loop with TimeLimit and Pause"."""
    stepper = Stepper(
        "#2021-10-01#",
        [scheme([daily("09:00", 3)], {"TYPE": "Continuous", "pause": 3600})],
        local("2021-10-01T00:30"),
    )
    first = CycleState(end=local("2021-10-02T06:00"), index=1, next=local("2021-10-01T09:00"))
    assert first.end == 1633143600000
    assert stepper.step() == [OrderCyclingPrepared(cycle_state=first)]
    assert stepper.step() == []
    stepper.now_ms = local("2021-10-01T09:00")
    for i in (1, 2, 3):
        assert stepper.step() == [OrderCycleStarted()]
        assert stepper.order.position == (0, f"cycle+end=1633143600000,i={i},next={stepper.now_ms}", 0)
        following = replace(first, index=i + 1, next=stepper.now_ms + HOUR) if i < 3 else None
        assert stepper.step() == [OrderCycleFinished(cycle_state=following)]
        assert stepper.order.state == BetweenCycles(cycle_state=following)
        if following is not None:
            assert stepper.step() == []
            stepper.now_ms += HOUR
    assert stepper.step() == [OrderMoved(to=(1,))]


def test_only_one_first_cycle_js_2012() -> None:
    """JS7's CycleExecutorTest "Only one first cycle (bug JS-2012)": arriving at 08:10, Ticking 1h."""
    stepper = Stepper(
        "#2022-08-13#", [scheme(ALL_DAY, {"TYPE": "Ticking", "interval": 3600})], local("2022-08-13T08:10")
    )
    end = local("2022-08-14T06:00")
    assert stepper.step() == [
        OrderCyclingPrepared(cycle_state=CycleState(end=end, index=1, next=local("2022-08-13T08:00")))
    ]
    assert stepper.step() == [OrderCycleStarted()]
    assert stepper.step() == [
        OrderCycleFinished(cycle_state=CycleState(end=end, index=2, next=local("2022-08-13T09:00")))
    ]
    assert stepper.step() == []
    stepper.now_ms = local("2022-08-13T09:00")
    assert stepper.step() == [OrderCycleStarted()]
    assert stepper.step() == [
        OrderCycleFinished(cycle_state=CycleState(end=end, index=3, next=local("2022-08-13T10:00")))
    ]


def test_second_cycling_prepared_due_to_late_continuation() -> None:
    """JS7's CycleExecutorTest "Second OrderCyclingPrepared due to late continuation"."""
    schemes = [
        scheme([daily("07:00", 1)], {"TYPE": "Ticking", "interval": 900}),
        scheme([daily("12:00", 1)], {"TYPE": "Periodic", "period": 3600, "offsets": [1200]}),
    ]
    stepper = Stepper("#2021-10-01#", schemes, local("2021-10-01T07:31"))
    end = local("2021-10-02T06:00")
    assert stepper.step() == [
        OrderCyclingPrepared(cycle_state=CycleState(end=end, index=1, next=local("2021-10-01T07:30")))
    ]
    assert stepper.step() == [OrderCycleStarted()]
    assert stepper.step() == [
        OrderCycleFinished(cycle_state=CycleState(end=end, index=2, next=local("2021-10-01T07:45")))
    ]
    stepper.now_ms = local("2021-10-01T08:00")  # the end of the admission period
    assert stepper.step() == [
        OrderCyclingPrepared(cycle_state=CycleState(end=end, scheme_index=1, index=1, next=local("2021-10-01T12:20")))
    ]


def test_missed_ticks_are_skipped() -> None:
    """JS7's ScheduleCalculator.onNextCycleIsDue: a Ticking cycle due long ago starts at once, its
    missed ticks added to `next` (OrderCycleStarted.skipped)."""
    stepper = Stepper(
        "#2021-10-01#", [scheme([daily("07:00", 2)], {"TYPE": "Ticking", "interval": 900})], local("2021-10-01T07:00")
    )
    assert isinstance(stepper.step()[0], OrderCyclingPrepared)
    assert stepper.step() == [OrderCycleStarted()]
    assert isinstance(stepper.step()[0], OrderCycleFinished)
    assert stepper.order.state.cycle_state.next == local("2021-10-01T07:15")
    stepper.now_ms = local("2021-10-01T07:50")  # e.g. the Controller was down
    assert stepper.step() == [OrderCycleStarted(skipped=1800.0)]
    assert stepper.order.position[1] == f"cycle+end={local('2021-10-02T06:00')},i=2,next={local('2021-10-01T07:45')}"


# JS7's ScheduleTester: (first day, minutes a cycle takes, the expected cycle start times), the start
# of a cycle being max(the time the test waited for, the cycle state's next) as CycleExecutorTest does.
STANDARD = [
    ("2021-10-04", 0, "10-04T09:10 09:15 09:20 10:10 10:15 12:10 12:15 10-05T02:00 02:20 02:40"),
    ("2021-10-05", 0, "10-05T09:10 09:15 09:20 10:10 10:15 12:10 12:15"),
    ("2021-10-06", 0, "10-06T09:10 09:15 09:20 10:10 10:15 12:10 12:15"),
    ("2021-10-07", 0, "10-07T09:10 09:15 09:20 10:10 10:15 12:10 12:15"),
    ("2021-10-08", 0, "10-08T09:10 09:15 09:20 10:10 10:15 12:10 12:15 10-09T04:00 04:20 04:40"),
    ("2021-10-09", 0, "10-09T09:10 09:15 09:20 10:10 10:15 12:10 12:15"),
    (
        "2021-10-10",
        0,
        "10-10T09:10 09:15 09:20 10:10 10:15 12:10 12:15 18:00 18:05 18:10 18:15 18:20 18:25 20:00 20:01 20:02",
    ),
    ("2021-10-10", 3, "10-10T09:10 09:15 09:20 10:10 10:15 12:10 12:15 18:00 18:08 18:16 18:24 20:00 20:04 20:08"),
    ("2021-10-10", 6, "10-10T09:10 09:16 09:22 10:10 10:16 12:10 18:00 18:11 18:22 20:00 20:07 20:14"),
    ("2021-10-10", 11, "10-10T09:10 09:21 10:10 12:10 18:00 18:16 20:00 20:12 20:24"),
]
ONLY_ONE_PERIOD = [  # the order arrives at 17:00
    ("2023-07-03", 0, "07-04T02:00 02:20 02:40"),
    ("2023-07-04", 0, ""),
    ("2023-07-05", 0, ""),
    ("2023-07-06", 0, ""),
    ("2023-07-07", 0, "07-08T04:00 04:20 04:40"),
    ("2023-07-08", 0, ""),
    ("2023-07-09", 0, "07-09T18:00 18:05 18:10 18:15 18:20 18:25"),
    ("2023-07-09", 3, "07-09T18:00 18:08 18:16 18:24"),
    ("2023-07-09", 6, "07-09T18:00 18:11 18:22"),
    ("2023-07-09", 11, "07-09T18:00 18:16"),
]


def _times(year: str, text: str) -> list[int]:
    result, day = [], ""
    for part in text.split():
        if "T" in part:
            day, part = part.split("T")
        result.append(local(f"{year}-{day}T{part}"))
    return result


@pytest.mark.parametrize(("day", "minutes", "expected"), STANDARD)
def test_js7_schedule_tester_standard(day: str, minutes: int, expected: str) -> None:
    stepper = Stepper(f"#{day}#", JS7_SCHEMES, local(f"{day}T06:00"))
    assert stepper.cycle_starts(minutes * MINUTE) == _times(day[:4], expected)


@pytest.mark.parametrize(("day", "minutes", "expected"), ONLY_ONE_PERIOD)
def test_js7_schedule_tester_only_one_period(day: str, minutes: int, expected: str) -> None:
    stepper = Stepper(f"#{day}#", JS7_SCHEMES, local(f"{day}T17:00"), only_one_period=True)
    assert stepper.cycle_starts(minutes * MINUTE) == _times(day[:4], expected)


def _oracle(day: date, zone: ZoneInfo, start: str, hours: int, minutes: set[int], arrival_ms: int) -> list[int]:
    """Each local wall-clock slot of the day (a minute in `minutes` of each hour) once, at the first
    instant whose wall clock shows it or a later time (a slot that a spring-forward gap skips starts when
    the gap ends), found by stepping through the day minute by minute; admitted when it lies in the
    admission period (from the local start, `hours` of real time) and in the order's day; a slot missed
    before the order arrived is made up for once, at the arrival (JS7: the latest missed slot at once)."""
    first = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000 - 16 * HOUR
    shown = [
        (datetime.fromtimestamp(ms / 1000, zone).replace(tzinfo=None), ms)
        for ms in range(first, first + 64 * HOUR, MINUTE)
    ]

    def instant(wall: datetime) -> int:
        return min(ms for shown_wall, ms in shown if shown_wall >= wall)

    midnight = datetime(day.year, day.month, day.day)
    window_start = instant(midnight + timedelta(hours=int(start[:2])))
    window_end = min(window_start + hours * HOUR, instant(midnight + timedelta(days=1)))
    slots = [midnight + timedelta(minutes=m) for m in range(24 * 60) if m % 60 in minutes]
    due = sorted({t for t in map(instant, slots) if window_start <= t < window_end})
    late = [t for t in due if t <= arrival_ms]
    return ([arrival_ms] if late else []) + [t for t in due if t > arrival_ms]


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        (BERLIN, date(2024, 6, 12)),
        (BERLIN, date(2024, 3, 31)),  # spring forward 02:00 → 03:00
        (BERLIN, date(2024, 10, 27)),  # fall back 03:00 → 02:00
        (ZoneInfo("America/New_York"), date(2024, 3, 10)),
        (ZoneInfo("America/New_York"), date(2024, 11, 3)),
        (ZoneInfo("Australia/Sydney"), date(2024, 4, 7)),
        (ZoneInfo("Australia/Sydney"), date(2024, 10, 6)),
        (ZoneInfo("Asia/Kolkata"), date(2024, 3, 31)),
    ],
)
@pytest.mark.parametrize("arrival", ["00:00", "10:47"])
def test_periodic_every_half_hour_equals_the_oracle(zone: ZoneInfo, day: date, arrival: str) -> None:
    """At :00 and :30 from 08:00 for 10 hours, and from 00:00 for 24 hours (real hours: on a fall-back
    day the period ends at 23:00): each local slot once; arriving mid-period, the missed slots are not
    made up for but the latest one, at once."""
    for start, hours in (("08:00", 10), ("00:00", 24)):
        arrival_ms = local(f"{day.isoformat()}T{arrival}", zone)
        stepper = Stepper(
            f"#{day.isoformat()}#",
            [scheme([daily(start, hours)], {"TYPE": "Periodic", "period": 3600, "offsets": [0, 1800]})],
            arrival_ms,
            zone=zone,
            date_offset_s=0,
        )
        expected = _oracle(day, zone, start, hours, {0, 30}, arrival_ms)
        assert stepper.cycle_starts() == expected


def test_a_day_in_berlin_from_8_to_18_every_half_hour() -> None:
    stepper = Stepper(
        "#2024-06-12#",
        [scheme([daily("08:00", 10)], {"TYPE": "Periodic", "period": 3600, "offsets": [0, 1800]})],
        local("2024-06-12T00:00", BERLIN),
        zone=BERLIN,
        date_offset_s=0,
    )
    starts = stepper.cycle_starts(5 * MINUTE)
    assert [datetime.fromtimestamp(t / 1000, BERLIN).strftime("%H:%M") for t in starts] == [
        f"{h:02}:{m:02}" for h in range(8, 18) for m in (0, 30)
    ]


def test_continuous_with_a_limit() -> None:
    stepper = Stepper(
        "#2024-06-12#",
        [scheme([daily("09:00", 3)], {"TYPE": "Continuous", "pause": 600, "limit": 3})],
        local("2024-06-12T08:00", BERLIN),
        zone=BERLIN,
        date_offset_s=0,
    )
    assert stepper.cycle_starts(5 * MINUTE) == [
        local("2024-06-12T09:00", BERLIN),
        local("2024-06-12T09:15", BERLIN),  # 5 minutes of work, then the pause of 10
        local("2024-06-12T09:30", BERLIN),
    ]


def test_break_leaves_the_cycle_also_from_a_nested_block() -> None:
    stepper = Stepper(
        "#2024-06-12#",
        [scheme(ALL_DAY, {"TYPE": "Continuous", "pause": 60})],
        local("2024-06-12T10:00", BERLIN),
        zone=BERLIN,
        date_offset_s=0,
        block=[{"TYPE": "If", "predicate": "true", "then": {"instructions": [{"TYPE": "Break"}]}}],
    )
    assert isinstance(stepper.step()[0], OrderCyclingPrepared)
    assert stepper.step() == [OrderCycleStarted()]
    branch = stepper.order.position[1]
    assert stepper.step() == [OrderMoved(to=(0, branch, 0, "then", 0))]
    assert stepper.step() == [OrderMoved(to=(0, branch, 1)), OrderCycleFinished(cycle_state=None)]
    assert (stepper.order.position, stepper.order.state) == ((0,), BetweenCycles())
    assert stepper.step() == [OrderMoved(to=(1,))]
    assert stepper.step() == [OrderFinished()]


def test_an_order_id_without_a_day_fails_the_order() -> None:
    stepper = Stepper("no-day", [scheme(ALL_DAY, {"TYPE": "Ticking", "interval": 60})], local("2024-06-12T10:00"))
    events = stepper.step()
    assert [type(e) for e in events] == [OrderOutcomeAdded, OrderFailed]
    assert "Order:no-day does not match the pattern defined in Calendar:CALENDAR" in str(events[0])
    assert isinstance(stepper.order.state, Failed)


def test_events_replay_to_the_same_state_also_from_a_snapshot() -> None:
    """A day of cycles with a job on an Agent: the journal's events rebuild the live state, and a
    snapshot taken midway plus the events after it does too."""
    sim = Simulator(now_ms=local("2024-06-12T07:55", BERLIN))
    calendar = {"TYPE": "Calendar", "path": "C", "orderIdPattern": "#([^#]+)#.*", "periodDatePattern": "yyyy-MM-dd"}
    orthrow(sim.command(UpdateItems(operations=(value_from_json({"TYPE": "AddOrChangeSimple", "item": calendar}),))))
    job = {"agentPath": "AGENT", "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}}
    cycle = {
        "TYPE": "Cycle",
        "schedule": {"schemes": [scheme([daily("08:00", 2)], {"TYPE": "Ticking", "interval": 1800})]},
        "cycleWorkflow": {"instructions": [{"TYPE": "Execute.Anonymous", "job": job}]},
    }
    sim.deploy({"path": "W", "timeZone": "Europe/Berlin", "calendarPath": "C", "instructions": [cycle]})
    orthrow(sim.add_order("#2024-06-12#P1", "W"))
    sim.run()
    events = sim.typed_events_of("#2024-06-12#P1")
    assert [type(e).__name__ for e in events].count("OrderCycleStarted") == 4  # 08:00 08:30 09:00 09:30
    assert isinstance(events[-1], OrderFinished)
    replayed = ControllerState()
    half = len(sim.log) // 2
    for keyed in sim.log[:half]:
        assert replayed.apply_event(keyed.key, keyed.event) is None
    from_snapshot = ControllerState.from_snapshot(replayed.snapshot_objects())
    for keyed in sim.log[half:]:
        assert replayed.apply_event(keyed.key, keyed.event) is None
        assert from_snapshot.apply_event(keyed.key, keyed.event) is None
    assert replayed == sim.state and from_snapshot == sim.state
    order = sim.state.orders["#2024-06-12#P1"]
    assert isinstance(order.state, Finished) and not isinstance(order.state, Ready)
