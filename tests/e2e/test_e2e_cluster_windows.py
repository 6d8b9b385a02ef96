"""The Controller cluster killed in the windows that matter (issue 10), on real processes:

- the active node killed (kill -9) the moment its standby says Coupled — before the active's next
  heartbeat report could have told the Cluster Watch: the standby must still fail over;
- snapshots every 1,000 events, so that a killed node that comes back starts from the active's
  snapshot while several clients keep adding orders in bursts; the restarting node is itself killed
  during that catch-up;
- throughout, each client repeats an unanswered order with the same id (a 409 then means the lost
  attempt added it, and that order must exist and finish).

Afterwards: every accepted order finished exactly once (its job's side effect once), `js7es journal
verify --replay` succeeds on both nodes' journals, and they hold identical events where they overlap.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.cluster_topology import (
    NODE_ID,
    NODES,
    ActiveOrderFeeder,
    ClusterTopology,
    assert_journals_agree,
    running_cluster,
)
from tests.e2e.test_e2e_chaos import lines
from tests.e2e.test_e2e_cluster_chaos import other, start_clients, stop_clients

pytestmark = pytest.mark.slow

STARTS_FROM_SNAPSHOT = "Starting from the active node's snapshot"
FAILOVER_LIMIT_S = 15  # heartbeat timeout 1.5 s + the Watch's consent; refused forever was the bug


@pytest.fixture
def snapshotting_cluster(tmp_path: Path) -> Iterator[ClusterTopology]:
    with running_cluster(tmp_path, snapshot_after_events=1000) as topo:
        yield topo


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ClusterTopology]:
    with running_cluster(tmp_path) as topo:
        yield topo


def full_log(topo: ClusterTopology, name: str) -> str:
    path = topo.nodes[name].log_file
    return path.read_text(errors="replace") if path.exists() else ""


def kill_when_the_standby_says_coupled(topo: ClusterTopology, active: str, timeout: float = 60) -> float:
    """Poll the standby every few ms; kill -9 the active the moment the standby's replicated cluster
    state is Coupled. Returns the time of the kill."""
    standby = other(active)
    deadline = time.monotonic() + timeout
    with topo._client(topo.nodes[standby], timeout=2) as client:
        while True:
            assert time.monotonic() < deadline, f"{standby} not Coupled: {topo.info(standby)}"
            try:
                info = client.get("/controller/api/cluster").json()
            except (httpx.HTTPError, ValueError):
                info = {}
            state = info.get("clusterState") or {}
            # Coupled with `active` active: a restarted node recovers the Coupled state it had as active
            if state.get("TYPE") == "Coupled" and (state.get("setting") or {}).get("activeId") == NODE_ID[active]:
                topo.kill(active)
                return time.monotonic()
            time.sleep(0.003)


def finished_by_state(topo: ClusterTopology, wanted: set[str], timeout: float = 120) -> dict[str, str]:
    """The state of every order the active node knows, once `wanted` have all finished."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with topo.controller() as c:
                response = c.get("/controller/api/order")
            states = {o["id"]: o["state"]["TYPE"] for o in response.json()["orders"]}
        except (httpx.HTTPError, KeyError, ValueError):
            states = {}
        if states and all(states.get(o) == "Finished" for o in wanted | set(states)):
            return states
        assert time.monotonic() < deadline, sorted(o for o in wanted if states.get(o) != "Finished")[:20]
        time.sleep(0.2)


def assert_exactly_once(topo: ClusterTopology, feeders: list[ActiveOrderFeeder], log: Path) -> int:
    added: set[str] = set()
    attempted: set[str] = set()
    for feeder in feeders:
        assert feeder.unexpected == [], feeder.unexpected[:5]
        added |= set(feeder.added)
        attempted |= set(feeder.attempted)
    states = finished_by_state(topo, added)
    assert added <= set(states)  # nothing acknowledged (201, or 409 after a lost answer) is lost
    assert set(states) <= attempted
    effects = lines(log)
    assert {o: n for o, n in effects.items() if n != 1} == {}  # no job ran twice
    assert set(effects) == set(states)  # every finished order ran its job
    return len(added)


def stop_verify_and_compare(topo: ClusterTopology) -> int:
    """Stop both nodes; `js7es journal verify --replay` on each journal; the journals agree."""
    active = topo.active() or "primary"
    topo.kill(active, 15)
    topo.kill(other(active), 15)
    for name in NODES:
        directory = topo.nodes[name].data_dir / "state"
        verified = subprocess.run(
            [sys.executable, "-m", "js7es.nodes.cli", "journal", "verify", "--replay", str(directory)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert verified.returncode == 0, f"{name}: {verified.stdout}{verified.stderr}"
        assert "Replayed:" in verified.stdout
    return assert_journals_agree(topo)


def test_the_active_killed_the_moment_the_cluster_couples(cluster: ClusterTopology) -> None:
    topo = cluster
    log, feeders, sampler = start_clients(topo, "c", 2, pause=0.005, job_seconds=0.02)
    failover_s: list[float] = []
    active = topo.wait_active()
    try:
        for round_ in range(4):  # each node killed twice in that window (6 rounds: three times, 45 s more)
            killed_at = kill_when_the_standby_says_coupled(topo, active)
            standby = other(active)
            topo.wait_active(standby, timeout=FAILOVER_LIMIT_S)
            failover_s.append(time.monotonic() - killed_at)
            print(f"round {round_ + 1}: {active} killed as the cluster coupled, {standby} active after "
                  f"{failover_s[-1]:.2f} s")  # fmt: skip
            topo.start(active)  # back as the (fenced) standby
            active = standby
        topo.wait_coupled(timeout=60)
    finally:
        stop_clients(feeders, sampler)
    print(f"failover right after coupling: median {statistics.median(failover_s):.2f} s, max {max(failover_s):.2f} s")
    assert sampler.two_active() == []
    count = assert_exactly_once(topo, feeders, log)
    assert count > 100
    stop_verify_and_compare(topo)


def test_standbys_start_from_snapshots_under_bursts_and_are_killed_while_catching_up(
    snapshotting_cluster: ClusterTopology,
) -> None:
    topo = snapshotting_cluster
    log, feeders, sampler = start_clients(topo, "b", 3, pause=0.0, job_seconds=0.02)
    from_snapshot = Counter[str]()
    try:
        active = topo.wait_coupled(timeout=60)
        for round_ in range(4):  # each node killed twice in that window (6 rounds: three times, 45 s more)
            topo.kill(active)
            killed_at = time.monotonic()
            standby = other(active)
            topo.wait_active(standby, timeout=FAILOVER_LIMIT_S)
            failover_s = time.monotonic() - killed_at
            # Let the new active write snapshots and release what the killed node had first.
            released = full_log(topo, standby).count("Released")
            while full_log(topo, standby).count("Released") < released + 2:
                assert time.monotonic() - killed_at < 60, topo.log(standby)
                time.sleep(0.1)
            before = full_log(topo, active).count(STARTS_FROM_SNAPSHOT)
            topo.start(active, wait=False)
            # Kill the restarting node while it catches up from the snapshot, then start it again.
            deadline = time.monotonic() + 30
            while full_log(topo, active).count(STARTS_FROM_SNAPSHOT) == before:
                assert time.monotonic() < deadline, topo.log(active)
                time.sleep(0.005)
            topo.kill(active)
            from_snapshot[active] += 1
            topo.start(active)
            coupled = topo.wait_coupled(timeout=60)
            assert coupled == standby
            print(f"round {round_ + 1}: {standby} active after {failover_s:.2f} s; {active} killed while "
                  f"starting from its snapshot, then coupled again")  # fmt: skip
            active = standby
    finally:
        stop_clients(feeders, sampler)
    assert sampler.two_active() == []
    for name in NODES:
        assert "does not follow the replicated journal" not in full_log(topo, name)
        assert "does not apply" not in full_log(topo, name)
    count = assert_exactly_once(topo, feeders, log)
    print(f"{count} orders added by 3 clients in bursts; standbys started from snapshots: {dict(from_snapshot)}")
    assert count > 300
    stop_verify_and_compare(topo)
