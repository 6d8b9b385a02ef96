"""The daily plan's JOC calls (joc-cockpit.md §4; js7-api-schemas `orderManagement/dailyplan/*`,
`dailyplan/*`) and the release of schedules and calendars (`inventory/release/release-schema.json`).

- /daily_plan/orders/generate plans dates (overwrite, withSubmit, schedule and workflow selections);
- /daily_plan/orders lists a date range (JOC's plannedOrderItems, cyclic orders as one item unless
  `expandCycleOrders`), /daily_plan/orders/summary counts them;
- /daily_plan/orders/submit, /cancel (submitted orders: CancelOrders at the Controller, then planned again,
  left for a person to submit), /delete (planned orders: never planned again by the service);
- /daily_plan/submissions lists the generations; /daily_plan/projections/{calendar,dates,date} what the
  released schedules would start, months ahead, without planning anything.

Decisions: JOC's state severities are PLANNED 4, SUBMITTED 5, FINISHED 6 (its GUI's colours). An order
skipped because its start passed unsubmitted is listed as PLANNED with `late` and js7es's `skipped: true`.
Permissions: reading needs `joc:dailyplan:view`, changing `joc:dailyplan:manage`, and the objects' folders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field

from js7es.domain.calendar.schedule import planned_starts
from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import daily_plan as dp
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.inventory import RELEASABLE
from js7es.domain.value import loads
from js7es.nodes.client.errors import ClientError
from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.inventory import find
from js7es.nodes.cockpit.api.joc import JocError, bad_request, delivered, joc_date, now_ms, ok
from js7es.nodes.cockpit.api.models import (
    Audited,
    AuditParams,
    ControllerId,
    Empty,
    OkResponse,
    Request,
    Response,
    String255,
)
from js7es.nodes.cockpit.api.services import to_change_meta
from js7es.nodes.cockpit.daily_plan import DailyPlanService, plan_settings
from js7es.projections.cockpit.queries import daily_plan as q

VIEW = "sos:products:joc:dailyplan:view"
MANAGE = "sos:products:joc:dailyplan:manage"
RELEASE = "sos:products:joc:inventory:deploy"
SEVERITY = {"PLANNED": 4, "SUBMITTED": 5, "FINISHED": 6}
Date = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
MAX_DAYS = 366
_CYCLE_GROUP = re.compile(r"^(#[^#]+#C\d+)-")  # #<date>#C<id>: the orders of one cyclic period


# --- request models -----------------------------------------------------------------------------------


class Folder(Request):
    folder: String255
    recursive: bool = False


class PathItem(Request):
    """dailyplan/generate/items/path-item-schema.json"""

    folders: list[String255] | None = None
    singles: list[String255] | None = None


class Generate(Audited):
    """dailyplan/generate/generate-request-schema.json"""

    controllerId: ControllerId
    dailyPlanDate: Date | None = None
    dailyPlanDates: list[Date] | None = None
    schedulePaths: PathItem | None = None
    workflowPaths: PathItem | None = None
    overwrite: bool = False
    withSubmit: bool = False
    includeNonAutoPlannedOrders: bool = False


class OrdersFilter(Request):
    """orderManagement/dailyplan/dailyPlanOrdersFilterBase-schema.json and its extensions."""

    controllerIds: list[ControllerId] | None = None
    dailyPlanDateFrom: Date | None = None
    dailyPlanDateTo: Date | None = None
    schedulePaths: list[String255] | None = None
    workflowPaths: list[String255] | None = None
    scheduleFolders: list[Folder] | None = None
    workflowFolders: list[Folder] | None = None
    orderIds: list[String255] | None = None
    submissionHistoryIds: list[Annotated[int, Field(ge=0, le=2**63 - 1)]] | None = None
    states: list[str] | None = None
    late: bool | None = None
    expandCycleOrders: bool = False
    workflowTags: list[String255] | None = None
    orderTags: list[String255] | None = None


class ModifyFilter(OrdersFilter):
    auditLog: AuditParams | None = None


class Submissions(Request):
    controllerId: ControllerId
    filter: dict[str, Any]


class Projections(Request):
    """dailyplan/projections/projections-request-schema.json (and -day- with `date`)."""

    date: Date | None = None
    dateFrom: Date | None = None
    dateTo: Date | None = None
    controllerIds: list[ControllerId] | None = None
    schedulePaths: list[String255] | None = None
    scheduleFolders: list[Folder] | None = None
    workflowPaths: list[String255] | None = None
    workflowFolders: list[Folder] | None = None
    withoutStartTime: bool = False


class ReleaseItem(Request):
    path: String255
    objectType: str
    controllerId: ControllerId | None = None
    id: int | None = None


class Release(Audited):
    """inventory/release/release-schema.json"""

    update: list[ReleaseItem] | None = None
    delete: list[ReleaseItem] | None = None
    addOrdersDateFrom: String255 | None = None
    transactionId: String255 | None = None
    includeLate: bool = False


class PlannedOrders(Response):
    """orderManagement/dailyplan/plannedOrders-schema.json"""

    plannedOrderItems: list[dict[str, Any]] = []


class Summary(Response):
    """orderManagement/dailyplan/dailyPlanOrderSummary-schema.json"""

    submitted: int = 0
    submittedLate: int = 0
    planned: int = 0
    plannedLate: int = 0
    finished: int = 0


# --- helpers --------------------------------------------------------------------------------------------


def service(call: Call) -> DailyPlanService:
    """The daily plan's functions (the Cockpit's service loop may be off: `[daily-plan] service`)."""
    daily_plan = call.services.daily_plan
    if daily_plan is None:
        daily_plan = call.services.daily_plan = DailyPlanService(call.services)
    return daily_plan


def _date(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{where}: no such date '{text}'") from None


def _controllers(call: Call, given: Sequence[str] | None) -> list[str]:
    known = call.services.controller_ids()
    ids = list(dict.fromkeys(given)) if given else known
    for controller_id in ids:
        if controller_id not in known:
            raise JocError("JOC-002", f"unknown controllerId '{controller_id}'")
    return ids


def _folders(folders: Iterable[Folder] | None) -> list[tuple[str, bool]]:
    return [(f.folder, f.recursive) for f in folders or ()]


def _plan_filter(call: Call, body: OrdersFilter, *, statuses: Sequence[str] = ()) -> q.PlanFilter:
    date_from = body.dailyPlanDateFrom
    date_to = body.dailyPlanDateTo or date_from
    if date_from and date_to and _date(date_to, "dailyPlanDateTo") < _date(date_from, "dailyPlanDateFrom"):
        raise bad_request("dailyPlanDateTo is before dailyPlanDateFrom")
    return q.PlanFilter(
        controller_ids=_controllers(call, body.controllerIds),
        date_from=date_from,
        date_to=date_to,
        statuses=statuses,
        schedule_paths=body.schedulePaths or (),
        workflow_paths=body.workflowPaths or (),
        order_ids=body.orderIds or (),
        schedule_folders=_folders(body.scheduleFolders),
        workflow_folders=_folders(body.workflowFolders),
        submission_ids=body.submissionHistoryIds or (),
    )


def _permitted(call: Call, row: dict[str, Any]) -> bool:
    """Whether the account may see the planned order: its workflow's and its schedule's folders."""
    return call.folder_permitted(row["workflow_path"], row["controller_id"]) and call.folder_permitted(
        row["schedule_path"], row["controller_id"]
    )


def _permitted_rows(call: Call, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if _permitted(call, r)]


def _by_key(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, list[str]]]:
    """controllerId → aggregate key → order ids."""
    out: dict[str, dict[str, list[str]]] = {}
    for r in rows:
        key = keys.daily_plan(r["controller_id"], r["plan_date"], r["schedule_path"])
        out.setdefault(r["controller_id"], {}).setdefault(key, []).append(r["order_id"])
    return out


def _is_late(row: dict[str, Any], now: int) -> bool:
    if row["status"] == dp.SKIPPED:
        return True
    if row.get("started_at") is not None:
        return bool(row["started_at"] > row["planned_start"] + 60_000)
    return bool(row["planned_start"] < now and row.get("history_state") is None)


def _item(row: dict[str, Any], now: int) -> dict[str, Any]:
    state = q.joc_state(row)
    item: dict[str, Any] = {
        "controllerId": row["controller_id"],
        "workflowPath": row["workflow_path"],
        "schedulePath": row["schedule_path"],
        "orderId": row["order_id"],
        "orderName": row["order_name"],
        "plannedStartTime": joc_date(row["planned_start"]),
        "startMode": 1 if row["cycle_size"] else 0,
        "late": _is_late(row, now),
        "submitted": row["status"] == dp.SUBMITTED,
        "state": {"severity": SEVERITY[state], "_text": state},
    }
    if row["cycle_size"]:
        item["period"] = {
            "begin": joc_date(row["period_begin"]),
            "end": joc_date(row["period_end"]),
            "repeat": row["repeat_interval"],
        }
    if row.get("started_at") is not None:
        item["startTime"] = joc_date(row["started_at"])
    if row.get("ended_at") is not None:
        item["endTime"] = joc_date(row["ended_at"])
    if row.get("run_event_id") is not None:
        item["historyId"] = str(row["run_event_id"])
    if row["status"] == dp.SKIPPED:
        item["skipped"] = True
    if row.get("problem"):
        problem = loads(row["problem"])
        item["error"] = {"code": problem.get("code", ""), "message": problem.get("message", "")}
    return item


def _grouped(items: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cyclic orders of one period as one item (JOC's `cyclicOrder`), the first one's fields."""
    out: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    for item, row in zip(items, rows, strict=True):
        if not row["cycle_size"]:
            out.append(item)
            continue
        matched = _CYCLE_GROUP.match(row["order_id"])
        group_id = matched.group(1) if matched else row["order_id"]
        group = groups.get(group_id)
        if group is None:
            group = groups[group_id] = {**item, "cyclicOrder": {"count": 0}}
            out.append(group)
        cyclic = group["cyclicOrder"]
        cyclic["count"] += 1
        cyclic.setdefault("firstOrderId", item["orderId"])
        cyclic.setdefault("firstStart", item["plannedStartTime"])
        cyclic["lastOrderId"] = item["orderId"]
        cyclic["lastStart"] = item["plannedStartTime"]
    return out


def _statuses_of(states: Sequence[str] | None) -> list[str]:
    out: list[str] = []
    for state in states or ():
        if state == "PLANNED":
            out += [dp.PLANNED, dp.SUBMITTING, dp.CANCELLED, dp.SKIPPED]
        elif state in ("SUBMITTED", "FINISHED"):
            out.append(dp.SUBMITTED)
        else:
            raise bad_request(f"states: '{state}' is none of PLANNED, SUBMITTED, FINISHED")
    return list(dict.fromkeys(out))


async def _rows(call: Call, body: OrdersFilter) -> list[dict[str, Any]]:
    if not body.dailyPlanDateFrom and not body.orderIds and not body.submissionHistoryIds:
        raise bad_request("dailyPlanDateFrom is required")
    f = _plan_filter(call, body, statuses=_statuses_of(body.states))
    rows = await call.in_thread(q.plan_rows, call.services.engine, f)
    rows = _permitted_rows(call, rows)
    if body.states:
        wanted = set(body.states)
        rows = [r for r in rows if q.joc_state(r) in wanted]
    if body.late is not None:
        now = now_ms()
        rows = [r for r in rows if _is_late(r, now) == body.late]
    return rows


# --- endpoints ------------------------------------------------------------------------------------------


@API.post(
    "/daily_plan/orders/generate",
    summary="Plans orders of dates",
    request=Generate,
    response=OkResponse,
    permission=MANAGE,
)
async def generate(call: Call, body: Generate) -> Any:
    controller_id = call.controller_id(body)
    if not body.dailyPlanDate and not body.dailyPlanDates:
        raise bad_request("dailyPlanDate or dailyPlanDates is required")
    dates = sorted(
        {_date(d, "dailyPlanDates") for d in [*(body.dailyPlanDates or ()), *filter(None, [body.dailyPlanDate])]}
    )
    if len(dates) > MAX_DAYS:
        raise bad_request(f"at most {MAX_DAYS} dates at once")
    daily_plan = service(call)
    released = await call.in_thread(daily_plan.released)
    schedule_paths = None
    if body.schedulePaths is not None:
        schedule_paths = _select_paths(released.schedules, body.schedulePaths)
    workflow_names = None
    if body.workflowPaths is not None:
        workflow_names = {p.rsplit("/", 1)[-1] for p in body.workflowPaths.singles or ()}
        for folder in body.workflowPaths.folders or ():
            workflow_names |= _workflows_in(call, controller_id, folder)
    permitted = [p for p in released.schedules if call.folder_permitted(p, controller_id)]
    schedule_paths = set(permitted) if schedule_paths is None else set(schedule_paths) & set(permitted)
    meta = to_change_meta(call.change_meta(body, controller_id))
    outcome = await call.in_thread(
        lambda: daily_plan.plan(
            controller_id,
            dates,
            meta,
            schedule_paths=schedule_paths,
            workflow_names=workflow_names,
            overwrite=body.overwrite,
            automatic=not body.includeNonAutoPlannedOrders,
            not_before_ms=now_ms(),
        )
    )
    if outcome.problems and not outcome.planned:
        raise JocError("JOC-420", "; ".join(outcome.problems[:5]))
    if body.withSubmit:
        by_key = await call.in_thread(_planned_keys, daily_plan, controller_id, dates, schedule_paths)
        if by_key:
            await daily_plan.submit(controller_id, by_key, meta, allowed=frozenset({dp.PLANNED}))
    return ok()


def _select_paths(schedules: Any, item: PathItem) -> set[str]:
    selected = {s if s.startswith("/") else "/" + s for s in item.singles or ()}
    by_name = {p.rsplit("/", 1)[-1]: p for p in schedules}
    selected = {by_name.get(s.lstrip("/"), s) if s.count("/") == 1 else s for s in selected}
    for folder in item.folders or ():
        prefix = folder.rstrip("/") + "/"
        selected |= {p for p in schedules if p.startswith(prefix) or folder == "/"}
    return selected


def _workflows_in(call: Call, controller_id: str, folder: str) -> set[str]:
    from js7es.nodes.cockpit.api import selection

    prefix = folder.rstrip("/") + "/"
    workflows = selection.current_workflows(call.services.engine, controller_id)
    return {name for name, path in workflows.items() if folder == "/" or path.startswith(prefix)}


def _planned_keys(
    daily_plan: DailyPlanService, controller_id: str, dates: list[date], schedule_paths: set[str] | None
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    paths = schedule_paths if schedule_paths is not None else set(daily_plan.released().schedules)
    for plan_date in dates:
        for path in paths:
            key = keys.daily_plan(controller_id, plan_date.isoformat(), path)
            _, state = daily_plan.store.load(key)
            if isinstance(state, dp.ScheduleDay):
                ids = state.ids_in(dp.PLANNED)
                if ids:
                    out[key] = ids
    return out


@API.post(
    "/daily_plan/orders",
    summary="The orders of a daily plan interval",
    request=OrdersFilter,
    response=PlannedOrders,
    permission=VIEW,
)
async def orders(call: Call, body: OrdersFilter) -> Any:
    rows = await _rows(call, body)
    now = now_ms()
    items = [_item(r, now) for r in rows]
    if not body.expandCycleOrders:
        items = _grouped(items, rows)
    return delivered({"plannedOrderItems": items})


@API.post(
    "/daily_plan/orders/summary",
    summary="Order counts of a daily plan interval",
    request=OrdersFilter,
    response=Summary,
    permission=VIEW,
)
async def summary(call: Call, body: OrdersFilter) -> Any:
    rows = await _rows(call, body)
    now = now_ms()
    counts = {"submitted": 0, "submittedLate": 0, "planned": 0, "plannedLate": 0, "finished": 0}
    for row in rows:
        state = q.joc_state(row)
        late = _is_late(row, now)
        if state == "FINISHED":
            counts["finished"] += 1
        elif state == "SUBMITTED":
            counts["submittedLate" if late else "submitted"] += 1
        else:
            counts["plannedLate" if late else "planned"] += 1
    return delivered(counts)


async def _modify(call: Call, body: ModifyFilter, statuses: Sequence[str]) -> dict[str, dict[str, list[str]]]:
    if not body.dailyPlanDateFrom and not body.orderIds and not body.submissionHistoryIds:
        raise bad_request("dailyPlanDateFrom, orderIds or submissionHistoryIds is required")
    f = _plan_filter(call, body, statuses=statuses)
    rows = await call.in_thread(q.plan_rows, call.services.engine, f)
    named = set(body.orderIds or ())
    for row in rows:
        if row["order_id"] in named and not _permitted(call, row):
            raise JocError("JOC-419", f"no permission for the folder of {row['order_id']}", 403)
    permitted = _permitted_rows(call, rows)
    if body.late is not None:
        now = now_ms()
        permitted = [r for r in permitted if _is_late(r, now) == body.late]
    return _by_key(permitted)


@API.post(
    "/daily_plan/orders/submit",
    summary="Submits planned orders",
    request=ModifyFilter,
    response=OkResponse,
    permission=MANAGE,
)
async def submit(call: Call, body: ModifyFilter) -> Any:
    allowed = frozenset({dp.PLANNED, dp.CANCELLED, dp.SKIPPED})
    for controller_id, by_key in (await _modify(call, body, sorted(allowed))).items():
        meta = to_change_meta(call.change_meta(body, controller_id))
        outcome = await service(call).submit(controller_id, by_key, meta, allowed=allowed)
        if outcome.refused:
            raise JocError("JOC-420", f"the Controller '{controller_id}' refused {outcome.refused} orders")
        if outcome.in_doubt:
            raise JocError("JOC-503", f"Controller '{controller_id}' did not confirm {outcome.in_doubt} orders")
    return ok()


@API.post(
    "/daily_plan/orders/cancel",
    summary="Cancels submitted orders (planned again)",
    request=ModifyFilter,
    response=OkResponse,
    permission=MANAGE,
)
async def cancel(call: Call, body: ModifyFilter) -> Any:
    daily_plan = service(call)
    for controller_id, by_key in (await _modify(call, body, [dp.SUBMITTED])).items():
        order_ids = [o for ids in by_key.values() for o in ids]
        meta_args = call.change_meta(body, controller_id)
        await call.services.controller_command(
            meta_args,
            controller_id=controller_id,
            category="DAILYPLAN",
            parameters={"TYPE": "CancelOrders", "orderIds": order_ids},
            send=lambda client, ids=order_ids: client.command({"TYPE": "CancelOrders", "orderIds": ids}),  # type: ignore[misc]
        )
        meta = to_change_meta(meta_args)
        await call.in_thread(
            daily_plan.change,
            by_key,
            lambda ids: ev.DailyPlanOrdersCancelled(order_ids=ids),
            frozenset({dp.SUBMITTED}),
            meta,
        )
    return ok()


@API.post(
    "/daily_plan/orders/delete",
    summary="Removes planned orders from the plan",
    request=ModifyFilter,
    response=OkResponse,
    permission=MANAGE,
)
async def delete(call: Call, body: ModifyFilter) -> Any:
    daily_plan = service(call)
    allowed = frozenset({dp.PLANNED, dp.CANCELLED, dp.SKIPPED})
    for controller_id, by_key in (await _modify(call, body, sorted(allowed))).items():
        meta = to_change_meta(call.change_meta(body, controller_id))
        await call.in_thread(
            daily_plan.change, by_key, lambda ids: ev.DailyPlanOrdersRemoved(order_ids=ids), allowed, meta
        )
    return ok()


@API.post(
    "/daily_plan/submissions",
    summary="The daily plan's submissions (generations)",
    request=Submissions,
    response=Response,
    permission=VIEW,
)
async def submissions(call: Call, body: Submissions) -> Any:
    controller_id = _controllers(call, [body.controllerId])[0]
    date_to = body.filter.get("dateTo")
    date_from = body.filter.get("dateFrom")
    if not isinstance(date_to, str):
        raise bad_request("filter.dateTo is required")
    _date(date_to, "filter.dateTo")
    if date_from is not None:
        _date(str(date_from), "filter.dateFrom")
    rows = await call.in_thread(q.submissions, call.services.engine, controller_id, date_from, date_to)
    items = [
        {
            "controllerId": r["controller_id"],
            "submissionHistoryId": r["submission_id"],
            "dailyPlanDate": r["plan_date"],
            "submissionTime": joc_date(r["submission_time"]),
        }
        for r in rows
    ]
    return delivered({"submissionHistoryItems": items})


# --- projections: what the released schedules would start ------------------------------------------------


def _period_json(period: Any, single_local: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"whenHoliday": period.when_holiday.value}
    if single_local is not None:
        out["singleStart"] = single_local
    else:
        out["begin"] = _hms(period.begin)
        out["end"] = _hms(period.end)
        out["repeat"] = _hms(period.repeat or 0)
    return out


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def project(call: Call, body: Projections, date_from: date, date_to: date) -> dict[str, dict[str, Any]]:
    """date → {"periods": [...], "planned": bool} for the released schedules the caller may see."""
    daily_plan = service(call)
    released = daily_plan.released()
    settings = plan_settings(call.services)
    controller_ids = _controllers(call, body.controllerIds)
    wanted = set(body.schedulePaths or ())
    wanted_workflows = {p.rsplit("/", 1)[-1] for p in body.workflowPaths or ()}
    folders = _folders(body.scheduleFolders)
    days: dict[str, dict[str, Any]] = {}
    for path, (schedule, _) in sorted(released.schedules.items()):
        if wanted and path not in wanted:
            continue
        if wanted_workflows and not wanted_workflows & set(schedule.workflow_names):
            continue
        if folders and not any(_in_folder(path, f, r) for f, r in folders):
            continue
        if not any(call.folder_permitted(path, c) for c in controller_ids):
            continue
        # calendar days next to the range may start orders of its plan dates (zones, period_begin)
        starts = planned_starts(
            schedule, released.calendars, date_from - timedelta(days=2), date_to + timedelta(days=2)
        )
        if not isinstance(starts, tuple):
            continue
        seen_cycles: set[Any] = set()
        for start in starts:
            zone = ZoneInfo(next(a.time_zone for a in schedule.calendars if a.calendar_name == start.calendar_name))
            day = settings.plan_date_of(start.epoch_ms).isoformat()
            if not (date_from.isoformat() <= day <= date_to.isoformat()):
                continue
            entry = days.setdefault(day, {"periods": []})
            cyclic = start.period.repeat is not None and start.period.single_start is None
            if cyclic:
                group = (path, start.calendar_name, start.day, start.period, start.order_name)
                if group in seen_cycles:
                    continue
                seen_cycles.add(group)
                local = None
            else:
                local = datetime.fromtimestamp(start.epoch_ms / 1000, UTC).astimezone(zone).strftime("%H:%M:%S")
            for workflow in schedule.workflow_names:
                item: dict[str, Any] = {"schedule": path, "workflow": workflow}
                if start.order_name:
                    item["scheduleOrderName"] = start.order_name
                if not body.withoutStartTime:
                    item["period"] = _period_json(start.period, local)
                entry["periods"].append(item)
    planned = {
        r["plan_date"]
        for r in q.plan_rows(
            call.services.engine,
            q.PlanFilter(controller_ids=controller_ids, date_from=date_from.isoformat(), date_to=date_to.isoformat()),
            with_history=False,
        )
    }
    for day, entry in days.items():
        entry["planned"] = day in planned
        entry["numOfPeriods"] = len(entry["periods"])
    return days


def _in_folder(path: str, folder: str, recursive: bool) -> bool:
    parent = path.rsplit("/", 1)[0] or "/"
    folder = folder.rstrip("/") or "/"
    return parent == folder or (recursive and (folder == "/" or parent.startswith(folder + "/")))


def _range(call: Call, body: Projections) -> tuple[date, date]:
    settings = plan_settings(call.services)
    today = settings.plan_date_of(now_ms())
    months = int(call.services.setting("dailyplan", "projections_month_ahead", "6") or 6)
    date_from = _date(body.dateFrom, "dateFrom") if body.dateFrom else today
    date_to = _date(body.dateTo, "dateTo") if body.dateTo else date_from + timedelta(days=31 * months)
    if date_to < date_from:
        raise bad_request("dateTo is before dateFrom")
    if (date_to - date_from).days > 2 * MAX_DAYS:
        raise bad_request(f"at most {2 * MAX_DAYS} days at once")
    return date_from, date_to


def _years(days: dict[str, dict[str, Any]], *, with_periods: bool) -> dict[str, Any]:
    years: dict[str, Any] = {}
    for day in sorted(days):
        entry = days[day] if with_periods else {k: v for k, v in days[day].items() if k != "periods"}
        years.setdefault(day[:4], {}).setdefault(day[:7], {})[day] = entry
    return years


@API.post(
    "/daily_plan/projections/calendar",
    summary="Days with starts, months ahead",
    request=Projections,
    response=Response,
    permission=VIEW,
)
async def projections_calendar(call: Call, body: Projections) -> Any:
    date_from, date_to = _range(call, body)
    days = await call.in_thread(project, call, body, date_from, date_to)
    return delivered({"years": _years(days, with_periods=False)}, survey_ms=now_ms())


@API.post(
    "/daily_plan/projections/dates",
    summary="Starts of a date range",
    request=Projections,
    response=Response,
    permission=VIEW,
)
async def projections_dates(call: Call, body: Projections) -> Any:
    date_from, date_to = _range(call, body)
    days = await call.in_thread(project, call, body, date_from, date_to)
    return delivered({"years": _years(days, with_periods=True)}, survey_ms=now_ms())


@API.post(
    "/daily_plan/projections/date",
    summary="Starts of one date",
    request=Projections,
    response=Response,
    permission=VIEW,
)
async def projections_date(call: Call, body: Projections) -> Any:
    if not body.date:
        raise bad_request("date is required")
    day = _date(body.date, "date")
    days = await call.in_thread(project, call, body, day, day)
    entry = days.get(day.isoformat(), {"periods": [], "planned": False, "numOfPeriods": 0})
    return delivered(entry, survey_ms=now_ms())


@API.post(
    "/daily_plan/calendar/deploy",
    summary="Deploys the daily plan's Calendar item to the Controllers",
    request=Empty,
    response=OkResponse,
    permission=MANAGE,
)
async def deploy_calendar(call: Call, body: Empty) -> Any:
    daily_plan = service(call)
    settings = await call.in_thread(plan_settings, call.services)
    failed = []
    for controller_id in call.services.controller_ids():
        try:
            await daily_plan.deploy_calendar(controller_id, settings, force=True)
        except ClientError as e:
            failed.append(f"{controller_id}: {e}")
    if failed:
        raise JocError("JOC-503", "the Calendar was not deployed to " + "; ".join(failed))
    return ok()


# --- release of schedules and calendars -------------------------------------------------------------------


@API.post(
    "/inventory/release",
    summary="Releases schedules and calendars (or recalls them)",
    request=Release,
    response=OkResponse,
    permission=RELEASE,
)
async def release(call: Call, body: Release) -> Any:
    if not body.update and not body.delete:
        raise bad_request("update or delete is required")
    meta = call.change_meta(body)
    at = now_ms()
    for item, command in [
        *((i, cmd.ReleaseInventoryObject(at_ms=at)) for i in body.update or ()),
        *((i, cmd.RecallInventoryObject()) for i in body.delete or ()),
    ]:
        if item.objectType not in RELEASABLE:
            raise bad_request(f"{item.path}: {item.objectType} is deployed, not released")
        obj = find(call, item.path, item.objectType)
        await call.services.execute(keys.inventory(obj.object_type, obj.name), command, meta)
    service(call).wake()
    return ok()
