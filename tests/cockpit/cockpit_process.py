"""A real `js7es cockpit` process beside a test Topology: configuration, start, kill -9, readiness."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from js7es.nodes.certs import create_node_certificate
from js7es.nodes.tls import client_ssl_context
from tests.e2e.topology import HOST, Topology
from tests.ports import free_port

COCKPIT_USER = {"distinguished-names": ["CN=cockpit"], "permissions": ["ReadState", "Command"]}


@dataclass
class CockpitProcess:
    topology: Topology
    root: Path
    controllers: dict[str, str]  # controller id -> node name in the topology
    database_url: str = ""
    schema: str | None = None
    release_period: float = 0.5
    extra: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)  # more tables, e.g. "export.kafka"
    process: subprocess.Popen[bytes] | None = None
    env: dict[str, str] = field(default_factory=dict)  # more environment for the next start (test hooks)
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)  # for the next start, e.g. JS7ES_TEST_CRASH_AT

    def __post_init__(self) -> None:
        certs = self.topology.root / "certs"
        if not (certs / "cockpit" / "node.crt").exists():
            create_node_certificate(certs / "ca", certs / "cockpit", "cockpit", [HOST, "localhost"])
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config = self.root / "cockpit.toml"
        self.log_file = self.root / "cockpit.log"
        lines = [
            "[cockpit]",
            f'data-dir = "{self.root}"',
            "[http]",
            f'host = "{HOST}"',
            f"port = {self.port}",
            "[tls]",
            f'cert = "{certs / "cockpit" / "node.crt"}"',
            f'key = "{certs / "cockpit" / "node.key"}"',
            f'ca = "{certs / "ca" / "ca.crt"}"',
            "[database]",
            f"url = {json.dumps(self.database_url)}",
            *([f'schema = "{self.schema}"'] if self.schema else []),
            "[projection]",
            f"release-period = {self.release_period}",
            "retry-delay = 0.2",
            *(f"{k} = {json.dumps(v)}" for k, v in self.extra.items()),
        ]
        for controller_id, name in self.controllers.items():
            lines += [f'[controllers."{controller_id}"]', f'uris = ["https://{HOST}:{self.topology.nodes[name].port}"]']
        lines += ["[users.client]", 'distinguished-names = ["CN=client"]', 'permissions = ["ReadMetrics"]']
        for name, table in self.sections.items():
            lines += [f"[{name}]", *(f"{k} = {json.dumps(v)}" for k, v in table.items())]
        self.config.write_text("\n".join(lines) + "\n")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "js7es.nodes.cli", "cockpit", *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
            timeout=600,
        )

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "js7es.nodes.cli", "cockpit", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            )
        self.starts += 1

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"https://{HOST}:{self.port}", verify=client_ssl_context(self.topology.client_tls), timeout=10
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise AssertionError(f"cockpit exited with {self.process.returncode}:\n{self.log()}")
                try:
                    if client.get("/cockpit/api/health").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise AssertionError(f"cockpit not ready after {timeout} s:\n{self.log()}")

    def overview(self) -> dict[str, Any]:
        with self.client() as client:
            return dict(client.get("/cockpit/api").json())

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")[-5000:] if self.log_file.exists() else ""


def controller_event_id(topology: Topology, name: str = "controller") -> int:
    with topology.client(name) as c:
        return int(c.get(topology.nodes[name].prefix).json()["eventId"])
