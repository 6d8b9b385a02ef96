"""deploy/compose/*.yaml on a real Docker engine: the image built here without a registry
(tests/deploy/images.py), each compose file's services as containers (tests/deploy/containers.py).

- standalone.yaml: healthy by the image's check (Controller, Agent and Cockpit), the sample order and a
  new one run, `docker stop` ends it cleanly within its grace period, and a restart resumes from the
  data volume.
- cluster.yaml, its Cockpit on PostgreSQL (Debian's, in a container of its own): the failover scenario of
  tests/deploy/scenario.py, the same that tests/deploy/test_compose_processes.py runs on processes: the
  active container killed, the Backup takes over, the order finishes, the Cockpit's database follows the
  new active node, the killed node couples again as standby.

Without a Docker engine the tests skip, naming why; in CI (CI=true) they fail: scripts/test brings an
engine up as root.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.deploy.compose_model import Compose
from tests.deploy.containers import ContainerCluster, ContainerTopology
from tests.deploy.scenario import cluster_info, coupled_active, run_failover_scenario

pytestmark = pytest.mark.slow

COCKPIT_TOML = "/etc/js7es/cockpit.toml"  # where cluster.yaml mounts the Cockpit's configuration
POSTGRES_URL = "postgresql+psycopg://postgres@postgres:5432/postgres"
START_TIMEOUT_S = 180.0
SCENARIO_TIMEOUT_S = 120.0


def nodes(compose_file: str) -> list[str]:
    return [s.name for s in Compose.load(compose_file).services.values() if s.is_node]


def all_healthy(topology: ContainerTopology, names: list[str]) -> bool | None:
    return True if all(topology.health(n) == "healthy" for n in names) else None


def orders(topology: ContainerTopology, service: str) -> dict[str, str]:
    result = topology.exec(service, ["js7es", "ctl", "orders", "--json"])
    assert result.returncode == 0, result.stdout + result.stderr
    return {o["id"]: o["state"]["TYPE"] for o in map(json.loads, result.stdout.splitlines())}


@pytest.mark.timeout(900)
def test_standalone_yaml_in_a_container(topology: Callable[[str], ContainerTopology]) -> None:
    standalone = topology("standalone.yaml")
    standalone.up(START_TIMEOUT_S)
    (name,) = nodes("standalone.yaml")
    standalone.wait("the standalone is healthy", lambda: all_healthy(standalone, [name]), START_TIMEOUT_S)
    health = standalone.container(name).attrs["State"]["Health"]["Log"][-1]["Output"]
    assert all(f"{node} " in health for node in ("controller", "agent", "cockpit")), health
    # The image: the unprivileged user, the data on the volume.
    assert standalone.exec(name, ["id", "-un"]).stdout.strip() == "js7es"

    # ctl inside the container finds the standalone by the service's JS7ES_DATA_DIR.
    standalone.wait(
        "the sample order finishes",
        lambda: True if orders(standalone, name).get("hello-sample") == "Finished" else None,
        SCENARIO_TIMEOUT_S,
    )
    added_ids = ("hello-sample", "in-a-container")
    added = standalone.exec(name, ["js7es", "ctl", "add-order", "hello", "--id", "in-a-container"])
    assert added.returncode == 0, added.stdout + added.stderr
    standalone.wait(
        "a new order finishes",
        lambda: True if orders(standalone, name).get("in-a-container") == "Finished" else None,
        SCENARIO_TIMEOUT_S,
    )

    # docker stop: SIGTERM through the init, a clean stop within the service's grace period.
    grace = float(str(standalone.services[name].spec["stop_grace_period"]).removesuffix("s"))
    started = time.monotonic()
    assert standalone.stop(name, grace) == 0, standalone.logs(name)
    assert time.monotonic() - started < grace

    # Started again on the same volume: it resumes from its journals (no second sample order; the
    # daily plan's orders are the others).
    standalone.start(name)
    standalone.wait("healthy again", lambda: all_healthy(standalone, [name]), START_TIMEOUT_S)
    after = orders(standalone, name)
    assert {i: after[i] for i in ("hello-sample", "in-a-container")} == dict.fromkeys(added_ids, "Finished")
    assert not any(i.startswith("hello-sample") for i in after.keys() - {"hello-sample"}), after


@pytest.mark.timeout(900)
def test_cluster_yaml_in_containers_fails_over(
    topology: Callable[[str], ContainerTopology], postgres_image: str, tmp_path: Path
) -> None:
    containers = topology("cluster.yaml")
    # The Cockpit on PostgreSQL (Debian's, in a container from the same kind of base): cluster.yaml's
    # cockpit.toml with a [database] section, mounted in its place.
    containers.add_container("postgres", postgres_image, START_TIMEOUT_S)
    cockpit_toml = containers.services["cockpit"].host_path(COCKPIT_TOML).read_text()
    (tmp_path / "cockpit.toml").write_text(f'{cockpit_toml}\n[database]\nurl = "{POSTGRES_URL}"\n')
    containers.mounts["cockpit"] = {COCKPIT_TOML: str(tmp_path / "cockpit.toml")}
    containers.up(START_TIMEOUT_S)
    containers.start_tool("ctl")
    cluster = ContainerCluster(containers)
    containers.wait(
        "every node container is healthy", lambda: all_healthy(containers, nodes("cluster.yaml")), START_TIMEOUT_S
    )
    assert containers.exec("agent", ["id", "-un"]).stdout.strip() == "js7es"

    run_failover_scenario(cluster, timeout=SCENARIO_TIMEOUT_S)

    # The Cockpit follows the new active node into PostgreSQL, up to its last event.
    info = cluster_info(cluster)
    assert info is not None and info["nodeId"] == "Backup"

    def projected() -> bool | None:
        event_id = psql(containers, "select event_id from controllers where controller_id = 'js7es'")
        state = psql(containers, "select state from orders where order_id = 'through-failover'")
        return True if event_id and int(event_id) >= info["eventId"] and state == "Finished" else None

    containers.wait("the Cockpit's PostgreSQL has the failover's events", projected, SCENARIO_TIMEOUT_S)

    # The killed node, started again, joins as standby and the cluster couples again.
    containers.start("primary")
    assert containers.wait("coupled again", lambda: coupled_active(cluster), START_TIMEOUT_S) == "backup"


def psql(topology: ContainerTopology, query: str) -> str:
    result = topology.exec("postgres", ["psql", "-tAc", query], user="postgres")
    return result.stdout.strip() if result.returncode == 0 else ""
