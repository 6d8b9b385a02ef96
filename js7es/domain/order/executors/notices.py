"""PostNotices, ExpectNotices and ConsumeNotices (JS7's PostNoticesExecutor, ExpectNoticesExecutor,
ConsumeNoticesExecutor and NoticeEventSource): run on the Controller, which holds the boards.

PostNotices: OrderNoticePosted for each board, then OrderMoved; the orders expecting one of the
notices are looked at in the same follow-up (js7es.domain.order.event_source.follow_up).
ExpectNotices: the notices make the board path expression true: OrderNoticesRead, OrderMoved; else
OrderNoticesExpected (state ExpectingNotices) until they do. ConsumeNotices: OrderNoticesConsumptionStarted
into its block; at the block's end OrderNoticesConsumed deletes the notices (a failure leaving the block
ends the consumption with failed=true and keeps them). `whenNotAnnounced` as JS7: a notice neither posted
nor announced (PlannableBoard) is waited for (Wait), or the instruction is skipped (SkipWhenNoNotice;
ConsumeNotices only when no notice is there at all), or regarded as there (DontWait).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from js7es.domain.board.events import (
    OrderNoticeAnnounced,
    OrderNoticePosted,
    OrderNoticesConsumed,
    OrderNoticesConsumptionStarted,
    OrderNoticesExpected,
    OrderNoticesRead,
)
from js7es.domain.board.expression import L3, board_paths, evaluate, parse_board_path_expression
from js7es.domain.board.item import GlobalBoard, PlannableBoard
from js7es.domain.board.notice import GLOBAL, NoticeId, check_notice_key, notice_id_from_json, plan_of_order
from js7es.domain.order.context import Context
from js7es.domain.order.events import OrderAdded, OrderEvent, OrderMoved
from js7es.domain.order.executors.step import Step
from js7es.domain.order.new_orders import added_order
from js7es.domain.order.states import ExpectingNotices
from js7es.domain.problem import Problem, problem
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import ConsumeNotices, ExpectNotices, PostNotices

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState

NO_NOTICE = "NoNotice"  # JS7's OrderMoved.NoNotice


def execute_post_notices(step: Step, instruction: PostNotices) -> list[OrderEvent]:
    if not step.ctx.at_controller:
        return step.detach()
    events: list[OrderEvent] = []
    for board_path in instruction.board_paths:
        posted = _posted_notice(step, board_path)
        if isinstance(posted, Problem):
            return step.fail_with(posted.message)
        events.append(posted)
    return [*events, step.move(pos.next_of(step.order.position))]


def _posted_notice(step: Step, board_path: str) -> OrderNoticePosted | Problem:
    board = step.state.boards.items.get(board_path)
    if board is None:
        return problem("UnknownItem", f"Unknown Board:{board_path}", key=f"Board:{board_path}")
    notice_id = _notice_id(step, board_path, board.post_order_to_notice_key, board.is_global)
    if isinstance(notice_id, Problem):
        return notice_id
    end_of_life = None
    if isinstance(board, GlobalBoard) and board.end_of_life is not None:
        value = step.evaluate(board.end_of_life)
        if isinstance(value, Problem):
            return value
        if value is not None:  # JS7: a missing value means no end of life
            if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
                return problem("InvalidEndOfLife", f"Board:{board_path}: endOfLife gives no number but {value!r}")
            end_of_life = int(value)
    return OrderNoticePosted(notice_id=notice_id.to_json(), end_of_life=end_of_life)


def _notice_id(step: Step, board_path: str, expression: str, is_global: bool) -> NoticeId | Problem:
    key = step.evaluate(expression)
    if isinstance(key, Problem):
        return problem(key.code, f"Board:{board_path}: {key.message}", **key.arguments)
    if not isinstance(key, str):
        return problem("InvalidNoticeKey", f"Board:{board_path}: the notice key is no string but {key!r}")
    checked = check_notice_key(key)
    if checked is not None:
        return checked
    plan = GLOBAL if is_global else plan_of_order(step.order.id)
    return NoticeId(plan=plan, board_path=board_path, notice_key=key)


def execute_expect_notices(step: Step, instruction: ExpectNotices | ConsumeNotices) -> list[OrderEvent]:
    """A Ready order at ExpectNotices or ConsumeNotices."""
    if not step.ctx.at_controller:
        return step.detach()
    expr = parse_board_path_expression(instruction.board_paths)
    if isinstance(expr, Problem):
        return step.fail_with(expr.message)
    notice_ids = []
    for board_path in board_paths(expr):
        board = step.state.boards.items.get(board_path)
        if board is None:
            return step.fail_with(f"{type(instruction).__name__}: Unknown Board:{board_path}")
        notice_id = _notice_id(step, board_path, board.expect_order_to_notice_key, board.is_global)
        if isinstance(notice_id, Problem):
            return step.fail_with(f"{type(instruction).__name__}: {notice_id.message}")
        notice_ids.append(notice_id)
    fulfilled = _try_fulfill(step, instruction, tuple(notice_ids))
    if fulfilled is not None:
        return fulfilled
    return [OrderNoticesExpected(notice_ids=tuple(i.to_json() for i in notice_ids))]


def expecting_notices(step: Step, instruction: object) -> list[OrderEvent]:
    """An order ExpectingNotices: go on when the notices are there now."""
    state = step.order.state
    assert isinstance(state, ExpectingNotices)
    if not isinstance(instruction, (ExpectNotices, ConsumeNotices)):
        return step.fail_with(f"ExpectingNotices at {type(instruction).__name__}, not at ExpectNotices")
    notice_ids = []
    for obj in state.notice_ids:
        notice_id = notice_id_from_json(obj)
        if isinstance(notice_id, Problem):
            return step.fail_with(notice_id.message)
        notice_ids.append(notice_id)
    return _try_fulfill(step, instruction, tuple(notice_ids)) or []


def _try_fulfill(
    step: Step, instruction: ExpectNotices | ConsumeNotices, notice_ids: tuple[NoticeId, ...]
) -> list[OrderEvent] | None:
    """JS7's NoticeEventSource.tryFulfill: the events when the notices suffice, else None (wait)."""
    expr = parse_board_path_expression(instruction.board_paths)
    assert not isinstance(expr, Problem)  # checked when the workflow was read
    boards = step.state.boards
    available = {i.board_path: boards.is_available(i) for i in notice_ids}
    result = evaluate(expr, available)
    if result == L3.FALSE:
        return None
    here = step.order.position
    skip: list[OrderEvent] = [OrderNoticesRead(), OrderMoved(to=step.move(pos.next_of(here)).to, reason=NO_NOTICE)]
    ids_json = tuple(i.to_json() for i in notice_ids)
    if isinstance(instruction, ConsumeNotices):
        if result == L3.TRUE:
            return [OrderNoticesConsumptionStarted(notice_ids=ids_json)]
        match instruction.when_not_announced:
            case "Wait":
                return None
            case "SkipWhenNoNotice" if not any(v == L3.TRUE for v in available.values()):
                return skip
        return [OrderNoticesConsumptionStarted(notice_ids=ids_json)]
    if result == L3.TRUE:
        return [OrderNoticesRead(), step.move(pos.next_of(here))]
    return None if instruction.when_not_announced == "Wait" else skip


def consume_notices_end(step: Step) -> list[OrderEvent]:
    """The end of a ConsumeNotices block: the consumption ends, the notices are deleted."""
    if not step.ctx.at_controller:
        return step.detach()
    if not step.state.boards.consumptions.get(step.order.id):  # moved in by a person: nothing to end
        parent = pos.parent(step.order.position)
        assert parent is not None
        return [step.move(pos.next_of(parent))]
    return [OrderNoticesConsumed()]


def announced_notices(state: ControllerState, order_id: str, added: OrderAdded, ctx: Context) -> list[OrderEvent]:
    """JS7's NoticeEventSource.planToNoticeAnnounced: an order added in a plan announces the notices its
    workflow's top-level PostNotices will post to PlannableBoards (those not announced yet), so that
    an ExpectNotices or ConsumeNotices of the plan waits for them whatever its whenNotAnnounced says."""
    if plan_of_order(order_id).is_global:
        return []
    workflow = state.workflows.get(added.workflow_id)
    if workflow is None:
        return []
    step = Step(state, added_order(order_id, added), workflow, ctx)
    announced: list[OrderEvent] = []
    for instruction in workflow.instructions.instructions:
        if not isinstance(instruction, PostNotices):
            continue
        for board_path in instruction.board_paths:
            board = state.boards.items.get(board_path)
            if not isinstance(board, PlannableBoard):
                continue
            notice_id = _notice_id(step, board_path, board.post_order_to_notice_key, is_global=False)
            if isinstance(notice_id, Problem):
                continue  # the PostNotices fails the order when it gets there
            place = state.boards.places.get(notice_id)
            event = OrderNoticeAnnounced(notice_id=notice_id.to_json())
            if (place is None or not place.is_announced) and event not in announced:
                announced.append(event)
    return announced
