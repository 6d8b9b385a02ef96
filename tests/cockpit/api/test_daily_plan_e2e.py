"""The daily plan end to end on real processes (Controller, Agent, Cockpit): a released schedule that
starts every few seconds for a while gives exactly one run per start — also when the Cockpit is killed -9
right after planning, after recording a submission before AddOrders leaves, and after the Controller
accepted it but before the Cockpit recorded that. Missed periods: orders planned but not submitted
before their start are submitted late (default) or skipped (`dailyplan.submit_late_orders` false)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from js7es.projections.cockpit import schema
from tests.cockpit.api.test_joc_e2e import CONTROLLER_ID, Setup, running_setup
from tests.cockpit.test_cockpit_e2e import wait_until, workflow

pytestmark = pytest.mark.slow
STARTS = 3
REPEAT_S = 2  # 3 starts 2 s apart prove as much as 4 starts 4 s apart did, in 14 s less per test
EVERY_DAY = {"type": "WORKINGDAYSCALENDAR", "includes": {"weekdays": [{"days": [0, 1, 2, 3, 4, 5, 6]}]}}


def midday_zone(now: datetime) -> str:
    """A fixed-offset zone where it is about midday now: the test's starts never cross a date."""
    offset = 12 - now.hour  # local = utc + offset; Etc/GMT-N is UTC+N
    offset = max(-12, min(14, offset))
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def hms(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S")


def reconfigure(setup: Setup, daily_plan: dict[str, Any]) -> None:
    """Restarts the Cockpit with another [daily-plan] section."""
    setup.cockpit.kill()
    setup.cockpit.sections["daily-plan"] = daily_plan
    setup.cockpit.__post_init__()  # writes the configuration anew
    setup.cockpit.start()
    setup.cockpit.wait_ready()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    with running_setup(tmp_path, [workflow()], {"daily-plan": {"check-interval": 0.5}}) as running:
        yield running


def post(client: httpx.Client, path: str, body: Any) -> Any:
    r = client.post(path, json=body)
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
    return r.json()


def release_schedule(client: httpx.Client, zone: str, first: datetime, *, submit: bool = True) -> None:
    """Stores and releases the calendar and a schedule: STARTS starts every REPEAT_S seconds from `first`."""
    begin = first.astimezone(ZoneInfo(zone))
    end = begin + timedelta(seconds=STARTS * REPEAT_S)
    schedule = {
        "workflowNames": ["burst"],
        "planOrderAutomatically": True,
        "submitOrderToControllerWhenPlanned": submit,
        "calendars": [
            {
                "calendarName": "EveryDay",
                "timeZone": zone,
                "periods": [{"begin": hms(begin), "end": hms(end), "repeat": f"00:00:{REPEAT_S:02d}"}],
            }
        ],
        "orderParameterisations": [{"orderName": "dp"}],
    }
    settings_item = {"dailyplan": {"time_zone": {"value": zone}}}
    post(client, "/settings/store", {"configurationItem": json.dumps(settings_item)})
    for object_type, path, config in (
        ("WORKINGDAYSCALENDAR", "/cal/EveryDay", EVERY_DAY),
        ("SCHEDULE", "/sched/every", schedule),
    ):
        answer = post(client, "/inventory/store", {"objectType": object_type, "path": path, "configuration": config})
        assert answer.get("valid", True), answer
    post(
        client,
        "/inventory/release",
        {
            "update": [
                {"objectType": "WORKINGDAYSCALENDAR", "path": "/cal/EveryDay"},
                {"objectType": "SCHEDULE", "path": "/sched/every"},
            ]
        },
    )


def runs(setup: Setup, day: str) -> list[dict[str, Any]]:
    """The runs of the planned orders of the daily-plan date `day` (the service submits later dates too:
    days_ahead_submit is 3 by default; they wait for their start at the Controller)."""
    table = schema.order_history
    with setup.engine.connect() as c:
        rows = c.execute(
            sa.select(table.c.order_id, table.c.state, table.c.scheduled_for, table.c.started_at).where(
                table.c.controller_id == CONTROLLER_ID, table.c.order_id.like(f"#{day}#C%-dp")
            )
        ).mappings()
        return [dict(r) for r in rows]


def plan_statuses(setup: Setup, day: str) -> dict[str, str]:
    table = schema.daily_plan_orders
    query = sa.select(table.c.order_id, table.c.status).where(table.c.plan_date == day)
    with setup.engine.connect() as c:
        return {r.order_id: r.status for r in c.execute(query)}


def exactly_once(setup: Setup, day: str, expected: int = STARTS) -> None:
    wait_until(
        lambda: sum(r["state"] == "Finished" for r in runs(setup, day)) >= expected,
        120,
        f"{expected} planned orders finished",
    )
    time.sleep(2 * REPEAT_S)  # nothing more may come
    done = runs(setup, day)
    ids = [r["order_id"] for r in done]
    assert len(ids) == expected and len(set(ids)) == expected, ids
    assert all(r["state"] == "Finished" for r in done)
    assert all(r["started_at"] >= r["scheduled_for"] for r in done)
    statuses = plan_statuses(setup, day)
    assert sorted(statuses) == sorted(ids) and set(statuses.values()) == {"SUBMITTED"}, statuses


def start_plan(setup: Setup, *, lead_s: float = 8.0) -> str:
    """Releases the schedule with its first start `lead_s` from now; the Cockpit plans and submits it by
    itself. Returns the daily-plan date of today."""
    now = datetime.now(UTC)
    first = (now + timedelta(seconds=lead_s)).replace(microsecond=0)
    zone = midday_zone(now)
    with setup.client() as client:
        setup.login(client)
        release_schedule(client, zone, first)
    return first.astimezone(ZoneInfo(zone)).date().isoformat()


def test_a_schedule_gives_exactly_one_run_per_start(setup: Setup) -> None:
    today = start_plan(setup)
    exactly_once(setup, today)
    with setup.client() as client:
        setup.login(client)
        listed = post(client, "/daily_plan/orders", {"dailyPlanDateFrom": today, "expandCycleOrders": True})
        items = listed["plannedOrderItems"]
        assert len(items) == STARTS and {i["state"]["_text"] for i in items} == {"FINISHED"}
        grouped = post(client, "/daily_plan/orders", {"dailyPlanDateFrom": today})["plannedOrderItems"]
        assert len(grouped) == 1 and grouped[0]["cyclicOrder"]["count"] == STARTS
        summary = post(client, "/daily_plan/orders/summary", {"dailyPlanDateFrom": today})
        assert summary["finished"] == STARTS and summary["planned"] == 0
        # Planning again (the service runs every 0.5 s; and by hand) creates nothing twice:
        post(client, "/daily_plan/orders/generate", {"controllerId": CONTROLLER_ID, "dailyPlanDate": today})
    time.sleep(2)
    assert len(runs(setup, today)) == STARTS


@pytest.mark.parametrize("crash_at", ["daily-plan-planned", "daily-plan-submitting", "daily-plan-submitted"])
def test_kill_9_while_planning_or_submitting_loses_nothing_and_runs_nothing_twice(setup: Setup, crash_at: str) -> None:
    setup.restart(JS7ES_TEST_CRASH_AT=crash_at)
    today = start_plan(setup, lead_s=12)
    wait_until(lambda: setup.cockpit.process is not None and setup.cockpit.process.poll() is not None, 30, "the crash")
    setup.cockpit.env = {}
    setup.cockpit.start()
    setup.cockpit.wait_ready()
    exactly_once(setup, today)


@pytest.mark.parametrize("late", ["true", "false"])
def test_an_order_whose_start_passed_unsubmitted_is_submitted_late_or_skipped(setup: Setup, late: str) -> None:
    """The daily plan service was off (the Cockpit away) over the starts of planned orders."""
    reconfigure(setup, {"service": False})
    now = datetime.now(UTC)
    first = (now + timedelta(seconds=5)).replace(microsecond=0)
    with setup.client() as client:
        setup.login(client)
        release_schedule(client, midday_zone(now), first)
        post(client, "/settings/store", {"configurationItem": json.dumps({
            "dailyplan": {"time_zone": {"value": midday_zone(now)}, "submit_late_orders": {"value": late}}
        })})  # fmt: skip
        today = datetime.now(UTC).astimezone(ZoneInfo(midday_zone(now))).date().isoformat()
        post(client, "/daily_plan/orders/generate", {"controllerId": CONTROLLER_ID, "dailyPlanDate": today})
        wait_until(lambda: len(plan_statuses(setup, today)) == STARTS, 20, "the plan")
        assert set(plan_statuses(setup, today).values()) == {"PLANNED"}
    time.sleep(5 + STARTS * REPEAT_S + 1)  # every start passed, nothing submitted
    assert runs(setup, today) == []
    reconfigure(setup, {"check-interval": 0.5})
    if late == "true":
        exactly_once(setup, today)
    else:
        wait_until(lambda: set(plan_statuses(setup, today).values()) == {"SKIPPED"}, 30, "the late orders skipped")
        time.sleep(2)
        assert runs(setup, today) == []
        with setup.client() as client:
            setup.login(client)
            items = post(client, "/daily_plan/orders", {"dailyPlanDateFrom": today, "expandCycleOrders": True})
            assert all(i["late"] and i.get("skipped") for i in items["plannedOrderItems"])
