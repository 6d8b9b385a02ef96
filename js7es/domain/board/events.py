"""The notice events, by JS7's names and JSON (NoticeEvent.scala, OrderEvent.scala's OrderNotice…).

NoticePosted / NoticeDeleted are keyed by the board path and carry JS7's PlannedNoticeKey (the key as
a string in the global plan, ``[schema, planKey, key?]`` in a plan). The order's notice events are
keyed by the order id and carry JS7's NoticeIds (``["BOARD", "key"]`` or
``["DailyPlan", "2024-11-25", "BOARD", "key"]``): they live here, beside the notices, and belong to the
order-events family all the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from js7es.domain import codec
from js7es.domain.event import Event
from js7es.domain.order.events import OrderEvent
from js7es.domain.value import Value


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeEvent(Event):
    """Base of the events keyed by a board path."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class NoticePosted(NoticeEvent):
    """A notice posted by the PostNotice command (the instruction's is OrderNoticePosted)."""

    planned_notice_key: Value  # JS7's PlannedNoticeKey: "key" | [schema, planKey, key?]
    end_of_life: int | None = None  # epoch milliseconds


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class NoticeDeleted(NoticeEvent):
    """A notice deleted by the DeleteNotice command or at its end of life."""

    planned_notice_key: Value


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderNoticeAnnounced(OrderEvent):
    """Added with an order of a plan whose workflow posts to a PlannableBoard: the notice will come."""

    notice_id: tuple[str, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderNoticePosted(OrderEvent):
    notice_id: tuple[str, ...]
    end_of_life: int | None = None  # epoch milliseconds


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderNoticesExpected(OrderEvent):
    """The order waits (ExpectingNotices) for the notices of its ExpectNotices/ConsumeNotices."""

    notice_ids: tuple[tuple[str, ...], ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderNoticesRead(OrderEvent):
    """The expected notices are there (or need not be): the order goes on (OrderMoved follows)."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderNoticesConsumptionStarted(OrderEvent):
    """The order enters the ConsumeNotices block, holding the notices until it leaves it."""

    notice_ids: tuple[tuple[str, ...], ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderNoticesConsumed(OrderEvent):
    """The order left the ConsumeNotices block: the notices are deleted, unless it `failed` out of it."""

    failed: bool = False


ORDER_NOTICE_EVENTS: tuple[type[OrderEvent], ...] = (
    OrderNoticeAnnounced,
    OrderNoticePosted,
    OrderNoticesExpected,
    OrderNoticesRead,
    OrderNoticesConsumptionStarted,
    OrderNoticesConsumed,
)
