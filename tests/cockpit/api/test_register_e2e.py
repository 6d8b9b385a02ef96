"""Registering a Controller through the JOC API of a running `js7es cockpit` process (real processes): the
Cockpit follows it at once — its orders are in /orders within seconds, no restart — and stops when it is
unregistered; confirm_node_loss reaches a real Cluster Watch, which then holds the confirmation."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from js7es.nodes.certs import create_node_certificate
from js7es.nodes.cockpit.api.passwords import hash_password
from js7es.nodes.tls import client_ssl_context
from tests.cockpit.cockpit_process import COCKPIT_USER, CockpitProcess
from tests.cockpit.test_cockpit_e2e import cockpit_topology, workflow
from tests.e2e.topology import HOST, NodeProcess, Topology
from tests.ports import free_port

pytestmark = pytest.mark.slow
PASSWORD = "root-secret"
FUTURE_MS = 4102444800000  # 2100-01-01: the orders wait, so that /orders shows them


def watch_node(topology: Topology) -> NodeProcess:
    """A Cluster Watch (as tests/e2e/cluster_topology.py starts one) that takes the Cockpit's confirmations."""
    certs = topology.root / "certs"
    create_node_certificate(certs / "ca", certs / "watch", "watch", [HOST, "localhost"])
    data_dir = topology.root / "watch"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    lines = [
        "[cluster-watch]",
        'id = "watch"',
        "[http]",
        f'host = "{HOST}"',
        f"port = {port}",
        "[tls]",
        f'cert = "{certs / "watch" / "node.crt"}"',
        f'key = "{certs / "watch" / "node.key"}"',
        f'ca = "{certs / "ca" / "ca.crt"}"',
        "[users.cockpit]",
        'distinguished-names = ["CN=cockpit"]',
        'permissions = ["Command"]',
        "[users.client]",
        'distinguished-names = ["CN=client"]',
        'permissions = ["SuperPermission"]',
    ]
    config = data_dir / "cluster-watch.toml"
    config.write_text("\n".join(lines) + "\n")
    return NodeProcess(
        kind="cluster-watch", name="watch", config=config, data_dir=data_dir, port=port, log_file=data_dir / "node.log"
    )


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def test_a_controller_registered_while_the_cockpit_runs_is_followed_at_once(tmp_path: Path) -> None:
    topology = cockpit_topology(
        tmp_path / "nodes",
        agents=("agent", "agent2"),
        extra_users={
            "controller2": {"cockpit": COCKPIT_USER},
            "agent2": {"controller2": {"distinguished-names": ["CN=controller2"], "permissions": ["AgentDirector"]}},
        },
    )
    topology.add_controller("controller2", "second")
    cockpit = CockpitProcess(
        topology,
        tmp_path / "cockpit",
        {topology.controller_id: "controller"},
        sections={"joc": {"root-password-hash": hash_password(PASSWORD)}},
    )
    topology.nodes["watch"] = watch_node(topology)
    try:
        topology.start_all()
        items = [i for i in topology.agent_items() if "agent2" in repr(i)]
        with topology.client("controller2") as c:
            operations = [
                {"TYPE": "AddVersion", "versionId": "v1"},
                *({"TYPE": "AddOrChangeSimple", "item": i} for i in items),
                {"TYPE": "AddOrChangeSimple", "item": workflow("other", agent="agent2")},
            ]
            assert c.post("/controller/api/item", json=operations).status_code == 200
        cockpit.start()
        cockpit.wait_ready()
        second_url = f"https://{HOST}:{topology.nodes['controller2'].port}"
        watch_url = f"https://{HOST}:{topology.nodes['watch'].port}"
        verify = client_ssl_context(topology.client_tls)
        with httpx.Client(base_url=f"https://{HOST}:{cockpit.port}/joc/api", verify=verify, timeout=30) as joc:
            login = joc.post("/authentication/login", auth=("root", PASSWORD))
            assert login.status_code == 200, login.text
            joc.headers["X-Access-Token"] = login.headers["X-Access-Token"]

            tested = joc.post("/controller/test", json={"url": second_url})
            assert tested.json()["controller"]["controllerId"] == "second", tested.text
            body = {
                "controllers": [{"url": second_url, "role": "STANDALONE", "title": "second"}],
                "clusterWatchUrl": watch_url,
                "auditLog": {"comment": "a second Controller"},
            }
            registered = joc.post("/controller/register", json=body)
            assert registered.status_code == 200, registered.text
            assert registered.json()["controllerId"] == "second"
            assert joc.post("/controller/ids").json()["controllerIds"] == [topology.controller_id, "second"]

            with topology.client("controller2") as c:
                orders = [{"id": f"o{i}", "workflowPath": "other", "scheduledFor": FUTURE_MS} for i in range(3)]
                assert c.post("/controller/api/order", json=orders).status_code in (200, 201)
            started = time.monotonic()

            def listed() -> list[str]:
                r = joc.post("/orders", json={"controllerId": "second"})
                assert r.status_code == 200, r.text
                return sorted(o["orderId"] for o in r.json()["orders"])

            assert wait_for(listed, 15, "the second Controller's orders in /orders") == ["o0", "o1", "o2"]
            assert time.monotonic() - started < 15
            assert cockpit.overview()["controllers"]["second"]["state"] == "Following"

            # confirm_node_loss reaches the registered Cluster Watch, audited
            confirm = {"controllerId": "second", "lostNodeId": "Primary", "auditLog": {"comment": "host burnt"}}
            confirmed = joc.post("/controller/cluster/confirm_node_loss", json=confirm)
            assert confirmed.status_code == 200, confirmed.text
            with topology.client("watch") as w:
                view = w.get("/cluster-watch/api/cluster", params={"clusterId": "second"}).json()
            assert [(c["lostNodeId"], c["confirmer"]) for c in view["confirmations"]] == [("Primary", "root")]

            unregistered = joc.post("/controller/unregister", json={"controllerId": "second"})
            assert unregistered.status_code == 200, unregistered.text
            assert joc.post("/controller/ids").json()["controllerIds"] == [topology.controller_id]
            assert "second" not in cockpit.overview()["controllers"]
            assert joc.post("/orders", json={"controllerId": "second"}).json()["error"]["code"] == "JOC-002"
    finally:
        cockpit.kill()
        topology.stop_all()
