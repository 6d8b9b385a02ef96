"""Notice boards for the operator (joc-cockpit.md §1.4): ``/notices/post`` and ``/notices/delete`` send JS7's
PostNotice / DeleteNotice, ``/notice/boards`` and ``/notice/board`` show the deployed boards with their
notices and the orders expecting them — from the Controller's state (controller_state.py), as JOC reads its
proxy's.

Shapes and rules from JOC (js7-api-schemas board/postNotices, deleteNotices, boardsFilter, boardFilter,
controller board/board and notice schemas; sos-components NoticesModifyImpl and BoardHelper):
- a notice id is JOC's string: ``KEY`` on a global board, ``DailyPlan/2024-11-25/KEY`` (``-`` or nothing
  for the empty key; JOC's separator U+2571 and empty key U+2014 too) on a plannable one;
- ``notices: [{noticeBoardPath, noticeIds}]``, or the deprecated ``noticeBoardPaths`` + ``noticeId`` (post)
  and ``noticeBoardPath`` + ``noticeIds`` (delete); a board without noticeIds means, for post, every notice
  orders expect there and, for delete, every posted one;
- ``endOfLife`` a JOC date (absolute or relative, in ``timeZone``): an end of life not in the future is
  left out (the board's own expression then gives it), as JOC does;
- ``/notices/post/expected``: the notices orders of the named workflows expect on the named boards; the
  older ``/notice/post`` and ``/notice/delete`` take one notice;
- permissions ``controller:noticeboards:post`` / ``:delete`` / ``:view``; a board the Controller lacks is
  JOC-002 "Controller 'C' couldn't find the Notice Boards ['B']".
Decision: nothing to post or delete (no expected, no posted notice) is JOC-002 "No expected (posted)
notices found." where JOC sends an empty batch and answers ok: the operator learns that nothing happened.
The notice states are JOC's: POSTED (severity 6), EXPECTED (8), ANNOUNCED (4).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from js7es.domain.board.notice import DAILY_PLAN_SCHEMA
from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.controller_state import (
    ControllerView,
    NoticeIdJson,
    controller_view,
    deployed_path,
    joc_fields,
)
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import bad_request, delivered, joc_date, not_exist, now_ms, ok
from js7es.nodes.cockpit.api.models import Audited, ControllerId, OkResponse, Request, Response, String255
from js7es.nodes.cockpit.api.orders import Folder
from js7es.nodes.cockpit.api.workflow_controls import name_of
from js7es.projections.cockpit.queries.dates import DateError, parse_date

POST = "sos:products:controller:noticeboards:post"
DELETE = "sos:products:controller:noticeboards:delete"
VIEW = "sos:products:controller:noticeboards:view"
CATEGORY = "CONTROLLER"
NoticeIdText = Annotated[str, StringConstraints(min_length=1, max_length=255)]
_JOC_SEPARATOR = "\u2571"  # JS7's PlannedNoticeKey.toShortString separator
_JOC_EMPTY_KEY = "\u2014"  # JS7's short string of the empty NoticeKey
SEVERITY = {"POSTED": 6, "EXPECTED": 8, "ANNOUNCED": 4}


class NoticeIdsPerBoard(Request):
    """board/noticeIdsPerBoard-schema.json"""

    noticeBoardPath: String255
    noticeIds: list[NoticeIdText] | None = None


class PostNotices(Audited):
    """board/postNotices-schema.json"""

    controllerId: ControllerId
    notices: Annotated[list[NoticeIdsPerBoard], Field(min_length=1)] | None = None
    noticeBoardPaths: Annotated[list[String255], Field(min_length=1)] | None = None
    noticeId: NoticeIdText | None = None
    endOfLife: Annotated[str, StringConstraints(max_length=64)] | None = None
    timeZone: String255 | None = None


class DeleteNotices(Audited):
    """board/deleteNotices-schema.json"""

    controllerId: ControllerId
    notices: Annotated[list[NoticeIdsPerBoard], Field(min_length=1)] | None = None
    noticeBoardPath: String255 | None = None
    noticeIds: Annotated[list[NoticeIdText], Field(min_length=1)] | None = None


class ModifyNotice(Audited):
    """board/modifyNotice-schema.json (the older /notice/post and /notice/delete: one notice)"""

    controllerId: ControllerId
    noticeBoardPath: String255
    noticeId: NoticeIdText
    endOfLife: Annotated[str, StringConstraints(max_length=64)] | None = None
    timeZone: String255 | None = None


class ExpectedNoticesPerBoard(Request):
    noticeBoardPath: String255
    workflowPaths: Annotated[list[String255], Field(min_length=1)]


class PostExpectedNotices(Audited):
    """board/postExpectedNotices-schema.json"""

    controllerId: ControllerId
    expectedNotices: Annotated[list[ExpectedNoticesPerBoard], Field(min_length=1)]
    endOfLife: Annotated[str, StringConstraints(max_length=64)] | None = None
    timeZone: String255 | None = None


class BoardsFilter(Request):
    """board/boardsFilter-schema.json"""

    controllerId: ControllerId
    noticeBoardPaths: list[String255] | None = None
    folders: list[Folder] | None = None
    planSchemaIds: list[String255] | None = None
    noticeSpaceKeys: list[String255] | None = None
    compact: bool = False
    limit: int = 10000


class BoardFilter(Request):
    """board/boardFilter-schema.json"""

    controllerId: ControllerId
    noticeBoardPath: String255
    planSchemaIds: list[String255] | None = None
    noticeSpaceKeys: list[String255] | None = None
    compact: bool = False
    limit: int = 10000


class Notice(Request):
    """controller board/notice-schema.json"""

    model_config = Request.model_config | {"extra": "allow"}
    id: str
    key: str
    endOfLife: str | None = None
    expectingOrderIds: list[str] | None = None
    state: dict[str, Any] | None = None


class Board(Request):
    """controller board/board-schema.json (JS7's board item plus JOC's counts)"""

    model_config = Request.model_config | {"extra": "allow"}
    path: str
    numOfNotices: int
    numOfPostedNotices: int
    numOfExpectedNotices: int
    numOfAnnouncements: int
    numOfExpectingOrders: int
    notices: list[Notice] | None = None


class BoardsAnswer(Response):
    noticeBoards: list[Board]


class BoardAnswer(Response):
    noticeBoard: Board


def notice_id_json(text: str, board: str) -> NoticeIdJson:
    """JOC's notice id string (BoardHelper.getNoticeId) as JS7's NoticeId JSON."""
    text = text.replace(_JOC_SEPARATOR, "/").replace(_JOC_EMPTY_KEY, "-")
    while "//" in text:
        text = text.replace("//", "/")
    if "/" not in text:
        return (board, text)
    parts = text.split("/")
    if parts[0] == "Global":
        return (board, _key(parts[1])) if len(parts) > 1 and _key(parts[1]) else (board,)
    if len(parts) < 2 or not parts[1]:
        raise bad_request(f"noticeId '{text}': a plan's notice id is SCHEMA/PLANKEY/KEY, e.g. DailyPlan/2024-11-25/KEY")
    notice_key = _key(parts[2]) if len(parts) > 2 else ""
    return (parts[0], parts[1], board, notice_key) if notice_key else (parts[0], parts[1], board)


def _key(part: str) -> str:
    return "" if part in ("", "-") else part


def notice_text(notice_id: NoticeIdJson) -> tuple[str, str]:
    """(JOC's id string, the notice key) of JS7's NoticeId JSON (BoardHelper.getNoticeKeyShortString)."""
    if len(notice_id) <= 2:
        key = notice_id[1] if len(notice_id) == 2 else ""
        return key or "-", key
    key = notice_id[3] if len(notice_id) == 4 else ""
    return f"{notice_id[0]}/{notice_id[1]}/{key or '-'}", key


def _boards(view: ControllerView, controller_id: str, paths: list[str]) -> list[str]:
    names = list(dict.fromkeys(name_of(p) for p in paths))
    missing = [n for n in names if n not in view.boards]
    if missing:
        listed = "', '".join(missing)
        raise not_exist(f"Controller '{controller_id}' couldn't find the Notice Boards ['{listed}']")
    return names


def _check_plan(view: ControllerView, notice_id: NoticeIdJson) -> None:
    board = view.boards[notice_id[0] if len(notice_id) <= 2 else notice_id[2]]
    plannable = board.get("TYPE") == "PlannableBoard"
    if plannable and len(notice_id) <= 2:
        raise bad_request(
            f"{board['path']} is a PlannableBoard: give the plan, e.g. {DAILY_PLAN_SCHEMA}/2024-11-25/KEY"
        )
    if not plannable and len(notice_id) > 2:
        raise bad_request(f"{board['path']} is a GlobalBoard: its notices are in no plan")


def _end_of_life(body: PostNotices | ModifyNotice | PostExpectedNotices, now: int) -> int | None:
    if not body.endOfLife:
        return None
    try:
        at = parse_date(body.endOfLife, date_to=False, time_zone=body.timeZone, now_ms=now)
    except DateError as e:
        raise bad_request(f"endOfLife: {e}") from None
    return at if at is not None and at > now else None


async def _send(call: Call, body: Audited, controller_id: str, commands: list[dict[str, Any]]) -> None:
    def send(client: Any) -> None:
        for command in commands:
            client.command(command)

    await call.services.controller_command(
        call.change_meta(body, controller_id),
        controller_id=controller_id,
        category=CATEGORY,
        parameters={"command": commands[0]["TYPE"], "noticeIds": [c["noticeId"] for c in commands]},
        send=send,
    )


def _expected(view: ControllerView, board: str) -> list[NoticeIdJson]:
    return list(dict.fromkeys(n for n, _ in view.expecting() if _board_of(n) == board))


def _board_of(notice_id: NoticeIdJson) -> str:
    return notice_id[0] if len(notice_id) <= 2 else notice_id[2]


@API.post(
    "/notices/post",
    summary="Posts notices (JS7's PostNotice): the orders expecting them go on",
    request=PostNotices,
    response=OkResponse,
    permission=POST,
    controller_scoped=True,
)
async def post_notices(call: Call, body: PostNotices) -> Any:
    if body.notices:
        per_board = [(n.noticeBoardPath, n.noticeIds) for n in body.notices]
    elif body.noticeBoardPaths and body.noticeId:
        per_board = [(p, [body.noticeId]) for p in body.noticeBoardPaths]
    else:
        raise bad_request("give notices, or noticeBoardPaths and noticeId")
    controller_id = call.controller_id(body)
    end_of_life = _end_of_life(body, now_ms())
    view = await controller_view(call, controller_id)
    boards = _boards(view, controller_id, [p for p, _ in per_board])
    ids: list[NoticeIdJson] = []
    for board, (_, texts) in zip(boards, per_board, strict=True):
        ids += [notice_id_json(t, board) for t in texts] if texts else _expected(view, board)
    if not ids:
        raise not_exist("No expected notices found.")
    for notice_id in ids:
        _check_plan(view, notice_id)
    eol = {} if end_of_life is None else {"endOfLife": end_of_life}
    commands = [{"TYPE": "PostNotice", "noticeId": list(n), **eol} for n in dict.fromkeys(ids)]
    await _send(call, body, controller_id, commands)
    return ok(view.survey_ms)


@API.post(
    "/notices/delete",
    summary="Deletes notices (JS7's DeleteNotice)",
    request=DeleteNotices,
    response=OkResponse,
    permission=DELETE,
    controller_scoped=True,
)
async def delete_notices(call: Call, body: DeleteNotices) -> Any:
    if body.notices:
        per_board = [(n.noticeBoardPath, n.noticeIds) for n in body.notices]
    elif body.noticeBoardPath and body.noticeIds:
        per_board = [(body.noticeBoardPath, body.noticeIds)]
    else:
        raise bad_request("give notices, or noticeBoardPath and noticeIds")
    controller_id = call.controller_id(body)
    view = await controller_view(call, controller_id)
    boards = _boards(view, controller_id, [p for p, _ in per_board])
    ids: list[NoticeIdJson] = []
    for board, (_, texts) in zip(boards, per_board, strict=True):
        if texts:
            ids += [notice_id_json(t, board) for t in texts]
        else:
            ids += [n for n in view.notices if _board_of(n) == board]
    missing = [notice_text(n)[0] for n in ids if n not in view.notices]
    if missing:
        raise not_exist(f"No posted notice {missing}")
    if not ids:
        raise not_exist("No posted notices found.")
    commands = [{"TYPE": "DeleteNotice", "noticeId": list(n)} for n in dict.fromkeys(ids)]
    await _send(call, body, controller_id, commands)
    return ok(view.survey_ms)


@API.post(
    "/notices/post/expected",
    summary="Posts the notices that orders of the given workflows expect on the given boards",
    request=PostExpectedNotices,
    response=OkResponse,
    permission=POST,
    controller_scoped=True,
)
async def post_expected_notices(call: Call, body: PostExpectedNotices) -> Any:
    controller_id = call.controller_id(body)
    end_of_life = _end_of_life(body, now_ms())
    view = await controller_view(call, controller_id)
    wanted = {name_of(e.noticeBoardPath): {name_of(w) for w in e.workflowPaths} for e in body.expectedNotices}
    ids: list[NoticeIdJson] = []
    for notice_id, order_id in view.expecting():
        workflow = str(view.orders[order_id].get("workflowId", {}).get("path", ""))
        if workflow in wanted.get(_board_of(notice_id), ()) and call.folder_permitted(
            deployed_path(call, "WORKFLOW", workflow, controller_id), controller_id
        ):
            ids.append(notice_id)
    if not ids:
        raise not_exist("No expected notices found.")
    eol = {} if end_of_life is None else {"endOfLife": end_of_life}
    commands = [{"TYPE": "PostNotice", "noticeId": list(n), **eol} for n in dict.fromkeys(ids)]
    await _send(call, body, controller_id, commands)
    return ok(view.survey_ms)


@API.post(
    "/notice/post",
    summary="Posts one notice (JOC's older call)",
    request=ModifyNotice,
    response=OkResponse,
    permission=POST,
    controller_scoped=True,
)
async def post_notice(call: Call, body: ModifyNotice) -> Any:
    one = PostNotices(
        controllerId=body.controllerId,
        notices=[NoticeIdsPerBoard(noticeBoardPath=body.noticeBoardPath, noticeIds=[body.noticeId])],
        endOfLife=body.endOfLife,
        timeZone=body.timeZone,
        auditLog=body.auditLog,
    )
    return await post_notices(call, one)


@API.post(
    "/notice/delete",
    summary="Deletes one notice (JOC's older call)",
    request=ModifyNotice,
    response=OkResponse,
    permission=DELETE,
    controller_scoped=True,
)
async def delete_notice(call: Call, body: ModifyNotice) -> Any:
    one = DeleteNotices(
        controllerId=body.controllerId,
        noticeBoardPath=body.noticeBoardPath,
        noticeIds=[body.noticeId],
        auditLog=body.auditLog,
    )
    return await delete_notices(call, one)


def board_json(
    call: Call, view: ControllerView, controller_id: str, name: str, *, compact: bool, limit: int
) -> dict[str, Any]:
    raw = view.boards[name]
    # JOC's board fields: boardType for JS7's item TYPE (JsonConverter's mapping, reversed)
    item = {k: v for k, v in raw.items() if k not in ("TYPE", "itemRevision")}
    item["boardType"] = "PLANNABLE" if raw.get("TYPE") == "PlannableBoard" else "GLOBAL"
    expecting: dict[NoticeIdJson, list[str]] = {}
    for notice_id, order_id in view.expecting():
        if _board_of(notice_id) == name:
            expecting.setdefault(notice_id, []).append(order_id)
    notices: list[dict[str, Any]] = []
    for notice_id, notice in sorted(view.notices.items()):
        if _board_of(notice_id) != name:
            continue
        text, key = notice_text(notice_id)
        state = "ANNOUNCED" if view.places.get(notice_id, {}).get("isAnnounced") else "POSTED"
        entry: dict[str, Any] = {"id": text, "key": key, "state": {"severity": SEVERITY[state], "_text": state}}
        if notice.get("endOfLife") is not None:
            entry["endOfLife"] = joc_date(notice["endOfLife"])
        notices.append(entry)
    announced = [n for n, p in view.places.items() if _board_of(n) == name and p.get("isAnnounced")]
    for notice_id in sorted(set(expecting) | {n for n in announced if n not in view.notices}):
        text, key = notice_text(notice_id)
        orders = expecting.get(notice_id, [])
        state = "EXPECTED" if orders else "ANNOUNCED"
        entry = {"id": text, "key": key, "state": {"severity": SEVERITY[state], "_text": state}}
        entry["expectingOrderIds"] = orders if limit < 0 else orders[:limit]
        notices.append(entry)
    posted = sum(1 for n in notices if n["state"]["_text"] == "POSTED")
    item.update(joc_fields(call, "NOTICEBOARD", name, controller_id))
    item.update(
        state={"severity": 6, "_text": "IN_SYNC"},
        numOfNotices=len(notices),
        numOfPostedNotices=posted,
        numOfExpectedNotices=sum(1 for n in notices if n["state"]["_text"] == "EXPECTED"),
        numOfAnnouncements=sum(1 for n in notices if n["state"]["_text"] == "ANNOUNCED"),
        numOfExpectingOrders=sum(len(o) for o in expecting.values()),
    )
    if not compact:
        item["notices"] = notices
    return item


def _in_folders(path: str, folders: list[Folder]) -> bool:
    from js7es.nodes.cockpit.api.selection import _in_folder

    return any(_in_folder(path, f.folder, f.recursive) for f in folders)


def _no_plans(body: BoardsFilter | BoardFilter) -> None:
    if body.planSchemaIds or body.noticeSpaceKeys:
        raise bad_request("planSchemaIds/noticeSpaceKeys: js7es does not filter boards by plan yet")


@API.post(
    "/notice/boards",
    summary="The deployed notice boards with their notices and expecting orders",
    request=BoardsFilter,
    response=BoardsAnswer,
    permission=VIEW,
    controller_scoped=True,
)
async def read_boards(call: Call, body: BoardsFilter) -> Any:
    _no_plans(body)
    controller_id = call.controller_id(body)
    view = await controller_view(call, controller_id)
    names = _boards(view, controller_id, body.noticeBoardPaths) if body.noticeBoardPaths else sorted(view.boards)
    out = []
    for name in names:
        path = deployed_path(call, "NOTICEBOARD", name, controller_id)
        if not call.folder_permitted(path, controller_id) or (body.folders and not _in_folders(path, body.folders)):
            continue
        out.append(board_json(call, view, controller_id, name, compact=body.compact, limit=body.limit))
    return delivered({"noticeBoards": out}, survey_ms=view.survey_ms)


@API.post(
    "/notice/board",
    summary="A deployed notice board with its notices and expecting orders",
    request=BoardFilter,
    response=BoardAnswer,
    permission=VIEW,
    controller_scoped=True,
)
async def read_board(call: Call, body: BoardFilter) -> Any:
    _no_plans(body)
    controller_id = call.controller_id(body)
    view = await controller_view(call, controller_id)
    name = _boards(view, controller_id, [body.noticeBoardPath])[0]
    call.require_folder(deployed_path(call, "NOTICEBOARD", name, controller_id), controller_id)
    board = board_json(call, view, controller_id, name, compact=body.compact, limit=body.limit)
    return delivered({"noticeBoard": board}, survey_ms=view.survey_ms)
