"""An Agent as a Director pair (issue 16): the Agent's journal replicated to the Backup Director by the
Controller cluster's machinery, a Cluster Watch consenting to the failover; the Controller talks to
whichever Director is active. Real processes on loopback, mutual TLS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.director_pair_topology import AGENT, DIRECTORS, DirectorPairTopology


def workflow(marks: Path) -> dict[str, Any]:
    script = f'#!/bin/sh\nsleep 0.2\necho "$JS7_ORDER_ID" >> {marks}\n'
    return {
        "TYPE": "Workflow",
        "path": "pair",
        "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
        "jobs": {
            "J": {
                "agentPath": AGENT,
                "processLimit": 20,
                "executable": {
                    "TYPE": "ShellScriptExecutable",
                    "script": script,
                    "env": {"JS7_ORDER_ID": "$js7OrderId"},
                },
            }
        },
    }


@pytest.fixture(params=["controller-watch", "standalone-watch"])
def pair(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[DirectorPairTopology]:
    topology = DirectorPairTopology(tmp_path, standalone_watch=request.param == "standalone-watch")
    try:
        if topology.standalone_watch:
            topology.start("watch")
        topology.start("controller")
        topology.start("director-a")
        topology.start("director-b")
        yield topology
    finally:
        topology.stop_all()


def _finished(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["Key"] for e in events if e["TYPE"] == "OrderFinished")


def test_director_failover_every_order_exactly_once(pair: DirectorPairTopology, tmp_path: Path) -> None:
    marks = tmp_path / "marks.txt"
    response = pair.deploy(workflow(marks), version="1")
    assert response.status_code == 200, response.text
    pair.wait_director_active("director-a")
    pair.wait_directors_coupled()
    with pair.client("director-b", certificate="controller") as c:  # the standby refuses the Agent's API
        refused = c.post("/agent/api/command", json={"TYPE": "NoOperation"})
    assert refused.status_code == 503 and refused.json()["code"] == "ClusterNodeIsNotActive", refused.text
    assert pair.active_directors() == ["director-a"]
    first = [f"a-{i}" for i in range(20)]
    for order_id in first:
        assert pair.add_order(order_id, "pair").status_code in (200, 201)
    pair.wait_for(lambda events: pair.terminated(events, *first), timeout=60)

    # kill -9 the active Director while orders run there: the Backup takes over with the Watch's consent
    second = [f"b-{i}" for i in range(20)]
    for order_id in second:
        assert pair.add_order(order_id, "pair").status_code in (200, 201)
    pair.wait_for(lambda events: any(e["TYPE"] == "OrderProcessingStarted" and e["Key"] == "b-0" for e in events))
    pair.kill("director-a")
    pair.wait_director_active("director-b", timeout=30)
    events = pair.wait_for(lambda events: pair.terminated(events, *first, *second), timeout=90)

    finished = _finished(events)
    assert all(finished[o] == 1 for o in first + second), finished
    assert not any(e["TYPE"] in ("OrderFailed", "OrderCancelled") for e in events)
    # every job ran to its end at most once per ProcessLost (the restarted step) and once successfully
    ran = Counter(marks.read_text().split())
    assert set(ran) == set(first + second)
    lost = Counter(e["Key"] for e in events if e["TYPE"] == "OrderProcessed" and _is_lost(e))
    assert all(ran[o] <= 1 + lost[o] for o in ran), (ran, lost)
    assert pair.active_directors() == ["director-b"]


def _is_lost(event: dict[str, Any]) -> bool:
    return json.dumps(event.get("outcome", {})).find("ProcessLost") >= 0


def _ctl(pair: DirectorPairTopology, *args: str) -> subprocess.CompletedProcess[str]:
    certs = pair.root / "certs"
    where = ["--controller", f"https://127.0.0.1:{pair.nodes['controller'].port}"]
    tls = ["--ca", str(certs / "ca" / "ca.crt"), "--cert", str(certs / "client" / "node.crt"),
           "--key", str(certs / "client" / "node.key")]  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", "ctl", *where, *tls, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("pair", ["controller-watch"], indirect=True)
def test_switch_over_by_command_and_ctl(pair: DirectorPairTopology, tmp_path: Path) -> None:
    marks = tmp_path / "marks.txt"
    assert pair.deploy(workflow(marks), version="1").status_code == 200
    pair.wait_director_active("director-a")
    pair.wait_directors_coupled()
    with pair.controller() as c:
        response = c.post("/controller/api/command", json={"TYPE": "ClusterSwitchOver", "agentPath": AGENT})
    assert response.status_code == 200, response.text
    pair.wait_director_active("director-b")
    orders = [f"s-{i}" for i in range(5)]
    for order_id in orders:
        assert pair.add_order(order_id, "pair").status_code in (200, 201)
    events = pair.wait_for(lambda events: pair.terminated(events, *orders), timeout=60)
    assert all(_finished(events)[o] == 1 for o in orders)
    pair.wait_directors_coupled()  # the old active came back as the standby

    switched = _ctl(pair, "switch-over", "--agent", AGENT)
    assert switched.returncode == 0, switched.stderr
    assert "Director of Agent agent" in switched.stdout
    pair.wait_director_active("director-a")

    unknown = _ctl(pair, "switch-over", "--agent", "no-such-agent")
    assert unknown.returncode != 0
    assert "Traceback" not in unknown.stderr
    with pair.controller() as c:
        bad = c.post("/controller/api/command", json={"TYPE": "ClusterSwitchOver", "agentPath": 7})
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidRequest"


KILLS = int(os.environ.get("JS7ES_DIRECTOR_KILLS", "10"))


@pytest.mark.slow
@pytest.mark.parametrize("pair", ["controller-watch"], indirect=True)
def test_kill_the_active_director_under_load_again_and_again(pair: DirectorPairTopology, tmp_path: Path) -> None:
    """kill -9 of whichever Director is active, KILLS times, while a feeder adds orders: every order
    finishes exactly once, and each job ran once plus once per ProcessLost step at most."""
    marks = tmp_path / "marks.txt"
    assert pair.deploy(workflow(marks), version="1").status_code == 200
    pair.wait_director_active("director-a")
    pair.wait_directors_coupled()
    added: list[str] = []
    for round_ in range(KILLS):
        batch = [f"k{round_}-{i}" for i in range(10)]
        for order_id in batch:
            assert pair.add_order(order_id, "pair").status_code in (200, 201)
        added += batch
        active = pair.active_directors()
        assert len(active) == 1, active
        pair.wait_for(  # jobs of this batch run on the active Director now
            lambda events, batch=batch: any(e["TYPE"] == "OrderProcessingStarted" and e["Key"] in batch for e in events)
        )
        pair.kill(active[0])
        other = next(n for n in DIRECTORS if n != active[0])
        pair.wait_director_active(other, timeout=30)
        pair.start(active[0])  # back as the standby
        pair.wait_directors_coupled(timeout=60)
    events = pair.wait_for(lambda events: pair.terminated(events, *added), timeout=180)
    finished = _finished(events)
    assert all(finished[o] == 1 for o in added), finished
    assert not any(e["TYPE"] in ("OrderFailed", "OrderCancelled") for e in events)
    ran = Counter(marks.read_text().split())
    lost = Counter(e["Key"] for e in events if e["TYPE"] == "OrderProcessed" and _is_lost(e))
    assert set(ran) == set(added)
    assert all(ran[o] <= 1 + lost[o] for o in ran), (ran, lost)


@pytest.fixture
def mixed(tmp_path: Path) -> Iterator[DirectorPairTopology]:
    """A standalone Agent "solo" and the Director pair with two remote Subagents: three Subagents in all
    for the pair (the active Director's own, sub-1, sub-2)."""
    topology = DirectorPairTopology(tmp_path, agents=("solo",), subagents=("sub-1", "sub-2"))
    try:
        topology.start_all()
        yield topology
    finally:
        topology.stop_all()


def test_a_standalone_agent_and_a_director_pair_side_by_side(mixed: DirectorPairTopology, tmp_path: Path) -> None:
    """One workflow whose jobs alternate between a standalone Agent and the Director pair; a failover of
    the pair in the middle changes nothing for the standalone Agent's steps."""
    marks = tmp_path / "marks.txt"

    def job(agent: str) -> dict[str, Any]:
        script = f'#!/bin/sh\necho "$JS7_ORDER_ID {agent}" >> {marks}\n'
        executable = {"TYPE": "ShellScriptExecutable", "script": script, "env": {"JS7_ORDER_ID": "$js7OrderId"}}
        return {"agentPath": agent, "processLimit": 10, "executable": executable}

    alternating = {
        "TYPE": "Workflow",
        "path": "alternating",
        "instructions": [{"TYPE": "Execute.Named", "jobName": name} for name in ("S1", "P1", "S2", "P2")],
        "jobs": {"S1": job("solo"), "P1": job(AGENT), "S2": job("solo"), "P2": job(AGENT)},
    }
    assert mixed.deploy(alternating, version="1").status_code == 200
    mixed.wait_director_active("director-a")
    mixed.wait_directors_coupled()
    orders = [f"m-{i}" for i in range(10)]
    for order_id in orders[:5]:
        assert mixed.add_order(order_id, "alternating").status_code in (200, 201)
    mixed.wait_for(lambda events: mixed.terminated(events, *orders[:5]), timeout=60)
    mixed.kill("director-a")
    mixed.wait_director_active("director-b")
    for order_id in orders[5:]:
        assert mixed.add_order(order_id, "alternating").status_code in (200, 201)
    events = mixed.wait_for(lambda events: mixed.terminated(events, *orders), timeout=90)
    assert all(_finished(events)[o] == 1 for o in orders)
    ran = Counter(tuple(line.split()) for line in marks.read_text().splitlines())
    assert all(ran[(o, "solo")] == 2 and ran[(o, AGENT)] == 2 for o in orders), ran
    attached = {e.get("agentPath") for e in events if e["TYPE"] == "OrderAttachable"}
    assert attached == {"solo", AGENT}
    # the pair's steps went round robin over its three Subagents (the Director's own one is the active's)
    pair_steps = Counter(
        e["subagentId"] for e in events if e["TYPE"] == "OrderProcessingStarted" and e["subagentId"] != "solo-director"
    )
    assert {"sub-1", "sub-2"} <= set(pair_steps) and set(pair_steps) - {"sub-1", "sub-2"} <= set(DIRECTORS)
    assert sum(pair_steps.values()) == 2 * len(orders)


@pytest.fixture
def remote_only(tmp_path: Path) -> Iterator[DirectorPairTopology]:
    """The Director pair with two remote Subagents, its Directors' own Subagents disabled: every job runs
    in a `js7es subagent` process, which the Directors' failover does not touch."""
    topology = DirectorPairTopology(tmp_path, subagents=("sub-1", "sub-2"), directors_disabled=True)
    try:
        topology.start_all()
        yield topology
    finally:
        topology.stop_all()


def test_remote_steps_survive_a_director_failover(remote_only: DirectorPairTopology, tmp_path: Path) -> None:
    """kill -9 of the active Director while its jobs run on remote Subagents: the processes go on, the new
    active Director re-attaches them, each result arrives once, no step is lost or run again."""
    pair = remote_only
    runs, done = tmp_path / "runs.txt", tmp_path / "done.txt"
    script = f'#!/bin/sh\necho "$JS7_ORDER_ID $$" >> {runs}\nsleep 3\necho "$JS7_ORDER_ID" >> {done}\n'
    executable = {"TYPE": "ShellScriptExecutable", "script": script, "env": {"JS7_ORDER_ID": "$js7OrderId"}}
    slow = {
        "TYPE": "Workflow",
        "path": "slow",
        "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
        "jobs": {"J": {"agentPath": AGENT, "processLimit": 10, "executable": executable}},
    }
    assert pair.deploy(slow, version="1").status_code == 200
    pair.wait_director_active("director-a")
    pair.wait_directors_coupled()
    orders = [f"r-{i}" for i in range(6)]
    for order_id in orders:
        assert pair.add_order(order_id, "slow").status_code in (200, 201)
    started = pair.wait_for(
        lambda events: {e["Key"] for e in events if e["TYPE"] == "OrderProcessingStarted"} >= set(orders), timeout=60
    )
    assert {e["subagentId"] for e in started if e["TYPE"] == "OrderProcessingStarted"} <= {"sub-1", "sub-2"}
    deadline = time.monotonic() + 30  # every job's process runs on its Subagent now (its first line written)
    while not (runs.exists() and len(runs.read_text().splitlines()) == len(orders)):
        assert time.monotonic() < deadline, "the jobs did not start"
        time.sleep(0.05)
    pair.kill("director-a")
    pair.wait_director_active("director-b")
    events = pair.wait_for(lambda events: pair.terminated(events, *orders), timeout=90)
    assert all(_finished(events)[o] == 1 for o in orders)
    processed = [e for e in events if e["TYPE"] == "OrderProcessed"]
    assert [e["outcome"]["TYPE"] for e in processed] == ["Succeeded"] * len(orders), processed
    assert Counter(line.split()[0] for line in runs.read_text().splitlines()) == dict.fromkeys(orders, 1)
    assert Counter(done.read_text().split()) == dict.fromkeys(orders, 1)


@pytest.mark.parametrize("pair", ["controller-watch"], indirect=True)
def test_an_untaught_controller_watch_refuses_until_a_person_confirms(
    pair: DirectorPairTopology, tmp_path: Path
) -> None:
    """The Controller restarted (its Watch memory untaught) while the active Director died: the standby's
    node-loss request is refused as long as nobody confirmed; `js7es ctl confirm-node-loss` pointed at the
    Controller lets the failover through (JS7's rules for the Watch after a restart)."""
    assert pair.deploy(workflow(tmp_path / "marks.txt"), version="1").status_code == 200
    pair.wait_director_active("director-a")
    pair.wait_directors_coupled()
    pair.kill("controller")
    pair.kill("director-a")
    pair.start("controller")
    time.sleep(5)  # several heartbeat timeouts: the standby asks, the untaught Watch refuses
    assert pair.director_info("director-b")["active"] is False
    assert pair.active_directors() == []
    certs = pair.root / "certs"
    confirm = subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", "ctl",
         "--ca", str(certs / "ca" / "ca.crt"), "--cert", str(certs / "client" / "node.crt"),
         "--key", str(certs / "client" / "node.key"),
         "confirm-node-loss", "--watch", f"https://127.0.0.1:{pair.nodes['controller'].port}",
         "--cluster-id", AGENT, "--lost-node", "Primary", "--confirmer", "Jane"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert confirm.returncode == 0, confirm.stderr
    pair.wait_director_active("director-b", timeout=30)
    assert pair.add_order("after-confirm", "pair").status_code in (200, 201)
    events = pair.wait_for(lambda events: pair.terminated(events, "after-confirm"), timeout=60)
    assert _finished(events)["after-confirm"] == 1
