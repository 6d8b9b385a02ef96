"""The Controller → Agent Director protocol (JS7's AgentCommand): typed commands, encoded by the codec at
both ends (``POST /agent/api/command``), never dicts built by hand.

Every command is idempotent, because the Controller repeats its commands after any connection loss.
`Batch` carries several commands in one request; the Agent applies them in order and commits them
together, and answers a list with one reply (or problem) per command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from js7es.domain import codec
from js7es.domain.order.order import Order, OrderMark


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentCommand:
    """Base of the commands a Controller sends its Agent Director."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DedicateAgentDirector(AgentCommand):
    """Dedicate the Agent to this Controller for good (JS7's DedicateAgentDirector)."""

    agent_path: str
    controller_id: str
    directors: tuple[str, ...] = ()


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class CoupleController(AgentCommand):
    """The Controller resumes reading the Agent's events after `event_id` of the journal `agent_run_id`."""

    agent_path: str
    agent_run_id: str
    event_id: int


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AttachItems(AgentCommand):
    """Workflows and job resources the orders sent next need, as their item JSON."""

    items: tuple[Mapping[str, Any], ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DetachItem(AgentCommand):
    """The Controller deleted the item (JS7's DetachItem): for a FileWatch, "OrderWatch:path"."""

    key: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AttachOrder(AgentCommand):
    order: Order


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DetachOrder(AgentCommand):
    order_id: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class MarkOrder(AgentCommand):
    """Cancel, suspend or resume an order that is on the Agent (its mark)."""

    order_id: str
    mark: OrderMark


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ResetSubagent(AgentCommand):
    """Reset a Subagent of this Agent (JS7's AgentCommand.ResetSubagent): its running processes are
    taken as lost; `force` resets it even when it cannot be reached."""

    subagent_id: str
    force: bool = False


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseAgentEvents(AgentCommand):
    """The Controller has the Agent's events up to `until_event_id` in its own journal."""

    TYPE_NAME = "ReleaseEvents"
    until_event_id: int


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ShutDownAgent(AgentCommand):
    TYPE_NAME = "ShutDown"
    process_signal: str | None = None
    suppress_snapshot: bool = False
    restart: bool = False


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentNoOperation(AgentCommand):
    TYPE_NAME = "NoOperation"


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentClusterSwitchOver(AgentCommand):
    """The active Director of a pair hands over to the standby (the Controller's ClusterSwitchOver with
    agentPath, forwarded to the Agent)."""

    TYPE_NAME = "ClusterSwitchOver"


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentBatch(AgentCommand):
    TYPE_NAME = "Batch"
    commands: tuple[AgentCommand, ...]


def agent_command_classes() -> dict[str, type[AgentCommand]]:
    """Every command of the protocol by its TYPE."""
    return {name: cls for name, cls in codec.registered(AgentCommand).items()}
