"""The job guard (js7es/nodes/subagent/guard.py): no job process outlives a killed Agent.

A real "Agent" process (a Python child running a ProcessLauncher) starts a job that leaves a background
child behind and one that made itself a new session; kill -9 of that process must take all three,
and nothing that is not marked. The Agent's process spawner (spawner.py) ends with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from js7es.nodes.subagent.guard import JobGuard

pytestmark = pytest.mark.skipif(not JobGuard.supported(), reason="the job guard needs Linux's /proc")

AGENT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from js7es.domain.workflow.job import ShellScriptExecutable
    from js7es.nodes.subagent import ProcessLauncher, ProcessSpec

    directory = Path(sys.argv[1])
    script = (
        "sleep 300 & echo $! > background\\n"
        "setsid sleep 300 & echo $! > escaped\\n"
        "echo $$ > main\\n"
        "exec sleep 300\\n"
    )

    async def main():
        launcher = ProcessLauncher(directory / "tmp")
        spec = ProcessSpec(order_id="ORDER", job_name="JOB", workflow_path="W",
                           executable=ShellScriptExecutable(script=script),
                           work_dir=directory, executables_dir=directory)
        async def on_output(kind, chunk):
            pass
        await launcher.start(spec, on_output)
        print(launcher.guard.pid, launcher.spawner.pid, flush=True)
        await asyncio.sleep(300)

    asyncio.run(main())
    """
)


def alive(pid: int) -> bool:
    """Running, not a zombie (a reparented zombie waits for init, which may reap it late)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :][:1] != b"Z"


def wait_for(condition, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_kill_9_of_the_agent_kills_its_jobs_and_what_they_started(tmp_path: Path) -> None:
    bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)  # not a job: must survive
    agent = subprocess.Popen(
        [sys.executable, "-c", AGENT, str(tmp_path)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    pids: dict[str, int] = {}
    try:
        assert agent.stdout is not None
        guard_pid, spawner_pid = map(int, agent.stdout.readline().split())
        names = ("main", "background", "escaped")
        assert wait_for(lambda: all((tmp_path / n).exists() and (tmp_path / n).read_text().strip() for n in names))
        pids = {n: int((tmp_path / n).read_text()) for n in names}
        assert all(alive(pid) for pid in pids.values()), pids
        assert alive(guard_pid)
        # (read again while it may be in the middle of its exec, when its environment reads empty)
        assert wait_for(lambda: b"JS7ES_JOB_GUARD=" in Path(f"/proc/{pids['escaped']}/environ").read_bytes())

        agent.send_signal(signal.SIGKILL)
        agent.wait(10)

        assert wait_for(lambda: not any(alive(pid) for pid in pids.values())), {
            n: pid for n, pid in pids.items() if alive(pid)
        }
        assert wait_for(lambda: not alive(guard_pid)), "the guard did not end after its work"
        assert wait_for(lambda: not alive(spawner_pid)), "the process spawner did not end with its Agent"
        assert alive(bystander.pid)
    finally:
        for pid in pids.values():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        agent.kill()
        agent.wait(10)
        if agent.stdout is not None:
            agent.stdout.close()
        bystander.kill()
        bystander.wait(10)


def test_the_guard_starts_with_the_first_job_and_ends_with_close() -> None:
    guard = JobGuard()
    assert guard.pid is None
    entry = guard.env_entry()
    assert entry == {"JS7ES_JOB_GUARD": guard.token}
    pid = guard.pid
    assert pid is not None and alive(pid)
    assert guard.env_entry() == entry and guard.pid == pid  # one guard, started once
    guard.close()
    assert not alive(pid)
    guard.close()  # idempotent


SPAWNING_AGENT = textwrap.dedent(
    """
    import asyncio, os, sys
    from js7es.nodes.subagent.spawner import ProcessSpawner

    async def main():
        spawner = ProcessSpawner()
        await spawner.spawn(["true"], dict(os.environ), "/", lambda pid, code: None)  # started
        print(spawner.pid, flush=True)
        sys.stdin.readline()  # the test has stopped the spawner
        asyncio.ensure_future(spawner.spawn(["sleep", sys.argv[1]], dict(os.environ), "/", lambda pid, code: None))
        while not spawner._waiting:  # the request is sent (in the same step: a small one fits the socket), unread
            await asyncio.sleep(0)
        print("sent", flush=True)
        await asyncio.sleep(300)

    asyncio.run(main())
    """
)


def test_a_request_the_agent_sent_just_before_it_died_starts_no_process() -> None:
    """The spawner dies with its Agent (parent-death signal): a request left unread in its socket must
    not start a process after the Agent's death, which neither the job guard nor the next Agent would
    know. The spawner is stopped (SIGSTOP) while the request arrives and continued after the kill."""
    marker = f"{300 + time.time_ns() % 10**6 / 10**6:.6f}"
    agent = subprocess.Popen(
        [sys.executable, "-c", SPAWNING_AGENT, marker],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        text=True,
    )
    spawner_pid = 0
    try:
        assert agent.stdin is not None and agent.stdout is not None
        spawner_pid = int(agent.stdout.readline())
        os.kill(spawner_pid, signal.SIGSTOP)
        agent.stdin.write("go\n")
        agent.stdin.flush()
        assert agent.stdout.readline() == "sent\n"
        agent.send_signal(signal.SIGKILL)
        agent.wait(10)
        os.kill(spawner_pid, signal.SIGCONT)
        # Without the parent-death signal it reads the request (before its end) and starts the process,
        # then ends: once it has gone, such a process would be there.
        assert wait_for(lambda: not alive(spawner_pid)), "the spawner outlived its Agent"
        assert not processes_with_argument(marker)
    finally:
        for pid in processes_with_argument(marker):
            os.kill(pid, signal.SIGKILL)
        agent.kill()
        agent.wait(10)
        for stream in (agent.stdin, agent.stdout):
            if stream is not None:
                stream.close()
        if spawner_pid:
            with contextlib.suppress(OSError):
                os.kill(spawner_pid, signal.SIGKILL)


def processes_with_argument(argument: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if argument.encode() in (entry / "cmdline").read_bytes().split(b"\0") and alive(int(entry.name)):
                    found.append(int(entry.name))
    return found
