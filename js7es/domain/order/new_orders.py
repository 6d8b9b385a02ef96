"""The orders an event brings into being: OrderAdded's and OrderOrderAdded's order, and OrderForked's
child orders.

Every model that keeps orders — the ControllerState, the Cockpit's read model — makes them here, so
that an order and a child order start alike everywhere.
"""

from __future__ import annotations

from js7es.domain.order.events import OrderAdded, OrderForked, OrderOrderAdded
from js7es.domain.order.order import Order, forked_child
from js7es.domain.orderwatch.key import ExternalOrderLink
from js7es.domain.workflow.position import START


def added_order(order_id: str, event: OrderAdded) -> Order:
    """The new order of `OrderAdded`: Fresh, at its start position."""
    return Order(
        id=order_id,
        workflow_id=event.workflow_id,
        position=event.start_position or START,
        arguments=event.arguments,
        scheduled_for=event.scheduled_for,
        delete_when_terminated=event.delete_when_terminated,
        force_admission=event.force_admission,
        priority=event.priority or None,
        external_order=None
        if event.external_order_key is None
        else ExternalOrderLink(
            order_watch_path=event.external_order_key.order_watch_path, name=event.external_order_key.name
        ),
        stop_positions=event.stop_positions or None,
    )


def order_added_by(event: OrderOrderAdded) -> Order:
    """The new order of an AddOrder instruction's `OrderOrderAdded`: Fresh, at its start position."""
    return Order(
        id=event.order_id,
        workflow_id=event.workflow_id,
        position=event.start_position or START,
        arguments=event.arguments,
        delete_when_terminated=event.delete_when_terminated,
        force_admission=event.force_admission,
        stop_positions=event.stop_positions or None,
    )


def forked_children(parent: Order, event: OrderForked) -> list[Order]:
    """The child orders of `OrderForked`, from the parent as it was before the event (JS7's
    Order.newForkedOrders): see `forked_child`."""
    return [forked_child(parent, child.order_id, child.branch_id, child.arguments) for child in event.children]
