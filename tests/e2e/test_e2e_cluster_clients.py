"""`js7es ctl` given both nodes of a Controller cluster always reaches the active one (issue 4, Must 6)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster_topology import ClusterTopology
from tests.e2e.test_e2e_chaos import side_effect_workflow

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[ClusterTopology]:
    topo = ClusterTopology(tmp_path)
    for name in ("watch", "agent", "primary", "backup"):
        topo.start(name, wait=False)
    for name in ("watch", "agent", "primary", "backup"):
        topo.wait_ready(name)
    try:
        yield topo
    finally:
        topo.stop_all()


def ctl(
    topo: ClusterTopology, *args: str, nodes: tuple[str, ...] = ("backup", "primary")
) -> subprocess.CompletedProcess[str]:
    certs = topo.root / "certs"
    where = [a for n in nodes for a in ("--controller", f"https://127.0.0.1:{topo.nodes[n].port}")]
    tls = ["--ca", str(certs / "ca" / "ca.crt"), "--cert", str(certs / "client" / "node.crt"),
           "--key", str(certs / "client" / "node.key")]  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", "ctl", *where, *tls, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_ctl_follows_the_active_node_through_switchover_and_failover(cluster: ClusterTopology) -> None:
    assert cluster.wait_coupled() == "primary"
    log = cluster.root / "effects.log"
    assert cluster.deploy(side_effect_workflow("effects", log), version="v1").status_code == 200
    # The standby is given first: ctl goes on to the active node.
    added = ctl(cluster, "add-order", "effects", "--id", "first")
    assert added.returncode == 0, added.stderr
    shown = ctl(cluster, "cluster")
    assert shown.returncode == 0, shown.stderr
    assert "Cluster Coupled, active node Primary" in shown.stdout  # as the node reached first sees it
    # Only the standby: its problem names the active node, exit code 1.
    refused = ctl(cluster, "add-order", "effects", "--id", "x", nodes=("backup",))
    assert refused.returncode == 1
    assert "ClusterNodeIsNotActive" in refused.stderr and "Primary" in refused.stderr
    # Switchover by ctl; then the next request reaches the Backup.
    switched = ctl(cluster, "switch-over")
    assert switched.returncode == 0, switched.stderr
    assert cluster.wait_coupled(timeout=30) == "backup"
    # `ctl cluster` shows the active node's view although the standby Primary is named first (a standby's
    # view lags, and a restarted former active one shows its old state until it has caught up).
    shown_active = json.loads(ctl(cluster, "cluster", "--json", nodes=("primary", "backup")).stdout)
    assert shown_active["nodeId"] == "Backup" and shown_active["active"] is True
    assert ctl(cluster, "add-order", "effects", "--id", "second").returncode == 0
    # Failover: the Backup is killed, the Primary takes over, ctl follows.
    cluster.kill("backup")
    cluster.wait_active("primary", timeout=30)
    third = ctl(cluster, "add-order", "effects", "--id", "third")
    assert third.returncode == 0, third.stderr
    events = cluster.wait_for(lambda ev: cluster.terminated(ev, "first", "second", "third"), timeout=60)
    assert {e["Key"] for e in events if e["TYPE"] == "OrderFinished"} >= {"first", "second", "third"}
    shown = ctl(cluster, "cluster", "--json")
    assert shown.returncode == 0 and '"FailedOver"' in shown.stdout
