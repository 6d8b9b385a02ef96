"""[export.kafka]: the Kafka export as a service of the Cockpit.

The loop is `js7es export kafka`'s own (`run_export` in js7es/nodes/exporter.py: the same resume from
the topic, exactly once, the same records), run in one thread per exported Controller. Its status —
position, checkpoint, lag, problem — is in the Cockpit's overview under ``export.kafka.<controller>``.

The Cockpit reaches each Controller with one certificate, so the Controller knows it as one event
reader (``[journal] readers``): what the Cockpit releases must be durable in the projection *and* in
the topic. `ReleaseGate` (release.py) keeps both positions; the follower sends ``ReleaseEvents`` for
the smaller one (follower.py), so neither a fast projection nor a fast export lets the Controller delete events the
other one still has to read after a restart.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Mapping
from typing import Any

from js7es.nodes import exporter
from js7es.nodes.cockpit.config import ControllerConnection, KafkaExportSettings
from js7es.nodes.cockpit.release import KAFKA_EXPORT, ReleaseGate

log = logging.getLogger(__name__)


class _GateReleaser:
    """The exporter's `ReleaseTarget` inside the Cockpit: its checkpoint goes to the gate."""

    def __init__(self, gate: ReleaseGate) -> None:
        self.gate = gate

    def release(self, until: int, *, force: bool = False) -> None:
        self.gate.advance(KAFKA_EXPORT, until)


class KafkaExports:
    """One export thread per Controller of `settings.topics`; `start`, `stop`, `to_json`."""

    def __init__(
        self,
        settings: KafkaExportSettings,
        connections: Mapping[str, ControllerConnection],
        ssl_context: ssl.SSLContext | None,
        gates: Mapping[str, ReleaseGate],
    ) -> None:
        self.settings = settings
        self.statuses = {cid: exporter.ExportStatus(topic) for cid, topic in settings.topics.items()}
        self._connections = {
            cid: exporter.ControllerConnection(
                connections[cid].uris,
                ssl_context,
                (connections[cid].user, connections[cid].password)  # type: ignore[arg-type]
                if connections[cid].user is not None
                else None,
            )
            for cid in settings.topics
        }
        self._gates = gates
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for controller_id in self.settings.topics:
            thread = threading.Thread(
                target=self._run, args=(controller_id,), name=f"export.kafka {controller_id}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _run(self, controller_id: str) -> None:
        status = self.statuses[controller_id]
        try:
            code = exporter.run_export(
                self._connections[controller_id],
                self.settings.bootstrap,
                self.settings.topics[controller_id],
                options=dict(self.settings.client_options),
                partitions=self.settings.partitions,
                batch=self.settings.batch_max_events,
                stop=self._stop,
                releaser=_GateReleaser(self._gates[controller_id]),
                status=status,
            )
        except Exception as e:  # a bug: show it in the overview rather than die unseen
            log.exception("Kafka export of %s failed", controller_id)
            status.state, status.problem = "Failed", f"{type(e).__name__}: {e}"
            return
        if code != 0:
            log.error("Kafka export of %s stopped: %s", controller_id, status.problem)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def to_json(self) -> dict[str, Any]:
        return {cid: status.to_json() for cid, status in self.statuses.items()}
