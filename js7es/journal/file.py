"""FileJournal: the durable journal (segment files, one writer thread, group commit, one fdatasync)."""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, overload

from js7es.domain.event import KeyedEvent, Stamped, new_stamped
from js7es.domain.problem import Problem
from js7es.domain.value import loads
from js7es.journal.api import (
    CommitListener,
    CommitWaiter,
    Journal,
    JournalCorruptError,
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
from js7es.journal.format import (
    EVENT_PREFIX,
    ZERO_HASH,
    Header,
    JsonObject,
    SegmentError,
    chain,
    commit_line,
    decode_lines,
    dumps,
    event_body,
    event_line,
    iter_commits,
    iter_event_lines,
    iter_event_lines_with_ids,
    list_segments,
    scan_segment,
    segment_name,
    segment_prefix,
)

log = logging.getLogger(__name__)

# Module-level so that tests can inject I/O failures.
_fdatasync: Callable[[int], None] = os.fdatasync
_write: Callable[[int, bytes], int] = os.write


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Write to `path.tmp`, fsync, rename over `path`, fsync the directory."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_directory(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = _write(fd, view)  # type: ignore[arg-type]
        view = view[n:]


def _lock(directory: Path, name: str) -> int:
    """Take the journal's exclusive lock on `<name>.lock`; closing the returned fd releases it.

    flock: the kernel releases it when the process dies, so kill -9 leaves no stale lock.
    """
    lock_fd = os.open(directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock_fd)
        raise JournalError(f"{directory}: journal {name!r} is in use by another process") from None
    return lock_fd


@contextlib.contextmanager
def _locked(directory: Path, name: str) -> Iterator[None]:
    """Hold the journal's lock for an offline operation: refused while the journal is open anywhere."""
    lock_fd = _lock(directory, name)
    try:
        yield
    finally:
        os.close(lock_fd)


_CommittedEvents = tuple[Stamped, ...]  # one commit, as the recent cache holds it
# An open segment file to read, the byte offsets to read between (None: from the EVENTS marker / to the
# end), and the EventId of the commit boundary at the start offset.
_FileRegion = tuple[BinaryIO, int | None, int | None, int]


class RecoveredEvents(Sequence[Stamped]):
    """The committed events after the snapshot, read from the segment when iterated (not held).

    Valid while the segment file exists (recovery reads it at start, before a snapshot may release it).
    An event that the hash chain vouches for but the codec cannot read raises JournalCorruptError.
    """

    def __init__(self, path: Path, start: int, end: int, count: int) -> None:
        self._path, self._start, self._end, self._count = path, start, end, count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Stamped]:
        if self._count == 0:
            return
        with open(self._path, "rb") as f:
            batch: list[bytes] = []
            for _, lines in iter_commits(f, self._start, self._end):
                batch += lines
                if len(batch) >= 1000:
                    yield from self._decode(batch)
                    batch = []
            if batch:
                yield from self._decode(batch)

    def _decode(self, lines: list[bytes]) -> Iterator[Stamped]:
        try:
            decoded = decode_lines(lines)
        except (ValueError, KeyError, TypeError):  # CodecError is a ValueError: find the line, one by one
            for line in lines:
                try:
                    [stamped] = decode_lines([line])
                except (ValueError, KeyError, TypeError) as e:
                    raise JournalCorruptError(f"{self._path}: undecodable event {line[:120]!r}: {e}") from e
                yield stamped
            raise  # unreachable: one of the lines failed
        yield from decoded

    @overload
    def __getitem__(self, index: int) -> Stamped: ...
    @overload
    def __getitem__(self, index: slice) -> list[Stamped]: ...
    def __getitem__(self, index: int | slice) -> Stamped | list[Stamped]:
        return list(self)[index]  # for tests and tools; recovery iterates

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RecoveredEvents | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RecoveredEvents({self._path.name}, {self._count} events)"


@dataclass(slots=True)
class _Commit:
    stamped: list[Stamped]
    data: bytes
    future: Future[list[Stamped]]


@dataclass(slots=True)
class _SnapshotRequest:
    source: SnapshotSource
    future: Future[int]


@dataclass(slots=True)
class _Current:
    """The segment being written: only the writer thread changes it (under the state lock)."""

    file_event_id: int
    path: Path
    generation: int
    committed_size: int
    index: list[tuple[int, int]]  # sparse (lastEventId, end offset) to start reads near a position


class FileJournal(Journal):
    """Segment files `<name>--<fileEventId>.journal` in one directory; see the package docstring."""

    INDEX_EVERY = 1 << 18  # bytes between two entries of the read index of the current segment

    def __init__(
        self,
        directory: Path,
        name: str,
        clock: Callable[[], int],
        recovered: Recovered,
        current: _Current,
        last_hash: str,
        total_event_count: int,
        segments: list[Segment],
        acks: ReaderAcks,
        cache_events: int,
    ) -> None:
        self._directory = directory
        self._name = name
        self._clock = clock
        self._recovered = recovered
        self._journal_id = recovered.journal_id
        self._cache_events = cache_events
        # Queue and EventId assignment (callers' side).
        self._cond = threading.Condition()
        self._queue: list[_Commit | _SnapshotRequest] = []
        self._last_assigned = recovered.last_event_id
        self._closing = False
        self._failed: JournalError | None = None
        # Writer's side, read by readers under _state_lock.
        self._state_lock = threading.Lock()
        self._current = current
        self._segments = segments
        self._last_committed = recovered.last_event_id
        # The newest commits (whole, for read_commits), for readers near the head; `_recent_floor` is the
        # EventId before them, always a commit boundary. Empty after opening: what was recovered is read
        # from the files (recovery does not hold the journal's events in memory). `_recent_lines` holds
        # each of those commits' event lines as written: readers of lines get these bytes, not a
        # re-encoding per reader.
        self._recent: list[_CommittedEvents] = []
        self._recent_lines: list[bytes] = []
        self._recent_count = 0
        self._recent_floor = recovered.last_event_id
        self._hash = last_hash
        self._total_event_count = total_event_count
        self._listeners: list[CommitListener] = []
        self._waiter = CommitWaiter()
        self._waiter.committed(recovered.last_event_id)
        self._acks = acks
        self._acks_lock = threading.Lock()
        self._fd = os.open(current.path, os.O_WRONLY | os.O_APPEND)
        self._lock_fd: int | None = None
        self._writer = threading.Thread(target=self._run_writer, name=f"journal-writer-{name}", daemon=True)
        self._writer.start()

    # -----------------------------------------------------------------------------------------------
    # Opening and recovery

    @classmethod
    def open(
        cls,
        directory: Path | str,
        *,
        name: str = "controller",
        clock: Callable[[], int] = now_ms,
        cache_events: int = 10_000,
    ) -> FileJournal:
        """Open (and recover) or create the journal `name` in `directory`.

        Recovery reads the newest segment; a torn tail (an incomplete or invalid last commit with nothing
        valid after it) is cut off and the truncation fsynced. Damage before the last commit raises
        JournalCorruptError: acknowledged commits are never dropped silently. Only one process may have
        a journal open: a second one is refused (an exclusive lock on `<name>.lock`, released by the
        kernel when the process dies, so kill -9 leaves no stale lock).
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        lock_fd = _lock(directory, name)
        try:
            journal = cls._open_locked(directory, name, clock, cache_events)
        except BaseException:
            os.close(lock_fd)
            raise
        journal._lock_fd = lock_fd
        return journal

    @classmethod
    def _open_locked(cls, directory: Path, name: str, clock: Callable[[], int], cache_events: int) -> FileJournal:
        for tmp in directory.glob(f"{name}--*.journal.tmp"):
            tmp.unlink()  # a snapshot that was not renamed in: it never became part of the journal
        found = list_segments(directory, name)
        if not found:
            return cls._create(directory, name, clock, cache_events)
        file_event_id, path = found[-1]
        # The hash chain proves every commit whole; the events are decoded only when recovery reads
        # them (RecoveredEvents), so that neither step holds the whole journal in memory.
        scan = scan_segment(path, decode_events=False, check_events=False)
        header = scan.header
        if header.event_id != file_event_id:
            raise JournalCorruptError(f"{path}: header eventId {header.event_id} differs from the file name")
        for _, older in found[:-1]:
            with open(older, "rb") as f:
                other = Header.from_json(loads(f.readline()))
            if other.journal_id != header.journal_id:
                raise JournalCorruptError(f"{older}: journalId {other.journal_id} is not {header.journal_id}")
        truncated = 0
        if scan.defect is not None:
            if not scan.defect.torn:
                d = scan.defect
                raise JournalCorruptError(
                    f"{path}: {d.message} at byte {d.offset} (line {d.line}, eventId {d.event_id}) "
                    "with valid commits after it: not a torn tail"
                )
            truncated = scan.size - scan.good_end
            log.warning("%s: cutting torn tail of %d bytes at %d (%s)", path, truncated, scan.good_end,
                        scan.defect.message)  # fmt: skip
            fd = os.open(path, os.O_WRONLY)
            try:
                os.ftruncate(fd, scan.good_end)
                os.fsync(fd)
            finally:
                os.close(fd)
        recovered = Recovered(
            journal_id=header.journal_id,
            snapshot=scan.snapshot,
            events=RecoveredEvents(path, scan.events_start, scan.good_end, scan.event_count),
            snapshot_event_id=header.event_id,
            last_event_id=scan.last_event_id,
            generation=header.generation,
            truncated_bytes=truncated,
        )
        current = _Current(file_event_id, path, header.generation, scan.good_end, scan.commit_ends)
        segments = [Segment(fid, p.name) for fid, p in found]
        return cls(
            directory,
            name,
            clock,
            recovered,
            current,
            scan.last_hash,
            header.total_event_count + scan.event_count,
            segments,
            cls._load_acks(directory, name),
            cache_events,
        )

    @classmethod
    def _create(cls, directory: Path, name: str, clock: Callable[[], int], cache_events: int) -> FileJournal:
        journal_id = str(uuid.uuid4())
        header = Header(journal_id, 0, 1, clock(), ZERO_HASH, 0, name)
        prefix, hash_ = segment_prefix(header, [])
        path = directory / segment_name(name, 0)
        write_atomically(path, prefix)
        recovered = Recovered(journal_id, [], [], 0, 0, generation=1, created=True)
        current = _Current(0, path, 1, len(prefix), [])
        acks = cls._load_acks(directory, name)
        return cls(directory, name, clock, recovered, current, hash_, 0, [Segment(0, path.name)], acks,
                   cache_events)  # fmt: skip

    @staticmethod
    def _readers_path(directory: Path, name: str) -> Path:
        return directory / f"{name}-readers.json"

    @classmethod
    def _load_acks(cls, directory: Path, name: str) -> ReaderAcks:
        path = cls._readers_path(directory, name)
        if not path.exists():
            return ReaderAcks()
        return ReaderAcks.from_json(loads(path.read_bytes()))

    # -----------------------------------------------------------------------------------------------
    # Offline operations for a cluster: on a closed journal, under its lock

    @classmethod
    def truncate_after(cls, directory: Path | str, name: str, event_id: int) -> int:
        """Cut the journal `name` so that its last event is `event_id`; returns the number of events removed.

        Fencing: a former active node drops the commits the new active never got, so that both journals
        agree again. Segments whose fileEventId > event_id are deleted (newest first, so a crash in
        between leaves a shorter but valid journal and the call can be repeated); the newest remaining
        segment is cut right after the Commit line of `event_id` (after its EVENTS marker when
        `event_id` is its fileEventId), and file and directory are fsynced. Registered readers'
        acknowledgements are lowered to `event_id`: new events will reuse the positions after it.

        Refused with JournalError, changing nothing, when the journal is open (its lock), when
        `event_id` is not the end of a commit (mid-commit, between commits, beyond the end) or older
        than the oldest kept segment; with JournalCorruptError when a segment to keep is damaged.
        """
        directory = Path(directory)
        if not directory.is_dir():
            raise JournalError(f"{directory}: no such journal directory")
        with _locked(directory, name):
            found = list_segments(directory, name)
            if not found:
                if event_id == 0:
                    return 0
                raise JournalError(f"{directory}: no journal {name!r} to truncate after {event_id}")
            if event_id < found[0][0]:
                raise JournalError(
                    f"cannot truncate {name!r} after {event_id}: older than the oldest kept segment, "
                    f"which starts after {found[0][0]}"
                )
            k = bisect.bisect_right([fid for fid, _ in found], event_id) - 1
            cut, removed = _cut_point(found[k][1], event_id)
            for _, later in found[k + 1 :]:
                try:
                    removed += scan_segment(later, decode_events=False, check_events=False).event_count
                except SegmentError as e:
                    raise JournalCorruptError(f"cannot truncate {name!r}: {e}") from None
            acks = cls._load_acks(directory, name)
            if any(acked > event_id for acked in acks.acks.values()):
                acks.acks = {reader: min(acked, event_id) for reader, acked in acks.acks.items()}
                write_atomically(cls._readers_path(directory, name), dumps(acks.to_json()).encode())
            for _, later in reversed(found[k + 1 :]):
                later.unlink()
                fsync_directory(directory)
            path = found[k][1]
            if path.stat().st_size != cut:
                fd = os.open(path, os.O_WRONLY)
                try:
                    os.ftruncate(fd, cut)
                    os.fsync(fd)
                finally:
                    os.close(fd)
                fsync_directory(directory)
            log.info("%s: truncated after EventId %d, %d events removed", path, event_id, removed)
            return removed

    @classmethod
    def reset_to_snapshot(
        cls,
        directory: Path | str,
        name: str,
        *,
        journal_id: str,
        event_id: int,
        objects: Iterable[JsonObject],
        total_event_count: int = 0,
    ) -> Path:
        """Replace the whole journal `name` by one segment `<name>--<event_id>.journal` holding the snapshot
        `objects` (the state after `event_id`, as a SnapshotSource gives it) and no events.

        A standby whose journal cannot follow the active's (another journalId, or a position the active
        no longer keeps) starts over from the active's snapshot. The header carries `journal_id`,
        `event_id` and `total_event_count` (the events before it, for the header only); its previousHash
        is 64 zeros: nothing before it is kept, so the hash chain starts anew here (verify chains only
        between kept segments). The generation continues after the replaced journal's newest.
        Segments after `event_id` are deleted first, then the new segment is written atomically (.tmp,
        fsync, rename), then the older ones are deleted and the directory fsynced: a crash leaves a valid
        prefix of the old journal, or the new segment with some stale older ones (open refuses those
        when their journalId differs); either way, run it again. The readers file stays.
        Returns the new segment's path. Refused with JournalError while the journal is open.
        """
        directory = Path(directory)
        if event_id < 0:
            raise ValueError(f"event_id must not be negative: {event_id}")
        directory.mkdir(parents=True, exist_ok=True)
        with _locked(directory, name):
            lines = [(dumps(obj) + "\n").encode() for obj in objects]
            found = list_segments(directory, name)
            generation = 1
            if found:
                try:
                    with open(found[-1][1], "rb") as f:
                        generation = Header.from_json(loads(f.readline())).generation + 1
                except (OSError, ValueError, KeyError, TypeError):
                    pass  # a damaged journal is what a reset replaces
            header = Header(journal_id, event_id, generation, now_ms(), ZERO_HASH, total_event_count, name)
            path = directory / segment_name(name, event_id)
            for fid, old in reversed(found):
                if fid > event_id:
                    old.unlink()
                    fsync_directory(directory)
            write_atomically(path, segment_prefix(header, lines)[0])
            for fid, old in found:
                if fid < event_id:
                    old.unlink()
            fsync_directory(directory)
            log.info("%s: journal %r reset to a snapshot at EventId %d", path, name, event_id)
            return path

    # -----------------------------------------------------------------------------------------------
    # Properties

    @property
    def recovered(self) -> Recovered:
        return self._recovered

    @property
    def journal_id(self) -> str:
        return self._journal_id

    @property
    def last_event_id(self) -> int:
        return self._last_committed

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def current_path(self) -> Path:
        return self._current.path

    # -----------------------------------------------------------------------------------------------
    # Writing

    def persist(self, keyed_events: Sequence[KeyedEvent]) -> Future[list[Stamped]]:
        future: Future[list[Stamped]] = Future()
        if not keyed_events:
            future.set_result([])
            return future
        bodies = [event_body(ke.event) for ke in keyed_events]  # the costly part, outside the lock
        with self._cond:
            if self._failed is not None or self._closing:
                future.set_exception(self._failed or JournalError("journal is closed"))
                return future
            now = self._clock()
            floor = now * 1000
            last = self._last_assigned
            stamped = []
            lines = []
            for ke, body in zip(keyed_events, bodies, strict=True):
                last = floor if floor > last else last + 1
                stamped.append(new_stamped(last, now, ke.key, ke.event))
                lines.append(event_line(last, now, ke.key, body))
            self._last_assigned = last
            self._queue.append(_Commit(stamped, "".join(lines).encode(), future))
            self._cond.notify()
        return future

    def persist_replicated_group(
        self, commits: Sequence[tuple[Sequence[Stamped], bytes | None]]
    ) -> Future[list[Stamped]]:
        """Refused as a whole (ValueError): nothing of the group is queued then."""
        future: Future[list[Stamped]] = Future()
        queued = []
        for stamped, lines in commits:
            commit = list(stamped)
            if not commit:
                continue
            if lines is not None:  # the active's bytes as they came: both journals hold identical event lines
                check_replicated_lines(commit, lines)
                data = lines
            else:  # the same line encoder as persist: the same bytes
                data = encode_lines(commit, 0).data
            queued.append(_Commit(commit, data, Future()))
        if not queued:
            future.set_result([])
            return future
        with self._cond:
            if self._failed is not None or self._closing:
                future.set_exception(self._failed or JournalError("journal is closed"))
                return future
            # Against queued commits too: nothing is queued.
            check_replicated([s for c in queued for s in c.stamped], self._last_assigned)
            self._last_assigned = queued[-1].stamped[-1].event_id  # persist continues after them
            self._queue += queued
            self._cond.notify()
        return queued[-1].future

    def on_committed(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def snapshot_async(self, source: SnapshotSource) -> Future[int]:
        future: Future[int] = Future()
        with self._cond:
            if self._failed is not None or self._closing:
                future.set_exception(self._failed or JournalError("journal is closed"))
                return future
            self._queue.append(_SnapshotRequest(source, future))
            self._cond.notify()
        return future

    def _run_writer(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                batch = self._queue
                self._queue = []
            commits: list[_Commit] = []
            for item in batch:
                if isinstance(item, _Commit):
                    commits.append(item)
                else:
                    self._write_commits(commits)
                    commits = []
                    self._snapshot(item)
            self._write_commits(commits)

    def _write_commits(self, commits: list[_Commit]) -> None:
        if not commits:
            return
        if self._failed is not None:
            for c in commits:
                c.future.set_exception(self._failed)
            return
        parts = []
        hash_ = self._hash
        count = 0
        for c in commits:
            hash_ = chain(hash_, c.data)
            n = len(c.stamped)
            count += n
            parts.append(c.data)
            parts.append(commit_line(c.stamped[-1].event_id, n, hash_))
        data = b"".join(parts)
        try:
            _write_all(self._fd, data)
            _fdatasync(self._fd)
        except OSError as e:
            self._fail(JournalError(f"journal write failed, refusing further writes: {e}"), commits)
            return
        self._hash = hash_
        self._total_event_count += count
        last = commits[-1].stamped[-1].event_id
        with self._state_lock:
            current = self._current
            end = current.committed_size + len(data)
            if not current.index or end - current.index[-1][1] >= self.INDEX_EVERY:
                current.index.append((last, end))
            current.committed_size = end
            self._last_committed = last
            recent = self._recent
            recent_lines = self._recent_lines
            for c in commits:
                recent.append(tuple(c.stamped))
                recent_lines.append(c.data)
            self._recent_count += count
            if self._recent_count > 2 * self._cache_events:
                self._trim_recent()
        for c in commits:
            for listener in self._listeners:
                try:
                    listener(c.stamped)
                except Exception:  # a bug in a listener must not stop the journal's other readers
                    log.exception("on_committed listener failed")
            c.future.set_result(c.stamped)
        self._waiter.committed(last)

    def _trim_recent(self) -> None:
        """Drop the oldest whole commits down to `cache_events` events (called under the state lock)."""
        recent = self._recent
        drop = 0
        count = self._recent_count
        while count > self._cache_events:
            count -= len(recent[drop])
            drop += 1
        self._recent_floor = recent[drop - 1][-1].event_id
        del recent[:drop]
        del self._recent_lines[:drop]
        self._recent_count = count

    def _fail(self, error: JournalError, commits: list[_Commit]) -> None:
        log.error("%s", error)
        with self._cond:
            self._failed = error
            queued = self._queue
            self._queue = []
        for c in commits:
            c.future.set_exception(error)
        for item in queued:
            item.future.set_exception(error)

    def _snapshot(self, request: _SnapshotRequest) -> None:
        if self._failed is not None:
            request.future.set_exception(self._failed)
            return
        last = self._last_committed
        if last == self._current.file_event_id:
            request.future.set_result(last)  # nothing new since the segment's snapshot
            return
        try:
            lines = [(dumps(obj) + "\n").encode() for obj in request.source()]
        except Exception as e:  # the caller's source failed: no snapshot, the journal goes on
            request.future.set_exception(e)
            return
        generation = self._current.generation + 1
        header = Header(self._journal_id, last, generation, self._clock(), self._hash,
                        self._total_event_count, self._name)  # fmt: skip
        prefix, hash_ = segment_prefix(header, lines)
        path = self._directory / segment_name(self._name, last)
        tmp = path.with_name(path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                _write_all(fd, prefix)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:  # the old segment is intact: report, and keep writing there
            tmp.unlink(missing_ok=True)
            request.future.set_exception(JournalError(f"snapshot failed: {e}"))
            return
        try:
            os.replace(tmp, path)
            fsync_directory(self._directory)
            new_fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        except OSError as e:
            error = JournalError(f"switching to snapshot segment {path} failed: {e}")
            self._fail(error, [])
            request.future.set_exception(error)
            return
        os.close(self._fd)
        self._fd = new_fd
        self._hash = hash_
        with self._state_lock:
            self._current = _Current(last, path, generation, len(prefix), [])
            self._segments.append(Segment(last, path.name))
        request.future.set_result(last)

    def close(self) -> None:
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._cond.notify()
        self._writer.join()
        os.close(self._fd)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    # -----------------------------------------------------------------------------------------------
    # Reading

    def segments(self) -> list[Segment]:
        with self._state_lock:
            return list(self._segments)

    def read(self, after: int, *, limit: int | None = None) -> Iterator[Stamped] | Problem:
        with self._state_lock:
            last = self._last_committed
            oldest = self._segments[0].file_event_id
            if after < oldest:
                return event_seq_torn(after, oldest)
            if after >= last:
                return iter(())
            if after >= self._recent_floor:
                return iter(events_after(self._recent, after, limit))
            files = self._open_files(after)
        events = self._read_files(files, after)
        return events if limit is None else itertools.islice(events, limit)

    def read_commits(self, after: int, *, limit: int | None = None) -> Iterator[list[Stamped]] | Problem:
        with self._state_lock:
            last = self._last_committed
            refused = self._not_readable_by_commit(after, last)
            if refused is not None:
                return refused
            if after >= self._recent_floor:
                commits = commits_after(self._recent, self._recent_floor, after, limit)
                return not_a_commit_boundary(after, last) if commits is None else iter(commits)
            files = self._open_files(after)
        return self._read_commit_files(files, after, last, limit)

    def _not_readable_by_commit(self, after: int, last: int) -> Problem | None:
        """Why commits cannot be read after `after` (called under the state lock), or None."""
        oldest = self._segments[0].file_event_id
        if after < oldest:
            return event_seq_torn(after, oldest)
        return not_a_commit_boundary(after, last) if after > last else None

    def cached_lines(self, after: int, *, limit: int, until: int | None = None) -> Lines | Problem | None:
        with self._state_lock:
            return self._cached_lines(after, limit, until)

    def _cached_lines(self, after: int, limit: int, until: int | None) -> Lines | Problem | None:
        """`cached_lines` (called under the state lock)."""
        oldest = self._segments[0].file_event_id
        if after < oldest:
            return event_seq_torn(after, oldest)
        last = self._last_committed if until is None else min(until, self._last_committed)
        if after >= last:
            return Lines(0, after, b"")
        if after < self._recent_floor:
            return None
        return lines_after(self._recent, self._recent_lines, after, limit, last)

    def read_lines(self, after: int, *, limit: int, until: int | None = None) -> Lines | Problem:
        with self._state_lock:
            cached = self._cached_lines(after, limit, until)
            if cached is not None:
                return cached
            last = self._last_committed if until is None else min(until, self._last_committed)
            files = self._open_files(after)
        parts: list[bytes] = []
        count = 0
        last_read = after
        try:
            for f, start, end, _ in files:
                for event_id, line in iter_event_lines_with_ids(f, start, end, after):
                    if event_id > last or count >= limit:
                        break
                    parts.append(line)
                    count += 1
                    last_read = event_id
                else:
                    continue
                break
        finally:
            for f, _, _, _ in files:
                f.close()
        return Lines(count, last_read, b"".join(parts))

    def read_commit_lines(self, after: int, *, limit: int | None = None) -> Iterator[Lines] | Problem:
        with self._state_lock:
            last = self._last_committed
            refused = self._not_readable_by_commit(after, last)
            if refused is not None:
                return refused
            if after >= self._recent_floor:
                k = commit_index_after(self._recent, self._recent_floor, after)
                if k is None:
                    return not_a_commit_boundary(after, last)
                end = None if limit is None else k + limit
                return iter(commit_lines(self._recent[k:end], self._recent_lines[k:end]))
            files = self._open_files(after)
        raw = self._file_commits_after(files, after)
        if raw is None:
            return not_a_commit_boundary(after, last)
        commits = (Lines(len(lines), event_id, b"".join(lines)) for event_id, lines in raw)
        return commits if limit is None else itertools.islice(commits, limit)

    def _open_files(self, after: int) -> list[_FileRegion]:
        """Open the segments holding the events after `after` (called under the state lock).

        Opened now: release may delete the files, but not from under an open handle. The current segment
        is read from its sparse index entry before `after` up to its committed size.
        """
        k = bisect.bisect_right([s.file_event_id for s in self._segments], after) - 1
        files: list[_FileRegion] = []
        for seg in self._segments[k:]:
            f = open(self._directory / seg.name, "rb")  # noqa: SIM115 - closed by the generator
            if seg.file_event_id == self._current.file_event_id:
                index = self._current.index
                j = bisect.bisect_right(index, after, key=lambda e: e[0]) - 1
                start, boundary = (index[j][1], index[j][0]) if j >= 0 else (None, seg.file_event_id)
                files.append((f, start, self._current.committed_size, boundary))
            else:
                files.append((f, None, None, seg.file_event_id))
        return files

    @staticmethod
    def _read_files(files: list[_FileRegion], after: int) -> Iterator[Stamped]:
        try:
            for f, start, end, _ in files:
                batch: list[bytes] = []
                for line in iter_event_lines(f, start, end, after):
                    batch.append(line)
                    if len(batch) >= 1000:
                        yield from decode_lines(batch)
                        batch = []
                if batch:
                    yield from decode_lines(batch)
        finally:
            for f, _, _, _ in files:
                f.close()

    @classmethod
    def _read_commit_files(
        cls, files: list[_FileRegion], after: int, last: int, limit: int | None
    ) -> Iterator[list[Stamped]] | Problem:
        """The commits after `after` from the files; NotACommitBoundary unless one ends at `after`."""
        raw = cls._file_commits_after(files, after)
        if raw is None:
            return not_a_commit_boundary(after, last)
        commits = cls._decode_commits(lines for _, lines in raw)
        return commits if limit is None else itertools.islice(commits, limit)

    @classmethod
    def _file_commits_after(cls, files: list[_FileRegion], after: int) -> Iterator[tuple[int, list[bytes]]] | None:
        """The commits after `after` from the files, as (last EventId, event lines); None (the files
        closed) unless a commit ends at `after`.

        Reads up to the first commit after `after` before returning, to tell whether `after` is a
        commit boundary (the first region starts at one: a segment start or an index entry).
        """
        raw = cls._iter_file_commits(files)
        boundary = files[0][3]
        first: tuple[int, list[bytes]] | None = None
        for last_event_id, lines in raw:
            if last_event_id > after:
                first = last_event_id, lines
                break
            boundary = last_event_id
        if boundary != after or first is None:
            raw.close()  # closes the files
            return None
        return itertools.chain([first], raw)

    @staticmethod
    def _iter_file_commits(files: list[_FileRegion]) -> Generator[tuple[int, list[bytes]], None, None]:
        try:
            for f, start, end, _ in files:
                yield from iter_commits(f, start, end)
        finally:
            for f, _, _, _ in files:
                f.close()

    @staticmethod
    def _decode_commits(commits: Iterator[list[bytes]]) -> Iterator[list[Stamped]]:
        """Decode commits of event lines, many at a time (one json parse per about 1000 lines)."""
        batch: list[bytes] = []
        sizes: list[int] = []
        for lines in commits:
            batch += lines
            sizes.append(len(lines))
            if len(batch) >= 1000:
                yield from _split(decode_lines(batch), sizes)
                batch, sizes = [], []
        if batch:
            yield from _split(decode_lines(batch), sizes)

    def wait_for(self, after: int, timeout: float | None) -> bool:
        return self._waiter.wait_for(after, timeout)

    # -----------------------------------------------------------------------------------------------
    # Readers and release

    def readers(self) -> dict[str, int]:
        with self._acks_lock:
            return dict(self._acks.acks)

    def register_reader(self, reader_id: str) -> None:
        with self._acks_lock:
            if reader_id not in self._acks.acks:
                self._acks.acks[reader_id] = self.segments()[0].file_event_id
                self._save_acks()

    def unregister_reader(self, reader_id: str) -> None:
        with self._acks_lock:
            if self._acks.acks.pop(reader_id, None) is not None:
                self._save_acks()

    def acknowledge(self, reader_id: str, event_id: int) -> Problem | None:
        with self._acks_lock:
            current = self._acks.acks.get(reader_id)
            if current is None:
                return unknown_reader(reader_id)
            if event_id > self.last_event_id:
                return unknown_event_id(event_id)
            if event_id > current:
                self._acks.acks[reader_id] = event_id
                self._save_acks()
        return None

    def _save_acks(self) -> None:
        write_atomically(self._readers_path(self._directory, self._name), dumps(self._acks.to_json()).encode())

    def release_events(self) -> list[Segment]:
        with self._acks_lock:
            acks = self._with_holds(ReaderAcks(dict(self._acks.acks)))
        with self._state_lock:
            released = releasable(self._segments, acks, self._last_committed)
            del self._segments[: len(released)]
        for seg in released:
            (self._directory / seg.name).unlink(missing_ok=True)
        if released:
            fsync_directory(self._directory)
        return released


def _split(events: list[Stamped], sizes: list[int]) -> Iterator[list[Stamped]]:
    i = 0
    for n in sizes:
        yield events[i : i + n]
        i += n


def _cut_point(path: Path, event_id: int) -> tuple[int, int]:
    """Where to cut segment `path` so that `event_id` is its last event, and how many events follow.

    Raises JournalError unless `event_id` is the segment's fileEventId or the end of one of its complete
    commits; JournalCorruptError when the segment is damaged before that (a torn tail after it is fine:
    the cut removes it).
    """
    try:
        scan = scan_segment(path, decode_events=False, check_events=False, index_every=0)
    except SegmentError as e:
        raise JournalCorruptError(f"cannot truncate: {e}") from None
    if scan.defect is not None and not scan.defect.torn:
        d = scan.defect
        raise JournalCorruptError(f"cannot truncate: {path}: {d.message} at byte {d.offset} (line {d.line})")
    if event_id == scan.header.event_id:
        cut = scan.events_start
    else:
        cut = dict(scan.commit_ends).get(event_id, -1)
        if cut < 0:
            where = "beyond the end" if event_id > scan.last_event_id else "not the end of a commit"
            raise JournalError(
                f"cannot truncate {path.name} after {event_id}: {where} (its last commit ends at {scan.last_event_id})"
            )
    with open(path, "rb") as f:
        f.seek(cut - 1)
        following = f.read(scan.good_end - cut + 1)
    return cut, following.count(b"\n" + EVENT_PREFIX)
