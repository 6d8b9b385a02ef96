"""The job guard's own process (run as a script: `python -I -S guard_process.py TOKEN`; standard library only).

It waits until its standard input ends, which happens when the Agent that started it closes the pipe
or dies in any way (kill -9 included: the kernel closes a dead process's descriptors). Then it kills
every process whose environment carries `JS7ES_JOB_GUARD=TOKEN` — the job processes of that Agent and
everything they started, also what left the job's process group or session — and exits.

It scans again until a scan finds none, so that a process forked from a job while the first scan ran
is killed too. Processes of other users (whose environment cannot be read) are not touched; a process
that removed the variable from its own environment escapes (as one that made itself a daemon escaped
the parent-death signal before).
"""

from __future__ import annotations

import os
import signal
import sys
import time

ENV_NAME = "JS7ES_JOB_GUARD"
MAX_ROUNDS = 50  # a job that forks faster than it can be killed for this long is given up on


def marked_processes(marker: bytes) -> list[int]:
    found: list[int] = []
    me = os.getpid()
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for name in entries:
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as file:
                environ = file.read()
        except OSError:  # gone, or another user's
            continue
        if marker in environ.split(b"\0"):
            found.append(int(name))
    return found


QUIET_ROUNDS = 3  # scans in a row that must find none: a process in the middle of an exec reads as empty


def kill_marked(token: str) -> int:
    """Kills the marked processes until QUIET_ROUNDS scans in a row find none (or MAX_ROUNDS); the number
    of kills sent. (While a process execs, its /proc/PID/environ may read empty for a moment.)"""
    marker = f"{ENV_NAME}={token}".encode()
    sent = 0
    quiet = 0
    for _ in range(MAX_ROUNDS):
        pids = marked_processes(marker)
        quiet = 0 if pids else quiet + 1
        if quiet >= QUIET_ROUNDS:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                sent += 1
            except OSError:
                pass
        time.sleep(0.01)
    return sent


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1]:
        print("usage: guard_process.py TOKEN", file=sys.stderr)
        return 2
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):  # only the end of stdin ends it
        signal.signal(signum, signal.SIG_IGN)
    os.chdir("/")
    while True:
        try:
            if not os.read(0, 4096):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    kill_marked(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
