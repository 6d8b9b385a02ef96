"""The board items (JS7's GlobalBoard and PlannableBoard, data/board/*.scala): unversioned simple items.

JSON as JS7 writes it (keys "Board:NAME"):
``{"TYPE": "GlobalBoard", "path": "B", "postOrderToNoticeKey": "…", "expectOrderToNoticeKey": "…",
"endOfLife": "$js7EpochMilli + 86400000"}`` (JS7's older names: TYPE "Board", "postOrderToNoticeId",
"expectOrderToNoticeId");
``{"TYPE": "PlannableBoard", "path": "B", "postOrderToNoticeKey": '""', "expectOrderToNoticeKey": '""'}``
(both expressions default to the empty key ''; a PlannableBoard's notices live as long as their
plan: no endOfLife).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from js7es.domain.problem import Problem, problem


@dataclass(frozen=True, slots=True, kw_only=True)
class GlobalBoard:
    path: str
    post_order_to_notice_key: str
    expect_order_to_notice_key: str
    end_of_life: str | None  # expression giving epoch milliseconds; None: a notice lives until deleted
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"Board:{self.path}"

    @property
    def is_global(self) -> bool:
        return True


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannableBoard:
    path: str
    post_order_to_notice_key: str = '""'
    expect_order_to_notice_key: str = '""'
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"Board:{self.path}"

    @property
    def is_global(self) -> bool:
        return False

    @property
    def end_of_life(self) -> None:
        return None


BoardItem = GlobalBoard | PlannableBoard
BOARD_TYPES = frozenset({"GlobalBoard", "Board", "PlannableBoard"})


def parse_board(obj: Mapping[str, Any], path: str, check_expression: Any) -> BoardItem | Problem:
    """A board from its JSON (the caller checked TYPE and path); `check_expression(text, where)` raises
    the workflow parser's refusal for a bad expression."""
    where = f"Board:{path}"

    def expression(*names: str, default: str | None) -> str | None:
        for name in names:
            if name in obj:
                value = obj[name]
                return None if value is None else str(check_expression(value, where))
        return default

    if obj.get("TYPE") == "PlannableBoard":
        return PlannableBoard(
            path=path,
            post_order_to_notice_key=expression("postOrderToNoticeKey", default='""') or '""',
            expect_order_to_notice_key=expression("expectOrderToNoticeKey", default='""') or '""',
            raw=dict(obj),
        )
    post = expression("postOrderToNoticeKey", "postOrderToNoticeId", default=None)
    expect = expression("expectOrderToNoticeKey", "expectOrderToNoticeId", default=None)
    if post is None or expect is None:
        return problem("InvalidItem", f"{where}: a GlobalBoard needs postOrderToNoticeKey and expectOrderToNoticeKey")
    end_of_life = expression("endOfLife", default=None)
    return GlobalBoard(
        path=path,
        post_order_to_notice_key=post,
        expect_order_to_notice_key=expect,
        end_of_life=end_of_life,
        raw={**obj, "TYPE": "GlobalBoard"},
    )
