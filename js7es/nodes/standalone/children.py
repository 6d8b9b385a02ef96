"""The standalone's node processes: `Child` (one node), the list of them, a port check."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from js7es.nodes.standalone.layout import HOST, Layout, StandaloneError
from js7es.nodes.standalone.prepare import Prepared

LOG_TAIL_LINES = 25


@dataclass
class Child:
    """One node process of the standalone."""

    name: str  # "Controller", "Agent"
    kind: str  # the js7es command: "controller", "agent"
    config: Path
    port: int
    api_prefix: str  # its health route is api_prefix + "/health"
    log_file: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"https://{HOST}:{self.port}{self.api_prefix}"

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_file.open("ab")
        self._log.write(f"---- {time.strftime('%Y-%m-%d %H:%M:%S')} js7es standalone starts the {self.name}\n".encode())
        self._log.flush()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "js7es.nodes.cli", self.kind, "--config", str(self.config)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.config.parent,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            process_group=0,  # a terminal's Ctrl-C is ours to handle, not the node's
            preexec_fn=_die_with_parent(),
        )

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def terminate(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)

    def close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _die_with_parent() -> Callable[[], None] | None:
    """For the child before exec (Linux): SIGTERM when the standalone dies, even by SIGKILL. Looked up
    here, in the parent: between fork and exec the child must not import or load anything."""
    if sys.platform != "linux":
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def set_parent_death_signal() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_parent_death_signal


def standalone_children(layout: Layout, prepared: Prepared) -> list[Child]:
    """The node processes, in start order (stopped in reverse)."""

    def child(name: str, config: Path, port: int) -> Child:
        kind = name.lower()
        return Child(name=name, kind=kind, config=config, port=port, api_prefix=f"/{kind}/api",
                     log_file=layout.logs / f"{kind}.log")  # fmt: skip

    children = [
        child("Agent", layout.agent_config, prepared.agent_port),
        child("Controller", layout.controller_config, prepared.controller_port),
    ]
    if prepared.cockpit_port is not None:
        children.append(child("Cockpit", layout.cockpit_config, prepared.cockpit_port))
    return children


def check_port_free(child: Child) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind((HOST, child.port))
        except OSError as e:
            raise StandaloneError(
                f"port {child.port} for the {child.name} is not free ({e.strerror}); another js7es standalone? "
                f"Choose another one in {child.config}"
            ) from None
