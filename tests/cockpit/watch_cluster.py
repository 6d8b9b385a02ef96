"""A Controller cluster whose Cluster Watch is a pair of Cockpits on one PostgreSQL database, as real
processes on loopback (issue 19, Must 3): tests/e2e/cluster_topology.ClusterTopology (Primary, Backup,
one Agent; its standalone Watch is not started) and two tests/cockpit/cockpit_process.CockpitProcess
members "a" and "b" of one Cockpit cluster. Both Controller nodes name both Cockpits as their
``[cluster] watches``; both Cockpits follow the Controller cluster (both URIs).

`watch_client()` has a certificate (CN=watch-tester) that the Cockpits let send Watch requests, as the
Controller nodes do.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from js7es.nodes.cockpit.api.passwords import hash_password
from js7es.nodes.tls import TlsConfig, client_ssl_context
from tests.cockpit.cockpit_process import COCKPIT_USER, CockpitProcess
from tests.e2e.cluster_topology import NODES, ClusterTopology
from tests.ports import HOST

MEMBERS = ("a", "b")
ROOT_PASSWORD = "watch-root-pw"
WATCH_TESTER = "watch-tester"


class CockpitWatchedCluster:
    def __init__(self, root: Path, database_url: str, schema: str | None, *, lease_s: float = 4.0) -> None:
        users = {name: {"cockpit": COCKPIT_USER} for name in NODES}
        self.topology = ClusterTopology(
            root / "nodes", extra_users=users, extra_certificates=(WATCH_TESTER,), journal_readers=("cockpit",)
        )
        self.lease_s = lease_s
        root_hash = hash_password(ROOT_PASSWORD)
        self.cockpits: dict[str, CockpitProcess] = {}
        for name in MEMBERS:
            cockpit = CockpitProcess(
                self.topology,
                root / f"cockpit-{name}",
                {self.topology.controller_id: "primary"},
                database_url,
                schema,
                sections={
                    "joc": {"root-password-hash": root_hash},
                    "users.nodes": {
                        "distinguished-names": ["CN=primary", "CN=backup", f"CN={WATCH_TESTER}"],
                        "permissions": ["ReadState", "Command"],
                    },
                },
            )
            cluster = {
                "member-id": name,
                "uri": f"https://{HOST}:{cockpit.port}",
                "lease": lease_s,
                "renew-interval": 1,
                "poll-interval": 0.5,
            }
            uris = json.dumps([f"https://{HOST}:{self.topology.nodes[n].port}" for n in NODES])
            text = cockpit.config.read_text().replace(
                f'uris = ["https://{HOST}:{self.topology.nodes["primary"].port}"]', f"uris = {uris}"
            )
            text += "[cluster]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in cluster.items())
            cockpit.config.write_text(text)
            cockpit.env = {"PGAPPNAME": f"js7es-{name}"}
            self.cockpits[name] = cockpit
        watches = json.dumps([f"https://{HOST}:{c.port}" for c in self.cockpits.values()])
        standalone = f'watches = ["https://{HOST}:{self.topology.nodes["watch"].port}"]'
        for name in NODES:
            config = self.topology.nodes[name].config
            text = config.read_text()
            assert standalone in text
            config.write_text(text.replace(standalone, f"watches = {watches}"))
        certs = self.topology.root / "certs"
        self.tester_tls = TlsConfig.from_dir(certs / WATCH_TESTER, certs / "ca")

    # -- processes ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Cockpit a (active), then b (standby), then the Agent and both Controller nodes; until Coupled."""
        a, b = self.cockpits["a"], self.cockpits["b"]
        a.start()
        a.wait_ready()
        wait_until(lambda: self.cockpit_cluster("a").get("active"), 30, "cockpit a active")
        b.start()
        b.wait_ready()
        wait_until(lambda: self.cockpit_cluster("b").get("activeMember") == "a", 30, "cockpit b to see a active")
        for name in ("agent", *NODES):
            self.topology.start(name, wait=False)
        for name in ("agent", *NODES):
            self.topology.wait_ready(name)
        self.topology.wait_coupled(timeout=60)

    def stop(self) -> None:
        for cockpit in self.cockpits.values():
            if cockpit.process is not None and cockpit.process.poll() is None:
                cockpit.process.send_signal(signal.SIGCONT)
            cockpit.kill()
        self.topology.stop_all()

    # -- the Cockpits ---------------------------------------------------------------------------------

    def cockpit_cluster(self, name: str) -> dict[str, Any]:
        """The member's part in its cluster (its overview), {} when it does not answer."""
        try:
            overview = self.cockpits[name].overview()
        except (httpx.HTTPError, ValueError):
            return {}
        return {**overview.get("cluster", {}), "watchRunning": overview.get("clusterWatch", {}).get("running")}

    def active_cockpit(self) -> str | None:
        active = [n for n in MEMBERS if self.cockpit_cluster(n).get("active")]
        return active[0] if len(active) == 1 else None

    def watch_client(self, name: str) -> httpx.Client:
        return httpx.Client(
            base_url=f"https://{HOST}:{self.cockpits[name].port}",
            verify=client_ssl_context(self.tester_tls),
            timeout=10,
        )

    def watch_view(self, name: str) -> tuple[int, Any]:
        """(HTTP status, body) of the member's ``GET /cluster-watch/api/cluster?clusterId=…``."""
        with self.watch_client(name) as client:
            response = client.get("/cluster-watch/api/cluster", params={"clusterId": self.topology.controller_id})
        return response.status_code, response.json()

    def taught(self, name: str) -> bool:
        try:
            status, body = self.watch_view(name)
        except httpx.HTTPError:
            return False
        return status == 200 and bool(body.get("taught"))

    def joc_login(self, name: str) -> str:
        with self.cockpits[name].client() as client:
            answer = client.post("/joc/api/authentication/login", auth=("root", ROOT_PASSWORD))
        assert answer.status_code == 200, answer.text
        return str(answer.headers["X-Access-Token"])


class ActiveControllers(threading.Thread):
    """Polls both Controller nodes' cluster state all along: `most` is the most nodes that said at once
    (within one poll of both) that they are the ready active one (as ClusterTopology.active_nodes)."""

    def __init__(self, topology: ClusterTopology, *, pause: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.topology = topology
        self.pause = pause
        self.most = 0
        self.polls = 0
        self.both: list[list[dict[str, Any] | None]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            infos = [self.topology.info(n) for n in NODES]
            active = [i for i in infos if i is not None and i.get("active") and i.get("ready")]
            self.most = max(self.most, len(active))
            if len(active) > 1:
                self.both.append(infos)
            self.polls += 1
            time.sleep(self.pause)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
