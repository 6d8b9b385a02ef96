"""The Agent's end of the process spawner (spawner_process.py): job processes started by another process,
so that the Agent's event loop does not wait while each one execs.

A child started with vfork (as CPython's Popen and posix_spawn start it) holds its parent until its exec
is done. Under the shell job's load that wait was 41 % of the Agent loop's wall time, more than all the
Agent's own work per step (bench/README.md, "the process spawner"). The spawner waits instead, beside
the loop, and starts each child with posix_spawn, cheaper than Popen.

The spawner is started at the first spawn and lives in a session of its own (a Ctrl-C to the Agent's
process group does not reach it). It ends when the Agent closes its end, and dies with the Agent (its
parent-death signal: a request sent just before the Agent died must not start a process nobody
knows; the signal comes when the thread that started it ends, the loop's thread). Should it end while
the Agent runs (killed by someone, the OOM killer), its running children cannot report their exit
status any more: each of them is told `lost`, and its job process ends its group (SIGTERM, then SIGKILL,
as what is left after any step) and fails the step; a request in flight fails as not started. The next
spawn starts a new spawner.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import marshal
import os
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

_SCRIPT = Path(__file__).with_name("spawner_process.py")
_HEADER = struct.Struct(">I")
_REPLY_SIZE = 4096

ExitCallback = Callable[[int, int | None], None]  # pid, its return code, or None: the spawner was lost


class SpawnerLost(OSError):
    def __init__(self) -> None:
        super().__init__("the process spawner has ended")


class ProcessSpawner:
    """One per ProcessLauncher; its replies are read by the event loop of the latest spawn."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._requests: socket.socket | None = None
        self._replies: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._request_ids = itertools.count(1)
        self._waiting: dict[int, tuple[asyncio.Future[tuple[int, list[int]]], ExitCallback]] = {}
        self._on_exit: dict[int, ExitCallback] = {}

    @staticmethod
    def supported() -> bool:
        if not sys.platform.startswith("linux") or not hasattr(os, "posix_spawn") or not hasattr(os, "pidfd_open"):
            return False
        try:
            os.close(os.pidfd_open(os.getpid()))
        except OSError:  # an old kernel, or a seccomp profile that refuses it
            return False
        return True

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def spawn(
        self, argv: list[str], env: dict[str, str], cwd: str, on_exit: ExitCallback
    ) -> tuple[int, list[int]]:
        """The child's pid and the read ends of its stdout and stderr pipes (the caller's to close), or
        OSError as Popen raises it. `on_exit` is called once when the child has ended, maybe before this
        returns to its caller."""
        loop = asyncio.get_running_loop()
        if self._process is not None and self._process.poll() is not None:  # found dead: its in-flight ones fail
            self._lost()
        if self._requests is None:
            self._start(loop)
        elif loop is not self._loop:
            self._move_to(loop)
        assert self._requests is not None
        request_id = next(self._request_ids)
        future: asyncio.Future[tuple[int, list[int]]] = loop.create_future()
        self._waiting[request_id] = (future, on_exit)
        payload = marshal.dumps((request_id, argv, env, cwd))
        try:
            await loop.sock_sendall(self._requests, _HEADER.pack(len(payload)) + payload)
        except OSError:
            self._lost()
        try:
            return await future
        except asyncio.CancelledError:  # started, but its caller will not take it: it must not run unwatched
            if future.done() and not future.cancelled() and future.exception() is None:
                self._abandon(*future.result())
            raise

    def close(self) -> None:
        """Ends the spawner. Its children are the caller's business (a stopping Agent kills its steps
        first); a child still running now would be nobody's, so its process group is killed."""
        process = self._process
        _kill_groups(self._on_exit)
        self._on_exit.clear()
        self._disconnect()
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log.warning("The process spawner (pid %s) did not end within 5 s; killed", process.pid)
                process.kill()
                process.wait()

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        requests, their_requests = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        replies, their_replies = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            theirs = (their_requests.fileno(), their_replies.fileno())
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(_SCRIPT), *map(str, theirs), str(os.getpid())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=theirs,
                start_new_session=True,
            )
        except BaseException:
            for sock in (requests, replies):
                sock.close()
            raise
        finally:
            their_requests.close()
            their_replies.close()
        requests.setblocking(False)
        replies.setblocking(False)
        self._requests, self._replies, self._loop = requests, replies, loop
        loop.add_reader(replies.fileno(), self._read_replies)
        log.debug("Process spawner started, pid %s", self._process.pid)

    def _move_to(self, loop: asyncio.AbstractEventLoop) -> None:
        """Another loop takes it over (tests run one after the other); nothing may be in flight."""
        if self._waiting or self._on_exit:
            raise RuntimeError("the process spawner has children of another event loop")
        assert self._replies is not None and self._loop is not None
        if not self._loop.is_closed():
            self._loop.remove_reader(self._replies.fileno())
        self._loop = loop
        loop.add_reader(self._replies.fileno(), self._read_replies)

    def _read_replies(self) -> None:
        replies = self._replies
        while replies is not None:
            try:
                data, fds, _, _ = socket.recv_fds(replies, _REPLY_SIZE, 2)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data, fds = b"", []
            if not data:
                self._lost()
                return
            self._reply(marshal.loads(data), fds)

    def _reply(self, reply: tuple[object, ...], fds: list[int]) -> None:
        match reply:
            case ("started", int(request_id), int(pid)):
                future, on_exit = self._waiting.pop(request_id)
                self._on_exit[pid] = on_exit
                if not future.done():
                    future.set_result((pid, fds))
                else:  # its spawn was cancelled meanwhile
                    self._abandon(pid, fds)
            case ("failed", int(request_id), int(errno), str(strerror), filename):
                future, _ = self._waiting.pop(request_id)
                if not future.done():
                    future.set_exception(OSError(errno, strerror, filename))
            case ("exited", int(pid), int(code)):
                callback = self._on_exit.pop(pid, None)
                if callback is not None:
                    callback(pid, code)
            case _:
                log.error("The process spawner replied something unknown: %r", reply)

    def _abandon(self, pid: int, fds: list[int]) -> None:
        """A child whose spawn was cancelled: killed, its pipes closed, its end of no one's interest."""
        for fd in fds:
            os.close(fd)
        if pid in self._on_exit:  # not reported ended (and so not reaped, but for moments): its group is its
            _kill_groups([pid])
            self._on_exit[pid] = lambda _pid, _code: None

    def _lost(self) -> None:
        if self._requests is None:
            return
        process = self._process
        log.error(
            "The process spawner (pid %s) has ended: its running job processes are killed, their steps fail",
            None if process is None else process.pid,
        )
        self._disconnect()
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=1)
        waiting, self._waiting = self._waiting, {}
        for future, _ in waiting.values():
            if not future.done():
                future.set_exception(SpawnerLost())
        on_exit, self._on_exit = self._on_exit, {}
        for pid, callback in on_exit.items():
            callback(pid, None)

    def _disconnect(self) -> None:
        requests, replies, loop = self._requests, self._replies, self._loop
        self._requests = self._replies = self._process = None
        if replies is not None and loop is not None and not loop.is_closed():
            loop.remove_reader(replies.fileno())
        for sock in (requests, replies):
            if sock is not None:
                sock.close()


def _kill_groups(pids: Iterable[int]) -> None:
    """SIGKILL to the process groups of children not reported ended (so not reaped: the ids are theirs)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
