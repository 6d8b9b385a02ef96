"""The Subagent as a node (`js7es subagent --config FILE`): runs job steps for the one Director that
dedicated it, and keeps their output and outcomes as events until that Director has journaled them.

Like JS7's Subagent it keeps no journal: its events live in memory (a MemoryJournal per run: the
journal's EventIds, event stream and release, without durability) until the Director releases them
(`ReleaseEvents`). A Subagent that restarts has lost its run: it is undedicated, the Director learns
that at its next CoupleDirector (SubagentNotDedicated) and ends the steps that ran there as
Disrupted(ProcessLost). Its processes do not survive it: the launcher's job guard kills them when the
Subagent's process dies (js7es.nodes.subagent.guard).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from js7es.domain.event import KeyedEvent
from js7es.domain.order.events import OrderProcessed, OrderStderrWritten, OrderStdoutWritten
from js7es.domain.order.outcome import Failed, Outcome
from js7es.domain.problem import Problem, problem
from js7es.domain.subagent.commands import (
    CoupleDirector,
    DedicateSubagent,
    KillProcess,
    StartOrderProcess,
    SubagentCommand,
    SubagentNoOperation,
    SubagentReleaseEvents,
    SubagentShutDown,
)
from js7es.journal.api import Journal
from js7es.journal.memory import MemoryJournal
from js7es.nodes.subagent.base import JobProcess
from js7es.nodes.subagent.launcher import ProcessLauncher
from js7es.nodes.subagent.wire import spec_of

log = logging.getLogger(__name__)

DIRECTOR_READER = "director"
ACCEPTED: Mapping[str, Any] = {"TYPE": "Accepted"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Dedication:
    subagent_id: str
    agent_path: str
    agent_run_id: str
    controller_id: str
    subagent_run_id: str


@dataclass(slots=True)
class _Process:
    process: JobProcess | None = None
    kill_signal: str | None = None


class SubagentNode:
    """The Subagent's core: its dedication, its running processes and its events of the current run."""

    def __init__(
        self,
        *,
        work_dir: Path,
        subagent_id: str | None = None,
        launcher: ProcessLauncher | None = None,
        on_shutdown: Callable[[], None] | None = None,
    ) -> None:
        """`subagent_id`: the id the Subagent answers to (None: whatever its Director calls it)."""
        self.subagent_id = subagent_id
        self.work_dir = work_dir
        self.executables_dir = work_dir / "executables"
        self.executables_dir.mkdir(parents=True, exist_ok=True)
        self._own_launcher = launcher is None
        self.launcher = launcher if launcher is not None else ProcessLauncher()
        self.on_shutdown = on_shutdown
        self.dedication: Dedication | None = None
        self.journal: Journal = MemoryJournal.open()  # an undedicated Subagent has no events
        self._processes: dict[str, _Process] = {}
        self._processed: dict[str, int] = {}  # order id → EventId of its OrderProcessed, until released
        self._steps: dict[str, str | None] = {}  # order id → the step (StartOrderProcess.step) started last
        self._tasks: set[asyncio.Task[None]] = set()
        self.last_director_contact: float | None = None  # monotonic

    @property
    def running_count(self) -> int:
        return len(self._processes)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        await self._end_run("SIGKILL")
        if self._own_launcher:
            self.launcher.close()

    def overview(self) -> dict[str, Any]:
        d = self.dedication
        contact = self.last_director_contact
        return {
            "subagentId": d.subagent_id if d is not None else self.subagent_id,
            "isDedicated": d is not None,
            "agentPath": d.agent_path if d is not None else None,
            "subagentRunId": d.subagent_run_id if d is not None else None,
            "eventId": self.journal.last_event_id,
            "processes": len(self._processes),
            "secondsSinceDirectorContact": None if contact is None else round(time.monotonic() - contact, 3),
        }

    # -- commands ---------------------------------------------------------------------------------

    async def execute(self, command: SubagentCommand) -> Mapping[str, Any] | Problem:
        self.last_director_contact = time.monotonic()
        match command:
            case DedicateSubagent():
                return self._dedicate(command)
            case CoupleDirector():
                return self._couple(command)
            case StartOrderProcess():
                return self._start_order_process(command)
            case KillProcess(order_id=order_id, signal=signal):
                return self._kill(order_id, signal)
            case SubagentReleaseEvents(until_event_id=until):
                return await self._release(until)
            case SubagentShutDown(process_signal=signal, restart=restart):
                await self._end_run(signal or "SIGTERM")
                if not restart and self.on_shutdown is not None:
                    self.on_shutdown()
                return ACCEPTED
            case SubagentNoOperation():
                return ACCEPTED
        return problem("UnknownCommand", f"Unknown Subagent command {type(command).__name__}")

    def _dedicate(self, command: DedicateSubagent) -> Mapping[str, Any] | Problem:
        if self.subagent_id is not None and command.subagent_id != self.subagent_id:
            return problem("SubagentIdMismatch", f"This is Subagent {self.subagent_id!r}, not {command.subagent_id!r}")
        d = self.dedication
        if d is None:
            d = self.dedication = Dedication(
                subagent_id=command.subagent_id,
                agent_path=command.agent_path,
                agent_run_id=command.agent_run_id,
                controller_id=command.controller_id,
                subagent_run_id=uuid.uuid4().hex,
            )
            self.journal = MemoryJournal.open()
            self.journal.register_reader(DIRECTOR_READER)
            log.info("Subagent %s dedicated to Agent %s (run %s)", d.subagent_id, d.agent_path, d.subagent_run_id)
        elif (d.subagent_id, d.agent_path, d.agent_run_id, d.controller_id) != (
            command.subagent_id,
            command.agent_path,
            command.agent_run_id,
            command.controller_id,
        ):
            return problem(
                "SubagentAlreadyDedicated",
                f"Subagent {d.subagent_id} is dedicated to Agent {d.agent_path} of Controller {d.controller_id}",
            )
        return {"subagentRunId": d.subagent_run_id, "subagentEventId": 0}

    def _checked_run(self, subagent_id: str, subagent_run_id: str | None = None) -> Problem | None:
        d = self.dedication
        if d is None:
            return problem("SubagentNotDedicated", "The Subagent is not dedicated (it restarted)")
        if subagent_id != d.subagent_id:
            return problem("SubagentIdMismatch", f"This is Subagent {d.subagent_id!r}, not {subagent_id!r}")
        if subagent_run_id is not None and subagent_run_id != d.subagent_run_id:
            return problem("SubagentRunIdMismatch", "The Subagent has another run now (it restarted)")
        return None

    def _couple(self, command: CoupleDirector) -> Mapping[str, Any] | Problem:
        refused = self._checked_run(command.subagent_id, command.subagent_run_id)
        if refused is not None:
            return refused
        if command.event_id > self.journal.last_event_id:
            return problem("UnknownEventId", f"Unknown EventId {command.event_id} of this Subagent's run")
        return ACCEPTED

    def _start_order_process(self, command: StartOrderProcess) -> Mapping[str, Any] | Problem:
        if self.dedication is None:
            return problem("SubagentNotDedicated", "The Subagent is not dedicated (it restarted)")
        order_id = command.order_id
        if order_id in self._processes or order_id in self._processed:
            if command.step is None or self._steps.get(order_id) == command.step:
                return ACCEPTED  # the Director repeats its command after a connection loss: started once
            if order_id in self._processes:
                return problem("InvalidRequest", f"Order {order_id}: another step of it still runs here")
            # The order's next step: the Director journaled the earlier step's outcome before it started
            # this one, so that outcome is as good as released (found by the suite: a next step on the same
            # Subagent before the periodic ReleaseEvents was taken for a repetition and never ran).
            del self._processed[order_id]
        self._steps[order_id] = command.step
        spec = spec_of(command, work_dir=self.work_dir, executables_dir=self.executables_dir)
        journal = self.journal
        if isinstance(spec, Problem):
            self._processed_now(journal, order_id, Failed(error_message=spec.message))
            return ACCEPTED
        entry = self._processes[order_id] = _Process()

        async def on_output(kind: str, chunk: str) -> None:
            event = OrderStdoutWritten(chunk=chunk) if kind == "stdout" else OrderStderrWritten(chunk=chunk)
            journal.persist([KeyedEvent(order_id, event)]).result()

        async def run() -> None:
            outcome: Outcome
            try:
                process = await self.launcher.start(spec, on_output)
                entry.process = process
                if entry.kill_signal is not None:
                    process.kill(immediately=entry.kill_signal == "SIGKILL")
                outcome = await process.wait()
            except Exception as e:  # the process could not be started: the step fails
                log.warning("Order %s: job process failed: %s", order_id, e)
                outcome = Failed(error_message=f"{type(e).__name__}: {e}")
            if self._processes.get(order_id) is entry:
                del self._processes[order_id]
                self._processed_now(journal, order_id, outcome)

        self._spawn(run())
        return ACCEPTED

    def _processed_now(self, journal: Journal, order_id: str, outcome: Outcome) -> None:
        stamped = journal.persist([KeyedEvent(order_id, OrderProcessed(outcome=outcome))]).result()
        if journal is self.journal:
            self._processed[order_id] = stamped[-1].event_id

    def _kill(self, order_id: str, signal: str) -> Mapping[str, Any] | Problem:
        if signal not in ("SIGTERM", "SIGKILL"):
            return problem("InvalidRequest", f"KillProcess.signal must be SIGTERM or SIGKILL, not {signal!r}")
        entry = self._processes.get(order_id)
        if entry is not None:
            entry.kill_signal = "SIGKILL" if "SIGKILL" in (signal, entry.kill_signal) else signal
            if entry.process is not None:
                entry.process.kill(immediately=signal == "SIGKILL")
        return ACCEPTED

    async def _release(self, until: int) -> Mapping[str, Any] | Problem:
        if self.dedication is None:
            return problem("SubagentNotDedicated", "The Subagent is not dedicated (it restarted)")
        acknowledged = self.journal.acknowledge(DIRECTOR_READER, until)
        if isinstance(acknowledged, Problem):
            return acknowledged
        for order_id, event_id in list(self._processed.items()):
            if event_id <= until:
                del self._processed[order_id]
                if order_id not in self._processes:
                    self._steps.pop(order_id, None)
        # A new segment now, so that everything up to here can go (a Subagent's "snapshot" is empty).
        self.journal.snapshot_async(list).result()
        self.journal.release_events()
        return ACCEPTED

    async def _end_run(self, signal: str) -> None:
        """Kill the run's processes and forget the run: the Subagent is undedicated (a new run next)."""
        for entry in self._processes.values():
            entry.kill_signal = signal
            if entry.process is not None:
                entry.process.kill(immediately=signal == "SIGKILL")
        tasks = list(self._tasks)
        if tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)
        self._processes.clear()
        self._processed.clear()
        self._steps.clear()
        if self.dedication is not None:
            log.info("Subagent %s: run %s ended", self.dedication.subagent_id, self.dedication.subagent_run_id)
        self.dedication = None
        self.journal = MemoryJournal.open()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
