"""The Kafka export as a service of the Cockpit ([export.kafka]), a real `js7es cockpit` process beside a
real Controller and Agent and the real broker: the Cockpit is killed with SIGKILL again and again while
orders flow; the topic then holds every Controller EventId exactly once, in order per key, and the
Cockpit's overview shows the export's position, checkpoint and lag.

The Controller snapshots every 2,000 events and deletes the journal segments its readers have released:
had the Cockpit released what its projection had committed but the topic did not hold yet, a restarted
export would find the events gone (EventSeqTorn) and the topic would stay short.

3,000 orders (about 30,000 events); JS7ES_COCKPIT_EXPORT_ORDERS changes the number.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7es.domain.event import Stamped
from tests.cockpit.cockpit_process import COCKPIT_USER, CockpitProcess
from tests.cockpit.test_cockpit_e2e import OrderBurst
from tests.e2e.topology import Topology
from tests.projections.conftest import Broker
from tests.projections.test_export_e2e import WORKFLOW, EventFollower, TopicReader, check_topic

ORDERS = int(os.environ.get("JS7ES_COCKPIT_EXPORT_ORDERS", "3000"))
CONTROLLER_ID = "js7es-test"
DEADLINE_S = 300


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    topo = Topology(
        tmp_path / "nodes",
        extra_users={"controller": {"cockpit": COCKPIT_USER}},
        journal_readers=("cockpit", "client"),  # "client": the test's own EventFollower, which releases too
        snapshot_after_events=2000,
    )
    topo.start_all()
    try:
        yield topo
    finally:
        topo.stop_all()


def exported_status(cockpit: CockpitProcess) -> dict[str, object]:
    return dict(cockpit.overview()["export"]["kafka"][CONTROLLER_ID])


@pytest.mark.slow
def test_kill_9_the_cockpit_while_it_exports(
    topology: Topology, kafka_broker: Broker, topic: str, tmp_path: Path
) -> None:
    cockpit = CockpitProcess(
        topology,
        tmp_path / "cockpit",
        {CONTROLLER_ID: "controller"},
        sections={"export.kafka": {"bootstrap": [kafka_broker.bootstrap], "topic": topic}},
    )
    assert topology.deploy(WORKFLOW, version="1").status_code == 200
    follower = EventFollower(topology)
    burst = OrderBurst(topology, ORDERS, workflow_path=str(WORKFLOW["path"]))
    rng = random.Random(6)
    started = time.monotonic()
    kills = 0
    reader = TopicReader(kafka_broker, topic)
    try:
        cockpit.start()
        cockpit.wait_ready()
        burst.start()
        while burst.is_alive() or kills < 3:
            time.sleep(rng.uniform(0.5, 2.5))
            cockpit.kill(signal.SIGKILL)
            kills += 1
            cockpit.start()
            cockpit.wait_ready(timeout=60)
            assert time.monotonic() - started < DEADLINE_S, "orders too slow"
        assert burst.added == ORDERS
        expected: list[Stamped] = []
        while True:
            expected = follower.snapshot()
            finished = sum(1 for s in expected if type(s.event).__name__ == "OrderFinished")
            reader.poll(1.0)
            if finished == ORDERS and len(set(reader.event_ids())) >= len(expected):
                break
            assert time.monotonic() - started < DEADLINE_S, (
                f"not caught up: {finished} orders finished, {len(expected)} events, "
                f"{len(reader.event_ids())} records; export: {exported_status(cockpit)}\n{cockpit.log()}"
            )
        reader.poll(2.0)  # nothing more may come (no duplicate after the catch-up either)
        check_topic(reader.records, expected)

        # The overview: the export's position is the Controller's last event, no lag; the Cockpit
        # released no more than the topic holds.
        last = expected[-1].event_id
        deadline = time.monotonic() + 30
        while (status := exported_status(cockpit))["checkpointedEventId"] != last:
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        assert status["state"] == "Exporting" and status["topic"] == topic
        assert status["eventId"] == status["controllerEventId"] == last
        assert status["lagSeconds"] == 0
        overview = cockpit.overview()
        released = overview["controllers"][CONTROLLER_ID]["releasedEventId"]
        assert 0 < released <= last
    finally:
        reader.close()
        follower.stop()
        burst.join(5)
        cockpit.kill(signal.SIGTERM)
    # A graceful stop (the export's last checkpoint included); the server re-raises SIGTERM at its end.
    assert cockpit.process is not None and cockpit.process.returncode == -signal.SIGTERM, cockpit.log()
    assert kills >= 3
    log = cockpit.log_file.read_text(errors="replace")
    assert "Traceback" not in log, log[-5000:]
    assert "EventSeqTorn" not in log, log[-5000:]
