"""Events of a Subagent, keyed by its SubagentId (JS7's SubagentItemStateEvent): here the reset by
command (issue 16). JS7's flow: the Controller's ResetSubagent command writes
`SubagentResetStartedByController(force)`; the Controller's AgentDriver then sends the Agent
`ResetSubagent`, whose Director writes `SubagentResetStarted(force)` and resets the Subagent (its
orders' processes are lost and run again: issue 16 Must 4). The Controller adopts the Agent's
`SubagentResetStarted`, which ends its pending reset.
"""

from __future__ import annotations

from dataclasses import dataclass

from js7es.domain import codec
from js7es.domain.event import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentItemStateEvent(Event):
    """Base of the events keyed by a SubagentId."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentResetStartedByController(SubagentItemStateEvent):
    """The Controller was told to reset the Subagent (ResetSubagent): its Agent is told next."""

    force: bool = False


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentResetStarted(SubagentItemStateEvent):
    """The Agent Director resets the Subagent (the Agent's ResetSubagent command)."""

    force: bool = False
