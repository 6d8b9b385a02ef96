"""The Director's Subagents (JS7's SubagentKeeper and SubagentDriver): one driver per Subagent of the
Agent, through which the JobRunner starts and kills job steps there.

- `LocalSubagentDriver`: the Director's own Subagent, its ProcessLauncher; always coupled.
- `RemoteSubagentDriver` (remote_subagent.py): a Subagent process reached over HTTP, coupled or not.
- `SubagentPool`: keeps one driver per Subagent of the Agent as AgentState says — the local one
  (`state.local_subagent_id`) and a remote one for each SubagentItem of this Agent with its URI —,
  made, replaced when the URI changes, stopped when the item goes; `changed()` tells the JobRunner that
  a Subagent became coupled, uncoupled or enabled, so that waiting orders may start.

The contract of `start` is ProcessLauncher.start's: a JobProcess whose `wait()` gives the outcome. A
remote process's output and outcome are journaled by the JobRunner when the Subagent's events arrive,
together with the Subagent's event position (SubagentEventsObserved), so its `wait()` (a
RemoteJobProcess's) returns after that commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from js7es.domain.agent.agent_state import AgentState
from js7es.domain.event import Event, Stamped
from js7es.domain.items import SubagentItem
from js7es.domain.order.outcome import Outcome
from js7es.nodes.subagent.base import JobProcess
from js7es.nodes.subagent.launcher import ProcessLauncher
from js7es.nodes.subagent.spec import OutputCallback, ProcessSpec

if TYPE_CHECKING:
    from js7es.nodes.agent.remote_subagent import RemoteSubagentDriver, SubagentClient
    from js7es.nodes.engine import Engine

log = logging.getLogger(__name__)


class SubagentDriver(Protocol):
    """Runs job steps on one Subagent."""

    @property
    def subagent_id(self) -> str: ...

    @property
    def is_coupled(self) -> bool:
        """Whether new steps may start there now."""

    async def start(self, spec: ProcessSpec, on_output: OutputCallback) -> JobProcess:
        """Start (or, after a Director restart, re-attach to) the order's step: ProcessLauncher.start's contract."""

    async def stop(self) -> None:
        """Stop driving the Subagent (its processes go on)."""


class LocalSubagentDriver:
    """The Director's own Subagent: its process launcher, always coupled."""

    def __init__(self, launcher: ProcessLauncher, subagent_id: Callable[[], str | None]) -> None:
        self.launcher = launcher
        self._subagent_id = subagent_id

    @property
    def subagent_id(self) -> str:
        return self._subagent_id() or ""

    @property
    def is_coupled(self) -> bool:
        return True

    async def start(self, spec: ProcessSpec, on_output: OutputCallback) -> JobProcess:
        return await self.launcher.start(spec, on_output)

    async def stop(self) -> None:
        pass


class SubagentHost(Protocol):
    """What a remote driver needs of the Director (the JobRunner): the state, the engine, and the
    journaling of what the Subagent reports."""

    @property
    def state(self) -> AgentState: ...

    engine: Engine

    async def subagent_events(self, subagent_id: str, stamped: list[Stamped]) -> None:
        """Journal the Subagent's events (output, outcomes) with SubagentEventsObserved, in one commit."""

    async def subagent_lost(self, subagent_id: str, died: Event, message: str) -> None:
        """The Subagent lost its run: end every step processing there (ProcessLost), with `died`."""

    def subagents_changed(self) -> None:
        """A Subagent became coupled or uncoupled: waiting orders may start."""


class RemoteJobProcess(JobProcess):
    """A step on a remote Subagent: its outcome comes with the Subagent's events, journaled already when
    `wait()` returns."""

    def __init__(self, kill: Callable[[str, bool], None], order_id: str) -> None:
        self._kill = kill
        self.order_id = order_id
        self.outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

    async def wait(self) -> Outcome:
        return await asyncio.shield(self.outcome)

    def kill(self, immediately: bool = False) -> None:
        self._kill(self.order_id, immediately)

    def processed(self, outcome: Outcome) -> None:
        if not self.outcome.done():
            self.outcome.set_result(outcome)


ClientFactory = Callable[[str], "SubagentClient"]


class SubagentPool:
    """One driver per Subagent of the Agent (see the module's docstring)."""

    def __init__(
        self,
        local: LocalSubagentDriver,
        *,
        client_factory: ClientFactory | None = None,
        heartbeat_s: float = 3.0,
        heartbeat_timeout_s: float = 10.0,
        release_period_s: float = 1.0,
    ) -> None:
        """`client_factory`: a client of a Subagent's URI; None: only the local Subagent is used."""
        self.local = local
        self.client_factory = client_factory
        self.heartbeat_s = heartbeat_s
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.release_period_s = release_period_s
        self.remotes: dict[str, RemoteSubagentDriver] = {}
        self._host: SubagentHost | None = None
        self._updating = asyncio.Lock()  # one update at a time: a driver per Subagent, never two
        self._on_change: Callable[[], None] = lambda: None

    def attach(self, host: SubagentHost) -> None:
        self._host = host
        self._on_change = host.subagents_changed

    def driver(self, subagent_id: str | None) -> SubagentDriver | None:
        if subagent_id is None or subagent_id == self.local.subagent_id:
            return self.local
        return self.remotes.get(subagent_id)

    def is_coupled(self, subagent_id: str) -> bool:
        if subagent_id == self.local.subagent_id:
            return True
        remote = self.remotes.get(subagent_id)
        return remote is not None and remote.is_coupled

    def is_remote(self, subagent_id: str | None) -> bool:
        return subagent_id is not None and subagent_id in self.remotes

    def changed(self) -> None:
        self._on_change()

    def wanted(self, state: AgentState) -> dict[str, SubagentItem]:
        """The remote Subagents of this Agent: its SubagentItems but the Directors' own."""
        if self.client_factory is None or not state.is_dedicated:
            return {}
        return {
            s.id: s
            for s in state.subagents.values()
            if s.agent_path == state.agent_path and s.id not in state.directors and s.id != state.local_subagent_id
        }

    async def update(self, state: AgentState) -> None:
        """Make the drivers match the state's SubagentItems (after a commit that may have changed them)."""
        async with self._updating:
            await self._update(state)

    async def _update(self, state: AgentState) -> None:
        from js7es.nodes.agent.remote_subagent import RemoteSubagentDriver

        wanted = self.wanted(state)
        for subagent_id in [i for i in self.remotes if i not in wanted]:
            log.info("Subagent %s is no longer one of this Agent's", subagent_id)
            await self.remotes.pop(subagent_id).stop()
        for subagent_id, item in wanted.items():
            existing = self.remotes.get(subagent_id)
            if existing is not None and existing.uri == item.uri:
                continue
            assert self._host is not None and self.client_factory is not None
            driver = RemoteSubagentDriver(
                subagent_id=subagent_id,
                uri=item.uri,
                host=self._host,
                client_factory=self.client_factory,
                on_coupling=self.changed,
                heartbeat_s=self.heartbeat_s,
                heartbeat_timeout_s=self.heartbeat_timeout_s,
                release_period_s=self.release_period_s,
            )
            if existing is not None:  # a new URI: the steps running there are followed at the new one
                await existing.stop()
                driver.adopt(existing)
            self.remotes[subagent_id] = driver
            driver.start_observing()

    async def reset(self, subagent_id: str) -> None:
        """ResetSubagent: kill the Subagent's processes (if it answers), end the steps that ran there
        as ProcessLost (SubagentReset), and dedicate it again."""
        remote = self.remotes.get(subagent_id)
        if remote is not None:
            await remote.reset()

    async def stop(self) -> None:
        await asyncio.gather(*(r.stop() for r in self.remotes.values()), return_exceptions=True)
        self.remotes.clear()
