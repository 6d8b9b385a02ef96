"""The daily plan as rows (`daily_plan_orders`, `daily_plan_submissions`): a projection of the Cockpit store's
daily-plan events, exactly once like the others (its rows and its tracked position in one transaction,
tracked.py), so that the JOC API lists, counts and selects planned orders with SQL instead of loading
aggregates.

- DailyPlanOrdersPlanned → a row per order (replacing a removed/skipped/cancelled one of the same id) and
  the submission (generation) row of its date;
- the status events → the rows' status (submitted_at and problem with them).

Every column comes from the events and the key, so a rebuild from notification 0 gives the same rows.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from js7es.domain.cockpit import daily_plan as dp
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.value import dumps, value_to_json
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.tracked import TrackedProjector

FOLLOWER = "daily_plan"
PLAN = schema.daily_plan_orders
SUBMISSIONS = schema.daily_plan_submissions
# The status each status event makes: the domain's table (the transitions' own).
_STATUS_OF: dict[type[ev.CockpitEvent], str] = {cls: status for cls, (_, status) in dp.STATUS_CHANGES.items()}
_CHUNK = 500


def folder_of(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def _row(
    controller_id: str, plan_date: str, schedule_path: str, submission_id: int, o: ev.PlanOrder, at: int
) -> dict[str, Any]:
    period = o.period
    return {
        "controller_id": controller_id,
        "order_id": o.order_id,
        "plan_date": plan_date,
        "schedule_path": schedule_path,
        "schedule_folder": folder_of(schedule_path),
        "workflow_name": o.workflow_name,
        "workflow_path": o.workflow_path,
        "workflow_folder": folder_of(o.workflow_path),
        "order_name": o.order_name,
        "calendar_name": o.calendar_name,
        "planned_start": o.planned_start_ms,
        "period_begin": period.begin_ms if period else None,
        "period_end": period.end_ms if period else None,
        "repeat_interval": period.repeat_s if period else None,
        "cycle_nr": o.cycle_nr,
        "cycle_size": o.cycle_size,
        "arguments": dumps(value_to_json(o.arguments)),
        "status": dp.PLANNED,
        "submission_id": submission_id,
        "submitted_at": None,
        "problem": None,
        "store_notification_id": at,
    }


class DailyPlanProjector(TrackedProjector):
    follower = FOLLOWER

    def _project(self, connection: Connection, record: ev.CockpitRecord) -> None:
        event = record.event
        if not isinstance(event, ev.DailyPlanEvent):
            return
        kind, name = keys.split(record.key)
        if kind != keys.DAILY_PLAN:
            return
        controller_id, plan_date, schedule_path = keys.daily_plan_parts(name)
        if isinstance(event, ev.DailyPlanOrdersPlanned):
            ids = [o.order_id for o in event.orders]
            for i in range(0, len(ids), _CHUNK):
                connection.execute(
                    PLAN.delete().where(PLAN.c.controller_id == controller_id, PLAN.c.order_id.in_(ids[i : i + _CHUNK]))
                )
            rows = [
                _row(controller_id, plan_date, schedule_path, event.submission_id, o, record.notification_id)
                for o in event.orders
            ]
            if rows:
                connection.execute(PLAN.insert(), rows)
            exists = connection.execute(
                sa.select(SUBMISSIONS.c.submission_id).where(
                    SUBMISSIONS.c.controller_id == controller_id,
                    SUBMISSIONS.c.submission_id == event.submission_id,
                    SUBMISSIONS.c.plan_date == plan_date,
                )
            ).first()
            if exists is None:
                connection.execute(
                    SUBMISSIONS.insert().values(
                        controller_id=controller_id,
                        submission_id=event.submission_id,
                        plan_date=plan_date,
                        submission_time=record.meta.at_ms,
                    )
                )
            return
        status = _STATUS_OF.get(type(event))
        if status is None:
            return
        values: dict[str, Any] = {"status": status, "store_notification_id": record.notification_id}
        if isinstance(event, ev.DailyPlanOrdersSubmitted):
            values.update(submitted_at=event.at_ms, problem=None)
        elif isinstance(event, ev.DailyPlanOrdersNotSubmitted):
            values["problem"] = dumps(value_to_json(event.problem))
        order_ids = list(event.order_ids)  # type: ignore[attr-defined]
        for i in range(0, len(order_ids), _CHUNK):
            connection.execute(
                PLAN.update()
                .where(PLAN.c.controller_id == controller_id, PLAN.c.order_id.in_(order_ids[i : i + _CHUNK]))
                .values(**values)
            )
