"""The Controller's event stream for the exporter: `EventSource`, a thread that follows it into a queue."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import ssl
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from js7es.domain.event import Stamped
from js7es.domain.events import stamped_from_json
from js7es.domain.value import loads
from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.client.http import Failover, HttpOptions, json_body, split_lines

logger = logging.getLogger("js7es.exporter")

PREFIX = "/controller/api"
STREAM_TIMEOUT_S = 55.0  # the Controller ends every stream after at most 60 s; we simply ask again
HEARTBEAT_S = 2.0
READ_TIMEOUT_S = 10.0  # no line (not even a heartbeat) for this long: the connection is dead
MAX_BACKOFF_S = 10.0
FATAL_PROBLEMS = frozenset({"EventSeqTorn", "UnknownEventId"})


class ControllerProblem(Exception):
    """The Controller refused the stream for good (EventSeqTorn, UnknownEventId, unauthorized)."""


class EventSource:
    """A thread following the Controller's events after `after` into a queue (Stamped lists, or an
    exception to raise in the consumer's thread)."""

    def __init__(
        self,
        connection: ControllerConnection,
        ssl_context: ssl.SSLContext | None,
        after: int,
        *,
        max_queued: int = 50_000,
    ) -> None:
        self.connection = connection
        self.ssl_context = ssl_context
        self.after = after
        self.queue: queue.Queue[list[Stamped] | BaseException] = queue.Queue(maxsize=max(1, max_queued // 100))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="controller-events", daemon=True)

    def start(self) -> EventSource:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self.queue.get_nowait()  # unblock a full queue
        self._thread.join(timeout=READ_TIMEOUT_S + 5)

    def take(self, max_events: int, timeout: float) -> list[Stamped]:
        """Up to about `max_events` queued events, waiting up to `timeout` for the first ones."""
        out: list[Stamped] = []
        try:
            item = self.queue.get(timeout=timeout)
            while True:
                if isinstance(item, BaseException):
                    if out:  # deliver what came before the failure first
                        self.queue.queue.appendleft(item)
                        return out
                    raise item
                out.extend(item)
                if len(out) >= max_events:
                    return out
                item = self.queue.get_nowait()
        except queue.Empty:
            return out

    def _put(self, item: list[Stamped] | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self.queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        import httpx

        failures = 0
        nodes = Failover(self.connection.uris)
        while not self._stop.is_set():
            uri = nodes.uri
            try:
                with controller_http(self.connection, self.ssl_context, uri, READ_TIMEOUT_S) as client:
                    self._follow(client)
                failures = 0
            except ControllerProblem as e:
                self._put(e)
                return
            except (httpx.HTTPError, OSError, ValueError) as e:
                failures += 1
                nodes.advance()
                pause = min(MAX_BACKOFF_S, 0.2 * 2 ** min(failures, 6))
                logger.warning("Controller %s: %s: %s; next try in %.1f s", uri, type(e).__name__, e, pause)
                self._stop.wait(pause)

    def _follow(self, client: Any) -> None:
        params = {"after": str(self.after), "timeout": str(STREAM_TIMEOUT_S), "heartbeat": str(HEARTBEAT_S)}
        with client.stream("GET", f"{PREFIX}/event", params=params) as response:
            if response.status_code != 200:
                response.read()
                raise _refusal(response)
            for lines in split_lines(response.iter_raw()):
                if self._stop.is_set():
                    return
                batch = decode_event_lines(lines)
                if batch:
                    self.after = batch[-1].event_id
                    self._put(batch)


_json_decoder = json.JSONDecoder(parse_float=Decimal)  # as js7es.domain.value.loads


def decode_event_lines(lines: Sequence[bytes]) -> list[Stamped]:
    """The events of ndjson lines (empty lines are heartbeats): one JSON parse for all of them, as an
    array, instead of one parse per line; a bad line is reported as `loads` reports it."""
    texts = [line for line in lines if line.strip()]
    if not texts:
        return []
    try:
        objects = _json_decoder.decode("[" + b",".join(texts).decode() + "]")
    except ValueError:
        objects = None
    if not isinstance(objects, list) or len(objects) != len(texts):
        objects = [loads(text) for text in texts]  # raises for the first bad line
    return [stamped_from_json(obj) for obj in objects]


def controller_http(
    connection: ControllerConnection, ssl_context: ssl.SSLContext | None, uri: str, read_timeout: float
) -> Any:
    """The exporter's httpx client of the Controller node at `uri`: the process's TLS context, Basic
    login when the connection has a user."""
    return HttpOptions(
        verify=ssl_context if ssl_context is not None else False,
        auth=connection.basic_auth,
        timeout_s=read_timeout,
        connect_s=5.0,
    ).sync_client(uri)


def _refusal(response: Any) -> Exception:
    """The Controller's refusal of the stream: for good (ControllerProblem), or try again."""
    import httpx

    body = json_body(response.content)
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else response.text[:200]
    if code in FATAL_PROBLEMS or response.status_code in (401, 403):
        return ControllerProblem(f"{code or f'HTTP {response.status_code}'}: {message}")
    return httpx.HTTPStatusError(f"HTTP {response.status_code}: {code}: {message}", request=None, response=response)  # type: ignore[arg-type]
