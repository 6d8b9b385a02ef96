"""Events about Agents (JS7's AgentRefStateEvent on the Controller; the Agent's own events).

On the Controller they are keyed by the agent path. On the Agent (its own journal) they are not keyed.
"""

from __future__ import annotations

from dataclasses import dataclass

from js7es.domain import codec
from js7es.domain.event import Event
from js7es.domain.value import Value


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRefEvent(Event):
    """Controller side, keyed by the agent path."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDedicated(AgentRefEvent):
    """The Agent accepted this Controller; `agent_run_id` names the Agent's journal (a reset changes it)."""

    agent_run_id: str
    agent_event_id: int = 0


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentCoupled(AgentRefEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentCouplingFailed(AgentRefEvent):
    problem: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentEventsObserved(AgentRefEvent):
    """The Agent's events up to this EventId are in the Controller's journal (committed with them)."""

    until_event_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentEvent(Event):
    """Agent side (the Agent's own journal), not keyed."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDedicatedToController(AgentEvent):
    """The Agent is dedicated to one Controller for good; another Controller is refused."""

    TYPE_NAME = "AgentDirectorDedicated"
    agent_path: str
    controller_id: str
    agent_run_id: str
    directors: tuple[str, ...] = ()  # subagent ids of the Director(s); the first is the local Subagent


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ItemAttachedToMe(AgentEvent):
    """A workflow version or job resource the Controller sent (its JSON)."""

    item: Value


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ItemDetachedFromMe(AgentEvent):
    key: str


# -- the Director's Subagents (JS7's SubagentItemStateEvent), keyed by the SubagentId -------------------


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentDedicated(AgentEvent):
    """The Subagent accepted this Director; `subagent_run_id` names its run (a restart changes it).
    Its events are read from the start of that run on (SubagentEventsObserved then says how far)."""

    subagent_run_id: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentEventsObserved(AgentEvent):
    """The Subagent's events up to this EventId are in the Director's journal (committed with them)."""

    until_event_id: int


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentRestarted(AgentEvent):
    """The Subagent lost its run (it restarted): the processes it ran for this Director are lost."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentReset(AgentEvent):
    """The Subagent was reset (ResetSubagent): its processes were killed, its run is over."""
