from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.topology import Topology


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    """A Controller and one Agent, started, as real processes over mutual TLS."""
    topo = Topology(tmp_path)
    topo.start_all()
    try:
        yield topo
    finally:
        topo.stop_all()
