"""A job step as an OS process in its own process group, killed with the whole group.

Killing (JS7's `kill`, `timeout`, `sigkillDelay`): SIGTERM goes to the process group, SIGKILL
follows after `sigkill_delay_s` unless the group is gone by then; `kill(immediately=True)` sends
SIGKILL at once. A process that ends by a signal has the return code 128 + signal, as JS7 reports it.

When the main process ends while other members of its group remain (background children, children
that ignored SIGTERM), the job is over: the rest get the same treatment, SIGTERM at once and SIGKILL
after `sigkill_delay_s`, so they may clean up but never outlive the step. `wait()` returns when no
member of the group runs any more, so no process of the step is left behind (zombies waiting for
init to reap them are not waited for; a process that made itself a new session, e.g. with `setsid`,
has left the group and is not the step's any more; if it still holds the output pipes, they are
closed PIPE_GRACE_S after the group has gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from js7es.domain.order.outcome import Failed, Outcome
from js7es.domain.value import NamedValues
from js7es.nodes.subagent.base import EndedBy, JobProcess, outcome_of
from js7es.nodes.subagent.child_watcher import reap
from js7es.nodes.subagent.environment import ReturnValuesError, read_return_values
from js7es.nodes.subagent.output import OutputCollector
from js7es.nodes.subagent.spawner import ProcessSpawner
from js7es.nodes.subagent.spec import OutputCallback, ProcessSpec, StdoutOrStderr

log = logging.getLogger(__name__)

PIPE_GRACE_S = 2.0  # how long pipes may stay open after the group has gone
GONE_AFTER_SIGKILL_S = 5.0  # a group still there this long after SIGKILL is given up (logged)
SPAWNER_LOST_MESSAGE = "The process spawner ended while the process ran: it was ended, its exit status is unknown"


class _Child:
    """The job's process on the loop that started it, without an asyncio subprocess transport: its output
    pipes read with `add_reader`, its end reported by the process spawner (spawner.py) or, when the Agent
    started it itself, seen on its pidfd (a thread's `waitpid` where pidfds are refused). asyncio's
    transport connects each pipe in tasks of its own and passes the end on through two more loop turns;
    under the shell job's load (16 processes, the loop busy) every turn was about a millisecond of the
    step's slot (bench/README.md, "the job's process without asyncio's transport")."""

    def __init__(self, on_output: OutputCallback, chunk_delay_s: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._popen: subprocess.Popen[bytes] | None = None
        self.pid = 0
        self.returncode: int | None = None
        self.lost = False  # its spawner ended before it did: killed, its exit status unknown
        self.collector = OutputCollector(on_output, chunk_delay_s=chunk_delay_s, pause=self._pause, resume=self._resume)
        self.exited: asyncio.Future[None] = self._loop.create_future()
        self.pipes_closed: asyncio.Future[None] = self._loop.create_future()
        self._pipes: dict[int, tuple[StdoutOrStderr, IO[bytes]]] = {}
        self._paused = False
        self._pidfd: int | None = None

    def attach(self, pid: int, stdout: IO[bytes], stderr: IO[bytes]) -> None:
        self.pid = pid
        pipes: tuple[tuple[StdoutOrStderr, IO[bytes]], ...] = (("stdout", stdout), ("stderr", stderr))
        for kind, pipe in pipes:
            fd = pipe.fileno()
            os.set_blocking(fd, False)
            self._pipes[fd] = (kind, pipe)
            self._loop.add_reader(fd, self._read, fd)

    def watch(self, popen: subprocess.Popen[bytes]) -> None:
        """Its end seen here: the Agent's own child."""
        self._popen = popen
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except OSError:  # an old kernel, or a seccomp profile that refuses it: a thread waits
            threading.Thread(target=self._wait_in_thread, name=f"waitpid-{self.pid}", daemon=True).start()
        else:
            self._loop.add_reader(self._pidfd, self._on_pidfd)

    def spawner_exit(self, pid: int, returncode: int | None) -> None:
        """Its end as the spawner reports it; None: the spawner ended before it did, the process may still run
        (`OsJobProcess._run` ends its group, as what is left after any step)."""
        if returncode is None:
            self.lost = True
            returncode = -signal.SIGKILL
        self._ended(returncode)

    def _on_pidfd(self) -> None:
        assert self._pidfd is not None
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = None
        self._ended(reap(self.pid))  # it has ended: no wait

    def _wait_in_thread(self) -> None:
        code = reap(self.pid)
        with contextlib.suppress(RuntimeError):  # the loop has been closed meanwhile
            self._loop.call_soon_threadsafe(self._ended, code)

    def _ended(self, returncode: int) -> None:
        self.returncode = returncode
        if self._popen is not None:
            self._popen.returncode = returncode  # reaped here: subprocess must not wait for the pid again
        if not self.exited.done():
            self.exited.set_result(None)

    def _read(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            self.collector.feed_bytes(self._pipes[fd][0], data)
        else:
            self._close_pipe(fd)

    def _close_pipe(self, fd: int) -> None:
        kind, pipe = self._pipes.pop(fd)
        if not self._paused:
            self._loop.remove_reader(fd)
        pipe.close()
        self.collector.close(kind)
        if not self._pipes and not self.pipes_closed.done():
            self.pipes_closed.set_result(None)

    def _pause(self) -> None:
        if not self._paused:
            self._paused = True
            for fd in self._pipes:
                self._loop.remove_reader(fd)

    def _resume(self) -> None:
        if self._paused:
            self._paused = False
            for fd in self._pipes:
                self._loop.add_reader(fd, self._read, fd)

    def close(self) -> None:
        """Stop reading its pipes (asyncio's transport does so, and kills a process still running); its
        end is still reaped when it comes."""
        for fd in list(self._pipes):
            self._close_pipe(fd)
        if self.returncode is None and self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)


class OsJobProcess(JobProcess):
    def __init__(
        self,
        spec: ProcessSpec,
        child: _Child,
        *,
        return_values_file: Path | str,
        on_end: Callable[[], None],
    ) -> None:
        self.spec = spec
        self.pid = child.pid
        self._child = child
        self._return_values_file = return_values_file
        self._on_end = on_end
        self._loop = asyncio.get_running_loop()
        self._ended_by: EndedBy = None
        self._sigterm_sent = False
        self._sigkill_sent = False
        self._group_gone = False
        self._sigkill_timer: asyncio.TimerHandle | None = None
        self._timeout_timer = (
            self._loop.call_later(spec.timeout_s, self._on_timeout) if spec.timeout_s is not None else None
        )
        self._task = self._loop.create_task(self._run(), name=f"job process {self.pid} of {spec.order_id}")

    @staticmethod
    async def spawn(
        argv: list[str],
        env: dict[str, str],
        spec: ProcessSpec,
        on_output: OutputCallback,
        chunk_delay_s: float,
        spawner: ProcessSpawner | None,
    ) -> _Child:
        """Started by `spawner`, or by the Agent itself when there is none."""
        for attempt in range(5):
            child = _Child(on_output, chunk_delay_s)
            try:
                if spawner is not None:
                    pid, (stdout, stderr) = await spawner.spawn(argv, env, str(spec.work_dir), child.spawner_exit)
                    # the child owns them from here (closed at their end, or by close())
                    out, err = open(stdout, "rb", buffering=0), open(stderr, "rb", buffering=0)  # noqa: SIM115
                    child.attach(pid, out, err)
                else:
                    popen = subprocess.Popen(
                        argv,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        cwd=spec.work_dir,
                        env=env,
                        start_new_session=True,  # its own process group, killed as a whole
                        # No preexec_fn: CPython then starts it with vfork and one exec. That it dies with
                        # the Agent is the job guard's work (guard.py, through the environment).
                    )
                    assert popen.stdout is not None and popen.stderr is not None
                    child.attach(popen.pid, popen.stdout, popen.stderr)
                    child.watch(popen)
                return child
            except OSError as e:
                # ETXTBSY: another thread forked while a script file was open for writing; it passes.
                if e.errno != errno.ETXTBSY or attempt == 4:
                    raise
                await asyncio.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    async def wait(self) -> Outcome:
        return await asyncio.shield(self._task)

    def kill(self, immediately: bool = False) -> None:
        if self._task.done():
            return
        if self._ended_by is None and not self._child.exited.done():
            self._ended_by = "killed"
        self._terminate(immediately)

    def _on_timeout(self) -> None:
        if self._ended_by is None and not self._child.exited.done():
            log.info("Order %s: process %s timed out after %ss", self.spec.order_id, self.pid, self.spec.timeout_s)
            self._ended_by = "timed out"
            self._terminate(False)

    def _terminate(self, immediately: bool) -> None:
        if immediately:
            self._sigkill()
            return
        if not self._sigterm_sent and not self._sigkill_sent:
            self._sigterm_sent = True
            self._signal(signal.SIGTERM)
        if self._sigkill_timer is None and not self._sigkill_sent:
            self._sigkill_timer = self._loop.call_later(self.spec.sigkill_delay_s, self._sigkill)

    def _sigkill(self) -> None:
        if not self._sigkill_sent:
            self._sigkill_sent = True
            self._signal(signal.SIGKILL)

    def _signal(self, signum: signal.Signals) -> None:
        if self._group_gone or self.pid is None:
            return
        log.info("Order %s: %s to process group %s", self.spec.order_id, signum.name, self.pid)
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            if self._child.exited.done():
                self._group_gone = True
        except PermissionError as e:
            log.warning("Order %s: cannot signal process group %s: %s", self.spec.order_id, self.pid, e)

    def _group_alive(self) -> bool:
        """Whether a member of the group still runs, asked after the main process has exited.

        Members that are zombies do not count: they have ended and wait for init to reap them,
        which some inits do only every few seconds. The group id stays reserved while any member
        exists, zombies included, so this never mistakes a stranger's group for the job's.
        """
        if self._group_gone or self.pid is None:
            return False
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            self._group_gone = True
            return False
        except PermissionError:
            return True
        return any_live_member(self.pid)

    async def _until_group_gone(self) -> None:
        delay = 0.002
        given_up_at: float | None = None
        while self._group_alive():
            if self._sigkill_sent:
                given_up_at = given_up_at or self._loop.time() + GONE_AFTER_SIGKILL_S
                if self._loop.time() > given_up_at:
                    log.warning("Order %s: process group %s is still there after SIGKILL", self.spec.order_id, self.pid)
                    return
            await asyncio.sleep(delay)
            delay = min(2 * delay, 0.05)

    async def _run(self) -> Outcome:
        try:
            await asyncio.shield(self._child.exited)  # a cancellation must not cancel the future itself
            raw = self._child.returncode
            return_code = 128 - raw if raw is not None and raw < 0 else (raw or 0)
            if self._group_alive():
                log.info("Order %s: process %s ended, its descendants are terminated", self.spec.order_id, self.pid)
                self._terminate(False)
                await self._until_group_gone()
            self._group_gone = True  # from here on its pid may belong to another process: no more signals
            self._cancel_timers()
            if not self._child.pipes_closed.done():  # mostly they are: no timer and no task for that
                try:
                    await asyncio.wait_for(asyncio.shield(self._child.pipes_closed), PIPE_GRACE_S)
                except TimeoutError:
                    log.warning(
                        "Order %s: output pipes still open after the process group has gone", self.spec.order_id
                    )
            await self._child.collector.drain()
            if self._child.lost:
                return Failed(error_message=SPAWNER_LOST_MESSAGE)
            return self._outcome(return_code)
        except asyncio.CancelledError:  # the Agent is stopping: leave nothing behind
            self._sigkill()
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(self._child.exited), 1.0)  # reaped, not a zombie
            raise
        finally:
            self._cancel_timers()
            self._child.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._return_values_file)
            self._on_end()

    def _outcome(self, return_code: int) -> Outcome:
        named_values: NamedValues
        try:
            named_values = read_return_values(self._return_values_file)
        except (ReturnValuesError, OSError) as e:
            return Failed(error_message=f"Reading return values failed: {e}", named_values={"returnCode": return_code})
        collector = self._child.collector
        return outcome_of(
            return_code,
            named_values,
            self.spec.return_code_meaning,
            ended_by=self._ended_by,
            err_written=collector.stderr_written,
            fail_on_err_written=self.spec.fail_on_err_written,
            last_err_line=collector.last_err_line,
        )

    def _cancel_timers(self) -> None:
        for timer in (self._timeout_timer, self._sigkill_timer):
            if timer is not None:
                timer.cancel()
        self._timeout_timer = self._sigkill_timer = None


def any_live_member(pgid: int) -> bool:
    """Whether a process of the group is not a zombie (scans /proc; without it, assumes so)."""
    try:
        entries = os.scandir("/proc")
    except OSError:
        return True
    with entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as file:
                    stat = file.read()
            except OSError:
                continue
            # "pid (comm) state ppid pgrp ...": comm may contain anything, so split after its ')'
            fields = stat[stat.rfind(b")") + 2 :].split(b" ", 3)
            if len(fields) >= 3 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                return True
    return False
