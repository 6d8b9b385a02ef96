"""ChangeOrder (JS7 2.7): change an order's priority (OrderPriorityChanged); nothing when it is the same.
GoOrder: an order waiting for a time goes on now."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from js7es.domain import codec
from js7es.domain.commands.base import Command, Decided, handles
from js7es.domain.event import KeyedEvent
from js7es.domain.order.context import Context
from js7es.domain.order.events import OrderGoMarked, OrderPriorityChanged
from js7es.domain.order.go import go_events, go_inapplicable
from js7es.domain.problem import Problem, problem
from js7es.domain.workflow.position import Position

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeOrder(Command):
    order_id: str
    priority: int | Decimal | None = None  # JS7 2.7's BigDecimal


@handles(ChangeOrder)
def change_order(state: ControllerState, command: ChangeOrder, ctx: Context) -> Decided | Problem:
    order = state.orders.get(command.order_id)
    if order is None:
        return problem("UnknownOrder", f"Unknown order {command.order_id!r}", orderId=command.order_id)
    if command.priority is None or command.priority == order.effective_priority:
        return Decided()
    if order.is_terminal:
        return problem("OrderIsTerminated", f"Order {order.id!r} has terminated", orderId=order.id)
    return Decided(
        events=(KeyedEvent(order.id, OrderPriorityChanged(priority=command.priority)),),
        touched_orders=(order.id,),
    )


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class GoOrder(Command):
    """JS7's GoOrder: an order waiting for a time at `position` goes on now (js7es.domain.order.go)."""

    order_id: str
    position: Position


@handles(GoOrder)
def go_order(state: ControllerState, command: GoOrder, ctx: Context) -> Decided | Problem:
    order = state.orders.get(command.order_id)
    if order is None:
        return problem("UnknownOrder", f"Unknown order {command.order_id!r}", orderId=command.order_id)
    if not order.is_go_commandable(tuple(command.position)):
        return go_inapplicable(order.id)
    # On an Agent it is marked, even when marked already (JS7: a futile mark's MarkOrder is sent again).
    events = go_events(order) if order.attached is None else [OrderGoMarked(position=order.position)]
    return Decided(events=tuple(KeyedEvent(order.id, e) for e in events), touched_orders=(order.id,))
