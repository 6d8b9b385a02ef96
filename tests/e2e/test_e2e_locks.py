"""Locks on real Controller and Agent processes.

The job inside the Lock's block records, under flock(1), how many of its processes run at once (the
job's own side effect, not the Controller's word): with a lock of limit 3 never more than 3, while
the job's processLimit and the Agent would allow more. Then the Controller is killed (-9) while orders
hold the lock and wait for it: after recovery no lock is lost or held twice (the recovered LockState
equals what the orders' positions say), and every order finishes with its job run once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.topology import Topology

pytestmark = pytest.mark.slow

LIMIT = 3


def job_script(work: Path) -> str:
    """Count the processes inside the lock (and the highest count) under flock; note the order's run."""
    lock, now, most, runs = (work / n for n in ("flock", "now", "most", "runs"))
    return (
        f'exec 9>"{lock}"\n'
        f'flock 9; n=$(( $(cat "{now}" 2>/dev/null || echo 0) + 1 )); echo $n > "{now}"\n'
        f'm=$(cat "{most}" 2>/dev/null || echo 0); [ $n -gt $m ] && echo $n > "{most}"\n'
        f'echo "$JS7_ORDER_ID" >> "{runs}"; flock -u 9\n'
        "sleep 0.05\n"
        f'flock 9; echo $(( $(cat "{now}") - 1 )) > "{now}"; flock -u 9\n'
    )


def lock_workflow(work: Path) -> dict[str, Any]:
    job = {
        "agentPath": "agent",
        "processLimit": 20,
        "executable": {"TYPE": "ShellScriptExecutable", "script": job_script(work)},
    }
    locked = {
        "TYPE": "Lock",
        "demands": [{"lockPath": "L", "count": 1}],
        "lockedWorkflow": {"instructions": [{"TYPE": "Execute.Named", "jobName": "J"}]},
    }
    return {"path": "locked", "instructions": [locked], "jobs": {"J": job}}


def deploy(topology: Topology, work: Path) -> None:
    lock = {"TYPE": "Lock", "path": "L", "limit": LIMIT}
    response = topology.deploy(lock, lock_workflow(work), version="1")
    assert response.status_code == 200, response.text


def add_orders(topology: Topology, ids: list[str]) -> None:
    with topology.controller() as c:
        body = [{"id": i, "workflowPath": "locked", "deleteWhenTerminated": True} for i in ids]
        response = c.post("/controller/api/order", json=body)
        assert response.status_code == 200, response.text


def snapshot_locks(topology: Topology) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with topology.controller() as c:
        response = c.get("/controller/api/snapshot")
        assert response.status_code == 200, response.text
    objects = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    lock = next(o for o in objects if o["TYPE"] == "LockState" and o["lock"]["path"] == "L")
    return lock, [o for o in objects if o["TYPE"] == "Order"]


def deleted(*ids: str) -> Any:
    return lambda es: {e.get("Key") for e in es if e["TYPE"] == "OrderDeleted"} >= set(ids)


def assert_consistent(lock: dict[str, Any], orders: list[dict[str, Any]]) -> None:
    """Exactly the orders inside the Lock's block hold it, each once; exactly the waiting ones queue."""
    holding = sorted(o["id"] for o in orders if "lock" in o["position"])
    waiting = sorted(o["id"] for o in orders if o["state"]["TYPE"] == "WaitingForLock")
    acquired = lock["acquired"]
    held = sorted(acquired.get("orderToCount", {})) if acquired["TYPE"] == "NonExclusive" else []
    assert held == holding, (acquired, holding)
    assert sum(acquired.get("orderToCount", {}).values()) <= LIMIT
    assert sorted(lock["queue"]) == waiting
    assert len(set(lock["queue"])) == len(lock["queue"])


def test_fifty_orders_over_a_lock_of_three(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    topology = Topology(tmp_path / "nodes")
    try:
        topology.start_all()
        deploy(topology, work)
        ids = [f"order-{i:02}" for i in range(50)]
        add_orders(topology, ids)
        events = topology.wait_for(deleted(*ids), timeout=60)
    finally:
        topology.stop_all()
    assert int((work / "most").read_text()) == LIMIT  # never more, and the lock's room was used
    assert sorted((work / "runs").read_text().split()) == ids  # each job once
    acquired = [e["Key"] for e in events if e["TYPE"] == "OrderLocksAcquired"]
    queued = [e["Key"] for e in events if e["TYPE"] == "OrderLocksQueued"]
    assert acquired == ids  # FIFO: in the order they were added (one AddOrders)
    assert queued == ids[LIMIT:]
    for order_id in ids:
        types = topology.order_events(events, order_id)
        assert types[-3:] == ["OrderLocksReleased", "OrderFinished", "OrderDeleted"], (order_id, types)


def test_controller_killed_while_orders_hold_and_wait_for_a_lock(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    topology = Topology(tmp_path / "nodes")
    try:
        topology.start_all()
        deploy(topology, work)
        ids = [f"order-{i:02}" for i in range(12)]
        add_orders(topology, ids)
        topology.wait_for(lambda es: sum(e["TYPE"] == "OrderLocksAcquired" for e in es) >= 5, timeout=30)
        topology.kill("controller")
        topology.start("controller")
        lock, orders = snapshot_locks(topology)
        assert_consistent(lock, orders)
        assert lock["queue"] or lock["acquired"]["TYPE"] != "Available"  # recovered while in use
        events = topology.wait_for(deleted(*ids), timeout=60)
        lock, orders = snapshot_locks(topology)
    finally:
        topology.stop_all()
    assert topology.nodes["controller"].starts == 2
    assert orders == []
    assert (lock["acquired"], lock["queue"]) == ({"TYPE": "Available"}, [])
    assert int((work / "most").read_text()) <= LIMIT
    assert sorted((work / "runs").read_text().split()) == ids  # no job lost, none run twice
    for order_id in ids:
        types = topology.order_events(events, order_id)
        assert types.count("OrderLocksAcquired") == 1 and types.count("OrderLocksReleased") == 1, types


def test_the_agents_process_limit_starts_the_highest_priority_first(tmp_path: Path) -> None:
    """A job of processLimit 1 busy: the orders waiting for its slot start by priority, FIFO within one."""
    gate = tmp_path / "gate"
    job = {
        "agentPath": "agent",
        "processLimit": 1,
        "executable": {"TYPE": "ShellScriptExecutable", "script": f'while [ ! -e "{gate}" ]; do sleep 0.02; done\n'},
    }
    w = {"path": "one-at-a-time", "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}], "jobs": {"J": job}}
    topology = Topology(tmp_path / "nodes")
    try:
        topology.start_all()
        assert topology.deploy(w, version="1").status_code == 200
        assert topology.add_order("first", "one-at-a-time").status_code == 201
        topology.wait_for(lambda es: any(e["TYPE"] == "OrderProcessingStarted" for e in es))
        waiting = [("low-1", 0), ("low-2", 0), ("high", 5), ("lowest", -5), ("high-2", 5)]
        with topology.controller() as c:
            body = [{"id": i, "workflowPath": "one-at-a-time", "priority": p} for i, p in waiting]
            assert c.post("/controller/api/order", json=body).status_code == 200
        topology.wait_for(lambda es: sum(e["TYPE"] == "OrderAttached" for e in es) == 1 + len(waiting))
        gate.write_text("")
        ids = ["first", *(i for i, _ in waiting)]
        events = topology.wait_for(lambda es: topology.terminated(es, *ids), timeout=60)
    finally:
        topology.stop_all()
    started = [e["Key"] for e in events if e["TYPE"] == "OrderProcessingStarted"]
    assert started == ["first", "high", "high-2", "low-1", "low-2", "lowest"]
