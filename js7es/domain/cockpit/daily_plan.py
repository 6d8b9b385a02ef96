"""The daily plan (joc-cockpit.md §4), purely: which orders a released schedule gives on a daily-plan date,
their JOC order ids, and the state of one schedule's orders of one date (the aggregate
``dailyplan:<controllerId>:<date>:<schedulePath>``) as its events make it.

A daily-plan date D covers [D at `period_begin`, D+1 at `period_begin`) in the daily plan's time zone
(JOC's settings `time_zone`, `period_begin`). The schedule's starts come from schedule.py (calendars,
periods, whenHoliday, each assigned calendar in its own zone, DST by Java's rule); those in D's interval
are D's orders, one per start and order parameterisation and workflow.

Order ids (JOC's formats, DailyPlanHelper): ``#<date>#P<id>-<orderName>`` for a single start and
``#<date>#C<id>-<nr>-<size>-<orderName>`` for the starts of one repeat period (a cyclic order). js7es
makes `<id>` from a hash of what the order is (Controller, date, schedule, workflow, calendar, start or
period, parameterisation): so the same plan computed twice gives the same ids, and the Controller's
duplicate refusal of AddOrders is a second line behind the plan's own state. `<orderName>` is the
parameterisation's `orderName`, else the schedule's name.

Lifecycle of one order (`status`): PLANNED → SUBMITTING (recorded before AddOrders leaves) → SUBMITTED;
SUBMITTING → PLANNED when the Controller refuses; SUBMITTED → CANCELLED (cancelled at the Controller; a
person may submit it again, the service does not); PLANNED → REMOVED (removed by a person: the service never
plans it again, only an explicit overwrite does); PLANNED → SKIPPED (its start passed unsubmitted and the
setting says so). JOC shows PLANNED, SUBMITTED and FINISHED (from the Controller's history).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from js7es.domain.calendar.model import Calendar
from js7es.domain.calendar.schedule import PlannedStart, Schedule, planned_starts
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit.iam import frozen_map
from js7es.domain.cockpit.keys import daily_plan_parts
from js7es.domain.problem import Problem, problem

PLANNED: Final = "PLANNED"
SUBMITTING: Final = "SUBMITTING"
SUBMITTED: Final = "SUBMITTED"
CANCELLED: Final = "CANCELLED"
REMOVED: Final = "REMOVED"
SKIPPED: Final = "SKIPPED"
STATUSES: Final = (PLANNED, SUBMITTING, SUBMITTED, CANCELLED, REMOVED, SKIPPED)
_DAY: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanEntry:
    order: ev.PlanOrder
    status: str
    submission_id: int
    submitted_at_ms: int | None = None
    problem: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleDay:
    """One schedule's orders of one daily-plan date at one Controller."""

    controller_id: str
    plan_date: str
    schedule_path: str
    revision: str
    entries: Mapping[str, PlanEntry] = field(default_factory=frozen_map)  # by order id

    def with_status(self, order_ids: Iterable[str], status: str, **changes: Any) -> ScheduleDay:
        entries = dict(self.entries)
        for order_id in order_ids:
            entries[order_id] = replace(entries[order_id], status=status, **changes)
        return replace(self, entries=frozen_map(entries))

    def ids_in(self, *statuses: str) -> list[str]:
        return [i for i, e in self.entries.items() if e.status in statuses]


# Each status change: the event class → (the statuses it applies to, the status it makes).
STATUS_CHANGES: Final[Mapping[type[ev.CockpitEvent], tuple[frozenset[str], str]]] = {
    ev.DailyPlanOrdersSubmitting: (frozenset({PLANNED, CANCELLED, SKIPPED}), SUBMITTING),
    ev.DailyPlanOrdersSubmitted: (frozenset({SUBMITTING}), SUBMITTED),
    ev.DailyPlanOrdersNotSubmitted: (frozenset({SUBMITTING}), PLANNED),
    ev.DailyPlanOrdersCancelled: (frozenset({SUBMITTED}), CANCELLED),
    ev.DailyPlanOrdersRemoved: (frozenset({PLANNED, CANCELLED, SKIPPED}), REMOVED),
    ev.DailyPlanOrdersSkipped: (frozenset({PLANNED}), SKIPPED),
}
# What a (re)planning may replace: never an order at the Controller or on its way there.
REPLANNABLE: Final = frozenset({PLANNED, REMOVED, SKIPPED, CANCELLED})


def apply_daily_plan(day: ScheduleDay | None, key: str, name: str, event: ev.CockpitEvent) -> ScheduleDay | Problem:
    match event:
        case ev.DailyPlanOrdersPlanned():
            if day is None:
                controller_id, plan_date, schedule_path = daily_plan_parts(name)
                day = ScheduleDay(
                    controller_id=controller_id, plan_date=plan_date, schedule_path=schedule_path, revision=""
                )
            entries = dict(day.entries)
            for order in event.orders:
                existing = entries.get(order.order_id)
                if existing is not None and existing.status not in REPLANNABLE:
                    return ev.inapplicable(key, event, day)
                entries[order.order_id] = PlanEntry(order=order, status=PLANNED, submission_id=event.submission_id)
            return replace(day, revision=event.revision, entries=frozen_map(entries))
    change = STATUS_CHANGES.get(type(event))
    if change is None or day is None:
        return ev.inapplicable(key, event, day)
    allowed, status = change
    order_ids: tuple[str, ...] = event.order_ids  # type: ignore[attr-defined]
    if not order_ids or any(day.entries.get(i) is None or day.entries[i].status not in allowed for i in order_ids):
        return ev.inapplicable(key, event, day)
    extra: dict[str, Any] = {}
    if isinstance(event, ev.DailyPlanOrdersSubmitted):
        extra = {"submitted_at_ms": event.at_ms, "problem": None}
    elif isinstance(event, ev.DailyPlanOrdersNotSubmitted):
        extra = {"problem": event.problem}
    return day.with_status(order_ids, status, **extra)


# --- computing a day's orders -------------------------------------------------------------------------


def day_interval(plan_date: date, zone: ZoneInfo, period_begin_s: int = 0) -> tuple[int, int]:
    """[start, end) in epoch ms of a daily-plan date: from its period begin to the next day's."""

    def at(day: date) -> int:
        local = datetime.combine(day, time(), tzinfo=zone) + timedelta(seconds=period_begin_s)
        return int(local.astimezone(UTC).timestamp()) * 1000

    return at(plan_date), at(plan_date + _DAY)


def _hash_id(*parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**10:010d}"


def plan_order_id(plan_date: str, hashed: str, order_name: str) -> str:
    return f"#{plan_date}#P{hashed}-{order_name}"


def cyclic_order_id(plan_date: str, hashed: str, nr: int, size: int, order_name: str) -> str:
    return f"#{plan_date}#C{hashed}-{nr}-{size}-{order_name}"


def schedule_day_orders(
    *,
    controller_id: str,
    plan_date: date,
    schedule_path: str,
    schedule: Schedule,
    calendars: Mapping[str, Calendar],
    workflow_paths: Mapping[str, str],
    zone: ZoneInfo,
    period_begin_s: int = 0,
) -> tuple[ev.PlanOrder, ...] | Problem:
    """The orders of `schedule` on the daily-plan date `plan_date`, ordered by start then id.

    `workflow_paths`: the inventory path of each workflow (by name) the Controller has; a schedule naming a
    workflow not there is the problem UnknownWorkflow (JOC refuses to plan it as well)."""
    for name in schedule.workflow_names:
        if name not in workflow_paths:
            return problem("UnknownWorkflow", f"{schedule_path}: the workflow {name!r} is not deployed", workflow=name)
    low, high = day_interval(plan_date, zone, period_begin_s)
    # The calendar days whose starts may fall in the plan date: zones differ from the plan's by up to 26 h
    # and the plan's day may begin as late as 23:59 (period_begin).
    starts = planned_starts(schedule, calendars, plan_date - 2 * _DAY, plan_date + 2 * _DAY)
    if isinstance(starts, Problem):
        return starts
    in_day = [s for s in starts if low <= s.epoch_ms < high]
    schedule_name = schedule_path.rsplit("/", 1)[-1]
    iso = plan_date.isoformat()
    # One cyclic order per (calendar, calendar day, period, parameterisation): its starts in this plan date.
    groups: dict[tuple[Any, ...], list[PlannedStart]] = {}
    for start in in_day:
        if start.period.repeat is not None and start.period.single_start is None:
            groups.setdefault(_group_of(start), []).append(start)
    position = {id(start): (nr, group) for group in groups.values() for nr, start in enumerate(group, 1)}
    orders: list[ev.PlanOrder] = []
    for workflow_name in schedule.workflow_names:
        for start in in_day:
            order_name = start.order_name or schedule_name
            identity = (
                controller_id,
                iso,
                schedule_path,
                workflow_name,
                start.calendar_name,
                order_name,
                start.variables,
            )
            in_group = position.get(id(start))
            if in_group is None:
                order_id = plan_order_id(iso, _hash_id(*identity, "P", start.epoch_ms), order_name)
                period, nr, size = None, 0, 0
            else:
                nr, group = in_group
                size = len(group)
                p = start.period
                order_id = cyclic_order_id(
                    iso, _hash_id(*identity, "C", start.day, p.begin, p.end, p.repeat), nr, size, order_name
                )
                period = ev.PlanPeriod(begin_ms=group[0].epoch_ms, end_ms=group[-1].epoch_ms, repeat_s=p.repeat or 0)
            orders.append(
                ev.PlanOrder(
                    order_id=order_id,
                    workflow_name=workflow_name,
                    workflow_path=workflow_paths[workflow_name],
                    order_name=order_name,
                    calendar_name=start.calendar_name,
                    planned_start_ms=start.epoch_ms,
                    arguments=dict(start.variables),
                    period=period,
                    cycle_nr=nr,
                    cycle_size=size,
                )
            )
    return tuple(sorted(orders, key=lambda o: (o.planned_start_ms, o.order_id)))


def _group_of(start: PlannedStart) -> tuple[Any, ...]:
    return (start.calendar_name, start.day, start.period, start.order_name, start.variables)


def replan(day: ScheduleDay | None, computed: Iterable[ev.PlanOrder], *, overwrite: bool) -> tuple[ev.PlanOrder, ...]:
    """Which of the computed orders a planning adds to `day`: all for a new day; for a day planned
    already nothing (the service runs often: what a person removed stays removed), unless `overwrite`,
    which plans again every order not at the Controller."""
    if day is None:
        return tuple(computed)
    if not overwrite:
        return ()
    return tuple(o for o in computed if o.order_id not in day.entries or day.entries[o.order_id].status in REPLANNABLE)


def revision_of(*configurations: Any) -> str:
    """A short fingerprint of the released schedule and calendars a plan was computed from."""
    return hashlib.sha256(repr(configurations).encode()).hexdigest()[:16]
