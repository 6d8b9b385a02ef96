"""PostNotice and DeleteNotice (JS7's ControllerCommand.PostNotice/DeleteNotice, postNoticeExecutor and
deleteNoticeExecutor), and the end of life of notices (the Controller's timer asks `end_of_life_events`).

JSON as JS7's: ``{"TYPE": "PostNotice", "noticeId": ["BOARD", "KEY"], "endOfLife": 1732521600000}``
(``noticeId`` ``["DailyPlan", "2024-11-25", "BOARD", "KEY"]`` for a PlannableBoard's plan; without
endOfLife the board's expression gives it), ``{"TYPE": "DeleteNotice", "noticeId": ["BOARD", "KEY"]}``.
A notice posted with an end of life already past is deleted in the same commit (JS7 does so).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from js7es.domain import codec
from js7es.domain.board.events import NoticeDeleted, NoticePosted
from js7es.domain.board.item import GlobalBoard
from js7es.domain.board.notice import NoticeId, check_notice_key, notice_id_from_json
from js7es.domain.commands.base import Command, Decided, handles
from js7es.domain.event import KeyedEvent
from js7es.domain.expression import MapScope, evaluate_text
from js7es.domain.order.context import Context
from js7es.domain.problem import Problem, problem
from js7es.domain.value import value_from_json

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class PostNotice(Command):
    notice_id: tuple[str, ...]  # JS7's NoticeId JSON
    end_of_life: int | None = None  # epoch milliseconds


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteNotice(Command):
    notice_id: tuple[str, ...]


def _checked_notice_id(state: ControllerState, obj: tuple[str, ...]) -> NoticeId | Problem:
    notice_id = notice_id_from_json(obj)
    if isinstance(notice_id, Problem):
        return notice_id
    board = state.boards.items.get(notice_id.board_path)
    if board is None:
        key = f"Board:{notice_id.board_path}"
        return problem("UnknownKey", f"No such key '{key}'", key=key)
    if isinstance(board, GlobalBoard) and not notice_id.plan.is_global:
        return problem("InvalidNoticeId", f"{board.key} is a GlobalBoard: its notices are in no plan")
    return check_notice_key(notice_id.notice_key) or notice_id


@handles(PostNotice)
def post_notice(state: ControllerState, command: PostNotice, ctx: Context) -> Decided | Problem:
    notice_id = _checked_notice_id(state, command.notice_id)
    if isinstance(notice_id, Problem):
        return notice_id
    board = state.boards.items[notice_id.board_path]
    end_of_life = command.end_of_life
    if end_of_life is None and board.end_of_life is not None:
        value = evaluate_text(board.end_of_life, MapScope(named_values={}, now=ctx.now_ms))
        if isinstance(value, Problem):
            return value
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
                return problem("InvalidEndOfLife", f"{board.key}: endOfLife gives no number but {value!r}")
            end_of_life = int(value)
    key = value_from_json(notice_id.planned_key_json())
    events = [KeyedEvent(notice_id.board_path, NoticePosted(planned_notice_key=key, end_of_life=end_of_life))]
    if end_of_life is not None and end_of_life <= ctx.now_ms:
        events.append(KeyedEvent(notice_id.board_path, NoticeDeleted(planned_notice_key=key)))
        return Decided(events=tuple(events))
    return Decided(events=tuple(events), touched_orders=tuple(sorted(state.boards.expecting_orders(notice_id))))


@handles(DeleteNotice)
def delete_notice(state: ControllerState, command: DeleteNotice, ctx: Context) -> Decided | Problem:
    notice_id = _checked_notice_id(state, command.notice_id)
    if isinstance(notice_id, Problem):
        return notice_id
    if state.boards.notice(notice_id) is None:
        return problem("UnknownKey", f"No such key '{notice_id}'", key=str(notice_id))
    key = value_from_json(notice_id.planned_key_json())
    return Decided(events=(KeyedEvent(notice_id.board_path, NoticeDeleted(planned_notice_key=key)),))


def end_of_life_events(state: ControllerState, now_ms: int) -> list[KeyedEvent]:
    """NoticeDeleted for every notice whose end of life has come (JS7's NoticeDeleted at endOfLife)."""
    return [
        KeyedEvent(n.id.board_path, NoticeDeleted(planned_notice_key=value_from_json(n.id.planned_key_json())))
        for n in state.boards.notices()
        if n.end_of_life is not None and n.end_of_life <= now_ms
    ]
