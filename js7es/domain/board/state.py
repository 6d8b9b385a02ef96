"""The Controller's notice boards: the board items and their notices (JS7's BoardState, PlannedBoard,
NoticePlace), changed by the notice events and by the orders' notice events.

A NoticePlace holds what is known of one NoticeId: the posted notice, the orders expecting it, whether
it is announced (PlannableBoard), and whether orders consume it (the notice is deleted when the last
consumer leaves its ConsumeNotices block successfully). The orders' expectations are part of their
state (ExpectingNotices): a snapshot does not hold them, recovery derives them from the orders.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from js7es.domain.board.events import (
    NoticeDeleted,
    NoticeEvent,
    NoticePosted,
    OrderNoticeAnnounced,
    OrderNoticePosted,
    OrderNoticesConsumed,
    OrderNoticesConsumptionStarted,
    OrderNoticesExpected,
    OrderNoticesRead,
)
from js7es.domain.board.expression import L3
from js7es.domain.board.item import BoardItem
from js7es.domain.board.notice import NoticeId, notice_id_from_json, planned_key_from_json
from js7es.domain.event import Event
from js7es.domain.problem import Problem, problem


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    id: NoticeId
    end_of_life: int | None = None  # epoch milliseconds


@dataclass(frozen=True, slots=True, kw_only=True)
class NoticePlace:
    notice: Notice | None = None
    expecting: frozenset[str] = frozenset()
    is_announced: bool = False
    is_in_consumption: bool = False
    consumption_count: int = 0

    @property
    def is_empty(self) -> bool:
        return (
            self.notice is None
            and not self.expecting
            and not self.is_announced
            and not self.is_in_consumption
            and self.consumption_count == 0
        )

    def finish_consumption(self, succeeded: bool) -> NoticePlace:
        """JS7's NoticePlace.finishConsumption: the last successful consumer deletes the notice."""
        is_last = self.consumption_count == 1
        return replace(
            self,
            notice=None if succeeded and self.is_in_consumption and is_last else self.notice,
            is_in_consumption=self.is_in_consumption and not is_last,
            consumption_count=self.consumption_count - 1,
        )


@dataclass(slots=True)
class Boards:
    """Board items by path, notice places by NoticeId, each consuming order's stack of consumptions."""

    items: dict[str, BoardItem] = field(default_factory=dict)
    places: dict[NoticeId, NoticePlace] = field(default_factory=dict)
    consumptions: dict[str, tuple[tuple[NoticeId, ...], ...]] = field(default_factory=dict)

    # -- queries ---------------------------------------------------------------------------------

    def is_available(self, notice_id: NoticeId) -> L3:
        """JS7's isNoticeAvailable: True posted, False announced but not posted, Unknown neither."""
        place = self.places.get(notice_id)
        if place is None:
            return L3.UNKNOWN
        if place.notice is not None:
            return L3.TRUE
        return L3.FALSE if place.is_announced else L3.UNKNOWN

    def notice(self, notice_id: NoticeId) -> Notice | None:
        place = self.places.get(notice_id)
        return None if place is None else place.notice

    def expecting_orders(self, notice_id: NoticeId) -> frozenset[str]:
        place = self.places.get(notice_id)
        return frozenset() if place is None else place.expecting

    def expecting_orders_of(self, notice_id_json: tuple[str, ...]) -> list[str]:
        notice_id = notice_id_from_json(notice_id_json)
        return [] if isinstance(notice_id, Problem) else sorted(self.expecting_orders(notice_id))

    def notices(self) -> Iterator[Notice]:
        for notice_id in sorted(self.places):
            notice = self.places[notice_id].notice
            if notice is not None:
                yield notice

    def next_end_of_life(self) -> int | None:
        ends = [n.end_of_life for n in self.notices() if n.end_of_life is not None]
        return min(ends) if ends else None

    def is_board_in_use(self, path: str) -> bool:
        return any(i.board_path == path and not p.is_empty for i, p in self.places.items())

    # -- changes ---------------------------------------------------------------------------------

    def _update(self, notice_id: NoticeId, place: NoticePlace) -> None:
        if place.is_empty:
            self.places.pop(notice_id, None)
        else:
            self.places[notice_id] = place

    def _place(self, notice_id: NoticeId) -> NoticePlace:
        return self.places.get(notice_id) or NoticePlace()

    def _checked_id(self, obj: Any) -> NoticeId | Problem:
        notice_id = notice_id_from_json(obj)
        if isinstance(notice_id, NoticeId) and notice_id.board_path not in self.items:
            return problem("UnknownItem", f"Unknown Board:{notice_id.board_path}", key=f"Board:{notice_id.board_path}")
        return notice_id

    def delete_board(self, path: str) -> None:
        del self.items[path]
        for notice_id in [i for i in self.places if i.board_path == path]:
            del self.places[notice_id]

    def apply_notice_event(self, board_path: str, event: NoticeEvent) -> Problem | None:
        if board_path not in self.items:
            return problem("UnknownItem", f"{type(event).__name__} for unknown Board:{board_path}")
        match event:
            case NoticePosted(planned_notice_key=key, end_of_life=end_of_life):
                notice_id = planned_key_from_json(board_path, key)
                if isinstance(notice_id, Problem):
                    return notice_id
                self._post(Notice(id=notice_id, end_of_life=end_of_life))
                return None
            case NoticeDeleted(planned_notice_key=key):
                notice_id = planned_key_from_json(board_path, key)
                if isinstance(notice_id, Problem):
                    return notice_id
                place = self.places.get(notice_id)
                if place is None or place.notice is None:  # JS7 checks the place only; js7es the notice
                    return problem("InapplicableEvent", f"NoticeDeleted: no {notice_id}")
                self._update(notice_id, replace(place, notice=None))
                return None
        return problem("UnknownEvent", f"Cannot apply {type(event).__name__}")

    def _post(self, notice: Notice) -> None:
        place = self._place(notice.id)
        self._update(notice.id, replace(place, notice=notice, is_announced=False, is_in_consumption=False))

    def apply_order_event(self, order_id: str, expected_before: tuple[NoticeId, ...], event: Event) -> Problem | None:
        """The board side of an order's notice event; `expected_before`: what the order expected before
        (its ExpectingNotices state), for the events that end an expectation."""
        match event:
            case OrderNoticeAnnounced(notice_id=obj):
                notice_id = self._checked_id(obj)
                if isinstance(notice_id, Problem):
                    return notice_id
                self._update(notice_id, replace(self._place(notice_id), is_announced=True))
            case OrderNoticePosted(notice_id=obj, end_of_life=end_of_life):
                notice_id = self._checked_id(obj)
                if isinstance(notice_id, Problem):
                    return notice_id
                self._post(Notice(id=notice_id, end_of_life=end_of_life))
            case OrderNoticesExpected(notice_ids=objs):
                for obj in objs:
                    notice_id = self._checked_id(obj)
                    if isinstance(notice_id, Problem):
                        return notice_id
                    place = self._place(notice_id)
                    self._update(notice_id, replace(place, expecting=place.expecting | {order_id}))
            case OrderNoticesRead():
                self.remove_expectations(order_id, expected_before)
            case OrderNoticesConsumptionStarted(notice_ids=objs):
                consumed: list[NoticeId] = []
                for obj in objs:
                    notice_id = self._checked_id(obj)
                    if isinstance(notice_id, Problem):
                        return notice_id
                    consumed.append(notice_id)
                    place = self._place(notice_id)
                    self._update(
                        notice_id,
                        replace(
                            place,
                            expecting=place.expecting - {order_id},
                            is_in_consumption=True,
                            consumption_count=place.consumption_count + 1,
                        ),
                    )
                self.remove_expectations(order_id, tuple(i for i in expected_before if i not in consumed))
                self.consumptions[order_id] = (*self.consumptions.get(order_id, ()), tuple(consumed))
            case OrderNoticesConsumed(failed=failed):
                stack = self.consumptions.get(order_id)
                if not stack:
                    return problem("InapplicableEvent", f"OrderNoticesConsumed: Order:{order_id} consumes nothing")
                if len(stack) == 1:
                    del self.consumptions[order_id]
                else:
                    self.consumptions[order_id] = stack[:-1]
                for notice_id in stack[-1]:
                    self._update(notice_id, self._place(notice_id).finish_consumption(succeeded=not failed))
            case _:
                return problem("UnknownEvent", f"Cannot apply {type(event).__name__} to the boards")
        return None

    def remove_expectations(self, order_id: str, notice_ids: tuple[NoticeId, ...]) -> None:
        for notice_id in notice_ids:
            place = self.places.get(notice_id)
            if place is not None:
                self._update(notice_id, replace(place, expecting=place.expecting - {order_id}))

    # -- snapshots -------------------------------------------------------------------------------

    def snapshot_objects(self) -> Iterator[dict[str, Any]]:
        """JS7's Notice snapshot and NoticePlace.Snapshot (announced / in consumption), and the
        consumption stacks; the board items are written with the other simple items."""
        for notice_id in sorted(self.places):
            place = self.places[notice_id]
            if place.notice is not None:
                notice: dict[str, Any] = {"TYPE": "Notice", "id": list(notice_id.to_json())}
                if place.notice.end_of_life is not None:
                    notice["endOfLife"] = place.notice.end_of_life
                yield notice
            if place.is_announced or place.is_in_consumption or place.consumption_count:
                yield {
                    "TYPE": "NoticePlace",
                    "noticeId": list(notice_id.to_json()),
                    "isAnnounced": place.is_announced,
                    "isInConsumption": place.is_in_consumption,
                    "consumptionCount": place.consumption_count,
                }
        for order_id in sorted(self.consumptions):
            stack = [[list(i.to_json()) for i in ids] for ids in self.consumptions[order_id]]
            yield {"TYPE": "NoticeConsumptions", "orderId": order_id, "stack": stack}

    def restore(self, obj: Mapping[str, Any]) -> None:
        match obj.get("TYPE"):
            case "Notice":
                notice_id = _snapshot_id(obj["id"])
                self.places[notice_id] = replace(
                    self._place(notice_id), notice=Notice(id=notice_id, end_of_life=obj.get("endOfLife"))
                )
            case "NoticePlace":
                notice_id = _snapshot_id(obj["noticeId"])
                self.places[notice_id] = replace(
                    self._place(notice_id),
                    is_announced=bool(obj["isAnnounced"]),
                    is_in_consumption=bool(obj["isInConsumption"]),
                    consumption_count=int(obj["consumptionCount"]),
                )
            case "NoticeConsumptions":
                self.consumptions[str(obj["orderId"])] = tuple(
                    tuple(_snapshot_id(i) for i in ids) for ids in obj["stack"]
                )
            case other:
                raise ValueError(f"Unknown snapshot object TYPE {other!r}")

    def expect(self, order_id: str, notice_ids: tuple[NoticeId, ...]) -> None:
        """Recovery: the expectation of an order restored in state ExpectingNotices."""
        for notice_id in notice_ids:
            place = self._place(notice_id)
            self.places[notice_id] = replace(place, expecting=place.expecting | {order_id})


SNAPSHOT_TYPES = frozenset({"Notice", "NoticePlace", "NoticeConsumptions"})


def _snapshot_id(obj: Any) -> NoticeId:
    notice_id = notice_id_from_json(obj)
    if isinstance(notice_id, Problem):
        raise ValueError(f"Bad snapshot: {notice_id}")
    return notice_id
