"""A Controller cluster as real processes on loopback: Primary, Backup, a Cluster Watch and Agents.

Like `Topology`, with the Controller replaced by two cluster nodes ("primary", "backup") and a
"watch". `controller()` is a client of whichever node is active at the moment, as a client given both
URIs would use. Optional TCP proxies between the nodes let a test cut the replication link only.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from js7es.domain import events as domain_events
from js7es.domain.state import ControllerState
from js7es.journal.file import FileJournal
from js7es.journal.format import event_body
from js7es.nodes.certs import create_node_certificate
from js7es.nodes.engine import recover_state
from tests.e2e.topology import HOST, NodeProcess, Topology, free_port

NODES = ("primary", "backup")
NODE_ID = {"primary": "Primary", "backup": "Backup"}


class CuttableProxy:
    """A TCP proxy on loopback whose links can be cut (existing connections are closed, new ones are
    refused by closing them at once) and healed: a network partition between two processes. Or the
    connections open at the moment can be stalled (`stall`): their bytes are held, and neither end is
    told, as on a link that drops packets; new connections pass. `resume` forwards what was held."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._server = socket.create_server((HOST, 0))
        self.port = int(self._server.getsockname()[1])
        self._cut = threading.Event()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._flows: set[threading.Event] = set()  # one per connection: set while its bytes pass
        self._stalled: list[threading.Event] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self) -> None:
        with self._lock:
            self._stalled = list(self._flows)
        for flow in self._stalled:
            flow.clear()

    def resume(self) -> None:
        for flow in self._stalled:
            flow.set()
        self._stalled = []

    def cut(self) -> None:
        self._cut.set()
        self.resume()
        with self._lock:
            for s in list(self._sockets):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._sockets.clear()

    def heal(self) -> None:
        self._cut.clear()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self._cut.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection((HOST, self.target_port), timeout=2)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)  # a silent target (SIGSTOPped) must not make this proxy close the link
            flow = threading.Event()
            flow.set()
            with self._lock:
                self._sockets.update((client, upstream))
                self._flows.add(flow)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b, flow), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, flow: threading.Event) -> None:
        try:
            while not self._cut.is_set():
                data = source.recv(65536)
                flow.wait()  # stalled: held here (the kernel's buffers then fill, as on a silent link)
                if not data or self._cut.is_set():
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()  # the other direction's thread then ends too
            with self._lock:
                self._sockets.discard(source)
                self._sockets.discard(sink)
                self._flows.discard(flow)

    def close(self) -> None:
        self.cut()
        self._server.close()


@dataclass
class ClusterTopology(Topology):
    heartbeat: float = 0.3
    heartbeat_timeout: float = 1.5
    consent_timeout: float = 1.0
    proxies: bool = False  # the nodes reach each other through CuttableProxy (see `cut_link`)
    links: dict[str, CuttableProxy] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        del self.nodes["controller"]
        certs = self.root / "certs"
        for name in (*NODES, "watch"):
            create_node_certificate(certs / "ca", certs / name, name, [HOST, "localhost"])
        for name in NODES:
            self.nodes[name] = self._node("controller", name)
        self.nodes["watch"] = self._watch_node()
        if self.proxies:  # a proxy in front of each node, used by the other node only
            for name in NODES:
                self.links[name] = CuttableProxy(self.nodes[name].port)
        for name in NODES:
            self._add_cluster_config(self.nodes[name])
        for agent in self.agents:
            config = self.nodes[agent].config
            config.write_text(
                config.read_text().replace('["CN=controller"]', '["CN=controller", "CN=primary", "CN=backup"]')
            )

    def _uri(self, name: str, *, via_proxy: bool) -> str:
        port = self.links[name].port if via_proxy and name in self.links else self.nodes[name].port
        return f"https://{HOST}:{port}"

    def _add_cluster_config(self, node: NodeProcess) -> None:
        peer = "backup" if node.name == "primary" else "primary"
        nodes = {NODE_ID[n]: self._uri(n, via_proxy=(n == peer)) for n in NODES}
        lines = [
            "[cluster]",
            f'node-id = "{NODE_ID[node.name]}"',
            "nodes = { " + ", ".join(f'{k} = "{v}"' for k, v in nodes.items()) + " }",
            f'watches = ["https://{HOST}:{self.nodes["watch"].port}"]',
            f"heartbeat = {self.heartbeat}",
            f"heartbeat-timeout = {self.heartbeat_timeout}",
            f"consent-timeout = {self.consent_timeout}",
            f"[users.{peer}]",
            f'distinguished-names = ["CN={peer}"]',
            'permissions = ["ReadState", "Command"]',
        ]
        node.config.write_text(node.config.read_text() + "\n".join(lines) + "\n")

    def _watch_node(self) -> NodeProcess:
        name = "watch"
        data_dir = self.root / name
        data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        certs = self.root / "certs"
        lines = [
            "[cluster-watch]",
            'id = "watch"',
            "[http]",
            f'host = "{HOST}"',
            f"port = {port}",
            "[tls]",
            f'cert = "{certs / name / "node.crt"}"',
            f'key = "{certs / name / "node.key"}"',
            f'ca = "{certs / "ca" / "ca.crt"}"',
            "[users.nodes]",
            'distinguished-names = ["CN=primary", "CN=backup"]',
            'permissions = ["Command"]',
            "[users.client]",
            'distinguished-names = ["CN=client"]',
            'permissions = ["SuperPermission"]',
        ]
        config = data_dir / "cluster-watch.toml"
        config.write_text("\n".join(lines) + "\n")
        return NodeProcess(
            kind="cluster-watch", name=name, config=config, data_dir=data_dir, port=port, log_file=data_dir / "node.log"
        )

    # -- roles --------------------------------------------------------------------------------------

    def info(self, name: str) -> dict[str, Any] | None:
        """The node's `GET /controller/api/cluster`, or None when it does not answer."""
        node = self.nodes[name]
        if node.process is None or node.process.poll() is not None:
            return None
        try:
            with self._client(node, timeout=5) as c:
                response = c.get("/controller/api/cluster")
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    def active_nodes(self) -> list[str]:
        return [n for n in NODES if (i := self.info(n)) is not None and i.get("active") and i.get("ready")]

    def active(self) -> str | None:
        active = self.active_nodes()
        return active[0] if len(active) == 1 else None

    def wait_active(self, name: str | None = None, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            active = self.active()
            if active is not None and (name is None or active == name):
                return active
            time.sleep(0.05)
        raise AssertionError(f"no active node {name or ''} after {timeout} s: {[self.info(n) for n in NODES]}")

    def wait_coupled(self, timeout: float = 30) -> str:
        """Until the active node's cluster state is Coupled (and the standby has it); returns the active."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            active = self.active()
            if active is not None:
                info = self.info(active) or {}
                standby = "backup" if active == "primary" else "primary"
                other = self.info(standby) or {}
                if info.get("clusterState", {}).get("TYPE") == "Coupled" and (
                    other.get("clusterState", {}).get("TYPE") == "Coupled"
                ):
                    return active
            time.sleep(0.05)
        raise AssertionError(f"not coupled after {timeout} s: {[self.info(n) for n in NODES]}")

    def controller(self) -> httpx.Client:
        """A client of the active node (what a client given both URIs reaches)."""
        active = self.active()
        if active is None:
            raise httpx.ConnectError("no active cluster node")
        return self._client(self.nodes[active])

    def cut_link(self) -> None:
        for proxy in self.links.values():
            proxy.cut()

    def heal_link(self) -> None:
        for proxy in self.links.values():
            proxy.heal()

    def stop_all(self) -> None:
        for name in self.nodes:
            self.kill(name, signal.SIGTERM)
        for proxy in self.links.values():
            proxy.close()

    # -- journals -----------------------------------------------------------------------------------

    def recovered_state(self, name: str) -> tuple[int, str]:
        """A stopped node's last EventId and the hash of the state its journal recovers."""
        domain_events.registered()
        journal = FileJournal.open(self.nodes[name].data_dir / "state", name="controller")
        try:
            state = recover_state(journal, ControllerState)
            return journal.recovered.last_event_id, state.state_hash()
        finally:
            journal.close()

    def journal_lines(self, name: str) -> list[tuple[int, int, str, str]]:
        """The events of a stopped node's journal: (EventId, timestamp, key, event JSON), oldest kept first."""
        domain_events.registered()  # the journal decodes them
        journal = FileJournal.open(self.nodes[name].data_dir / "state", name="controller")
        try:
            events = journal.read(journal.segments()[0].file_event_id)
            assert not isinstance(events, type(None))
            return [(s.event_id, s.timestamp_ms, s.key, event_body(s.event)) for s in events]  # type: ignore[union-attr]
        finally:
            journal.close()


class ActiveOrderFeeder(threading.Thread):
    """Adds orders one by one to whichever node is active, as a client given both URIs does.

    An order counts as accepted when the node answered 201. An attempt without an answer (connection
    lost, the node gave up its role: 503) is repeated with the same id at the active node, so that a
    409 DuplicateOrder means the lost attempt added it: such an order counts as added, not accepted.
    Any other answer is recorded in `unexpected`.
    """

    def __init__(self, topology: ClusterTopology, workflow: str, prefix: str, *, pause: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.topology = topology
        self.workflow = workflow
        self.prefix = prefix
        self.pause = pause
        self.accepted: list[str] = []
        self.accepted_at: list[float] = []  # time.monotonic() of each 201
        self.duplicates: list[str] = []  # 409 on a repeated attempt: added by the attempt whose answer got lost
        self.attempted: list[str] = []
        self.unexpected: list[tuple[str, int, str]] = []
        self.stop = threading.Event()

    @property
    def added(self) -> list[str]:
        return [*self.accepted, *self.duplicates]

    def accepted_since(self, since: float) -> int:
        return sum(1 for t in self.accepted_at if t >= since)

    def first_accepted_after(self, since: float) -> float | None:
        return next((t for t in self.accepted_at if t >= since), None)

    def _clients(self) -> Iterator[httpx.Client]:
        clients = {n: self.topology._client(self.topology.nodes[n], timeout=30) for n in NODES}
        try:
            while True:
                active = self.topology.active()
                if active is None:
                    time.sleep(0.05)
                    continue
                yield clients[active]
        finally:
            for c in clients.values():
                c.close()

    def run(self) -> None:
        n = 0
        clients = self._clients()
        client = next(clients)
        try:
            while not self.stop.is_set():
                order_id = f"{self.prefix}-{n}"
                retry = bool(self.attempted) and self.attempted[-1] == order_id
                if not retry:
                    self.attempted.append(order_id)
                try:
                    response = client.post(
                        "/controller/api/order", json={"id": order_id, "workflowPath": self.workflow}
                    )
                except httpx.HTTPError:
                    response = None
                if response is None or response.status_code == 503:
                    time.sleep(0.02)
                    client = next(clients)  # not acknowledged: it may or may not have been added
                    continue
                if response.status_code == 201:
                    self.accepted.append(order_id)
                    self.accepted_at.append(time.monotonic())
                elif retry and response.status_code == 409 and response.json().get("code") == "DuplicateOrder":
                    self.duplicates.append(order_id)
                else:
                    self.unexpected.append((order_id, response.status_code, response.text))
                n += 1
                time.sleep(self.pause)
        finally:
            clients.close()


def start_cluster(
    tmp_path: Path, *, proxies: bool = False, snapshot_after_events: int | None = None
) -> ClusterTopology:
    """The Watch first, then the Agent and both nodes at once; returns when all answer (if one does not,
    what was started is stopped before the error goes on)."""
    topo = ClusterTopology(tmp_path, proxies=proxies, snapshot_after_events=snapshot_after_events)
    try:
        topo.start("watch")
        for name in ("agent", "primary", "backup"):
            topo.start(name, wait=False)
        for name in ("agent", "primary", "backup"):
            topo.wait_ready(name)
    except BaseException:
        topo.stop_all()
        raise
    return topo


@contextlib.contextmanager
def running_cluster(tmp_path: Path, **options: Any) -> Iterator[ClusterTopology]:
    """`start_cluster(tmp_path, **options)`, stopped at the end (for fixtures)."""
    topo = start_cluster(tmp_path, **options)
    try:
        yield topo
    finally:
        topo.stop_all()


def assert_journals_agree(topology: ClusterTopology) -> int:
    """The two stopped nodes' journals hold the same events up to the shorter one, and where both end at
    the same EventId, the states they recover are equal; returns how many event lines both hold.

    Both nodes may have taken a snapshot and released what came before it: then no event line is left in
    common, and the recovered states (newest snapshot + events after it) are what must agree."""
    a, b = (topology.journal_lines(n) for n in NODES)
    first = max(a[0][0] if a else 0, b[0][0] if b else 0)
    a = [x for x in a if x[0] >= first]
    b = [x for x in b if x[0] >= first]
    common = min(len(a), len(b))
    assert a[:common] == b[:common]
    (a_last, a_hash), (b_last, b_hash) = (topology.recovered_state(n) for n in NODES)
    if a_last == b_last:
        assert a_hash == b_hash, f"both at EventId {a_last}, but their recovered states differ"
    assert common > 0 or a_last == b_last, f"nothing to compare: the journals end at {a_last} and {b_last}"
    return common


__all__ = [
    "NODES",
    "ActiveOrderFeeder",
    "ClusterTopology",
    "CuttableProxy",
    "assert_journals_agree",
    "running_cluster",
    "start_cluster",
]
