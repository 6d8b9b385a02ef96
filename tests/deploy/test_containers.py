"""deploy/compose/cluster.yaml on a Docker engine (testcontainers' DockerCompose): the image is built,
the cluster comes up healthy, a workflow and an order are deployed through the active node, the active
container is killed, the other node takes over and the order finishes.

Without a reachable Docker engine (and the compose plugin) the test skips, naming what is missing: the
same scenario runs on processes in tests/deploy/test_compose_processes.py, and the cluster in depth in
tests/e2e/test_e2e_cluster*.py.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.deploy.compose_model import COMPOSE_DIR, Compose
from tests.deploy.scenario import coupled_active, run_failover_scenario, wait

pytestmark = pytest.mark.slow

COMPOSE_FILE = "cluster.yaml"
START_TIMEOUT_S = 300.0  # a cold start: the Cluster Watch healthy first, then both nodes coupled
SCENARIO_TIMEOUT_S = 120.0


def docker_missing() -> str | None:
    """Why cluster.yaml cannot run here, or None."""
    docker = shutil.which("docker")
    if docker is None:
        return "no docker CLI on PATH"
    try:
        info = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        return "no Docker engine reachable (docker info timed out)"
    if info.returncode != 0:
        last = (info.stderr.strip().splitlines() or ["?"])[-1]
        return f"no Docker engine reachable (docker info: {last})"
    compose = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, timeout=30)
    if compose.returncode != 0:
        return "the docker compose plugin is missing (docker compose version failed)"
    return None


class ComposeCluster:
    """cluster.yaml on Docker: a `ClusterDriver` (tests/deploy/scenario.py)."""

    items_dir = "/etc/js7es/items"  # the ctl service's mount of deploy/compose/items

    def __init__(self, compose: Any) -> None:
        self.compose = compose

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.compose.compose_command_property, *args],
            cwd=COMPOSE_DIR,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        # --no-deps: the init service ran already; the profile "tools" holds the ctl service.
        return self._run("--profile", "tools", "run", "--rm", "--no-deps", "-T", "ctl", *args)

    def kill(self, service: str) -> None:
        result = self._run("kill", "-s", "SIGKILL", service)
        assert result.returncode == 0, result.stderr

    def start(self, service: str) -> None:
        result = self._run("start", service)
        assert result.returncode == 0, result.stderr

    def health(self) -> dict[str, str | None]:
        return {c.Service: c.Health for c in self.compose.get_containers() if c.Service}

    def diagnostics(self) -> str:
        logs = self._run("logs", "--no-color", "--tail", "40")
        return f"health: {self.health()}\n{logs.stdout[-12000:]}{logs.stderr[-2000:]}"


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[ComposeCluster]:
    reason = docker_missing()
    if reason is not None:
        pytest.skip(f"{reason}: cluster.yaml runs on processes in tests/deploy/test_compose_processes.py")
    from testcontainers.compose import DockerCompose

    # A project and an image tag of our own: a cluster.yaml that someone runs on this engine stays untouched.
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", f"js7es-test-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("JS7ES_IMAGE", "js7es:compose-test")
    compose = DockerCompose(COMPOSE_DIR, compose_file_name=COMPOSE_FILE, build=True, wait=False)
    try:
        compose.start()  # docker compose up --build --detach
        yield ComposeCluster(compose)
    finally:
        compose.stop(down=True)


@pytest.mark.timeout(1800)
def test_cluster_yaml_on_docker_fails_over(cluster: ComposeCluster) -> None:
    nodes = [s.name for s in Compose.load(COMPOSE_FILE).services.values() if s.is_node]
    wait(
        cluster,
        "every node container is healthy",
        lambda: True if all(cluster.health().get(n) == "healthy" for n in nodes) else None,
        START_TIMEOUT_S,
    )
    # The image: the Agent runs jobs as the unprivileged user js7es, with util-linux's setpriv.
    user, _, code = cluster.compose.exec_in_container(["id", "-un"], service_name="agent")
    assert (user.strip(), code) == ("js7es", 0)
    _, _, code = cluster.compose.exec_in_container(["setpriv", "--version"], service_name="agent")
    assert code == 0

    run_failover_scenario(cluster, timeout=SCENARIO_TIMEOUT_S)

    # The killed node (restarted by its restart policy, or here) joins as standby and the cluster couples again.
    cluster.start("primary")
    assert wait(cluster, "coupled again", lambda: coupled_active(cluster), START_TIMEOUT_S) == "backup"
