"""[export.kafka]: the Kafka export as a service of the Cockpit.

The loop is `js7es export kafka`'s own (`run_export`, run.py: the same resume from the topic, exactly
once, the same records), run in one thread per exported Controller. Its status — position,
checkpoint, lag, problem — is in the Cockpit's overview under ``export.kafka.<controller>``.

The Cockpit reaches each Controller with one certificate, so the Controller knows it as one event
reader (``[journal] readers``): what the Cockpit releases must be durable in the projection *and* in
the topic. So the export releases to a `ReleaseTarget` the Cockpit gives it (its `ReleaseGate`,
js7es/nodes/cockpit/release.py, which keeps both positions; the follower sends ``ReleaseEvents`` for
the smaller one), so that neither a fast projection nor a fast export lets the Controller delete
events the other one still has to read after a restart.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Mapping
from typing import Any

from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.export.release import ReleaseTarget
from js7es.nodes.export.run import ExportStatus, run_export
from js7es.nodes.export.settings import KafkaExportSettings

log = logging.getLogger(__name__)


class KafkaExports:
    """One export thread per Controller of `settings.topics`; `start`, `stop`, `to_json`."""

    def __init__(
        self,
        settings: KafkaExportSettings,
        connections: Mapping[str, ControllerConnection],
        ssl_context: ssl.SSLContext | None,
        releasers: Mapping[str, ReleaseTarget],
    ) -> None:
        self.settings = settings
        self.statuses = {cid: ExportStatus(topic) for cid, topic in settings.topics.items()}
        self._connections = connections
        self._ssl_context = ssl_context
        self._releasers = releasers
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Starts one thread per Controller; again after `stop` (a Cockpit cluster member's takeover)."""
        self._stop = threading.Event()
        self._threads = []
        for controller_id in self.settings.topics:
            thread = threading.Thread(
                target=self._run, args=(controller_id,), name=f"export.kafka {controller_id}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _run(self, controller_id: str) -> None:
        status = self.statuses[controller_id]
        try:
            code = run_export(
                self._connections[controller_id],
                self._ssl_context,
                self.settings.bootstrap,
                self.settings.topics[controller_id],
                options=dict(self.settings.client_options),
                partitions=self.settings.partitions,
                batch=self.settings.batch_max_events,
                stop=self._stop,
                releaser=self._releasers[controller_id],
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
