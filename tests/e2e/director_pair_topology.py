"""A Controller and an Agent as a Director pair (Primary and Backup Director, the Controller cluster's
machinery) whose Cluster Watch is the Controller (JS7's way) or a standalone ``js7es cluster-watch``; all
real processes on loopback with mutual TLS."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from js7es.nodes.certs import create_node_certificate
from tests.e2e.cluster_topology import ClusterTopology
from tests.e2e.topology import NodeProcess, Topology
from tests.ports import HOST

DIRECTORS = {"director-a": "Primary", "director-b": "Backup"}
AGENT = "agent"


@dataclass
class DirectorPairTopology(Topology):
    """Nodes: "controller", "director-a" (Primary), "director-b" (Backup), and with `standalone_watch`
    "watch", a ``js7es cluster-watch`` instead of the Controller as the pair's Cluster Watch."""

    agents: tuple[str, ...] = ()
    standalone_watch: bool = False
    directors_disabled: bool = False  # the Directors' own Subagents run no job: only the remote ones do
    heartbeat: float = 0.3
    heartbeat_timeout: float = 1.5
    consent_timeout: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        certs = self.root / "certs"
        for name in (*DIRECTORS, "watch"):
            create_node_certificate(certs / "ca", certs / name, name, [HOST, "localhost"])
        for name in DIRECTORS:
            self.nodes[name] = self._node("agent", name)
        directors = ", ".join(f'"CN={n}"' for n in DIRECTORS)
        if self.standalone_watch:
            self.nodes["watch"] = ClusterTopology._watch_node(self)  # type: ignore[arg-type]
            watch_config = self.nodes["watch"].config
            watch_config.write_text(watch_config.read_text().replace('"CN=primary", "CN=backup"', directors))
        else:  # the Directors report to the Controller, their Cluster Watch
            config = self.nodes["controller"].config
            lines = [
                "[users.directors]",
                f"distinguished-names = [{directors}]",
                'permissions = ["ClusterWatchClient"]',
            ]
            config.write_text(config.read_text() + "\n".join(lines) + "\n")
        for name, node_id in DIRECTORS.items():
            self._add_pair_config(self.nodes[name], node_id)
        for name in self.subagents:  # the pair's remote Subagents accept both Directors
            config = self.nodes[name].config
            directors_cns = json.dumps([f"CN={d}" for d in (*self.agents, *DIRECTORS)])
            text = config.read_text()
            head, _, rest = text.partition("[users.director]\n")
            _, _, tail = rest.partition("\n")
            config.write_text(f"{head}[users.director]\ndistinguished-names = {directors_cns}\n{tail}")

    def _add_pair_config(self, node: NodeProcess, node_id: str) -> None:
        peer = next(n for n in DIRECTORS if n != node.name)
        nodes = {DIRECTORS[n]: f"https://{HOST}:{self.nodes[n].port}" for n in DIRECTORS}
        text = node.config.read_text().replace("[agent]\n", f'[agent]\nid = "{AGENT}"\n', 1)
        lines = [
            "[cluster]",
            f'node-id = "{node_id}"',
            "nodes = { " + ", ".join(f'{k} = "{v}"' for k, v in nodes.items()) + " }",
            f'watches = ["https://{HOST}:{self.nodes["watch" if self.standalone_watch else "controller"].port}"]',
            f"heartbeat = {self.heartbeat}",
            f"heartbeat-timeout = {self.heartbeat_timeout}",
            f"consent-timeout = {self.consent_timeout}",
            f"[users.{peer}]",
            f'distinguished-names = ["CN={peer}"]',
            'permissions = ["ReadState", "Command"]',
        ]
        node.config.write_text(text + "\n".join(lines) + "\n")

    def agent_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for agent in self.agents:  # the standalone Agents beside the pair
            uri = f"https://{HOST}:{self.nodes[agent].port}"
            items.append({"TYPE": "AgentRef", "path": agent, "directors": [f"{agent}-director"]})
            items.append({"TYPE": "SubagentItem", "id": f"{agent}-director", "agentPath": agent, "uri": uri})
        items.append({"TYPE": "AgentRef", "path": AGENT, "directors": list(DIRECTORS)})
        for name in DIRECTORS:
            uri = f"https://{HOST}:{self.nodes[name].port}"
            disabled = {"disabled": True} if self.directors_disabled else {}
            items.append({"TYPE": "SubagentItem", "id": name, "agentPath": AGENT, "uri": uri, **disabled})
        items += [self.subagent_item(name, AGENT) for name in self.subagents]  # the pair's remote Subagents
        return items

    def director_info(self, name: str) -> dict[str, Any] | None:
        """The Director's `GET /agent/api/cluster`, or None when it does not answer."""
        node = self.nodes[name]
        if node.process is None or node.process.poll() is not None:
            return None
        try:
            peer = next(n for n in DIRECTORS if n != name)  # the peer may read the cluster's state
            with self.client(name, certificate=peer, timeout=5) as c:
                response = c.get("/agent/api/cluster")
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    def active_directors(self) -> list[str]:
        return [n for n in DIRECTORS if (info := self.director_info(n)) is not None and info.get("active")]

    def wait_director_active(self, name: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.director_info(name)
            if info is not None and info.get("active") and info.get("ready"):
                return
            time.sleep(0.05)
        raise AssertionError(f"{name} not the ready active Director after {timeout} s: {self.director_info(name)}")

    def wait_directors_coupled(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            infos = [self.director_info(n) for n in DIRECTORS]
            if all(i is not None and (i.get("clusterState") or {}).get("TYPE") == "Coupled" for i in infos):
                return
            time.sleep(0.05)
        raise AssertionError(f"Directors not coupled after {timeout} s: {[self.director_info(n) for n in DIRECTORS]}")
