"""deploy/compose/cluster.yaml without Docker: its services as processes on loopback, with the same
configurations (container paths and service names mapped to this machine), the certificates of its
init service and the image's health check; then the failover scenario that tests/deploy/test_containers.py
runs on the containers. The e2e tests (tests/e2e/test_e2e_cluster*.py) cover the cluster in depth.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from js7es.nodes.tls import TlsConfig, client_ssl_context
from tests.deploy.compose_model import DEPLOY, Compose, Localized, Service
from tests.deploy.scenario import cluster_info, coupled_active, run_failover_scenario, wait
from tests.e2e.topology import HOST
from tests.ports import free_port

pytestmark = pytest.mark.slow

START_ORDER = ("cluster-watch", "agent", "primary", "backup", "cockpit")  # as depends_on in cluster.yaml


class ProcessCluster:
    """cluster.yaml's services as processes: a `ClusterDriver` (tests/deploy/scenario.py)."""

    def __init__(self, root: Path) -> None:
        compose = Compose.load("cluster.yaml")
        self.services = compose.services
        nodes = [s for s in self.services.values() if s.is_node]
        assert sorted(s.name for s in nodes) == sorted(START_ORDER)
        self.localized = Localized(compose, root, hosts={s.name: (HOST, free_port()) for s in nodes})
        self.root = root
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        # ctl sees the item files at /etc/js7es/items; here they are copies with the Agent's URI made local.
        ctl = self.services["ctl"]
        items = root / "items"
        items.mkdir()
        for item in ctl.host_path("/etc/js7es/items").iterdir():
            (items / item.name).write_text(self.localized.text(ctl, item.read_text()))
        self.items_dir = str(items)

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def init(self) -> None:
        result = self.localized.run_init()
        assert result.returncode == 0, result.stdout + result.stderr

    def start(self, name: str) -> None:
        service = self.services[name]
        argv = self.localized.argv(service)
        self.log(name).parent.mkdir(exist_ok=True)
        with self.log(name).open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "js7es.nodes.cli", *argv],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def healthy(self, name: str) -> bool:
        """The image's HEALTHCHECK script, given the service's command line."""
        process = self.processes[name]
        assert process.poll() is None, f"{name} exited with {process.returncode}:\n{self.tail(name)}"
        result = self.health(self.services[name])
        return result.returncode == 0

    def health(self, service: Service) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(DEPLOY / "healthcheck.py"), *self.localized.argv(service)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = self.localized.argv(self.services["ctl"])
        return subprocess.run(
            [sys.executable, "-m", "js7es.nodes.cli", *argv[: argv.index("--key") + 2], *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def cockpit_status(self) -> dict[str, Any]:
        """The Cockpit's follower of the Controller, from its public health route."""
        cockpit = self.services["cockpit"]
        host, port = self.localized.hosts["cockpit"]
        certs = Path(self.localized.text(cockpit, "/etc/js7es/certs"))
        tls = TlsConfig.from_dir(certs / "cli", certs / "cockpit")
        with httpx.Client(base_url=f"https://{host}:{port}", verify=client_ssl_context(tls), timeout=10) as client:
            response = client.get("/cockpit/api/health")
        assert response.status_code == 200, response.text
        status: dict[str, Any] = response.json()["controllers"]["js7es"]
        return status

    def kill(self, service: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[service]
        if process.poll() is None:
            process.send_signal(sig)
        process.wait(timeout=60)

    def tail(self, name: str) -> str:
        path = self.log(name)
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def diagnostics(self) -> str:
        return "\n".join(f"---- {name}\n{self.tail(name)}" for name in self.processes)

    def stop(self) -> None:
        for name in reversed(list(self.processes)):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.kill(name, signal.SIGTERM)
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessCluster]:
    cluster = ProcessCluster(tmp_path)
    cluster.init()
    try:
        for name in START_ORDER:
            cluster.start(name)
        for name in START_ORDER:
            wait(cluster, f"{name} is healthy", lambda n=name: True if cluster.healthy(n) else None, 90)
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.timeout(900)
def test_cluster_yaml_as_processes_fails_over(processes: ProcessCluster) -> None:
    run_failover_scenario(processes, timeout=90)
    # The Cockpit follows the new active node up to its last event.
    info = cluster_info(processes)
    assert info is not None and info["nodeId"] == "Backup"
    backup_uri = "https://{}:{}".format(*processes.localized.hosts["backup"])

    def cockpit_caught_up() -> bool | None:
        status = processes.cockpit_status()
        return True if status["uri"] == backup_uri and status["eventId"] >= info["eventId"] else None

    wait(processes, "the Cockpit follows the new active node", cockpit_caught_up, 90)
    # Every node that runs answers the image's health check.
    for name in ("cluster-watch", "agent", "backup", "cockpit"):
        result = processes.health(processes.services[name])
        assert result.returncode == 0, result.stdout
    # The killed node comes back as standby and the cluster couples again.
    processes.start("primary")
    wait(processes, "primary is healthy again", lambda: True if processes.healthy("primary") else None, 90)
    assert wait(processes, "coupled again", lambda: coupled_active(processes), 90) == "backup"


@pytest.mark.timeout(600)
def test_standalone_yaml_as_a_process(tmp_path: Path) -> None:
    """standalone.yaml's command on its volume here (with free ports instead of 4444-4446, which may be
    taken on this machine): healthy by the image's check, `js7es ctl` finds it by the service's
    JS7ES_DATA_DIR alone, and SIGTERM stops it within the service's stop_grace_period."""
    localized = Localized(Compose.load("standalone.yaml"), tmp_path)
    (service,) = localized.compose.services.values()
    argv = [localized.text(service, a) for a in service.js7es_argv or []]
    argv += ["--controller-port", str(free_port()), "--agent-port", str(free_port())]
    env = {**os.environ, **{k: localized.text(service, v) for k, v in service.spec["environment"].items()}}
    log = tmp_path / "standalone.log"
    with log.open("ab") as out:
        command = [sys.executable, "-m", "js7es.nodes.cli", *argv]
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path, env=env)
    try:

        def healthy() -> bool | None:
            assert process.poll() is None, log.read_text()
            result = subprocess.run(
                [sys.executable, str(DEPLOY / "healthcheck.py"), *argv], capture_output=True, text=True, check=False
            )
            return True if result.returncode == 0 else None

        deadline = time.monotonic() + 120
        while not healthy():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)

        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()

        def sample_finished() -> bool:
            result = subprocess.run(
                [sys.executable, "-m", "js7es.nodes.cli", "ctl", "orders", "--json"],
                capture_output=True,
                text=True,
                env=env,
                cwd=elsewhere,  # not the data directory's parent: the environment names it
                check=False,
            )
            assert result.returncode == 0, result.stderr
            states = {o["id"]: o["state"]["TYPE"] for o in map(json.loads, result.stdout.splitlines())}
            return states.get("hello-sample") == "Finished"

        deadline = time.monotonic() + 60
        while not sample_finished():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        grace = float(str(service.spec["stop_grace_period"]).removesuffix("s"))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=grace) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
