"""/orders, /order, /orders/overview/snapshot and /orders/overview/summary from the `orders` table
(and `order_history` for the summary).

JOC (OrdersResourceImpl.java) sorts the orders by scheduledFor, latest first, an order without one
counting as now, and cuts at `limit` (default 10000, -1 unlimited). Here the same order is three
index range scans on (controller_id, scheduled_for, order_id) — later than now, now (no
scheduledFor), earlier — each with its LIMIT, so a page of 100 out of 100,000 orders reads about
100 rows. Ties go by orderId.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from js7es.domain.value import loads
from js7es.domain.workflow.position import to_string
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.queries.common import (
    NEVER_MS,
    Db,
    Folders,
    WorkflowPaths,
    connected,
    effective_limit,
)
from js7es.projections.cockpit.queries.dates import into_past, parse_date
from js7es.projections.cockpit.queries.states import order_state, order_state_text, states_predicate

T = schema.orders
H = schema.order_history
TP = WorkflowPaths(T, T.c.workflow_path)
HP = WorkflowPaths(H, H.c.workflow_path)

WorkflowIds = Sequence[tuple[str, str | None]]  # (path, versionId or None)


def _columns() -> list[sa.ColumnElement[Any]]:
    return [
        T.c.order_id,
        T.c.workflow_path,
        T.c.workflow_version,
        T.c.state,
        T.c.is_suspended,
        T.c.position,
        T.c.arguments,
        T.c.scheduled_for,
        T.c.agent_path,
        T.c.parent_order_id,
        T.c.order_json,
        TP.label(),
    ]


def order_v(row: Any, now_ms: int, *, compact: bool) -> dict[str, Any]:
    """order/order_v-schema.json from an `orders` row."""
    position = loads(row.position)
    text = order_state_text(row.state, row.is_suspended, row.scheduled_for, now_ms)
    out: dict[str, Any] = {
        "orderId": row.order_id,
        "workflowId": {"path": row.joc_path, "versionId": row.workflow_version},
        "state": order_state(row.state, row.is_suspended, row.scheduled_for, now_ms),
        "position": list(position),
        "positionString": to_string(tuple(position)),
    }
    if not compact:
        out["arguments"] = loads(row.arguments)
    order = loads(row.order_json)
    attached = order.get("attached")
    if isinstance(attached, dict) and row.agent_path is not None:
        out["attachedState"] = {"TYPE": str(attached.get("kind") or attached.get("TYPE")), "agentName": row.agent_path}
    if row.agent_path is not None:
        out["agentId"] = row.agent_path
    scheduled_for = row.scheduled_for
    if scheduled_for is None and text == "SCHEDULED":
        scheduled_for = now_ms  # JOC: a SCHEDULED order without scheduledFor is due at the survey date
    if scheduled_for is not None:
        out["scheduledFor"] = scheduled_for
        out["scheduledNever"] = scheduled_for == NEVER_MS
    state = order.get("state")
    if row.state == "Prompting" and isinstance(state, dict) and "question" in state:
        question = state["question"]
        out["question"] = question if isinstance(question, str) else str(question)
    if row.state == "ExpectingNotices" and isinstance(state, dict):  # JOC's ExpectedNotice: board and key
        ids = [i for i in state.get("noticeIds", []) if isinstance(i, list) and i]
        out["expectedNotices"] = [
            {"boardName": i[0 if len(i) <= 2 else 2], "noticeId": i[-1] if len(i) in (2, 4) else ""} for i in ids
        ]
    outcomes = order.get("historicOutcomes") or []
    if outcomes and isinstance(outcomes[-1], dict) and isinstance(outcomes[-1].get("outcome"), dict):
        # controller/schemas/common/outcome-schema.json: JOC's model names JS7's errorMessage `message`
        last = dict(outcomes[-1]["outcome"])
        if "errorMessage" in last:
            last["message"] = last.pop("errorMessage")
        out["lastOutcome"] = {
            k: v for k, v in last.items() if k in ("TYPE", "message", "namedValues", "reason", "outcome")
        }
    failed = text == "FAILED"
    terminated = text in ("FINISHED", "CANCELLED")
    if not row.is_suspended and not terminated and not failed:
        out["isSuspendible"] = True
    if row.is_suspended or failed:
        out["isResumable"] = True
    if terminated:
        out["canLeave"] = row.parent_order_id is None and "|" not in row.order_id
    return out


def _where(
    c: Connection,
    controller_id: str,
    *,
    order_ids: Sequence[str] | None,
    workflow_ids: WorkflowIds | None,
    states: Sequence[str] | None,
    folders: Folders | None,
    regex: str | None,
    date_to_ms: int | None,
    now_ms: int,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [T.c.controller_id == controller_id, TP.in_folders(c, folders, [controller_id])]
    if order_ids:
        where.append(T.c.order_id.in_(sorted(set(order_ids))))
    if workflow_ids:
        alternatives = []
        for path, version in workflow_ids:
            clause = TP.is_any([path])
            alternatives.append(sa.and_(clause, T.c.workflow_version == version) if version else clause)
        where.append(sa.or_(*alternatives))
    if states:
        where.append(states_predicate(states, now_ms))
    if regex:
        # JOC: case-insensitive Java regex on "<workflow path>/<orderId>", '%' meaning '.*'
        where.append((TP.path + "/" + T.c.order_id).regexp_match("(?i)" + regex.replace("%", ".*")))
    if date_to_ms is not None and not order_ids:
        # JOC: a SCHEDULED order (not suspended) planned at or after max(dateTo, now) is left out,
        # unless it is PENDING and PENDING orders are asked for (or no states at all)
        until = max(date_to_ms, now_ms)
        keep_pending = not states or "PENDING" in states
        late = sa.and_(
            T.c.state == "Fresh", sa.not_(T.c.is_suspended), T.c.scheduled_for.is_not(None), T.c.scheduled_for >= until
        )
        if keep_pending:
            late = sa.and_(late, T.c.scheduled_for != NEVER_MS)
        where.append(sa.not_(late))
    return where


def list_orders(
    db: Db,
    controller_id: str,
    *,
    now_ms: int,
    order_ids: Sequence[str] | None = None,
    workflow_ids: WorkflowIds | None = None,
    states: Sequence[str] | None = None,
    folders: Folders | None = None,
    date_to: str | None = None,
    time_zone: str | None = None,
    regex: str | None = None,
    limit: int | None = None,
    compact: bool = False,
) -> dict[str, Any]:
    """POST /orders (order/ordersFilterV-schema.json → order/orders_v-schema.json, without the
    envelope's deliveryDate): the current orders, latest scheduledFor first. With `order_ids` JOC
    ignores `limit` and `dateTo`, and so do we; `folders` (the account's and the request's, as the API
    layer merges them) always apply."""
    date_to_ms = None
    if date_to:
        # JOC (OrdersResourceImpl): "0d" means "1d", parsed as a dateFrom
        date_to_ms = parse_date("1d" if date_to == "0d" else date_to, date_to=False, time_zone=time_zone, now_ms=now_ms)
    n = None if order_ids else effective_limit(limit)
    segments = (
        (T.c.scheduled_for > now_ms, (T.c.scheduled_for.desc(), T.c.order_id)),
        (T.c.scheduled_for.is_(None), (T.c.order_id,)),
        (T.c.scheduled_for == now_ms, (T.c.order_id,)),
        (T.c.scheduled_for < now_ms, (T.c.scheduled_for.desc(), T.c.order_id)),
    )
    orders: list[dict[str, Any]] = []
    with connected(db) as c:
        where = _where(
            c,
            controller_id,
            order_ids=order_ids,
            workflow_ids=workflow_ids,
            states=states,
            folders=folders,
            regex=regex,
            date_to_ms=date_to_ms,
            now_ms=now_ms,
        )
        for segment, order_by in segments:
            query = sa.select(*_columns()).select_from(TP.joined).where(*where, segment).order_by(*order_by)
            if n is not None:
                if len(orders) >= n:
                    break
                query = query.limit(n - len(orders))
            orders.extend(order_v(row, now_ms, compact=compact) for row in c.execute(query))
    return {"orders": orders}


def get_order(
    db: Db, controller_id: str, order_id: str, *, now_ms: int, folders: Folders | None = None, compact: bool = False
) -> dict[str, Any] | None:
    """POST /order (order/orderFilter-schema.json → order/order_v-schema.json): None when unknown or
    outside `folders` (the API answers JOC's not-found or folder error)."""
    with connected(db) as c:
        query = (
            sa.select(*_columns())
            .select_from(TP.joined)
            .where(
                T.c.controller_id == controller_id,
                T.c.order_id == order_id,
                TP.in_folders(c, folders, [controller_id]),
            )
        )
        row = c.execute(query).first()
    return None if row is None else order_v(row, now_ms, compact=compact)


# order/ordersSummary-schema.json, filled as OrdersResourceOverviewSnapshotImpl does
_SUMMARY_FIELDS = {
    "PENDING": "pending",
    "SCHEDULED": "scheduled",
    "INPROGRESS": "inProgress",
    "RUNNING": "running",
    "PROMPTING": "prompting",
    "SUSPENDED": "suspended",
    "WAITING": "waiting",
    "BLOCKED": "blocked",
    "FAILED": "failed",
    "FINISHED": "terminated",
    "CANCELLED": "terminated",
}


def orders_snapshot(
    db: Db,
    controller_id: str,
    *,
    now_ms: int,
    workflow_ids: WorkflowIds | None = None,
    folders: Folders | None = None,
) -> dict[str, Any]:
    """POST /orders/overview/snapshot (order/ordersFilterVBase-schema.json → order/snapshot-schema.json's
    `orders`, order/ordersSummary-schema.json): the number of current orders per JOC state, counted in
    SQL inside `folders`."""
    # Grouped by the inputs of the state text (a few dozen groups, read from the covering index
    # ix_orders_state), each group's text decided in Python as for one order.
    timing = sa.case(
        (T.c.scheduled_for.is_(None), 0),
        (T.c.scheduled_for < now_ms, 1),
        (T.c.scheduled_for == NEVER_MS, 2),
        else_=3,
    )
    example = {0: None, 1: now_ms - 1, 2: NEVER_MS, 3: now_ms}
    summary = dict.fromkeys(
        (
            "pending",
            "scheduled",
            "inProgress",
            "running",
            "prompting",
            "suspended",
            "waiting",
            "blocked",
            "failed",
            "terminated",
        ),
        0,
    )
    with connected(db) as c:
        where = _where(
            c,
            controller_id,
            order_ids=None,
            workflow_ids=workflow_ids,
            states=None,
            folders=folders,
            regex=None,
            date_to_ms=None,
            now_ms=now_ms,
        )
        # the deployed paths are joined only when a folder or a workflow is asked for
        source = TP.joined if folders is not None or workflow_ids else T
        columns = (T.c.state, T.c.is_suspended, timing)
        query = sa.select(*columns, sa.func.count()).select_from(source).where(*where).group_by(*columns)
        for state, is_suspended, scheduled, count in c.execute(query):
            field = _SUMMARY_FIELDS.get(order_state_text(state, bool(is_suspended), example[scheduled], now_ms))
            if field is not None:
                summary[field] += int(count)
    return summary


def orders_summary(
    db: Db,
    controller_id: str | None,
    *,
    now_ms: int,
    date_from: str | None = None,
    date_to: str | None = None,
    time_zone: str | None = None,
    folders: Folders | None = None,
) -> dict[str, int]:
    """POST /orders/overview/summary (order/ordersFilter-schema.json → order/summary-schema.json's
    `orders`): main orders that ended successfully / failed between dateFrom and dateTo (their start
    time, as JOC's history filter)."""
    where: list[ColumnElement[bool]] = [H.c.parent_order_id.is_(None)]
    if controller_id:
        where.append(H.c.controller_id == controller_id)
    start_from = parse_date(into_past(date_from), date_to=False, time_zone=time_zone, now_ms=now_ms)
    start_to = parse_date(into_past(date_to), date_to=True, time_zone=time_zone, now_ms=now_ms)
    if start_from is not None:
        where.append(H.c.started_at >= start_from)
    if start_to is not None:
        where.append(H.c.started_at < start_to)
    query = (
        sa.select(H.c.state, sa.func.count())
        .select_from(HP.joined if folders is not None else H)
        .where(*where, H.c.state.in_(["Finished", "Failed", "Cancelled", "Broken"]))
        .group_by(H.c.state)
    )
    out = {"successful": 0, "failed": 0}
    with connected(db) as c:
        query = query.where(HP.in_folders(c, folders, [controller_id] if controller_id else None))
        for state, count in c.execute(query):
            out["successful" if state == "Finished" else "failed"] += int(count)
    return out


def joc_state_of_row(row: Any, now_ms: int | None = None) -> str:
    """The JOC state text of an `orders` row (selection.py's state selector)."""
    now = now_ms if now_ms is not None else int(time.time() * 1000)
    return order_state_text(row.state, row.is_suspended, row.scheduled_for, now)


def scheduled_within(row: Any, date_from: str | None, date_to: str | None, time_zone: str | None) -> bool:
    """Whether the row's scheduledFor lies in [dateFrom, dateTo) (JOC's date selectors of /orders/cancel
    and /orders/suspend); an order without scheduledFor counts as scheduled now."""
    now = int(time.time() * 1000)
    at = row.scheduled_for if row.scheduled_for is not None else now
    start = parse_date(date_from, date_to=False, time_zone=time_zone, now_ms=now)
    end = parse_date(date_to, date_to=True, time_zone=time_zone, now_ms=now)
    return (start is None or at >= start) and (end is None or at < end)
