"""How the Controller adopts an Agent's events (JS7's AgentDriver does the same).

The Agent journals what happened to the orders attached to it; the Controller writes the same order
events into its own journal — with the Agent-side bookkeeping events turned into their Controller
counterparts — together with `AgentEventsObserved`, in one commit, so that it resumes exactly after
the last adopted Agent event.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from js7es.domain.agent.events import AgentEvent, AgentEventsObserved
from js7es.domain.agent.subagent_events import SubagentResetStarted
from js7es.domain.event import KeyedEvent, Stamped
from js7es.domain.order.apply import apply_order
from js7es.domain.order.events import (
    OrderAttached,
    OrderAttachedToAgent,
    OrderCancellationMarked,
    OrderCancellationMarkedOnAgent,
    OrderEvent,
    OrderExternalVanished,
    OrderForked,
    OrderGoMarked,
    OrderResumptionMarked,
    OrderSuspensionMarked,
    OrderSuspensionMarkedOnAgent,
)
from js7es.domain.order.order import Order, forked_child
from js7es.domain.orderwatch.events import ExternalOrderVanished, OrderWatchEvent
from js7es.domain.orderwatch.state import ExternalState, HasOrder, transition
from js7es.domain.problem import Problem, problem

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState, PreApplied


def controller_events(agent_path: str, stamped: Iterable[Stamped]) -> list[KeyedEvent]:
    """The Controller's events for a batch of the Agent's events, ending with AgentEventsObserved."""
    result: list[KeyedEvent] = []
    last = None
    for s in stamped:
        last = s.event_id
        event = s.event
        match event:
            case OrderAttachedToAgent():
                result.append(KeyedEvent(s.key, OrderAttached(agent_path=agent_path)))
            case OrderCancellationMarked():
                result.append(KeyedEvent(s.key, OrderCancellationMarkedOnAgent()))
            case OrderSuspensionMarked():
                result.append(KeyedEvent(s.key, OrderSuspensionMarkedOnAgent()))
            case OrderResumptionMarked() | OrderGoMarked():
                pass  # the Controller wrote it itself
            case OrderEvent() | OrderWatchEvent():
                result.append(KeyedEvent(s.key, event))
            case SubagentResetStarted():
                result.append(KeyedEvent(s.key, event))  # ends the Controller's pending reset
            case AgentEvent():
                pass  # the Agent's own bookkeeping
    if last is not None:
        result.append(KeyedEvent(agent_path, AgentEventsObserved(until_event_id=last)))
    return result


def check_applicable(
    orders: dict[str, Order], events: Iterable[KeyedEvent], checked: PreApplied | None = None
) -> Problem | None:
    """Whether the order events apply, in order, to the Controller's orders (without changing them).

    An Agent's event that does not fit the Controller's view is refused rather than applied: the
    Controller stays consistent and reports the Agent as failed to couple. `checked` receives each
    order event's (event, order, applied order), for `ControllerState.applying_checked`.
    """
    scratch: dict[str, Order] = {}
    for keyed in events:
        event = keyed.event
        if not isinstance(event, OrderEvent):
            continue
        order = scratch.get(keyed.key) or orders.get(keyed.key)
        if order is None:
            return problem("UnknownOrder", f"Agent event {type(event).__name__} for unknown order {keyed.key!r}")
        applied = apply_order(order, event)
        if isinstance(applied, Problem):
            return applied
        scratch[keyed.key] = applied  # a new Order already (a copy of it cost the Controller 7 %)
        if checked is not None:
            checked[id(event)] = (event, order, applied)
        if isinstance(event, OrderForked):  # forked on the Agent: the children's events follow
            for child in event.children:
                scratch[child.order_id] = forked_child(order, child.order_id, child.branch_id, child.arguments)
    return None


def adopted_order_watch_events(state: ControllerState, events: list[KeyedEvent]) -> list[KeyedEvent] | Problem:
    """The Agent's events with the Controller's part of its FileWatch events (JS7's AgentDriver and
    OrderWatchStateHandler.toOrderExternalVanished): right after an ExternalOrderVanished, the file's
    order gets OrderExternalVanished in the same commit. Events of FileWatches the Controller deleted
    meanwhile are dropped (the Agent announces their files vanished when it detaches them); a FileWatch
    event that does not fit is refused."""
    scratch: dict[tuple[str, str], ExternalState | None] = {}
    marked: set[str] = set()
    result = []
    for keyed in events:
        event = keyed.event
        if not isinstance(event, OrderWatchEvent):
            result.append(keyed)
            continue
        watch = state.order_watches.watches.get(keyed.key)
        if watch is None:
            continue
        at = (keyed.key, event.external_order_name)
        current = scratch[at] if at in scratch else watch.external.get(event.external_order_name)
        new = transition(current, event, watch.item.key)
        if isinstance(new, Problem):
            return new
        scratch[at] = new
        result.append(keyed)
        if isinstance(event, ExternalOrderVanished) and isinstance(current, HasOrder):
            order = state.orders.get(current.order_id)
            link = None if order is None else order.external_order
            if (
                link is not None
                and (link.order_watch_path, link.name) == at
                and not link.vanished
                and current.order_id not in marked
            ):
                marked.add(current.order_id)
                result.append(KeyedEvent(current.order_id, OrderExternalVanished()))
    return result
