"""The container tests' fixtures: the js7es image built here (tests/deploy/images.py) and compose
topologies as containers (tests/deploy/containers.py), removed at the end, also after a failure."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.components import missing
from tests.deploy.compose_model import Compose
from tests.deploy.containers import ContainerTopology, engine_missing, remove_leftovers
from tests.deploy.images import ImageError, build_lock, docker_client, ensure_image, ensure_postgres_image


@pytest.fixture(scope="session")
def js7es_image() -> str:
    """The js7es image on the debootstrapped base, built once (warm: found by its content key)."""
    reason = engine_missing()
    if reason is not None:
        missing(f"container tests: {reason}")
    remove_leftovers()
    client = docker_client()
    try:
        with build_lock():
            return ensure_image(client)
    except ImageError as e:
        pytest.fail(f"container tests: {e}")
    finally:
        client.close()


@pytest.fixture(scope="session")
def postgres_image(js7es_image: str) -> str:
    """Debian's PostgreSQL on a debootstrapped base of its own (tests/deploy/images.py)."""
    client = docker_client()
    try:
        with build_lock():
            return ensure_postgres_image(client)
    except ImageError as e:
        pytest.fail(f"container tests: {e}")
    finally:
        client.close()


@pytest.fixture
def topology(js7es_image: str) -> Iterator[Callable[[str], ContainerTopology]]:
    """`topology("cluster.yaml")`: a compose file's services as containers, removed at the end."""
    made: list[ContainerTopology] = []

    def make(compose_file: str) -> ContainerTopology:
        made.append(ContainerTopology(Compose.load(compose_file), js7es_image))
        return made[-1]

    try:
        yield make
    finally:
        errors = []
        for each in made:
            try:
                each.down()
            except RuntimeError as e:
                errors.append(str(e))
        assert not errors, errors
