"""The run of the standalone: start the nodes one after the other (each when the one before answers its
health route), deploy the samples, watch the nodes, stop them on SIGINT/SIGTERM (a second one kills)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from js7es.nodes.client.connection import ClientTls, ControllerConnection
from js7es.nodes.client.controller import ControllerClient
from js7es.nodes.standalone.children import Child, check_port_free, standalone_children
from js7es.nodes.standalone.layout import HOST, Layout, exclusive
from js7es.nodes.standalone.prepare import Prepared, prepare
from js7es.nodes.standalone.samples import SAMPLE_WORKFLOW, deploy_samples, release_sample_schedule

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


class _Signals:
    """SIGINT/SIGTERM/SIGCHLD wake the main loop; counts stop requests (a second one kills)."""

    def __init__(self) -> None:
        self.wake = threading.Event()
        self.stop_requests = 0
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._stop)
        self._previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda *_: self.wake.set())

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _stop(self, signum: int, frame: object) -> None:
        self.stop_requests += 1
        self.wake.set()

    @property
    def stopping(self) -> bool:
        return self.stop_requests > 0

    def sleep(self, seconds: float) -> None:
        self.wake.wait(seconds)
        self.wake.clear()


class NodeDied(Exception):
    def __init__(self, child: Child) -> None:
        super().__init__(child.name)
        self.child = child


class Standalone:
    def __init__(self, layout: Layout, prepared: Prepared, out: Callable[[str], None]) -> None:
        self.layout = layout
        self.prepared = prepared
        self.children = standalone_children(layout, prepared)
        self.signals = _Signals()
        self.out = out

    def run(self) -> int:
        self.signals.install()
        try:
            code = self._run()
        finally:
            self._stop_children()
            self.signals.restore()
        if code == 0:
            self.out("Stopped.")
        return code

    def _run(self) -> int:
        try:
            for child in self.children:
                check_port_free(child)
            for child in self.children:  # one after the other: the Controller finds its Agent ready
                child.start()
                if not self._wait_healthy(child):
                    self.out("Stopping ...")
                    return 0
            self._print_where()
            self._samples()
            self._print_try()
            self.out("Running. Ctrl-C stops everything; the next start resumes where it was.")
            while not self.signals.stopping:
                self._check_alive()
                self.signals.sleep(0.5)
            self.out("Stopping ...")
            return 0
        except NodeDied as e:
            child = e.child
            code = child.exited()
            how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
            print(
                f"js7es: the {child.name} {how} unexpectedly; the end of {child.log_file}:\n{child.log_tail()}",
                file=sys.stderr,
            )
            return 1

    def _check_alive(self) -> None:
        for child in self.children:
            if child.exited() is not None and not self.signals.stopping:
                raise NodeDied(child)

    def _tls(self) -> ClientTls:
        return self.layout.cli_tls()

    def _client(self) -> ControllerClient:
        connection = ControllerConnection(uris=(f"https://{HOST}:{self.prepared.controller_port}",))
        return ControllerClient(connection, self._tls(), timeout_s=10)

    def _wait_healthy(self, child: Child) -> bool:
        """True when `child` answers its health route; False when a stop was asked for meanwhile."""
        import httpx

        from js7es.nodes.client.http import HttpOptions

        context = self._tls().ssl_context()
        deadline = time.monotonic() + START_TIMEOUT_S
        with HttpOptions(verify=context, timeout_s=2).sync_client() as http:
            while not self.signals.stopping:
                self._check_alive()
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{child.url}/health").status_code == 200:
                        return True
                if time.monotonic() > deadline:
                    print(
                        f"js7es: the {child.name} did not become ready in {START_TIMEOUT_S:.0f} s; "
                        f"the end of {child.log_file}:\n{child.log_tail()}",
                        file=sys.stderr,
                    )
                    raise NotReady
                self.signals.sleep(0.05)
        return False

    def _samples(self) -> None:
        deploy_samples(self._client(), self.layout, self.prepared.agent_port, self.out)
        if self.prepared.cockpit_port is not None:
            release_sample_schedule(self.layout, self.prepared.cockpit_port, self.out)

    def _print_where(self) -> None:
        data = self.layout.data_dir.resolve()
        lines = [
            f"js7es standalone on {data}{' (first start)' if self.prepared.first_start else ''}",
            *(f"  {child.name:<11} {child.url}   log: {child.log_file}" for child in reversed(self.children)),
            f"  TLS         CA {self.layout.certs / 'ca' / 'ca.crt'}; client certificate {self.layout.certs / 'cli'}",
        ]
        if self.prepared.admin_password is not None:
            lines.append(
                f"  User admin, password {self.prepared.admin_password}"
                f"  (shown once; kept in {self.layout.admin_password})"
            )
        else:
            lines.append(f"  User admin, password in {self.layout.admin_password}")
        if self.prepared.cockpit_port is not None:
            lines.append(f"  Cockpit UI  https://{HOST}:{self.prepared.cockpit_port}/  (log in as root)")
            lines.append(f"  JOC API     https://{HOST}:{self.prepared.cockpit_port}/joc/api")
            if self.prepared.root_password is not None:
                lines.append(
                    f"  Cockpit account root, password {self.prepared.root_password}"
                    f"  (shown once; kept in {self.layout.root_password} until you change it)"
                )
            elif self.layout.root_password.exists():
                lines.append(f"  Cockpit account root, first password in {self.layout.root_password}")
        for line in lines:
            self.out(line)

    def _print_try(self) -> None:
        ctl = _ctl_command(self.layout.data_dir)
        for line in (
            "Try:",
            f"  {ctl} orders",
            f"  {ctl} events --follow",
            f"  {ctl} add-order {SAMPLE_WORKFLOW} --arg name=Ada",
            f"  {ctl} deploy my.workflow.json",
            f"  {ctl} --help",
        ):
            self.out(line)

    def _stop_children(self) -> None:
        running = [c for c in self.children if c.exited() is None]
        for child in reversed(running):  # all at once: each stops on its own, and the journals keep everything
            child.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        killed = False
        for child in reversed(self.children):
            while child.process is not None and child.exited() is None:
                if not killed and (self.signals.stop_requests > 1 or time.monotonic() > deadline):
                    reason = (
                        "Ctrl-C again"
                        if self.signals.stop_requests > 1
                        else f"not stopped after {STOP_TIMEOUT_S:.0f} s"
                    )
                    print(
                        f"js7es: killing the nodes ({reason}); their journals keep what was committed", file=sys.stderr
                    )
                    for c in self.children:
                        c.terminate(signal.SIGKILL)
                    killed = True
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.process.wait(timeout=0.1)
            child.close_log()


class NotReady(Exception):
    pass


def _ctl_command(data_dir: Path) -> str:
    """How to call `js7es ctl` from here: the shortest form that works."""
    beside = Path(sys.executable).parent / "js7es"
    on_path = shutil.which("js7es")
    if on_path and (not beside.exists() or Path(on_path).resolve() == beside.resolve()):
        exe = "js7es"
    elif beside.exists():
        relative = os.path.relpath(beside)
        exe = str(beside) if relative.startswith("..") else relative
    else:
        exe = f"{sys.executable} -m js7es.nodes.cli"
    default = Path("js7es-data").resolve() == data_dir.resolve()
    return f"{exe} ctl" if default else f"{exe} ctl --data-dir {_shell_quote(str(data_dir))}"


def _shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def run_standalone(data_dir: Path, *, controller_port: int | None = None, agent_port: int | None = None) -> int:
    layout = Layout(data_dir.resolve())  # absolute: the nodes run in their own directories
    with exclusive(layout):
        prepared = prepare(layout, controller_port, agent_port)
        try:
            return Standalone(layout, prepared, out=lambda line: print(line, flush=True)).run()
        except NotReady:
            return 1
