"""Job process benchmark: prints ONE JSON document, the Subagent's throughput beside the machine's limit.

    .venv/bin/python bench/process_bench.py [--quick] [--seconds S]

The limit is the spawn rate of `sh -c true` through asyncio.create_subprocess_exec (with stdout and
stderr piped and read to the end, as a job's are); the figure is JobProcess throughput for the shell
script `true` (a new process group, the clean environment, the return values file, output chunks,
the group check). Both at concurrency 1 and 8. Nothing is asserted; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from js7es.domain.order.outcome import Succeeded
from js7es.domain.workflow.job import ShellScriptExecutable
from js7es.nodes.subagent import ProcessLauncher, ProcessSpec, StdoutOrStderr
from js7es.nodes.subagent.child_watcher import reap
from js7es.nodes.subagent.spawner import ProcessSpawner


async def rate(
    step: Callable[[], Awaitable[None]],
    concurrency: int,
    seconds: float,
    other_cpu_ms: Callable[[], dict[str, float]] | None = None,
) -> dict[str, Any]:
    """Runs `step` in `concurrency` loops for `seconds`; steps per second. `other_cpu_ms`: the CPU of a
    helper process (self, and children it waited for), added to ours."""
    count = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            await step()
            count += 1

    await step()  # warm up
    start = time.perf_counter()
    before = cpu_ms(other_cpu_ms)
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    after = cpu_ms(other_cpu_ms)
    return {
        "perSecond": round(count / elapsed, 1),
        "count": count,
        # CPU per step, of this process and of the processes it started (robust against other load)
        "cpuMsPerStep": {k: round((after[k] - before[k]) / max(count, 1), 3) for k in before},
    }


def cpu_ms(other: Callable[[], dict[str, float]] | None = None) -> dict[str, float]:
    self_, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    extra = other() if other is not None else {"self": 0.0, "children": 0.0}
    return {
        "self": (self_.ru_utime + self_.ru_stime) * 1000 + extra["self"],
        "children": (children.ru_utime + children.ru_stime) * 1000 + extra["children"],
    }


def proc_cpu_ms(pid: int) -> dict[str, float]:
    """utime+stime of a process and of its waited-for children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return {
        "self": (int(fields[11]) + int(fields[12])) * 1000 / tick,
        "children": (int(fields[13]) + int(fields[14])) * 1000 / tick,
    }


async def spawner_rate(concurrency: int, seconds: float) -> dict[str, Any]:
    """`rate` of `sh_c_true_by` a process spawner of its own, its CPU counted as ours."""
    spawner = ProcessSpawner()
    try:
        step = sh_c_true_by(spawner)
        await step()  # started
        assert spawner.pid is not None
        pid = spawner.pid
        return await rate(step, concurrency, seconds, lambda: proc_cpu_ms(pid))
    finally:
        spawner.close()


async def sh_c_true() -> None:
    process = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        "true",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    await process.communicate()
    assert process.returncode == 0


async def sh_c_true_direct() -> None:
    """`sh -c true` the way the Agent started a job's process before its process spawner
    (subagent/os_process.py `_Child` without a spawner), without the Agent: Popen (vfork, one exec), both
    pipes read to their end with add_reader, the end seen on the process's pidfd — no asyncio transport."""
    popen = subprocess.Popen(
        SH_C_TRUE,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert popen.stdout is not None and popen.stderr is not None
    returncode = await _until_ended(popen.pid, [popen.stdout.fileno(), popen.stderr.fileno()], None)
    popen.returncode = returncode
    popen.stdout.close()
    popen.stderr.close()


_DEVNULL: list[int] = []


async def sh_c_true_posix_spawn() -> None:
    """`sh -c true` by os.posix_spawn in this process (vfork, one exec, no Python around it: the cheapest
    start for the parent), the pipes and the end read as by `sh_c_true_direct`."""
    if not _DEVNULL:
        _DEVNULL.append(os.open(os.devnull, os.O_RDONLY))
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.posix_spawn(
        "/bin/sh",
        SH_C_TRUE,
        os.environ,
        file_actions=[
            (os.POSIX_SPAWN_DUP2, _DEVNULL[0], 0),
            (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_DUP2, err_w, 2),
        ],
        setsid=True,
        setsigdef=(signal.SIGPIPE, signal.SIGXFSZ),
    )
    os.close(out_w)
    os.close(err_w)
    await _until_ended(pid, [out_r, err_r], None)
    os.close(out_r)
    os.close(err_r)


def sh_c_true_by(spawner: ProcessSpawner) -> Callable[[], Awaitable[None]]:
    """`sh -c true` the way the Agent starts a job's process: by its process spawner (another process,
    posix_spawn there), the pipes read with add_reader, the end as the spawner reports it."""
    cwd = os.getcwd()

    async def step() -> None:
        ended: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        pid, fds = await spawner.spawn(SH_C_TRUE, dict(os.environ), cwd, lambda _, code: ended.set_result(code))
        await _until_ended(pid, fds, ended)
        for fd in fds:
            os.close(fd)

    return step


SH_C_TRUE = ["sh", "-c", "true"]


async def _until_ended(pid: int, fds: list[int], ended: asyncio.Future[int | None] | None) -> int:
    """Both pipes read to their end, and the process's end: on its pidfd (when `ended` is None), else
    `ended`. Its return code, which must be 0."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    open_fds: set[int] = set(fds)
    status: list[int] = []

    def finish() -> None:
        if not open_fds and status and not done.done():
            done.set_result(None)

    def read(fd: int) -> None:
        if not os.read(fd, 65536):
            loop.remove_reader(fd)
            open_fds.discard(fd)
            finish()

    for fd in fds:
        os.set_blocking(fd, False)
        loop.add_reader(fd, read, fd)
    if ended is None:
        pidfd = os.pidfd_open(pid)

        def on_pidfd() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            status.append(reap(pid))
            finish()

        loop.add_reader(pidfd, on_pidfd)
    else:

        def on_ended(future: asyncio.Future[int | None]) -> None:
            code = future.result()
            status.append(-1 if code is None else code)
            finish()

        ended.add_done_callback(on_ended)
    await done
    assert status == [0]
    return status[0]


async def main(seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="js7es-process-bench-") as directory:
        launcher = ProcessLauncher(Path(directory) / "tmp")
        spec = ProcessSpec(
            order_id="BENCH",
            job_name="true",
            workflow_path="WORKFLOW",
            executable=ShellScriptExecutable(script="true\n"),
            work_dir=Path(directory),
            executables_dir=Path(directory),
            env={"JS7_ARG_x": "1"},
        )

        async def on_output(kind: StdoutOrStderr, chunk: str) -> None:
            pass

        async def job() -> None:
            process = await launcher.start(spec, on_output)
            outcome = await process.wait()
            assert isinstance(outcome, Succeeded), outcome

        result: dict[str, Any] = {
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
            "secondsPerFigure": seconds,
        }
        for concurrency in (1, 8):
            limit = await rate(sh_c_true, concurrency, seconds)
            figure = await rate(job, concurrency, seconds)
            result[f"concurrency{concurrency}"] = {
                "shCTrueAsyncio": limit,
                "jobProcessTrueScript": figure,
                "ratioToShCTrue": round(figure["perSecond"] / limit["perSecond"], 2),
            }
        launcher.close()
        return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 s per figure instead of 5 s")
    parser.add_argument("--seconds", type=float, help="seconds per figure")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.seconds or (1.0 if args.quick else 5.0))), indent=2))
