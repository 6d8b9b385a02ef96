"""`run_export`: the exporter's loop (the package's doc tells it), and its `ExportStatus`."""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from js7es.domain.event import timestamp_of
from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.export.release import Releaser, ReleaseTarget
from js7es.nodes.export.stream import MAX_BACKOFF_S, ControllerProblem, EventSource

logger = logging.getLogger("js7es.exporter")


@dataclass(slots=True)
class ExportStatus:
    """What the exporter is doing, for an overview (the Cockpit's GET /cockpit/api); written by the
    export loop's thread, read by others (each field on its own)."""

    topic: str
    state: str = "Starting"  # Starting | Exporting | Retrying | Stopped | Failed
    event_id: int = 0  # every event up to this one is acknowledged by the broker
    checkpointed_event_id: int = 0  # ... and a checkpoint saying so too (what may be released)
    controller_event_id: int = 0  # the last event read from the Controller
    events_exported: int = 0  # since this process started (a batch resent after a crash counts again)
    restarts: int = 0
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        behind = self.controller_event_id > self.event_id
        lag_ms = timestamp_of(self.controller_event_id) - timestamp_of(self.event_id) if behind else 0
        out: dict[str, Any] = {
            "state": self.state,
            "topic": self.topic,
            "eventId": self.event_id,
            "checkpointedEventId": self.checkpointed_event_id,
            "controllerEventId": self.controller_event_id,
            # how much older the last acknowledged event is than the last one read from the Controller
            "lagSeconds": lag_ms / 1000,
            "eventsExported": self.events_exported,
            "restarts": self.restarts,
        }
        if self.problem:
            out["problem"] = self.problem
        return out


def run_export(
    connection: ControllerConnection,
    ssl_context: ssl.SSLContext | None,
    bootstrap: Sequence[str],
    topic: str,
    *,
    options: dict[str, Any],
    partitions: int = 3,
    batch: int = 10_000,
    stop: threading.Event | None = None,
    releaser: ReleaseTarget | None = None,
    status: ExportStatus | None = None,
) -> int:
    """The exporter's loop until `stop` is set; returns 0 then, or 1 on a problem a restart does not
    cure (the Controller refused the stream, the topic's layout changed: `status.problem` says which).
    Broker failures are retried from `KafkaExporter.open()`, after a growing pause."""
    from js7es.projections.kafka.exporter import ExportConfigError, ExportError, KafkaExporter

    stop = stop or threading.Event()
    status = status or ExportStatus(topic)
    exporter = KafkaExporter(bootstrap, topic, options=options, partitions=partitions)
    own_releaser = Releaser(connection, ssl_context) if releaser is None else None
    release = releaser or own_releaser
    assert release is not None
    failures = 0
    try:
        while not stop.is_set():
            source: EventSource | None = None
            try:
                point = exporter.open()
                status.event_id = status.checkpointed_event_id = point.watermark
                release.release(point.watermark, force=True)
                source = EventSource(connection, ssl_context, point.after).start()
                status.state = "Exporting"
                status.problem = None
                failures = 0
                while not stop.is_set():
                    # While the broker acknowledges one batch, the next one is taken and sent.
                    events = source.take(batch, timeout=0.5 if not exporter.in_flight else 0.005)
                    exporter.send(events)
                    status.events_exported += len(events)
                    status.event_id = exporter.collect(keep=1 if events else 0)
                    status.controller_event_id = source.after
                    status.checkpointed_event_id = exporter.checkpoint(wait=False)
                    release.release(status.checkpointed_event_id)
                status.event_id = exporter.collect()
                status.checkpointed_event_id = exporter.checkpoint(force=True)
                release.release(status.checkpointed_event_id, force=True)
            except ControllerProblem as e:
                status.state, status.problem = "Failed", f"the Controller refused the event stream: {e}"
                logger.error("%s", status.problem)
                return 1
            except ExportConfigError as e:
                status.state, status.problem = "Failed", str(e)
                logger.error("%s", e)
                return 1
            except ExportError as e:
                failures += 1
                status.restarts += 1
                pause = min(MAX_BACKOFF_S, 0.5 * 2 ** min(failures, 5))
                status.state, status.problem = "Retrying", str(e)
                logger.warning("%s; starting over in %.1f s", e, pause)
                exporter.close()
                stop.wait(pause)
            finally:
                if source is not None:
                    source.stop()
        status.state = "Stopped"
        return 0
    finally:
        exporter.close()
        if own_releaser is not None:
            own_releaser.close()
