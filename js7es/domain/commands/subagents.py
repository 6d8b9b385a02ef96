"""Subagents by command (issue 16): ResetSubagent (JS7's ControllerCommand.ResetSubagent) and
enabling or disabling Subagents (JOC's /agents/inventory/cluster/subagents/enable|disable, which JS7
does by changing the SubagentItem's `disabled` in an item update: these commands write that change).

A disabled Subagent starts no new job (js7es.domain.agent.selection); its running processes go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from js7es.domain import codec
from js7es.domain.agent.subagent_events import SubagentResetStartedByController
from js7es.domain.commands.base import Command, Decided, handles
from js7es.domain.event import NO_KEY, KeyedEvent
from js7es.domain.items import UnsignedSimpleItemChanged
from js7es.domain.order.context import Context
from js7es.domain.problem import Problem, problem
from js7es.domain.value import value_from_json

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ResetSubagent(Command):
    """Reset a Subagent: its Agent's Director takes its running processes as lost (they run again,
    unless the job is not restartable); `force` even when the Subagent cannot be reached."""

    subagent_id: str
    force: bool = False


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class EnableSubagents(Command):
    subagent_ids: tuple[str, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DisableSubagents(Command):
    subagent_ids: tuple[str, ...]


@handles(ResetSubagent)
def reset_subagent(state: ControllerState, command: ResetSubagent, ctx: Context) -> Decided | Problem:
    subagent = state.subagents.get(command.subagent_id)
    if subagent is None:
        return _unknown(command.subagent_id)
    ref = state.agent_refs.get(subagent.agent_path)
    if ref is None or command.subagent_id in (ref.directors or (ref.path,)):
        return problem(
            "SubagentIsDirector",
            f"{command.subagent_id} as an Agent Director cannot be reset",
            key=f"SubagentItem:{command.subagent_id}",
        )
    if state.subagent_resets.get(command.subagent_id) == command.force:
        return Decided()  # on its way already (JS7: no second event while Resetting(force))
    event = SubagentResetStartedByController(force=command.force)
    return Decided(events=(KeyedEvent(command.subagent_id, event),))


@handles(EnableSubagents)
def enable_subagents(state: ControllerState, command: EnableSubagents, ctx: Context) -> Decided | Problem:
    return _set_disabled(state, command.subagent_ids, disabled=False)


@handles(DisableSubagents)
def disable_subagents(state: ControllerState, command: DisableSubagents, ctx: Context) -> Decided | Problem:
    return _set_disabled(state, command.subagent_ids, disabled=True)


def _set_disabled(state: ControllerState, subagent_ids: tuple[str, ...], *, disabled: bool) -> Decided | Problem:
    events = []
    for subagent_id in dict.fromkeys(subagent_ids):
        subagent = state.subagents.get(subagent_id)
        if subagent is None:
            return _unknown(subagent_id)
        if subagent.disabled != disabled:
            raw = {**subagent.raw, "disabled": disabled}
            events.append(KeyedEvent(NO_KEY, UnsignedSimpleItemChanged(item=value_from_json(raw))))
    return Decided(events=tuple(events))


def _unknown(subagent_id: str) -> Problem:
    return problem("UnknownItem", f"Unknown SubagentItem:{subagent_id}", key=f"SubagentItem:{subagent_id}")
