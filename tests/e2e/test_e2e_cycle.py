"""The Cycle instruction on real Controller and Agent processes, with a test clock a few thousand times
faster than real time (js7es.nodes.clock): a working day of cycles passes in seconds.

Each test deploys JOC's `dailyPlan` Calendar item and a workflow with `calendarPath` and `timeZone`
whose Cycle runs a shell job on the Agent, adds JOC's daily plan order `#<day>#P…` before the day's
admission window opens, and compares the cycles the Controller's events record with the schedule
computed here from the wall clock (zoneinfo), not by js7es: the instants the cycle states name
(`next` of OrderCyclingPrepared / OrderCycleFinished, exact) and the recorded timestamps of
OrderCycleStarted and OrderProcessingStarted (test-clock time, within a tolerance for the real-time
latency of the processes, multiplied by the clock's speed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from js7es.nodes.clock import Clock
from tests.e2e.topology import Topology

pytestmark = pytest.mark.slow

ZONE = ZoneInfo("Europe/Berlin")
DAY = datetime(2025, 6, 3)  # a Tuesday, summer time
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
# real seconds from the clock's origin to 08:00: start the nodes, deploy, add the order (10.2 s once at load 10)
START_UP_S = 14.0
# JOC's daily plan Calendar item, as the Cockpit deploys it to each Controller
DAILY_PLAN = {
    "TYPE": "Calendar",
    "path": "dailyPlan",
    "dateOffset": 0,
    "orderIdPattern": "#([^#]+)#.*",
    "periodDatePattern": "yyyy-MM-dd",
}
ORDER_ID = f"#{DAY:%Y-%m-%d}#P0000000001-x"
StartAt = Callable[[float], tuple[Topology, Clock]]  # the fixture: speed -> started nodes, their clock


def at(hour: int, minute: int = 0) -> int:
    """Epoch milliseconds of a wall-clock time of DAY in Berlin."""
    return int(DAY.replace(hour=hour, minute=minute, tzinfo=ZONE).timestamp() * 1000)


def wall(ms: int) -> str:
    return f"{datetime.fromtimestamp(ms / 1000, ZONE):%H:%M:%S}"


@pytest.fixture(name="topology_at")
def _topology_at(tmp_path: Path) -> Iterator[StartAt]:
    """Starts a Controller and an Agent whose clock says 08:00 of DAY START_UP_S real seconds from now."""
    started: list[Topology] = []

    def start(speed: float) -> tuple[Topology, Clock]:
        real_origin = time.time_ns() // 1_000_000
        fake_origin = at(8) - int(START_UP_S * 1000 * speed)
        clock = Clock(fake_origin_ms=fake_origin, real_origin_ms=real_origin, speed=speed)
        env = {"JS7ES_TEST_MODE": "1", "JS7ES_TEST_CLOCK": f"{fake_origin},{real_origin},{speed}"}
        topology = Topology(tmp_path, env=env)
        started.append(topology)
        topology.start_all()
        return topology, clock

    try:
        yield start
    finally:
        for topology in started:
            topology.stop_all()


def cycle_workflow(path: str, repeat: dict[str, Any], *block: dict[str, Any], until: int = 18) -> dict[str, Any]:
    """A Cycle admitted 08:00 to `until`:00 every day; the block runs the shell job J, then `block`."""
    window = {"TYPE": "DailyPeriod", "secondOfDay": 8 * 3600, "duration": (until - 8) * 3600}
    cycle = {
        "TYPE": "Cycle",
        "schedule": {"schemes": [{"admissionTimeScheme": {"periods": [window]}, "repeat": repeat}]},
        "cycleWorkflow": {"instructions": [{"TYPE": "Execute.Named", "jobName": "J"}, *block]},
    }
    return {
        "path": path,
        "timeZone": ZONE.key,
        "calendarPath": "dailyPlan",
        "instructions": [cycle],
        "jobs": {"J": {"agentPath": "agent", "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}}},
    }


def periodic(period_s: int, *offsets_s: int) -> dict[str, Any]:
    return {"TYPE": "Periodic", "period": period_s, "offsets": list(offsets_s)}


def expected_starts(first: tuple[int, int], step: timedelta, end: tuple[int, int]) -> list[int]:
    """The oracle: the wall-clock times of DAY in Berlin from `first` every `step` before `end`."""
    times = []
    t = DAY.replace(hour=first[0], minute=first[1], tzinfo=ZONE)
    stop = DAY.replace(hour=end[0], minute=end[1], tzinfo=ZONE)
    while t < stop:
        times.append(int(t.timestamp() * 1000))
        t += step
    return times


def of(events: list[dict[str, Any]], order_id: str, *types: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("Key") == order_id and e["TYPE"] in types]


def stamp(event: dict[str, Any]) -> int:
    """The event's timestamp (JS7 leaves it out when it is the EventId's epoch milliseconds)."""
    return int(event.get("timestamp", event["eventId"] // 1000))


def planned(events: list[dict[str, Any]], order_id: str) -> list[int]:
    """The instants of the cycles the Controller planned: `next` of each cycle state it recorded."""
    states = [e.get("cycleState") for e in of(events, order_id, "OrderCyclingPrepared", "OrderCycleFinished")]
    return [s["next"] for s in states if s is not None]


def assert_cycles(events: list[dict[str, Any]], order_id: str, expected: list[int], tolerance_ms: int) -> None:
    """Exactly the expected cycles, in order: each planned at its instant, started once at it (or a
    little after: `tolerance_ms`), its job started once before the next cycle is due; none other."""
    assert planned(events, order_id) == expected, [wall(t) for t in planned(events, order_id)]
    started = [stamp(e) for e in of(events, order_id, "OrderCycleStarted")]
    processing = [stamp(e) for e in of(events, order_id, "OrderProcessingStarted")]
    assert len(started) == len(processing) == len(expected), ([wall(t) for t in started], [wall(t) for t in expected])
    following = [*expected[1:], expected[-1] + tolerance_ms]
    for planned_ms, started_ms, processing_ms, next_ms in zip(expected, started, processing, following, strict=True):
        assert planned_ms <= started_ms < planned_ms + tolerance_ms, (wall(planned_ms), wall(started_ms))
        assert started_ms <= processing_ms < next_ms, (wall(planned_ms), wall(processing_ms))


def test_a_day_of_periodic_and_ticking_cycles_in_seconds(
    topology_at: StartAt,
) -> None:
    """08:00 to 18:00 at :00 and :30 (Periodic) and every two hours (Ticking): twenty and five cycles, at
    their instants, none outside the window; the orders finish after their last cycle, before 18:00."""
    speed = 3000.0
    topology, clock = topology_at(speed)
    half_hourly = cycle_workflow("half-hourly", periodic(3600, 0, 1800))
    ticking = cycle_workflow("ticking", {"TYPE": "Ticking", "interval": 7200})
    assert topology.deploy(DAILY_PLAN, half_hourly, ticking, version="1").status_code == 200
    ticking_id = ORDER_ID.replace("-x", "-tick")
    for order_id, path in ((ORDER_ID, "half-hourly"), (ticking_id, "ticking")):
        assert topology.add_order(order_id, path).status_code == 201
    assert clock() < at(8), f"the nodes started too slowly: it is {wall(clock())} already"

    events = topology.wait_for(lambda es: topology.terminated(es, ORDER_ID, ticking_id), timeout=10 / speed * 3600 + 15)

    tolerance = int(1.5 * 1000 * speed)  # 1.5 real seconds: 75 minutes of test-clock time
    every_half_hour = expected_starts((8, 0), timedelta(minutes=30), (18, 0))
    assert len(every_half_hour) == 20
    assert_cycles(events, ORDER_ID, every_half_hour, min(tolerance, 30 * MINUTE_MS))
    every_two_hours = expected_starts((8, 0), timedelta(hours=2), (18, 0))
    assert [wall(t) for t in every_two_hours] == ["08:00:00", "10:00:00", "12:00:00", "14:00:00", "16:00:00"]
    assert_cycles(events, ticking_id, every_two_hours, min(tolerance, 2 * HOUR_MS))

    for order_id, last in ((ORDER_ID, every_half_hour[-1]), (ticking_id, every_two_hours[-1])):
        types = topology.order_events(events, order_id)
        assert types[:3] == ["OrderAdded", "OrderStarted", "OrderCyclingPrepared"]
        assert types[-3:] == ["OrderCycleFinished", "OrderMoved", "OrderFinished"]  # the last: no next cycle
        assert of(events, order_id, "OrderCycleFinished")[-1].get("cycleState") is None
        assert last <= stamp(of(events, order_id, "OrderFinished")[0]) < at(18)
        outcomes = [e["outcome"]["TYPE"] for e in of(events, order_id, "OrderProcessed")]
        assert set(outcomes) == {"Succeeded"}


def test_a_break_ends_the_cycling_early(topology_at: StartAt, tmp_path: Path) -> None:
    """Hourly cycles from 08:00; the job counts its runs and the third cycle's Break ends the cycling:
    three cycles, the order finishes at 10:00, long before the window closes."""
    speed = 3000.0
    topology, clock = topology_at(speed)
    counter = tmp_path / "runs"
    script = (
        f'n=$(( $(cat "{counter}" 2>/dev/null || echo 0) + 1 )); echo $n > "{counter}"; '
        'echo "n=$n" >> "$JS7_RETURN_VALUES"'
    )
    third_breaks = {
        "TYPE": "If",
        "ifThens": [{"predicate": "toNumber($n) >= 3", "then": {"instructions": [{"TYPE": "Break"}]}}],
    }
    w = cycle_workflow("breaking", periodic(3600, 0), third_breaks)
    w["jobs"]["J"]["executable"]["script"] = script
    assert topology.deploy(DAILY_PLAN, w, version="1").status_code == 200
    assert topology.add_order(ORDER_ID, "breaking").status_code == 201
    assert clock() < at(8), f"the nodes started too slowly: it is {wall(clock())} already"

    events = topology.wait_for(lambda es: topology.terminated(es, ORDER_ID), timeout=START_UP_S + 15)

    assert_cycles(events, ORDER_ID, [at(8), at(9), at(10)], 30 * MINUTE_MS)
    assert counter.read_text().split() == ["3"]
    types = topology.order_events(events, ORDER_ID)
    assert types[-3:] == ["OrderCycleFinished", "OrderMoved", "OrderFinished"]
    assert of(events, ORDER_ID, "OrderCycleFinished")[-1].get("cycleState") is None  # the Break's
    assert at(10) <= stamp(of(events, ORDER_ID, "OrderFinished")[0]) < at(11)


def test_a_controller_killed_twice_during_the_day_resumes_the_cycles(
    topology_at: StartAt,
) -> None:
    """08:00 to 14:00 at :00 and :30 of every second hour. The Controller is killed (-9) while a cycle's
    job runs on the Agent and again while the order waits for its next cycle: after each restart the
    cycling goes on from the journal: every planned cycle starts once, none twice, none is lost.
    500 times real time: a restart may take 10.8 s of the 1.5 hours it has (the suite loads the machine: at
    1,000 times a restart of 6.4 s at load 9-10 missed its window)."""
    speed = 500.0
    topology, clock = topology_at(speed)
    w = cycle_workflow("restarted", periodic(7200, 0, 1800), until=14)
    assert topology.deploy(DAILY_PLAN, w, version="1").status_code == 200
    assert topology.add_order(ORDER_ID, "restarted").status_code == 201
    assert clock() < at(8), f"the nodes started too slowly: it is {wall(clock())} already"

    def cycle_started(after: int) -> Any:
        return lambda es: any(stamp(e) >= after for e in of(es, ORDER_ID, "OrderCycleStarted"))

    def waiting_for(next_ms: int) -> Any:
        return lambda es: any(
            (e.get("cycleState") or {}).get("next") == next_ms for e in of(es, ORDER_ID, "OrderCycleFinished")
        )

    timeout = START_UP_S + 6 / speed * 3600 + 20
    restarts = []
    for moment, next_cycle in ((cycle_started(at(8, 30)), at(10)), (waiting_for(at(12)), at(12))):
        topology.wait_for(moment, timeout=timeout)
        killed = clock()
        topology.kill("controller")
        topology.start("controller")
        restarts.append((killed, clock()))
        assert clock() < next_cycle, f"the Controller restarted too slowly for the test: {restarts}"
    events = topology.wait_for(lambda es: topology.terminated(es, ORDER_ID), timeout=timeout)

    assert topology.nodes["controller"].starts == 3
    expected = [at(8), at(8, 30), at(10), at(10, 30), at(12), at(12, 30)]
    assert_cycles(events, ORDER_ID, expected, 30 * MINUTE_MS)
    assert topology.order_events(events, ORDER_ID)[-1] == "OrderFinished"
    assert len(of(events, ORDER_ID, "OrderAdded")) == 1
