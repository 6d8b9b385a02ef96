"""A Controller cluster of real processes: coupling, replication, failover with fencing, switchover,
the standby's answers, and the Cluster Watch's veto (issue 4)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.cluster_topology import NODES, ClusterTopology, assert_journals_agree, running_cluster
from tests.e2e.test_e2e_chaos import finished_orders, lines, side_effect_workflow

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ClusterTopology]:
    with running_cluster(tmp_path) as topo:  # stopped also when starting fails
        yield topo


def deploy(topo: ClusterTopology, log: Path, version: str = "v1", **kw: Any) -> None:
    response = topo.deploy(side_effect_workflow("effects", log, **kw), version=version)
    assert response.status_code == 200, response.text


def add_orders(topo: ClusterTopology, prefix: str, n: int) -> list[str]:
    ids = [f"{prefix}-{i}" for i in range(n)]
    for order_id in ids:
        response = topo.add_order(order_id, "effects")
        assert response.status_code == 201, response.text
    return ids


def other(name: str) -> str:
    return "backup" if name == "primary" else "primary"


def test_the_cluster_couples_replicates_and_the_standby_names_the_active(cluster: ClusterTopology) -> None:
    assert cluster.wait_coupled() == "primary"
    log = cluster.root / "effects.log"
    deploy(cluster, log)
    ids = add_orders(cluster, "a", 20)
    events = cluster.wait_for(lambda ev: cluster.terminated(ev, *ids))
    assert all(finished_orders(events)[i] == 1 for i in ids)
    # The standby refuses writes and names the active node.
    with cluster._client(cluster.nodes["backup"]) as c:
        response = c.post("/controller/api/order", json={"id": "x", "workflowPath": "effects"})
        assert response.status_code == 503
        body = response.json()
        assert body["code"] == "ClusterNodeIsNotActive"
        assert body["arguments"]["activeId"] == "Primary"
        assert str(cluster.nodes["primary"].port) in body["arguments"]["activeUri"]
        assert c.get("/controller/api/event", params={"after": 0}).json()["code"] == "ClusterNodeIsNotActive"
    # Both journals hold the same committed events.
    cluster.kill("primary", 15)
    cluster.kill("backup", 15)
    assert assert_journals_agree(cluster) > 20 * 5


def test_failover_after_kill_fences_the_old_active_and_couples_again(cluster: ClusterTopology) -> None:
    assert cluster.wait_coupled() == "primary"
    log = cluster.root / "effects.log"
    deploy(cluster, log, seconds=0.2)
    ids = add_orders(cluster, "b", 10)
    cluster.kill("primary")
    killed_at = time.monotonic()
    assert cluster.wait_active("backup", timeout=20) == "backup"
    failover_s = time.monotonic() - killed_at
    info = cluster.info("backup")
    assert info is not None and info["clusterState"]["TYPE"] == "FailedOver"
    more = add_orders(cluster, "c", 5)
    events = cluster.wait_for(lambda ev: cluster.terminated(ev, *ids, *more), timeout=60)
    effects = lines(log)
    assert all(effects[i] == 1 for i in [*ids, *more]), effects
    assert all(finished_orders(events)[i] == 1 for i in [*ids, *more])
    # The old active comes back as standby (fenced) and the cluster couples again.
    cluster.start("primary")
    assert cluster.wait_coupled(timeout=30) == "backup"
    assert failover_s < 10
    cluster.kill("primary", 15)
    cluster.kill("backup", 15)
    assert_journals_agree(cluster)


def test_switchover_by_command_and_back(cluster: ClusterTopology) -> None:
    assert cluster.wait_coupled() == "primary"
    log = cluster.root / "effects.log"
    deploy(cluster, log)
    all_ids: list[str] = []
    for round_ in range(2):
        active = cluster.wait_coupled()
        all_ids += add_orders(cluster, f"s{round_}", 5)
        response = cluster.command({"TYPE": "ClusterSwitchOver"})
        assert response.status_code == 200, response.text
        assert cluster.wait_coupled(timeout=30) == other(active)
    events = cluster.wait_for(lambda ev: cluster.terminated(ev, *all_ids), timeout=60)
    assert all(finished_orders(events)[i] == 1 for i in all_ids)
    assert all(lines(log)[i] == 1 for i in all_ids)


def test_no_failover_without_the_cluster_watch(cluster: ClusterTopology) -> None:
    assert cluster.wait_coupled() == "primary"
    cluster.kill("watch")
    cluster.kill("primary")
    time.sleep(cluster.heartbeat_timeout * 4)
    assert cluster.active_nodes() == []
    info = cluster.info("backup")
    assert info is not None and not info["active"]
    # The Watch comes back untaught: still no failover, until a person confirms the loss.
    cluster.start("watch")
    time.sleep(cluster.heartbeat_timeout * 2)
    assert cluster.active_nodes() == []
    with cluster.client("watch") as c:
        response = c.post(
            "/cluster-watch/api/confirm-node-loss",
            json={"clusterId": cluster.controller_id, "lostNodeId": "Primary", "confirmer": "test"},
        )
        assert response.status_code == 200, response.text
    assert cluster.wait_active("backup", timeout=20) == "backup"


def test_a_clean_shutdown_of_the_active_is_no_failover(cluster: ClusterTopology) -> None:
    assert cluster.wait_coupled() == "primary"
    cluster.kill("primary", 15)
    time.sleep(cluster.heartbeat_timeout * 3)
    assert cluster.active_nodes() == []
    info = cluster.info("backup")
    assert info is not None and info["clusterState"]["TYPE"] == "ActiveShutDown"
    cluster.start("primary")
    assert cluster.wait_coupled(timeout=30) == "primary"


def test_restart_of_both_nodes_after_a_failover(cluster: ClusterTopology) -> None:
    assert cluster.wait_coupled() == "primary"
    log = cluster.root / "effects.log"
    deploy(cluster, log)
    ids = add_orders(cluster, "r", 5)
    cluster.kill("primary")
    cluster.wait_active("backup", timeout=20)
    more = add_orders(cluster, "q", 5)
    cluster.kill("backup")
    for name in NODES:
        cluster.start(name, wait=False)
    for name in NODES:
        cluster.wait_ready(name)
    assert cluster.wait_coupled(timeout=40) == "backup"
    cluster.wait_for(lambda ev: cluster.terminated(ev, *ids, *more), timeout=60)
    assert all(lines(log)[i] == 1 for i in [*ids, *more])


def wait_finished(topo: ClusterTopology, ids: list[str], timeout: float = 60) -> None:
    """Until the orders are Finished (by their state: the journal's beginning may be released)."""
    deadline = time.monotonic() + timeout
    states: dict[str, str] = {}
    while time.monotonic() < deadline:
        try:
            with topo.controller() as c:
                orders = c.get("/controller/api/order", params={"id": ids}).json()["orders"]
            states = {o["id"]: o["state"]["TYPE"] for o in orders}
            if len(states) == len(ids) and set(states.values()) == {"Finished"}:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"not finished: {states}")


def test_a_standby_whose_position_was_released_starts_from_the_snapshot(tmp_path: Path) -> None:
    cluster = ClusterTopology(tmp_path, snapshot_after_events=40)
    for name in ("watch", "agent", "primary", "backup"):
        cluster.start(name, wait=False)
    try:
        for name in ("watch", "agent", "primary", "backup"):
            cluster.wait_ready(name)
        assert cluster.wait_coupled() == "primary"
        log = cluster.root / "effects.log"
        deploy(cluster, log)
        first = add_orders(cluster, "before", 5)
        wait_finished(cluster, first)
        cluster.kill("backup")  # the active goes on alone (PassiveLost, with the Watch's consent)
        later = add_orders(cluster, "while-down", 30)
        wait_finished(cluster, later)
        segments = sorted((cluster.nodes["primary"].data_dir / "state").glob("controller--*.journal"))
        backup_last = max(
            int(p.stem.split("--")[1])
            for p in (cluster.nodes["backup"].data_dir / "state").glob("controller--*.journal")
        )
        assert int(segments[0].stem.split("--")[1]) > backup_last  # what the standby needs is released
        cluster.start("backup")
        assert cluster.wait_coupled(timeout=30) == "primary"
        last = add_orders(cluster, "after", 5)
        wait_finished(cluster, last)
        assert "Starting from the active node's snapshot" in cluster.log("backup")
        cluster.kill("primary", 15)
        cluster.kill("backup", 15)
        assert_journals_agree(cluster)  # event lines in common, or equal states at the same EventId
        assert all(lines(log)[i] == 1 for i in [*first, *later, *last])
    finally:
        cluster.stop_all()
