"""Job processes of a Subagent, on real processes: return codes, environment, output, kill, timeout."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import stat
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

from js7es.domain.order.outcome import Failed, Killed, Outcome, Succeeded, TimedOut
from js7es.domain.workflow.job import (
    CommandLineExecutable,
    Executable,
    PathExecutable,
    ReturnCodeMeaning,
    ShellScriptExecutable,
)
from js7es.nodes.subagent import CHUNK_SIZE, JobProcess, ProcessLauncher, ProcessSpec, StdoutOrStderr
from js7es.nodes.subagent.os_process import SPAWNER_LOST_MESSAGE, OsJobProcess
from js7es.nodes.subagent.spawner import ProcessSpawner

T = TypeVar("T")
SAMPLE = Path(__file__).parent.parent / "fixtures" / "js7-samples" / "child-processes.workflow.json"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coroutine, 60))


@dataclass
class Output:
    chunks: list[tuple[StdoutOrStderr, str]] = field(default_factory=list)
    on_chunk: Callable[[StdoutOrStderr, str], Awaitable[None]] | None = None

    async def __call__(self, kind: StdoutOrStderr, chunk: str) -> None:
        self.chunks.append((kind, chunk))
        if self.on_chunk is not None:
            await self.on_chunk(kind, chunk)

    def text(self, kind: StdoutOrStderr) -> str:
        return "".join(c for k, c in self.chunks if k == kind)


@pytest.fixture(params=["spawner", "direct"])
def launcher(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[ProcessLauncher]:
    """Both ways of starting a process: by the process spawner (the default), and by the Agent itself."""
    launcher = ProcessLauncher(
        tmp_path / "subagent-tmp",
        base_environ={"PATH": os.environ["PATH"], "HOME": "/home/x"},
        spawner=request.param == "spawner",
    )
    assert (launcher.spawner is not None) == (request.param == "spawner")
    yield launcher
    launcher.close()


def make_spec(tmp_path: Path, executable: Executable, **kwargs: Any) -> ProcessSpec:
    defaults: dict[str, Any] = {
        "order_id": "ORDER",
        "job_name": "JOB",
        "work_dir": tmp_path,
        "executables_dir": tmp_path / "executables",
        "return_code_meaning": executable.return_code_meaning,
        "sigkill_delay_s": 5.0,
    }
    return ProcessSpec(executable=executable, **{**defaults, **kwargs})


async def start(
    launcher: ProcessLauncher, tmp_path: Path, executable: Executable, output: Output | None = None, **kwargs: Any
) -> tuple[JobProcess, Output]:
    output = output or Output()
    process = await launcher.start(make_spec(tmp_path, executable, **kwargs), output)
    return process, output


async def run_job(
    launcher: ProcessLauncher, tmp_path: Path, executable: Executable, **kwargs: Any
) -> tuple[Outcome, Output, JobProcess]:
    process, output = await start(launcher, tmp_path, executable, **kwargs)
    return await process.wait(), output, process


def script(text: str, **kwargs: Any) -> ShellScriptExecutable:
    return ShellScriptExecutable(script=text, **kwargs)


def runs(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(b")") + 2 :][:1] not in (b"Z", b"X")


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_bytes()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(stat[stat.rfind(b")") + 2 :].split()[2]) == pgid:
                members.append(int(entry.name))
    return members


def assert_group_gone(pgid: int | None, *, waited: bool = True) -> None:
    """Nothing of the group runs when wait() has returned; then the group vanishes.

    Orphans are reparented to init, which reaps them; some inits (this test VM's) only every few
    seconds, so the zombies' disappearance is polled for, with a deadline. Without wait()
    (`waited=False`), the SIGKILL just sent may still be on its way, so that is polled for too.
    """
    assert pgid is not None
    deadline = time.monotonic() + 10
    while [pid for pid in group_members(pgid) if runs(pid)]:
        assert not waited, f"process group {pgid} still runs"
        assert time.monotonic() < deadline, f"process group {pgid} still runs"
        time.sleep(0.01)
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        assert time.monotonic() < deadline, f"process group {pgid} still exists: {group_members(pgid)}"
        time.sleep(0.02)


def after_marker(marker: str, action: Callable[[], None]) -> Callable[[StdoutOrStderr, str], Awaitable[None]]:
    """An output callback that runs `action` once, when `marker` has appeared in the output."""
    seen: list[str] = []
    done = False

    async def on_chunk(kind: StdoutOrStderr, chunk: str) -> None:
        nonlocal done
        seen.append(chunk)
        if not done and marker in "".join(seen):
            done = True
            action()

    return on_chunk


# -- return codes -------------------------------------------------------------------------------

FAILURE_1_TO_9 = ReturnCodeMeaning(success=None, failure=((1, 9),))


@pytest.mark.parametrize(
    ("exit_code", "meaning", "succeeded"),
    [
        (0, ReturnCodeMeaning(), True),
        (1, ReturnCodeMeaning(), False),
        (3, ReturnCodeMeaning(success=((0, 0), (3, 5))), True),
        (6, ReturnCodeMeaning(success=((0, 0), (3, 5))), False),
        (0, FAILURE_1_TO_9, True),
        (5, FAILURE_1_TO_9, False),
        (10, FAILURE_1_TO_9, True),
    ],
)
def test_return_code_meaning(
    launcher: ProcessLauncher, tmp_path: Path, exit_code: int, meaning: ReturnCodeMeaning, succeeded: bool
) -> None:
    outcome, _, _ = run(run_job(launcher, tmp_path, script(f"exit {exit_code}", return_code_meaning=meaning)))
    expected = Succeeded if succeeded else Failed
    assert type(outcome) is expected
    assert outcome.named_values == {"returnCode": exit_code}


def test_a_signal_gives_128_plus_the_signal(launcher: ProcessLauncher, tmp_path: Path) -> None:
    outcome, _, _ = run(run_job(launcher, tmp_path, script("kill -KILL $$")))
    assert outcome == Failed(named_values={"returnCode": 128 + signal.SIGKILL})


def test_failed_message_is_the_last_stderr_line(launcher: ProcessLauncher, tmp_path: Path) -> None:
    outcome, _, _ = run(
        run_job(launcher, tmp_path, script("echo first >&2; echo ' the reason ' >&2; echo >&2; exit 2"))
    )
    assert outcome == Failed(error_message="the reason", named_values={"returnCode": 2})


def test_fail_on_err_written(launcher: ProcessLauncher, tmp_path: Path) -> None:
    text = "echo out; echo oops >&2"
    outcome, _, _ = run(run_job(launcher, tmp_path, script(text), fail_on_err_written=True))
    assert outcome == Failed(error_message="oops", named_values={"returnCode": 0})
    outcome, _, _ = run(run_job(launcher, tmp_path, script(text)))
    assert outcome == Succeeded(named_values={"returnCode": 0})
    outcome, _, _ = run(run_job(launcher, tmp_path, script("echo out"), fail_on_err_written=True))
    assert outcome == Succeeded(named_values={"returnCode": 0})


# -- environment, arguments, return values ------------------------------------------------------


def test_environment(launcher: ProcessLauncher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENT_SECRET", "do not pass")
    text = 'echo "$JS7_ORDER_ID|$JS7_WORKFLOW_NAME|$JS7_JOB_NAME|$MY_VAR|$HOME|${AGENT_SECRET-unset}|$(pwd)"; cat'
    outcome, output, _ = run(
        run_job(launcher, tmp_path, script(text), workflow_path="WORKFLOW", env={"MY_VAR": "a b", "HOME": "/h"})
    )
    assert outcome == Succeeded(named_values={"returnCode": 0})
    # `cat` ends at once: stdin is /dev/null
    assert output.text("stdout") == f"ORDER|WORKFLOW|JOB|a b|/h|unset|{tmp_path}\n"


def test_v1_compatible_parameters(launcher: ProcessLauncher, tmp_path: Path) -> None:
    text = """
        echo "$SCHEDULER_PARAM_NAME|$SCHEDULER_PARAM_NUMBER|$SCHEDULER_PARAM_FLAG"
        echo r=1 >>"$SCHEDULER_RETURN_VALUES"
    """
    outcome, output, _ = run(
        run_job(
            launcher,
            tmp_path,
            script(text),
            arguments={"name": "x", "number": 7, "flag": True},
            v1_compatible=True,
        )
    )
    assert output.text("stdout") == "x|7|true\n"
    assert outcome == Succeeded(named_values={"r": "1", "returnCode": 0})


def test_return_values(launcher: ProcessLauncher, tmp_path: Path) -> None:
    text = """
        echo "myVar=some text" >>"$JS7_RETURN_VALUES"
        echo " spaced = a = b " >>"$JS7_RETURN_VALUES"
        echo "" >>"$JS7_RETURN_VALUES"
        echo "returnCode=99" >>"$JS7_RETURN_VALUES"
        exit 1
    """
    outcome, _, _ = run(run_job(launcher, tmp_path, script(text)))
    # The process's return code wins over a returned "returnCode"
    assert outcome == Failed(named_values={"myVar": "some text", "spaced": "a = b", "returnCode": 1})
    assert [p.name for p in launcher.temp_dir.iterdir() if not p.name.startswith("script-")] == []


def test_bad_return_values_fail(launcher: ProcessLauncher, tmp_path: Path) -> None:
    outcome, _, _ = run(run_job(launcher, tmp_path, script('echo "no equals sign" >>"$JS7_RETURN_VALUES"')))
    assert isinstance(outcome, Failed)
    assert outcome.error_message is not None
    assert outcome.error_message.startswith("Reading return values failed: Not the expected syntax NAME=VALUE")
    assert outcome.named_values == {"returnCode": 0}


# -- scripts, paths, command lines --------------------------------------------------------------


def test_script_file_is_written_once_and_shebang_is_used(launcher: ProcessLauncher, tmp_path: Path) -> None:
    bash = script('#!/usr/bin/env bash\necho "bash ${BASH_VERSINFO[0]}"')

    async def twice() -> list[Outcome]:
        results = await asyncio.gather(*(run_job(launcher, tmp_path, bash) for _ in range(2)))
        return [outcome for outcome, output, _ in results if re.fullmatch(r"bash \d+\n", output.text("stdout"))]

    assert run(twice()) == [Succeeded(named_values={"returnCode": 0})] * 2
    files = list(launcher.temp_dir.iterdir())
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o700


def test_path_executable(launcher: ProcessLauncher, tmp_path: Path) -> None:
    executable = tmp_path / "executables" / "sub" / "job.sh"
    executable.parent.mkdir(parents=True)
    executable.write_text('#!/bin/sh\necho "path job $1"\n')
    executable.chmod(0o755)
    outcome, output, _ = run(run_job(launcher, tmp_path, PathExecutable(path="sub/job.sh")))
    assert outcome == Succeeded(named_values={"returnCode": 0})
    assert output.text("stdout") == "path job \n"

    outcome, _, _ = run(run_job(launcher, tmp_path, PathExecutable(path=str(executable))))
    assert outcome == Succeeded(named_values={"returnCode": 0})

    outcome, _, process = run(run_job(launcher, tmp_path, PathExecutable(path="sub/../sub/job.sh")))
    assert outcome == Failed(error_message="Executable path must not contain '..': 'sub/../sub/job.sh'")
    assert process.pid is None

    outcome, _, _ = run(run_job(launcher, tmp_path, PathExecutable(path="missing.sh")))
    assert isinstance(outcome, Failed)
    assert outcome.error_message == f"Cannot start {tmp_path}/executables/missing.sh: No such file or directory"


def test_command_line_executable(launcher: ProcessLauncher, tmp_path: Path) -> None:
    command = "printf '%s|%s|%s\\n' 'a b' \"$HOME\" c"
    outcome, output, _ = run(run_job(launcher, tmp_path, CommandLineExecutable(command=command)))
    assert outcome == Succeeded(named_values={"returnCode": 0})
    assert output.text("stdout") == "a b|$HOME|c\n"  # no shell: nothing is expanded

    outcome, _, _ = run(run_job(launcher, tmp_path, CommandLineExecutable(command="'unclosed")))
    assert isinstance(outcome, Failed)
    assert outcome.error_message is not None
    assert outcome.error_message.startswith("Invalid command line")


# -- output ---------------------------------------------------------------------------------------


def test_output_is_complete_and_ordered(launcher: ProcessLauncher, tmp_path: Path) -> None:
    text = 'i=0; while [ $i -lt 2000 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); done; printf "ä€"'
    outcome, output, _ = run(run_job(launcher, tmp_path, script(text)))
    assert outcome == Succeeded(named_values={"returnCode": 0})
    assert output.text("stdout") == "".join(f"out {i}\n" for i in range(2000)) + "ä€"
    assert output.text("stderr") == "".join(f"err {i}\n" for i in range(2000))
    assert all(0 < len(chunk) <= CHUNK_SIZE for _, chunk in output.chunks)


def test_large_output_with_a_slow_consumer(launcher: ProcessLauncher, tmp_path: Path) -> None:
    # 3 MiB of 2-byte characters, split anywhere by the pipe: decoding must not break them
    text = "head -c 3145728 /dev/zero | tr '\\0' 'x' | sed 's/x/ä/g'"
    output = Output()

    async def slow(kind: StdoutOrStderr, chunk: str) -> None:
        await asyncio.sleep(0)

    output.on_chunk = slow
    outcome, output, _ = run(run_job(launcher, tmp_path, script(text), output=output))
    assert outcome == Succeeded(named_values={"returnCode": 0})
    stdout = output.text("stdout")
    assert len(stdout) == 3145728
    assert set(stdout) == {"ä"}
    assert all(len(chunk) <= CHUNK_SIZE for _, chunk in output.chunks)
    assert len(output.chunks) >= 3145728 // CHUNK_SIZE


# -- timeout and kill -----------------------------------------------------------------------------


def test_timeout(launcher: ProcessLauncher, tmp_path: Path) -> None:
    outcome, _, process = run(run_job(launcher, tmp_path, script("sleep 30"), timeout_s=0.2))
    assert outcome == TimedOut(outcome=Failed(named_values={"returnCode": 143}))
    assert_group_gone(process.pid)


def test_timeout_then_sigkill(launcher: ProcessLauncher, tmp_path: Path) -> None:
    text = "trap '' TERM; sleep 30"
    outcome, _, process = run(run_job(launcher, tmp_path, script(text), timeout_s=0.2, sigkill_delay_s=0.2))
    assert outcome == TimedOut(outcome=Failed(named_values={"returnCode": 137}))
    assert_group_gone(process.pid)


def test_kill_of_a_trapping_script(launcher: ProcessLauncher, tmp_path: Path) -> None:
    async def body() -> tuple[Outcome, Output, JobProcess]:
        output = Output()
        process, _ = await start(
            launcher, tmp_path, script("trap 'echo trapped; exit 7' TERM; echo ready; sleep 30 & wait"), output
        )
        output.on_chunk = after_marker("ready", process.kill)
        return await process.wait(), output, process

    outcome, output, process = run(body())
    assert outcome == Killed(outcome=Failed(named_values={"returnCode": 7}))
    assert output.text("stdout") == "ready\ntrapped\n"
    assert_group_gone(process.pid)


def test_kill_immediately(launcher: ProcessLauncher, tmp_path: Path) -> None:
    async def body() -> tuple[Outcome, JobProcess]:
        output = Output()
        process, _ = await start(launcher, tmp_path, script("trap '' TERM; echo ready; sleep 30"), output)
        output.on_chunk = after_marker("ready", lambda: process.kill(immediately=True))
        return await process.wait(), process

    outcome, process = run(body())
    assert outcome == Killed(outcome=Failed(named_values={"returnCode": 137}))
    assert_group_gone(process.pid)


def test_descendants_ignoring_sigterm_are_killed_after_sigkill_delay(launcher: ProcessLauncher, tmp_path: Path) -> None:
    text = """
        sh -c 'trap "" TERM; echo "child $$"; exec sleep 30' &
        sh -c 'trap "" TERM; echo "child $$"; exec sleep 30' &
        sleep 0.1; echo ready; sleep 30
    """

    async def body() -> tuple[Outcome, Output, JobProcess]:
        output = Output()
        process, _ = await start(launcher, tmp_path, script(text), output, sigkill_delay_s=0.3)
        output.on_chunk = after_marker("ready", process.kill)
        return await process.wait(), output, process

    outcome, output, process = run(body())
    assert outcome == Killed(outcome=Failed(named_values={"returnCode": 143}))
    children = [int(pid) for pid in re.findall(r"child (\d+)", output.text("stdout"))]
    assert len(children) == 2
    assert not any(runs(pid) for pid in children)
    assert_group_gone(process.pid)


@pytest.mark.parametrize("ignore_sigterm", [False, True])
def test_what_is_left_after_the_main_process_ends_is_killed(
    launcher: ProcessLauncher, tmp_path: Path, ignore_sigterm: bool
) -> None:
    trap = "trap '' TERM;" if ignore_sigterm else ""
    text = f"sh -c '{trap} echo \"child $$\"; exec sleep 30' & sleep 0.1; exit 0"
    outcome, output, process = run(run_job(launcher, tmp_path, script(text), sigkill_delay_s=0.3))
    assert outcome == Succeeded(named_values={"returnCode": 0})  # the main process's return code
    (child,) = [int(pid) for pid in re.findall(r"child (\d+)", output.text("stdout"))]
    assert not runs(child)
    assert_group_gone(process.pid)


def test_js7_child_processes_sample(launcher: ProcessLauncher, tmp_path: Path) -> None:
    """The JS7 sample job runs unchanged: timed out, and none of its processes is left."""
    workflow = json.loads(SAMPLE.read_text())
    job = workflow["instructions"][0]["try"]["instructions"][0]["job"]
    assert (job["timeout"], job["sigkillDelay"]) == (20, 10)
    text = job["executable"]["script"]
    outcome, output, process = run(run_job(launcher, tmp_path, script(text), timeout_s=1.0, sigkill_delay_s=1.0))
    assert isinstance(outcome, TimedOut)
    assert isinstance(outcome.outcome, Failed)
    stdout = output.text("stdout")
    assert "Trapped SIGTERM" in stdout
    pids = [int(pid) for pid in re.findall(r"pid=(\d+)", stdout)]
    assert len(pids) >= 3
    assert not any(runs(pid) for pid in pids)
    assert_group_gone(process.pid)


def test_kill_after_the_end_is_harmless(launcher: ProcessLauncher, tmp_path: Path) -> None:
    async def body() -> Outcome:
        process, _ = await start(launcher, tmp_path, script("exit 0"))
        outcome = await process.wait()
        process.kill()
        process.kill(immediately=True)
        return outcome

    assert run(body()) == Succeeded(named_values={"returnCode": 0})
    assert launcher.running == 0


def test_stopping_the_event_loop_kills_the_group(launcher: ProcessLauncher, tmp_path: Path) -> None:
    async def body() -> int | None:
        process, _ = await start(launcher, tmp_path, script("trap '' TERM; sleep 30 & sleep 30"))
        return process.pid  # asyncio.run cancels the process's task, as an Agent stopping does

    assert_group_gone(run(body()), waited=False)


def test_internal_jobs_run_side_by_side_in_reused_threads() -> None:
    import threading
    import time

    from js7es.nodes.subagent.internal import _DaemonPool

    pool = _DaemonPool(4)

    def run_round() -> None:
        together = threading.Barrier(3, timeout=5)  # passed only when three jobs run at the same time
        done: list[bool] = []
        for _ in range(3):
            pool.submit(lambda: done.append(together.wait() >= 0))
        deadline = time.monotonic() + 5
        while len(done) < 3:
            assert time.monotonic() < deadline, "jobs did not run side by side"
            time.sleep(0.01)
        assert done == [True, True, True]
        while pool._idle < 3:  # the threads report back idle
            assert time.monotonic() < deadline
            time.sleep(0.01)

    run_round()
    run_round()
    assert pool._threads == 3  # the second round reused the threads of the first


def test_internal_jobs_queued_together_wake_one_thread_and_a_long_one_holds_up_the_others_only_moments() -> None:
    import threading
    import time

    from js7es.nodes.subagent.internal import _DaemonPool

    def wait_until(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 5
        while not condition():
            assert time.monotonic() < deadline, "not reached"
            time.sleep(0.01)

    patient = _DaemonPool(64, spread_s=3600)  # the watcher never spreads the queue within this test
    gate = threading.Event()
    ran_on: list[str] = []
    patient.submit(gate.wait)  # the first taker waits here until all jobs are queued
    wait_until(lambda: patient._taken == 1)
    for _ in range(50):
        patient.submit(lambda: ran_on.append(threading.current_thread().name))
    gate.set()
    wait_until(lambda: len(ran_on) == 50)
    # Fifty steps started in one commit: a thread is woken only when none is awake to take the next job
    # (usually one for all; more when the taker ran a job between two submissions), not one per step.
    assert len(set(ran_on)) < 25
    assert patient._threads < 25

    spreading = _DaemonPool(8, spread_s=0.005)
    release = threading.Event()
    after: list[bool] = []
    spreading.submit(release.wait)  # a long job, then one queued behind it on the same taker
    spreading.submit(lambda: after.append(True))
    wait_until(lambda: after == [True])  # the watcher woke another thread for it
    release.set()


def test_a_job_process_ends_the_same_without_pidfds(
    launcher: ProcessLauncher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the kernel refuses pidfd_open (old kernels, seccomp), a thread waits for each process instead:
    its return code, its output and a kill by signal come out as with a pidfd — and no child watcher
    thread of asyncio is involved either way (the processes are not asyncio's)."""

    def refused(pid: int, flags: int = 0) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", refused)
    outcome, output, _ = run(run_job(launcher, tmp_path, script("echo out; echo err >&2; exit 3")))
    assert isinstance(outcome, Failed) and outcome.named_values["returnCode"] == 3
    assert output.text("stdout") == "out\n" and output.text("stderr") == "err\n"

    async def killed() -> Outcome:
        process, _ = await start(launcher, tmp_path, script("sleep 30"))
        await asyncio.sleep(0.2)
        process.kill(immediately=True)
        return await process.wait()

    assert isinstance(run(killed()), Killed)


# -- how the process is started: by the process spawner, or by the Agent itself -------------------


def test_a_missing_command_or_work_dir_is_refused_with_the_reason(launcher: ProcessLauncher, tmp_path: Path) -> None:
    outcome, _, _ = run(run_job(launcher, tmp_path, CommandLineExecutable(command="no-such-command-js7es x")))
    assert outcome == Failed(error_message="Cannot start no-such-command-js7es: No such file or directory")
    outcome, _, _ = run(run_job(launcher, tmp_path, script("true\n"), work_dir=tmp_path / "missing"))
    assert isinstance(outcome, Failed) and outcome.error_message is not None
    assert outcome.error_message.endswith("No such file or directory")
    (tmp_path / "other").mkdir()
    for work_dir in (tmp_path / "other", tmp_path):
        outcome, output, _ = run(run_job(launcher, tmp_path, script("pwd\n"), work_dir=work_dir))
        assert output.text("stdout") == f"{work_dir}\n"


def test_a_job_inherits_only_its_standard_descriptors_and_no_ignored_signal(
    launcher: ProcessLauncher, tmp_path: Path
) -> None:
    probe = (
        "import os\n"
        "def is_open(fd):\n"
        "    try:\n"
        "        os.fstat(fd)\n"
        "    except OSError:\n"
        "        return False\n"
        "    return True\n"
        "print([fd for fd in range(3, 1024) if is_open(fd)])\n"
    )
    (tmp_path / "executables").mkdir()
    (tmp_path / "executables" / "probe.py").write_text(probe)
    command = f"{sys.executable} -I {tmp_path / 'executables' / 'probe.py'}"
    outcome, output, _ = run(run_job(launcher, tmp_path, CommandLineExecutable(command=command)))
    assert outcome == Succeeded(named_values={"returnCode": 0}), output.chunks
    assert output.text("stdout") == "[]\n"
    # Python ignores SIGPIPE and SIGXFSZ; the shell it starts must not inherit that. glibc's posix_spawn
    # leaves its own two internal signals (32 and 33, below SIGRTMIN) ignored in the child, as in the
    # children of every program that uses it (Java's ProcessBuilder, and so JS7's jobs, included).
    outcome, output, _ = run(run_job(launcher, tmp_path, script("grep SigIgn /proc/$$/status\n")))
    ignored = int(output.text("stdout").removeprefix("SigIgn:\t"), 16)
    assert ignored & ~(1 << 31 | 1 << 32) == 0, f"{ignored:x}"


def test_an_environment_larger_than_a_socket_message(launcher: ProcessLauncher, tmp_path: Path) -> None:
    big = {f"BIG{i}": str(i) * 100_000 for i in range(1, 5)}  # 400 kB (one variable may have 128 kB)
    outcome, output, _ = run(
        run_job(launcher, tmp_path, script('echo ${#BIG1} ${#BIG4} "${BIG4%"${BIG4#?}"}"\n'), env=big)
    )
    assert outcome == Succeeded(named_values={"returnCode": 0}), output.chunks
    assert output.text("stdout") == "100000 100000 4\n"


def test_a_lost_spawner_kills_its_running_processes_fails_their_steps_and_is_started_again(
    tmp_path: Path,
) -> None:
    launcher = ProcessLauncher(tmp_path / "subagent-tmp")
    try:

        async def scenario() -> None:
            started = asyncio.Event()
            output = Output(on_chunk=after_marker("started", started.set))
            process, _ = await start(launcher, tmp_path, script("echo started\nexec sleep 300\n"), output)
            await started.wait()
            assert launcher.spawner is not None
            spawner_pid = launcher.spawner.pid
            assert spawner_pid is not None
            os.kill(spawner_pid, signal.SIGKILL)
            outcome = await process.wait()
            assert outcome == Failed(error_message=SPAWNER_LOST_MESSAGE)
            assert isinstance(process, OsJobProcess)
            assert_group_gone(process.pid)
            outcome, output, _ = await run_job(launcher, tmp_path, script("echo again\n"))
            assert outcome == Succeeded(named_values={"returnCode": 0})
            assert output.text("stdout") == "again\n"
            assert launcher.spawner.pid not in (None, spawner_pid)

        run(scenario())
    finally:
        launcher.close()


def test_a_spawn_cancelled_in_flight_leaves_no_process(tmp_path: Path) -> None:
    spawner = ProcessSpawner()
    marker = f"{time.time_ns() % 10**9 / 10**6:.6f}"  # an argument no other process has
    ended: list[int | None] = []

    def marked() -> list[int]:
        return [pid for pid in group_members_of_marker(marker) if runs(pid)]

    async def scenario() -> None:
        task = asyncio.ensure_future(
            spawner.spawn(["sleep", marker], dict(os.environ), str(tmp_path), lambda _, code: ended.append(code))
        )
        for _ in range(3):  # the request is sent, its reply not yet read
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        deadline = time.monotonic() + 10
        while marked() or spawner._on_exit:  # started, then killed and reaped
            assert time.monotonic() < deadline, marked()
            await asyncio.sleep(0.01)

    try:
        run(scenario())
        assert ended == []  # not the cancelled caller's business any more
    finally:
        spawner.close()


def group_members_of_marker(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_closing_the_spawner_kills_a_child_still_running(tmp_path: Path) -> None:
    spawner = ProcessSpawner()
    marker = f"{time.time_ns() % 10**9 / 10**6 + 1000:.6f}"

    async def scenario() -> int:
        pid, fds = await spawner.spawn(["sleep", marker], dict(os.environ), str(tmp_path), lambda _, code: None)
        for fd in fds:
            os.close(fd)
        return pid

    try:
        pid = run(scenario())
        assert runs(pid)
    finally:
        spawner.close()
    assert_group_gone(pid, waited=False)
    assert not [p for p in group_members_of_marker(marker) if runs(p)]
