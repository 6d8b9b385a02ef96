"""Free TCP ports on loopback for the servers the tests start, apart for each pytest-xdist worker.

A port from ``bind(("127.0.0.1", 0))`` lies in the kernel's ephemeral range, the range every outgoing
connection takes its local port from as well: between the test choosing it and the node binding it
(a process start, up to a second), a client connection of this worker or of another one can take it.
These ports come from below that range instead, from a block of its own per xdist worker
(PYTEST_XDIST_WORKER gw0, gw1, …), handed out in turn from a random start in the block (so that two
suites on one machine seldom meet), each checked free by a bind (something listening there, e.g. a
node a test still runs, is passed over).
"""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

HOST = "127.0.0.1"
LOWEST = 10_000


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _block() -> range:
    """This process's ports: one of `workers` equal blocks of [LOWEST, first ephemeral port)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1), index + 1)
    size = (_ephemeral_low() - LOWEST) // workers
    return range(LOWEST + index * size, LOWEST + (index + 1) * size)


_BLOCK = _block()
_next = random.randrange(len(_BLOCK)) if len(_BLOCK) >= 100 else 0


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nothing listens on now, not handed out before by this process (until its block wraps)."""
    global _next
    if len(_BLOCK) < 100:  # an unusual ip_local_port_range: leave it to the kernel
        with socket.socket() as s:
            s.bind((HOST, 0))
            return int(s.getsockname()[1])
    for _ in range(len(_BLOCK)):
        port = _BLOCK[_next % len(_BLOCK)]
        _next += 1
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port in {_BLOCK}")
