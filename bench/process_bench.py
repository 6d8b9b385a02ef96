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


async def rate(step: Callable[[], Awaitable[None]], concurrency: int, seconds: float) -> dict[str, Any]:
    """Runs `step` in `concurrency` loops for `seconds`; steps per second."""
    count = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            await step()
            count += 1

    await step()  # warm up
    start = time.perf_counter()
    before = cpu_ms()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    after = cpu_ms()
    return {
        "perSecond": round(count / elapsed, 1),
        "count": count,
        # CPU per step, of this process and of the processes it started (robust against other load)
        "cpuMsPerStep": {k: round((after[k] - before[k]) / max(count, 1), 3) for k in before},
    }


def cpu_ms() -> dict[str, float]:
    self_, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "self": (self_.ru_utime + self_.ru_stime) * 1000,
        "children": (children.ru_utime + children.ru_stime) * 1000,
    }


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
    """`sh -c true` the way the Agent starts a job's process (subagent/os_process.py `_Child`), without
    the Agent: Popen (vfork, one exec), both pipes read to their end with add_reader, the end seen on the
    process's pidfd — no asyncio transport."""
    loop = asyncio.get_running_loop()
    popen = subprocess.Popen(
        ["sh", "-c", "true"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    done = loop.create_future()
    open_fds: set[int] = set()
    pidfd = os.pidfd_open(popen.pid)
    status: list[int] = []

    def finish() -> None:
        if not open_fds and status and not done.done():
            done.set_result(None)

    def read(fd: int) -> None:
        if not os.read(fd, 65536):
            loop.remove_reader(fd)
            open_fds.discard(fd)
            finish()

    def ended() -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        status.append(reap(popen.pid))
        popen.returncode = status[0]
        finish()

    for pipe in (popen.stdout, popen.stderr):
        assert pipe is not None
        os.set_blocking(pipe.fileno(), False)
        open_fds.add(pipe.fileno())
        loop.add_reader(pipe.fileno(), read, pipe.fileno())
    loop.add_reader(pidfd, ended)
    await done
    for pipe in (popen.stdout, popen.stderr):
        assert pipe is not None
        pipe.close()
    assert status == [0]


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
