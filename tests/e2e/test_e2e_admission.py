"""Job admission times on real Controller and Agent processes, with a test clock 5000 times faster
than real time (js7es.nodes.clock): a day passes in about 17 seconds.

Every node gets the same JS7ES_TEST_CLOCK, so that they agree on the time; the test computes the same
time from the same formula. Assertions are on the events' recorded timestamps (test-clock time).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from js7es.nodes.clock import Clock
from tests.domain.test_order_flow import ONE_JOB_ON_AGENT
from tests.e2e.topology import Topology

ZONE = "Europe/Berlin"
SPEED = 5000.0
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@pytest.fixture(name="clocked")
def _clocked(tmp_path: Path) -> Iterator[tuple[Topology, Clock]]:
    real_origin = time.time_ns() // 1_000_000
    fake_origin = int(datetime(2025, 6, 2, 6, 0, tzinfo=ZoneInfo(ZONE)).timestamp() * 1000)  # a Monday in June
    clock = Clock(fake_origin_ms=fake_origin, real_origin_ms=real_origin, speed=SPEED)
    env = {"JS7ES_TEST_MODE": "1", "JS7ES_TEST_CLOCK": f"{fake_origin},{real_origin},{SPEED}"}
    topo = Topology(tmp_path, env=env)
    topo.start_all()
    try:
        yield topo, clock
    finally:
        topo.stop_all()


def second_of_day(ms: int) -> int:
    local = datetime.fromtimestamp(ms / 1000, ZoneInfo(ZONE))
    return local.hour * 3600 + local.minute * 60 + local.second


def daily(start_ms: int, duration_ms: int) -> dict[str, Any]:
    return {
        "periods": [{"TYPE": "DailyPeriod", "secondOfDay": second_of_day(start_ms), "duration": duration_ms // 1000}]
    }


def workflow(path: str, **job: Any) -> dict[str, Any]:
    return {
        "path": path,
        "timeZone": ZONE,
        "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
        "jobs": {"J": {"agentPath": "agent", "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}, **job}},
    }


def stamp(events: list[dict[str, Any]], order_id: str, type_: str) -> int:
    """The event's timestamp (JS7 leaves it out when it is the EventId's epoch milliseconds)."""
    event = next(e for e in events if e.get("Key") == order_id and e["TYPE"] == type_)
    return int(event.get("timestamp", event["eventId"] // 1000))


def test_orders_wait_for_the_admission_time_of_their_job(clocked: tuple[Topology, Clock]) -> None:
    topology, clock = clocked
    now = clock()
    # Whole seconds, as the scheme has them; windows of an hour (0.7 s of real time).
    soon = (now // 1000 + 3 * 3600) * 1000  # today's window begins in 3 hours
    past = (now // 1000 - 2 * 3600) * 1000  # today's window ended an hour ago
    before = workflow("before", admissionTimeScheme=daily(soon, HOUR_MS))
    after = workflow("after", admissionTimeScheme=daily(past, HOUR_MS))
    tuesdays = {"periods": [{"TYPE": "WeekdayPeriod", "secondOfWeek": 86400 + 10 * 3600, "duration": 3600}]}
    skipping = workflow("skipping", admissionTimeScheme=tuesdays, skipIfNoAdmissionStartForOrderDay=True)
    response = topology.deploy(before, after, skipping, version="1")
    assert response.status_code == 200, response.text

    orders = {
        "early": ("before", {}),
        "forced": ("before", {"forceJobAdmission": True}),
        "late": ("after", {}),
        "#2025-06-02#P1-monday": ("skipping", {}),  # a Monday: the job admits on Tuesdays only
    }
    for order_id, (path, fields) in orders.items():
        assert topology.add_order(order_id, path, **fields).status_code == 201
    events = topology.wait_for(lambda es: topology.terminated(es, *orders), timeout=40)

    for order_id in ("early", "forced", "late"):
        assert topology.order_events(events, order_id) == ["OrderAdded", *ONE_JOB_ON_AGENT]  # no busy waiting

    # Before the window: waits, and starts within it.
    assert stamp(events, "early", "OrderAdded") < soon
    assert soon <= stamp(events, "early", "OrderProcessingStarted") < soon + HOUR_MS

    # forceJobAdmission: starts at once, long before the window.
    assert stamp(events, "forced", "OrderProcessingStarted") < soon

    # After the window: waits for the next day's window.
    tomorrow = past + DAY_MS
    assert stamp(events, "late", "OrderAdded") > past + HOUR_MS
    assert tomorrow <= stamp(events, "late", "OrderProcessingStarted") < tomorrow + HOUR_MS

    # No admission start on the order's day: the job is skipped.
    skipped = "#2025-06-02#P1-monday"
    assert topology.order_events(events, skipped) == [
        "OrderAdded",
        "OrderAttachable",
        "OrderAttached",
        "OrderStarted",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderFinished",
    ]
    moved = next(e for e in events if e.get("Key") == skipped and e["TYPE"] == "OrderMoved")
    assert moved["reason"] == "NoAdmissionPeriodStart"
