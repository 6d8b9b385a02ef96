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
from js7es.journal.format import JsonObject, event_body, event_line

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


@dataclass(frozen=True, slots=True)
class Lines:
    """Consecutive committed events as the journal's event lines: JS7's Stamped JSON
    (`value.dumps(stamped_to_json(s))`), each line with its newline. FileJournal serves the bytes it
    wrote, so that readers and a standby get them without a re-encoding per reader."""

    count: int  # number of events (lines)
    last_event_id: int  # of the last line; the `after` asked for when there is none
    data: bytes


def encode_lines(stamped: Sequence[Stamped], after: int) -> Lines:
    """`stamped` as the journal's lines (what a journal that keeps no bytes serves)."""
    parts = [event_line(s.event_id, s.timestamp_ms, s.key, event_body(s.event)) for s in stamped]
    return Lines(len(parts), stamped[-1].event_id if stamped else after, "".join(parts).encode())


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
      `read_commit_lines(after)` (each commit's event lines, the bytes its journal wrote), the standby
      decodes them and appends each commit with `persist_replicated(stamped, lines=)` (the commits
      received together with `persist_replicated_group`), which writes those bytes as they came. So
      both journals hold identical event lines in identical commits, and a standby that becomes active
      just goes on with `persist`.
    - Readers of the event stream get the journal's lines (`read_lines`, `cached_lines`): equal to
      JS7's Stamped JSON of each event, never encoded again per reader by FileJournal.
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

    def persist_replicated(self, stamped: Sequence[Stamped], *, lines: bytes | None = None) -> Future[list[Stamped]]:
        """Commit events that already carry their EventIds and timestamps as ONE commit (a standby
        appending one of the active's commits), exactly as durable as `persist`: same group commit,
        hash chain, listeners, `wait_for` and readers. The event lines equal those `persist` writes for
        the same Stamped. Later `persist` calls continue with EventIds after them.

        `lines`: the commit's event lines as the active's journal holds them (`read_commit_lines`),
        from which the caller decoded `stamped`. The journal writes them as they came instead of
        encoding `stamped` again (one line per event, each ending with a newline, else ValueError).

        Raises ValueError, and writes nothing, unless the EventIds strictly increase after every
        EventId this journal has assigned: a standby that receives such a commit has diverged from the
        active (or replays a commit twice), which is a bug of the caller, not a failure of the journal,
        so the journal stays usable. A closed or failed journal fails the future with JournalError.
        """
        return self.persist_replicated_group([(stamped, lines)])

    def persist_replicated_sync(
        self, stamped: Sequence[Stamped], timeout: float | None = None, *, lines: bytes | None = None
    ) -> list[Stamped]:
        return self.persist_replicated(stamped, lines=lines).result(timeout)

    @abstractmethod
    def persist_replicated_group(
        self, commits: Sequence[tuple[Sequence[Stamped], bytes | None]]
    ) -> Future[list[Stamped]]:
        """`persist_replicated(stamped, lines=lines)` of each of `commits` (each still ONE commit), handed
        to the journal at once so that one group commit (one fdatasync) can take them all: the
        commits a standby received together. The future completes with the last commit's events when
        all are durable (commits complete in order; a failure fails the later ones too). ValueError
        as for `persist_replicated`, before any of the commits is queued."""

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
    def read_lines(self, after: int, *, limit: int, until: int | None = None) -> Lines | Problem:
        """At most `limit` committed events with `after` < EventId <= `until` (default: the last
        committed one) as the journal's event lines, for the event stream: the bytes the journal wrote.
        EventSeqTorn as for `read`."""

    @abstractmethod
    def cached_lines(self, after: int, *, limit: int, until: int | None = None) -> Lines | Problem | None:
        """`read_lines` when the journal can answer from memory, without blocking on I/O (an event
        loop may call it); None when the events must be read from disk (call `read_lines` in a thread)."""

    @abstractmethod
    def read_commit_lines(self, after: int, *, limit: int | None = None) -> Iterator[Lines] | Problem:
        """`read_commits` as the journal's event lines, one `Lines` per commit: what the active sends
        its standby, which appends each with `persist_replicated(…, lines=)`. Served from memory near
        the head."""

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


def check_replicated_lines(stamped: Sequence[Stamped], lines: bytes) -> None:
    """Refuse (ValueError) replicated `lines` that are not one line per event of `stamped`."""
    count = lines.count(b"\n")
    if count != len(stamped) or not lines.endswith(b"\n"):
        raise ValueError(f"replicated lines hold {count} lines for {len(stamped)} events")


def check_replicated(stamped: Sequence[Stamped], last_assigned: int) -> None:
    """Refuse (ValueError) replicated EventIds that do not strictly increase after `last_assigned`."""
    last = last_assigned
    for s in stamped:
        if s.event_id <= last:
            if last == last_assigned:
                raise ValueError(f"replicated EventId {s.event_id} is not after the journal's last EventId {last}")
            raise ValueError(f"replicated EventIds do not increase: {s.event_id} after {last}")
        last = s.event_id


def last_event_id_of(commit: Sequence[Stamped]) -> int:
    return commit[-1].event_id


def _event_id(stamped: Stamped) -> int:
    return stamped.event_id


def _line_end(data: bytes, n: int) -> int:
    """The byte offset after the first `n` lines of `data`."""
    offset = 0
    for _ in range(n):
        offset = data.index(b"\n", offset) + 1
    return offset


def lines_after(
    commits: Sequence[Sequence[Stamped]], lines: Sequence[bytes], after: int, limit: int, last: int
) -> Lines:
    """At most `limit` events with `after` < EventId <= `last` of `commits` (non-empty, in EventId
    order), from `lines`, each commit's event lines."""
    k = bisect.bisect_right(commits, after, key=last_event_id_of)
    parts: list[bytes] = []
    count = 0
    last_served = after
    while k < len(commits) and count < limit:
        commit, data = commits[k], lines[k]
        start = bisect.bisect_right(commit, after, key=_event_id) if commit[0].event_id <= after else 0
        end = len(commit) if commit[-1].event_id <= last else bisect.bisect_right(commit, last, key=_event_id)
        end = min(end, start + limit - count)
        if end <= start:
            break
        parts.append(data if start == 0 and end == len(commit) else data[_line_end(data, start) : _line_end(data, end)])
        count += end - start
        last_served = commit[end - 1].event_id
        if end < len(commit):
            break
        k += 1
    return Lines(count, last_served, b"".join(parts))


def events_after(commits: Sequence[Sequence[Stamped]], after: int, limit: int | None) -> list[Stamped]:
    """The events after `after` in `commits` (non-empty commits in EventId order), at most `limit`."""
    k = bisect.bisect_right(commits, after, key=last_event_id_of)
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
    k = commit_index_after(commits, floor, after)
    if k is None:
        return None
    return [list(c) for c in commits[k : None if limit is None else k + limit]]


def commit_lines(commits: Sequence[Sequence[Stamped]], lines: Sequence[bytes]) -> list[Lines]:
    """Each commit with its lines, as `read_commit_lines` serves them."""
    return [Lines(len(c), c[-1].event_id, data) for c, data in zip(commits, lines, strict=True)]


def commit_index_after(commits: Sequence[Sequence[Stamped]], floor: int, after: int) -> int | None:
    """The index of the first of `commits` after `after`; None unless `after` is `floor` (the EventId
    before the first commit) or the last EventId of one of them (a commit boundary)."""
    k = bisect.bisect_right(commits, after, key=last_event_id_of)
    return k if (commits[k - 1][-1].event_id if k else floor) == after else None


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
