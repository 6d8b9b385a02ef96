"""The compose files of deploy/compose/ as data, and their services made into plain processes here.

`Compose` reads a compose file and tells for each service its js7es command line, its configuration
file and its mounts. `Localized` maps a service's container paths to directories on this machine (a
named volume becomes a directory under the test's tmp_path, a bind mount its source), so that the same
configurations load with js7es's parsers and run as processes: the compose files are tested without a
Docker engine (tests/deploy/test_compose_files.py, test_compose_processes.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.components import missing

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_DIR = DEPLOY / "compose"
COMPOSE_FILES = ("standalone.yaml", "cluster.yaml")
NODE_KINDS = ("controller", "agent", "cockpit", "cluster-watch")


def yaml_module() -> Any:
    """PyYAML, which these tests need: missing, they skip; in CI (CI=true) they fail instead."""
    try:
        import yaml
    except ImportError:
        message = "PyYAML is missing (pip install pyyaml; it belongs into the test extras of pyproject.toml)"
        missing(message)
    return yaml


def load_yaml(path: Path) -> Any:
    return yaml_module().safe_load(path.read_text())


@dataclass(frozen=True)
class Mount:
    source: str  # a named volume, or a path relative to the compose file (bind mount)
    target: str  # the path in the container
    read_only: bool

    @property
    def is_bind(self) -> bool:
        return self.source.startswith((".", "/"))


@dataclass(frozen=True)
class Service:
    name: str
    spec: Mapping[str, Any]
    compose_dir: Path

    @property
    def mounts(self) -> list[Mount]:
        mounts = []
        for entry in self.spec.get("volumes", []):
            assert isinstance(entry, str), f"{self.name}: use the short volume syntax SOURCE:TARGET[:ro]"
            source, target, *mode = entry.split(":")
            mounts.append(Mount(source, target, mode == ["ro"]))
        return mounts

    @property
    def entrypoint(self) -> list[str] | None:
        entrypoint = self.spec.get("entrypoint")
        assert entrypoint is None or isinstance(entrypoint, list), f"{self.name}: entrypoint in exec (list) form"
        return entrypoint

    @property
    def command(self) -> list[str]:
        command = self.spec.get("command", [])
        assert isinstance(command, list), f"{self.name}: command in exec (list) form"
        return [str(c) for c in command]

    @property
    def js7es_argv(self) -> list[str] | None:
        """The arguments of `js7es` this service runs (the image's ENTRYPOINT is js7es), or None when
        its entrypoint is something else (the init service's shell script)."""
        entrypoint = self.entrypoint
        if entrypoint is None:
            return self.command
        if entrypoint[0] == "js7es":
            return [*entrypoint[1:], *self.command]
        return None

    @property
    def is_node(self) -> bool:
        """A long-running node that `docker compose up` starts."""
        argv = self.js7es_argv
        return bool(argv) and argv[0] in (*NODE_KINDS, "standalone") and not self.spec.get("profiles")

    @property
    def config_file(self) -> str | None:
        """The container path of the node's --config, if any."""
        argv = self.js7es_argv or []
        return argv[argv.index("--config") + 1] if "--config" in argv else None

    def host_path(self, container_path: str) -> Path:
        """The file on this machine behind a bind-mounted container path."""
        for mount in self.mounts:
            if mount.is_bind and (container_path == mount.target or container_path.startswith(mount.target + "/")):
                return (self.compose_dir / mount.source).resolve() / container_path[len(mount.target) :].lstrip("/")
        raise AssertionError(f"{self.name}: {container_path} is not in a bind mount")


@dataclass(frozen=True)
class Compose:
    file: Path
    model: Mapping[str, Any]

    @staticmethod
    def load(name: str) -> Compose:
        path = COMPOSE_DIR / name
        return Compose(path, load_yaml(path))

    @property
    def services(self) -> dict[str, Service]:
        return {name: Service(name, spec, self.file.parent) for name, spec in self.model["services"].items()}

    @property
    def init_service(self) -> Service:
        (init,) = [s for s in self.services.values() if s.js7es_argv is None]
        return init


@dataclass
class Localized:
    """The services of one compose file with their container paths mapped to `root` on this machine.

    Named volumes are directories `root/volumes/<name>`; `config(service)` is the service's
    configuration with every mounted container path replaced by its place here, written to
    `root/config/<service>.toml`. `hosts` (service -> "127.0.0.1:port") also rewrites the URIs between
    the services and the services' own [http] sections, for running them as processes on loopback.
    """

    compose: Compose
    root: Path
    hosts: dict[str, tuple[str, int]] = field(default_factory=dict)

    def volume(self, name: str) -> Path:
        path = self.root / "volumes" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def path_map(self, service: Service) -> list[tuple[str, Path]]:
        pairs = []
        for mount in service.mounts:
            here = (service.compose_dir / mount.source).resolve() if mount.is_bind else self.volume(mount.source)
            pairs.append((mount.target, here))
        return sorted(pairs, key=lambda p: -len(p[0]))  # the longest target first

    def text(self, service: Service, text: str) -> str:
        """`text` with the service's container paths, and URIs of services in `hosts`, made local."""
        for target, here in self.path_map(service):
            text = re.sub(re.escape(target) + r"(?=[/\"']|$)", str(here), text, flags=re.MULTILINE)
        for name, (host, port) in self.hosts.items():
            declared = self.declared_port(name)
            text = text.replace(f"://{name}:{declared}", f"://{host}:{port}")
        return text

    def declared_port(self, name: str) -> int:
        service = self.compose.services[name]
        config = service.config_file
        assert config is not None, name
        match = re.search(r"^port\s*=\s*(\d+)", service.host_path(config).read_text(), re.MULTILINE)
        assert match, f"{name}: no [http] port in its configuration"
        return int(match.group(1))

    def config(self, service: Service) -> Path:
        container_path = service.config_file
        assert container_path is not None, f"{service.name} has no --config"
        text = self.text(service, service.host_path(container_path).read_text())
        if service.name in self.hosts:
            host, port = self.hosts[service.name]
            text = re.sub(r'^host\s*=\s*".*"', f'host = "{host}"', text, count=1, flags=re.MULTILINE)
            text = re.sub(r"^port\s*=\s*\d+", f"port = {port}", text, count=1, flags=re.MULTILINE)
        out = self.root / "config" / f"{service.name}.toml"
        out.parent.mkdir(parents=True, exist_ok=True)
        # argv() runs again for every health check while the node may be reading its file: never truncate
        # it under the node (CI saw a Cluster Watch read an empty file and start without [tls]).
        if not out.is_file() or out.read_text() != text:
            partial = out.with_suffix(".toml.partial")
            partial.write_text(text)
            partial.replace(out)
        return out

    def argv(self, service: Service) -> list[str]:
        """The service's js7es arguments with its --config made local."""
        argv = list(service.js7es_argv or [])
        if "--config" in argv:
            argv[argv.index("--config") + 1] = str(self.config(service))
        return [self.text(service, a) for a in argv]

    def run_init(
        self, *, nodes: list[str] | None = None, extra_env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """The init service's entrypoint and command (or these `nodes`) as a process, with its volumes here."""
        init = self.compose.init_service
        entrypoint = init.entrypoint
        assert entrypoint is not None
        shell, script, *rest = entrypoint
        env = {**os.environ, "PATH": f"{js7es_bin_dir()}{os.pathsep}{os.environ.get('PATH', '')}"}
        # The script's defaults are the container paths; here they point to the volumes' directories.
        for variable, target in (("JS7ES_CA_DIR", "/var/lib/js7es-ca"), ("JS7ES_CERTS_DIR", "/etc/js7es/certs")):
            env[variable] = str(dict(self.path_map(init))[target])
        env.update(extra_env or {})
        return subprocess.run(
            [shell, str(init.host_path(script)), *rest, *(init.command if nodes is None else nodes)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def js7es_bin_dir() -> Path:
    """The directory of the `js7es` console script of this Python (the venv's bin)."""
    directory = Path(sys.executable).parent
    if shutil.which("js7es", path=str(directory)) is None:
        pytest.fail(f"no js7es console script beside {sys.executable} (pip install -e .)")
    return directory


def js7es_parse(argv: list[str]) -> Any:
    """argparse of the js7es CLI on `argv`: the Namespace, or an AssertionError with argparse's message."""
    import contextlib
    import io

    from js7es.nodes.cli import build_parser

    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            args = build_parser().parse_args(argv)
    except SystemExit as e:
        raise AssertionError(f"js7es {' '.join(argv)}: not a valid invocation: {stderr.getvalue().strip()}") from e
    assert getattr(args, "run", None) is not None, f"js7es {' '.join(argv)}: names no command"
    return args


def load_config(kind: str, path: Path) -> Any:
    """A node's settings from js7es's own parser for `kind`, its users parsed as the node does on
    start: an unknown section, key, user key or permission raises (a ValueError)."""
    from js7es.nodes.http.auth import Users

    settings: Any
    if kind in ("controller", "agent"):
        from js7es.nodes.config import load_settings

        settings = load_settings(path, kind)
    elif kind == "cluster-watch":
        from js7es.nodes.cluster_watch.config import load_cluster_watch_settings

        settings = load_cluster_watch_settings(path)
    elif kind == "cockpit":
        from js7es.nodes.cockpit.config import load_cockpit_settings

        settings = load_cockpit_settings(path)
    else:
        raise AssertionError(f"no configuration parser for {kind}")
    Users.from_config(settings.users)
    return settings
