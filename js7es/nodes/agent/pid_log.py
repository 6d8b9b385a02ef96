"""The process groups of the job steps running on this Agent, kept so that the next start kills what a
crash left behind (JS7 records its processes' ids and kills leftovers at restart; the job guard,
subagent/guard.py, is the first line, this the second).

One file, appended to: `+<pid>` when a step's process has started, `-<pid>` when it has gone. An append is
one write to an open file; a file per step (created, written, closed, deleted: four calls on the file
system) was 7 % of the Agent's loop under the shell job's load (bench/README.md). Nothing is fsynced, as
before: a crash of the machine ends the processes too. When the file has grown by COMPACT_AFTER lines it is
rewritten with the running ones only (through a rename, so a crash leaves one file or the other whole).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from pathlib import Path

log = logging.getLogger(__name__)

COMPACT_AFTER = 10_000
FILE_NAME = "job-processes"


class PidLog:
    def __init__(self, directory: Path) -> None:
        self.path = directory / FILE_NAME
        self._leftovers = read_running(self.path)  # a previous run's, kept in the file until killed
        self._running: set[int] = set()
        self._lines = 0
        self._fd: int | None = None

    def kill_leftovers(self) -> None:
        """Kill the groups the file names as running (a previous run's), then start the file anew."""
        leftovers, self._leftovers = self._leftovers, set()
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
                log.warning("Killed process group %d, left behind by the Agent's last run", pid)
        self._rewrite()

    def started(self, pid: int) -> None:
        self._leftovers.discard(pid)  # that process has gone: its pid is another's now
        self._running.add(pid)
        self._append(f"+{pid}\n")

    def ended(self, pid: int) -> None:
        self._running.discard(pid)
        self._append(f"-{pid}\n")

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _append(self, line: str) -> None:
        if self._fd is None or self._lines >= COMPACT_AFTER:
            self._rewrite()
        assert self._fd is not None
        os.write(self._fd, line.encode())
        self._lines += 1

    def _rewrite(self) -> None:
        self.close()
        tmp = self.path.with_name(FILE_NAME + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, "".join(f"+{pid}\n" for pid in sorted(self._leftovers | self._running)).encode())
            os.replace(tmp, self.path)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._lines = len(self._leftovers) + len(self._running)


def read_running(path: Path) -> set[int]:
    """The pids a pid log names as running (a torn last line, without its newline, is ignored)."""
    running: set[int] = set()
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text(errors="replace").split("\n")[:-1]:
            sign, digits = line[:1], line[1:]
            if not digits.isdigit():
                continue
            if sign == "+":
                running.add(int(digits))
            elif sign == "-":
                running.discard(int(digits))
    return running
