"""The Agent's FileWatches at work (JS7's FileWatchManager and DirectoryWatcher): each watches its
directory and announces what changed as ExternalOrderAppeared / ExternalOrderVanished.

The Agent's state holds the files it announced (js7es.domain.orderwatch.state.FileWatchState); a scan
compares the directory with it and emits only the difference, decided and applied without an await in
between. So a file is announced once whatever happens: after a restart (kill -9 included) the first
scan announces exactly what the journal does not know yet — files present at start count, files gone
meanwhile vanish.

Scans are triggered by inotify (Linux, through libc with ctypes: no extra package), and by a periodic
rescan as the safety net (inotify may overflow, or be unavailable: then the rescan polls). With a
`delay` a new file is announced only once its size and modification time have stayed the same for that
long (JS7's DirectoryEventDelayer restarts the delay on every modification).

A directory that does not exist (yet) is waited for, with one warning: inotify watches its nearest
existing ancestor for what is created there (the periodic rescan, or without inotify the poll, is the
safety net), and once the directory is there its own watch is armed. A directory deleted, moved away or
replaced is noticed at the next wake-up (its inotify watch says so; the rescan compares the device and
inode it armed) and the watch is armed again on what is there then. Files announced stay announced while
the directory is missing (as in JS7, whose DirectoryWatch retries reading a missing directory, with a
warning); a re-created directory lacking them lets them vanish.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from stat import S_ISDIR

from js7es.domain.agent.agent_state import AgentState
from js7es.domain.agent.events import ItemAttachedToMe, ItemDetachedFromMe
from js7es.domain.event import KeyedEvent, Stamped
from js7es.domain.expression import MapScope, evaluate_text
from js7es.domain.orderwatch.events import ExternalOrderAppeared, ExternalOrderVanished
from js7es.domain.orderwatch.item import FILE_ARGUMENT, FileWatch
from js7es.nodes.engine import Engine
from js7es.nodes.waiting import wait_event

log = logging.getLogger(__name__)

RESCAN_PERIOD_S = 5.0  # the safety net beside inotify
POLL_PERIOD_S = 0.5  # without inotify
SETTLE_S = 0.02  # after an inotify wake-up: let a burst of files arrive (fewer scans, bigger commits)
MAX_EVENTS_PER_COMMIT = 5000

_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x2, 0x4, 0x8
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF = 0x400, 0x800
_IN_ONLYDIR = 0x01000000
_MASK = (
    _IN_MODIFY
    | _IN_ATTRIB
    | _IN_CLOSE_WRITE
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_CREATE
    | _IN_DELETE
    | _IN_DELETE_SELF
    | _IN_MOVE_SELF
    | _IN_ONLYDIR
)
# Waiting for a missing directory: what appears in (or happens to) its nearest existing ancestor.
_ANCESTOR_MASK = _IN_CREATE | _IN_MOVED_TO | _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_ONLYDIR


class FileWatcher:
    """Runs one watching task per FileWatch attached to this Agent."""

    def __init__(self, engine: Engine, *, rescan_period_s: float = RESCAN_PERIOD_S) -> None:
        self.engine = engine
        self.rescan_period_s = rescan_period_s
        self._watches: dict[str, _DirectoryWatch] = {}
        self._started = False

    @property
    def state(self) -> AgentState:
        state = self.engine.state
        assert isinstance(state, AgentState)
        return state

    def start(self) -> None:
        self._started = True
        self._sync()

    async def stop(self) -> None:
        self._started = False
        watches, self._watches = list(self._watches.values()), {}
        for watch in watches:
            await watch.stop()

    def on_commit(self, stamped: Sequence[Stamped]) -> None:
        if self._started and any(isinstance(s.event, (ItemAttachedToMe, ItemDetachedFromMe)) for s in stamped):
            self._sync()

    def _sync(self) -> None:
        wanted = self.state.file_watches
        for path in [p for p in self._watches if p not in wanted or self._watches[p].item != wanted[p].item]:
            watch = self._watches.pop(path)
            asyncio.get_running_loop().create_task(watch.stop())
        for path, watch_state in wanted.items():
            if path not in self._watches:
                watch = _DirectoryWatch(self.engine, watch_state.item, self.rescan_period_s)
                self._watches[path] = watch
                watch.start()


class _DirectoryWatch:
    def __init__(self, engine: Engine, item: FileWatch, rescan_period_s: float) -> None:
        self.engine = engine
        self.item = item
        self.rescan_period_s = rescan_period_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: dict[str, tuple[tuple[int, int], float]] = {}  # name -> ((size, mtime), unchanged since)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"FileWatch:{self.item.path}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _directory(self) -> Path | None:
        value = evaluate_text(self.item.directory_expr, MapScope({}, env=dict(os.environ), now=time.time_ns() // 10**6))
        if not isinstance(value, str) or not value:
            log.error("%s: directoryExpr gives no directory: %s", self.item.key, value)
            return None
        return Path(value)

    async def _run(self) -> None:
        missing: Path | None = None  # the directory found missing last (warned once)
        while True:
            directory = self._directory()
            if directory is None:
                await asyncio.sleep(self.rescan_period_s)
                continue
            self._wake.clear()
            try:
                identity = _identity(directory)
                inotify = _Inotify.open(directory, _MASK, self._wake.set)
            except (FileNotFoundError, NotADirectoryError):
                if missing != directory:
                    log.warning("%s: directory %s is missing: waiting for it", self.item.key, directory)
                    missing = directory
                await self._await_directory(directory)
                continue
            except OSError as e:
                log.warning("%s: directory %s: %s; again in %ss", self.item.key, directory, e, self.rescan_period_s)
                await asyncio.sleep(self.rescan_period_s)
                continue
            try:
                if _identity(directory) != identity:  # replaced meanwhile: the watch may be on the old one
                    continue
                if missing is not None:
                    log.info("%s: directory %s is there: watching it", self.item.key, directory)
                    missing = None
                await self._watch(directory, identity, inotify is not None)
            except asyncio.CancelledError:
                raise
            except (FileNotFoundError, NotADirectoryError):
                pass  # gone: armed again on what is there now, or waited for
            except Exception:
                log.exception("%s: watching %s failed; again in %ss", self.item.key, directory, self.rescan_period_s)
                await asyncio.sleep(self.rescan_period_s)
            finally:
                if inotify is not None:
                    inotify.close()

    async def _await_directory(self, directory: Path) -> None:
        """Until something is created in the directory's nearest existing ancestor (inotify), or for the
        rescan period (the poll period without inotify)."""
        ancestor = _nearest_ancestor(directory)
        inotify = None
        if ancestor is not None:
            with contextlib.suppress(OSError):
                inotify = _Inotify.open(ancestor, _ANCESTOR_MASK, self._wake.set)
        try:
            if directory.is_dir() or _nearest_ancestor(directory) != ancestor:
                return  # created before the ancestor's watch was armed (`mkdir -p`): look again
            timeout = self.rescan_period_s if inotify is not None else min(self.rescan_period_s, POLL_PERIOD_S)
            await wait_event(self._wake, timeout)
        finally:
            if inotify is not None:
                inotify.close()
        await asyncio.sleep(SETTLE_S)

    async def _watch(self, directory: Path, identity: tuple[int, int], has_inotify: bool) -> None:
        """Scan on every wake-up and every period; returns (or raises FileNotFoundError) when the
        directory is no longer the one watched."""
        period = self.rescan_period_s if has_inotify else min(self.rescan_period_s, POLL_PERIOD_S)
        if not has_inotify:
            log.info("%s: no inotify for %s, polling every %ss", self.item.key, directory, period)
        while True:
            self._wake.clear()
            next_due = await self._scan(directory)
            if _identity(directory) != identity:  # deleted and re-created, or replaced: arm again
                return
            timeout = period if next_due is None else max(0.0, min(period, next_due - time.monotonic()))
            await wait_event(self._wake, timeout)
            await asyncio.sleep(SETTLE_S)

    async def _scan(self, directory: Path) -> float | None:
        """Announce what changed; returns when a delayed file is due, if any. Raises FileNotFoundError
        or NotADirectoryError when the directory is missing (then nothing is announced)."""
        await self.engine.admission()
        names = {e.name for e in os.scandir(directory) if e.is_file() and self.item.match(e.name) is not None}
        # From here to emit: no await, the events are decided from the state they are applied to.
        watch_state = self.engine.state.file_watches.get(self.item.path)  # type: ignore[attr-defined]
        if watch_state is None or watch_state.item != self.item:
            return None
        known = watch_state.files
        events: list[KeyedEvent] = [
            KeyedEvent(self.item.path, ExternalOrderVanished(external_order_name=name))
            for name in sorted(known - names)
        ]
        new = sorted(names - known)
        due, next_due = self._due(directory, new)
        room = max(0, MAX_EVENTS_PER_COMMIT - len(events))
        for name in due[:room]:
            arguments = {FILE_ARGUMENT: str(directory / name)}
            appeared = ExternalOrderAppeared(external_order_name=name, arguments=arguments)
            events.append(KeyedEvent(self.item.path, appeared))
        if len(due) > room:
            self._wake.set()  # the rest in the next commit
        if events:
            await self.engine.emit(events)
        return next_due

    def _due(self, directory: Path, new: list[str]) -> tuple[list[str], float | None]:
        delay = self.item.delay_s
        if delay <= 0:
            self._pending.clear()
            return new, None
        now = time.monotonic()
        due = []
        next_due: float | None = None
        pending: dict[str, tuple[tuple[int, int], float]] = {}
        for name in new:
            try:
                stat = os.stat(directory / name)
            except FileNotFoundError:
                continue
            signature = (stat.st_size, stat.st_mtime_ns)
            previous = self._pending.get(name)
            since = previous[1] if previous is not None and previous[0] == signature else now
            if now - since >= delay:
                due.append(name)
            else:
                pending[name] = (signature, since)
                next_due = min(next_due or since + delay, since + delay)
        self._pending = pending
        return due, next_due


def _nearest_ancestor(directory: Path) -> Path | None:
    return next((p for p in directory.parents if p.is_dir()), None)


def _identity(directory: Path) -> tuple[int, int]:
    """The directory's device and inode; raises FileNotFoundError, or NotADirectoryError."""
    stat = os.stat(directory)
    if not S_ISDIR(stat.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(directory))
    return stat.st_dev, stat.st_ino


class _Inotify:
    """A Linux inotify watch of one directory, read on the event loop (None where there is none)."""

    _libc: ctypes.CDLL | None = None

    def __init__(self, fd: int) -> None:
        self.fd = fd

    @classmethod
    def open(cls, directory: Path, mask: int, on_change: object) -> _Inotify | None:
        """None without inotify (not Linux, or out of watches); raises FileNotFoundError or
        NotADirectoryError for a missing directory."""
        try:
            if cls._libc is None:
                cls._libc = ctypes.CDLL(None, use_errno=True)
            libc = cls._libc
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return None
        if fd < 0:
            return None
        if libc.inotify_add_watch(fd, os.fsencode(directory), mask) < 0:
            error = ctypes.get_errno()
            os.close(fd)
            if error == errno.ENOENT:
                raise FileNotFoundError(error, os.strerror(error), str(directory))
            if error == errno.ENOTDIR:
                raise NotADirectoryError(error, os.strerror(error), str(directory))
            return None
        watch = cls(fd)
        assert callable(on_change)

        def readable() -> None:
            with contextlib.suppress(BlockingIOError, OSError):
                while os.read(fd, 65536):
                    pass
            on_change()

        asyncio.get_running_loop().add_reader(fd, readable)
        return watch

    def close(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(self.fd)
        with contextlib.suppress(OSError):
            os.close(self.fd)
