"""The nodes' journals on real processes: snapshots start new segments, released segments go, and a
restart recovers from snapshot + tail; `js7es journal verify` passes on both nodes' journals."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.topology import Topology


@pytest.fixture
def small_segments(tmp_path: Path) -> Iterator[Topology]:
    topo = Topology(tmp_path, snapshot_after_events=40)
    topo.start_all()
    try:
        yield topo
    finally:
        topo.stop_all()


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.journal"))


def test_snapshots_release_and_recovery(small_segments: Topology) -> None:
    topology = small_segments
    job = {"agentPath": "agent", "executable": {"TYPE": "ShellScriptExecutable", "script": "exit 0"}}
    w = {"path": "w", "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}], "jobs": {"J": job}}
    topology.deploy(w, version="1")
    ids = [f"o{i}" for i in range(30)]
    with topology.controller() as c:
        assert c.post("/controller/api/order", json=[{"id": i, "workflowPath": "w"} for i in ids]).status_code == 200
    deadline = time.monotonic() + 60  # (the event stream's start is released here: poll the orders)
    while True:
        with topology.controller() as c:
            orders = c.get("/controller/api/order").json()["orders"]
        if len(orders) == 30 and all(o["state"]["TYPE"] == "Finished" for o in orders):
            break
        assert time.monotonic() < deadline, orders
        time.sleep(0.1)
    controller_journal = topology.nodes["controller"].data_dir / "state"
    agent_journal = topology.nodes["agent"].data_dir / "state"
    # Both journals went through several segments; the old ones were released (the Agent's only after
    # the Controller had adopted their events), so few remain.
    assert segments(controller_journal)[-1].name != "controller--0.journal"
    assert segments(agent_journal)[-1].name != "agent--0.journal"
    deadline = time.monotonic() + 15  # the Controller lets the Agent release every second
    while len(segments(agent_journal)) > 2:
        assert time.monotonic() < deadline, segments(agent_journal)
        time.sleep(0.1)
    with topology.controller() as c:
        before = c.get("/controller/api/order").json()
    topology.restart("controller")
    topology.restart("agent")
    with topology.controller() as c:
        after = c.get("/controller/api/order").json()
    assert after["orders"] == before["orders"] and len(after["orders"]) == 30
    assert all(o["state"]["TYPE"] == "Finished" for o in after["orders"])
    topology.stop_all()
    for directory in (controller_journal, agent_journal):
        result = subprocess.run(
            [sys.executable, "-m", "js7es.nodes.cli", "journal", "verify", str(directory)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
