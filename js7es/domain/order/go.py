"""GoOrder's effect on a waiting order (JS7's IsGoCommandable.go): OrderGoes, then the event that ends
its wait — OrderStarted for a scheduled Fresh order, OrderAwoke for a retry's delay, OrderMoved past a
Sleep (js7es's sleep ends with OrderMoved alone), OrderCycleStarted for the next cycle."""

from __future__ import annotations

from js7es.domain.order.events import OrderAwoke, OrderCycleStarted, OrderEvent, OrderGoes, OrderMoved, OrderStarted
from js7es.domain.order.order import Order
from js7es.domain.order.states import BetweenCycles, DelayingRetry, Fresh, Sleeping
from js7es.domain.problem import Problem, problem
from js7es.domain.workflow import position as pos


def go_events(order: Order) -> list[OrderEvent]:
    """The events of an order that is go-commandable (Order.is_go_commandable)."""
    match order.state:
        case Fresh():
            return [OrderGoes(), OrderStarted()]
        case DelayingRetry():
            return [OrderGoes(), OrderAwoke()]
        case Sleeping():
            return [OrderGoes(), OrderMoved(to=pos.next_of(order.position))]
        case BetweenCycles():
            return [OrderGoes(), OrderCycleStarted()]
    raise AssertionError(f"Order {order.id!r} is not go-commandable")


def go_inapplicable(order_id: str) -> Problem:
    """JS7's GoOrderInapplicableProblem."""
    return problem(
        "GoOrderInapplicable",
        f"Order {order_id!r} cannot go: it does not wait for a time at the given position",
        orderId=order_id,
    )
