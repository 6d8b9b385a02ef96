"""How the ends of asyncio's subprocesses reach the loop: a pidfd per process, not a thread per process.

On Python 3.11 asyncio's default child watcher (ThreadedChildWatcher) starts a thread for every child
that waits for it; on 3.12+ asyncio itself uses a pidfd per child where the kernel has pidfd_open
(Linux >= 5.3). A thread per job step was visible in the Agent's profile under the shell job's load
(bench/node_bench.py --profile-workflow shell), and `sh -c true` at 16 at once ran 30-40 % faster with
pidfds (bench/README.md, "Issue 18: the shell job"). The job processes themselves no longer go through
asyncio's subprocesses (os_process.py `_Child` reads their pidfds itself); the launcher still installs
this for what else in the Agent's process starts asyncio subprocesses (an internal job's own code),
and node_bench measures its `sh -c true` limit through it.

`use_pidfd_child_watcher()` installs, on 3.11 only, 3.12's behaviour: the pidfd is registered with the
loop that starts the process (whichever loop that is; 3.11's own PidfdChildWatcher serves one attached
loop only, and tests start many loops in one process). Where pidfds are unavailable nothing changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVarTuple, Unpack

log = logging.getLogger(__name__)

_Ts = TypeVarTuple("_Ts")
_installed = False


def use_pidfd_child_watcher() -> None:
    """Idempotent; a no-op on Python >= 3.12 (already so) and where pidfd_open is missing or refused."""
    global _installed
    if _installed or sys.version_info >= (3, 12) or not _pidfds_work():
        return
    # Two threads here at once do no harm: the second replaces the first, which holds no state.
    asyncio.get_event_loop_policy().set_child_watcher(_AnyLoopPidfdWatcher())
    _installed = True


def reap(pid: int) -> int:
    """The return code of the ended child `pid` (negative: the signal that ended it), reaping it; 255
    when its status was read elsewhere, as asyncio takes it."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        log.warning("child process %d: its exit status was read elsewhere; taken as 255", pid)
        return 255
    return os.waitstatus_to_exitcode(status)


def _pidfds_work() -> bool:
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return False
    try:
        os.close(pidfd_open(os.getpid()))
    except OSError:  # an old kernel, or a seccomp profile that refuses it
        return False
    return True


if sys.version_info < (3, 12):

    class _AnyLoopPidfdWatcher(asyncio.PidfdChildWatcher):
        """3.12's PidfdChildWatcher on 3.11: each child's pidfd is read by the loop running when it was
        started (3.11's is bound to one attached loop and refuses to work without one)."""

        def is_active(self) -> bool:
            return True

        def attach_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
            pass

        def close(self) -> None:
            pass

        def add_child_handler(self, pid: int, callback: Callable[[int, int, Unpack[_Ts]], object], *args: *_Ts) -> None:
            loop: Any = asyncio.get_running_loop()
            pidfd = os.pidfd_open(pid)
            loop._add_reader(pidfd, self._end, loop, pid, pidfd, callback, args)

        def remove_child_handler(self, pid: int) -> bool:
            return False  # asyncio calls it only from watchers' own bookkeeping, never for our children

        def _end(self, loop: Any, pid: int, pidfd: int, callback: Callable[..., object], args: Any) -> None:
            loop._remove_reader(pidfd)
            return_code = reap(pid)
            with contextlib.suppress(OSError):
                os.close(pidfd)
            callback(pid, return_code, *args)
