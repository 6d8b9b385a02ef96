"""The Agent Director: takes orders and items from its one Controller, runs them on its own (also
while the Controller is away), journals everything, and lets the Controller read its events.

The commands from the Controller (JS7's AgentCommand names) are idempotent, because the Controller
repeats them after any connection loss: attaching an order that is here already, or detaching one
that is gone, changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from js7es.domain.agent.agent_state import AgentState
from js7es.domain.agent.commands import AgentCommand, DedicateAgentDirector
from js7es.domain.agent.decide import AgentContext, decide
from js7es.domain.problem import Problem, problem
from js7es.journal.api import Journal
from js7es.nodes.agent.file_watch import FileWatcher
from js7es.nodes.agent.job_runner import JobRunner
from js7es.nodes.engine import Engine, recover_state
from js7es.nodes.subagent.launcher import ProcessLauncher

log = logging.getLogger(__name__)

CONTROLLER_READER = "controller"


class AgentDirector:
    def __init__(
        self,
        *,
        journal: Journal,
        work_dir: Path,
        process_limit: int | None = None,
        snapshot_after_events: int = 100_000,
        launcher: ProcessLauncher | None = None,
    ) -> None:
        """`launcher`: the local Subagent's process launcher (default: the job runner makes its own)."""
        self.journal = journal
        state: AgentState = recover_state(journal, AgentState)
        self.state = state
        self.engine = Engine(
            state=state,
            journal=journal,
            here=state.agent_path,
            controller_id=state.controller_id or "",
            snapshot_after_events=snapshot_after_events,
        )
        self.runner = JobRunner(self.engine, work_dir=work_dir, process_limit=process_limit, launcher=launcher)
        self.engine.on_commit(self.runner.on_commit)
        self.engine.before_commit(self.runner.before_commit)
        self.file_watcher = FileWatcher(self.engine)
        self.engine.on_commit(self.file_watcher.on_commit)

    async def start(self) -> None:
        if self.state.is_dedicated:
            await self.runner.recover()
            self.engine.start()
            self.file_watcher.start()

    async def stop(self) -> None:
        self.engine.cancel_timers()
        await self.file_watcher.stop()
        await self.runner.stop()

    # -- commands from the Controller -------------------------------------------------------------

    async def execute(self, command: AgentCommand) -> Mapping[str, Any] | Problem:
        """Decide a command (the pure `decide`), persist its events, and answer once they — or, for an
        answer without events, the commits in flight it rests on — are committed."""
        await self.engine.admission()
        was_dedicated = self.state.is_dedicated
        ctx = AgentContext(new_agent_run_id=uuid.uuid4().hex, last_event_id=self.journal.last_event_id)
        decided = decide(self.state, command, ctx)
        if isinstance(decided, Problem):
            await self.engine.settle()
            return decided
        # without events: waits for the commits in flight
        await self.engine.emit(list(decided.events), follow=decided.touched_orders)
        if isinstance(command, DedicateAgentDirector) and not was_dedicated and self.state.is_dedicated:
            self.engine.here = self.state.agent_path
            self.engine.controller_id = self.state.controller_id or ""
            self.journal.register_reader(CONTROLLER_READER)
            await self.start()
        return decided.reply

    async def release_events(self, until_event_id: int) -> Problem | None:
        if not self.state.is_dedicated:
            return problem("AgentNotDedicated", "This Agent is not dedicated to a Controller")
        acknowledged = self.journal.acknowledge(CONTROLLER_READER, until_event_id)
        if isinstance(acknowledged, Problem):
            return acknowledged
        await asyncio.to_thread(self.journal.release_events)
        return None

    def overview(self) -> dict[str, Any]:
        return {
            "agentPath": self.state.agent_path,
            "controllerId": self.state.controller_id,
            "isDedicated": self.state.is_dedicated,
            "eventId": self.journal.last_event_id,
            "orders": len(self.state.orders),
            "processes": self.runner.running_count,
        }
