"""Fixed priority over remote Subagents on real processes (issue 16's proof): a SubagentBundle with distinct
priorities sends every job to the first Subagent; killed (kill -9), the next jobs go to the second; back,
the jobs return to the first. Counted from OrderProcessingStarted.subagentId and from the jobs' own records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_e2e_orders import execute, workflow
from tests.e2e.test_e2e_subagents import (
    add_orders,
    coupled,
    deploy,
    recording_job,
    runs,
    started_on,
    wait_until,
)
from tests.e2e.topology import Topology

BUNDLE = {"TYPE": "SubagentBundle", "id": "prio", "subagentToPriority": {"sub-1": 2, "sub-2": 1}}


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    topo = Topology(tmp_path, subagents=("sub-1", "sub-2"))
    for name in topo.nodes:
        topo.start(name, wait=False)
    try:
        for name in topo.nodes:
            topo.wait_ready(name, timeout=120)
        yield topo
    finally:
        topo.stop_all()


def _round(topology: Topology, prefix: str, count: int = 6) -> tuple[Counter[str], list[dict[str, Any]]]:
    order_ids = [f"{prefix}-{i}" for i in range(count)]
    add_orders(topology, "prio", order_ids)
    events = topology.wait_for(lambda es: topology.terminated(es, *order_ids), timeout=60)
    on = Counter(subagent for order_id, subagent in started_on(events) if order_id in order_ids)
    return on, events


def test_fixed_priority_falls_back_and_returns(topology: Topology) -> None:
    job = recording_job(topology, processLimit=10, subagentBundleIdExpr="'prio'")
    deploy(topology, BUNDLE, workflow("prio", execute(), J=job))

    first, _ = _round(topology, "a")
    assert first == {"sub-1": 6}

    topology.kill("sub-1")
    wait_until(lambda: not coupled(topology).get("sub-1"), what="sub-1 uncoupled")
    second, _ = _round(topology, "b")
    assert second == {"sub-2": 6}

    topology.start("sub-1")
    wait_until(lambda: coupled(topology).get("sub-1"), what="sub-1 coupled again")
    third, events = _round(topology, "c")
    assert third == {"sub-1": 6}

    by_jobs = Counter((order_id[0], subagent) for order_id, subagent, _ in runs(topology))
    assert by_jobs == {("a", "sub-1"): 6, ("b", "sub-2"): 6, ("c", "sub-1"): 6}
    assert not [e for e in events if e["TYPE"] in ("OrderFailed", "OrderCancelled")]
