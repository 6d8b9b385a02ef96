"""Notice instructions and board items read from JS7's JSON (JS7's ConsumeNoticesTest, ExpectNoticesTest,
PostNoticesTest, GlobalBoardTest, BoardPathExpressionTest), and the three-valued board path expressions."""

from __future__ import annotations

from typing import Any

import pytest

from js7es.domain.board.expression import (
    L3,
    And,
    ExpectNotice,
    Or,
    board_paths,
    evaluate,
    parse_board_path_expression,
    to_text,
)
from js7es.domain.board.item import GlobalBoard, PlannableBoard
from js7es.domain.board.notice import GLOBAL, NoticeId, PlanId, notice_id_from_json, plan_of_order
from js7es.domain.items import parse_simple_item
from js7es.domain.problem import Problem
from js7es.domain.workflow.instructions import ConsumeNotices, ExpectNotices, PostNotices
from js7es.domain.workflow.parse import parse_workflow


def instruction(obj: dict[str, Any]) -> Any:
    workflow = parse_workflow({"path": "W", "versionId": "1", "instructions": [obj]})
    if isinstance(workflow, Problem):
        return workflow
    return workflow.instructions.instructions[0]


def test_js7_instruction_json() -> None:
    assert instruction({"TYPE": "PostNotices", "boardPaths": ["BOARD"]}) == PostNotices(board_paths=("BOARD",))
    assert instruction({"TYPE": "PostNotice", "boardPath": "BOARD"}) == PostNotices(board_paths=("BOARD",))
    assert instruction(
        {"TYPE": "ExpectNotices", "boardPaths": "'A' || 'B' && 'C'", "whenNotAnnounced": "SkipWhenNoNotice"}
    ) == ExpectNotices(board_paths="'A' || 'B' && 'C'", when_not_announced="SkipWhenNoNotice")
    assert instruction({"TYPE": "ExpectNotice", "boardPath": "BOARD"}) == ExpectNotices(board_paths="'BOARD'")
    consume = instruction({"TYPE": "ConsumeNotices", "boardPaths": "'A'", "subworkflow": {"instructions": []}})
    assert isinstance(consume, ConsumeNotices) and consume.when_not_announced == "Wait"


@pytest.mark.parametrize(
    "obj",
    [
        {"TYPE": "PostNotices", "boardPaths": ["BOARD", "BOARD"]},  # JS7: "Unexpected duplicates"
        {"TYPE": "PostNotices", "boardPaths": []},
        {"TYPE": "ExpectNotices", "boardPaths": "'A' &&"},
        {"TYPE": "ExpectNotices", "boardPaths": "A"},
        {"TYPE": "ExpectNotices", "boardPaths": "'A'", "whenNotAnnounced": "Never"},
        {"TYPE": "ConsumeNotices", "boardPaths": "'A'"},
    ],
)
def test_bad_instructions_are_refused(obj: dict[str, Any]) -> None:
    assert isinstance(instruction(obj), Problem)


def test_workflow_knows_the_boards_it_names() -> None:
    workflow = parse_workflow(
        {
            "path": "W",
            "versionId": "1",
            "instructions": [
                {"TYPE": "PostNotices", "boardPaths": ["A"]},
                {"TYPE": "ConsumeNotices", "boardPaths": "'B' || 'A'", "subworkflow": {"instructions": []}},
            ],
        }
    )
    assert not isinstance(workflow, Problem)
    assert dict(workflow.board_paths) == {"A": (0,), "B": (1,)}


def test_board_path_expression_precedence_and_l3() -> None:
    expr = parse_board_path_expression("'A' || 'B' && ('C' || 'D')")
    assert expr == Or(ExpectNotice("A"), And(ExpectNotice("B"), Or(ExpectNotice("C"), ExpectNotice("D"))))
    assert to_text(expr) == "'A' || 'B' && ('C' || 'D')"
    assert board_paths(expr) == ("A", "B", "C", "D")
    t, f, u = L3.TRUE, L3.FALSE, L3.UNKNOWN
    assert evaluate(expr, {"A": t}) == t
    assert evaluate(expr, {"A": f, "B": t, "C": f, "D": f}) == f
    assert evaluate(expr, {"A": f, "B": t}) == u
    assert evaluate(expr, {"A": f, "B": f}) == f
    assert isinstance(parse_board_path_expression("'A' 'B'"), Problem)


def test_board_items() -> None:
    board = parse_simple_item(
        {
            "TYPE": "Board",  # JS7's name until v2.7.2, with the older field names
            "path": "B",
            "postOrderToNoticeId": "$js7OrderId",
            "expectOrderToNoticeId": "$js7OrderId",
            "endOfLife": "$js7EpochMilli + 1000",
        }
    )
    assert isinstance(board, GlobalBoard) and board.key == "Board:B" and board.raw["TYPE"] == "GlobalBoard"
    assert board.end_of_life == "$js7EpochMilli + 1000"
    plannable = parse_simple_item({"TYPE": "PlannableBoard", "path": "P"})
    assert isinstance(plannable, PlannableBoard) and plannable.post_order_to_notice_key == '""'
    assert isinstance(parse_simple_item({"TYPE": "GlobalBoard", "path": "B"}), Problem)
    bad = parse_simple_item(
        {"TYPE": "GlobalBoard", "path": "B", "postOrderToNoticeKey": "(", "expectOrderToNoticeKey": "1"}
    )
    assert isinstance(bad, Problem)


def test_notice_ids_as_js7_writes_them() -> None:
    assert NoticeId(plan=GLOBAL, board_path="B", notice_key="K").to_json() == ("B", "K")
    assert NoticeId(plan=GLOBAL, board_path="B", notice_key="").to_json() == ("B",)
    planned = NoticeId(plan=PlanId("DailyPlan", "2024-11-25"), board_path="B", notice_key="")
    assert planned.to_json() == ("DailyPlan", "2024-11-25", "B")
    assert planned.planned_key_json() == ["DailyPlan", "2024-11-25"]
    for notice_id in (planned, NoticeId(plan=GLOBAL, board_path="B", notice_key="K")):
        assert notice_id_from_json(notice_id.to_json()) == notice_id
    assert plan_of_order("#2024-11-25#P123-x") == PlanId("DailyPlan", "2024-11-25")
    assert plan_of_order("#2024-11-25#P123-x|branch") == PlanId("DailyPlan", "2024-11-25")
    assert plan_of_order("ad-hoc") == GLOBAL
