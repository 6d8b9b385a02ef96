"""No job outlives its Agent: the job guard, a small process beside the Agent (Linux).

The guard (guard_process.py) holds the read end of a pipe whose write end only the Agent holds. Every
job process gets `JS7ES_JOB_GUARD=<token>` in its environment, which its descendants inherit. When the
Agent ends in any way — kill -9 included — the kernel closes the pipe, and the guard kills every process
that carries the token, then exits. So a job cannot finish behind the back of a killed Agent (after its
restart the step is ProcessLost and runs again, and must not have had its effect meanwhile).

This replaces a parent-death signal armed in each job (`setpriv --pdeathsig`, an extra exec per job,
or a `preexec_fn`, which takes CPython off its vfork fast path): jobs start with one exec. It also
reaches what the parent-death signal did not: a job's background children and processes that left the
job's process group. The guard is started at the first job process and lives in its own session, so a
signal to the Agent's process group (Ctrl-C) does not take it.
"""

from __future__ import annotations

import logging
import secrets
import subprocess
import sys
from pathlib import Path

from js7es.nodes.subagent.guard_process import ENV_NAME

log = logging.getLogger(__name__)

_SCRIPT = Path(__file__).with_name("guard_process.py")


class JobGuard:
    """Started lazily by `env_entry()`; `close()` ends it (it kills what is still marked, then exits)."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(16)
        self._process: subprocess.Popen[bytes] | None = None
        self._failed = False

    @staticmethod
    def supported() -> bool:
        return sys.platform.startswith("linux") and Path("/proc/self/environ").exists()

    def env_entry(self) -> dict[str, str]:
        """The variable to put into a job's environment; starts the guard first if it is not running."""
        if self._process is None and not self._failed:
            self._start()
        return {ENV_NAME: self.token} if self._process is not None else {}

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def _start(self) -> None:
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(_SCRIPT), self.token],
                stdin=subprocess.PIPE,  # the pipe: its write end is ours alone (not inherited by jobs)
                stdout=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as e:
            self._failed = True
            log.error("The job guard could not start (%s): jobs may outlive a killed Agent", e)

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("The job guard (pid %s) did not end within 5 s", process.pid)
