"""The daily plan's JOC calls in-process, on the SQLite and the PostgreSQL backend (no Controller: nothing
is submitted here; the real-process flow with submissions and kill -9 is test_daily_plan_e2e.py):
release, generate, list, summary, delete, idempotence, overwrite, projections, bad input, audit."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from js7es.domain.calendar.parse import parse_calendar
from js7es.domain.calendar.schedule import parse_schedule
from js7es.domain.cockpit.daily_plan import day_interval, schedule_day_orders
from js7es.domain.problem import Problem
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.daily_plan import DailyPlanProjector
from tests.cockpit.api.conftest import Backend
from tests.cockpit.api.harness import Joc, running_joc

CONTROLLER = "js7es"
ZONE = "Europe/Berlin"
EVERY_DAY = {"type": "WORKINGDAYSCALENDAR", "includes": {"weekdays": [{"days": [0, 1, 2, 3, 4, 5, 6]}]}}
WEEKDAYS = {"type": "WORKINGDAYSCALENDAR", "includes": {"weekdays": [{"days": [1, 2, 3, 4, 5]}]}}
SCHEDULE = {
    "workflowNames": ["hello"],
    "planOrderAutomatically": True,
    "submitOrderToControllerWhenPlanned": False,
    "calendars": [
        {
            "calendarName": "EveryDay",
            "timeZone": ZONE,
            "periods": [
                {"singleStart": "02:00:00"},
                {"singleStart": "23:30:00"},
                {"begin": "08:00:00", "end": "10:00:00", "repeat": "00:30:00"},
            ],
        }
    ],
    "orderParameterisations": [{"orderName": "a", "variables": {"x": 1}}, {"orderName": "b", "variables": {"x": 2}}],
}


@pytest.fixture
def joc(tmp_path: Path, backend: Backend) -> Iterator[Joc]:
    """On both backends: the Cockpit store and the projection on SQLite files, or on PostgreSQL."""
    with running_joc(tmp_path, controller_ids=(CONTROLLER,), store=backend.store, engine=backend.engine) as j:
        with j.services.engine.execution_options(**{"js7es_read_only": False}).begin() as c:
            c.execute(
                schema.workflows.insert().values(
                    controller_id=CONTROLLER,
                    path="hello",
                    version_id="v1",
                    workflow_json="{}",
                    is_current=True,
                    deployed_at=0,
                )
            )
        yield j


def ok(j: Joc, token: str, path: str, body: Any) -> Any:
    r = j.post(path, body, token=token)
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
    return r.json()


def refused(j: Joc, token: str, path: str, body: Any, status: int = 420) -> dict[str, Any]:
    r = j.post(path, body, token=token)
    assert r.status_code == status, f"{path}: {r.status_code} {r.text}"
    answer: dict[str, Any] = r.json()
    return dict(answer.get("error", answer))  # JOC's 403 is its own shape (isAuthenticated, message)


def release(j: Joc, token: str, *objects: tuple[str, str, Any]) -> None:
    for object_type, path, config in objects:
        ok(j, token, "/inventory/store", {"objectType": object_type, "path": path, "configuration": config})
    ok(j, token, "/inventory/release", {"update": [{"objectType": t, "path": p} for t, p, _ in objects]})


def projected(j: Joc) -> None:
    DailyPlanProjector(j.store, j.services.engine).catch_up()


def tomorrow() -> str:
    return (datetime.now(ZoneInfo("UTC")).date() + timedelta(days=1)).isoformat()


def setup_plan(j: Joc, token: str, schedule: Any = SCHEDULE) -> str:
    ok(j, token, "/settings/store", {"configurationItem": json.dumps({"dailyplan": {"time_zone": {"value": ZONE}}})})
    release(j, token, ("WORKINGDAYSCALENDAR", "/cal/EveryDay", EVERY_DAY), ("SCHEDULE", "/s/hello-daily", schedule))
    day = tomorrow()
    ok(j, token, "/daily_plan/orders/generate", {"controllerId": CONTROLLER, "dailyPlanDate": day})
    projected(j)
    return day


def orders(j: Joc, token: str, day: str, **filters: Any) -> list[dict[str, Any]]:
    body = {"dailyPlanDateFrom": day, **filters}
    items: list[dict[str, Any]] = ok(j, token, "/daily_plan/orders", body)["plannedOrderItems"]
    return items


def test_generate_plans_each_start_and_parameterisation_with_joc_ids(joc: Joc) -> None:
    token = joc.login()
    day = setup_plan(joc, token)
    items = orders(joc, token, day, expandCycleOrders=True)
    # 2 single starts + 4 cyclic starts (08:00, 08:30, 09:00, 09:30), each for 2 parameterisations
    assert len(items) == 12
    singles = [i for i in items if i["startMode"] == 0]
    cyclic = [i for i in items if i["startMode"] == 1]
    assert len(singles) == 4 and len(cyclic) == 8
    assert all(i["orderId"].startswith(f"#{day}#P") for i in singles)
    assert all(i["orderId"].startswith(f"#{day}#C") for i in cyclic)
    assert {i["orderId"].rsplit("-", 1)[1] for i in items} == {"a", "b"}
    assert {i["orderId"].rsplit("-", 3)[1] for i in cyclic} == {"1", "2", "3", "4"}  # <nr>-<size>-<name>
    assert all(i["orderId"].rsplit("-", 3)[2] == "4" for i in cyclic)
    zone = ZoneInfo(ZONE)
    local = sorted({datetime.fromisoformat(i["plannedStartTime"]).astimezone(zone).strftime("%H:%M") for i in items})
    assert local == ["02:00", "08:00", "08:30", "09:00", "09:30", "23:30"]
    assert {i["state"]["_text"] for i in items} == {"PLANNED"} and not any(i["submitted"] for i in items)
    grouped = orders(joc, token, day)
    assert len(grouped) == 6 and sorted(i["cyclicOrder"]["count"] for i in grouped if "cyclicOrder" in i) == [4, 4]
    summary = ok(joc, token, "/daily_plan/orders/summary", {"dailyPlanDateFrom": day})
    assert summary["planned"] == 12 and summary["submitted"] == summary["finished"] == 0
    submissions = ok(joc, token, "/daily_plan/submissions", {"controllerId": CONTROLLER, "filter": {"dateTo": day}})
    assert [s["dailyPlanDate"] for s in submissions["submissionHistoryItems"]] == [day]


def test_generating_again_creates_nothing_and_a_removed_order_stays_removed_until_overwrite(joc: Joc) -> None:
    token = joc.login()
    day = setup_plan(joc, token)
    before = sorted(i["orderId"] for i in orders(joc, token, day, expandCycleOrders=True))
    notifications = joc.store.last_notification_id()
    ok(joc, token, "/daily_plan/orders/generate", {"controllerId": CONTROLLER, "dailyPlanDate": day})
    assert joc.store.last_notification_id() == notifications  # nothing appended
    removed = before[0]
    ok(joc, token, "/daily_plan/orders/delete", {"dailyPlanDateFrom": day, "orderIds": [removed]})
    projected(joc)
    assert removed not in {i["orderId"] for i in orders(joc, token, day, expandCycleOrders=True)}
    ok(joc, token, "/daily_plan/orders/generate", {"controllerId": CONTROLLER, "dailyPlanDate": day})
    projected(joc)
    assert removed not in {i["orderId"] for i in orders(joc, token, day, expandCycleOrders=True)}
    body = {"controllerId": CONTROLLER, "dailyPlanDate": day, "overwrite": True}
    ok(joc, token, "/daily_plan/orders/generate", body)
    projected(joc)
    assert sorted(i["orderId"] for i in orders(joc, token, day, expandCycleOrders=True)) == before  # same ids


def test_a_changed_schedule_replans_with_overwrite_only(joc: Joc) -> None:
    token = joc.login()
    day = setup_plan(joc, token)
    smaller = {**SCHEDULE, "calendars": [{**SCHEDULE["calendars"][0], "periods": [{"singleStart": "05:00:00"}]}]}  # type: ignore[index]
    release(joc, token, ("SCHEDULE", "/s/hello-daily", smaller))
    ok(joc, token, "/daily_plan/orders/generate", {"controllerId": CONTROLLER, "dailyPlanDate": day})
    projected(joc)
    assert len(orders(joc, token, day, expandCycleOrders=True)) == 12  # planned before: kept
    body = {"controllerId": CONTROLLER, "dailyPlanDate": day, "overwrite": True}
    ok(joc, token, "/daily_plan/orders/generate", body)
    projected(joc)
    items = orders(joc, token, day, expandCycleOrders=True)
    assert len(items) == 2 and all(i["startMode"] == 0 for i in items)


def test_calendars_and_holidays_decide_the_days(joc: Joc) -> None:
    token = joc.login()
    weekdays_only = {**SCHEDULE, "calendars": [{**SCHEDULE["calendars"][0], "calendarName": "Weekdays"}]}  # type: ignore[index]
    release(joc, token, ("WORKINGDAYSCALENDAR", "/cal/Weekdays", WEEKDAYS))
    release(joc, token, ("SCHEDULE", "/s/weekdays", weekdays_only))
    start = date.today() + timedelta(days=1)
    days = [(start + timedelta(days=n)).isoformat() for n in range(7)]
    ok(joc, token, "/daily_plan/orders/generate", {"controllerId": CONTROLLER, "dailyPlanDates": days})
    projected(joc)
    planned = {
        i["orderId"][1:11] for i in orders(joc, token, days[0], dailyPlanDateTo=days[-1], expandCycleOrders=True)
    }
    assert planned == {d for d in days if date.fromisoformat(d).isoweekday() <= 5}


def test_projections_show_what_would_run_months_ahead_without_planning(joc: Joc) -> None:
    token = joc.login()
    release(joc, token, ("WORKINGDAYSCALENDAR", "/cal/Weekdays", WEEKDAYS))
    weekdays_only = {**SCHEDULE, "calendars": [{**SCHEDULE["calendars"][0], "calendarName": "Weekdays"}]}  # type: ignore[index]
    release(joc, token, ("SCHEDULE", "/s/weekdays", weekdays_only))
    start = date.today() + timedelta(days=1)
    end = start + timedelta(days=90)
    answer = ok(joc, token, "/daily_plan/projections/dates", {"dateFrom": start.isoformat(), "dateTo": end.isoformat()})
    days = {d: e for months in answer["years"].values() for ms in months.values() for d, e in ms.items()}
    expected = {(start + timedelta(days=n)) for n in range(91)}
    assert set(days) == {d.isoformat() for d in expected if d.isoweekday() <= 5}
    # per day: 2 single starts and one cyclic period, for each of the 2 parameterisations
    assert all(e["numOfPeriods"] == 6 and not e["planned"] for e in days.values())
    one = ok(joc, token, "/daily_plan/projections/date", {"date": min(days)})
    starts = sorted(p["period"].get("singleStart", "cyclic") for p in one["periods"])
    assert starts == ["02:00:00", "02:00:00", "23:30:00", "23:30:00", "cyclic", "cyclic"]
    assert orders(joc, token, min(days)) == []


def test_bad_input_is_refused_with_a_coded_problem_and_changes_nothing(joc: Joc) -> None:
    token = joc.login()
    bad = {**SCHEDULE, "calendars": [{"calendarName": "EveryDay", "timeZone": "Mars/Olympus", "periods": []}]}
    answer = ok(joc, token, "/inventory/store", {"objectType": "SCHEDULE", "path": "/s/bad", "configuration": bad})
    assert answer["valid"] is False and "Mars/Olympus" in answer["invalidMsg"]
    error = refused(joc, token, "/inventory/release", {"update": [{"objectType": "SCHEDULE", "path": "/s/bad"}]})
    assert "not valid" in error["message"]
    error = refused(joc, token, "/inventory/release", {"update": [{"objectType": "WORKFLOW", "path": "/x"}]})
    assert "not released" in error["message"] or "deployed" in error["message"]
    release(joc, token, ("WORKINGDAYSCALENDAR", "/cal/EveryDay", EVERY_DAY))
    unknown = {**SCHEDULE, "workflowNames": ["nowhere"]}
    release(joc, token, ("SCHEDULE", "/s/unknown", unknown))
    before = joc.store.last_notification_id()
    error = refused(
        joc, token, "/daily_plan/orders/generate", {"controllerId": CONTROLLER, "dailyPlanDate": tomorrow()}
    )
    assert "nowhere" in error["message"]
    assert joc.store.last_notification_id() == before
    refused(joc, token, "/daily_plan/orders/generate", {"controllerId": CONTROLLER})
    refused(joc, token, "/daily_plan/orders/generate", {"controllerId": CONTROLLER, "dailyPlanDate": "2026-02-30"})
    refused(joc, token, "/daily_plan/orders", {"dailyPlanDateFrom": "2026-13-01"})
    refused(joc, token, "/daily_plan/orders", {"dailyPlanDateFrom": tomorrow(), "states": ["RUNNING"]})
    item = {"dailyplan": {"period_begin": {"value": "25:00"}}}
    refused(joc, token, "/settings/store", {"configurationItem": json.dumps(item)})
    item = {"dailyplan": {"days_ahead_plan": {"value": "-1"}}}
    refused(joc, token, "/settings/store", {"configurationItem": json.dumps(item)})


def test_changes_to_the_plan_are_audited_and_need_the_manage_permission(joc: Joc) -> None:
    token = joc.login()
    day = setup_plan(joc, token)
    joc.audited()
    with joc.services.engine.connect() as c:
        rows = c.execute(sa.select(schema.audit_log).where(schema.audit_log.c.category == "DAILYPLAN")).mappings().all()
    assert [r["request"] for r in rows] == ["/joc/api/daily_plan/orders/generate"]
    assert rows[0]["account"] == "root" and day in rows[0]["parameters"]
    # the comment of a change reaches its audit entry (found lost by the browser test: a dict, not JOC's auditLog)
    some = orders(joc, token, day, expandCycleOrders=True)[0]["orderId"]
    body = {"dailyPlanDateFrom": day, "orderIds": [some], "auditLog": {"comment": "not tomorrow", "timeSpent": 2}}
    ok(joc, token, "/daily_plan/orders/delete", body)
    joc.audited()
    with joc.services.engine.connect() as c:
        rows = c.execute(sa.select(schema.audit_log).where(schema.audit_log.c.category == "DAILYPLAN")).mappings().all()
    [deleted] = [r for r in rows if r["request"] == "/joc/api/daily_plan/orders/delete"]
    assert deleted["comment"] == "not tomorrow" and deleted["time_spent_s"] == 120 and some in deleted["parameters"]
    bad = refused(joc, token, "/daily_plan/orders/delete", {**body, "auditLog": {"comment": 5}})
    assert bad["code"] == "JOC-400"
    # a role without dailyplan:manage (business_user has view only, per JOC's defaults)
    ok(joc, token, "/iam/account/store", {
        "identityServiceName": "JOC-INITIAL", "accountName": "viewer", "password": "viewer-pw",
        "roles": ["business_user"],
    })  # fmt: skip
    viewer = joc.login("viewer", "viewer-pw")
    assert orders(joc, viewer, day)  # may look
    refused(joc, viewer, "/daily_plan/orders/delete", {"dailyPlanDateFrom": day}, status=403)


def day_orders(schedule_json: dict[str, Any], day: date, period_begin_h: int) -> list[Any]:
    """The pure computation of one schedule's orders of a plan date (Berlin plan, the EveryDay calendar)."""
    schedule = parse_schedule(schedule_json)
    calendar = parse_calendar(EVERY_DAY)
    assert not isinstance(schedule, Problem) and not isinstance(calendar, Problem)
    computed = schedule_day_orders(
        controller_id=CONTROLLER,
        plan_date=day,
        schedule_path="/s/x",
        schedule=schedule,
        calendars={"EveryDay": calendar},
        workflow_paths={"hello": "/hello"},
        zone=ZoneInfo(ZONE),
        period_begin_s=period_begin_h * 3600,
    )
    assert not isinstance(computed, Problem)
    return list(computed)


def test_the_plan_date_follows_period_begin_and_the_zone() -> None:
    zone = ZoneInfo(ZONE)
    day = date(2026, 3, 28)  # the plan's day begins at 06:00: until 06:00 of the 29th, when clocks spring forward
    low, high = day_interval(day, zone, 6 * 3600)
    assert high - low == 23 * 3600 * 1000
    computed = day_orders({**SCHEDULE, "orderParameterisations": []}, day, 6)
    local = [datetime.fromtimestamp(o.planned_start_ms / 1000, UTC).astimezone(zone) for o in computed]
    # 08:00 to 09:30 and 23:30 of the 28th, then 02:00 of the 29th, which does not exist: 03:00 (Java's rule)
    expected = ["28 08:00", "28 08:30", "28 09:00", "28 09:30", "28 23:30", "29 03:00"]
    assert [t.strftime("%d %H:%M") for t in local] == expected
    assert day_orders({**SCHEDULE, "orderParameterisations": []}, day, 6) == computed  # deterministic: same ids


def test_cyclic_periods_of_two_calendar_days_in_one_plan_date_get_distinct_ids() -> None:
    """A Sydney schedule in a Berlin plan: one plan date holds the end of one Sydney day's period and the
    start of the next day's, possibly of the same size; their ids must differ (the calendar day counts)."""
    sydney = {
        "workflowNames": ["hello"],
        "calendars": [
            {
                "calendarName": "EveryDay",
                "timeZone": "Australia/Sydney",
                "periods": [{"begin": "08:00:00", "end": "12:00:00", "repeat": "01:00:00"}],
            }
        ],
    }
    for day in (date(2026, 1, 15), date(2026, 7, 15)):  # both offsets of Sydney against Berlin
        for begin_h in range(24):
            ids = [o.order_id for o in day_orders(sydney, day, begin_h)]
            assert len(ids) == len(set(ids)) == 4, (day, begin_h, ids)
