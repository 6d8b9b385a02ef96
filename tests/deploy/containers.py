"""The services of a compose file of deploy/compose/ as containers, driven by testcontainers.

Docker Compose v2 is not packaged in Debian, so the tests read the compose file (compose_model.Compose,
the one description of each topology) and make each service a testcontainers `DockerContainer` on a
`Network` of the test's own: its image (the locally built js7es image), entrypoint, command,
environment, init, health check, mounts (a named volume becomes the volume `<project>_<name>`, a bind
mount its file in deploy/compose, read-only) and its name as network alias, started in the order of
`depends_on` with its conditions (started, healthy, completed successfully). A service of a profile
(the ctl tools service) is started only when asked for, idling, and its entrypoint runs by `docker exec`.

Ryuk (testcontainers' reaper) would have to be pulled from a registry: it is disabled, and `down()`
removes every container, volume and network of the topology, also after a failure. Everything the
tests create carries the label org.js7es.test=<project> and org.js7es.test.pid=<pid of pytest>;
`remove_leftovers()` removes what a pytest that died (SIGKILL, power loss) left behind. Nothing is
published on the host.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from tests.deploy.compose_model import Compose, Service
from tests.deploy.images import LABEL

# Before testcontainers reads its configuration: its reaper image cannot be pulled here.
os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"

PID_LABEL = f"{LABEL}.pid"
PRIVATE_SOCKET = "/run/js7es-docker/docker.sock"  # the engine scripts/test starts when none runs


def engine_missing() -> str | None:
    """Why no Docker engine answers here, or None. DOCKER_HOST if set; else the default socket and then
    the one of the engine that scripts/test starts (and DOCKER_HOST set to the one that answers)."""
    try:
        import docker
    except ImportError:
        return "the Python package docker is missing (pip install -e .[test])"
    if os.environ.get("DOCKER_HOST"):
        candidates = [os.environ["DOCKER_HOST"]]
    else:
        candidates = ["unix:///var/run/docker.sock", f"unix://{PRIVATE_SOCKET}"]
    reasons = []
    for host in candidates:
        if host.startswith("unix://") and not os.path.exists(host.removeprefix("unix://")):
            reasons.append(f"{host}: no such socket")
            continue
        try:
            client = docker.DockerClient(base_url=host, timeout=10)
            try:
                client.ping()
            finally:
                client.close()
        except Exception as e:
            reasons.append(f"{host}: {type(e).__name__}: {e}")
            continue
        os.environ["DOCKER_HOST"] = host
        return None
    return "no Docker engine answers (" + "; ".join(reasons) + "); scripts/test starts one as root"


def nanoseconds(duration: str | int | float) -> int:
    """A compose duration ("5s", "1m30s", "250ms") in nanoseconds."""
    if isinstance(duration, int | float):
        return int(duration * 1e9)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a compose duration: {duration!r}")
    return int(sum(float(n) * units[u] for n, u in parts) * 1e9)


def interpolate(value: str) -> str:
    """Compose's ${NAME:-default}, with the tests' empty environment: the default."""
    return re.sub(r"\$\{\w+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", value)


class ContainerTopology:
    """One compose file's services as containers (see the module's docstring)."""

    def __init__(self, compose: Compose, image: str) -> None:
        from testcontainers.core.network import Network

        self.compose = compose
        self.services = compose.services
        self.image = image
        self.project = f"js7es-test-{uuid.uuid4().hex[:8]}"
        self.labels = {LABEL: self.project, PID_LABEL: str(os.getpid())}
        self.network = Network(docker_network_kw={"labels": self.labels})
        self.containers: dict[str, Any] = {}  # service -> testcontainers DockerContainer
        self.mounts: dict[str, dict[str, str]] = {}  # service -> {container path: file here}, replacing its mount
        self._client: Any = None

    # ---------------------------------------------------------------------------------- lifecycle

    @property
    def client(self) -> Any:
        if self._client is None:
            import docker

            self._client = docker.from_env(timeout=120)
        return self._client

    def up(self, timeout: float) -> None:
        """Every service that `docker compose up` starts, in the order and with the conditions of
        depends_on."""
        if self.network._network is None:
            self.network.create()
        for name in self.compose.model.get("volumes") or {}:
            self.client.volumes.create(self.volume(name), labels=self.labels)
        started: set[str] = set()
        pending = [s for s in self.services.values() if not s.spec.get("profiles")]
        while pending:
            ready = [s for s in pending if set(self.depends_on(s)) <= started]
            assert ready, f"depends_on has a cycle among {[s.name for s in pending]}"
            for service in ready:
                for dependency, condition in self.depends_on(service).items():
                    self.await_condition(dependency, condition, timeout)
                self.start_service(service)
                started.add(service.name)
                pending.remove(service)

    def add_container(self, name: str, image: str, timeout: float) -> None:
        """A container that is not in the compose file (a test's database), on the network as `name`,
        started now and awaited healthy (its image's health check)."""
        from testcontainers.core.container import DockerContainer

        if self.network._network is None:
            self.network.create()
        container = DockerContainer(
            image,
            name=f"{self.project}-{name}",
            network=self.network,
            network_aliases=[name],
            hostname=name,
            labels={**self.labels, f"{LABEL}.service": name},
        )
        self.containers[name] = container
        container.start()
        self.await_condition(name, "service_healthy", timeout)

    def start_tool(self, name: str) -> None:
        """A service of a profile (ctl), idling, its entrypoint to be run by `exec_tool`."""
        self.start_service(self.services[name], entrypoint=["sleep", "infinity"], command=[])

    def down(self) -> None:
        """Remove every container, the volumes and the network; what fails is tried on, then raised."""
        errors: list[str] = []
        for name, container in reversed(self.containers.items()):
            try:
                container.stop(force=True, delete_volume=True)
            except Exception as e:
                errors.append(f"container {name}: {e}")
        self.containers.clear()
        for name in self.compose.model.get("volumes") or {}:
            try:
                with contextlib.suppress(_not_found()):
                    self.client.volumes.get(self.volume(name)).remove(force=True)
            except Exception as e:
                errors.append(f"volume {name}: {e}")
        if self.network._network is not None:
            try:
                self.network.remove()
            except Exception as e:
                errors.append(f"network {self.network.name}: {e}")
        if self._client is not None:
            self._client.close()
            self._client = None
        if errors:
            raise RuntimeError("could not clean up: " + "; ".join(errors))

    # ------------------------------------------------------------------------------ the services

    def volume(self, name: str) -> str:
        return f"{self.project}_{name}"

    @staticmethod
    def depends_on(service: Service) -> dict[str, str]:
        depends = service.spec.get("depends_on") or {}
        if isinstance(depends, list):
            return dict.fromkeys(depends, "service_started")
        return {name: spec.get("condition", "service_started") for name, spec in depends.items()}

    def start_service(
        self, service: Service, *, entrypoint: list[str] | None = None, command: list[str] | None = None
    ) -> None:
        from testcontainers.core.container import DockerContainer

        spec = service.spec
        kwargs: dict[str, Any] = {
            "hostname": service.name,
            "labels": {**self.labels, f"{LABEL}.service": service.name},
            "init": bool(spec.get("init", False)),
            "healthcheck": healthcheck(spec.get("healthcheck")),
        }
        if entrypoint is not None or service.entrypoint is not None:
            kwargs["entrypoint"] = entrypoint if entrypoint is not None else service.entrypoint
        environment = {k: interpolate(str(v)) for k, v in (spec.get("environment") or {}).items()}
        container = DockerContainer(
            self.image,
            command=command if command is not None else service.command,  # type: ignore[arg-type]
            env=environment,
            name=f"{self.project}-{service.name}",
            network=self.network,
            network_aliases=[service.name],
            **kwargs,
        )
        replaced = self.mounts.get(service.name, {})
        for mount in service.mounts:
            source = str((service.compose_dir / mount.source).resolve()) if mount.is_bind else self.volume(mount.source)
            source = replaced.get(mount.target, source)
            container.with_volume_mapping(source, mount.target, "ro" if mount.read_only else "rw")
        self.containers[service.name] = container
        container.start()

    def container(self, name: str) -> Any:
        """The docker-py container of a service, its attributes fresh."""
        wrapped = self.containers[name].get_wrapped_container()
        wrapped.reload()
        return wrapped

    def health(self, name: str) -> str | None:
        state = self.container(name).attrs["State"]
        return (state.get("Health") or {}).get("Status")

    def status(self, name: str) -> str:
        return str(self.container(name).attrs["State"]["Status"])

    def await_condition(self, name: str, condition: str, timeout: float) -> None:
        probes: dict[str, Callable[[], bool]] = {
            "service_started": lambda: self.status(name) == "running",
            "service_healthy": lambda: self.health(name) == "healthy",
            "service_completed_successfully": lambda: self.exited_successfully(name),
        }
        if condition not in probes:
            raise AssertionError(f"depends_on condition {condition!r} of {name} is not supported")
        self.wait(f"{name}: {condition}", lambda: True if probes[condition]() else None, timeout)

    def exited_successfully(self, name: str) -> bool:
        state = self.container(name).attrs["State"]
        if state["Status"] != "exited":
            return False
        assert state["ExitCode"] == 0, f"{name} exited with {state['ExitCode']}:\n{self.logs(name)}"
        return True

    def wait(self, what: str, probe: Callable[[], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value is not None:
                return value
            time.sleep(0.25)
        raise AssertionError(f"not within {timeout} s: {what}\n{self.diagnostics()}")

    # ------------------------------------------------------------------------------- operations

    def exec(self, name: str, argv: list[str], *, user: str = "") -> subprocess.CompletedProcess[str]:
        """`docker exec` in a running service's container, as subprocess.run would answer."""
        code, (out, err) = self.container(name).exec_run(argv, demux=True, user=user)
        return subprocess.CompletedProcess(argv, code, (out or b"").decode(errors="replace"), (err or b"").decode())

    def exec_tool(self, name: str, *args: str) -> subprocess.CompletedProcess[str]:
        """The tools service's entrypoint with `args` (as `docker compose run --rm NAME ARGS` would)."""
        entrypoint = self.services[name].entrypoint
        assert entrypoint is not None, f"{name} has no entrypoint"
        return self.exec(name, [*entrypoint, *args])

    def kill(self, name: str) -> None:
        self.container(name).kill(signal="SIGKILL")
        self.wait(f"{name} is dead", lambda: True if self.status(name) == "exited" else None, 30)

    def start(self, name: str) -> None:
        """Start a service's stopped container again (its volumes and network as before)."""
        self.container(name).start()

    def stop(self, name: str, timeout: float) -> int:
        """SIGTERM, SIGKILL after `timeout` s (docker stop); the exit code."""
        container = self.container(name)
        container.stop(timeout=int(timeout))
        return int(container.wait(timeout=timeout + 30)["StatusCode"])

    def disconnect(self, name: str) -> None:
        """Cut a service's container off the topology's network (a real partition)."""
        self.network._unwrap_network.disconnect(self.container(name).id)

    def connect(self, name: str) -> None:
        self.network.connect(self.container(name).id, network_aliases=[name])

    def logs(self, name: str, tail: int = 60) -> str:
        with contextlib.suppress(Exception):
            return str(self.container(name).logs(tail=tail).decode(errors="replace"))
        return "(no logs)"

    def diagnostics(self) -> str:
        lines = []
        for name in self.containers:
            try:
                state = self.container(name).attrs["State"]
                health = (state.get("Health") or {}).get("Status")
                status = f"{state['Status']} exit={state.get('ExitCode')} health={health}"
            except Exception as e:
                status = f"? {e}"
            lines.append(f"---- {name}: {status}\n{self.logs(name)}")
        return "\n".join(lines)[-20000:]


def healthcheck(spec: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A compose healthcheck as the Engine API wants it (durations in ns); None: the image's."""
    if not spec:
        return None
    if spec.get("disable"):
        return {"test": ["NONE"]}
    check: dict[str, Any] = {"test": list(spec["test"])}
    for key in ("interval", "timeout", "start_period"):
        if key in spec:
            check[key] = nanoseconds(spec[key])
    if "retries" in spec:
        check["retries"] = int(spec["retries"])
    return check


def _not_found() -> type[Exception]:
    import docker.errors

    return docker.errors.NotFound


def remove_leftovers() -> list[str]:
    """Remove the containers, networks and volumes of test runs whose pytest is gone; what was removed."""
    import docker

    removed = []
    client = docker.from_env(timeout=120)
    try:

        def gone(labels: Mapping[str, str] | None) -> bool:
            pid = (labels or {}).get(PID_LABEL, "")
            return pid.isdigit() and not os.path.exists(f"/proc/{pid}")

        for container in client.containers.list(all=True, filters={"label": LABEL}):
            if gone(container.labels):
                container.remove(force=True, v=True)
                removed.append(f"container {container.name}")
        for network in client.networks.list(filters={"label": LABEL}):
            if gone(network.attrs.get("Labels")):
                network.remove()
                removed.append(f"network {network.name}")
        for volume in client.volumes.list(filters={"label": LABEL}):
            if gone(volume.attrs.get("Labels")):
                volume.remove(force=True)
                removed.append(f"volume {volume.name}")
    finally:
        client.close()
    return removed


class ContainerCluster:
    """cluster.yaml's containers: a `ClusterDriver` (tests/deploy/scenario.py)."""

    items_dir = "/etc/js7es/items"  # the ctl service's mount of deploy/compose/items

    def __init__(self, topology: ContainerTopology) -> None:
        self.topology = topology

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.topology.exec_tool("ctl", *args)

    def kill(self, service: str) -> None:
        self.topology.kill(service)

    def diagnostics(self) -> str:
        return self.topology.diagnostics()
