"""The daily plan service (joc-cockpit.md §4): plans the released schedules' orders `days_ahead_plan` days
ahead and submits them to the Controller `days_ahead_submit` days ahead, every `[daily-plan]
check-interval` (JOC: 60 s); the JOC API's /daily_plan calls use the same functions.

Never twice, never lost:
- Planning appends one schedule's orders of one date (an aggregate, domain/cockpit/daily_plan.py) only
  when that aggregate does not exist yet, under optimistic concurrency; a plan computed twice has the same
  order ids. A kill -9 in the middle leaves some schedule-days planned and the rest for the next run.
- Submitting records DailyPlanOrdersSubmitting *before* AddOrders leaves and DailyPlanOrdersSubmitted
  after the Controller's answer. Orders left Submitting by a stop are resolved at the next run against the
  Controller: those it has now, or its history has (the projection caught up to the Controller's
  EventId of that moment), were submitted; the others are planned again and submitted anew. AddOrders
  refuses nothing twice: an order id it has is ignored as a duplicate.

Decisions where JOC is silent or js7es differs:
- The service plans the current daily-plan date too (JOC's service starts with tomorrow): starts already
  past are late, see below; a first start of a Cockpit (and `js7es standalone`) thus runs today's schedule.
- `submitOrderToControllerWhenPlanned` lets the service submit a schedule's orders (when their date is
  within `days_ahead_submit`); without it a person submits them (/daily_plan/orders/submit).
- Late orders (a planned start passed while unsubmitted, e.g. the Cockpit was down): with the setting
  `dailyplan.submit_late_orders` true (default) they are submitted at once and start late on the Agent;
  false leaves them SKIPPED (shown as late planned orders). Orders submitted before an outage start late
  anyway: the Controller and Agent run them when the Controller is back (their scheduledFor has passed).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import anyio.to_thread

from js7es.domain.calendar.item import JOC_ORDER_ID_PATTERN, JOC_PERIOD_DATE_PATTERN
from js7es.domain.calendar.model import Calendar, CalendarType
from js7es.domain.calendar.parse import parse_calendar
from js7es.domain.calendar.schedule import Schedule, parse_schedule
from js7es.domain.cockpit import daily_plan as dp
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.events import ChangeMeta
from js7es.domain.cockpit.inventory import CALENDAR_TYPES
from js7es.domain.problem import Problem
from js7es.domain.value import value_to_json
from js7es.nodes.client.errors import ClientError
from js7es.nodes.client.items import deploy_operations, new_version_id
from js7es.nodes.cockpit.api import selection
from js7es.nodes.cockpit.api.joc import JocError, now_ms
from js7es.nodes.crash import crash_point
from js7es.nodes.waiting import wait_event
from js7es.projections.cockpit.queries import daily_plan as q

if TYPE_CHECKING:
    from js7es.nodes.cockpit.api.services import CockpitServices

log = logging.getLogger(__name__)
SYSTEM = "js7es"
SECTION = "dailyplan"
CATEGORY = "DAILYPLAN"
DAILY_PLAN_CALENDAR = "dailyPlan"  # JOC's CalendarsHelper.dailyPlanCalendarName
CALENDAR_RETRY_S = 60.0  # after the Controller refused or missed the Calendar item
CHUNK = 200  # schedule-days per store transaction
ADD_ORDERS_BATCH = 1000  # orders per AddOrders command
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSettings:
    zone: ZoneInfo
    period_begin_s: int = 0
    days_ahead_plan: int = 7
    days_ahead_submit: int = 3
    submit_late: bool = True

    def plan_date_of(self, at_ms: int) -> date:
        """The daily-plan date an instant belongs to."""
        local = datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(self.zone) - timedelta(seconds=self.period_begin_s)
        return local.date()


def seconds_of_day(text: str) -> int:
    match = _TIME.fullmatch(text.strip())
    if match is None:
        raise ValueError("a time of day HH:MM or HH:MM:SS")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    if hours > 23 or minutes > 59 or seconds > 59:
        raise ValueError("a time of day HH:MM or HH:MM:SS")
    return hours * 3600 + minutes * 60 + seconds


def plan_settings(services: CockpitServices) -> PlanSettings:
    def get(name: str, default: str) -> str:
        value = services.setting(SECTION, name, None)
        return default if value in (None, "") else str(value)

    return PlanSettings(
        zone=ZoneInfo(get("time_zone", "UTC")),
        period_begin_s=seconds_of_day(get("period_begin", "00:00:00")),
        days_ahead_plan=int(get("days_ahead_plan", "7")),
        days_ahead_submit=int(get("days_ahead_submit", "3")),
        submit_late=get("submit_late_orders", "true").lower() == "true",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Released:
    """The released schedules (by path) and calendars (by name), parsed; those that do not parse are
    named in `problems` (release refuses invalid drafts, so only an older release can be one)."""

    schedules: Mapping[str, tuple[Schedule, Any]]
    calendars: Mapping[str, Calendar]
    calendar_json: Mapping[str, Any]
    problems: Sequence[str] = ()


@dataclass(slots=True)
class PlanOutcome:
    planned: int = 0  # orders
    schedule_days: int = 0
    submit: dict[str, list[str]] = field(default_factory=dict)  # key → order ids to submit now
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitOutcome:
    submitted: int = 0
    refused: int = 0
    in_doubt: int = 0


def system_meta(request: str, controller_id: str | None = None) -> ChangeMeta:
    return ChangeMeta(account=SYSTEM, at_ms=now_ms(), request=request, controller_id=controller_id)


class DailyPlanService:
    def __init__(self, services: CockpitServices, *, clock: Any = now_ms) -> None:
        self.services = services
        self.store = services.store
        self.clock = clock
        self._submitting = asyncio.Lock()  # one submission (or recovery) at a time in this Cockpit
        self._released: tuple[int, Released] | None = None
        self._calendars: dict[str, int] = {}  # controller → dateOffset of the dailyPlan Calendar deployed
        self._calendar_retry: dict[str, float] = {}  # controller → monotonic time of the next try
        self._wake: asyncio.Event | None = None  # set by `wake()`: a release or a settings change
        # (controller, date) → schedule paths whose schedule-day aggregate exists: an aggregate is never
        # deleted, so a round of the service skips these without loading them (bench/daily_plan_bench.py).
        self._planned: dict[tuple[str, str], set[str]] = {}

    def wake(self) -> None:
        """Lets the service's next round start now (JOC plans a released schedule at once)."""
        if self._wake is not None:
            self._wake.set()

    # --- what is released ------------------------------------------------------------------------------

    def released(self) -> Released:
        inventory = self.store.inventory()
        version = sum(inventory.versions.values())
        if self._released is not None and self._released[0] == version:
            return self._released[1]
        schedules: dict[str, tuple[Schedule, Any]] = {}
        calendars: dict[str, Calendar] = {}
        calendar_json: dict[str, Any] = {}
        problems: list[str] = []
        for obj in inventory.objects.values():
            if obj.released is None or obj.deleted:
                continue
            config = value_to_json(obj.released.configuration)
            if obj.object_type == "SCHEDULE":
                parsed = parse_schedule(config)
                if isinstance(parsed, Problem):
                    problems.append(f"{obj.released.path}: {parsed.message}")
                else:
                    schedules[obj.released.path] = (parsed, config)
            elif obj.object_type in CALENDAR_TYPES:
                kind = CalendarType(obj.object_type)
                calendar = parse_calendar(config, type=kind)
                if isinstance(calendar, Problem):
                    problems.append(f"{obj.released.path}: {calendar.message}")
                else:
                    calendars[obj.name] = calendar
                    calendar_json[obj.name] = config
        released = Released(schedules=schedules, calendars=calendars, calendar_json=calendar_json, problems=problems)
        self._released = (version, released)
        return released

    # --- planning (in a thread) ------------------------------------------------------------------------

    def plan(
        self,
        controller_id: str,
        dates: Iterable[date],
        meta: ChangeMeta,
        *,
        schedule_paths: Iterable[str] | None = None,
        workflow_names: Iterable[str] | None = None,
        overwrite: bool = False,
        automatic: bool = True,
        settings: PlanSettings | None = None,
        not_before_ms: int | None = None,
    ) -> PlanOutcome:
        """Plans the released schedules (the automatic ones, or all with `automatic=False`) on `dates`.

        Starts before `not_before_ms` (default: now) are not planned: a plan made today does not create
        orders that are late already (JOC's `includeLate` false). Late orders are those planned in time
        and not submitted before their start (`_tick`)."""
        not_before = self.clock() if not_before_ms is None else not_before_ms
        settings = settings or plan_settings(self.services)
        released = self.released()
        workflows = selection.current_workflows(self.services.engine, controller_id)  # name → JOC path
        wanted = None if schedule_paths is None else set(schedule_paths)
        wanted_workflows = None if workflow_names is None else set(workflow_names)
        outcome = PlanOutcome(problems=list(released.problems))
        pending: list[tuple[str, int, list[ev.CockpitEvent]]] = []
        for plan_date in dates:
            for path, (schedule, config) in sorted(released.schedules.items()):
                if wanted is not None and path not in wanted:
                    continue
                if wanted_workflows is not None and not wanted_workflows & set(schedule.workflow_names):
                    continue
                if automatic and not schedule.plan_order_automatically:
                    continue
                planned = self._planned.setdefault((controller_id, plan_date.isoformat()), set())
                if path in planned and not overwrite:
                    continue  # planned before: what a person removed stays removed
                key = keys.daily_plan(controller_id, plan_date.isoformat(), path)
                version, state = self.store.load(key)
                day = state if isinstance(state, dp.ScheduleDay) else None
                if day is not None:
                    planned.add(path)
                    if not overwrite:
                        continue
                computed = dp.schedule_day_orders(
                    controller_id=controller_id,
                    plan_date=plan_date,
                    schedule_path=path,
                    schedule=schedule,
                    calendars=released.calendars,
                    workflow_paths=workflows,
                    zone=settings.zone,
                    period_begin_s=settings.period_begin_s,
                )
                if isinstance(computed, Problem):
                    outcome.problems.append(f"{path} on {plan_date}: {computed.message}")
                    continue
                computed = tuple(o for o in computed if o.planned_start_ms >= not_before)
                events: list[ev.CockpitEvent] = []
                if day is not None:
                    fresh_ids = {o.order_id for o in computed}
                    stale = tuple(i for i in day.ids_in(dp.PLANNED) if i not in fresh_ids)
                    if stale:
                        events.append(ev.DailyPlanOrdersRemoved(order_ids=stale))
                to_plan = dp.replan(day, computed, overwrite=overwrite)
                if day is None or to_plan:
                    revision = dp.revision_of(
                        config, [released.calendar_json.get(a.calendar_name) for a in schedule.calendars]
                    )
                    events.append(
                        ev.DailyPlanOrdersPlanned(submission_id=meta.at_ms, revision=revision, orders=to_plan)
                    )
                if events:
                    pending.append((key, version, events))
                    outcome.planned += len(to_plan)
                    outcome.schedule_days += 1
                    if schedule.submit_order_to_controller_when_planned and to_plan:
                        outcome.submit[key] = [o.order_id for o in to_plan]
                if len(pending) >= CHUNK:
                    self._append_plans(pending, meta, outcome)
                    pending = []
        self._append_plans(pending, meta, outcome)
        return outcome

    def _append_plans(
        self, pending: list[tuple[str, int, list[ev.CockpitEvent]]], meta: ChangeMeta, outcome: PlanOutcome
    ) -> None:
        if not pending:
            return
        decided = [ev.KeyedCockpitEvent(key=key, event=e) for key, _, events in pending for e in events]
        result = self.store.append(decided, meta, {key: version for key, version, _ in pending})
        if isinstance(result, Problem):
            # Another writer planned some of these meanwhile: leave them to it (the next run looks again).
            for key, _, events in pending:
                outcome.submit.pop(key, None)
                outcome.planned -= sum(len(e.orders) for e in events if isinstance(e, ev.DailyPlanOrdersPlanned))
                outcome.schedule_days -= 1
            outcome.problems.append(f"{result.message} ({len(pending)} schedule-days left for the next run)")
            return
        for key, _, _ in pending:
            controller_id, plan_date, path = keys.daily_plan_parts(keys.split(key)[1])
            self._planned.setdefault((controller_id, plan_date), set()).add(path)
        crash_point("daily-plan-planned")

    # --- status changes on many aggregates (in a thread) ------------------------------------------------

    def change(
        self,
        by_key: Mapping[str, Sequence[str]],
        make: Any,
        allowed: frozenset[str],
        meta: ChangeMeta,
    ) -> dict[str, list[ev.PlanOrder]]:
        """Appends `make(order_ids)` to each aggregate for those of its orders in an `allowed` status,
        in transactions of CHUNK aggregates (a conflicting chunk decides again); returns the orders changed
        per aggregate."""
        changed: dict[str, list[ev.PlanOrder]] = {}
        items = list(by_key.items())
        for i in range(0, len(items), CHUNK):
            chunk = items[i : i + CHUNK]
            for _ in range(5):
                decided: list[ev.KeyedCockpitEvent] = []
                versions: dict[str, int] = {}
                done: dict[str, list[ev.PlanOrder]] = {}
                for key, order_ids in chunk:
                    version, state = self.store.load(key)
                    if not isinstance(state, dp.ScheduleDay):
                        continue
                    ids = [
                        o for o in dict.fromkeys(order_ids) if o in state.entries and state.entries[o].status in allowed
                    ]
                    if ids:
                        decided.append(ev.KeyedCockpitEvent(key=key, event=make(tuple(ids))))
                        versions[key] = version
                        done[key] = [state.entries[o].order for o in ids]
                result = self.store.append(decided, meta, versions)
                if not isinstance(result, Problem):
                    changed.update(done)
                    break
        return changed

    # --- submitting ----------------------------------------------------------------------------------------

    async def submit(
        self, controller_id: str, by_key: Mapping[str, Sequence[str]], meta: ChangeMeta, *, allowed: frozenset[str]
    ) -> SubmitOutcome:
        """Submits the orders (those in an `allowed` status) to the Controller: Submitting, AddOrders,
        Submitted — or NotSubmitted with the Controller's refusal; in doubt they stay Submitting."""
        async with self._submitting:
            return await self._submit(controller_id, by_key, meta, allowed)

    async def _submit(
        self, controller_id: str, by_key: Mapping[str, Sequence[str]], meta: ChangeMeta, allowed: frozenset[str]
    ) -> SubmitOutcome:
        marked = await anyio.to_thread.run_sync(
            lambda: self.change(by_key, lambda ids: ev.DailyPlanOrdersSubmitting(order_ids=ids), allowed, meta)
        )
        if not marked:
            return SubmitOutcome()
        crash_point("daily-plan-submitting")
        orders = {o.order_id: o for planned in marked.values() for o in planned}
        key_of = {o.order_id: key for key, planned in marked.items() for o in planned}
        submitted = refused = in_doubt = 0
        ids = list(key_of)
        for i in range(0, len(ids), ADD_ORDERS_BATCH):
            batch = ids[i : i + ADD_ORDERS_BATCH]
            fresh = [_fresh_order(orders[o]) for o in batch]
            grouped = _group(batch, key_of)
            try:
                await self.services.controller_command(
                    meta,
                    controller_id=controller_id,
                    category=CATEGORY,
                    parameters={"TYPE": "AddOrders", "count": len(fresh), "first": batch[0], "last": batch[-1]},
                    send=lambda client, fresh=fresh: client.command({"TYPE": "AddOrders", "orders": fresh}),  # type: ignore[misc]
                )
            except JocError as e:
                if e.code == "JOC-420":  # refused by the Controller: planned again, with its problem
                    problem = {"code": "ControllerRefused", "message": e.message}
                    await anyio.to_thread.run_sync(
                        lambda g=grouped, p=problem: self.change(  # type: ignore[misc]
                            g,
                            lambda ids: ev.DailyPlanOrdersNotSubmitted(order_ids=ids, problem=p),
                            frozenset({dp.SUBMITTING}),
                            meta,
                        )
                    )
                    refused += len(batch)
                else:  # no answer: left Submitting, resolved against the Controller later (recover)
                    log.warning("daily plan: %d orders not confirmed by %s: %s", len(batch), controller_id, e.message)
                    in_doubt += len(batch)
                continue
            crash_point("daily-plan-submitted")
            at = now_ms()
            await anyio.to_thread.run_sync(
                lambda g=grouped, at=at: self.change(  # type: ignore[misc]
                    g,
                    lambda ids: ev.DailyPlanOrdersSubmitted(order_ids=ids, at_ms=at),
                    frozenset({dp.SUBMITTING}),
                    meta,
                )
            )
            submitted += len(batch)
        return SubmitOutcome(submitted=submitted, refused=refused, in_doubt=in_doubt)

    async def recover(self, controller_id: str, *, catch_up_timeout_s: float = 30.0) -> int:
        """Resolves the orders left Submitting (by a stop, or an answer that never came): submitted when the
        Controller has them or had them, else planned again (the next submission sends them). Returns how
        many were resolved."""
        async with self._submitting:
            rows = await anyio.to_thread.run_sync(
                lambda: q.plan_rows(
                    self.services.engine,
                    q.PlanFilter(controller_ids=[controller_id], statuses=[dp.SUBMITTING]),
                    with_history=False,
                )
            )
            if not rows:
                return 0
            ids = [r["order_id"] for r in rows]
            key_of = {r["order_id"]: keys.daily_plan(controller_id, r["plan_date"], r["schedule_path"]) for r in rows}
            client = self.services.controllers.client(controller_id)
            present: set[str] = set()
            event_id = 0
            for i in range(0, len(ids), 100):
                answer = await anyio.to_thread.run_sync(lambda part=ids[i : i + 100]: client.get("/order", id=part))  # type: ignore[misc]
                present.update(o["id"] for o in answer.get("orders", ()))
                event_id = max(event_id, int(answer.get("eventId", 0)))
            absent = [o for o in ids if o not in present]
            if absent:
                # What ran and is gone already is in the history, once the projection has this EventId.
                deadline = asyncio.get_running_loop().time() + catch_up_timeout_s
                while (
                    await anyio.to_thread.run_sync(q.projected_event_id, self.services.engine, controller_id) < event_id
                ):
                    if asyncio.get_running_loop().time() > deadline:
                        log.warning("daily plan: the projection of %s is behind; recovery waits", controller_id)
                        return 0
                    await asyncio.sleep(0.2)
                present |= await anyio.to_thread.run_sync(q.ever_added, self.services.engine, controller_id, absent)
            meta = system_meta("daily-plan-recovery", controller_id)
            arrived = _group([o for o in ids if o in present], key_of)
            lost = _group([o for o in ids if o not in present], key_of)
            at = now_ms()
            done = await anyio.to_thread.run_sync(
                lambda: self.change(
                    arrived,
                    lambda i: ev.DailyPlanOrdersSubmitted(order_ids=i, at_ms=at),
                    frozenset({dp.SUBMITTING}),
                    meta,
                )
            )
            problem = {"code": "SubmissionInterrupted", "message": "the Controller never received these orders"}
            again = await anyio.to_thread.run_sync(
                lambda: self.change(
                    lost,
                    lambda i: ev.DailyPlanOrdersNotSubmitted(order_ids=i, problem=problem),
                    frozenset({dp.SUBMITTING}),
                    meta,
                )
            )
            return sum(map(len, done.values())) + sum(map(len, again.values()))

    # --- the Controller's Calendar item of the daily plan ---------------------------------------------------

    async def deploy_calendar(self, controller_id: str, settings: PlanSettings, *, force: bool = False) -> None:
        """JOC's `dailyPlan` Calendar item at the Controller (CalendarsHelper): how a Cycle reads the day of
        a daily-plan order id (#<date>#…) and when that day begins (`period_begin` as dateOffset). Sent when
        this Cockpit has not sent it with this dateOffset yet (it is idempotent at the Controller)."""
        if not force and self._calendars.get(controller_id) == settings.period_begin_s:
            return
        item = {
            "TYPE": "Calendar",
            "path": DAILY_PLAN_CALENDAR,
            "dateOffset": settings.period_begin_s,
            "orderIdPattern": JOC_ORDER_ID_PATTERN,
            "periodDatePattern": JOC_PERIOD_DATE_PATTERN,
        }
        client = self.services.controllers.client(controller_id)
        await anyio.to_thread.run_sync(lambda: client.post("/item", deploy_operations([item], new_version_id())))
        self._calendars[controller_id] = settings.period_begin_s
        log.info(
            "daily plan: Calendar %r (dateOffset %d s) at %s",
            DAILY_PLAN_CALENDAR,
            settings.period_begin_s,
            controller_id,
        )

    # --- the service -------------------------------------------------------------------------------------

    async def tick(self) -> None:
        """One round for every Controller: recover, plan the coming days, submit what is due, handle late
        orders."""
        settings = await anyio.to_thread.run_sync(plan_settings, self.services)
        now = self.clock()
        today = settings.plan_date_of(now)
        for controller_id in self.services.controller_ids():
            try:
                await self._tick(controller_id, settings, now, today)
            except JocError as e:
                log.warning("daily plan for %s: %s", controller_id, e.message)
            except Exception:
                log.exception("daily plan for %s failed", controller_id)

    async def _tick(self, controller_id: str, settings: PlanSettings, now: int, today: date) -> None:
        for done in [k for k in list(self._planned) if k[0] == controller_id and k[1] < today.isoformat()]:
            self._planned.pop(done, None)
        loop_time = asyncio.get_running_loop().time()
        if self._calendar_retry.get(controller_id, 0.0) <= loop_time:
            try:
                await self.deploy_calendar(controller_id, settings)
            except ClientError as e:
                self._calendar_retry[controller_id] = loop_time + CALENDAR_RETRY_S
                log.warning("daily plan: the Calendar item could not be sent to %s: %s", controller_id, e)
        await self.recover(controller_id)
        dates = [today + timedelta(days=d) for d in range(max(1, settings.days_ahead_plan))]
        meta = system_meta("daily-plan-service", controller_id)
        outcome = await anyio.to_thread.run_sync(lambda: self.plan(controller_id, dates, meta, settings=settings))
        for problem in outcome.problems:
            log.warning("daily plan for %s: %s", controller_id, problem)
        released = self.released()
        auto_submit = {p for p, (s, _) in released.schedules.items() if s.submit_order_to_controller_when_planned}
        last_submit_day = (today + timedelta(days=max(0, settings.days_ahead_submit - 1))).isoformat()
        late_before = None if settings.submit_late else now
        rows = await anyio.to_thread.run_sync(
            lambda: q.plan_rows(
                self.services.engine,
                q.PlanFilter(controller_ids=[controller_id], statuses=[dp.PLANNED], date_to=last_submit_day),
                with_history=False,
            )
        )
        due: dict[str, list[str]] = {}
        late: dict[str, list[str]] = {}
        for row in rows:
            if row["schedule_path"] not in auto_submit:
                continue
            key = keys.daily_plan(controller_id, row["plan_date"], row["schedule_path"])
            if late_before is not None and row["planned_start"] < late_before:
                late.setdefault(key, []).append(row["order_id"])
            else:
                due.setdefault(key, []).append(row["order_id"])
        # Orders planned just now (the projection may not show them yet) and due already:
        for key, order_ids in outcome.submit.items():
            _, plan_date, _ = keys.daily_plan_parts(keys.split(key)[1])
            if plan_date <= last_submit_day:
                due.setdefault(key, []).extend(order_ids)
        if late:
            meta_late = system_meta("daily-plan-service", controller_id)
            await anyio.to_thread.run_sync(
                lambda: self.change(
                    late, lambda i: ev.DailyPlanOrdersSkipped(order_ids=i), frozenset({dp.PLANNED}), meta_late
                )
            )
        if due:
            await self.submit(controller_id, due, meta, allowed=frozenset({dp.PLANNED}))

    async def run(self, interval_s: float) -> None:
        """The service's loop, until cancelled: a round every `interval_s`, or at once after `wake()`."""
        self._wake = asyncio.Event()
        while True:
            self._wake.clear()
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("daily plan service round failed")
            await wait_event(self._wake, interval_s)


def _fresh_order(order: ev.PlanOrder) -> dict[str, Any]:
    return {
        "id": order.order_id,
        "workflowPath": order.workflow_name,
        "arguments": value_to_json(order.arguments),
        "scheduledFor": order.planned_start_ms,
    }


def _group(order_ids: Iterable[str], key_of: Mapping[str, str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for order_id in order_ids:
        grouped.setdefault(key_of[order_id], []).append(order_id)
    return grouped
