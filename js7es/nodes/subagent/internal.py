"""InternalExecutable: a Python callable run in a thread of the Subagent, without a process.

`className` names the callable as "package.module:function" or "package.module.function"; JS7's
own test job names map to built-in jobs (JAVA_ALIASES). The callable gets a JobContext and returns
None (success), an int (a return code, judged by returnCodeMeaning) or a mapping of named values
(its "returnCode", if any, is judged likewise); a JobError fails the step with its message, any other
exception with "TypeName: message". An unknown or unimportable className fails the step.

Each job runs in a thread of its own, not in the event loop's default executor, so long jobs cannot
starve the Agent's other blocking work. A thread cannot be killed: kill and timeout set
`context.killed` and a job is expected to watch it (`context.killed.wait(seconds)` instead of
`time.sleep`); the step then ends as Killed or TimedOut. Output written with `write_stdout`/`write_stderr`
becomes chunks like a process's; a writer waits while the consumer is behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from js7es.domain.order.outcome import Failed, Killed, Outcome, Succeeded, TimedOut
from js7es.domain.value import Value, value_from_json
from js7es.nodes.subagent.base import EndedBy, JobProcess, outcome_of
from js7es.nodes.subagent.output import OutputCollector
from js7es.nodes.subagent.spec import OutputCallback, ProcessSpec, StdoutOrStderr


class _DaemonPool:
    """Reused daemon threads for internal jobs: a new thread per step cost ~10 % of the Agent's CPU
    (bench/node_bench.py). Daemon threads, unlike ThreadPoolExecutor's, never hold up the Agent's exit
    when a job ignores its `killed` event. Threads are added up to `max_threads`; then jobs queue."""

    def __init__(self, max_threads: int) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0
        self._max = max_threads

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        self._queue.put(lambda: fn(*args))
        with self._lock:
            if self._idle > 0:
                self._idle -= 1  # an idle thread takes it
            elif self._threads < self._max:
                self._threads += 1
                threading.Thread(target=self._work, name=f"internal-job-{self._threads}", daemon=True).start()

    def _work(self) -> None:
        while True:
            self._queue.get()()
            with self._lock:
                self._idle += 1


INTERNAL_JOB_THREADS = 64
_POOL = _DaemonPool(INTERNAL_JOB_THREADS)

log = logging.getLogger(__name__)

JAVA_ALIASES = {
    "js7.tests.jobs.EmptyJob": "js7es.nodes.subagent.builtin_jobs:empty",
}


class JobError(Exception):
    """Raised by a job to fail its step with exactly this message."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobContext:
    order_id: str
    job_name: str | None
    arguments: Mapping[str, Value]  # the step's evaluated arguments
    job_arguments: Mapping[str, str] = field(default_factory=dict)  # InternalExecutable.jobArguments, as given
    env: Mapping[str, str] = field(default_factory=dict)
    killed: threading.Event = field(default_factory=threading.Event)  # set by kill() and on timeout
    _write: Callable[[StdoutOrStderr, str], None] = lambda kind, text: None

    def write_stdout(self, text: str) -> None:
        self._write("stdout", text)

    def write_stderr(self, text: str) -> None:
        self._write("stderr", text)


def resolve(class_name: str) -> Callable[[JobContext], Any]:
    name = JAVA_ALIASES.get(class_name, class_name)
    module_name, _, attribute = name.partition(":") if ":" in name else name.rpartition(".")
    if not module_name or not attribute:
        raise JobError(f"Invalid className {class_name!r}: expected 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise JobError(f"Unknown className {class_name!r}: {e}") from None
    target: Any = module
    for part in attribute.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise JobError(f"Unknown className {class_name!r}: {module_name} has no {attribute}")
    if not callable(target):
        raise JobError(f"className {class_name!r} does not name a callable")
    return target  # type: ignore[no-any-return]


class InternalJobProcess(JobProcess):
    pid = None

    def __init__(
        self, spec: ProcessSpec, class_name: str, job_arguments: Mapping[str, str], on_output: OutputCallback
    ) -> None:
        self.spec = spec
        self._loop = asyncio.get_running_loop()
        self._collector = OutputCollector(on_output)
        self._ended_by: EndedBy = None
        self.context = JobContext(
            order_id=spec.order_id,
            job_name=spec.job_name,
            arguments=spec.arguments,
            job_arguments=job_arguments,
            env=spec.env,
            _write=self._write_from_thread,
        )
        self._result: asyncio.Future[Any] = self._loop.create_future()
        self._timeout_timer = (
            self._loop.call_later(spec.timeout_s, self._end, "timed out") if spec.timeout_s is not None else None
        )
        _POOL.submit(self._run_in_thread, class_name)
        self._task = self._loop.create_task(self._run())

    async def wait(self) -> Outcome:
        return await asyncio.shield(self._task)

    def kill(self, immediately: bool = False) -> None:
        self._end("killed")

    def _end(self, how: EndedBy) -> None:
        if self._ended_by is None and not self._result.done():
            self._ended_by = how
            self.context.killed.set()

    def _write_from_thread(self, kind: StdoutOrStderr, text: str) -> None:
        asyncio.run_coroutine_threadsafe(self._collector.write_text(kind, text), self._loop).result()

    def _run_in_thread(self, class_name: str) -> None:
        result: Any
        try:
            result = resolve(class_name)(self.context)
            ok = True
        except Exception as e:
            result, ok = e, False
        except BaseException as e:  # SystemExit and the like end the job, never the Agent
            result, ok = JobError(f"The job raised {type(e).__name__}"), False
        # RuntimeError: the loop has closed, the Agent is gone and nobody waits for the outcome.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._set_result, ok, result)

    def _set_result(self, ok: bool, result: Any) -> None:
        if self._result.done():
            return
        if ok:
            self._result.set_result(result)
        else:
            self._result.set_exception(result)

    async def _run(self) -> Outcome:
        try:
            try:
                outcome = self._outcome(await self._result)
            except JobError as e:
                outcome = Failed(error_message=str(e))
            except Exception as e:
                log.info("Order %s: internal job failed", self.spec.order_id, exc_info=True)
                outcome = Failed(error_message=f"{type(e).__name__}: {e}")
            await self._collector.drain()
        finally:
            if self._timeout_timer is not None:
                self._timeout_timer.cancel()
        if self._ended_by is None:
            return outcome
        inner = outcome if isinstance(outcome, Failed) else Failed(named_values=outcome.named_values)
        return TimedOut(outcome=inner) if self._ended_by == "timed out" else Killed(outcome=inner)

    def _outcome(self, result: Any) -> Outcome:
        meaning = self.spec.return_code_meaning
        if result is None:
            return Succeeded()
        if isinstance(result, int) and not isinstance(result, bool):
            return outcome_of(result, {}, meaning)
        if isinstance(result, Mapping):
            values = {str(name): value_from_json(value) for name, value in result.items()}
            return_code = values.pop("returnCode", None)
            if isinstance(return_code, int) and not isinstance(return_code, bool):
                return outcome_of(return_code, values, meaning)
            if return_code is not None:
                values["returnCode"] = return_code
            return Succeeded(named_values=values)
        raise JobError(f"The job returned {type(result).__name__}; expected None, an int or a mapping")
