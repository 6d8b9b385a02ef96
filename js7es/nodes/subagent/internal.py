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
import functools
import importlib
import logging
import threading
import time
import weakref
from collections import deque
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
    when a job ignores its `killed` event. Threads are added up to `max_threads`; then jobs queue.

    A thread woken per job cost the Agent's loop thread another 16 % (bench/node_bench.py's profile:
    `submit`, and the GIL handed back and forth once per step). So one awake thread (a "taker") takes
    the queued jobs one after the other: the steps started in one commit wake one thread, which runs
    trivial jobs back to back. When the queue makes no progress for `spread_s` (its takers are in long
    jobs), the watcher wakes a thread for each waiting job: a long job holds up the jobs queued behind
    it for about `spread_s` (at most twice that), never until it ends."""

    def __init__(self, max_threads: int, spread_s: float = 0.005) -> None:
        self._jobs: deque[Callable[[], None]] = deque()
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # idle threads wait here
        self._watch = threading.Condition(self._lock)  # the watcher waits here while no job waits
        self._threads = 0
        self._idle = 0
        self._takers = 0  # awake threads not in a job: each looks at the queue before it sleeps
        self._taken = 0  # jobs taken so far: the watcher's measure of progress
        self._watcher: threading.Thread | None = None
        self._watcher_waits = False
        self._max = max_threads
        self._spread_s = spread_s

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        with self._lock:
            self._jobs.append(functools.partial(fn, *args))
            if self._takers == 0:
                self._wake(1)
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch_progress, name="internal-job-watch", daemon=True)
                self._watcher.start()
            elif self._watcher_waits:
                self._watcher_waits = False
                self._watch.notify()

    def _wake(self, n: int) -> None:
        """Under the lock: `n` more takers, idle threads first, then new ones up to the maximum."""
        for _ in range(n):
            if self._idle > 0:
                self._idle -= 1
                self._work.notify()
            elif self._threads < self._max:
                self._threads += 1
                threading.Thread(target=self._take, name=f"internal-job-{self._threads}", daemon=True).start()
            else:
                return
            self._takers += 1

    def _take(self) -> None:
        with self._lock:
            while True:
                if not self._jobs:
                    self._takers -= 1
                    self._idle += 1
                    self._work.wait()  # the waker counted it as a taker again
                    continue
                job = self._jobs.popleft()
                self._takers -= 1
                self._taken += 1
                self._lock.release()
                try:
                    job()
                except BaseException:  # the job's wrapper catches everything; this thread must go on anyway
                    log.exception("An internal job's thread caught an error")
                finally:
                    self._lock.acquire()
                self._takers += 1

    def _watch_progress(self) -> None:
        with self._lock:
            while True:
                if not self._jobs:
                    self._watcher_waits = True
                    self._watch.wait()
                    continue
                taken = self._taken
                deadline = time.monotonic() + self._spread_s
                while (remaining := deadline - time.monotonic()) > 0:
                    self._watch.wait(remaining)
                if self._jobs and self._taken == taken:
                    self._wake(len(self._jobs) - self._takers)


INTERNAL_JOB_THREADS = 64
_POOL = _DaemonPool(INTERNAL_JOB_THREADS)


class _Returns:
    """The job threads' results back to one event loop: one wake-up of the loop (a self-pipe write and
    a handle) for every result that arrives meanwhile, not one per job (bench/node_bench.py: a wake-up
    per order cost the Agent's loop thread several percent)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = weakref.ref(loop)  # weakly: _RETURNS keeps this for as long as the loop lives
        self._ready: deque[tuple[Callable[..., None], tuple[Any, ...]]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False

    def put(self, fn: Callable[..., None], *args: Any) -> None:
        """From any thread: `fn(*args)` runs on the loop, after the results put before it."""
        self._ready.append((fn, args))
        with self._lock:
            if self._scheduled:
                return  # the pending drain takes it: it resets the flag before it starts taking
            self._scheduled = True
        loop = self._loop()
        # RuntimeError: the loop has closed, the Agent is gone and nobody waits for the outcome.
        with contextlib.suppress(RuntimeError):
            if loop is not None:
                loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            self._scheduled = False
        ready = self._ready
        while ready:
            fn, args = ready.popleft()
            try:
                fn(*args)
            except Exception:
                log.exception("An internal job's result could not be delivered")


_RETURNS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Returns] = weakref.WeakKeyDictionary()
_RETURNS_LOCK = threading.Lock()


def _returns(loop: asyncio.AbstractEventLoop) -> _Returns:
    found = _RETURNS.get(loop)
    if found is None:
        with _RETURNS_LOCK:
            found = _RETURNS.setdefault(loop, _Returns(loop))
    return found


log = logging.getLogger(__name__)

JAVA_ALIASES = {
    "js7.tests.jobs.EmptyJob": "js7es.nodes.subagent.builtin_jobs:empty",
}


class _KilledEvent(threading.Event):
    """A threading.Event whose Condition is made when it is first needed: most jobs never look at
    `killed` and are never killed, and an Event's Condition and Lock cost the Agent's loop thread 5 % of
    its time when made for every step (bench/node_bench.py's profile)."""

    def __init__(self) -> None:  # Event's own __init__ would make the Condition now
        self._flag = False
        self._made: threading.Condition | None = None

    @property
    def _cond(self) -> threading.Condition:
        made = self._made
        if made is None:
            with _KILLED_LOCK:
                if self._made is None:
                    self._made = threading.Condition(threading.Lock())
                made = self._made
        return made


_KILLED_LOCK = threading.Lock()


class JobError(Exception):
    """Raised by a job to fail its step with exactly this message."""


@dataclass(frozen=True, slots=True, kw_only=True)
class JobContext:
    order_id: str
    job_name: str | None
    arguments: Mapping[str, Value]  # the step's evaluated arguments
    job_arguments: Mapping[str, str] = field(default_factory=dict)  # InternalExecutable.jobArguments, as given
    env: Mapping[str, str] = field(default_factory=dict)
    killed: threading.Event = field(default_factory=lambda: _KilledEvent())  # set by kill() and on timeout
    _write: Callable[[StdoutOrStderr, str], None] = lambda kind, text: None

    def write_stdout(self, text: str) -> None:
        self._write("stdout", text)

    def write_stderr(self, text: str) -> None:
        self._write("stderr", text)


_RESOLVED: dict[str, Callable[[JobContext], Any]] = {}  # a module is imported once anyway: its callable likewise


def resolve(class_name: str) -> Callable[[JobContext], Any]:
    found = _RESOLVED.get(class_name)
    if found is None:
        found = _RESOLVED[class_name] = _resolve(class_name)
    return found


def _resolve(class_name: str) -> Callable[[JobContext], Any]:
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
        self._on_output = on_output
        self._collector: OutputCollector | None = None  # made by the first write: most jobs write nothing
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
        self._outcome: Outcome | None = None
        _POOL.submit(self._run_in_thread, class_name)

    async def wait(self) -> Outcome:
        """Awaited in the caller's task (no task of its own: bench/node_bench.py's profile). Cancelling the
        waiter — the Agent stopping — gives up the outcome."""
        if self._outcome is None:
            self._outcome = await self._run()
        return self._outcome

    def kill(self, immediately: bool = False) -> None:
        self._end("killed")

    def _end(self, how: EndedBy) -> None:
        if self._ended_by is None and not self._result.done():
            self._ended_by = how
            self.context.killed.set()

    def _write_from_thread(self, kind: StdoutOrStderr, text: str) -> None:
        asyncio.run_coroutine_threadsafe(self._write(kind, text), self._loop).result()

    async def _write(self, kind: StdoutOrStderr, text: str) -> None:
        if self._collector is None:
            self._collector = OutputCollector(self._on_output)
        await self._collector.write_text(kind, text)

    def _run_in_thread(self, class_name: str) -> None:
        result: Any
        try:
            result = resolve(class_name)(self.context)
            ok = True
        except Exception as e:
            result, ok = e, False
        except BaseException as e:  # SystemExit and the like end the job, never the Agent
            result, ok = JobError(f"The job raised {type(e).__name__}"), False
        _returns(self._loop).put(self._set_result, ok, result)

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
                outcome = self._outcome_of(await self._result)
            except JobError as e:
                outcome = Failed(error_message=str(e))
            except Exception as e:
                log.info("Order %s: internal job failed", self.spec.order_id, exc_info=True)
                outcome = Failed(error_message=f"{type(e).__name__}: {e}")
            if self._collector is not None:
                await self._collector.drain()
        finally:
            if self._timeout_timer is not None:
                self._timeout_timer.cancel()
        if self._ended_by is None:
            return outcome
        inner = outcome if isinstance(outcome, Failed) else Failed(named_values=outcome.named_values)
        return TimedOut(outcome=inner) if self._ended_by == "timed out" else Killed(outcome=inner)

    def _outcome_of(self, result: Any) -> Outcome:
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
