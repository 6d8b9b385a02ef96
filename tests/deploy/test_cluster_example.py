"""deploy/config/cluster/: the two-node Controller cluster a newcomer sets up by hand (issue 10). The files
load with the nodes' own parsers, their URIs, certificate CNs and users fit together, and, started as
they are (only the ports moved to free ones, the data beside a copy of them), the cluster couples,
`js7es ctl cluster` says a failover is possible, and the standby takes over when the active is killed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from js7es.nodes.certs import create_ca, create_node_certificate
from js7es.nodes.http.auth import Users
from js7es.nodes.tls import TlsConfig, client_ssl_context
from tests.deploy.compose_model import REPO, load_config
from tests.e2e.topology import free_port

EXAMPLE = REPO / "deploy" / "config" / "cluster"
FILES = {"primary": "controller", "backup": "controller", "cluster-watch": "cluster-watch", "agent": "agent"}
PORTS = {"primary": 4444, "backup": 4454, "cluster-watch": 4447, "agent": 4445}
DATA = "js7es-data-cluster"


class Example:
    """A copy of deploy/config/cluster at <root>/deploy/config/cluster (so that its relative paths land in
    <root>/js7es-data-cluster), on free ports, with the certificates its README makes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.dir = root / "deploy" / "config" / "cluster"
        self.dir.mkdir(parents=True)
        self.ports = {name: free_port() for name in PORTS}
        for name in FILES:
            text = (EXAMPLE / f"{name}.toml").read_text()
            for other, port in PORTS.items():
                text = re.sub(rf"\b{port}\b", str(self.ports[other]), text)
            (self.dir / f"{name}.toml").write_text(text)
        certs = root / DATA / "certs"
        create_ca(certs / "ca")
        for node in (*FILES, "cli"):
            create_node_certificate(certs / "ca", certs / node, node, ["127.0.0.1", "localhost"])
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def config(self, name: str) -> Path:
        return self.dir / f"{name}.toml"

    def start(self, name: str) -> None:
        with (self.root / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "js7es.nodes.cli", FILES[name], "--config", str(self.config(name))],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            process.send_signal(sig)
            process.wait(timeout=30)

    def client(self, name: str) -> httpx.Client:
        certs = self.root / DATA / "certs"
        tls = TlsConfig(
            cert_file=certs / "cli" / "node.crt", key_file=certs / "cli" / "node.key", ca_file=certs / "ca" / "ca.crt"
        )
        return httpx.Client(base_url=f"https://127.0.0.1:{self.ports[name]}", verify=client_ssl_context(tls), timeout=5)

    def info(self, name: str) -> dict[str, Any]:
        try:
            with self.client(name) as c:
                response = c.get("/controller/api/cluster")
            return response.json() if response.status_code == 200 else {}
        except httpx.HTTPError:
            return {}

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        certs = self.root / DATA / "certs"
        return subprocess.run(
            [
                sys.executable, "-m", "js7es.nodes.cli", "ctl",
                "--controller", f"https://127.0.0.1:{self.ports['primary']}",
                "--controller", f"https://127.0.0.1:{self.ports['backup']}",
                "--ca", str(certs / "ca" / "ca.crt"),
                "--cert", str(certs / "cli" / "node.crt"),
                "--key", str(certs / "cli" / "node.key"),
                *args,
            ],
            capture_output=True, text=True, timeout=60, cwd=self.root,
        )  # fmt: skip

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def metric_values(example: Example, name: str) -> dict[str, float]:
    """The unlabelled samples of the node's ``GET /metrics``."""
    with example.client(name) as c:
        response = c.get("/metrics")
    assert response.status_code == 200, response.text
    return {
        line.split()[0]: float(line.split()[1])
        for line in response.text.splitlines()
        if line and not line.startswith("#") and "{" not in line
    }


@pytest.fixture
def example(tmp_path: Path) -> Iterator[Example]:
    ex = Example(tmp_path)
    try:
        yield ex
    finally:
        for name in FILES:
            ex.kill(name, signal.SIGTERM)


def test_the_files_load_and_their_uris_cns_and_users_fit_together(example: Example) -> None:
    settings = {name: load_config(kind, example.config(name)) for name, kind in FILES.items()}

    def permissions(node: str, peer_cn: str) -> set[str]:
        user = Users.from_config(settings[node].users).by_peer({"commonName": peer_cn})
        return set(user.permissions) if user is not None else set()

    node_ids = {"primary": "Primary", "backup": "Backup"}
    for node, peer in (("primary", "backup"), ("backup", "primary")):
        cluster = settings[node].cluster
        assert cluster.node_id == node_ids[node]
        assert cluster.nodes == {node_ids[n]: f"https://127.0.0.1:{example.ports[n]}" for n in node_ids}
        assert list(cluster.watches) == [f"https://127.0.0.1:{example.ports['cluster-watch']}"]
        assert {"ReadState", "Command"} <= permissions(node, peer)  # replication by the peer's certificate
        assert {"ReadState", "Command", "UpdateItem"} <= permissions(node, "cli")
        tls = settings[node].tls
        assert tls is not None and tls.cert.is_file() and f"/certs/{node}/" in str(tls.cert)
    assert settings["primary"].controller_id == settings["backup"].controller_id
    for node in ("primary", "backup"):
        assert "Command" in permissions("cluster-watch", node)
        assert "AgentDirector" in permissions("agent", node)
    assert permissions("cluster-watch", "agent") == set()


def test_the_example_couples_and_fails_over(example: Example) -> None:
    for name in ("cluster-watch", "agent", "primary", "backup"):
        example.start(name)
    deadline = time.monotonic() + 60
    while not (
        example.info("primary").get("active")
        and (example.info("primary").get("clusterState") or {}).get("TYPE") == "Coupled"
        and (example.info("primary").get("clusterWatch") or {}).get("failoverPossible")
    ):
        assert time.monotonic() < deadline, (example.info("primary"), example.log("primary"), example.log("backup"))
        time.sleep(0.1)
    shown = example.ctl("cluster")
    assert shown.returncode == 0, shown.stderr
    assert "Cluster Coupled, active node Primary" in shown.stdout
    assert "Failover: possible now" in shown.stdout
    metrics = {name: metric_values(example, name) for name in ("primary", "backup")}
    assert metrics["primary"]["js7es_cluster_node_active"] == 1.0
    assert metrics["primary"]["js7es_cluster_failover_possible"] == 1.0
    assert metrics["backup"]["js7es_cluster_node_active"] == 0.0
    assert metrics["backup"]["js7es_cluster_standby_problem"] == 0.0
    assert metrics["backup"]["js7es_cluster_standby_applier_failures"] == 0.0

    example.kill("primary")
    deadline = time.monotonic() + 30
    while not (example.info("backup").get("active") and example.info("backup").get("ready")):
        assert time.monotonic() < deadline, (example.info("backup"), example.log("backup"))
        time.sleep(0.1)
    shown = example.ctl("cluster")
    assert shown.returncode == 0, shown.stderr
    assert "Cluster FailedOver, active node Backup" in shown.stdout
    assert "Failover: not possible now: the cluster is FailedOver" in shown.stdout
    shutil.rmtree(example.root / DATA / "primary", ignore_errors=True)
