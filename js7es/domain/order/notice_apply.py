"""The order's part of its notice events (JS7's Order.applyEvent for OrderNotice…); the boards' part
is js7es.domain.board.state."""

from __future__ import annotations

from js7es.domain.board.events import (
    OrderNoticeAnnounced,
    OrderNoticePosted,
    OrderNoticesConsumed,
    OrderNoticesConsumptionStarted,
    OrderNoticesExpected,
    OrderNoticesRead,
)
from js7es.domain.order.events import OrderEvent
from js7es.domain.order.order import Order
from js7es.domain.order.states import ExpectingNotices, Fresh, Ready
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import CONSUME_NOTICES_BRANCH

NOTICE_EVENTS = (
    OrderNoticeAnnounced,
    OrderNoticePosted,
    OrderNoticesExpected,
    OrderNoticesRead,
    OrderNoticesConsumptionStarted,
    OrderNoticesConsumed,
)


def apply_notice_event(order: Order, event: OrderEvent) -> Order | None:
    """The order after the event, or None when the event does not apply."""
    s = order.state
    detached = order.attached is None
    running = detached and not order.is_suspended
    match event:
        case OrderNoticeAnnounced():
            if detached and isinstance(s, Fresh):
                return order
        case OrderNoticePosted():
            if running and isinstance(s, Ready):
                return order
        case OrderNoticesExpected(notice_ids=notice_ids):
            if running and isinstance(s, Ready):
                return order.updated(state=ExpectingNotices(notice_ids=notice_ids))
        case OrderNoticesRead():
            if running and isinstance(s, (Ready, ExpectingNotices)):
                return order.updated(state=Ready())
        case OrderNoticesConsumptionStarted():
            if running and isinstance(s, (Ready, ExpectingNotices)):
                return order.updated(position=pos.nested(order.position, CONSUME_NOTICES_BRANCH), state=Ready())
        case OrderNoticesConsumed():  # out of the innermost ConsumeNotices block (through then/try/… in it)
            block = pos.innermost_block(order.position, CONSUME_NOTICES_BRANCH)
            if detached and block is not None:
                return order.updated(position=pos.next_of(block), state=Ready())
    return None
