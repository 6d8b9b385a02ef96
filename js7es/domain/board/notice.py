"""Notice ids and plans (JS7's NoticeId, PlannedNoticeKey, PlanId), in JS7's JSON forms.

A NoticeId is written as JS7 writes it: ``["BOARD", "key"]`` in the global plan (the key left out when
it is empty), ``["DailyPlan", "2024-11-25", "BOARD", "key"]`` in a plan. A PlannedNoticeKey (the key
of a NoticePosted/NoticeDeleted, whose board is the event's key) is ``"key"`` in the global plan and
``["DailyPlan", "2024-11-25", "key"]`` in a plan.

js7es's plans: an order whose id is a daily plan id ``#YYYY-MM-DD#…`` (js7es.domain.cockpit.daily_plan)
is in the plan ``DailyPlan/YYYY-MM-DD`` (JS7 2.7's PlanSchema "DailyPlan" with the date as PlanKey);
every other order is in the global plan. Only a PlannableBoard places notices in the order's plan;
a GlobalBoard's notices are always global.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from js7es.domain.problem import Problem, problem

DAILY_PLAN_SCHEMA = "DailyPlan"
_DAILY_PLAN_ORDER_ID = re.compile(r"#([0-9]{4}-[0-9]{2}-[0-9]{2})#.*")

NoticeIdJson = tuple[str, ...]  # JS7's NoticeId as a JSON array


@dataclass(frozen=True, slots=True, order=True)
class PlanId:
    """A plan: (schema, key); GLOBAL is the global plan (no schema)."""

    schema: str = ""
    key: str = ""

    @property
    def is_global(self) -> bool:
        return not self.schema


GLOBAL = PlanId()


@dataclass(frozen=True, slots=True, order=True)
class NoticeId:
    plan: PlanId
    board_path: str
    notice_key: str

    def to_json(self) -> NoticeIdJson:
        head = (self.board_path,) if self.plan.is_global else (self.plan.schema, self.plan.key, self.board_path)
        return (*head, self.notice_key) if self.notice_key else head

    def planned_key_json(self) -> Any:
        """JS7's PlannedNoticeKey JSON: the key alone in the global plan, else [schema, planKey, key?]."""
        if self.plan.is_global:
            return self.notice_key
        return [self.plan.schema, self.plan.key, *([self.notice_key] if self.notice_key else [])]

    def __str__(self) -> str:
        plan = "" if self.plan.is_global else f"{self.plan.schema}/{self.plan.key}/"
        return f"Notice:{plan}{self.board_path}/{self.notice_key or '—'}"


def notice_id_from_json(obj: Any) -> NoticeId | Problem:
    if not isinstance(obj, (list, tuple)) or not all(isinstance(s, str) for s in obj) or not 1 <= len(obj) <= 4:
        return problem("InvalidNoticeId", f"A NoticeId is a JSON array of 1 to 4 strings, not {obj!r}")
    if len(obj) <= 2:
        return NoticeId(plan=GLOBAL, board_path=obj[0], notice_key=obj[1] if len(obj) == 2 else "")
    return NoticeId(plan=PlanId(obj[0], obj[1]), board_path=obj[2], notice_key=obj[3] if len(obj) == 4 else "")


def planned_key_from_json(board_path: str, obj: Any) -> NoticeId | Problem:
    """A NoticeId from a board path and JS7's PlannedNoticeKey JSON."""
    if isinstance(obj, str):
        return NoticeId(plan=GLOBAL, board_path=board_path, notice_key=obj)
    if isinstance(obj, (list, tuple)) and 2 <= len(obj) <= 3 and all(isinstance(s, str) for s in obj):
        return NoticeId(plan=PlanId(obj[0], obj[1]), board_path=board_path, notice_key=obj[2] if len(obj) == 3 else "")
    return problem("InvalidNoticeId", f"A PlannedNoticeKey is a string or [schema, planKey, key?], not {obj!r}")


def plan_of_order(order_id: str) -> PlanId:
    """The plan of an order: its daily plan date, else the global plan (see the module's doc)."""
    match = _DAILY_PLAN_ORDER_ID.fullmatch(order_id.split("|", 1)[0])  # a fork's child is in its parent's plan
    return PlanId(DAILY_PLAN_SCHEMA, match.group(1)) if match else GLOBAL


def check_notice_key(key: str) -> Problem | None:
    """JS7's NoticeKey: any string without control characters, at most 255 characters (the empty one too)."""
    if len(key) > 255 or not key.isprintable():
        return problem("InvalidNoticeKey", f"Invalid notice key {key!r}", noticeKey=key)
    return None


def check_plan_id(order_id: str, plan_json: Any) -> Problem | None:
    """JS7 2.8's planId of an added order ([] global, [schema, key]): js7es has no PlanSchema items and
    derives the plan from the order id, so a planId is taken only where it names that very plan."""
    plan = plan_of_order(order_id)
    expected = [] if plan.is_global else [plan.schema, plan.key]
    given = list(plan_json) if isinstance(plan_json, (list, tuple)) else plan_json
    if given == expected:
        return None
    return problem(
        "UnsupportedPlanId",
        f"planId {given!r} is not Order:{order_id}'s plan {expected!r}: js7es has no plan items and derives an"
        " order's plan from its id (DailyPlan for '#YYYY-MM-DD#…', else the global plan)",
        orderId=order_id,
    )
