"""FileJournal: the durable journal (segment files, one writer thread, group commit, one fdatasync)."""

from __future__ import annotations

import bisect
import fcntl
import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from js7es.domain.event import KeyedEvent, Stamped
from js7es.domain.problem import Problem
from js7es.domain.value import loads
from js7es.journal.api import (
    CommitListener,
    CommitWaiter,
    Journal,
    JournalCorruptError,
    JournalError,
    ReaderAcks,
    Recovered,
    Segment,
    SnapshotSource,
    event_seq_torn,
    releasable,
    unknown_event_id,
    unknown_reader,
)
from js7es.journal.format import (
    ZERO_HASH,
    Header,
    chain,
    commit_line,
    decode_lines,
    dumps,
    event_body,
    event_line,
    iter_event_lines,
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
        # The newest committed events, for readers near the head; `_recent_floor` is the EventId before.
        events = recovered.events
        self._recent: list[Stamped] = list(events[-cache_events:])
        self._recent_floor = events[-cache_events - 1].event_id if len(events) > cache_events else current.file_event_id
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
        lock_fd = os.open(directory / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock_fd)
            raise JournalError(f"{directory}: journal {name!r} is in use by another process") from None
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
        scan = scan_segment(path, decode_events=True)
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
            events=scan.events,
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
                stamped.append(Stamped(last, now, ke.key, ke.event))
                lines.append(event_line(last, now, ke.key, body))
            self._last_assigned = last
            self._queue.append(_Commit(stamped, "".join(lines).encode(), future))
            self._cond.notify()
        return future

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
            for c in commits:
                recent.extend(c.stamped)
            if len(recent) > 2 * self._cache_events:
                cut = len(recent) - self._cache_events
                self._recent_floor = recent[cut - 1].event_id
                del recent[:cut]
        for c in commits:
            for listener in self._listeners:
                try:
                    listener(c.stamped)
                except Exception:  # a bug in a listener must not stop the journal's other readers
                    log.exception("on_committed listener failed")
            c.future.set_result(c.stamped)
        self._waiter.committed(last)

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
                i = bisect.bisect_right(self._recent, after, key=lambda s: s.event_id)
                return iter(self._recent[i : None if limit is None else i + limit])
            # Open the files now: release may delete them, but not from under an open handle.
            k = bisect.bisect_right([s.file_event_id for s in self._segments], after) - 1
            files: list[tuple[BinaryIO, int | None, int | None]] = []
            for seg in self._segments[k:]:
                f = open(self._directory / seg.name, "rb")  # noqa: SIM115 - closed by the generator
                if seg.file_event_id == self._current.file_event_id:
                    index = self._current.index
                    j = bisect.bisect_right(index, after, key=lambda e: e[0]) - 1
                    files.append((f, index[j][1] if j >= 0 else None, self._current.committed_size))
                else:
                    files.append((f, None, None))
        events = self._read_files(files, after)
        return events if limit is None else itertools.islice(events, limit)

    @staticmethod
    def _read_files(files: list[tuple[BinaryIO, int | None, int | None]], after: int) -> Iterator[Stamped]:
        try:
            for f, start, end in files:
                batch: list[bytes] = []
                for line in iter_event_lines(f, start, end, after):
                    batch.append(line)
                    if len(batch) >= 1000:
                        yield from decode_lines(batch)
                        batch = []
                if batch:
                    yield from decode_lines(batch)
        finally:
            for f, _, _ in files:
                f.close()

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
            acks = ReaderAcks(dict(self._acks.acks))
        with self._state_lock:
            released = releasable(self._segments, acks, self._last_committed)
            del self._segments[: len(released)]
        for seg in released:
            (self._directory / seg.name).unlink(missing_ok=True)
        if released:
            fsync_directory(self._directory)
        return released
