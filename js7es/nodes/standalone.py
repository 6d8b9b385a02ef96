"""`js7es standalone`: a Controller, an Agent and the Cockpit on one data directory, as one process
tree, secure by default.

Layout of the data directory (everything is created on the first start and kept)::

    certs/ca/                     the private CA (ca.crt, ca.key)
    certs/{controller,agent,cockpit,cli}/   node certificates; "cli" is `js7es ctl`'s client certificate
    controller/controller.toml    the Controller's configuration (paths in it are relative to it)
    controller/state/             the Controller's journal
    agent/agent.toml, agent/state/, agent/work/
    cockpit/cockpit.toml, cockpit/cockpit.sqlite    the Cockpit's configuration and database
    logs/controller.log, logs/agent.log, logs/cockpit.log    what the nodes print
    admin-password                the password of the user "admin" (mode 0600), made on the first start
    standalone.json               what the first start did (the sample order), so that it is done once

Each start: certificates (`ensure_standalone_certificates`), configurations if missing, the nodes as
child processes (``python -m js7es.nodes.cli controller --config …``, each in its own process group so
that a terminal's Ctrl-C reaches only this process, which then stops them in order), a wait until every
node answers its health route, the sample items (js7es/nodes/samples/) deployed where the Controller
lacks them, the sample order on the first start only. Then it waits: SIGINT/SIGTERM stop the nodes
with SIGTERM (a second Ctrl-C kills them; their journals lose nothing), exit 0; a node that dies on its
own ends the standalone with the tail of its log and exit 1. The configurations are the truth for the
ports once written; ``--controller-port``/``--agent-port`` choose them on the first start (the
Cockpit's is 4446, or the Controller's + 2 with ``--controller-port``, or any free one if that is taken).

Each node is a `Child` in `_children`; a data directory from before the Cockpit (no cockpit.toml) runs
without it.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO, Any

from js7es.nodes.errors import CliError

DEFAULT_CONTROLLER_PORT = 4444
DEFAULT_AGENT_PORT = 4445
DEFAULT_COCKPIT_PORT = 4446
HOST = "127.0.0.1"
STANDALONE_CERTIFICATES = ("controller", "agent", "cockpit", "cli")
SAMPLE_WORKFLOW = "hello"
SAMPLE_ORDER_ID = "hello-sample"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
LOG_TAIL_LINES = 25


class StandaloneError(CliError, ValueError):
    """Refused to start (bad options, data directory in use, a port taken): one line, exit 2."""


@dataclass
class Child:
    """One node process of the standalone."""

    name: str  # "Controller", "Agent", "Cockpit"
    kind: str  # the js7es command: "controller", "agent", "cockpit"
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


# ---------------------------------------------------------------------------------------------- layout


@dataclass(frozen=True, slots=True)
class Layout:
    data_dir: Path

    @property
    def certs(self) -> Path:
        return self.data_dir / "certs"

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def controller_config(self) -> Path:
        return self.data_dir / "controller" / "controller.toml"

    @property
    def agent_config(self) -> Path:
        return self.data_dir / "agent" / "agent.toml"

    @property
    def cockpit_config(self) -> Path:
        return self.data_dir / "cockpit" / "cockpit.toml"

    @property
    def admin_password(self) -> Path:
        return self.data_dir / "admin-password"

    @property
    def memo(self) -> Path:
        return self.data_dir / "standalone.json"


def _controller_toml(port: int, admin_password_hash: str) -> str:
    return f"""\
# The Controller of `js7es standalone` (written on the first start; edit freely).
# Paths are relative to this file. Keys: js7es/nodes/config.py.
[controller]
id = "js7es"
data-dir = "."

[http]
host = "{HOST}"
port = {port}

[tls]
cert = "../certs/controller/node.crt"
key = "../certs/controller/node.key"
ca = "../certs/ca/ca.crt"

# The password is in ../admin-password.
[users.admin]
password = "{admin_password_hash}"
permissions = ["SuperPermission"]

# `js7es ctl` logs in with the client certificate ../certs/cli/.
[users.cli]
distinguished-names = ["CN=cli"]
permissions = ["SuperPermission"]

# The Cockpit logs in with ../certs/cockpit/ and reads the event stream as a registered reader.
[users.cockpit]
distinguished-names = ["CN=cockpit"]
permissions = ["SuperPermission"]

[journal]
readers = ["cockpit"]
"""


def _cockpit_toml(port: int, controller_port: int, admin_password_hash: str) -> str:
    return f"""\
# The Cockpit of `js7es standalone` (written on the first start; edit freely).
# Paths are relative to this file. Keys: deploy/config/cockpit.toml. Its database: ./cockpit.sqlite.
[cockpit]
id = "cockpit"
data-dir = "."

[http]
host = "{HOST}"
port = {port}

[tls]
cert = "../certs/cockpit/node.crt"
key = "../certs/cockpit/node.key"
ca = "../certs/ca/ca.crt"

[controllers.js7es]
uris = ["https://{HOST}:{controller_port}"]

[users.admin]
password = "{admin_password_hash}"
permissions = ["SuperPermission"]
"""


def _agent_toml(port: int) -> str:
    return f"""\
# The Agent of `js7es standalone` (written on the first start; edit freely).
# Paths are relative to this file. Keys: js7es/nodes/config.py.
[agent]
data-dir = "."

[http]
host = "{HOST}"
port = {port}

[tls]
cert = "../certs/agent/node.crt"
key = "../certs/agent/node.key"
ca = "../certs/ca/ca.crt"

[users.controller]
distinguished-names = ["CN=controller"]
permissions = ["AgentDirector"]
"""


@dataclass(frozen=True, slots=True)
class Prepared:
    controller_port: int
    agent_port: int
    admin_password: str | None  # set on the start that created it: shown once
    first_start: bool
    cockpit_port: int | None = None


def prepare(layout: Layout, controller_port: int | None, agent_port: int | None) -> Prepared:
    """Certificates, configurations and the admin password; what is there is kept."""
    from js7es.nodes.certs import ensure_standalone_certificates
    from js7es.nodes.config import ConfigError, load_settings

    first_start = not layout.controller_config.exists()
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_standalone_certificates(layout.data_dir, nodes=STANDALONE_CERTIFICATES)
    shown_password = None
    if not layout.controller_config.exists():
        password = _read_password(layout.admin_password)
        if password is None:
            alphabet = string.ascii_letters + string.digits  # no '-' first: it would look like an option
            password = shown_password = "".join(secrets.choice(alphabet) for _ in range(20))
            _write_private(layout.admin_password, password + "\n")
        from js7es.nodes.http.auth import hash_password

        port = controller_port or DEFAULT_CONTROLLER_PORT
        password_hash = hash_password(password)
        _write_new(layout.controller_config, _controller_toml(port, password_hash))
        if not layout.cockpit_config.exists():
            cockpit_port = _free_port(DEFAULT_COCKPIT_PORT if controller_port is None else port + 2)
            _write_new(layout.cockpit_config, _cockpit_toml(cockpit_port, port, password_hash))
    if not layout.agent_config.exists():
        _write_new(layout.agent_config, _agent_toml(agent_port or DEFAULT_AGENT_PORT))
    ports = []
    for config, kind, wanted, option in (
        (layout.controller_config, "controller", controller_port, "--controller-port"),
        (layout.agent_config, "agent", agent_port, "--agent-port"),
    ):
        try:
            settings = load_settings(config, kind)
        except ConfigError as e:
            raise StandaloneError(str(e)) from None
        if settings.tls is None:
            raise StandaloneError(f"{config}: the standalone runs its nodes with TLS; restore the [tls] section")
        if wanted is not None and wanted != settings.http.port:
            raise StandaloneError(
                f"{option} {wanted}, but {config} says port {settings.http.port}: edit the file "
                f"(the configuration decides once written) or leave out {option}"
            )
        ports.append(settings.http.port)
    configured_cockpit_port: int | None = None
    if layout.cockpit_config.exists():  # data directories of before the Cockpit run without it
        import tomllib

        configured_cockpit_port = int(tomllib.loads(layout.cockpit_config.read_text())["http"]["port"])
    if ports[0] == ports[1]:
        raise StandaloneError(f"the Controller and the Agent cannot both use port {ports[0]}")
    return Prepared(
        controller_port=ports[0],
        agent_port=ports[1],
        admin_password=shown_password,
        first_start=first_start,
        cockpit_port=configured_cockpit_port,
    )


def _free_port(preferred: int) -> int:
    """`preferred` if nothing listens there, else any free port (chosen once, kept in the file)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, preferred))
            return preferred
        except OSError:
            pass
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _read_password(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def _write_new(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _children(layout: Layout, prepared: Prepared) -> list[Child]:
    """The node processes, in start order (stopped in reverse)."""
    cockpit = (
        [
            Child(
                name="Cockpit",
                kind="cockpit",
                config=layout.cockpit_config,
                port=prepared.cockpit_port,
                api_prefix="/cockpit/api",
                log_file=layout.logs / "cockpit.log",
            )
        ]
        if prepared.cockpit_port is not None
        else []
    )
    return [
        Child(
            name="Agent",
            kind="agent",
            config=layout.agent_config,
            port=prepared.agent_port,
            api_prefix="/agent/api",
            log_file=layout.logs / "agent.log",
        ),
        Child(
            name="Controller",
            kind="controller",
            config=layout.controller_config,
            port=prepared.controller_port,
            api_prefix="/controller/api",
            log_file=layout.logs / "controller.log",
        ),
        *cockpit,
    ]


@contextlib.contextmanager
def _exclusive(layout: Layout) -> Iterator[None]:
    """One standalone per data directory: two would write the same journals."""
    lock_file = layout.data_dir / ".standalone.lock"
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StandaloneError(f"{layout.data_dir}: another js7es standalone runs on this data directory") from None
        yield


def _check_port_free(child: Child) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind((HOST, child.port))
        except OSError as e:
            raise StandaloneError(
                f"port {child.port} for the {child.name} is not free ({e.strerror}); another js7es standalone? "
                f"Choose another one in {child.config}"
            ) from None


# ---------------------------------------------------------------------------------------------- samples


def _sample(name: str) -> dict[str, Any]:
    loaded = json.loads(resources.files("js7es.nodes").joinpath("samples", name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def sample_items(agent_port: int) -> list[dict[str, Any]]:
    subagent = _sample("agent-director.subagent.json")
    subagent["uri"] = f"https://{HOST}:{agent_port}"
    return [_sample("agent.agentref.json"), subagent, _sample("hello.workflow.json")]


def _missing_items(snapshot: list[dict[str, Any]], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    have_simple = {
        (o["item"].get("TYPE"), o["item"].get("path", o["item"].get("id"))): o["item"]
        for o in snapshot
        if o.get("TYPE") == "SimpleItem"
    }
    have_workflows = {o["item"].get("path") for o in snapshot if o.get("TYPE") == "WorkflowItem"}
    meta = next((o for o in snapshot if o.get("TYPE") == "ControllerMetaState"), {})
    current = set(meta.get("currentVersions", {})) if isinstance(meta.get("currentVersions"), dict) else have_workflows
    missing = []
    for item in items:
        if "instructions" in item:
            if item["path"] not in current:
                missing.append(item)
        else:
            there = have_simple.get((item["TYPE"], item.get("path", item.get("id"))))
            if there is None or (item["TYPE"] == "SubagentItem" and there.get("uri") != item["uri"]):
                missing.append(item)
    return missing


# ---------------------------------------------------------------------------------------------- running


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
        self.children = _children(layout, prepared)
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
                _check_port_free(child)
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

    def _client(self) -> Any:
        from js7es.nodes.ctl import Connection, ControllerClient

        certs = self.layout.certs
        return ControllerClient(
            Connection(
                url=f"https://{HOST}:{self.prepared.controller_port}",
                ca=certs / "ca" / "ca.crt",
                cert=certs / "cli" / "node.crt",
                key=certs / "cli" / "node.key",
                timeout_s=10,
            )
        )

    def _wait_healthy(self, child: Child) -> bool:
        """True when `child` answers its health route; False when a stop was asked for meanwhile."""
        import httpx

        from js7es.nodes.ctl import Connection

        certs = self.layout.certs
        context = Connection(
            url="https://", ca=certs / "ca" / "ca.crt", cert=certs / "cli" / "node.crt", key=certs / "cli" / "node.key"
        ).ssl_context()
        deadline = time.monotonic() + START_TIMEOUT_S
        with httpx.Client(verify=context, timeout=2) as http:
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
                    raise _NotReady
                self.signals.sleep(0.05)
        return False

    def _samples(self) -> None:
        from js7es.nodes.ctl import CtlError, deploy_operations, new_version_id

        memo = _read_memo(self.layout.memo)
        try:
            with self._client() as client:
                snapshot = client.get_ndjson("/snapshot")
                missing = _missing_items(snapshot, sample_items(self.prepared.agent_port))
                if missing:
                    client.post("/item", deploy_operations(missing, new_version_id()))
                    names = ", ".join(f"{i.get('TYPE', 'Workflow')}:{i.get('path', i.get('id'))}" for i in missing)
                    self.out(f"Deployed the sample items: {names}")
                if not memo.get("sampleOrder"):
                    try:
                        client.post("/order", {"id": SAMPLE_ORDER_ID, "workflowPath": SAMPLE_WORKFLOW})
                        self.out(f"Added the sample order {SAMPLE_ORDER_ID!r} to the workflow {SAMPLE_WORKFLOW!r}.")
                    except CtlError as e:
                        if not str(e).startswith("DuplicateOrder"):
                            raise
                    _write_new(self.layout.memo, json.dumps({**memo, "sampleOrder": SAMPLE_ORDER_ID}) + "\n")
        except CtlError as e:
            print(f"js7es: the sample could not be deployed: {e}", file=sys.stderr)

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


class _NotReady(Exception):
    pass


def _read_memo(path: Path) -> dict[str, Any]:
    try:
        memo = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}


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
    with _exclusive(layout):
        prepared = prepare(layout, controller_port, agent_port)
        try:
            return Standalone(layout, prepared, out=lambda line: print(line, flush=True)).run()
        except _NotReady:
            return 1


def add_standalone_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``js7es standalone``."""
    standalone = subparsers.add_parser("standalone", help="run a Controller and an Agent on one data directory")
    standalone.add_argument("--data-dir", type=Path, default=Path("js7es-data"), help="default: ./js7es-data")
    standalone.add_argument(
        "--controller-port",
        type=_port,
        help=f"the Controller's port on the first start (default {DEFAULT_CONTROLLER_PORT})",
    )
    standalone.add_argument(
        "--agent-port", type=_port, help=f"the Agent's port on the first start (default {DEFAULT_AGENT_PORT})"
    )
    standalone.set_defaults(
        run=lambda args: run_standalone(args.data_dir, controller_port=args.controller_port, agent_port=args.agent_port)
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {port}")
    return port
