"""Starts, watches and ends the job processes of the orders attached to this Agent.

Every side effect follows a commit: an order's process starts only after `OrderProcessingStarted` is
durable, and its end is journaled as `OrderProcessed`. A process that was running when the Agent died
cannot be trusted to have ended cleanly: on restart its process group is killed (the pid files kept
beside the journal name it) and the step ends as Disrupted(ProcessLost), so the order repeats it —
unless the job is not restartable — and never runs it twice at the same time.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import logging
import os
import signal
from collections import deque
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from js7es.domain.agent.agent_state import AgentState
from js7es.domain.agent.events import ItemAttachedToMe
from js7es.domain.event import KeyedEvent, Stamped
from js7es.domain.order.admission import admission_start
from js7es.domain.order.events import (
    OrderCancellationMarked,
    OrderForked,
    OrderProcessed,
    OrderProcessingStarted,
    OrderStderrWritten,
    OrderStdoutWritten,
    OrderSuspensionMarked,
)
from js7es.domain.order.job_step import JobStep, job_key, job_step
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Disrupted, Failed, Outcome
from js7es.domain.order.states import Processing, Ready
from js7es.domain.order.stop_positions import is_at_stop_position
from js7es.domain.problem import Problem
from js7es.domain.workflow.instructions import ExecuteAnonymous, ExecuteNamed
from js7es.nodes.engine import Engine
from js7es.nodes.subagent import JobProcess, ProcessLauncher, ProcessSpec

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Running:
    step: JobStep
    process: JobProcess | None = None
    kill_requested: bool = False
    kill_immediately: bool = False


class JobRunner:
    """Runs the job steps of the orders attached to this Agent, with `launcher`, the Subagent's process
    launcher; without one the runner makes its own (its temp dir in the system's), closed by `stop()`."""

    def __init__(
        self,
        engine: Engine,
        *,
        work_dir: Path,
        process_limit: int | None = None,
        launcher: ProcessLauncher | None = None,
    ) -> None:
        self.engine = engine
        self._own_launcher = launcher is None
        self.launcher = ProcessLauncher() if launcher is None else launcher
        if self._own_launcher:
            atexit.register(self.launcher.close)  # its temp dir goes even when stop() is not reached
        self.work_dir = work_dir
        self.pid_dir = work_dir / "pids"
        self.executables_dir = work_dir / "executables"
        self.process_limit = process_limit
        self._running: dict[str, _Running] = {}
        self._per_job: dict[str, int] = {}
        self._waiting: dict[str, deque[str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        for directory in (self.pid_dir, self.executables_dir):
            directory.mkdir(parents=True, exist_ok=True)
        engine.add_wake_time(self.admission_wake_time)
        engine.on_wake(self.try_start)

    @property
    def state(self) -> AgentState:
        state = self.engine.state
        assert isinstance(state, AgentState)
        return state

    @property
    def running_count(self) -> int:
        return len(self._running)

    # -- after each commit ------------------------------------------------------------------------

    def on_commit(self, stamped: Sequence[Stamped]) -> None:
        touched: list[str] = []
        for s in stamped:
            match s.event:
                case ItemAttachedToMe(item=item) if self.state.local_subagent_enabled and _may_release_orders(item):
                    touched.extend(self.state.orders)  # enabled again, a workflow resumed, a breakpoint gone
                case OrderProcessingStarted() if s.key in self._running:
                    self._spawn(self._run(s.key))
                case (
                    OrderCancellationMarked(kill=True, kill_immediately=immediately)
                    | OrderSuspensionMarked(kill=True, kill_immediately=immediately)
                ):
                    self.kill(s.key, immediately=immediately)
                case OrderForked(children=children):  # forked here: the children may start their jobs
                    touched.extend(c.order_id for c in children)
            touched.append(s.key)
        for order_id in dict.fromkeys(touched):
            self.try_start(order_id)

    def try_start(self, order_id: str) -> None:
        """Start the order's job step if it can start now (a slot is free), in a commit of its own."""
        started = self._reserve(order_id)
        if started is not None:
            self._spawn(self._emit(started))

    def before_commit(self, events: Sequence[KeyedEvent]) -> list[KeyedEvent]:
        """Engine hook: the steps that the events about to be committed make startable start in the
        SAME commit (one fsync and one loop turn less from "due" to the process start)."""
        extra: list[KeyedEvent] = []
        keys = [k.key for k in events]
        for k in events:
            if isinstance(k.event, OrderForked):  # forked here: the children may start in this commit
                keys.extend(c.order_id for c in k.event.children)
        for order_id in dict.fromkeys(key for key in keys if key in self.state.orders):
            started = self._reserve(order_id, fail_later=True)
            if started:
                self.engine.apply_now(started)
                extra.extend(started)
        return extra

    def admission_wake_time(self, order: Order) -> int | None:
        """Engine hook: the next admission start of the job that a Ready order waits for here."""
        if order.id in self._running or not isinstance(order.state, Ready):
            return None
        found = self._job_here(order)
        if found is None or found[1].admission_time_scheme is None:
            return None
        workflow, job, _ = found
        now = self.engine.clock()
        start = admission_start(workflow, job, order, now)
        return start if start is not None and start > now else None

    def _job_here(self, order: Order) -> tuple[Any, Any, Any] | None:
        here = self.engine.here
        if here is None or not order.is_attached_to(here):
            return None
        workflow = self.state.workflow_of(order)
        instruction = workflow.instruction(order.position) if workflow is not None else None
        if workflow is None or not isinstance(instruction, (ExecuteNamed, ExecuteAnonymous)):
            return None
        job = workflow.job_of(instruction)
        if job is None or job.agent_path != here:
            return None
        return workflow, job, instruction

    def _reserve(self, order_id: str, *, fail_later: bool = False) -> list[KeyedEvent] | None:
        """The events that start the order's step, with its slot reserved; None when it can't start."""
        order = self.state.orders.get(order_id)
        if (
            order is None
            or order_id in self._running
            or not isinstance(order.state, Ready)
            or order.is_suspended
            or order.mark is not None
            or self.state.is_workflow_suspended(order.workflow_id.path)  # the Controller's ControlWorkflowPath
            or self.state.is_at_breakpoint(order)  # it goes back to the Controller, which suspends it
        ):
            return None
        found = self._job_here(order)
        if found is None or not self.state.local_subagent_enabled:  # disabled: enabling wakes them all
            return None
        workflow, job, instruction = found
        if is_at_stop_position(workflow, order):  # JS7's isOrderProcessable: it finishes on the Controller
            return None
        if instruction.label is not None and instruction.label in self.state.skipped_labels(workflow.path):
            return None  # the order moves past it (js7es.domain.workflow_control)
        if job.admission_time_scheme is not None:
            now = self.engine.clock()
            start = admission_start(workflow, job, order, now)
            if start is None or start > now:  # before the job's admission time: the timer wakes it
                self.engine.rearm([order_id])
                return None
        key = job_key(workflow, order.position, instruction)
        if not self._has_slot(key, job.process_limit):  # checked first: evaluating the step costs
            queue = self._waiting.setdefault(key, deque())
            if order_id not in queue:
                self._enqueue(queue, order)
            return None
        step = job_step(self.state, order, workflow, self.engine.ctx())
        subagent_id = self.state.local_subagent_id
        started = KeyedEvent(order_id, OrderProcessingStarted(subagent_id=subagent_id))
        if isinstance(step, Problem):  # e.g. an argument does not evaluate: the step fails at once
            if fail_later:
                return None  # needs the order's follow-up: done by the commit listener's try_start
            failed = KeyedEvent(order_id, OrderProcessed(outcome=Failed(error_message=step.message)))
            return [started, failed]
        self._running[order_id] = _Running(step)
        self._per_job[step.job_key] = self._per_job.get(step.job_key, 0) + 1
        return [started]

    def _enqueue(self, queue: deque[str], order: Order) -> None:
        """Waiting for a slot in priority order (JS7 2.7's order priority), first come first within one:
        behind every waiting order of the same or a higher priority (at the end when all are equal)."""
        priority = order.effective_priority
        i = len(queue)
        while i > 0 and self._priority(queue[i - 1]) < priority:
            i -= 1
        queue.insert(i, order.id)

    def _priority(self, order_id: str) -> int | Decimal:
        order = self.state.orders.get(order_id)
        return 0 if order is None else order.effective_priority

    def _has_slot(self, key: str, process_limit: int) -> bool:
        if self.process_limit is not None and len(self._running) >= self.process_limit:
            return False
        return self._per_job.get(key, 0) < process_limit

    def _release_slot(self, order_id: str) -> str | None:
        """Free the order's slot; returns its job key."""
        running = self._running.pop(order_id, None)
        if running is None:
            return None
        key = running.step.job_key
        self._per_job[key] -= 1
        return key

    def _start_waiting(self, key: str) -> None:
        """A slot is free: start the next waiting orders of the job — and, when the Agent's own limit
        was what held them, of the other jobs. Each queue is tried only while it gets its orders
        started, so a long queue costs nothing while its job is busy."""
        queues = [q for q in [self._waiting.get(key)] if q]
        if self.process_limit is not None:
            queues += [q for k, q in self._waiting.items() if k != key and q]
            queues.sort(key=lambda q: -self._priority(q[0]))  # the highest priority first (stable: this job's)
        for queue in queues:
            while queue:
                candidate = queue.popleft()
                self.try_start(candidate)
                if candidate not in self._running and candidate in queue:
                    queue.remove(candidate)  # no slot: it went back to the end; keep the queue's order
                    queue.appendleft(candidate)
                    break
                # started, or it cannot start at all any more (cancelled, detached): try the next one

    # -- processes ------------------------------------------------------------------------------

    async def _run(self, order_id: str) -> None:
        running = self._running[order_id]
        step = running.step
        job = step.job
        order = self.state.orders[order_id]

        async def on_output(kind: str, chunk: str) -> None:
            event = OrderStdoutWritten(chunk=chunk) if kind == "stdout" else OrderStderrWritten(chunk=chunk)
            await self.engine.emit([KeyedEvent(order_id, event)])

        spec = ProcessSpec(
            order_id=order_id,
            job_name=step.job_name,
            workflow_path=order.workflow_id.path,
            executable=job.executable,
            env=step.env,
            arguments=step.arguments,
            work_dir=self.work_dir,
            executables_dir=self.executables_dir,
            timeout_s=job.timeout_s,
            sigkill_delay_s=job.sigkill_delay_s,
            return_code_meaning=job.executable.return_code_meaning,
            fail_on_err_written=job.fail_on_err_written,
            v1_compatible=job.executable.v1_compatible,
        )
        pid_file = self._pid_file(order_id)
        outcome: Outcome
        try:
            process = await self.launcher.start(spec, on_output)
            running.process = process
            if process.pid is not None:
                pid_file.write_text(str(process.pid))
            if running.kill_requested:
                process.kill(immediately=running.kill_immediately)
            outcome = await process.wait()
        except Exception as e:  # the process could not be started: the step fails, the Agent goes on
            log.warning("Order %s: job process failed: %s", order_id, e)
            outcome = Failed(error_message=f"{type(e).__name__}: {e}")
        finally:
            with contextlib.suppress(FileNotFoundError):
                pid_file.unlink()
        # The slot is free before OrderProcessed is committed, so that the order's next step can start
        # right after the commit; other waiting orders start then, too.
        key = self._release_slot(order_id)
        await self._emit([KeyedEvent(order_id, OrderProcessed(outcome=outcome))])
        if key is not None:
            self._start_waiting(key)

    async def _emit(self, events: list[KeyedEvent]) -> None:
        await self.engine.emit(events)

    def kill(self, order_id: str, immediately: bool = False) -> None:
        running = self._running.get(order_id)
        if running is None:
            return
        running.kill_requested = True
        running.kill_immediately = running.kill_immediately or immediately
        if running.process is not None:
            running.process.kill(immediately=immediately)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("job runner task failed", exc_info=task.exception())

    def _pid_file(self, order_id: str) -> Path:
        return self.pid_dir / (hashlib.sha256(order_id.encode()).hexdigest()[:32] + ".pid")

    # -- start and stop ---------------------------------------------------------------------------

    async def recover(self) -> None:
        """Kill what survived the last run and end its steps as ProcessLost; then start what is ready."""
        for pid_file in self.pid_dir.glob("*.pid"):
            with contextlib.suppress(ValueError, ProcessLookupError, PermissionError, FileNotFoundError):
                os.killpg(int(pid_file.read_text().strip()), signal.SIGKILL)
            pid_file.unlink(missing_ok=True)
        here = self.engine.here
        lost = [
            KeyedEvent(o.id, OrderProcessed(outcome=Disrupted(reason="ProcessLost", message="Agent restarted")))
            for o in self.state.orders.values()
            if isinstance(o.state, Processing) and here is not None and o.is_attached_to(here)
        ]
        if lost:
            await self.engine.emit(lost)
        for order_id in list(self.state.orders):
            self.try_start(order_id)

    async def stop(self) -> None:
        for running in self._running.values():
            if running.process is not None:
                running.process.kill(immediately=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._own_launcher:
            self.launcher.close()


def _may_release_orders(item: Any) -> bool:
    """Whether an attached item may let waiting orders start: anything but a workflow version, whose
    orders arrive after it (each touched by its own attachment); a new version would otherwise make
    every attachment cost a look at every order here."""
    return not (isinstance(item, Mapping) and item.get("TYPE") == "Workflow")
