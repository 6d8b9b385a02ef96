"""The active Cockpit as the Cluster Watch of a Controller cluster (issue 19, Must 3 and 4), real processes:
Primary, Backup and an Agent, two Cockpits "a" and "b" on the real PostgreSQL (tests/cockpit/
watch_cluster.py). Both Controller nodes name both Cockpits as their Watch; all along, a thread polls
both nodes' cluster state: never two active Controller nodes.

1. Only the active Cockpit answers as the Watch (b: 503 ClusterWatchStandby naming a, also to
   `js7es ctl confirm-node-loss --watch b`) and it is taught by the active node's reports; kill -9 of the
   active Controller: a grants the failover.
2. kill -9 of the active Cockpit a: b takes over, its Watch starts untaught and is taught by the active
   Controller's reports (JS7: an untaught Watch learns from the active node); then kill -9 of the active
   Controller: b grants the failover.
3. The stale Cockpit: b (active) is paused with SIGSTOP past its lease, a takes over; after SIGCONT, b
   refuses a node loss that its old knowledge would grant (503 ClusterWatchStandby), and drops its Watch.
4. kill -9 of the active Cockpit, then at once of the active Controller: the new active Cockpit's Watch
   is untaught and the dead node never reports, so it refuses the failover (UntaughtClusterWatch); a
   person confirms the loss through ``/joc/api/controller/cluster/confirm_node_loss`` (JOC's shape,
   audited): the failover goes through.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cockpit.cockpit_process import CockpitProcess
from tests.cockpit.conftest import require_postgres
from tests.cockpit.test_cockpit_e2e import Database
from tests.cockpit.watch_cluster import ActiveControllers, CockpitWatchedCluster, wait_until
from tests.e2e.cluster_topology import NODE_ID
from tests.ports import HOST

pytestmark = pytest.mark.slow


def other(name: str) -> str:
    return "backup" if name == "primary" else "primary"


def full_log(cockpit: CockpitProcess) -> str:
    return cockpit.log_file.read_text(errors="replace")


def granted_in(cockpit: CockpitProcess) -> list[str]:
    return [line for line in full_log(cockpit).splitlines() if "node loss GRANTED" in line]


def restart_standby(cluster: CockpitWatchedCluster, name: str) -> None:
    """The killed Controller node back, as the standby of the other; until Coupled again."""
    cluster.topology.start(name)
    assert cluster.topology.wait_coupled(timeout=60) == other(name)


def test_the_cockpit_pair_is_the_watch_of_the_controller_cluster(tmp_path: Path) -> None:
    require_postgres()
    database = Database("postgres", tmp_path)
    url, schema = database.fresh("watch")
    cluster = CockpitWatchedCluster(tmp_path, url, schema)
    topology = cluster.topology
    a, b = cluster.cockpits["a"], cluster.cockpits["b"]
    poller = ActiveControllers(topology)
    try:
        cluster.start()
        poller.start()

        # 1. a is the Watch, b a standby; a grants the failover after kill -9 of the active Controller
        assert cluster.cockpit_cluster("a")["watchRunning"] and not cluster.cockpit_cluster("b")["watchRunning"]
        wait_until(lambda: cluster.taught("a"), 30, "a's Watch to be taught by the active node")
        status, body = cluster.watch_view("b")
        assert status == 503 and body["code"] == "ClusterWatchStandby", body
        assert body["arguments"]["activeMember"] == "a", body
        refused = ctl_confirm(cluster, "b", "Backup")  # `js7es ctl confirm-node-loss` at the standby
        assert refused.returncode == 1 and "ClusterWatchStandby" in refused.stderr, refused.stderr
        active = topology.wait_coupled()
        topology.kill(active)
        assert topology.wait_active(other(active), timeout=30) == other(active)
        assert len(granted_in(a)) == 1 and f"{NODE_ID[other(active)]} asks to fail over" in full_log(a)
        assert not granted_in(b)
        restart_standby(cluster, active)
        active = other(active)

        # 2. kill -9 of the active Cockpit: b's Watch starts untaught, learns, and grants the next failover
        a.kill()
        wait_until(lambda: cluster.cockpit_cluster("b").get("active"), 30, "b to take over")
        assert cluster.cockpit_cluster("b")["generation"] == 2
        wait_until(lambda: cluster.taught("b"), 30, "b's Watch to be taught by the active node")
        assert "Cluster Watch of its Controller clusters (lease generation 2): untaught" in full_log(b)
        topology.kill(active)
        assert topology.wait_active(other(active), timeout=30) == other(active)
        assert len(granted_in(b)) == 1
        restart_standby(cluster, active)
        active = other(active)
        a.start()  # back as a standby
        a.wait_ready()
        wait_until(lambda: cluster.cockpit_cluster("a").get("activeMember") == "b", 30, "a to see b active")

        # 3. the stale Cockpit grants nothing after it is continued
        wait_until(lambda: cluster.taught("b"), 30, "b's Watch to be taught")
        state = topology.info(active)
        assert state is not None and state["clusterState"]["TYPE"] == "Coupled"
        assert b.process is not None
        b.process.send_signal(signal.SIGSTOP)
        try:
            wait_until(lambda: cluster.cockpit_cluster("a").get("active"), 30, "a to take over from the paused b")
            wait_until(lambda: cluster.taught("a"), 30, "a's Watch to be taught")
            time.sleep(topology.heartbeat_timeout + 0.5)  # b's memory: the active's last report is old
        finally:
            b.process.send_signal(signal.SIGCONT)
        # What the standby would send for a failover from the active node, which b's old knowledge (Coupled,
        # active silent for longer than the heartbeat timeout) would grant if b still answered.
        failover = {
            "clusterId": topology.controller_id,
            "from": NODE_ID[other(active)],
            "lostNodeId": NODE_ID[active],
            "eventId": 10**15,
            "failedAt": 10**15,
            "clusterState": state["clusterState"],
        }
        with cluster.watch_client("b") as client:
            refused = client.post("/cluster-watch/api/node-loss", json=failover)
        assert refused.status_code == 503 and refused.json()["code"] == "ClusterWatchStandby", refused.text
        wait_until(lambda: not cluster.cockpit_cluster("b").get("watchRunning"), 30, "b to drop its Watch")
        assert len(granted_in(b)) == 1  # the one of part 2
        assert topology.active() == active and topology.info(other(active)) is not None

        # 4. the new Watch untaught, the active Controller gone: a person confirms the loss
        wait_until(lambda: cluster.cockpit_cluster("b").get("activeMember") == "a", 30, "b to see a active")
        a.kill()
        topology.kill(active)
        wait_until(lambda: cluster.cockpit_cluster("b").get("active"), 30, "b to take over")
        survivor = other(active)
        wait_until(lambda: "UntaughtClusterWatch" in full_log(b), 30, "b's Watch to refuse the failover as untaught")
        assert not cluster.taught("b") and topology.active() is None
        token = cluster.joc_login("b")
        with b.client() as client:
            answer = client.post(
                "/joc/api/controller/cluster/confirm_node_loss",
                json={"controllerId": topology.controller_id, "auditLog": {"comment": "Primary's host is gone"}},
                headers={"X-Access-Token": token},
            )
        assert answer.status_code == 200, answer.text
        assert answer.json()["lostNodeId"] == NODE_ID[active]
        assert topology.wait_active(survivor, timeout=30) == survivor
        assert f"root confirmed the loss of {NODE_ID[active]}" in full_log(b)
        wait_until(  # the audit log is projected from the Cockpit's store by its own follower
            lambda: any(
                e.get("request") == "./controller/cluster/confirm_node_loss" for e in audit_entries(cluster, token)
            ),
            30,
            "the confirmation audited",
        )
    finally:
        try:
            poller.stop()
        finally:
            try:
                cluster.stop()
            finally:
                database.close()
    assert poller.polls > 100 and poller.most == 1, poller.both


def ctl_confirm(cluster: CockpitWatchedCluster, name: str, lost: str) -> subprocess.CompletedProcess[str]:
    tls = cluster.tester_tls
    return subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", "ctl", "--ca", str(tls.ca_file), "--cert", str(tls.cert_file),
         "--key", str(tls.key_file), "confirm-node-loss", "--watch", f"https://{HOST}:{cluster.cockpits[name].port}",
         "--cluster-id", cluster.topology.controller_id, "--lost-node", lost, "--confirmer", "Jane"],
        capture_output=True, text=True, timeout=60, cwd=cluster.topology.root,
    )  # fmt: skip


def audit_entries(cluster: CockpitWatchedCluster, token: str) -> list[dict[str, Any]]:
    with cluster.cockpits["b"].client() as client:
        answer = client.post(
            "/joc/api/audit_log",
            json={"controllerId": cluster.topology.controller_id, "limit": 100},
            headers={"X-Access-Token": token},
        )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["auditLog"])
