"""Real network partitions of cluster.yaml's containers (`docker network disconnect` from the topology's
network, `docker network connect` to heal).

- The active Controller cut off (from the standby, the Cluster Watch, the Agent and the clients): the
  standby fails over with the Watch's consent; the cut-off node commits nothing alone (an order given to
  it directly is never accepted: never two active nodes); orders keep being accepted by the new active
  node; healed, the old active learns from the Watch that it lost its role and joins as standby, and
  both nodes see the cluster Coupled again. Both Controllers' journals then hold the same events.
- The Agent cut off while its job runs: it runs the job to its end on its own, the Controller keeps the
  order Processing and accepts new ones; healed, the Agent reports back and every order finishes.

- `docker kill` of the active node while orders come, twice (the Primary active again at the end).

All on one cluster, in this order (the Agent's cut and the kills leave the Primary active). Each time: every accepted
order finished and its job ran exactly once (a line per job start in a file on the Agent's volume), and
what was only attempted ran at most once.
"""

from __future__ import annotations

import collections
import io
import json
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.deploy.compose_model import Compose
from tests.deploy.containers import ContainerCluster, ContainerTopology
from tests.deploy.scenario import ITEMS, active_node, coupled_active, ctl_ok, order_state

pytestmark = pytest.mark.slow

START_TIMEOUT_S = 180.0
TIMEOUT_S = 120.0
TALLY = "/var/lib/js7es/tally.log"  # on the Agent's data volume: one line per job start
DONE = "/var/lib/js7es/done.log"  # and one per job end
TALLY_WORKFLOW = {
    "path": "tally",
    "orderPreparation": {"parameters": {"seconds": {"type": "Number", "default": "1"}}},
    "instructions": [{"TYPE": "Execute.Named", "jobName": "tally"}],
    "jobs": {
        "tally": {
            "agentPath": "agent",
            "executable": {
                "TYPE": "ShellScriptExecutable",
                "script": f'echo "$JS7_ORDER_ID" >> {TALLY}\n'
                'sleep "$SECONDS_TO_SLEEP"\n'
                f'echo "$JS7_ORDER_ID" >> {DONE}\n',
                "env": {"SECONDS_TO_SLEEP": "$seconds"},
            },
        }
    },
}
CLI_TLS = ["--ca", "/etc/js7es/certs/cli/ca.crt", "--cert", "/etc/js7es/certs/cli/node.crt"]
CLI_TLS += ["--key", "/etc/js7es/certs/cli/node.key"]


def put_file(topology: ContainerTopology, service: str, path: str, text: str) -> None:
    directory, name = path.rsplit("/", 1)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = text.encode()
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.uid, info.gid = len(data), 0o644, 10001, 10001
        tar.addfile(info, io.BytesIO(data))
    assert topology.container(service).put_archive(directory, buffer.getvalue())


class Orders:
    """Orders of the tally workflow added through ctl (both URIs): which were accepted (ctl exit 0) and
    which only attempted (no answer, or refused while no node was active)."""

    def __init__(self, cluster: ContainerCluster) -> None:
        self.cluster = cluster
        self.accepted: list[str] = []
        self.attempted: list[str] = []

    def add(self, order_id: str, seconds: int = 1) -> bool:
        self.attempted.append(order_id)
        result = self.cluster.ctl("add-order", "tally", "--id", order_id, "--arg", f"seconds={seconds}")
        if result.returncode == 0:
            self.accepted.append(order_id)
        return result.returncode == 0


def node_view(topology: ContainerTopology, service: str) -> str | None:
    """The active node's id if `service` itself sees the cluster Coupled (ctl asks that node alone)."""
    result = topology.exec(
        "ctl", ["js7es", "ctl", "--controller", f"https://{service}:4444", *CLI_TLS, "cluster", "--json"]
    )
    if result.returncode != 0:
        return None
    state = json.loads(result.stdout).get("clusterState") or {}
    return state["setting"]["activeId"] if state.get("TYPE") == "Coupled" else None


def journal(topology: ContainerTopology, volume: str) -> list[str]:
    """The event lines of a stopped Controller's journal on `volume`, by `js7es journal dump` in a
    container of the image (the volume mounted read-only where the node has it)."""
    client = topology.client
    container = client.containers.run(
        topology.image,
        ["journal", "dump", "/var/lib/js7es/state"],
        volumes={topology.volume(volume): {"bind": "/var/lib/js7es", "mode": "ro"}},
        labels=topology.labels,
        detach=True,
    )
    try:
        assert container.wait(timeout=120)["StatusCode"] == 0, container.logs().decode(errors="replace")
        return container.logs(stdout=True, stderr=False).decode().splitlines()
    finally:
        container.remove(force=True, v=True)


@dataclass
class Partitioned:
    containers: ContainerTopology
    cluster: ContainerCluster
    orders: Orders


@pytest.fixture(scope="module")
def partitioned(js7es_image: str) -> Iterator[Partitioned]:
    """cluster.yaml up and Coupled, its items and the tally workflow deployed: one cluster for this
    module's tests, in order (the Agent's cut first, which leaves the cluster as it found it)."""
    containers = ContainerTopology(Compose.load("cluster.yaml"), js7es_image)
    try:
        containers.up(START_TIMEOUT_S)
        containers.start_tool("ctl")
        cluster = ContainerCluster(containers)
        assert containers.wait("the cluster is Coupled", lambda: coupled_active(cluster), START_TIMEOUT_S) == "primary"
        put_file(containers, "ctl", "/tmp/tally.workflow.json", json.dumps(TALLY_WORKFLOW))
        ctl_ok(cluster, "deploy", *(f"{cluster.items_dir}/{item}" for item in ITEMS), "/tmp/tally.workflow.json")
        yield Partitioned(containers, cluster, Orders(cluster))
    finally:
        containers.down()


def lines(topology: ContainerTopology, path: str) -> collections.Counter[str]:
    return collections.Counter(topology.exec("agent", ["cat", path]).stdout.split())


def assert_each_ran_once(topology: ContainerTopology, orders: Orders) -> None:
    """Each accepted order's job ran exactly once; an attempt without an answer at most once."""
    tally = lines(topology, TALLY)
    assert {o: tally[o] for o in orders.accepted} == dict.fromkeys(orders.accepted, 1), tally
    assert set(tally) <= set(orders.attempted), tally
    assert max(tally.values()) == 1, tally


@pytest.mark.timeout(900)
def test_the_agent_cut_off_runs_on_and_reports_after_healing(partitioned: Partitioned) -> None:
    containers, cluster, orders = partitioned.containers, partitioned.cluster, partitioned.orders
    assert orders.add("running", seconds=8)
    containers.wait(
        "the job runs", lambda: True if order_state(cluster, "running") == "Processing" else None, TIMEOUT_S
    )
    containers.disconnect("agent")
    running = {"running"} - set(lines(containers, DONE))
    assert running, "the job ended before the cut (a very slow machine)"
    # Orders are accepted meanwhile; they wait for the Agent.
    for i in range(2):
        assert orders.add(f"while-cut-{i}")
    # The Agent runs its job to its end on its own; the Controller, not hearing from it, keeps the order
    # Processing (a subagent merely unreachable loses no process).
    containers.wait(
        "the job ends on the cut-off Agent",
        lambda: True if running <= set(lines(containers, DONE)) else None,
        TIMEOUT_S,
    )
    assert {order_state(cluster, o) for o in running} == {"Processing"}
    assert not {"while-cut-0", "while-cut-1"} & set(lines(containers, TALLY))

    containers.connect("agent")

    def all_finished() -> bool | None:
        return True if all(order_state(cluster, o) == "Finished" for o in orders.accepted) else None

    containers.wait("the Agent reports back and every order finishes", all_finished, TIMEOUT_S)
    assert_each_ran_once(containers, orders)
    assert lines(containers, DONE) == dict.fromkeys(orders.accepted, 1)


@pytest.mark.timeout(900)
def test_the_active_controller_killed_while_orders_come_repeatedly(partitioned: Partitioned) -> None:
    """`docker kill` (SIGKILL) of the active node while orders are being added, twice: each time the
    other node takes over, the killed one restarts as standby and the cluster couples again."""
    containers, cluster, orders = partitioned.containers, partitioned.cluster, partitioned.orders
    active = "primary"
    for round_ in range(2):
        assert coupled_active(cluster) == active
        standby = "backup" if active == "primary" else "primary"
        assert orders.add(f"kill-{round_}-before", seconds=3)
        containers.kill(active)
        killed_at = time.monotonic()
        i = 0
        while active_node(cluster) != standby:
            assert time.monotonic() - killed_at < TIMEOUT_S, f"no failover\n{cluster.diagnostics()}"
            orders.add(f"kill-{round_}-during-{i}")
            i += 1
        assert orders.add(f"kill-{round_}-after")
        containers.start(active)
        assert containers.wait("coupled again", lambda: coupled_active(cluster), START_TIMEOUT_S) == standby
        active = standby

    def all_finished() -> bool | None:
        return True if all(order_state(cluster, o) == "Finished" for o in orders.accepted) else None

    containers.wait("every accepted order finishes", all_finished, TIMEOUT_S)
    assert_each_ran_once(containers, orders)


@pytest.mark.timeout(900)
def test_the_active_controller_cut_off_the_network(partitioned: Partitioned) -> None:
    containers, cluster, orders = partitioned.containers, partitioned.cluster, partitioned.orders
    assert coupled_active(cluster) == "primary"
    for i in range(3):
        assert orders.add(f"before-{i}")

    # The cut: the Primary no longer reaches (nor is reached by) anyone.
    containers.disconnect("primary")
    cut_at = time.monotonic()
    i = 0
    while active_node(cluster) != "backup":
        assert time.monotonic() - cut_at < TIMEOUT_S, f"no failover\n{cluster.diagnostics()}"
        orders.add(f"during-{i}")
        i += 1
    failover_s = time.monotonic() - cut_at
    # The cut-off Primary accepts nothing (it would need the standby's or the Watch's word).
    ctl_here = ["timeout", "6", "js7es", "ctl", "--controller", "https://localhost:4444", *CLI_TLS]
    alone = containers.exec("primary", [*ctl_here, "add-order", "tally", "--id", "alone"])
    assert alone.returncode != 0, f"the cut-off Primary accepted an order: {alone.stdout}"
    for i in range(3):
        assert orders.add(f"after-failover-{i}")

    # Healed: the Primary hears from the Watch that it lost its role and joins as standby (fenced at the
    # failover's position): both nodes see the cluster Coupled with the Backup active.
    containers.connect("primary")

    def coupled_on_both() -> str | None:
        views = {node_view(containers, n) for n in ("primary", "backup")}
        return views.pop() if len(views) == 1 else None

    assert containers.wait("coupled again, on both nodes", coupled_on_both, START_TIMEOUT_S) == "Backup"
    assert orders.add("after-healing")

    def all_finished() -> bool | None:
        return True if all(order_state(cluster, o) == "Finished" for o in orders.accepted) else None

    containers.wait("every accepted order finishes", all_finished, TIMEOUT_S)
    assert order_state(cluster, "alone") is None
    assert_each_ran_once(containers, orders)

    # Both journals hold the same events (the Backup stopped first: it is active; then the Primary).
    # A clean stop within the grace period: uvicorn re-raises the SIGTERM after its shutdown (143, not
    # docker's SIGKILL 137).
    for name in ("backup", "primary"):
        assert containers.stop(name, 30) in (0, 143), containers.logs(name)
    backup, primary = journal(containers, "backup-data"), journal(containers, "primary-data")
    first = max(json.loads(lines[0])["eventId"] for lines in (backup, primary))
    backup = [line for line in backup if json.loads(line)["eventId"] >= first]
    primary = [line for line in primary if json.loads(line)["eventId"] >= first]
    common = min(len(backup), len(primary))
    assert common > 0 and backup[:common] == primary[:common]
    print(f"failover after the cut: {failover_s:.1f} s; accepted {len(orders.accepted)} of {len(orders.attempted)}")
