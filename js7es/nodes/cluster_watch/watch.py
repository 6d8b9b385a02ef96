"""The Cluster Watch's memory: one `WatchState` per cluster id, changed only through the pure decisions of
`logic`, each grant and refusal logged at INFO with its reason.

Decisions run on the event loop between two awaits, so they need no lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter

from js7es.domain.problem import Problem
from js7es.nodes.cluster_watch.logic import (
    Decision,
    NodeLossConfirmation,
    NodeLossRequest,
    Report,
    WatchState,
    decide_confirmation,
    decide_node_loss,
    decide_report,
)

log = logging.getLogger(__name__)


class ClusterWatch:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic, decisions: Counter | None = None) -> None:
        self._clock = clock
        self._clusters: dict[str, WatchState] = {}
        self._decisions = decisions  # labels: request, outcome (Accepted or the problem code)

    def state(self, cluster_id: str) -> WatchState:
        return self._clusters.get(cluster_id) or WatchState(cluster_id=cluster_id)

    @property
    def cluster_ids(self) -> list[str]:
        return sorted(self._clusters)

    def report(self, cluster_id: str, report: Report) -> Decision:
        decision = decide_report(self.state(cluster_id), report, self._clock())
        return self._record(cluster_id, "report", f"report of {report.from_id}", decision)

    def node_loss(self, cluster_id: str, request: NodeLossRequest) -> Decision:
        decision = decide_node_loss(self.state(cluster_id), request, self._clock())
        return self._record(cluster_id, "node-loss", "node loss", decision)

    def confirm(self, cluster_id: str, confirmation: NodeLossConfirmation) -> Decision:
        decision = decide_confirmation(self.state(cluster_id), confirmation, self._clock())
        return self._record(cluster_id, "confirm-node-loss", "confirmation", decision)

    def _record(self, cluster_id: str, request: str, what: str, decision: Decision) -> Decision:
        if isinstance(decision, Problem):
            log.info("Cluster %r: %s REFUSED (%s): %s", cluster_id, what, decision.code, decision.message)
            outcome = decision.code
        else:
            self._clusters[cluster_id] = decision.watch
            if request == "report" and not decision.changed:  # a heartbeat
                log.debug("Cluster %r: %s accepted: %s", cluster_id, what, decision.reason)
            else:
                log.info("Cluster %r: %s %s: %s", cluster_id, what, "GRANTED" if request == "node-loss" else "accepted",
                         decision.reason)  # fmt: skip
            outcome = "Accepted"
        if self._decisions is not None:
            self._decisions.labels(request, outcome).inc()
        return decision

    def view(self, cluster_id: str) -> dict[str, Any]:
        """``GET …/cluster``'s entry for one cluster (an unknown one is Untaught)."""
        watch = self.state(cluster_id)
        now = self._clock()
        return {
            "clusterId": cluster_id,
            "taught": watch.taught,
            "clusterState": watch.known.to_json() if watch.known is not None else None,
            "eventId": watch.event_id if watch.known is not None else None,
            "lastHeartbeatAgo": {node_id: round(now - at, 3) for node_id, at in watch.heartbeats},
            "confirmations": [
                {"lostNodeId": c.lost_node_id, "confirmer": c.confirmer, "confirmedAgo": round(now - c.confirmed_at, 3)}
                for c in watch.confirmations
            ],
        }
