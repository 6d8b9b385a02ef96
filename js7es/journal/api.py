"""The journal port: one interface, a durable `FileJournal` and a `MemoryJournal` for unit tests."""

from __future__ import annotations

import bisect
import itertools
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from js7es.domain.event import KeyedEvent, Stamped
from js7es.domain.problem import Problem, problem
from js7es.journal.format import JsonObject

CommitListener = Callable[[list[Stamped]], None]
SnapshotSource = Callable[[], Iterable[JsonObject]]


class JournalError(Exception):
    """The journal cannot go on (an I/O error, a closed journal): the node halts, nothing is pretended."""


class JournalCorruptError(JournalError):
    """A segment is damaged before its last commit: recovery refuses to guess (see `tools.verify`)."""


@dataclass(frozen=True, slots=True)
class Recovered:
    """What `open` found: the newest snapshot, the events after it, and where the journal stands."""

    journal_id: str
    snapshot: list[JsonObject]  # the JSON objects of the newest snapshot ([] for a new journal)
    events: Sequence[Stamped]  # the committed events after the snapshot, in order (FileJournal: read lazily)
    snapshot_event_id: int  # the EventId the snapshot stands at (fileEventId of the newest segment)
    last_event_id: int
    generation: int = 0
    created: bool = False  # a new, empty journal was created
    truncated_bytes: int = 0  # a torn tail of that many bytes was cut off


@dataclass(frozen=True, slots=True)
class Segment:
    file_event_id: int  # the last EventId before this segment's events
    name: str


@dataclass(slots=True)
class ReaderAcks:
    """Registered readers and the EventId each has acknowledged: what release may delete."""

    acks: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> JsonObject:
        return {"TYPE": "JournalReaders", "readers": dict(sorted(self.acks.items()))}

    @staticmethod
    def from_json(obj: JsonObject) -> ReaderAcks:
        return ReaderAcks({str(k): int(v) for k, v in obj["readers"].items()})


def event_seq_torn(after: int, oldest: int) -> Problem:
    return problem(
        "EventSeqTorn",
        f"Requested EventId after={after} is no longer available; the oldest is {oldest}",
        after=after,
        tornEventId=oldest,
    )


def snapshot_not_at(expected: int, actual: int) -> Problem:
    return problem(
        "SnapshotEventIdMismatch",
        f"Snapshot for EventId {expected} refused: the journal is at {actual}",
        expected=expected,
        actual=actual,
    )


def not_a_commit_boundary(after: int, last_event_id: int) -> Problem:
    return problem(
        "NotACommitBoundary",
        f"EventId {after} is not the end of a commit nor a snapshot position (the journal is at {last_event_id})",
        after=after,
        lastEventId=last_event_id,
    )


def unknown_event_id(event_id: int) -> Problem:
    return problem("UnknownEventId", f"EventId {event_id} has not been committed", eventId=event_id)


def unknown_reader(reader_id: str) -> Problem:
    return problem("UnknownJournalReader", f"Journal reader {reader_id!r} is not registered", reader=reader_id)


class Journal(ABC):
    """An append-only, hash-chained journal of Stamped events, with snapshots and release.

    Contract (both implementations):
    - `persist` assigns strictly increasing EventIds (JS7's epoch_ms*1000+n) and writes the events of one
      call as ONE atomic commit. Its future completes after the commit is durable, after every
      `on_committed` listener has seen it; listeners run in EventId order on one thread (the writer) and
      must not wait for `persist` themselves.
    - After a failed write the journal refuses everything (`JournalError`); the node must halt.
    - `read(after)` yields committed events only; a position older than what is kept is `EventSeqTorn`.
    - Replication (a cluster's standby copies the active's journal commit by commit): the active serves
      `read_commits(after)`, the standby appends each commit with `persist_replicated`, which writes
      the same event lines `persist` wrote on the active. So both journals hold identical event lines in
      identical commits, and a standby that becomes active just goes on with `persist`.
    - Thread-safe: any thread may persist, read and wait.

    Offline operations on a closed journal (they are not part of this port because they address the
    storage, not an open journal): `FileJournal.truncate_after` / `FileJournal.reset_to_snapshot` and
    their `MemoryJournal` equivalents on a `MemoryStore`.
    """

    @property
    @abstractmethod
    def recovered(self) -> Recovered: ...

    @property
    @abstractmethod
    def journal_id(self) -> str: ...

    @property
    @abstractmethod
    def last_event_id(self) -> int:
        """The last committed EventId."""

    @abstractmethod
    def persist(self, keyed_events: Sequence[KeyedEvent]) -> Future[list[Stamped]]:
        """Stamp the events and commit them atomically; the future completes when they are durable."""

    def persist_sync(self, keyed_events: Sequence[KeyedEvent], timeout: float | None = None) -> list[Stamped]:
        return self.persist(keyed_events).result(timeout)

    @abstractmethod
    def persist_replicated(self, stamped: Sequence[Stamped]) -> Future[list[Stamped]]:
        """Commit events that already carry their EventIds and timestamps as ONE commit (a standby
        appending one of the active's commits), exactly as durable as `persist`: same group commit,
        hash chain, listeners, `wait_for` and readers. The event lines equal those `persist` writes for
        the same Stamped. Later `persist` calls continue with EventIds after them.

        Raises ValueError, and writes nothing, unless the EventIds strictly increase after every
        EventId this journal has assigned: a standby that receives such a commit has diverged from the
        active (or replays a commit twice), which is a bug of the caller, not a failure of the journal,
        so the journal stays usable. A closed or failed journal fails the future with JournalError.
        """

    def persist_replicated_sync(self, stamped: Sequence[Stamped], timeout: float | None = None) -> list[Stamped]:
        return self.persist_replicated(stamped).result(timeout)

    @abstractmethod
    def on_committed(self, listener: CommitListener) -> None:
        """Call `listener(stamped_events)` for every commit from now on, in EventId order."""

    @abstractmethod
    def snapshot_async(self, source: SnapshotSource) -> Future[int]:
        """Start a new segment with a snapshot, between two commits.

        `source()` runs on the writer thread after every earlier commit has been made durable and its
        listeners have run, and before any later commit is written: so state maintained by `on_committed`
        listeners is exactly the state at `last_event_id` there. The future yields the new segment's
        fileEventId (the snapshot's EventId). Without new events since the last snapshot nothing is done.
        """

    def take_snapshot(
        self, objects: Iterable[JsonObject], *, at_event_id: int, timeout: float | None = None
    ) -> int | Problem:
        """Snapshot `objects`, the state after event `at_event_id`; refused if the journal moved on."""
        refused: list[Problem] = []
        materialized = list(objects)

        def source() -> Iterable[JsonObject]:
            if self.last_event_id != at_event_id:
                refused.append(snapshot_not_at(at_event_id, self.last_event_id))
                raise _SnapshotRefused
            return materialized

        try:
            return self.snapshot_async(source).result(timeout)
        except _SnapshotRefused:
            return refused[0]

    @abstractmethod
    def segments(self) -> list[Segment]:
        """The kept segments, oldest first; the last is the current one."""

    @abstractmethod
    def read(self, after: int, *, limit: int | None = None) -> Iterator[Stamped] | Problem:
        """Committed events with EventId > after, across segments."""

    @abstractmethod
    def read_commits(self, after: int, *, limit: int | None = None) -> Iterator[list[Stamped]] | Problem:
        """The committed events after `after`, one list per commit as it was committed (at most `limit`
        commits): what a standby replicates.

        `after` must be a commit boundary: the last EventId of a commit, the fileEventId of a kept
        segment (a snapshot position), or 0 for a journal that started empty; anything else (also a
        position beyond the last commit) is Problem NotACommitBoundary, because a standby there has
        diverged and must not continue mid-commit. Older than the oldest kept segment: EventSeqTorn,
        as for `read`. Served from memory near the head, so a standby can poll it cheaply.
        """

    @abstractmethod
    def wait_for(self, after: int, timeout: float | None) -> bool:
        """Block until an event after `after` is committed (True) or the timeout passes (False)."""

    @abstractmethod
    def register_reader(self, reader_id: str) -> None:
        """Register a reader whose acknowledgement release waits for (kept durably; idempotent).

        A new reader holds every segment kept at registration until it acknowledges.
        """

    @abstractmethod
    def unregister_reader(self, reader_id: str) -> None: ...

    def hold(self, holder: str, after: int | None) -> None:
        """Keep every event after `after` from release for `holder`, like a reader's acknowledgement
        but in memory only (a standby that replicates, while it does); None ends the hold."""
        holds: dict[str, int] = self.__dict__.setdefault("_holds", {})
        with _HOLDS_LOCK:
            if after is None:
                holds.pop(holder, None)
            else:
                holds[holder] = after

    def _with_holds(self, acks: ReaderAcks) -> ReaderAcks:
        with _HOLDS_LOCK:
            holds = dict(self.__dict__.get("_holds") or {})
        return ReaderAcks({**acks.acks, **{f"hold:{h}": at for h, at in holds.items()}})

    @abstractmethod
    def acknowledge(self, reader_id: str, event_id: int) -> Problem | None:
        """The reader has processed every event up to `event_id` (durably recorded; never moves back)."""

    @abstractmethod
    def readers(self) -> dict[str, int]: ...

    @abstractmethod
    def release_events(self) -> list[Segment]:
        """Delete the segments every registered reader has acknowledged completely; returns them."""

    @abstractmethod
    def close(self) -> None:
        """Let queued commits finish, then stop; later calls fail with JournalError."""

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SnapshotRefused(Exception):
    pass


def check_replicated(stamped: Sequence[Stamped], last_assigned: int) -> None:
    """Refuse (ValueError) replicated EventIds that do not strictly increase after `last_assigned`."""
    last = last_assigned
    for s in stamped:
        if s.event_id <= last:
            if last == last_assigned:
                raise ValueError(f"replicated EventId {s.event_id} is not after the journal's last EventId {last}")
            raise ValueError(f"replicated EventIds do not increase: {s.event_id} after {last}")
        last = s.event_id


def _last_event_id(commit: Sequence[Stamped]) -> int:
    return commit[-1].event_id


def _event_id(stamped: Stamped) -> int:
    return stamped.event_id


def events_after(commits: Sequence[Sequence[Stamped]], after: int, limit: int | None) -> list[Stamped]:
    """The events after `after` in `commits` (non-empty commits in EventId order), at most `limit`."""
    k = bisect.bisect_right(commits, after, key=_last_event_id)
    if k == len(commits):
        return []
    first = commits[k]
    result = list(first[bisect.bisect_right(first, after, key=_event_id) :])
    for j in range(k + 1, len(commits)):
        if limit is not None and len(result) >= limit:
            break
        result.extend(commits[j])
    return result if limit is None else result[:limit]


def commits_after(
    commits: Sequence[Sequence[Stamped]], floor: int, after: int, limit: int | None
) -> list[list[Stamped]] | None:
    """The commits after `after`, at most `limit`; None unless `after` is `floor` (the EventId before the
    first commit) or the last EventId of one of `commits`."""
    k = bisect.bisect_right(commits, after, key=_last_event_id)
    if (commits[k - 1][-1].event_id if k else floor) != after:
        return None
    return [list(c) for c in commits[k : None if limit is None else k + limit]]


_HOLDS_LOCK = threading.Lock()


def releasable(segments: Sequence[Segment], acks: ReaderAcks, committed: int) -> list[Segment]:
    """Old segments whose every event (up to the next segment's fileEventId) all readers acknowledged."""
    floor = min(acks.acks.values(), default=committed)
    return [s for s, nxt in itertools.pairwise(segments) if nxt.file_event_id <= floor]


class CommitWaiter:
    """The Condition that `wait_for` blocks on."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._last = 0

    def committed(self, last_event_id: int) -> None:
        with self._cond:
            self._last = last_event_id
            self._cond.notify_all()

    def wait_for(self, after: int, timeout: float | None) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._last > after, timeout)
