"""JS7's event stream: ``GET …/event?after=&timeout=&limit=&heartbeat=&delay=`` as ndjson.

One Stamped event per line (``application/x-ndjson``), written with `encode` (default JS7's Stamped
JSON). Parameters (durations in decimal seconds):

- ``after`` — EventId; default: the last committed one (only new events). Older than the kept journal:
  the problem ``EventSeqTorn`` (400) before any streaming; beyond the last committed EventId:
  ``UnknownEventId`` (400), because waiting would hide that the client follows another history.
- ``timeout`` — default 0: answer at once with what is there. Otherwise wait up to `timeout` for the
  first event and go on streaming new events until `timeout` has passed or `limit` is reached.
- ``limit`` — at most that many events (≥ 1); default no limit.
- ``heartbeat`` — an endless stream: a bare ``"\\n"`` line first and after every `heartbeat` seconds
  without events, so that clients and proxies can tell a silent stream from a dead one.
- ``delay`` — after waking up for a new event, wait that long to send more events in one chunk.

Every stream ends after at most `max_duration` seconds (default 60; a larger ``timeout`` is clamped,
and a heartbeat stream ends there too). The client simply asks again with ``after`` = the last EventId
it got. This bound is what lets uvicorn shut down gracefully (see libraries.md §4); run uvicorn with
``timeout_graceful_shutdown`` as well. Unknown or malformed parameters are a 400 problem (``return``,
``tornOlder`` and ``onlyAcks`` are JS7 parameters js7es does not offer).

Waiting does not block the event loop and needs no thread: the journal's commit listener (running on
the journal's writer thread) wakes the waiting requests through ``loop.call_soon_threadsafe``.
With the default encoding the stream serves the journal's own lines (`Journal.read_lines`: the bytes
the journal wrote, never re-encoded per reader): the recent tail from memory on the event loop
(`cached_lines`), older events in chunks in a worker thread (a FileJournal reads them from disk).
Another `encode` reads Stamped events in a worker thread and encodes each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from js7es.domain.event import Stamped, stamped_to_json
from js7es.domain.problem import Problem, problem
from js7es.domain.value import dumps
from js7es.journal.api import Journal, JournalError, Lines, unknown_event_id
from js7es.nodes.http.auth import Authenticator, auth_problem_response
from js7es.nodes.http.problems import problem_response
from js7es.nodes.http.responses import NDJSON

T = TypeVar("T")
logger = logging.getLogger(__name__)

MAX_DURATION = 60.0
CHUNK_EVENTS = 1000
HEARTBEAT_LINE = b"\n"
_PARAMETERS = frozenset({"after", "timeout", "limit", "heartbeat", "delay"})


class CommitSignal:
    """Wakes asyncio waiters, on whatever event loop they run, when the journal commits.

    One per journal (`commit_signal`), registered once as its commit listener (the journal cannot
    unregister listeners). It holds no reference to the journal, and its asyncio primitives are created
    per wait inside the running loop, so it serves any number of servers and test clients in turn.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[bool]]] = set()

    def committed(self, _stamped: list[Stamped]) -> None:
        # On the journal's writer thread: must be quick and must never raise.
        with self._lock:
            waiters = list(self._waiters)
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed; its waiter is gone with it
                loop.call_soon_threadsafe(_resolve, future, True)

    async def wait(self, journal: Journal, after: int, timeout: float) -> bool:
        """True when an event after `after` is committed, False after `timeout` seconds.

        A plain future with a timer, not an asyncio.Event under wait_for: the waiter resumes in the
        loop's next round after the commit instead of the third (the replication stream waits here
        on the path of every commit of a cluster)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        waiter = (loop, future)
        with self._lock:
            self._waiters.add(waiter)
        try:
            if journal.last_event_id > after:  # checked after registering: no commit can slip between
                return True
            woken = await resolved_within(future, timeout, False)
            return woken or journal.last_event_id > after
        finally:
            with self._lock:
                self._waiters.discard(waiter)


async def resolved_within(future: asyncio.Future[T], timeout: float, otherwise: T) -> T:
    """The future's result, or `otherwise` once `timeout` seconds passed (the future is then resolved
    with it): one timer, woken in the loop's next round — unlike `asyncio.wait_for`, which takes three
    rounds and a task."""
    timer = future.get_loop().call_later(timeout, _resolve, future, otherwise)
    try:
        return await future
    finally:
        timer.cancel()


def _resolve(future: asyncio.Future[T], value: T) -> None:
    if not future.done():
        future.set_result(value)


_signals: weakref.WeakKeyDictionary[Journal, CommitSignal] = weakref.WeakKeyDictionary()
_signals_lock = threading.Lock()


def commit_signal(journal: Journal) -> CommitSignal:
    with _signals_lock:
        signal = _signals.get(journal)
        if signal is None:
            signal = _signals[journal] = CommitSignal()
            journal.on_committed(signal.committed)
        return signal


@dataclass(frozen=True, slots=True)
class EventRequest:
    after: int | None
    timeout: float | None
    limit: int | None
    heartbeat: float | None
    delay: float

    @staticmethod
    def parse(query: dict[str, str], *, max_duration: float) -> EventRequest | Problem:
        unknown = sorted(set(query) - _PARAMETERS)
        if unknown:
            return problem("InvalidParameter", f"Unknown event stream parameter {unknown[0]!r}", parameter=unknown[0])
        after = _integer(query, "after", minimum=0)
        limit = _integer(query, "limit", minimum=1)
        timeout = _seconds(query, "timeout", max_duration)
        heartbeat = _seconds(query, "heartbeat", max_duration)
        delay = _seconds(query, "delay", max_duration)
        for value in (after, limit, timeout, heartbeat, delay):
            if isinstance(value, Problem):
                return value
        assert not isinstance(after, Problem) and not isinstance(limit, Problem)
        assert not isinstance(timeout, Problem) and not isinstance(heartbeat, Problem)
        assert not isinstance(delay, Problem)
        if heartbeat is not None and heartbeat <= 0:
            return _invalid("heartbeat", query["heartbeat"], "must be positive")
        return EventRequest(after, timeout, limit, heartbeat, delay or 0.0)

    def duration(self, max_duration: float) -> float:
        """How long the stream may wait for events: `timeout`, for a heartbeat stream by default the max."""
        default = max_duration if self.heartbeat is not None else 0.0
        return min(self.timeout if self.timeout is not None else default, max_duration)


def _invalid(name: str, value: str, why: str) -> Problem:
    return problem("InvalidParameter", f"Invalid {name}={value[:40]!r}: {why}", parameter=name)


def _integer(query: dict[str, str], name: str, *, minimum: int) -> int | Problem | None:
    text = query.get(name)
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 18 or int(text) < minimum:
        return _invalid(name, text, f"expected an integer ≥ {minimum}")
    return int(text)


def _seconds(query: dict[str, str], name: str, maximum: float) -> float | Problem | None:
    """Decimal seconds ≥ 0 (``Infinity`` allowed), clamped to `maximum`."""
    text = query.get(name)
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return _invalid(name, text, "expected decimal seconds")
    if value.is_nan() or value < 0:
        return _invalid(name, text, "expected decimal seconds ≥ 0")
    return min(float(value), maximum)


def _unavailable(e: JournalError) -> Problem:  # closed: the node is shutting down (or halting)
    return problem("ServiceUnavailable", f"The journal is not available: {e}")


async def _next_chunk(journal: Journal, after: int, limit: int, encode: Callable[[Stamped], Any]) -> Problem | Lines:
    """Up to `limit` events after `after`: the journal's lines, from memory without a thread hand-off
    when it has them there."""
    if encode is not stamped_to_json:
        return await asyncio.to_thread(_read_chunk, journal, after, limit, encode)
    try:
        lines = journal.cached_lines(after, limit=limit)
    except JournalError as e:
        return _unavailable(e)
    if lines is None:
        return await asyncio.to_thread(_read_lines, journal, after, limit)
    return lines


def _read_lines(journal: Journal, after: int, limit: int) -> Problem | Lines:
    try:
        lines = journal.read_lines(after, limit=limit)
    except JournalError as e:
        return _unavailable(e)
    return lines


def _read_chunk(journal: Journal, after: int, limit: int, encode: Callable[[Stamped], Any]) -> Problem | Lines:
    """Up to `limit` events after `after` as lines of `encode`'s JSON."""
    try:
        events = journal.read(after, limit=limit)
    except JournalError as e:
        return _unavailable(e)
    if isinstance(events, Problem):
        return events
    lines = []
    last = after
    for stamped in events:
        lines.append(dumps(encode(stamped)))
        last = stamped.event_id
    return Lines(len(lines), last, ("\n".join(lines) + "\n").encode() if lines else b"")


def event_stream_route(
    get_journal: Callable[[], Journal],
    *,
    authenticator: Authenticator | None,
    permission: str | None = "ReadState",
    encode: Callable[[Stamped], Any] = stamped_to_json,
    max_duration: float = MAX_DURATION,
    chunk_events: int = CHUNK_EVENTS,
) -> Callable[[Request], Any]:
    """A starlette endpoint for ``GET …/event`` on the journal `get_journal()` returns at each request.

    `authenticator` None makes the route public; otherwise `permission` is required.
    """

    async def endpoint(request: Request) -> Response:
        if authenticator is not None:
            user = await authenticator.check(request, permission)
            if isinstance(user, Problem):
                return auth_problem_response(user)
        parsed = EventRequest.parse(dict(request.query_params), max_duration=max_duration)
        if isinstance(parsed, Problem):
            return problem_response(parsed)
        journal = get_journal()
        signal = commit_signal(journal)
        last = journal.last_event_id
        after = last if parsed.after is None else parsed.after
        if after > last:
            return problem_response(unknown_event_id(after))
        first = await _next_chunk(journal, after, _next_limit(parsed.limit, 0, chunk_events), encode)
        if isinstance(first, Problem):  # EventSeqTorn: refused before streaming begins
            return problem_response(first)
        stream = _stream(journal, signal, parsed, after, first, max_duration, chunk_events, encode)
        return StreamingResponse(stream, media_type=NDJSON, headers={"Cache-Control": "no-store"})

    return endpoint


def _next_limit(limit: int | None, sent: int, chunk_events: int) -> int:
    return chunk_events if limit is None else min(chunk_events, limit - sent)


async def _stream(
    journal: Journal,
    signal: CommitSignal,
    request: EventRequest,
    after: int,
    first: Lines,
    max_duration: float,
    chunk_events: int,
    encode: Callable[[Stamped], Any],
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline = started + request.duration(max_duration)  # for waiting
    hard_deadline = started + max_duration  # also for sending a long backlog
    heartbeat = request.heartbeat
    if heartbeat is not None:
        yield HEARTBEAT_LINE
    sent = 0
    chunk: Problem | Lines = first
    while True:
        if isinstance(chunk, Problem):  # released while we streamed: end; the client's retry gets the problem
            logger.warning("Event stream ends: %s", chunk)
            return
        count, after, data = chunk.count, chunk.last_event_id, chunk.data
        if count:
            yield data
            sent += count
            if (request.limit is not None and sent >= request.limit) or loop.time() >= hard_deadline:
                return
        if count < chunk_events or journal.last_event_id <= after:  # caught up: wait for more
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            woke = await signal.wait(journal, after, min(remaining, heartbeat) if heartbeat else remaining)
            if not woke:
                if heartbeat is not None and deadline - loop.time() > 0:
                    yield HEARTBEAT_LINE
                chunk = Lines(0, after, b"")
                continue
            if request.delay:
                await asyncio.sleep(max(0.0, min(request.delay, deadline - loop.time())))
        limit = _next_limit(request.limit, sent, chunk_events)
        chunk = await _next_chunk(journal, after, limit, encode)
