"""A Controller cluster whose active node falls silent without a word, after a refused failover, on real
processes.

The standby's replication stream has no read timeout: only its failover loop notices a silent active.
The regression (found by the container partition tests, fixed in the standby's failover loop): the
standby's connections to the active went silent (a link dropping packets), the standby asked the
Cluster Watch to fail over and was refused (the Watch still heard the active); the stream it opened
after the refusal reached the active at once, so that replication try never ended. When the active
later fell silent on a cut that sends no reset (here: the active SIGSTOPped), that stream hung for
good, and the standby — waiting for the try to end before asking again — never asked: no failover.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster_topology import ClusterTopology, running_cluster

pytestmark = pytest.mark.slow

FAILOVER_LIMIT_S = 60  # heartbeat timeout 1.5 s + the Watch's consent; never was the bug


@pytest.fixture
def partitionable_cluster(tmp_path: Path) -> Iterator[ClusterTopology]:
    with running_cluster(tmp_path, proxies=True) as topo:
        try:
            yield topo
        finally:
            primary = topo.nodes["primary"].process
            if primary is not None and primary.poll() is None:
                primary.send_signal(signal.SIGCONT)  # a stopped process would not end on SIGTERM
                topo.kill("primary")


def test_a_silent_active_after_a_refused_failover_is_failed_over(partitionable_cluster: ClusterTopology) -> None:
    topo = partitionable_cluster
    assert topo.wait_coupled() == "primary"
    # The standby's connections to the active go silent (not cut: no reset); new connections pass.
    topo.links["primary"].stall()
    deadline = time.monotonic() + 30
    while "no failover" not in topo.log("backup"):  # the Watch still hears the active: refused
        assert time.monotonic() < deadline, topo.log("backup")
        time.sleep(0.05)
    topo.links["primary"].resume()  # what the silent connections held arrives (a late heal)
    assert topo.wait_coupled(timeout=30) == "primary"
    # The active falls silent: the standby's stream hangs on it, without a reset.
    topo.nodes["primary"].process.send_signal(signal.SIGSTOP)  # type: ignore[union-attr]
    stopped_at = time.monotonic()
    assert topo.wait_active("backup", timeout=FAILOVER_LIMIT_S) == "backup"
    failover_s = time.monotonic() - stopped_at
    info = topo.info("backup")
    assert info is not None and info["clusterState"]["TYPE"] == "FailedOver", info
    print(f"the active SIGSTOPped after a refused failover: the standby failed over after {failover_s:.2f} s")
