"""Following one Controller's event stream into the projection, and telling it how far we have read.

`ControllerFollower.run` loops forever: read the stored EventId from the database, request
``GET /controller/api/event?after=<stored>&timeout=…`` (ndjson, over mutual TLS), and feed the events
through a bounded queue to the writer, which takes whatever has arrived (up to `batch_max_events`) and
commits it as one batch with `Projector.apply`. While one batch commits, the next one gathers: low lag
at low rates, large batches under load. After a commit, and at most every `release_period_s`, it sends
``ReleaseEvents(untilEventId=<stored>)`` so the Controller can delete old journal segments — with a
Kafka export of this Controller configured, the smaller of <stored> and the export's checkpoint
(release.py).

On any error (Controller down, TLS, a torn stream, a database error) it waits `retry_delay_s` and
starts over from the stored EventId, trying the Controller's next URI (a cluster's other node). Events
received but not yet committed are simply fetched again; the projector drops what is already stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from js7es.domain.event import Stamped
from js7es.domain.events import stamped_from_json
from js7es.domain.value import loads
from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.client.http import Failover, HttpOptions, asplit_lines
from js7es.nodes.cockpit.config import ProjectionSettings
from js7es.nodes.cockpit.release import PROJECTION, ReleaseGate
from js7es.projections.cockpit.database import stored_event_id
from js7es.projections.cockpit.projector import BatchResult, Projector

log = logging.getLogger(__name__)

EVENT_PATH = "/controller/api/event"
COMMAND_PATH = "/controller/api/command"


class FollowError(Exception):
    """The Controller answered with a problem (e.g. EventSeqTorn) or an unreadable line."""


@dataclass(slots=True)
class FollowerStatus:
    controller_id: str
    state: str = "Starting"  # Starting | Following | Failed
    uri: str | None = None
    event_id: int = 0
    events_applied: int = 0
    batches: int = 0
    released_event_id: int = 0
    last_problem: str | None = None
    last_batch_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "state": self.state,
            "uri": self.uri,
            "eventId": self.event_id,
            "eventsApplied": self.events_applied,
            "batches": self.batches,
            "releasedEventId": self.released_event_id,
        }
        if self.last_problem:
            out["problem"] = self.last_problem
        return out


_END = object()


class ControllerFollower:
    def __init__(
        self,
        *,
        connection: ControllerConnection,
        projector: Projector,
        settings: ProjectionSettings,
        ssl_context: ssl.SSLContext | None,
        on_batch: Any = None,  # callable(controller_id, BatchResult, events) for metrics
        release_gate: ReleaseGate | None = None,  # shared with the Kafka export of this Controller
    ) -> None:
        self.connection = connection
        self.projector = projector
        self.settings = settings
        self.ssl_context = ssl_context
        self.on_batch = on_batch
        self.release_gate = release_gate or ReleaseGate([PROJECTION])
        self.status = FollowerStatus(controller_id=connection.controller_id)
        self._nodes = Failover(connection.uris)
        self._last_release = 0.0

    @property
    def controller_id(self) -> str:
        return self.connection.controller_id

    def _client(self, uri: str) -> httpx.AsyncClient:
        options = HttpOptions(
            verify=self.ssl_context or True,
            auth=self.connection.basic_auth,
            timeout_s=10.0,
            read_s=self.settings.poll_timeout_s + 30,
        )
        return options.async_client(uri)

    async def run(self) -> None:
        await asyncio.to_thread(self.projector.ensure_controller, self.controller_id)
        while True:
            uri = self._nodes.uri
            self.status.uri = uri
            try:
                await self._follow(uri)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # every failure: start over from the stored EventId
                self.status.state = "Failed"
                self.status.last_problem = f"{type(e).__name__}: {e}"
                log.warning("%s at %s: %s; again in %ss", self.controller_id, uri, e, self.settings.retry_delay_s)
                self._nodes.advance()
                await asyncio.sleep(self.settings.retry_delay_s)

    async def _follow(self, uri: str) -> None:
        after = await asyncio.to_thread(stored_event_id, self.projector.engine, self.controller_id)
        self.status.event_id = after
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=self.settings.batch_max_events * 4)
        async with self._client(uri) as client:
            reader = asyncio.create_task(self._read(client, after, queue))
            try:
                await self._write(client, queue)
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await reader

    async def _read(self, client: httpx.AsyncClient, after: int, queue: asyncio.Queue[Any]) -> None:
        try:
            while True:
                params = {"after": str(after), "timeout": str(self.settings.poll_timeout_s)}
                async with client.stream("GET", EVENT_PATH, params=params) as response:
                    if response.status_code != 200:
                        body = (await response.aread()).decode(errors="replace")[:500]
                        raise FollowError(f"{EVENT_PATH} answered {response.status_code}: {body}")
                    self.status.state = "Following"
                    self.status.last_problem = None
                    async for lines in asplit_lines(response.aiter_raw()):  # an empty list: a heartbeat
                        for line in lines:
                            try:
                                stamped = stamped_from_json(loads(line))
                            except (ValueError, KeyError, TypeError) as e:
                                raise FollowError(
                                    f"unreadable event line {line[:200].decode(errors='replace')!r}: {e}"
                                ) from e
                            await queue.put(stamped)
                            after = stamped.event_id
        except asyncio.CancelledError:
            raise
        except Exception as e:
            await queue.put(e)  # the writer commits what came before, then fails with it

    async def _write(self, client: httpx.AsyncClient, queue: asyncio.Queue[Any]) -> None:
        limit = self.settings.batch_max_events
        while True:
            try:  # asyncio.timeout, not 3.11's wait_for, which can drop a stop's cancellation (nodes/waiting.py)
                async with asyncio.timeout(self.settings.release_period_s):
                    item = await queue.get()
            except TimeoutError:  # quiet: release what the last batches committed
                await self._maybe_release(client, self.status.event_id)
                continue
            failure: BaseException | None = None
            batch: list[Stamped] = []
            while True:
                if isinstance(item, BaseException):
                    failure = item
                    break
                batch.append(item)
                if len(batch) >= limit or queue.empty():
                    break
                item = queue.get_nowait()
            if batch:
                result = await asyncio.to_thread(self.projector.apply, self.controller_id, batch)
                self._committed(result, batch)
                await self._maybe_release(client, result.event_id)
            if failure is not None:
                raise failure

    def _committed(self, result: BatchResult, batch: Sequence[Stamped]) -> None:
        self.status.event_id = result.event_id
        self.status.events_applied += result.applied
        self.status.batches += 1
        self.status.last_batch_at = time.time()
        if self.on_batch is not None:
            self.on_batch(self.controller_id, result, batch)

    async def _maybe_release(self, client: httpx.AsyncClient, event_id: int, *, force: bool = False) -> None:
        """Release what the projection has committed (`event_id`) and the Cockpit's other consumers of
        this Controller (the Kafka export) have made durable too."""
        now = time.monotonic()
        event_id = self.release_gate.advance(PROJECTION, event_id)
        if event_id <= self.status.released_event_id:
            return
        if not force and now - self._last_release < self.settings.release_period_s:
            return
        self._last_release = now
        try:
            response = await client.post(COMMAND_PATH, json={"TYPE": "ReleaseEvents", "untilEventId": event_id})
        except httpx.HTTPError as e:
            log.warning("%s: ReleaseEvents failed: %s", self.controller_id, e)
            return
        if response.status_code == 200:
            self.status.released_event_id = event_id
        else:
            log.warning("%s: ReleaseEvents refused: %s %s", self.controller_id, response.status_code, response.text)
