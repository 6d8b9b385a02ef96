"""Starts, watches and ends the job processes of the orders attached to this Agent.

Every side effect follows a commit: an order's process starts only after `OrderProcessingStarted` is
durable, and its end is journaled as `OrderProcessed`. A process that was running when the Agent died
cannot be trusted to have ended cleanly: on restart its process group is killed (the pid files kept
beside the journal name it) and the step ends as Disrupted(ProcessLost), so the order repeats it —
unless the job is not restartable — and never runs it twice at the same time.

Each step runs on a Subagent that `select_subagent` chooses (js7es.domain.agent.selection): the
Director's own, or a remote Subagent through its driver (js7es.nodes.agent.subagents). A remote step
survives the Director: after a restart the Director follows it again (its StartOrderProcess is
idempotent at the Subagent), and its output and outcome are journaled from the Subagent's events, with
the Subagent's event position (SubagentEventsObserved) in the same commit. When a remote Subagent loses
its run (restart, reset) its steps end as ProcessLost.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
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
from js7es.domain.agent.events import ItemAttachedToMe, ItemDetachedFromMe, SubagentEventsObserved
from js7es.domain.agent.selection import (
    RoundRobin,
    job_bundle_id,
    processing_started,
    select_subagent,
    unknown_bundle,
)
from js7es.domain.event import Event, KeyedEvent, Stamped
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
from js7es.nodes.agent.pid_log import PidLog
from js7es.nodes.agent.subagents import ClientFactory, LocalSubagentDriver, RemoteJobProcess, SubagentPool
from js7es.nodes.engine import Engine
from js7es.nodes.subagent import JobProcess, ProcessLauncher, ProcessSpec

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Running:
    step: JobStep
    subagent_id: str | None = None
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
        subagent_client_factory: ClientFactory | None = None,
    ) -> None:
        """`subagent_client_factory`: a client of a remote Subagent's URI (None: only the local Subagent,
        with `launcher`, runs jobs)."""
        self.engine = engine
        self._own_launcher = launcher is None
        self.launcher = ProcessLauncher() if launcher is None else launcher
        if self._own_launcher:
            atexit.register(self.launcher.close)  # its temp dir goes even when stop() is not reached
        self.work_dir = work_dir
        self.pid_dir = work_dir / "pids"  # a file per step, as earlier versions kept them: read at `recover`
        self.pid_log = PidLog(work_dir)
        self.executables_dir = work_dir / "executables"
        self.process_limit = process_limit
        self.pool = SubagentPool(
            LocalSubagentDriver(self.launcher, self._local_id), client_factory=subagent_client_factory
        )
        self.pool.attach(self)
        self.round_robin = RoundRobin()  # the Director's memory, never journaled (JS7's MutableRoundRobin)
        self._running: dict[str, _Running] = {}
        self._per_job: dict[str, int] = {}
        self._waiting: dict[str, _WaitQueue] = {}
        self._refused_slot: str | None = None  # the job key `_reserve` found no slot for, last time
        self._tasks: set[asyncio.Task[None]] = set()
        # OrderProcessed of the steps ended in this turn of the loop, with their job keys (_emit_processed)
        self._processed: list[tuple[KeyedEvent, str | None]] = []
        self._stopping = False
        self.executables_dir.mkdir(parents=True, exist_ok=True)
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

    def _local_id(self) -> str | None:
        return self.state.local_subagent_id

    # -- after each commit ------------------------------------------------------------------------

    def on_commit(self, stamped: Sequence[Stamped]) -> None:
        touched: list[str] = []
        for s in stamped:
            match s.event:
                case ItemAttachedToMe(item=item) if _may_release_orders(item):
                    if _is_subagent_item(item):
                        self._spawn(self.pool.update(self.state))
                    touched.extend(self.state.orders)  # enabled again, a workflow resumed, a breakpoint gone
                case ItemDetachedFromMe(key=key) if key.startswith("SubagentItem:"):
                    self._spawn(self.pool.update(self.state))
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
        if found is None:
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
            self._refused_slot = key
            queue = self._waiting.get(key)
            if queue is None:
                queue = self._waiting[key] = _WaitQueue()
            if order_id not in queue:
                self._enqueue(queue, order)
            return None
        ctx = self.engine.ctx()
        bundle_id = job_bundle_id(self.state, order, job, ctx)  # subagentBundleIdExpr
        refused = bundle_id if isinstance(bundle_id, Problem) else unknown_bundle(self.state, bundle_id)
        if refused is not None:  # it names no bundle nor Subagent (JS7: UnknownKey): the step fails
            if fail_later:
                return None
            local = self.state.local_subagent_id or ""
            return [
                KeyedEvent(order_id, OrderProcessingStarted(subagent_id=local)),
                KeyedEvent(order_id, OrderProcessed(outcome=Failed(error_message=refused.message))),
            ]
        assert not isinstance(bundle_id, Problem)
        subagent_id = select_subagent(self.state, order, job, bundle_id, self.pool.is_coupled, self.round_robin)
        if subagent_id is None:  # none available (disabled, not coupled): a change of the pool wakes it
            return None
        step = job_step(self.state, order, workflow, ctx)
        event = processing_started(order, self.engine.here, bundle_id, subagent_id)  # StickySubagent's too
        started = KeyedEvent(order_id, event)
        if isinstance(step, Problem):  # e.g. an argument does not evaluate: the step fails at once
            if fail_later:
                return None  # needs the order's follow-up: done by the commit listener's try_start
            failed = KeyedEvent(order_id, OrderProcessed(outcome=Failed(error_message=step.message)))
            return [started, failed]
        self._running[order_id] = _Running(step, subagent_id)
        self._per_job[step.job_key] = self._per_job.get(step.job_key, 0) + 1
        return [started]

    def _enqueue(self, queue: _WaitQueue, order: Order) -> None:
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

    def _start_waiting(self, *keys: str) -> None:
        """Slots of the jobs `keys` are free: start their next waiting orders, in one commit."""
        if started := self._take_waiting(*keys):
            self._spawn(self._emit(started))

    def _take_waiting(self, *keys: str) -> list[KeyedEvent]:
        """Slots of the jobs `keys` are free: the events that start the next waiting orders of these jobs
        — and, when the Agent's own limit was what held them, of the other jobs —, their slots reserved.
        Each queue is tried only while it gets its orders started, so a long queue costs nothing while
        its job is busy; the first order that finds no slot stays first in line (nothing is searched or
        moved in the queue)."""
        queues = [(key, q) for key in keys for q in [self._waiting.get(key)] if q]
        if self.process_limit is not None:
            queues += [(k, q) for k, q in self._waiting.items() if k not in keys and q]
            queues.sort(key=lambda kq: -self._priority(kq[1][0]))  # the highest priority first (stable: these jobs')
        events: list[KeyedEvent] = []
        for queue_key, queue in queues:
            while queue:
                candidate = queue[0]
                self._refused_slot = None
                if started := self._reserve(candidate):
                    events.extend(started)
                if self._refused_slot == queue_key and candidate not in self._running:
                    break  # no slot: it waits on, first in line
                queue.popleft()  # started, or it cannot start here any more (cancelled, detached, moved on)
        return events

    # -- processes ------------------------------------------------------------------------------

    async def _run(self, order_id: str) -> None:
        running = self._running.get(order_id)
        if running is None:  # a re-attached remote step whose outcome arrived before it ran
            return
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
            step=f"{order.position}:{len(order.historic_outcomes)}",  # the same when re-attached
        )
        pid: int | None = None  # an OS process's (an internal job has none)
        outcome: Outcome
        driver = self.pool.driver(running.subagent_id)
        try:
            if driver is None:  # not (any longer) a Subagent of this Agent
                outcome = Disrupted(reason="ProcessLost", message=f"Unknown Subagent {running.subagent_id}")
                raise _Ended
            if self.pool.is_remote(running.subagent_id) and not self._processing_there(
                order_id, running.subagent_id or ""
            ):
                return  # re-attached after a restart, but its outcome has arrived meanwhile: journaled
            process = await driver.start(spec, on_output)
            running.process = process
            if process.pid is not None:
                pid = process.pid
                self.pid_log.started(pid)
            if running.kill_requested:
                process.kill(immediately=running.kill_immediately)
            outcome = await process.wait()
            if isinstance(process, RemoteJobProcess):
                return  # journaled with the Subagent's events (`subagent_events`), the slot freed there
        except _Ended:
            pass
        except Exception as e:  # the process could not be started: the step fails, the Agent goes on
            log.warning("Order %s: job process failed: %s", order_id, e)
            outcome = Failed(error_message=f"{type(e).__name__}: {e}")
        finally:
            if pid is not None:
                self.pid_log.ended(pid)
        # The slot is free before OrderProcessed is committed, so that the order's next step can start
        # right after the commit; other waiting orders start then, too.
        key = self._release_slot(order_id)
        self._processed.append((KeyedEvent(order_id, OrderProcessed(outcome=outcome)), key))
        if len(self._processed) == 1:
            asyncio.get_running_loop().call_soon(self._emit_processed)

    def _emit_processed(self) -> None:
        """The steps that ended within one turn of the loop: their OrderProcessed (and what the orders do
        next) in ONE emit — one follow-up pass and one waiter of the commit instead of one per order
        (bench/node_bench.py's profile: the Agent's emit of OrderProcessed)."""
        processed, self._processed = self._processed, []
        if self._stopping:  # as if their tasks had been cancelled before the emit
            return
        self._spawn(self._commit_processed(processed))

    async def _commit_processed(self, processed: list[tuple[KeyedEvent, str | None]]) -> None:
        """The ended steps' OrderProcessed and, in the same commit, the starts of the orders that waited
        for their slots: one commit per freed slot instead of two in a row (node_bench's shell job, 16
        processes for 100 orders, waits for these commits more than for the CPU). Only the other orders'
        starts join: an order's own next step follows its OrderProcessed (the engine's follow-up)."""
        events = [event for event, _ in processed]
        events.extend(self._take_waiting(*dict.fromkeys(key for _, key in processed if key is not None)))
        await self.engine.emit(events)

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

    # -- start and stop ---------------------------------------------------------------------------

    async def recover(self) -> None:
        """Kill what survived the last run on the local Subagent and end its steps as ProcessLost; follow
        the steps on remote Subagents again; then start what is ready."""
        self.pid_log.kill_leftovers()
        for pid_file in self.pid_dir.glob("*.pid"):  # left by an earlier version
            with contextlib.suppress(ValueError, ProcessLookupError, PermissionError, FileNotFoundError):
                os.killpg(int(pid_file.read_text().strip()), signal.SIGKILL)
            pid_file.unlink(missing_ok=True)
        await self.pool.update(self.state)
        here = self.engine.here
        lost = []
        for o in self.state.orders.values():
            if not (isinstance(o.state, Processing) and here is not None and o.is_attached_to(here)):
                continue
            if self.pool.is_remote(o.state.subagent_id) and self._reattach(o):
                continue
            lost.append(
                KeyedEvent(o.id, OrderProcessed(outcome=Disrupted(reason="ProcessLost", message="Agent restarted")))
            )
        if lost:
            await self.engine.emit(lost)
        for order_id in list(self.state.orders):
            self.try_start(order_id)

    def _reattach(self, order: Order) -> bool:
        """Follow an order's step on a remote Subagent again, after a restart of the Director."""
        found = self._job_here(order)
        if found is None:
            return False
        step = job_step(self.state, order, found[0], self.engine.ctx())
        if isinstance(step, Problem):
            return False
        assert isinstance(order.state, Processing)
        self._running[order.id] = _Running(step, order.state.subagent_id)
        self._per_job[step.job_key] = self._per_job.get(step.job_key, 0) + 1
        self._spawn(self._run(order.id))
        return True

    # -- remote Subagents (js7es.nodes.agent.subagents.SubagentHost) -------------------------------

    def subagents_changed(self) -> None:
        """A Subagent became coupled or uncoupled: orders waiting for one may start now."""
        for order_id in list(self.state.orders):
            self.try_start(order_id)

    def _processing_there(self, order_id: str, subagent_id: str) -> bool:
        order = self.state.orders.get(order_id)
        return (
            order is not None
            and isinstance(order.state, Processing)
            and order.state.subagent_id == subagent_id
            and self.engine.here is not None
            and order.is_attached_to(self.engine.here)
        )

    async def subagent_events(self, subagent_id: str, stamped: list[Stamped]) -> None:
        """Journal a remote Subagent's events: the output and outcomes of the steps processing there (any
        other is a repetition: dropped), with SubagentEventsObserved, in one commit."""
        events: list[KeyedEvent] = []
        ended: list[tuple[str, Outcome, str | None]] = []
        done: set[str] = set()
        for s in stamped:
            if s.key in done or not self._processing_there(s.key, subagent_id):
                continue
            match s.event:
                case OrderStdoutWritten() | OrderStderrWritten():
                    events.append(KeyedEvent(s.key, s.event))
                case OrderProcessed(outcome=outcome):
                    events.append(KeyedEvent(s.key, s.event))
                    done.add(s.key)
                    ended.append((s.key, outcome, self._release_slot(s.key)))
        events.append(KeyedEvent(subagent_id, SubagentEventsObserved(until_event_id=stamped[-1].event_id)))
        await self.engine.emit(events)
        self._ended_remotely(subagent_id, ended)

    async def subagent_lost(self, subagent_id: str, died: Event, message: str) -> None:
        """The Subagent lost its run: each step processing there ends as Disrupted(ProcessLost) — as
        Disrupted without ProcessLost when the job is not restartable (JS7's
        orderProcessLostIfRestartable), so that the order fails — with `died` in the same commit."""
        events: list[KeyedEvent] = []
        ended: list[tuple[str, Outcome, str | None]] = []
        for order in list(self.state.orders.values()):
            if not self._processing_there(order.id, subagent_id):
                continue
            found = self._job_here(order)
            restartable = found is not None and not found[1].is_not_restartable
            outcome = Disrupted(reason="ProcessLost" if restartable else "Other", message=message)
            events.append(KeyedEvent(order.id, OrderProcessed(outcome=outcome)))
            ended.append((order.id, outcome, self._release_slot(order.id)))
        events.append(KeyedEvent(subagent_id, died))
        await self.engine.emit(events)
        self._ended_remotely(subagent_id, ended)

    def _ended_remotely(self, subagent_id: str, ended: list[tuple[str, Outcome, str | None]]) -> None:
        driver = self.pool.remotes.get(subagent_id)
        for order_id, outcome, _ in ended:
            if driver is not None:
                driver.processed(order_id, outcome)
        self._start_waiting(*dict.fromkeys(k for _, _, k in ended if k is not None))

    async def stop(self) -> None:
        self._stopping = True
        await self.pool.stop()  # the remote Subagents' processes go on without the Director
        for running in self._running.values():
            if running.process is not None and not isinstance(running.process, RemoteJobProcess):
                running.process.kill(immediately=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.pid_log.close()
        if self._own_launcher:
            self.launcher.close()


class _WaitQueue:
    """The orders waiting for a slot of one job, in line, with a set beside the line: whether an order
    waits costs the same with 10 or 10,000 waiting (a `deque` was searched for every touched order)."""

    __slots__ = ("_ids", "_line")

    def __init__(self) -> None:
        self._line: deque[str] = deque()
        self._ids: set[str] = set()

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._ids

    def __len__(self) -> int:
        return len(self._line)

    def __getitem__(self, i: int) -> str:
        return self._line[i]

    def insert(self, i: int, order_id: str) -> None:
        self._line.insert(i, order_id)
        self._ids.add(order_id)

    def popleft(self) -> str:
        order_id = self._line.popleft()
        self._ids.discard(order_id)  # never there twice: `_reserve` looks first
        return order_id


class _Ended(Exception):
    """The step ended before it started (its outcome is set)."""


def _is_subagent_item(item: Any) -> bool:
    return isinstance(item, Mapping) and item.get("TYPE") in ("SubagentItem", "Subagent")


def _may_release_orders(item: Any) -> bool:
    """Whether an attached item may let waiting orders start: anything but a workflow version, whose
    orders arrive after it (each touched by its own attachment); a new version would otherwise make
    every attachment cost a look at every order here."""
    return not (isinstance(item, Mapping) and item.get("TYPE") == "Workflow")
