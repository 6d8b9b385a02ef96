"""The Watch's memory around the pure decisions: it keeps the accepted states, logs every grant and
refusal with its reason, counts them, and shows its view."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry, Counter

from js7es.nodes.cluster_watch.cluster_state import COUPLED, FAILED_OVER
from js7es.nodes.cluster_watch.logic import NodeLossConfirmation
from js7es.nodes.cluster_watch.watch import ClusterWatch
from tests.cluster_watch.support import B, P, failover, report, state


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_grants_and_refusals_are_logged_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    counter = Counter("decisions", "test", ("request", "outcome"), registry=CollectorRegistry())
    watch = ClusterWatch(clock=clock, decisions=counter)
    caplog.set_level(logging.INFO, logger="js7es.nodes.cluster_watch")

    watch.report("js7es", report(COUPLED))
    clock.now += 0.5
    watch.report("js7es", report(COUPLED))  # a heartbeat: not at INFO
    watch.node_loss("js7es", failover())
    clock.now += 3
    watch.node_loss("js7es", failover())

    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert lines == [
        "Cluster 'js7es': report of Primary accepted: learned Coupled(active Primary) at EventId 100 from Primary",
        "Cluster 'js7es': node loss REFUSED (ClusterWatchActiveStillAlive): Backup asks to fail over from Primary, "
        "but Primary reported 0.000 s ago (heartbeat timeout 2 s)",
        "Cluster 'js7es': node loss GRANTED: Backup asks to fail over from Primary, Primary silent for 3.000 s",
    ]
    assert counter.labels("report", "Accepted")._value.get() == 2
    assert counter.labels("node-loss", "ClusterWatchActiveStillAlive")._value.get() == 1
    assert counter.labels("node-loss", "Accepted")._value.get() == 1


def test_the_view_of_each_cluster() -> None:
    clock = Clock()
    watch = ClusterWatch(clock=clock)
    assert watch.view("unknown") == {
        "clusterId": "unknown",
        "taught": False,
        "clusterState": None,
        "eventId": None,
        "lastHeartbeatAgo": {},
        "confirmations": [],
    }
    watch.confirm("other", NodeLossConfirmation(lost_node_id=P, confirmer="Jane"))
    watch.report("js7es", report(COUPLED, event_id=7))
    clock.now += 1.25
    watch.node_loss("js7es", failover(event_id=8))  # refused: Primary is alive
    clock.now += 2
    watch.node_loss("js7es", failover(event_id=8))
    clock.now += 0.5
    assert watch.cluster_ids == ["js7es", "other"]
    assert watch.view("js7es") == {
        "clusterId": "js7es",
        "taught": True,
        "clusterState": state(FAILED_OVER, B, failed_at=8).to_json(),
        "eventId": 8,
        "lastHeartbeatAgo": {B: 0.5, P: 3.75},
        "confirmations": [],
    }
    assert watch.view("other")["confirmations"] == [{"lostNodeId": P, "confirmer": "Jane", "confirmedAgo": 3.75}]
    assert watch.view("other")["taught"] is False
