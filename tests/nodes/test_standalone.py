"""`js7es standalone` as a user runs it: real processes on a temporary data directory and free ports."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import ssl
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from js7es.nodes.client.controller import ControllerClient
from js7es.nodes.standalone.layout import standalone_connection
from tests.ports import free_port

SAMPLE_ORDER = "hello-sample"


def js7es(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", *args], capture_output=True, text=True, timeout=timeout
    )


@contextlib.contextmanager
def running_standalone(data_dir: Path) -> Iterator[Standalone]:
    """A standalone on free ports, "Running." — killed at the end."""
    running = Standalone(data_dir, "--controller-port", str(free_port()), "--agent-port", str(free_port()))
    try:
        running.wait_for_line("Running.", timeout=60)
        yield running
    finally:
        running.stop(signal.SIGKILL)


class Standalone:
    """A running `js7es standalone`; its output is collected by a thread, line by line."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        self.data_dir = data_dir
        self.process = subprocess.Popen(
            [sys.executable, "-m", "js7es.nodes.cli", "standalone", "--data-dir", str(data_dir), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._threads = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.lines), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.errors), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, start: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(line.startswith(start) for line in self.lines):
            if self.process.poll() is not None:
                time.sleep(0.05)  # let the reader threads catch up
                raise AssertionError(f"exited with {self.process.returncode}:\n{self.output}\n{self.errors}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no line {start!r} after {timeout} s:\n{self.output}\n{self.errors}")
            time.sleep(0.02)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        for thread in self._threads:
            thread.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code


def node_processes(data_dir: Path) -> list[int]:
    """Processes whose command line names the data directory (the node children), from /proc."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if "zombie" not in state and any(str(data_dir).encode() in arg for arg in cmdline) and b"--config" in cmdline:
            pids.append(int(entry.name))
    return pids


def wait_no_node_processes(data_dir: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while node_processes(data_dir):
        assert time.monotonic() < deadline, f"node processes left: {node_processes(data_dir)}"
        time.sleep(0.05)


def client(data_dir: Path) -> ControllerClient:
    found = standalone_connection(data_dir)
    assert found is not None
    connection, tls = found
    return ControllerClient(connection, tls)


def wait_for_event(data_dir: Path, key: str, type_: str, timeout: float = 30) -> list[dict[str, Any]]:
    """All events until one of `type_` for `key`, by the Controller's event stream (long poll)."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    with client(data_dir) as c:
        while not any(e.get("Key") == key and e["TYPE"] == type_ for e in seen):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {type_} for {key}: {seen[-10:]}"
            for event in c.events(seen[-1]["eventId"] if seen else 0, timeout=min(remaining, 5)):
                seen.append(event)
                if event.get("Key") == key and event["TYPE"] == type_:
                    break
    return seen


@pytest.fixture(scope="module")
def ports() -> tuple[int, int]:
    return free_port(), free_port()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, ports: tuple[int, int]) -> Iterator[Standalone]:
    data_dir = tmp_path_factory.mktemp("standalone") / "data"
    standalone = Standalone(data_dir, "--controller-port", str(ports[0]), "--agent-port", str(ports[1]))
    try:
        standalone.wait_for_line("Running.")
        yield standalone
    finally:
        if standalone.process.poll() is None:
            standalone.stop(signal.SIGKILL)


def test_first_start_runs_the_sample_order(first_run: Standalone, ports: tuple[int, int]) -> None:
    data_dir = first_run.data_dir
    out = first_run.output
    assert "(first start)" in out
    assert f"https://127.0.0.1:{ports[0]}/controller/api" in out and f"https://127.0.0.1:{ports[1]}/agent/api" in out
    password = (data_dir / "admin-password").read_text().strip()
    assert f"password {password}" in out and len(password) >= 16
    assert stat.S_IMODE((data_dir / "admin-password").stat().st_mode) == 0o600
    assert "Deployed the sample items: AgentRef:agent, SubagentItem:agent-director, Workflow:hello" in out
    assert f"Added the sample order {SAMPLE_ORDER!r}" in out
    assert "ctl --data-dir" in out and str(data_dir / "logs" / "controller.log") in out
    events = wait_for_event(data_dir, SAMPLE_ORDER, "OrderFinished")
    chunks = [e["chunk"] for e in events if e.get("Key") == SAMPLE_ORDER and e["TYPE"] == "OrderStdoutWritten"]
    assert chunks == ["hello world\n", "done: world\n"]
    assert not [e for e in events if e["TYPE"] == "AgentCouplingFailed"]  # the Agent was ready first
    # `js7es ctl` finds the standalone by its data directory and logs in with the client certificate "cli"
    orders = js7es("ctl", "--data-dir", str(data_dir), "orders")
    assert orders.returncode == 0, orders.stderr
    lines = [line.split()[::3] for line in orders.stdout.splitlines()]
    assert lines[0] == ["ID", "STATE"] and [SAMPLE_ORDER, "Finished"] in lines[1:]
    # the others are the sample schedule's daily-plan orders, waiting for their start
    assert all(re.match(r"#\d{4}-\d\d-\d\d#[PC]\d{10}-", line[0]) for line in lines[1:] if line[0] != SAMPLE_ORDER)
    # and the admin with the generated password
    overview = js7es("ctl", "--data-dir", str(data_dir), "--user", "admin", f"--password={password}", "overview")
    assert overview.returncode == 0, overview.stderr
    assert "Agent agent: Coupled" in overview.stdout
    logs = {p.name for p in (data_dir / "logs").iterdir()}
    assert logs == {"controller.log", "agent.log", "cockpit.log"}
    # the Cockpit projected the sample order into its SQLite database
    deadline = time.monotonic() + 20
    while True:
        with contextlib.closing(sqlite3.connect(data_dir / "cockpit" / "cockpit.sqlite")) as db:
            rows = db.execute("SELECT order_id, state FROM orders WHERE order_id = ?", (SAMPLE_ORDER,)).fetchall()
            planned = db.execute("SELECT count(*) FROM daily_plan_orders WHERE schedule_path = '/samples/hello'")
            planned_count = planned.fetchone()[0]
        if rows == [(SAMPLE_ORDER, "Finished")] and planned_count > 0:
            break
        assert time.monotonic() < deadline, (rows, planned_count)
        time.sleep(0.1)
    assert "Released the sample schedule '/samples/hello'" in out
    assert "ready at" in (data_dir / "logs" / "controller.log").read_text()
    assert "ready at" not in out  # the nodes' output goes to their logs


def test_first_start_creates_the_cockpit_account_root(first_run: Standalone) -> None:
    data_dir = first_run.data_dir
    password = (data_dir / "root-password").read_text().strip()
    assert stat.S_IMODE((data_dir / "root-password").stat().st_mode) == 0o600
    assert f"Cockpit account root, password {password}" in first_run.output and len(password) >= 16
    [url] = [line.split()[-1] for line in first_run.output.splitlines() if line.strip().startswith("JOC API")]
    ca = str(data_dir / "certs" / "ca" / "ca.crt")
    with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=ca), timeout=30) as joc:
        assert joc.post("/authentication/login", auth=("root", "wrong")).status_code == 401
        r = joc.post("/authentication/login", auth=("root", password))
        assert r.status_code == 200, r.text
        assert r.json()["role"] == "all"


def test_the_data_directory_is_used_by_one_standalone_only(first_run: Standalone) -> None:
    again = js7es("standalone", "--data-dir", str(first_run.data_dir), timeout=30)
    assert again.returncode == 2
    assert again.stderr.strip().endswith("another js7es standalone runs on this data directory")
    assert "Traceback" not in again.stderr


def test_a_taken_port_is_refused_with_one_line(tmp_path: Path, ports: tuple[int, int], first_run: Standalone) -> None:
    # Only the Controller's port is taken: the Agent's is a free one, not the default 4445 (which any
    # standalone on this machine, of another test run or of a person, may hold).
    argv = ["--controller-port", str(ports[0]), "--agent-port", str(free_port())]
    taken = js7es("standalone", "--data-dir", str(tmp_path / "d"), *argv, timeout=30)
    assert taken.returncode == 2, taken
    assert f"port {ports[0]} for the Controller is not free" in taken.stderr
    assert len(taken.stderr.strip().splitlines()) == 1


def test_sigint_stops_cleanly_and_the_next_start_resumes(first_run: Standalone, ports: tuple[int, int]) -> None:
    data_dir = first_run.data_dir
    assert len(node_processes(data_dir)) == 3  # Agent, Controller, Cockpit
    assert first_run.stop(signal.SIGINT) == 0, first_run.errors
    assert first_run.lines[-2:] == ["Stopping ...", "Stopped."]
    assert not first_run.errors
    wait_no_node_processes(data_dir, timeout=1)

    conflicting = js7es("standalone", "--data-dir", str(data_dir), "--agent-port", str(free_port()))
    assert (
        conflicting.returncode == 2 and "--agent-port" in conflicting.stderr and "edit the file" in conflicting.stderr
    )

    second = Standalone(data_dir)  # the ports come from the configurations now
    try:
        second.wait_for_line("Running.")
        out = second.output
        assert "(first start)" not in out and "Deployed" not in out and "Added" not in out
        assert "password in" in out and (data_dir / "admin-password").read_text().strip() not in out
        with client(data_dir) as c:
            orders = c.get("/order")["orders"]
            # the sample order, once, and the sample schedule's daily-plan orders waiting for their start
            assert [o["id"] for o in orders if not o["id"].startswith("#")] == [SAMPLE_ORDER]
            events = list(c.events(0))
        assert sum(1 for e in events if e["TYPE"] == "OrderAdded" and e.get("Key") == SAMPLE_ORDER) == 1
        assert sum(1 for e in events if e["TYPE"] == "VersionAdded") == 1
    finally:
        assert second.stop(signal.SIGTERM) == 0, second.errors
    wait_no_node_processes(data_dir, timeout=1)


def test_a_node_that_dies_ends_the_standalone_with_its_log(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    standalone = Standalone(data_dir, "--controller-port", str(free_port()), "--agent-port", str(free_port()))
    try:
        standalone.wait_for_line("Running.")
        agent = next(pid for pid in node_processes(data_dir) if b" agent " in _cmdline(pid))
        os.kill(agent, signal.SIGKILL)
        assert standalone.process.wait(timeout=15) == 1
    finally:
        standalone.stop(signal.SIGKILL)
    errors = "\n".join(standalone.errors)
    assert errors.startswith("js7es: the Agent was killed by signal 9 unexpectedly; the end of")
    assert "js7es agent ready at" in errors  # the tail of its log
    wait_no_node_processes(data_dir)

    # killed itself (kill -9): its nodes get SIGTERM from the kernel (PR_SET_PDEATHSIG) and stop
    again = Standalone(data_dir)
    try:
        again.wait_for_line("Running.")
        assert len(node_processes(data_dir)) == 3
    finally:
        again.stop(signal.SIGKILL)
    wait_no_node_processes(data_dir, timeout=15)


def _cmdline(pid: int) -> bytes:
    return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ")
