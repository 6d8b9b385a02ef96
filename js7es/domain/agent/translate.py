"""How the Controller adopts an Agent's events (JS7's AgentDriver does the same).

The Agent journals what happened to the orders attached to it; the Controller writes the same order
events into its own journal — with the Agent-side bookkeeping events turned into their Controller
counterparts — together with `AgentEventsObserved`, in one commit, so that it resumes exactly after
the last adopted Agent event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from js7es.domain.agent.events import AgentEvent, AgentEventsObserved
from js7es.domain.event import KeyedEvent, Stamped
from js7es.domain.order.apply import apply_order
from js7es.domain.order.events import (
    OrderAttached,
    OrderAttachedToAgent,
    OrderCancellationMarked,
    OrderCancellationMarkedOnAgent,
    OrderEvent,
    OrderForked,
    OrderGoMarked,
    OrderResumptionMarked,
    OrderSuspensionMarked,
    OrderSuspensionMarkedOnAgent,
)
from js7es.domain.order.order import Order, forked_child
from js7es.domain.problem import Problem, problem


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
            case OrderEvent():
                result.append(KeyedEvent(s.key, event))
            case AgentEvent():
                pass  # the Agent's own bookkeeping
    if last is not None:
        result.append(KeyedEvent(agent_path, AgentEventsObserved(until_event_id=last)))
    return result


def check_applicable(orders: dict[str, Order], events: Iterable[KeyedEvent]) -> Problem | None:
    """Whether the order events apply, in order, to the Controller's orders (without changing them).

    An Agent's event that does not fit the Controller's view is refused rather than applied: the
    Controller stays consistent and reports the Agent as failed to couple.
    """
    scratch: dict[str, Order] = {}
    for keyed in events:
        if not isinstance(keyed.event, OrderEvent):
            continue
        order = scratch.get(keyed.key) or orders.get(keyed.key)
        if order is None:
            return problem("UnknownOrder", f"Agent event {type(keyed.event).__name__} for unknown order {keyed.key!r}")
        applied = apply_order(order, keyed.event)
        if isinstance(applied, Problem):
            return applied
        scratch[keyed.key] = replace(applied)
        if isinstance(keyed.event, OrderForked):  # forked on the Agent: the children's events follow
            for child in keyed.event.children:
                scratch[child.order_id] = forked_child(order, child.order_id, child.branch_id, child.arguments)
    return None
