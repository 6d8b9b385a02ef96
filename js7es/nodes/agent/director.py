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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from js7es.domain.agent.agent_state import AgentState
from js7es.domain.agent.commands import AgentCommand, DedicateAgentDirector
from js7es.domain.agent.decide import AgentContext, decide
from js7es.domain.agent.subagent_events import SubagentResetStarted
from js7es.domain.event import KeyedEvent, Stamped
from js7es.domain.problem import Problem, problem
from js7es.journal.api import Journal
from js7es.nodes.agent.file_watch import FileWatcher
from js7es.nodes.agent.job_runner import JobRunner
from js7es.nodes.agent.subagents import ClientFactory
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
        state: AgentState | None = None,
        agent_path: str | None = None,
        subagent_client_factory: ClientFactory | None = None,
    ) -> None:
        """`launcher`: the local Subagent's process launcher (default: the job runner makes its own).
        `state`: recovered from `journal` already (a Director of a pair: its cluster node recovers it).
        `agent_path`: the Agent this Director is configured for (a Director pair knows it): another
        AgentPath in DedicateAgentDirector is refused.
        `subagent_client_factory`: a client of a remote Subagent's URI (None: only the local Subagent)."""
        self.journal = journal
        if state is None:
            state = recover_state(journal, AgentState)
        self.state = state
        self.configured_agent_path = agent_path
        self.engine = Engine(
            state=state,
            journal=journal,
            here=state.agent_path,
            controller_id=state.controller_id or "",
            snapshot_after_events=snapshot_after_events,
        )
        self.runner = JobRunner(
            self.engine,
            work_dir=work_dir,
            process_limit=process_limit,
            launcher=launcher,
            subagent_client_factory=subagent_client_factory,
        )
        self.engine.on_commit(self.runner.on_commit)
        self.engine.before_commit(self.runner.before_commit)
        self.file_watcher = FileWatcher(self.engine)
        self.engine.on_commit(self.file_watcher.on_commit)
        self.engine.on_commit(self._subagents_reset)
        self._reset_tasks: set[asyncio.Task[None]] = set()

    def _subagents_reset(self, stamped: Sequence[Stamped]) -> None:
        """A ResetSubagent's SubagentResetStarted is committed: the pool resets that Subagent (its steps end
        as ProcessLost, it is dedicated again). `force` is JS7's (a reset even of a Subagent that does not
        answer): the pool's reset ends an unreachable Subagent's run when it is reached again anyway."""
        for s in stamped:
            if isinstance(s.event, SubagentResetStarted):
                task = asyncio.get_running_loop().create_task(self.reset_subagent(s.key))
                self._reset_tasks.add(task)
                task.add_done_callback(self._reset_tasks.discard)

    async def start(self) -> None:
        if self.state.is_dedicated:
            if CONTROLLER_READER not in self.journal.readers():
                # A Director pair's new active node: the reader positions are not replicated (they are
                # no events); the Controller's next ReleaseEvents sets its position here.
                self.journal.register_reader(CONTROLLER_READER)
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
        if (
            isinstance(command, DedicateAgentDirector)
            and self.configured_agent_path is not None
            and command.agent_path != self.configured_agent_path
        ):
            return problem(
                "AgentPathMismatch",
                f"This Agent Director is configured for {self.configured_agent_path!r}, not {command.agent_path!r}",
            )
        was_dedicated = self.state.is_dedicated
        ctx = self._context(command)
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

    async def execute_batch(self, commands: Sequence[AgentCommand]) -> list[Mapping[str, Any] | Problem]:
        """The commands of a Batch (no DedicateAgentDirector among them), each decided on the state the
        ones before it left and its events applied with their follow-ups at once, as `execute` does;
        all persisted in ONE commit, every answer given once it is committed. One pass instead of a task
        and a commit waiter per command (bench/node_bench.py's profile: the Agent's command handling)."""
        assert not any(isinstance(c, DedicateAgentDirector) for c in commands)
        await self.engine.admission()
        answers: list[Mapping[str, Any] | Problem] = []
        events: list[KeyedEvent] = []
        ctx = self._context(None)  # nothing is committed during the pass: one context for all
        for command in commands:
            decided = decide(self.state, command, ctx)
            if isinstance(decided, Problem):
                answers.append(decided)
                continue
            events.extend(self.engine.apply_and_follow(decided.events, follow=decided.touched_orders))
            answers.append(decided.reply)
        await self.engine.persist(events)  # without events: waits for the commits in flight
        return answers

    def _context(self, command: AgentCommand | None) -> AgentContext:
        # A new AgentRunId only where one may be used: uuid4 reads the OS's random source
        run_id = uuid.uuid4().hex if isinstance(command, DedicateAgentDirector) else ""
        return AgentContext(new_agent_run_id=run_id, last_event_id=self.journal.last_event_id)

    async def release_events(self, until_event_id: int) -> Problem | None:
        if not self.state.is_dedicated:
            return problem("AgentNotDedicated", "This Agent is not dedicated to a Controller")
        acknowledged = self.journal.acknowledge(CONTROLLER_READER, until_event_id)
        if isinstance(acknowledged, Problem):
            return acknowledged
        await asyncio.to_thread(self.journal.release_events)
        return None

    async def reset_subagent(self, subagent_id: str) -> None:
        """ResetSubagent: the steps processing on that remote Subagent end as ProcessLost (killed there
        if it answers), and the Subagent is dedicated again."""
        await self.runner.pool.reset(subagent_id)

    def overview(self) -> dict[str, Any]:
        return {
            "agentPath": self.state.agent_path,
            "controllerId": self.state.controller_id,
            "isDedicated": self.state.is_dedicated,
            "eventId": self.journal.last_event_id,
            "orders": len(self.state.orders),
            "processes": self.runner.running_count,
            "subagents": {
                i: {"uri": d.uri, "coupled": d.is_coupled, "problem": d.last_problem}
                for i, d in sorted(self.runner.pool.remotes.items())
            },
        }
