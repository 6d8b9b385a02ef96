"""Real network partitions of cluster.yaml's containers, and kills under load.

- The Agent cut off (`docker network disconnect`) while its job runs: it runs the job to its end on its
  own, the Controller keeps the order Processing and accepts new ones; healed, the Agent reports back
  and every order finishes.
- `docker kill` of the active node while a feeder thread adds orders all the while, twice (the Primary
  active again at the end).
- Only the link between the two Controllers cut, by iptables in the Primary's network namespace (run
  from the host with nsenter: the containers stay unprivileged), while both still reach the Cluster
  Watch: the Watch decides which node goes on; a poller asking both nodes about themselves never sees
  both commit; healed, the cluster couples again and both journals hold the same events.
- The active Controller cut off (from the standby, the Cluster Watch, the Agent and the clients): the
  standby fails over with the Watch's consent; the cut-off node commits nothing alone (an order given to
  it directly is never accepted: never two active nodes); orders keep being accepted by the new active
  node; healed, the old active learns from the Watch that it lost its role and joins as standby, and
  both nodes see the cluster Coupled again. Both Controllers' journals then hold the same events. It
  comes after the link cut on purpose: the standby, refused a failover there, must still fail over on
  the active's next silence (its replication stream, opened as the link healed, hangs on the cut).

All on one cluster, in this order (each test leaves the Primary active). Each time: every accepted
order finished and its job ran exactly once (a line per job start in a file on the Agent's volume), and
what was only attempted ran at most once.
"""

from __future__ import annotations

import collections
import io
import json
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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
    """Orders of the tally workflow added through ctl (both URIs): which were accepted and which only
    attempted. An add that got no answer, or was refused while no node was active, is tried again with
    the same id: DuplicateOrder then says that an earlier try was accepted (adding is idempotent by id)."""

    def __init__(self, cluster: ContainerCluster) -> None:
        self.cluster = cluster
        self.accepted: list[str] = []
        self.attempted: list[str] = []
        self.refusals = 0  # tries without an accepting answer (retried, or left attempted)

    def add(self, order_id: str, seconds: int = 1) -> bool:
        if order_id not in self.attempted:
            self.attempted.append(order_id)
        result = self.cluster.ctl("add-order", "tally", "--id", order_id, "--arg", f"seconds={seconds}")
        accepted = result.returncode == 0 or "DuplicateOrder" in result.stdout + result.stderr
        if accepted and order_id not in self.accepted:
            self.accepted.append(order_id)
        self.refusals += not accepted
        return accepted


class Feeder:
    """Adds orders continuously in a thread of its own (`with Feeder(orders, prefix):`), each retried
    with its id until accepted; the one being tried when the feeder stops stays only attempted."""

    def __init__(self, orders: Orders, prefix: str) -> None:
        self.orders = orders
        self.prefix = prefix
        self.ids: list[str] = []  # the feeder's accepted orders, in order
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"feeder-{prefix}", daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            order_id = f"{self.prefix}-{n}"
            while not self._stop.is_set():
                if self.orders.add(order_id):
                    self.ids.append(order_id)
                    n += 1
                    break
                time.sleep(0.2)

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(TIMEOUT_S)
        assert not self._thread.is_alive(), "the feeder does not end"

    def await_more(self, topology: ContainerTopology, count: int, what: str) -> None:
        """Until `count` more orders than now were accepted."""
        target = len(self.ids) + count
        assert self._thread.is_alive(), "the feeder ended"
        topology.wait(what, lambda: True if len(self.ids) >= target else None, TIMEOUT_S)


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


# Polls, in the ctl container, both Controllers' own view (GET /controller/api/cluster of each node, one
# kept-alive connection each, one right after the other) and the Cluster Watch's view, about 5 times a
# second, a JSON line per round into a file, until the stop file exists.
POLLER = r"""
import http.client, json, os, ssl, sys, time
ctx = ssl.create_default_context(cafile="/etc/js7es/certs/cli/ca.crt")
ctx.load_cert_chain("/etc/js7es/certs/cli/node.crt", "/etc/js7es/certs/cli/node.key")
targets = {"primary": ("primary", 4444, "/controller/api/cluster"),
           "backup": ("backup", 4444, "/controller/api/cluster"),
           "watch": ("cluster-watch", 4447, "/cluster-watch/api/cluster?clusterId=js7es")}
connections = {}
def get(name):
    host, port, path = targets[name]
    try:
        c = connections.get(name) or http.client.HTTPSConnection(host, port, context=ctx, timeout=1.5)
        connections[name] = c
        c.request("GET", path)
        response = c.getresponse()
        body = response.read()
        return json.loads(body) if response.status == 200 else {"status": response.status}
    except Exception as e:
        connections.pop(name, None)
        return {"error": type(e).__name__}
with open(sys.argv[1], "a") as out:
    while not os.path.exists(sys.argv[2]):
        row = {"t": time.time(), **{name: get(name) for name in targets}}
        out.write(json.dumps(row) + "\n")
        out.flush()
        time.sleep(0.2)
"""


class Poller:
    """`with Poller(topology) as poller:` POLLER running in the ctl container; `rows()` what it saw."""

    def __init__(self, topology: ContainerTopology) -> None:
        self.topology = topology
        tag = f"{time.monotonic_ns()}"
        self.out, self.stop = f"/tmp/poll-{tag}.ndjson", f"/tmp/poll-{tag}.stop"

    def __enter__(self) -> Poller:
        self.topology.container("ctl").exec_run(["python3", "-c", POLLER, self.out, self.stop], detach=True)
        self.topology.wait("the poller runs", lambda: True if self.rows() else None, 30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.topology.exec("ctl", ["touch", self.stop])

    def rows(self) -> list[dict[str, Any]]:
        text = self.topology.exec("ctl", ["cat", self.out]).stdout
        return [json.loads(line) for line in text.splitlines() if line.endswith("}")]

    def watch_state(self) -> str | None:
        rows = self.rows()
        return ((rows[-1]["watch"].get("clusterState") or {}).get("TYPE")) if rows else None


def committing_rounds(rows: list[dict[str, Any]]) -> list[set[str]]:
    """For each round of the poller, the Controllers that committed since they were last asked: they
    say they are active and their EventId grew."""
    last: dict[str, int] = {}
    rounds = []
    for row in rows:
        committed = set()
        for node in ("primary", "backup"):
            event_id = row[node].get("eventId")
            if event_id is None:
                continue
            if row[node].get("active") and event_id > last.get(node, event_id):
                committed.add(node)
            last[node] = event_id
        rounds.append(committed)
    return rounds


def iptables(topology: ContainerTopology, service: str, *rule: str) -> None:
    """iptables in a service's network namespace, from the host (the container itself stays unprivileged)."""
    pid = topology.container(service).attrs["State"]["Pid"]
    command = ["nsenter", "-t", str(pid), "-n", "iptables", "-w", *rule]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError as e:
        raise AssertionError(f"{e}: the link cut needs nsenter and iptables (Debian: util-linux, iptables)") from e
    assert result.returncode == 0, f"{' '.join(command)}: {result.stderr} (needs root; scripts/test runs as root)"


def address(topology: ContainerTopology, service: str) -> str:
    return str(topology.container(service).attrs["NetworkSettings"]["Networks"][topology.network.name]["IPAddress"])


def reaches(topology: ContainerTopology, service: str, host: str, port: int) -> bool:
    """Whether a TCP connection from `service` to host:port is made within 3 s."""
    return topology.exec(service, ["timeout", "3", "bash", "-c", f"</dev/tcp/{host}/{port}"]).returncode == 0


def journals(topology: ContainerTopology) -> list[dict[str, Any]]:
    """The events both Controllers' journals hold, from the later one's first event on: the same in both
    (the standby's may end earlier: it follows). A journal is read while its node runs too: its last,
    unfinished line is left out."""
    backup, primary = journal(topology, "backup-data"), journal(topology, "primary-data")
    first = max(json.loads(lines[0])["eventId"] for lines in (backup, primary))
    backup = [line for line in backup if json.loads(line)["eventId"] >= first]
    primary = [line for line in primary if json.loads(line)["eventId"] >= first]
    common = min(len(backup), len(primary))
    assert common > 0 and backup[:common] == primary[:common]
    return [json.loads(line) for line in backup[:common]]


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


def states(cluster: ContainerCluster) -> dict[str, str]:
    """Every order's state, by one `ctl orders --json` (through the active node)."""
    result = cluster.ctl("orders", "--json")
    if result.returncode != 0:
        return {}
    return {o["id"]: o["state"]["TYPE"] for o in map(json.loads, result.stdout.splitlines())}


def await_all_finished(topology: ContainerTopology, cluster: ContainerCluster, orders: Orders) -> None:
    def finished() -> bool | None:
        now = states(cluster)
        return True if all(now.get(o) == "Finished" for o in orders.accepted) else None

    topology.wait("every accepted order finishes", finished, TIMEOUT_S)


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

    await_all_finished(containers, cluster, orders)
    assert_each_ran_once(containers, orders)
    assert lines(containers, DONE) == dict.fromkeys(orders.accepted, 1)


@pytest.mark.timeout(900)
def test_the_active_controller_killed_under_load_repeatedly(partitioned: Partitioned) -> None:
    """`docker kill` (SIGKILL) of the active node while a feeder thread adds orders without pause, twice:
    each time the other node takes over, the feeder's orders are accepted by it, the killed one restarts
    as standby and the cluster couples again. Every accepted order runs exactly once."""
    containers, cluster, orders = partitioned.containers, partitioned.cluster, partitioned.orders
    active = "primary"
    for round_ in range(2):
        assert coupled_active(cluster) == active
        standby = "backup" if active == "primary" else "primary"
        with Feeder(orders, f"kill-{round_}") as feeder:
            feeder.await_more(containers, 3, "the feeder's orders are accepted")
            containers.kill(active)
            taken_over = lambda node=standby: True if active_node(cluster) == node else None  # noqa: E731
            containers.wait(f"{standby} takes over", taken_over, TIMEOUT_S)
            feeder.await_more(containers, 3, f"{standby} accepts the feeder's orders")
        containers.start(active)
        assert containers.wait("coupled again", lambda: coupled_active(cluster), START_TIMEOUT_S) == standby
        active = standby

    await_all_finished(containers, cluster, orders)
    assert_each_ran_once(containers, orders)
    fed = [o for o in orders.attempted if o.startswith("kill-")]
    print(f"killed twice under load: {len(fed)} orders fed, {orders.refusals} tries refused or unanswered")


@pytest.mark.timeout(900)
def test_only_the_controllers_link_cut_the_watch_decides(partitioned: Partitioned) -> None:
    """iptables in the Primary's network namespace drops what goes between it and the Backup, nothing
    else: both still reach the Cluster Watch, the Agent and the clients. Both ask the Watch to declare
    the other lost; the Watch grants one (PassiveLost: the Primary goes on alone; FailedOver: the Backup
    takes over) and refuses the other. Orders keep coming from a feeder meanwhile. Never are both nodes
    active (both asked about themselves five times a second); healed, the cluster couples again."""
    containers, cluster, orders = partitioned.containers, partitioned.cluster, partitioned.orders
    assert coupled_active(cluster) == "primary"
    backup_ip = address(containers, "backup")
    rules = [("INPUT", "-s", backup_ip, "-j", "DROP"), ("OUTPUT", "-d", backup_ip, "-j", "DROP")]
    with Poller(containers) as poller, Feeder(orders, "link") as feeder:
        feeder.await_more(containers, 3, "the feeder's orders are accepted")
        for rule in rules:
            iptables(containers, "primary", "-A", *rule)
        cut_at = time.time()
        try:
            assert not reaches(containers, "primary", "backup", 4444)
            assert not reaches(containers, "backup", "primary", 4444)
            for node in ("primary", "backup"):
                assert reaches(containers, node, "cluster-watch", 4447)
                assert reaches(containers, node, "agent", 4445)
            decision = containers.wait(
                "the Watch decides",
                lambda: poller.watch_state() if poller.watch_state() in ("PassiveLost", "FailedOver") else None,
                TIMEOUT_S,
            )
            winner = "primary" if decision == "PassiveLost" else "backup"
            containers.wait(f"{winner} is active", lambda: True if active_node(cluster) == winner else None, TIMEOUT_S)
            feeder.await_more(containers, 3, f"{winner} accepts orders while the link is cut")
        finally:
            for rule in rules:
                iptables(containers, "primary", "-D", *rule)
        healed_at = time.time()

        def coupled_on_both() -> str | None:
            views = {node_view(containers, n) for n in ("primary", "backup")}
            return views.pop() if len(views) == 1 else None

        assert containers.wait("coupled again, on both nodes", coupled_on_both, START_TIMEOUT_S) == winner.title()
        feeder.await_more(containers, 3, "orders are accepted after healing")
    rows = poller.rows()

    # Never two active nodes: in no round of the poller did both commit (say they are active, their
    # EventId grown since they were last asked). Saying "active" alone is not enough: an active node that
    # lost its standby says so until the Watch answers it, committing nothing meanwhile.
    committing = committing_rounds(rows)
    assert not [r for r in committing if r == {"primary", "backup"}], rows
    actives = set().union(*committing)
    # While the link was cut, the Watch heard from the active node and the clients reached both nodes.
    cut = [r for r in rows if cut_at < r["t"] < healed_at]
    assert cut and all("error" not in r["watch"] for r in cut)
    assert any("nodeId" in r["primary"] for r in cut) and any("nodeId" in r["backup"] for r in cut)
    assert actives == {"primary", winner}, actives

    await_all_finished(containers, cluster, orders)
    assert_each_ran_once(containers, orders)
    # Both journals hold the same events, the Watch's decision among them (once) and the coupling after it.
    before_cut = max(r["primary"]["eventId"] for r in rows if r["t"] < cut_at and "eventId" in r["primary"])
    events = [e["TYPE"] for e in journals(containers) if e["eventId"] > before_cut]
    decided = [e for e in events if e in ("ClusterPassiveLost", "ClusterFailedOver")]
    assert decided == [f"Cluster{decision}"], events
    assert "ClusterCoupled" in events[events.index(decided[0]) :], events
    print(
        f"link cut: the Watch decided {decision}; {len(feeder.ids)} orders fed, {len(rows)} polls, "
        f"{sum(1 for r in committing if r)} with a node committing"
    )
    if winner == "backup":  # as the next test expects: the Primary active
        ctl_ok(cluster, "switch-over")
        assert containers.wait("switched back", lambda: coupled_active(cluster), START_TIMEOUT_S) == "primary"


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

    await_all_finished(containers, cluster, orders)
    assert order_state(cluster, "alone") is None
    assert_each_ran_once(containers, orders)

    # Both journals hold the same events (the Backup stopped first: it is active; then the Primary).
    # A clean stop within the grace period: uvicorn re-raises the SIGTERM after its shutdown (143, not
    # docker's SIGKILL 137).
    for name in ("backup", "primary"):
        assert containers.stop(name, 30) in (0, 143), containers.logs(name)
    journals(containers)
    print(f"failover after the cut: {failover_s:.1f} s; accepted {len(orders.accepted)} of {len(orders.attempted)}")
