"""What the Cockpit may release of a Controller's events.

The Cockpit reaches a Controller with one certificate, so the Controller knows it as one event reader
(``[journal] readers``), whose ``ReleaseEvents`` lets it delete old journal segments. Inside the
Cockpit several consumers read the stream — the projection, and the Kafka export when configured —
and each resumes after a restart from its own durable position: the Cockpit may release only the
smallest of them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

PROJECTION = "projection"
KAFKA_EXPORT = "export.kafka"


class ReleaseGate:
    """The positions of a Controller's consumers in the Cockpit; releasable: the smallest."""

    def __init__(self, consumers: Iterable[str]) -> None:
        self._positions = dict.fromkeys(consumers, 0)
        if not self._positions:
            raise ValueError("a ReleaseGate needs a consumer")
        self._lock = threading.Lock()

    def advance(self, consumer: str, event_id: int) -> int:
        """`consumer` has made every event up to `event_id` durable; returns what may be released now."""
        with self._lock:
            self._positions[consumer] = max(self._positions[consumer], event_id)
            return min(self._positions.values())

    def releasable(self) -> int:
        with self._lock:
            return min(self._positions.values())

    def positions(self) -> dict[str, int]:
        with self._lock:
            return dict(self._positions)

    def releaser(self, consumer: str) -> ConsumerReleaser:
        """What `consumer` releases to (a `ReleaseTarget` of js7es/nodes/export/): this gate."""
        return ConsumerReleaser(self, consumer)


class ConsumerReleaser:
    """A consumer's releases advance its position in the gate (the follower sends ReleaseEvents)."""

    def __init__(self, gate: ReleaseGate, consumer: str) -> None:
        self.gate = gate
        self.consumer = consumer

    def release(self, until: int, *, force: bool = False) -> None:
        self.gate.advance(self.consumer, until)
