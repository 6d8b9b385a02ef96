"""Real js7es node processes on loopback for end-to-end tests, behind one small interface.

`Topology` writes certificates and configurations, starts `js7es controller` and `js7es agent` as
subprocesses, kills and restarts them, and offers a client that talks to the Controller over HTTPS
with our CA. A container-based launcher can implement the same interface later (deploy/ images).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from js7es.nodes.certs import create_ca, create_node_certificate
from js7es.nodes.tls import TlsConfig, client_ssl_context
from tests.ports import HOST, free_port

ADMIN = ("admin", "admin-secret")


@dataclass
class NodeProcess:
    kind: str
    name: str
    config: Path
    data_dir: Path
    port: int
    log_file: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def prefix(self) -> str:
        prefixes = {"controller": "/controller/api", "cluster-watch": "/cluster-watch/api", "subagent": "/subagent/api"}
        return prefixes.get(self.kind, "/agent/api")


@dataclass
class Topology:
    root: Path
    agents: tuple[str, ...] = ("agent",)
    # Subagent processes (`js7es subagent`), each accepting every Agent of `agents` as its Director;
    # `agent_items()` attaches them to the first Agent.
    subagents: tuple[str, ...] = ()
    controller_id: str = "js7es-test"
    nodes: dict[str, NodeProcess] = field(default_factory=dict)
    scheme: str = "https"
    snapshot_after_events: int | None = None  # [journal] snapshot-after-events of every node
    # Node name → user id → entry (password, permissions, distinguished-names), added to that node's users.
    extra_users: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    # More client certificates from our CA (CN = the name), e.g. for users in `extra_users`.
    extra_certificates: tuple[str, ...] = ()
    # [journal] readers of the Controllers: users whose ReleaseEvents old journal segments wait for.
    journal_readers: tuple[str, ...] = ()
    # More environment variables of every node process (e.g. the test clock, js7es.nodes.clock).
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        certs = self.root / "certs"
        create_ca(certs / "ca")
        for name in ("controller", *self.agents, *self.subagents, "client", *self.extra_certificates):
            create_node_certificate(certs / "ca", certs / name, name, [HOST, "localhost"])
        self.client_tls = TlsConfig.from_dir(certs / "client", certs / "ca")
        self.nodes["controller"] = self._node("controller", "controller")
        for agent in self.agents:
            self.nodes[agent] = self._node("agent", agent)
        for subagent in self.subagents:
            self.nodes[subagent] = self._node("subagent", subagent)

    def add_controller(self, name: str, controller_id: str) -> NodeProcess:
        """Another Controller, not started, with its own id and certificate (CN = `name`) from our CA."""
        certs = self.root / "certs"
        create_node_certificate(certs / "ca", certs / name, name, [HOST, "localhost"])
        self.nodes[name] = self._node("controller", name, controller_id=controller_id)
        return self.nodes[name]

    def _node(self, kind: str, name: str, *, controller_id: str | None = None) -> NodeProcess:
        data_dir = self.root / name
        data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        certs = self.root / "certs"
        lines = [
            f"[{kind}]",
            f'data-dir = "{data_dir}"',
            *([f'id = "{controller_id or self.controller_id}"'] if kind == "controller" else []),
            *([f'id = "{name}"'] if kind == "subagent" else []),
            "[http]",
            f'host = "{HOST}"',
            f"port = {port}",
            "[tls]",
            f'cert = "{certs / name / "node.crt"}"',
            f'key = "{certs / name / "node.key"}"',
            f'ca = "{certs / "ca" / "ca.crt"}"',
        ]
        if kind == "controller":
            lines += [
                "[timing]",
                "agent-poll-timeout = 2",
                "agent-release-period = 1",
                "[users.admin]",
                f'password = "plain:{ADMIN[1]}"',
                'permissions = ["SuperPermission"]',
                "[users.client]",
                'distinguished-names = ["CN=client"]',
                'permissions = ["SuperPermission"]',
            ]
        elif kind == "subagent":
            lines += [
                "[users.director]",
                f"distinguished-names = {json.dumps([f'CN={agent}' for agent in self.agents])}",
                'permissions = ["AgentDirector"]',
            ]
        else:
            lines += [
                "[users.controller]",
                'distinguished-names = ["CN=controller"]',
                'permissions = ["AgentDirector"]',
            ]
        for user_id, entry in self.extra_users.get(name, {}).items():
            lines += [f"[users.{user_id}]", *(f"{key} = {json.dumps(value)}" for key, value in entry.items())]
        journal = []
        if self.snapshot_after_events is not None:
            journal.append(f"snapshot-after-events = {self.snapshot_after_events}")
        if self.journal_readers and kind == "controller":
            journal.append(f"readers = {json.dumps(list(self.journal_readers))}")
        if journal and kind != "subagent":
            lines += ["[journal]", *journal]
        config = data_dir / f"{kind}.toml"
        config.write_text("\n".join(lines) + "\n")
        return NodeProcess(
            kind=kind, name=name, config=config, data_dir=data_dir, port=port, log_file=data_dir / "node.log"
        )

    # -- processes ----------------------------------------------------------------------------------

    def start(self, name: str, *, wait: bool = True) -> NodeProcess:
        node = self.nodes[name]
        assert node.process is None or node.process.poll() is not None, f"{name} runs already"
        with node.log_file.open("ab") as log:
            node.process = subprocess.Popen(
                [sys.executable, "-m", "js7es.nodes.cli", node.kind, "--config", str(node.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=node.data_dir,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            )
        node.starts += 1
        if wait:
            self.wait_ready(name)
        return node

    def start_all(self) -> None:
        for name in self.nodes:
            self.start(name, wait=False)
        for name in self.nodes:
            self.wait_ready(name)

    def wait_ready(self, name: str, timeout: float = 30) -> None:
        node = self.nodes[name]
        deadline = time.monotonic() + timeout
        with self._client(node) as client:
            while time.monotonic() < deadline:
                if node.process is not None and node.process.poll() is not None:
                    raise AssertionError(f"{name} exited with {node.process.returncode}:\n{self.log(name)}")
                try:
                    if client.get(f"{node.prefix}/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise AssertionError(f"{name} not ready after {timeout} s:\n{self.log(name)}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        node = self.nodes[name]
        if node.process is not None and node.process.poll() is None:
            node.process.send_signal(sig)
            node.process.wait(timeout=30)

    def restart(self, name: str) -> None:
        self.kill(name)
        self.start(name)

    def stop_all(self) -> None:
        for name in self.nodes:
            self.kill(name, signal.SIGTERM)

    def log(self, name: str) -> str:
        path = self.nodes[name].log_file
        return path.read_text(errors="replace")[-5000:] if path.exists() else ""

    # -- talking to the Controller ------------------------------------------------------------------

    def _client(self, node: NodeProcess, *, tls: TlsConfig | None = None, **kwargs: Any) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.scheme}://{HOST}:{node.port}",
            verify=client_ssl_context(tls or self.client_tls),
            **{"timeout": 30, **kwargs},
        )

    def controller(self) -> httpx.Client:
        """A client of the Controller, logged in by its client certificate (user "client")."""
        return self._client(self.nodes["controller"])

    def client(self, name: str, *, certificate: str = "client", **kwargs: Any) -> httpx.Client:
        """A client of node `name` presenting the client certificate `certificate` (one of ours)."""
        certs = self.root / "certs"
        return self._client(self.nodes[name], tls=TlsConfig.from_dir(certs / certificate, certs / "ca"), **kwargs)

    def agent_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for agent in self.agents:
            items.append({"TYPE": "AgentRef", "path": agent, "directors": [f"{agent}-director"]})
            items.append(
                {
                    "TYPE": "SubagentItem",
                    "id": f"{agent}-director",
                    "agentPath": agent,
                    "uri": f"https://{HOST}:{self.nodes[agent].port}",
                }
            )
        items += [self.subagent_item(name, self.agents[0]) for name in self.subagents]
        return items

    def subagent_item(self, name: str, agent: str, **fields: Any) -> dict[str, Any]:
        """The SubagentItem of the Subagent process `name`, attached to `agent`."""
        uri = f"https://{HOST}:{self.nodes[name].port}"
        return {"TYPE": "SubagentItem", "id": name, "agentPath": agent, "uri": uri, **fields}

    def deploy(self, *workflows: dict[str, Any], version: str, with_agents: bool = True) -> httpx.Response:
        operations: list[dict[str, Any]] = [{"TYPE": "AddVersion", "versionId": version}]
        if with_agents:
            operations += [{"TYPE": "AddOrChangeSimple", "item": item} for item in self.agent_items()]
        operations += [{"TYPE": "AddOrChangeSimple", "item": w} for w in workflows]
        with self.controller() as c:
            return c.post("/controller/api/item", json=operations)

    def add_order(self, order_id: str, workflow: str, **fields: Any) -> httpx.Response:
        with self.controller() as c:
            return c.post("/controller/api/order", json={"id": order_id, "workflowPath": workflow, **fields})

    def command(self, command: dict[str, Any]) -> httpx.Response:
        with self.controller() as c:
            return c.post("/controller/api/command", json=command)

    def events(self, after: int = 0, timeout: float = 0) -> list[dict[str, Any]]:
        with self.controller() as c:
            response = c.get("/controller/api/event", params={"after": after, "timeout": timeout})
            assert response.status_code == 200, response.text
            return [json.loads(line) for line in response.text.splitlines() if line.strip()]

    def agent_events(self, agent: str = "agent") -> list[dict[str, Any]]:
        """The Agent's own journal, as the Controller reads it (`/agent/api/event`)."""
        with self.client(agent, certificate="controller") as c:
            response = c.get("/agent/api/event", params={"after": 0, "timeout": 0})
        assert response.status_code == 200, response.text
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]

    def wait_for_agent(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 30, agent: str = "agent"
    ) -> list[dict[str, Any]]:
        """Poll the Agent's own journal until `predicate(all its events)` holds."""
        deadline = time.monotonic() + timeout
        while not predicate(events := self.agent_events(agent)):
            assert time.monotonic() < deadline, f"timed out waiting in the journal of {agent}"
            time.sleep(0.1)
        return events

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 30) -> list[dict[str, Any]]:
        """Follow the Controller's event stream until `predicate(all events so far)` holds."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            after = seen[-1]["eventId"] if seen else 0
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; last events: {seen[-20:]}")
            try:
                if self._follow(seen, after, min(remaining, 5), predicate):
                    return seen
            except httpx.HTTPError:
                time.sleep(0.1)  # the Controller is restarting
                continue
            if predicate(seen):
                return seen

    def _follow(
        self,
        seen: list[dict[str, Any]],
        after: int,
        timeout: float,
        predicate: Callable[[list[dict[str, Any]]], bool],
    ) -> bool:
        """Read one long-poll of the event stream line by line; stop as soon as `predicate` holds."""
        with (
            self.controller() as c,
            c.stream("GET", "/controller/api/event", params={"after": after, "timeout": timeout}) as response,
        ):
            assert response.status_code == 200, response.read().decode()
            for line in response.iter_lines():
                if line.strip():
                    seen.append(json.loads(line))
                    if predicate(seen):
                        return True
        return False

    def order_events(self, events: list[dict[str, Any]], order_id: str) -> list[str]:
        return [e["TYPE"] for e in events if e.get("Key") == order_id]

    def terminated(self, events: list[dict[str, Any]], *order_ids: str) -> bool:
        ended = {e.get("Key") for e in events if e["TYPE"] in ("OrderFinished", "OrderFailed", "OrderCancelled")}
        return all(o in ended for o in order_ids)


def iter_lines(path: Path) -> Iterator[str]:
    if path.exists():
        yield from path.read_text().splitlines()
