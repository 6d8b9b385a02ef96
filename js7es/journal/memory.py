"""MemoryJournal: the journal's semantics without durability, for unit tests (and a Subagent's events).

Commits complete synchronously in the calling thread (under one lock, so listeners still see commits in
EventId order). A `MemoryStore` outlives the journal objects, so tests can "restart" on it. Snapshot
objects go through JSON like in a file, so a non-serializable snapshot fails here too. Each segment keeps
its commits as committed, for `read_commits`, with their event lines as a FileJournal writes them
(encoded once, at `persist`: readers of lines get these bytes). The offline operations `truncate_after` and
`reset_to_snapshot` work on a store without an open journal, like FileJournal's on a directory.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from js7es.domain.event import KeyedEvent, Stamped, new_stamped, next_event_id
from js7es.domain.problem import Problem
from js7es.domain.value import loads
from js7es.journal.api import (
    CommitListener,
    CommitWaiter,
    Journal,
    JournalError,
    Lines,
    ReaderAcks,
    Recovered,
    Segment,
    SnapshotSource,
    check_replicated,
    check_replicated_lines,
    commit_index_after,
    commit_lines,
    commits_after,
    encode_lines,
    event_seq_torn,
    events_after,
    lines_after,
    not_a_commit_boundary,
    releasable,
    unknown_event_id,
    unknown_reader,
)
from js7es.journal.file import now_ms
from js7es.journal.format import JsonObject, dumps, event_body, event_line


@dataclass(slots=True)
class _MemorySegment:
    file_event_id: int
    snapshot_json: str
    commits: list[tuple[Stamped, ...]] = field(default_factory=list)  # non-empty, in EventId order
    lines: list[bytes] = field(default_factory=list)  # the event lines of each commit

    @property
    def last_event_id(self) -> int:
        return self.commits[-1][-1].event_id if self.commits else self.file_event_id

    def event_count(self) -> int:
        return sum(len(c) for c in self.commits)


@dataclass(slots=True)
class MemoryStore:
    """What a FileJournal keeps in its directory."""

    journal_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    segments: list[_MemorySegment] = field(default_factory=lambda: [_MemorySegment(0, "[]")])
    acks: ReaderAcks = field(default_factory=ReaderAcks)
    generation: int = 1
    in_use: bool = False  # a MemoryJournal is open on it (FileJournal's lock)


class MemoryJournal(Journal):
    def __init__(self, store: MemoryStore, clock: Callable[[], int]) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.RLock()
        current = store.segments[-1]
        events = list(itertools.chain.from_iterable(current.commits))
        self._last = current.last_event_id
        self._recovered = Recovered(
            journal_id=store.journal_id,
            snapshot=loads(current.snapshot_json),
            events=events,
            snapshot_event_id=current.file_event_id,
            last_event_id=self._last,
            generation=store.generation,
            created=len(store.segments) == 1 and not events and current.file_event_id == 0,
        )
        self._listeners: list[CommitListener] = []
        self._waiter = CommitWaiter()
        self._waiter.committed(self._last)
        self._closed = False
        store.in_use = True

    @classmethod
    def open(cls, store: MemoryStore | None = None, *, clock: Callable[[], int] = now_ms) -> MemoryJournal:
        return cls(store if store is not None else MemoryStore(), clock)

    @property
    def store(self) -> MemoryStore:
        return self._store

    @property
    def recovered(self) -> Recovered:
        return self._recovered

    @property
    def journal_id(self) -> str:
        return self._store.journal_id

    @property
    def last_event_id(self) -> int:
        return self._last

    def persist(self, keyed_events: Sequence[KeyedEvent]) -> Future[list[Stamped]]:
        future: Future[list[Stamped]] = Future()
        bodies = [event_body(ke.event) for ke in keyed_events]  # fails for an event the file journal refuses
        with self._lock:
            if self._closed:
                future.set_exception(JournalError("journal is closed"))
                return future
            now = self._clock()
            stamped = []
            lines = []
            last = self._last
            for ke, body in zip(keyed_events, bodies, strict=True):
                last = next_event_id(last, now)
                stamped.append(new_stamped(last, now, ke.key, ke.event))
                lines.append(event_line(last, now, ke.key, body))
            self._commit(stamped, "".join(lines).encode())
            future.set_result(stamped)
        self._waiter.committed(self._last)
        return future

    def persist_replicated_group(
        self, commits: Sequence[tuple[Sequence[Stamped], bytes | None]]
    ) -> Future[list[Stamped]]:
        """Refused as a whole (ValueError), like FileJournal's."""
        future: Future[list[Stamped]] = Future()
        checked: list[tuple[list[Stamped], bytes]] = []
        for stamped, lines in commits:
            commit = list(stamped)
            if lines is not None and commit:
                check_replicated_lines(commit, lines)
            else:  # also proves the events encodable, as the file journal would
                lines = encode_lines(commit, 0).data
            checked.append((commit, lines))
        with self._lock:
            if self._closed:
                future.set_exception(JournalError("journal is closed"))
                return future
            check_replicated([s for commit, _ in checked for s in commit], self._last)
            for commit, lines in checked:
                self._commit(commit, lines)
            nonempty = [commit for commit, _ in checked if commit]
            future.set_result(nonempty[-1] if nonempty else [])
        self._waiter.committed(self._last)
        return future

    def _commit(self, stamped: list[Stamped], lines: bytes) -> None:
        if stamped:
            self._store.segments[-1].commits.append(tuple(stamped))
            self._store.segments[-1].lines.append(lines)
            self._last = stamped[-1].event_id
            for listener in self._listeners:
                listener(stamped)

    def on_committed(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def snapshot_async(self, source: SnapshotSource) -> Future[int]:
        future: Future[int] = Future()
        with self._lock:
            if self._closed:
                future.set_exception(JournalError("journal is closed"))
                return future
            if self._last == self._store.segments[-1].file_event_id:
                future.set_result(self._last)
                return future
            try:
                snapshot_json = dumps(list(source()))
            except Exception as e:
                future.set_exception(e)
                return future
            self._store.segments.append(_MemorySegment(self._last, snapshot_json))
            self._store.generation += 1
            future.set_result(self._last)
        return future

    def segments(self) -> list[Segment]:
        with self._lock:
            return [Segment(s.file_event_id, f"memory--{s.file_event_id}") for s in self._store.segments]

    def _segments_from(self, after: int) -> list[_MemorySegment] | Problem:
        """The segments from the one holding the event after `after` on (under the lock)."""
        segments = self._store.segments
        if after < segments[0].file_event_id:
            return event_seq_torn(after, segments[0].file_event_id)
        return segments[bisect.bisect_right([s.file_event_id for s in segments], after) - 1 :]

    def read(self, after: int, *, limit: int | None = None) -> Iterator[Stamped] | Problem:
        with self._lock:
            segments = self._segments_from(after)
            if isinstance(segments, Problem):
                return segments
            result: list[Stamped] = []
            for seg in segments:
                result.extend(events_after(seg.commits, after, None if limit is None else limit - len(result)))
                if limit is not None and len(result) >= limit:
                    break
            return iter(result)

    def read_commits(self, after: int, *, limit: int | None = None) -> Iterator[list[Stamped]] | Problem:
        with self._lock:
            segments = self._segments_from(after)
            if isinstance(segments, Problem):
                return segments
            first = commits_after(segments[0].commits, segments[0].file_event_id, after, limit)
            if first is None:
                return not_a_commit_boundary(after, self._last)
            result = first
            for seg in segments[1:]:
                if limit is not None and len(result) >= limit:
                    break
                result.extend(list(c) for c in seg.commits)
            return iter(result if limit is None else result[:limit])

    def read_lines(self, after: int, *, limit: int, until: int | None = None) -> Lines | Problem:
        with self._lock:
            segments = self._segments_from(after)
            if isinstance(segments, Problem):
                return segments
            last = self._last if until is None else min(until, self._last)
            parts: list[bytes] = []
            count = 0
            last_served = after
            for seg in segments:
                if count >= limit or last_served >= last:
                    break
                got = lines_after(seg.commits, seg.lines, last_served, limit - count, last)
                parts.append(got.data)
                count += got.count
                last_served = got.last_event_id
            return Lines(count, last_served, b"".join(parts))

    def cached_lines(self, after: int, *, limit: int, until: int | None = None) -> Lines | Problem | None:
        return self.read_lines(after, limit=limit, until=until)  # all in memory

    def read_commit_lines(self, after: int, *, limit: int | None = None) -> Iterator[Lines] | Problem:
        with self._lock:
            segments = self._segments_from(after)
            if isinstance(segments, Problem):
                return segments
            seg = segments[0]
            j = commit_index_after(seg.commits, seg.file_event_id, after)
            if j is None:
                return not_a_commit_boundary(after, self._last)
            result = commit_lines(seg.commits[j:], seg.lines[j:])
            for later in segments[1:]:
                if limit is not None and len(result) >= limit:
                    break
                result += commit_lines(later.commits, later.lines)
            return iter(result if limit is None else result[:limit])

    def wait_for(self, after: int, timeout: float | None) -> bool:
        return self._waiter.wait_for(after, timeout)

    def readers(self) -> dict[str, int]:
        with self._lock:
            return dict(self._store.acks.acks)

    def register_reader(self, reader_id: str) -> None:
        with self._lock:
            self._store.acks.acks.setdefault(reader_id, self._store.segments[0].file_event_id)

    def unregister_reader(self, reader_id: str) -> None:
        with self._lock:
            self._store.acks.acks.pop(reader_id, None)

    def acknowledge(self, reader_id: str, event_id: int) -> Problem | None:
        with self._lock:
            acks = self._store.acks.acks
            if reader_id not in acks:
                return unknown_reader(reader_id)
            if event_id > self._last:
                return unknown_event_id(event_id)
            acks[reader_id] = max(acks[reader_id], event_id)
            return None

    def release_events(self) -> list[Segment]:
        with self._lock:
            released = releasable(self.segments(), self._with_holds(self._store.acks), self._last)
            del self._store.segments[: len(released)]
            return released

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._store.in_use = False

    # -----------------------------------------------------------------------------------------------
    # Offline operations on a store, the equivalents of FileJournal's on a directory

    @staticmethod
    def _refuse_in_use(store: MemoryStore) -> None:
        if store.in_use:
            raise JournalError("the memory journal is open: close it first")

    @classmethod
    def truncate_after(cls, store: MemoryStore, event_id: int) -> int:
        """Cut the stored journal so that its last event is `event_id` (see FileJournal.truncate_after)."""
        cls._refuse_in_use(store)
        segments = store.segments
        if event_id < segments[0].file_event_id:
            raise JournalError(
                f"cannot truncate after {event_id}: older than the oldest kept segment {segments[0].file_event_id}"
            )
        if event_id > segments[-1].last_event_id:
            raise JournalError(f"cannot truncate after {event_id}: the journal ends at {segments[-1].last_event_id}")
        k = bisect.bisect_right([s.file_event_id for s in segments], event_id) - 1
        target = segments[k]
        ends = [target.file_event_id] + [c[-1].event_id for c in target.commits]
        if event_id not in ends:
            raise JournalError(f"cannot truncate after {event_id}: it is not the end of a commit")
        keep = ends.index(event_id)
        removed = sum(s.event_count() for s in segments[k + 1 :]) + sum(len(c) for c in target.commits[keep:])
        del target.commits[keep:]
        del target.lines[keep:]
        del segments[k + 1 :]
        for reader, acked in store.acks.acks.items():
            store.acks.acks[reader] = min(acked, event_id)
        return removed

    @classmethod
    def reset_to_snapshot(
        cls,
        store: MemoryStore,
        *,
        journal_id: str,
        event_id: int,
        objects: Iterable[JsonObject],
        total_event_count: int = 0,
    ) -> None:
        """Replace the stored journal by one snapshot segment (see FileJournal.reset_to_snapshot).

        `total_event_count` is accepted for symmetry; a memory store counts no events.
        """
        cls._refuse_in_use(store)
        snapshot_json = dumps(list(objects))
        store.journal_id = journal_id
        store.segments[:] = [_MemorySegment(event_id, snapshot_json)]
        store.generation += 1
