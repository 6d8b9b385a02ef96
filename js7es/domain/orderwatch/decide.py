"""What the Controller does with the files its Agents saw (JS7's OrderWatchState.nextEvents): pure.

For each file whose order is still to be added: OrderAdded with the externalOrderKey (and the argument
`file`), or ExternalOrderRejected when the order cannot be added; for each order whose file vanished:
OrderExternalVanished. The events are applied as they are decided (as `follow_up` does); the caller
persists them in the commit of the events that caused them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from js7es.domain.commands.orders import FreshOrder, check_fresh_order
from js7es.domain.event import KeyedEvent
from js7es.domain.order.context import Context
from js7es.domain.order.event_source import InapplicableEventError, follow_up
from js7es.domain.order.events import OrderEvent, OrderExternalVanished
from js7es.domain.order.order import Order
from js7es.domain.orderwatch.events import ExternalOrderRejected
from js7es.domain.orderwatch.key import ExternalOrderKey
from js7es.domain.orderwatch.state import Appeared, HasOrder, OrderWatchState
from js7es.domain.problem import Problem

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState


MAX_ROUNDS = 10


def order_watch_follow_up(state: ControllerState, ctx: Context) -> list[KeyedEvent]:
    """`order_watch_events` and what the new orders do next, until nothing more is queued (an order
    deleted at once may let its reappeared file have a new order)."""
    result: list[KeyedEvent] = []
    for _ in range(MAX_ROUNDS):
        if not state.order_watches.has_queued():
            break
        events = order_watch_events(state, ctx)
        if not events:
            break
        result.extend(events)
        result.extend(follow_up(state, [k.key for k in events if isinstance(k.event, OrderEvent)], ctx))
    return result


def order_watch_events(state: ControllerState, ctx: Context) -> list[KeyedEvent]:
    """The events the FileWatches' queues call for now, applied to `state`."""
    result: list[KeyedEvent] = []
    for path in sorted(state.order_watches.watches):
        watch = state.order_watches.watches[path]
        if watch.vanished_queue:
            result.extend(_vanished_events(state, watch))
        if watch.added_queue:
            result.extend(_added_events(state, watch, ctx))
    return result


def _apply(state: ControllerState, keyed: KeyedEvent) -> KeyedEvent:
    checked = state.apply_event(keyed.key, keyed.event)
    if isinstance(checked, Problem):
        raise InapplicableEventError(str(checked))
    return keyed


def _vanished_events(state: ControllerState, watch: OrderWatchState) -> list[KeyedEvent]:
    result = []
    for name in sorted(watch.vanished_queue):
        current = watch.external.get(name)
        watch.vanished_queue.discard(name)
        if not isinstance(current, HasOrder):
            continue
        order = state.orders.get(current.order_id)
        if order is not None and _is_linked(order, watch.item.path, name) and not _vanished(order):
            result.append(_apply(state, KeyedEvent(order.id, OrderExternalVanished())))
    return result


def _added_events(state: ControllerState, watch: OrderWatchState, ctx: Context) -> list[KeyedEvent]:
    result = []
    item = watch.item
    for name in sorted(watch.added_queue):
        appeared = watch.external.get(name)
        if not isinstance(appeared, Appeared):
            watch.added_queue.discard(name)
            continue
        if appeared.order_id is not None:
            decided: tuple[str, int | None] | Problem = (appeared.order_id, None)
        else:
            decided = item.order_id_and_priority(name, ctx.now_ms)
        if isinstance(decided, Problem):
            result.append(_apply(state, KeyedEvent(item.path, _rejected(name, decided))))
            continue
        order_id, priority = decided
        existing = state.orders.get(order_id)
        if existing is not None:
            # JS7: the order of the file's earlier appearance is still there (its deletion queues this
            # name again), or another order has the id: the file waits.
            continue
        fresh = FreshOrder(
            id=order_id, workflow_path=item.workflow_path, arguments=appeared.arguments, priority=priority
        )
        added = check_fresh_order(state, fresh)
        if isinstance(added, Problem):
            result.append(_apply(state, KeyedEvent(item.path, _rejected(name, added))))
            continue
        key = ExternalOrderKey(order_watch_path=item.path, name=name)
        added = replace(added, external_order_key=key)
        result.append(_apply(state, KeyedEvent(order_id, added)))
    return result


def _rejected(name: str, refused: Problem) -> ExternalOrderRejected:
    return ExternalOrderRejected(external_order_name=name, problem=str(refused))


def _is_linked(order: Order, path: str, name: str) -> bool:
    link = order.external_order
    return link is not None and link.order_watch_path == path and link.name == name


def _vanished(order: Order) -> bool:
    return order.external_order is not None and order.external_order.vanished
