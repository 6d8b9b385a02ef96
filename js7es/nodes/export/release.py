"""How the exporter tells how far the topic holds the Controller's events: ``ReleaseEvents``."""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
from typing import Any, Protocol

from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.client.http import Failover, json_body
from js7es.nodes.export.stream import PREFIX, controller_http

logger = logging.getLogger("js7es.exporter")


class ReleaseTarget(Protocol):
    """Where the exporter says how far the topic holds the Controller's events (checkpointed)."""

    def release(self, until: int, *, force: bool = False) -> None: ...


class Releaser:
    """Sends ReleaseEvents(until) to the Controller, at most every `interval_s`, never backwards."""

    def __init__(
        self, connection: ControllerConnection, ssl_context: ssl.SSLContext | None, interval_s: float = 1.0
    ) -> None:
        self.connection = connection
        self.ssl_context = ssl_context
        self.interval_s = interval_s
        self.released = 0
        self._at = float("-inf")
        self._warned: set[str] = set()
        self._nodes = Failover(connection.uris)
        self._client: Any = None  # kept open: no TLS handshake per release

    def release(self, until: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if until <= self.released or (not force and now - self._at < self.interval_s):
            return
        self._at = now
        uri = self._nodes.uri
        try:
            if self._client is None:
                self._client = controller_http(self.connection, self.ssl_context, uri, 10.0)
            response = self._client.post(f"{PREFIX}/command", json={"TYPE": "ReleaseEvents", "untilEventId": until})
        except Exception as e:
            self.close()
            self._nodes.advance()
            logger.warning("ReleaseEvents(%d) to %s: %s: %s", until, uri, type(e).__name__, e)
            return
        if response.status_code == 200:
            self.released = until
            return
        body = json_body(response.content)
        code = str(body.get("code", "")) if isinstance(body, dict) else ""
        if code not in self._warned:
            self._warned.add(code)
            logger.warning(
                "ReleaseEvents(%d) refused: HTTP %d %s (list the exporter's user in the Controller's "
                "[journal] readers so that it keeps events until they are exported)",
                until,
                response.status_code,
                response.text[:300],
            )
        if response.status_code >= 500:  # e.g. a passive cluster node: try the other one next time
            self.close()
            self._nodes.advance()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
