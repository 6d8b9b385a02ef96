"""Reading the daily plan's rows (projections/cockpit/daily_plan.py) for the JOC API and the daily plan
service: the orders of a date range with JOC's filters, their summary, the submissions; FINISHED and the
start and end times come from the Controller's order history (the last run of the order id)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from js7es.domain.cockpit import daily_plan as dp
from js7es.projections.cockpit import schema

PLAN = schema.daily_plan_orders
SUBMISSIONS = schema.daily_plan_submissions
HISTORY = schema.order_history
# History states of a run that has ended (projections: Finished | Failed | Cancelled | Broken)
ENDED = ("Finished", "Failed", "Cancelled", "Broken")


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanFilter:
    controller_ids: Sequence[str] = ()
    date_from: str | None = None
    date_to: str | None = None
    statuses: Sequence[str] = ()  # daily_plan.STATUSES
    schedule_paths: Sequence[str] = ()
    workflow_paths: Sequence[str] = ()  # paths or names
    order_ids: Sequence[str] = ()
    schedule_folders: Sequence[tuple[str, bool]] = ()  # (folder, recursive)
    workflow_folders: Sequence[tuple[str, bool]] = ()
    submission_ids: Sequence[int] = ()
    planned_before_ms: int | None = None


def _in_folders(column: Any, folders: Sequence[tuple[str, bool]]) -> Any:
    clauses = []
    for folder, recursive in folders:
        folder = folder.rstrip("/") or "/"
        clauses.append(column == folder)
        if recursive:
            clauses.append(sa.true() if folder == "/" else column.startswith(folder + "/"))
    return sa.or_(*clauses)


def _where(f: PlanFilter) -> list[Any]:
    where: list[Any] = []
    if f.controller_ids:
        where.append(PLAN.c.controller_id.in_(list(f.controller_ids)))
    if f.date_from:
        where.append(PLAN.c.plan_date >= f.date_from)
    if f.date_to:
        where.append(PLAN.c.plan_date <= f.date_to)
    if f.statuses:
        where.append(PLAN.c.status.in_(list(f.statuses)))
    if f.schedule_paths:
        where.append(PLAN.c.schedule_path.in_(list(f.schedule_paths)))
    if f.workflow_paths:
        names = [p.rsplit("/", 1)[-1] for p in f.workflow_paths]
        where.append(sa.or_(PLAN.c.workflow_path.in_(list(f.workflow_paths)), PLAN.c.workflow_name.in_(names)))
    if f.order_ids:
        where.append(PLAN.c.order_id.in_(list(f.order_ids)))
    if f.schedule_folders:
        where.append(_in_folders(PLAN.c.schedule_folder, f.schedule_folders))
    if f.workflow_folders:
        where.append(_in_folders(PLAN.c.workflow_folder, f.workflow_folders))
    if f.submission_ids:
        where.append(PLAN.c.submission_id.in_(list(f.submission_ids)))
    if f.planned_before_ms is not None:
        where.append(PLAN.c.planned_start < f.planned_before_ms)
    return where


def plan_rows(
    engine: Engine, f: PlanFilter, *, with_history: bool = True, limit: int | None = None
) -> list[dict[str, Any]]:
    """The plan's orders (every status but REMOVED unless asked for), by planned start, with the last run's
    `started_at`, `ended_at`, `history_state` when `with_history`."""
    where = _where(f)
    if not f.statuses:
        where.append(PLAN.c.status != dp.REMOVED)
    if with_history:
        # An order id's runs: normally one (a resubmission after a cancel makes another); the last counts.
        run = HISTORY
        joined = PLAN.outerjoin(
            run,
            sa.and_(
                run.c.controller_id == PLAN.c.controller_id,
                run.c.order_id == PLAN.c.order_id,
                run.c.parent_order_id.is_(None),
            ),
        )
        query: Any = sa.select(
            PLAN, run.c.started_at, run.c.ended_at, run.c.state.label("history_state"), run.c.run_event_id
        ).select_from(joined)
    else:
        query = sa.select(PLAN)
    query = query.where(*where).order_by(PLAN.c.planned_start, PLAN.c.order_id)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as c:
        rows = [dict(r) for r in c.execute(query).mappings()]
    if not with_history:
        return rows
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["controller_id"], row["order_id"])
        kept = last.get(key)
        if kept is None or (row["run_event_id"] or 0) > (kept["run_event_id"] or 0):
            last[key] = row
    return list(last.values())


def joc_state(row: dict[str, Any]) -> str:
    """JOC's PLANNED | SUBMITTED | FINISHED of a row (with history)."""
    if row["status"] == dp.SUBMITTED:
        return "FINISHED" if row.get("history_state") in ENDED else "SUBMITTED"
    return "PLANNED"


def submissions(engine: Engine, controller_id: str, date_from: str | None, date_to: str) -> list[dict[str, Any]]:
    where = [SUBMISSIONS.c.controller_id == controller_id, SUBMISSIONS.c.plan_date <= date_to]
    if date_from:
        where.append(SUBMISSIONS.c.plan_date >= date_from)
    with engine.connect() as c:
        rows = c.execute(
            sa.select(SUBMISSIONS).where(*where).order_by(SUBMISSIONS.c.plan_date, SUBMISSIONS.c.submission_id)
        ).mappings()
        return [dict(r) for r in rows]


def projected_event_id(engine: Engine, controller_id: str) -> int:
    """The Controller's EventId the projection has reached (0: none yet)."""
    t = schema.controllers
    with engine.connect() as c:
        value = c.execute(sa.select(t.c.event_id).where(t.c.controller_id == controller_id)).scalar()
    return int(value or 0)


def ever_added(engine: Engine, controller_id: str, order_ids: Sequence[str]) -> set[str]:
    """Which of the order ids the Controller's history has (added at some time, maybe ended and gone)."""
    found: set[str] = set()
    ids = list(order_ids)
    with engine.connect() as c:
        for i in range(0, len(ids), 500):
            rows = c.execute(
                sa.select(HISTORY.c.order_id).where(
                    HISTORY.c.controller_id == controller_id, HISTORY.c.order_id.in_(ids[i : i + 500])
                )
            ).scalars()
            found.update(rows)
    return found
