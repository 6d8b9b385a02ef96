"""The audit log and the login history (joc-cockpit.md §2.4): `/audit_log`, `/audit_log/details`,
`/audit_log/login_history`, read from the audit projection's tables (projections/cockpit/audit.py), which
the AuditFollower fills shortly after each change. Shapes: js7-api-schemas `audit/auditLogFilter`,
`audit/auditLog`, `audit/audit`, `audit/auditLogDetailFilter`, `audit/auditLogDetails`,
`security/history/loginHistoryFilter`, `security/history/loginHistory`.

As JOC (sos-components AuditLogResourceImpl): `auditlog:view` is needed, and an entry is shown only if
the account may see its category: IDENTITY needs `administration:accounts:view`, CONTROLLER needs
`controller:view` for the entry's Controller, DEPLOYMENT `controller:deployment:view`, DAILYPLAN,
INVENTORY, DOCUMENTATIONS and CERTIFICATES their JOC view permission. `request` is JOC's `./<path>`;
`timeSpent` is in minutes. The login history lists failed logins only (JOC's getListOfFailedLogins).

js7es addition: each entry has `outcome` — for a command sent to a Controller `Accepted`,
`Refused: <code>: <message>`, `Unknown` (the Cockpit stopped before the answer) or `Pending`; absent
for changes of the Cockpit's own store, which are committed before they are audited.

Filters: `account` is exact; `comment` and `ticketLink` match a part (case-sensitive, SQL wildcards taken
literally); `objectName` is a regular expression searched in the names of the entry's objects (the
orders and workflows of a command, the account, role, identity service or settings section of a
change); `folders` and `objectTypes` keep entries with an object of that folder or type; `limit` (10000)
counts entries after every filter, -1 or 0 for all.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Generator, Iterator
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import Field
from starlette.responses import Response

from js7es.domain.cockpit import keys
from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API, PREFIX
from js7es.nodes.cockpit.api.joc import bad_request, delivered, joc_date, joc_response, not_exist, now_ms
from js7es.nodes.cockpit.api.models import ControllerId, Request, String255
from js7es.nodes.cockpit.api.models import Response as JocResponse
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.queries.dates import DateError, into_past, parse_date

VIEW = "sos:products:joc:auditlog:view"
DEFAULT_LIMIT = 10000
LOGIN_HISTORY_LIMIT = 10000

Category = Literal[
    "INVENTORY", "CONTROLLER", "DAILYPLAN", "OTHERS", "DEPLOYMENT", "DOCUMENTATIONS", "CERTIFICATES",
    "IDENTITY", "SETTINGS", "MONITORING", "UNKNOWN",
]  # audit/category-schema.json  # fmt: skip
ObjectType = Literal[
    "WORKFLOW", "JOBCLASS", "JOBRESOURCE", "LOCK", "NOTICEBOARD", "FILEORDERSOURCE", "WORKINGDAYSCALENDAR",
    "NONWORKINGDAYSCALENDAR", "SCHEDULE", "INCLUDESCRIPT", "JOBTEMPLATE", "REPORT", "DOCUMENTATION", "ORDER",
]  # audit/objectType-schema.json  # fmt: skip
# common/dateFromTo-schema.json
DateFromTo = Annotated[
    str,
    Field(
        max_length=64,
        pattern=(
            r"^([+-]?0|([+-]?[0-9]+[smhdwMy])+|\d{4}-\d{2}-\d{2}(?:T| )\d{2}:\d{2}:\d{2}([,.]\d{1,3})?)"
            r"(Z|[+-]\d{2}(:?\d{2})?)?$"
        ),
    ),
]

# The JOC permission that shows a category (CONTROLLER and DEPLOYMENT depend on the Controller).
_CATEGORY_PERMISSIONS = {
    "IDENTITY": "sos:products:joc:administration:accounts:view",
    "CERTIFICATES": "sos:products:joc:administration:certificates:view",
    "DAILYPLAN": "sos:products:joc:dailyplan:view",
    "DOCUMENTATIONS": "sos:products:joc:documentations:view",
    "INVENTORY": "sos:products:joc:inventory:view",
}
_CONTROLLER_CATEGORIES = {
    "CONTROLLER": "sos:products:controller:view",
    "DEPLOYMENT": "sos:products:controller:deployment:view",
}
ALL_CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]


class Folder(Request):
    """common/folder-schema.json"""

    folder: Annotated[str, Field(min_length=1, max_length=255)]
    recursive: bool = True


class AuditLogFilter(Request):
    """audit/auditLogFilter-schema.json"""

    controllerId: ControllerId | None = None
    objectName: String255 | None = None
    objectTypes: Annotated[list[ObjectType], Field(max_length=100)] | None = None
    categories: Annotated[list[Category], Field(max_length=100)] | None = None
    folders: Annotated[list[Folder], Field(max_length=1000)] | None = None
    account: String255 | None = None
    comment: String255 | None = None
    dateFrom: DateFromTo | None = None
    dateTo: DateFromTo | None = None
    timeZone: String255 | None = None
    limit: int = DEFAULT_LIMIT
    ticketLink: String255 | None = None


class AuditItem(JocResponse):
    """audit/audit-schema.json, plus js7es's `outcome`"""

    deliveryDate: str | None = None  # type: ignore[assignment]
    id: int
    account: str
    request: str
    created: str
    controllerId: str | None = None
    category: str
    comment: str | None = None
    parameters: str | None = None
    timeSpent: int | None = None
    ticketLink: str | None = None
    commitId: str | None = None
    outcome: str | None = Field(None, description="js7es: Accepted, Refused: …, Unknown or Pending")


class AuditLog(JocResponse):
    """audit/auditLog-schema.json"""

    auditLog: list[AuditItem]


def _joc_request(request: str) -> str:
    return "./" + request[len(PREFIX) + 1 :] if request.startswith(PREFIX + "/") else request


def details_of(parameters: str | None) -> list[dict[str, str]]:
    """The objects of an entry (audit/auditDetail-schema.json) found in its parameters."""
    try:
        value = json.loads(parameters or "{}")
    except ValueError:
        return []
    if not isinstance(value, dict):
        return []
    found: dict[tuple[str, str], None] = {}
    for order in value.get("orders") or ():
        if isinstance(order, dict):
            if isinstance(order.get("orderId"), str):
                found[(order["orderId"], "ORDER")] = None
            if isinstance(order.get("workflowPath"), str):
                found[(order["workflowPath"], "WORKFLOW")] = None
    for order_id in value.get("orderIds") or ():
        if isinstance(order_id, str):
            found[(order_id, "ORDER")] = None
    return [{"path": path, "type": kind} for path, kind in found]


def _names(parameters: str | None, details: list[dict[str, str]]) -> list[str]:
    names = [d["path"].rsplit("/", 1)[-1] for d in details]
    try:
        value = json.loads(parameters or "{}")
    except ValueError:
        return names
    key = value.get("Key") if isinstance(value, dict) else None
    if isinstance(key, str) and keys.split(key)[0]:
        names.append(keys.split(key)[1])
    return names


def _in_folders(path: str, folders: list[Folder]) -> bool:
    parent = path.rsplit("/", 1)[0] or "/"
    for f in folders:
        folder = f.folder.rstrip("/") or "/"
        if parent == folder or (f.recursive and (folder == "/" or parent.startswith(folder + "/"))):
            return True
    return False


def _visible(call: Call, controller_id: str | None) -> sa.ColumnElement[bool]:
    """JOC's category permissions as a condition on the audit_log rows."""
    table = schema.audit_log
    hidden = [c for c, p in _CATEGORY_PERMISSIONS.items() if not call.permitted(p)]
    conditions: list[sa.ColumnElement[bool]] = [
        sa.or_(table.c.category.is_(None), table.c.category.not_in([*hidden, *_CONTROLLER_CATEGORIES]))
    ]
    controllers = [controller_id] if controller_id else call.services.controller_ids()
    for category, permission in _CONTROLLER_CATEGORIES.items():
        allowed = [c for c in controllers if call.permitted(permission, c)]
        if allowed:
            conditions.append(sa.and_(table.c.category == category, table.c.controller_id.in_(allowed)))
    return sa.or_(*conditions)


def _date(text: str | None, *, date_to: bool, time_zone: str | None) -> int | None:
    try:
        return parse_date(into_past(text), date_to=date_to, time_zone=time_zone, now_ms=now_ms())
    except (DateError, ValueError, OverflowError):
        raise bad_request(f"invalid date '{text}'") from None


def _rows(call: Call, body: AuditLogFilter) -> Generator[Any, None, None]:
    table = schema.audit_log
    query = sa.select(table).where(_visible(call, body.controllerId)).order_by(table.c.id.desc())
    if body.controllerId:
        query = query.where(sa.or_(table.c.controller_id == body.controllerId, table.c.controller_id.is_(None)))
    if body.categories:
        wanted = list(body.categories)
        if "UNKNOWN" in wanted:
            query = query.where(sa.or_(table.c.category.in_(wanted), table.c.category.is_(None)))
        else:
            query = query.where(table.c.category.in_(wanted))
    if body.account:
        query = query.where(table.c.account == body.account)
    if body.comment:
        query = query.where(table.c.comment.contains(body.comment, autoescape=True))
    if body.ticketLink:
        query = query.where(table.c.ticket_link.contains(body.ticketLink, autoescape=True))
    date_from = _date(body.dateFrom, date_to=False, time_zone=body.timeZone)
    date_to = _date(body.dateTo, date_to=True, time_zone=body.timeZone)
    if date_from is not None:
        query = query.where(table.c.created_at >= date_from)
    if date_to is not None:
        query = query.where(table.c.created_at < date_to)
    with call.services.engine.connect() as connection:
        result = connection.execute(query.execution_options(yield_per=500))
        try:
            yield from result
        finally:
            result.close()  # also when the reader stops at its limit: the server-side cursor ends now


def _audit_log(call: Call, body: AuditLogFilter) -> list[dict[str, Any]]:
    try:
        name_pattern = re.compile(body.objectName) if body.objectName else None
    except re.error as e:
        raise bad_request(f"objectName is not a regular expression: {e}") from None
    limit = body.limit if body.limit > 0 else None
    items: list[dict[str, Any]] = []
    rows = _rows(call, body)
    with contextlib.closing(rows):  # a break at the limit closes the server-side cursor at once
        items = _filtered(call, rows, body, name_pattern, limit)
    return items


def _filtered(
    call: Call, rows: Iterator[Any], body: AuditLogFilter, name_pattern: re.Pattern[str] | None, limit: int | None
) -> list[dict[str, Any]]:
    """The entries the filter keeps; an entry about workflows none of which lies in the account's folders
    is not shown (as JOC hides objects outside folder permissions)."""
    items: list[dict[str, Any]] = []
    for row in rows:
        details = details_of(row.parameters)
        workflows = [d["path"] for d in details if d["type"] == "WORKFLOW"]
        if workflows and not any(call.folder_permitted(w, row.controller_id) for w in workflows):
            continue
        if body.objectTypes or body.folders or name_pattern:
            if body.objectTypes and not any(d["type"] in body.objectTypes for d in details):
                continue
            if body.folders and not any(_in_folders(d["path"], body.folders) for d in details):
                continue
            if name_pattern and not any(name_pattern.search(n) for n in _names(row.parameters, details)):
                continue
        items.append(_item(row))
        if limit is not None and len(items) >= limit:
            break
    return items


def _item(row: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": row.id,
        "account": row.account,
        "request": _joc_request(row.request),
        "created": joc_date(row.created_at),
        "controllerId": row.controller_id,
        "category": row.category or "UNKNOWN",
        "comment": row.comment,
        "parameters": row.parameters,
        "timeSpent": None if row.time_spent_s is None else row.time_spent_s // 60,
        "ticketLink": row.ticket_link,
        "outcome": row.outcome,
    }
    return {k: v for k, v in item.items() if v is not None}


@API.post("/audit_log", summary="The audit log (with js7es's `outcome` of Controller commands)",
          request=AuditLogFilter, response=AuditLog, permission=VIEW)  # fmt: skip
async def audit_log(call: Call, body: AuditLogFilter) -> Response:
    items = await call.in_thread(_audit_log, call, body)
    return joc_response(delivered({"auditLog": items}))


class AuditLogDetailFilter(Request):
    """audit/auditLogDetailFilter-schema.json"""

    auditLogId: Annotated[int, Field(ge=0, le=2**63 - 1)]


class AuditLogDetails(JocResponse):
    """audit/auditLogDetails-schema.json"""

    auditLogDetails: list[dict[str, str]]


def _details(call: Call, audit_log_id: int) -> list[dict[str, str]]:
    table = schema.audit_log
    query = sa.select(table.c.parameters).where(table.c.id == audit_log_id, _visible(call, None))
    with call.services.engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        raise not_exist(f"Unknown audit log entry {audit_log_id}")
    return details_of(row.parameters)


@API.post("/audit_log/details", summary="The objects of an audit log entry", request=AuditLogDetailFilter,
          response=AuditLogDetails, permission=VIEW)  # fmt: skip
async def audit_log_details(call: Call, body: AuditLogDetailFilter) -> Response:
    details = await call.in_thread(_details, call, body.auditLogId)
    return joc_response(delivered({"auditLogDetails": details}))


class LoginHistoryFilter(Request):
    """security/history/loginHistoryFilter-schema.json"""

    accountName: String255 | None = None
    dateFrom: DateFromTo | None = None
    dateTo: DateFromTo | None = None
    timeZone: String255 | None = None


class LoginHistory(JocResponse):
    """security/history/loginHistory-schema.json"""

    loginHistoryItems: list[dict[str, Any]]


def _login_history(call: Call, body: LoginHistoryFilter) -> list[dict[str, Any]]:
    table = schema.login_history
    query = (
        sa.select(table)
        .where(table.c.succeeded.is_(False))
        .order_by(table.c.created_at.desc(), table.c.id.desc())
        .limit(LOGIN_HISTORY_LIMIT)
    )
    if body.accountName:
        query = query.where(table.c.account == body.accountName)
    date_from = _date(body.dateFrom, date_to=False, time_zone=body.timeZone)
    date_to = _date(body.dateTo, date_to=True, time_zone=body.timeZone)
    if date_from is not None:
        query = query.where(table.c.created_at >= date_from)
    if date_to is not None:
        query = query.where(table.c.created_at < date_to)
    with call.services.engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        {
            "accountName": row.account,
            "loginDate": joc_date(row.created_at),
            "loginSuccess": bool(row.succeeded),
            "details": {
                "loginHistoryItems": [
                    {
                        k: v
                        for k, v in {"identityServiceName": row.identity_service, "message": row.reason}.items()
                        if v is not None
                    }
                ]
            },
        }
        for row in rows
    ]


@API.post("/audit_log/login_history", summary="The failed logins", request=LoginHistoryFilter,
          response=LoginHistory, permission=VIEW)  # fmt: skip
async def login_history(call: Call, body: LoginHistoryFilter) -> Response:
    items = await call.in_thread(_login_history, call, body)
    return joc_response(delivered({"loginHistoryItems": items}))
