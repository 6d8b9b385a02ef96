"""Commands: one small module per family, each handler registered in one table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from js7es.domain.commands import (  # noqa: F401  (registers the handlers)
    change_order,
    items,
    notices,
    orders,
    subagents,
    transfer,
    workflow_controls,
)
from js7es.domain.commands.base import HANDLERS, Command, Decided
from js7es.domain.event import KeyedEvent
from js7es.domain.order.context import Context
from js7es.domain.order.event_source import InapplicableEventError, follow_up
from js7es.domain.problem import Problem, problem

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState


def decide(state: ControllerState, command: Command, ctx: Context) -> Decided | Problem:
    """The events a command yields, or the Problem why it is refused; the state is not changed."""
    handler = HANDLERS.get(type(command))
    if handler is None:
        return problem("UnknownCommand", f"Unknown command {type(command).__name__}")
    return handler(state, command, ctx)


def execute(state: ControllerState, command: Command, ctx: Context) -> Decided | Problem:
    """Decide, apply to `state`, and follow every touched order until it waits.

    Returns all events to persist (the command's own, then what the orders did next). A refused
    command changes nothing.
    """
    decided = decide(state, command, ctx)
    if isinstance(decided, Problem):
        return decided
    for keyed in decided.events:
        result = state.apply_event(keyed.key, keyed.event)
        if result is not None:
            raise InapplicableEventError(f"{result} (decided by {type(command).__name__})")
    from js7es.domain.orderwatch.decide import order_watch_follow_up

    more = follow_up(state, decided.touched_orders, ctx)
    more.extend(order_watch_follow_up(state, ctx))  # a deleted file order lets its reappeared file in
    more.extend(obsolete_item_events(state))
    return Decided(events=(*decided.events, *more), reply=decided.reply, touched_orders=decided.touched_orders)


def obsolete_item_events(state: ControllerState) -> list[KeyedEvent]:
    """Delete workflow versions that are no longer current and no order uses (applied to state)."""
    from js7es.domain.items import ItemDeleted

    events = []
    for wid in state.obsolete_workflow_ids():
        event = ItemDeleted(key=f"Workflow:{wid}")
        result = state.apply_event("", event)
        if result is not None:
            raise InapplicableEventError(str(result))
        events.append(KeyedEvent("", event))
    for key in state.obsolete_control_keys():  # after their workflows (js7es.domain.workflow_control)
        event = ItemDeleted(key=key)
        result = state.apply_event("", event)
        if result is not None:
            raise InapplicableEventError(str(result))
        events.append(KeyedEvent("", event))
    return events


__all__ = ["Command", "Decided", "decide", "execute", "obsolete_item_events"]
