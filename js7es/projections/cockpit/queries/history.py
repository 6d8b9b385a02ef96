"""/orders/history, /tasks/history and /order/history from `order_history` and `order_steps`.

As JOC (JobHistoryDBLayer.java): newest start first, only started runs, only main orders in
/orders/history (child orders are in /order/history), `limit` default 10000 and -1 unlimited; a
positive relative date means the past (JobSchedulerDate.setRelativeDateIntoPast). Without a
`controller_ids` restriction every Controller's rows are read: one index range scan per Controller
on (controller_id, started_at), merged, so a page stays cheap however long the history.

`historyId` is the EventId that began the run (OrderAdded; OrderForked for a child order, which its
sibling children share); `taskId` is the EventId of OrderProcessingStarted.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from js7es.domain.value import loads
from js7es.domain.workflow.position import to_string, try_count
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.queries.common import (
    ESCAPE,
    Db,
    Folders,
    WorkflowPaths,
    connected,
    effective_limit,
    glob_to_like,
    joc_date,
    text_clause,
)
from js7es.projections.cockpit.queries.dates import into_past, parse_date
from js7es.projections.cockpit.queries.states import (
    HISTORY_ORDER_STATE,
    history_order_state,
    history_state,
    history_state_text,
    run_states_of,
    step_history_text,
)

H = schema.order_history
S = schema.order_steps
A = schema.agents
HP = WorkflowPaths(H, H.c.workflow_path)
SP = WorkflowPaths(S, S.c.workflow_path)


def _time_window(
    started: sa.ColumnElement[Any],
    ended: sa.ColumnElement[Any],
    *,
    date_from: str | None,
    date_to: str | None,
    completed_date_from: str | None,
    completed_date_to: str | None,
    time_zone: str | None,
    now_ms: int,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    bounds = (
        (date_from, False, started, True),
        (date_to, True, started, False),
        (completed_date_from, False, ended, True),
        (completed_date_to, True, ended, False),
    )
    for text, is_to, column, lower in bounds:
        ms = parse_date(into_past(text), date_to=is_to, time_zone=time_zone, now_ms=now_ms)
        if ms is not None:
            where.append(column >= ms if lower else column < ms)
    return where


def _workflow_name_clause(column: sa.ColumnElement[str], glob: str) -> ColumnElement[bool]:
    """The name is the last part of the path (JOC's workflowName filter)."""
    like = glob_to_like(glob)
    return sa.or_(column.like(like, escape=ESCAPE), column.like("%/" + like, escape=ESCAPE))


def _controllers(c: Connection, controller_ids: Sequence[str] | None) -> list[str]:
    if controller_ids is not None:
        return sorted(set(controller_ids))
    return list(
        c.execute(sa.select(schema.controllers.c.controller_id).order_by(schema.controllers.c.controller_id)).scalars()
    )


def _merged_pages(
    c: Connection,
    controllers: Sequence[str],
    query_of: Any,
    limit: int | None,
) -> list[Any]:
    """One LIMITed query per Controller, merged newest first."""
    pages = []
    for controller_id in controllers:
        query = query_of(c, controller_id)
        if limit is not None:
            query = query.limit(limit)
        pages.append(list(c.execute(query)))
    merged = heapq.merge(*pages, key=lambda r: (-r.started_at, r.controller_id))
    out: list[Any] = []
    for row in merged:
        if limit is not None and len(out) >= limit:
            break
        out.append(row)
    return out


def _main_orders(c: Connection) -> ColumnElement[bool]:
    """Runs of main orders. On SQLite as an expression, so that it walks ix_history_started rather than
    ix_history_parent; on PostgreSQL plainly, since its estimate of the expression (0.5 %) made a folder
    restriction look so selective that it left the paging index for a sequential scan."""
    if c.dialect.name == "sqlite":
        return sa.func.coalesce(H.c.parent_order_id, "") == ""
    return H.c.parent_order_id.is_(None)


def order_history_item(row: Any, *, with_arguments: bool = True) -> dict[str, Any]:
    """order/orderHistoryItem-schema.json from an `order_history` row."""
    text = HISTORY_ORDER_STATE.get(row.state, "UNKNOWN")
    position = loads(row.end_position) if row.end_position else [0]
    item: dict[str, Any] = {
        "surveyDate": joc_date(row.ended_at if row.ended_at is not None else row.started_at),
        "controllerId": row.controller_id,
        "orderId": row.order_id,
        "workflow": row.joc_path,
        "startTime": joc_date(row.started_at),
        "plannedTime": joc_date(row.scheduled_for if row.scheduled_for is not None else row.added_at),
        "position": to_string(tuple(position)),
        "sequence": position[-1],
        "state": history_state(history_state_text(text)),
        "orderState": history_order_state(row.state),
        "historyId": row.run_event_id,
    }
    if row.ended_at is not None:
        item["endTime"] = joc_date(row.ended_at)
    if with_arguments:
        item["arguments"] = loads(row.arguments)
    return item


def orders_history(
    db: Db,
    *,
    now_ms: int,
    controller_ids: Sequence[str] | None = None,
    orders: Sequence[tuple[str, str | None]] | None = None,
    exclude_workflows: Sequence[str] | None = None,
    order_id: str | None = None,
    workflow_path: str | None = None,
    workflow_name: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    completed_date_from: str | None = None,
    completed_date_to: str | None = None,
    time_zone: str | None = None,
    folders: Folders | None = None,
    limit: int | None = None,
    history_states: Sequence[str] | None = None,
    history_ids: Sequence[int] | None = None,
) -> dict[str, Any]:
    """POST /orders/history (order/ordersFilter-schema.json → order/orderHistory-schema.json without
    deliveryDate). `controller_ids`: the Controllers the account may see (None = all); `orders`:
    (workflowPath, orderId or None) pairs as in ordersFilter's `orders`."""
    where: list[ColumnElement[bool]] = [H.c.started_at.is_not(None)]
    if history_ids:
        where.append(H.c.run_event_id.in_(sorted(set(history_ids))))
    else:
        where += _time_window(
            H.c.started_at,
            H.c.ended_at,
            date_from=date_from,
            date_to=date_to,
            completed_date_from=completed_date_from,
            completed_date_to=completed_date_to,
            time_zone=time_zone,
            now_ms=now_ms,
        )
        if history_states:
            where.append(H.c.state.in_(run_states_of(history_states)))
        if orders:
            where.append(
                sa.or_(*(sa.and_(HP.is_any([path]), *([H.c.order_id == oid] if oid else [])) for path, oid in orders))
            )
        else:
            if order_id:
                where.append(text_clause(H.c.order_id, order_id))
            if exclude_workflows:
                where.append(sa.not_(HP.is_any(exclude_workflows)))
            if workflow_path:
                where.append(HP.matches(workflow_path))
            if workflow_name:
                where.append(_workflow_name_clause(H.c.workflow_path, workflow_name))

    def query_of(c: Connection, controller_id: str) -> sa.Select[Any]:
        return (
            sa.select(H, HP.label())
            .select_from(HP.joined)
            .where(
                H.c.controller_id == controller_id,
                _main_orders(c),
                HP.in_folders(c, folders, [controller_id]),
                *where,
            )
            .order_by(H.c.started_at.desc(), H.c.run_event_id.desc())
        )

    with connected(db) as c:
        rows = _merged_pages(c, _controllers(c, controller_ids), query_of, effective_limit(limit))
    return {"history": [order_history_item(r) for r in rows]}


def _step_columns() -> list[sa.ColumnElement[Any]]:
    return [*S.c, A.c.uri.label("agent_uri"), SP.label()]


def _with_agent() -> Any:
    return SP.joined.outerjoin(A, sa.and_(A.c.controller_id == S.c.controller_id, A.c.agent_path == S.c.agent_path))


def task_history_item(row: Any) -> dict[str, Any]:
    """job/historyItem-schema.json from an `order_steps` row (joined with its Agent's URI)."""
    position = tuple(loads(row.position))
    retries = max((try_count(p) or 0 for p in position if isinstance(p, str)), default=0)
    item: dict[str, Any] = {
        "surveyDate": joc_date(row.ended_at if row.ended_at is not None else row.started_at),
        "controllerId": row.controller_id,
        "job": row.job_name or "",
        "workflow": row.joc_path,
        "orderId": row.order_id,
        "startTime": joc_date(row.started_at),
        "position": to_string(position),
        "sequence": position[-1],
        "retryCounter": retries,
        "state": history_state(step_history_text(row.outcome)),
        "criticality": "normal",  # js7es jobs have no criticality yet; JOC's default, lower case as JOC sends it
        "taskId": row.step_event_id,
        "agentUrl": row.agent_uri or "",
    }
    if row.ended_at is not None:
        item["endTime"] = joc_date(row.ended_at)
    if row.return_code is not None and row.return_code >= 0:
        item["exitCode"] = row.return_code
    if row.outcome is not None and row.outcome != "Succeeded":
        item["error"] = {"code": row.outcome, "message": row.error_message or row.outcome}
    return item


def tasks_history(
    db: Db,
    *,
    now_ms: int,
    controller_ids: Sequence[str] | None = None,
    jobs: Sequence[tuple[str, str | None]] | None = None,
    exclude_jobs: Sequence[tuple[str, str | None]] | None = None,
    job_name: str | None = None,
    workflow_path: str | None = None,
    workflow_name: str | None = None,
    order_id: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    completed_date_from: str | None = None,
    completed_date_to: str | None = None,
    time_zone: str | None = None,
    folders: Folders | None = None,
    limit: int | None = None,
    history_states: Sequence[str] | None = None,
    task_ids: Sequence[int] | None = None,
    history_ids: Sequence[int] | None = None,
) -> dict[str, Any]:
    """POST /tasks/history (job/jobsFilter-schema.json → job/history-schema.json without deliveryDate).
    `jobs`/`exclude_jobs`: (workflowPath, job or None) as jobPath-schema.json; `history_ids`: the
    historyIds (runs) whose tasks are wanted (taskIdOfOrder's historyId)."""
    where: list[ColumnElement[bool]] = []
    if task_ids:
        where.append(S.c.step_event_id.in_(sorted(set(task_ids))))
    elif history_ids:
        where.append(S.c.run_event_id.in_(sorted(set(history_ids))))
    else:
        where += _time_window(
            S.c.started_at,
            S.c.ended_at,
            date_from=date_from,
            date_to=date_to,
            completed_date_from=completed_date_from,
            completed_date_to=completed_date_to,
            time_zone=time_zone,
            now_ms=now_ms,
        )
        if history_states:
            wanted = set(history_states)
            alternatives: list[ColumnElement[bool]] = []
            if "SUCCESSFUL" in wanted:
                alternatives.append(S.c.outcome == "Succeeded")
            if "INCOMPLETE" in wanted:
                alternatives.append(S.c.outcome.is_(None))
            if "FAILED" in wanted:
                alternatives.append(sa.and_(S.c.outcome.is_not(None), S.c.outcome != "Succeeded"))
            where.append(sa.or_(*alternatives) if alternatives else sa.false())
        if jobs:
            where.append(
                sa.or_(*(sa.and_(SP.is_any([path]), *([S.c.job_name == job] if job else [])) for path, job in jobs))
            )
        else:
            for path, job in exclude_jobs or ():
                excluded = sa.and_(SP.is_any([path]), *([S.c.job_name == job] if job else []))
                where.append(sa.not_(excluded))
            if job_name:
                where.append(text_clause(S.c.job_name, job_name))
            if workflow_path:
                where.append(SP.matches(workflow_path))
            if workflow_name:
                where.append(_workflow_name_clause(S.c.workflow_path, workflow_name))
            if order_id:
                where.append(text_clause(S.c.order_id, order_id))

    def query_of(c: Connection, controller_id: str) -> sa.Select[Any]:
        return (
            sa.select(*_step_columns())
            .select_from(_with_agent())
            .where(S.c.controller_id == controller_id, SP.in_folders(c, folders, [controller_id]), *where)
            .order_by(S.c.started_at.desc(), S.c.step_event_id.desc())
        )

    with connected(db) as c:
        rows = _merged_pages(c, _controllers(c, controller_ids), query_of, effective_limit(limit))
    return {"history": [task_history_item(r) for r in rows]}


def order_history_children(
    db: Db, controller_id: str, history_id: int, *, folders: Folders | None = None
) -> dict[str, Any] | None:
    """POST /order/history (orderHistoryFilter → order/orderHistoryItemChildren-schema.json without
    deliveryDate): a main order's run with its tasks and child orders (of this run), by start time.
    None when unknown or outside `folders`."""
    with connected(db) as c:
        run = c.execute(
            sa.select(H, HP.label())
            .select_from(HP.joined)
            .where(
                H.c.controller_id == controller_id,
                H.c.run_event_id == history_id,
                H.c.parent_order_id.is_(None),
                HP.in_folders(c, folders, [controller_id]),
            )
        ).first()
        if run is None:
            return None
        next_run = c.execute(
            sa.select(sa.func.min(H.c.run_event_id)).where(
                H.c.controller_id == controller_id, H.c.order_id == run.order_id, H.c.run_event_id > history_id
            )
        ).scalar()
        tasks = c.execute(
            sa.select(*_step_columns())
            .select_from(_with_agent())
            .where(S.c.controller_id == controller_id, S.c.order_id == run.order_id, S.c.run_event_id == history_id)
            .order_by(S.c.started_at, S.c.step_event_id)
        ).all()
        child_where = [
            H.c.controller_id == controller_id,
            H.c.parent_order_id == run.order_id,
            H.c.run_event_id > history_id,
        ]
        if next_run is not None:
            child_where.append(H.c.run_event_id < next_run)
        children = c.execute(
            sa.select(H, HP.label()).select_from(HP.joined).where(*child_where).order_by(H.c.started_at, H.c.order_id)
        ).all()
    entries: list[tuple[int, int, dict[str, Any]]] = [
        (t.started_at, t.step_event_id, {"task": task_history_item(t)}) for t in tasks
    ]
    entries += [(o.started_at or o.added_at, o.run_event_id, {"order": order_history_item(o)}) for o in children]
    entries.sort(key=lambda e: (e[0], e[1]))
    return {
        "historyId": history_id,
        "orderId": run.order_id,
        "workflow": {"path": run.joc_path, "versionId": run.workflow_version},
        "hasTasks": bool(tasks),
        "hasOrders": bool(children),
        "children": [e[2] for e in entries],
    }


def ended_per_minute(
    db: Db, controller_id: str, *, now_ms: int, minutes: int, folders: Folders | None = None
) -> list[int]:
    """POST /orders/overview/throughput (js7es's own): the main orders of the Controller that ended
    (finished, failed, cancelled) in each of the last `minutes` minutes up to `now_ms`, oldest first. One
    aggregate over the index range (controller_id, ended_at): however many runs ended, it returns
    `minutes` numbers, where reading the runs through /orders/history would carry each of them."""
    start = now_ms - minutes * 60_000
    bucket = (H.c.ended_at - start) // 60_000
    with connected(db) as c:
        query = (
            sa.select(bucket, sa.func.count())
            .select_from(HP.joined if folders is not None else H)
            .where(
                H.c.controller_id == controller_id,
                H.c.ended_at >= start,
                H.c.ended_at < now_ms,
                H.c.started_at.is_not(None),
                _main_orders(c),
                HP.in_folders(c, folders, [controller_id]),
            )
            .group_by(bucket)
        )
        counts = [0] * minutes
        for minute, count in c.execute(query):
            if 0 <= int(minute) < minutes:
                counts[int(minute)] = int(count)
    return counts
