"""The job processes' ends reach the loop through a pidfd, not a thread per process (issue 18), from
whichever loop started them: a new loop per test, a loop in another thread, several at once."""

from __future__ import annotations

import asyncio
import signal
import threading

from js7es.nodes.subagent.child_watcher import use_pidfd_child_watcher


async def exit_code(*argv: str) -> int:
    process = await asyncio.create_subprocess_exec(*argv)
    return await process.wait()


def test_no_thread_is_started_per_child_process() -> None:
    use_pidfd_child_watcher()

    async def main() -> tuple[int, int, list[int]]:
        before = threading.active_count()
        processes = [await asyncio.create_subprocess_exec("sleep", "0.5") for _ in range(8)]
        during = threading.active_count()  # asyncio 3.11's default would have 8 more threads here
        return before, during, [await p.wait() for p in processes]

    before, during, codes = asyncio.run(main())
    assert during <= before  # (another test's thread may have ended meanwhile)
    assert codes == [0] * 8


def test_exit_codes_and_signals_from_several_loops_one_after_the_other_and_at_once() -> None:
    use_pidfd_child_watcher()
    use_pidfd_child_watcher()  # idempotent
    assert asyncio.run(exit_code("sh", "-c", "exit 3")) == 3
    assert asyncio.run(exit_code("sh", "-c", "kill -KILL $$")) == -signal.SIGKILL  # a new loop

    results: dict[str, int] = {}

    def in_a_thread(name: str, code: int) -> None:
        results[name] = asyncio.run(exit_code("sh", "-c", f"sleep 0.2; exit {code}"))

    threads = [threading.Thread(target=in_a_thread, args=(f"t{i}", i)) for i in range(3)]
    for t in threads:
        t.start()
    here = asyncio.run(exit_code("sh", "-c", "sleep 0.1; exit 7"))  # the main thread's loop meanwhile
    for t in threads:
        t.join(10)
    assert (here, results) == (7, {"t0": 0, "t1": 1, "t2": 2})
