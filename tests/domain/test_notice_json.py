"""The notice events, the state ExpectingNotices, the board item and the notice commands in JS7's own
JSON (JS7's OrderEventTest, NoticeEventTest, OrderTest, GlobalBoardTest, ControllerCommandTest)."""

from __future__ import annotations

from typing import Any

import pytest

from js7es.domain import codec
from js7es.domain.board import events as n
from js7es.domain.board.item import GlobalBoard
from js7es.domain.commands.notices import DeleteNotice, PostNotice
from js7es.domain.items import parse_simple_item
from js7es.domain.order.states import ExpectingNotices
from js7es.nodes.controller.requests import command

JS7_JSON: list[tuple[Any, dict[str, Any]]] = [
    (
        n.OrderNoticeAnnounced(notice_id=("BOARD", "NOTICE")),
        {"TYPE": "OrderNoticeAnnounced", "noticeId": ["BOARD", "NOTICE"]},
    ),
    (
        n.OrderNoticePosted(notice_id=("BOARD", "NOTICE"), end_of_life=3600000),
        {"TYPE": "OrderNoticePosted", "noticeId": ["BOARD", "NOTICE"], "endOfLife": 3600000},
    ),
    (
        n.OrderNoticesExpected(notice_ids=(("BOARD", "NOTICE"),)),
        {"TYPE": "OrderNoticesExpected", "noticeIds": [["BOARD", "NOTICE"]]},
    ),
    (n.OrderNoticesRead(), {"TYPE": "OrderNoticesRead"}),
    (
        n.OrderNoticesConsumptionStarted(notice_ids=(("BOARD", "NOTICE"),)),
        {"TYPE": "OrderNoticesConsumptionStarted", "noticeIds": [["BOARD", "NOTICE"]]},
    ),
    (n.OrderNoticesConsumed(failed=True), {"TYPE": "OrderNoticesConsumed", "failed": True}),
    (
        n.NoticePosted(planned_notice_key=("DailyPlan", "2025-01-17", "NOTICE"), end_of_life=3600000),
        {"TYPE": "NoticePosted", "plannedNoticeKey": ["DailyPlan", "2025-01-17", "NOTICE"], "endOfLife": 3600000},
    ),
    (
        n.NoticePosted(planned_notice_key="NOTICE", end_of_life=3600000),
        {"TYPE": "NoticePosted", "plannedNoticeKey": "NOTICE", "endOfLife": 3600000},
    ),
    (n.NoticeDeleted(planned_notice_key="NOTICE"), {"TYPE": "NoticeDeleted", "plannedNoticeKey": "NOTICE"}),
    (
        ExpectingNotices(notice_ids=(("DailyPlan", "2025-01-21", "BOARD", "NOTICE"),)),
        {"TYPE": "ExpectingNotices", "noticeIds": [["DailyPlan", "2025-01-21", "BOARD", "NOTICE"]]},
    ),
]


@pytest.mark.parametrize(("value", "js7"), JS7_JSON, ids=lambda x: type(x).__name__)
def test_js7_json(value: Any, js7: dict[str, Any]) -> None:
    encoded = codec.encode(value)
    assert {k: v for k, v in encoded.items() if v is not False or k == "failed"} == js7
    assert codec.decode(js7) == value


def test_js7_global_board_json() -> None:
    key = "match(orderId, '#([0-9]{4}-[0-9]{2}-[0-9]{2})#.*', '$1')"
    board = parse_simple_item(
        {
            "TYPE": "GlobalBoard",
            "path": "BOARD",
            "postOrderToNoticeKey": key,
            "endOfLife": "$js7EpochMilli + 24 * 3600 * 1000",
            "expectOrderToNoticeKey": key,
            "itemRevision": 7,
        }
    )
    assert isinstance(board, GlobalBoard)
    assert (board.post_order_to_notice_key, board.end_of_life) == (key, "$js7EpochMilli + 24 * 3600 * 1000")


def test_js7_notice_commands_json() -> None:
    assert command({"TYPE": "PostNotice", "noticeId": ["BOARD", "NOTICE"], "endOfLife": 3600000}) == PostNotice(
        notice_id=("BOARD", "NOTICE"), end_of_life=3600000
    )
    assert command({"TYPE": "PostNotice", "boardPath": "BOARD", "noticeId": "NOTICE"}) == PostNotice(
        notice_id=("BOARD", "NOTICE")
    )
    planned = ["DailyPlan", "2025-01-17", "BOARD", "NOTICE"]
    assert command({"TYPE": "DeleteNotice", "noticeId": planned}) == DeleteNotice(notice_id=tuple(planned))
