"""The daily plan (issue 13): planning 10,000 schedules for a day, the projection of one schedule a year
ahead, and the start skew of every-minute schedules on real processes; each figure beside the machine's
own limit measured in the same run. Targets: planning < 60 s; a year's projection < 100 ms; skew p99 <= 1 s.

    .venv/bin/python bench/daily_plan_bench.py                  # 10,000 schedules; 1,000 schedules x 10 minutes
    .venv/bin/python bench/daily_plan_bench.py --quick          # 1,000 schedules; 100 schedules x 2 minutes
    .venv/bin/python bench/daily_plan_bench.py --figures plan,projection --databases sqlite
    .venv/bin/python bench/daily_plan_bench.py --figures skew --skew-schedules 300 --skew-minutes 3

1. `planning`, per database (the Cockpit store on SQLite, the standalone default; and on the PostgreSQL at
   127.0.0.1:5432 in a fresh schema, dropped afterwards), in a subprocess of its own: a mix of schedules
   (most with a few single starts, a fifth cyclic every 15 minutes in a window of 9-12 hours, a few with
   order parameterisations; five time zones; working-day calendars, some excluding holidays, with
   non-working-day calendars) is stored and released with the store's real commands; the projection
   database has the workflows. Then `DailyPlanService.plan` of one date, timed in its parts; the
   DailyPlanProjector's `catch_up` into daily_plan_orders; the same plan again (what every service round
   does once the day is planned). Peak RSS is VmHWM of that subprocess, reset before the plan.
2. `projection`: `planned_starts` of one schedule over 365 days, and the `/daily_plan/projections/dates`
   handler's `project` (called directly, with the schedule's path) over the same year.
3. `skew`: a Controller, an Agent and a Cockpit (real processes, as tests/cockpit/api/test_daily_plan_e2e.py
   starts them); N schedules released through the JOC API, each starting every minute for M minutes, all at
   the whole minute; the Cockpit's daily plan service plans and submits them. Skew: planned start
   (scheduledFor) → OrderProcessingStarted (order_steps.started_at in the Cockpit's projection), and →
   the job process's own first command (`date`, written to a file).

One JSON document on stdout; progress on stderr. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from bench._common import machine, raw_fdatasync_rate

PG_DSN = os.environ.get("JS7ES_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
CONTROLLER_ID = "js7es-test"
PLAN_DATE = date(2027, 3, 3)  # a Wednesday, no holiday of the calendars below
PLAN_ZONE = "Europe/Berlin"  # the daily plan's time zone (setting dailyplan.time_zone)
ZONES = ("Europe/Berlin", "UTC", "America/New_York", "Asia/Kolkata", "Australia/Sydney")
WORKFLOWS = 200


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentiles(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    if not ordered:
        return {"count": 0}

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)

    return {"count": len(ordered), "p50": at(50), "p95": at(95), "p99": at(99), "max": round(ordered[-1], 1)}


# --- the workload: calendars and schedules --------------------------------------------------------------


def calendars() -> list[tuple[str, str, dict[str, Any]]]:
    """(objectType, path, configuration): non-working-day calendars and working-day calendars."""
    holidays_de = ["2027-01-01", "2027-03-26", "2027-03-29", "2027-05-01", "2027-05-06", "2027-10-03", "2027-12-25"]
    holidays_us = ["2027-01-01", "2027-01-18", "2027-05-31", "2027-07-05", "2027-11-25", "2027-12-24"]
    yearly = {"repetition": "YEARLY", "step": 1, "from": "2020-12-26"}  # Boxing Day, every year
    return [
        ("NONWORKINGDAYSCALENDAR", "/cal/HolidaysDE", {"includes": {"holidays": [{"dates": holidays_de}]}}),
        ("NONWORKINGDAYSCALENDAR", "/cal/HolidaysUS", {"includes": {"dates": holidays_us, "repetitions": [yearly]}}),
        ("WORKINGDAYSCALENDAR", "/cal/EveryDay", {"includes": {"weekdays": [{"days": [0, 1, 2, 3, 4, 5, 6]}]}}),
        ("WORKINGDAYSCALENDAR", "/cal/Weekdays", {"includes": {"weekdays": [{"days": [1, 2, 3, 4, 5]}]}}),
        (
            "WORKINGDAYSCALENDAR",
            "/cal/WorkingDaysDE",
            {
                "includes": {"weekdays": [{"days": [1, 2, 3, 4, 5]}]},
                "excludes": {"nonWorkingDayCalendars": ["HolidaysDE"]},
            },
        ),
        ("WORKINGDAYSCALENDAR", "/cal/MonWedFri", {"includes": {"weekdays": [{"days": [1, 3, 5]}]}}),
        ("WORKINGDAYSCALENDAR", "/cal/MonthStart", {"includes": {"monthdays": [{"days": [1, 2, 3, 4, 5]}]}}),
        ("WORKINGDAYSCALENDAR", "/cal/LastDays", {"includes": {"ultimos": [{"days": [1, 2]}]}}),
    ]


WORKING = ["Weekdays"] * 4 + ["WorkingDaysDE"] * 3 + ["EveryDay"] * 2 + ["MonWedFri", "MonthStart", "LastDays"]


def hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def schedule(rng: random.Random, i: int, zones: tuple[str, ...]) -> dict[str, Any]:
    """One of the mix: 77 % a few single starts, 21 % cyclic every 15 minutes, 2 % parameterised."""
    kind = rng.random()
    when = rng.choice(["SUPPRESS"] * 3 + ["IGNORE", "NEXTNONWORKINGDAY", "PREVIOUSNONWORKINGDAY"])
    if kind < 0.21:
        begin = rng.randrange(5 * 3600, 9 * 3600, 900)
        periods = [
            {
                "begin": hms(begin),
                "end": hms(begin + rng.randrange(9, 13) * 3600),
                "repeat": "00:15:00",
                "whenHoliday": when,
            }
        ]
    else:
        times = sorted(rng.sample(range(0, 86400, 300), rng.randint(1, 4)))
        periods = [{"singleStart": hms(t), "whenHoliday": when} for t in times]
    config: dict[str, Any] = {
        "workflowNames": [f"wf-{i % WORKFLOWS:03d}"],
        "planOrderAutomatically": True,
        "submitOrderToControllerWhenPlanned": True,
        "calendars": [{"calendarName": rng.choice(WORKING), "timeZone": zones[i % len(zones)], "periods": periods}],
    }
    if rng.random() < 0.6:
        config["nonWorkingDayCalendars"] = [{"calendarName": rng.choice(["HolidaysDE", "HolidaysUS"])}]
    if 0.21 <= kind < 0.23:
        config["orderParameterisations"] = [
            {"orderName": f"p{k}", "variables": {"region": f"r{k}", "batch": k, "full": k == 0}}
            for k in range(rng.randint(2, 4))
        ]
    return config


def schedules(count: int, zones: tuple[str, ...] = ZONES) -> list[tuple[str, str, dict[str, Any]]]:
    rng = random.Random(13)
    return [("SCHEDULE", f"/sched/f{i % 50:02d}/s{i:05d}", schedule(rng, i, zones)) for i in range(count)]


# --- figure 1: planning (in a subprocess) ----------------------------------------------------------------


def vm_status(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def reset_peak_rss() -> bool:
    """Sets VmHWM to the current RSS (Linux: `echo 5 > /proc/self/clear_refs`)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def open_stores(kind: str, directory: Path) -> tuple[Any, Any, str | None]:
    """(Cockpit store, projection engine, PostgreSQL schema or None), both fresh."""
    from js7es.journal.cockpit.settings import StoreSettings
    from js7es.journal.cockpit.store import CockpitStore
    from js7es.projections.cockpit.database import migrate, open_database, sqlite_url

    if kind == "sqlite":
        store = CockpitStore.open(f"sqlite:///{directory / 'cockpit-store.sqlite'}")
        engine = open_database(sqlite_url(directory / "cockpit.sqlite"))
        migrate(engine)
        return store, engine, None
    schema_name = f"dpbench_{os.getpid()}_{secrets.token_hex(3)}"
    store = CockpitStore.open(StoreSettings.parse(PG_DSN, schema=schema_name))
    engine = open_database(PG_DSN, schema_name=schema_name)
    migrate(engine, schema_name=schema_name)
    return store, engine, schema_name


def drop_schema(schema_name: str) -> None:
    import psycopg

    with psycopg.connect(PG_DSN.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')


def services_of(store: Any, engine: Any) -> Any:
    from js7es.nodes.client.connection import ControllerConnection
    from js7es.nodes.cockpit.api.services import CockpitServices, ControllerDirectory

    def no_client(connection: Any) -> Any:
        raise AssertionError("planning sends nothing to a Controller")

    connection = ControllerConnection(controller_id=CONTROLLER_ID, uris=("https://127.0.0.1:9",))
    directory = ControllerDirectory(make_client=no_client, configured={CONTROLLER_ID: connection})
    return CockpitServices(store=store, engine=engine, controllers=directory, version="bench")


def store_and_release(store: Any, objects: list[tuple[str, str, dict[str, Any]]], settings: dict[str, str]) -> None:
    """What /settings/store, /inventory/store and /inventory/release do, through the store's commands."""
    from js7es.domain.cockpit import commands as cmd
    from js7es.domain.cockpit import keys
    from js7es.domain.cockpit.events import ChangeMeta
    from js7es.domain.problem import Problem
    from js7es.domain.value import value_from_json

    def run(key: str, command: Any, request: str) -> None:
        meta = ChangeMeta(account="root", at_ms=int(time.time() * 1000), request=request)
        result = store.execute(key, command, meta)
        if isinstance(result, Problem):
            raise RuntimeError(f"{key}: {result.message}")

    run(keys.settings("dailyplan"), cmd.StoreSettings(values=dict(settings)), "/joc/api/settings/store")
    for object_type, path, config in objects:
        command = cmd.StoreInventoryObject(path=path, configuration=value_from_json(config))
        run(keys.inventory(object_type, path.rsplit("/", 1)[-1]), command, "/joc/api/inventory/store")
    for object_type, path, _ in objects:
        command = cmd.ReleaseInventoryObject(at_ms=int(time.time() * 1000))
        run(keys.inventory(object_type, path.rsplit("/", 1)[-1]), command, "/joc/api/inventory/release")


def insert_workflows(engine: Any) -> None:
    from js7es.projections.cockpit import schema

    rows = [
        {
            "controller_id": CONTROLLER_ID,
            "path": f"wf-{i:03d}",
            "version_id": "v1",
            "workflow_json": "{}",
            "is_current": True,
            "deployed_at": 0,
        }
        for i in range(WORKFLOWS)
    ]
    with engine.begin() as c:
        c.execute(schema.workflows.insert(), rows)


def insert_rate(rows: int, row_bytes: int, per_transaction: int, elapsed: float) -> dict[str, Any]:
    return {
        "rows": rows,
        "rowBytes": row_bytes,
        "rowsPerTransaction": per_transaction,
        "rowsPerSecond": round(rows / elapsed),
        "megabytesPerSecond": round(rows * row_bytes / elapsed / 1e6, 1),
    }


def raw_sqlite_inserts(directory: Path, rows: int, row_bytes: int, per_transaction: int) -> dict[str, Any]:
    """The database's limit for the store's writes: `rows` rows of `row_bytes` in transactions of
    `per_transaction`, into a fresh SQLite file with the store's settings (WAL, synchronous FULL)."""
    import sqlite3

    path = directory / "raw.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v BLOB)")
    payload = os.urandom(row_bytes)
    start = time.perf_counter()
    for first in range(0, rows, per_transaction):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            "INSERT INTO t (k, v) VALUES (?, ?)",
            ((f"k{i}", payload) for i in range(first, min(rows, first + per_transaction))),
        )
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return insert_rate(rows, row_bytes, per_transaction, elapsed)


def raw_postgres_inserts(rows: int, row_bytes: int, per_transaction: int) -> dict[str, Any]:
    import psycopg

    payload = os.urandom(row_bytes)
    with psycopg.connect(PG_DSN.replace("postgresql+psycopg://", "postgresql://")) as c:
        c.execute("CREATE TEMP TABLE raw_bench (id BIGSERIAL PRIMARY KEY, k TEXT, v BYTEA)")
        c.commit()
        start = time.perf_counter()
        for first in range(0, rows, per_transaction):
            with c.cursor() as cur:
                cur.executemany(
                    "INSERT INTO raw_bench (k, v) VALUES (%s, %s)",
                    [(f"k{i}", payload) for i in range(first, min(rows, first + per_transaction))],
                )
            c.commit()
        elapsed = time.perf_counter() - start
    return insert_rate(rows, row_bytes, per_transaction, elapsed)


def plan_child(kind: str, count: int, directory: Path, zones: tuple[str, ...]) -> dict[str, Any]:
    """Figure 1 for one database; runs in a fresh interpreter (its VmHWM is the plan's)."""
    from js7es.domain.cockpit import daily_plan as dp
    from js7es.domain.cockpit.events import DailyPlanOrdersPlanned
    from js7es.nodes.cockpit.api import selection
    from js7es.nodes.cockpit.daily_plan import DailyPlanService, plan_settings, system_meta
    from js7es.projections.cockpit import schema
    from js7es.projections.cockpit.daily_plan import DailyPlanProjector

    objects = [*calendars(), *schedules(count, zones)]
    store, engine, schema_name = open_stores(kind, directory)
    out: dict[str, Any] = {
        "database": kind,
        "schedules": count,
        "zones": zones,
        "planDate": PLAN_DATE.isoformat(),
        "planZone": PLAN_ZONE,
    }
    try:
        t0 = time.perf_counter()
        store_and_release(store, objects, {"time_zone": PLAN_ZONE, "days_ahead_plan": "1", "days_ahead_submit": "1"})
        insert_workflows(engine)
        out["setupSeconds"] = round(time.perf_counter() - t0, 2)
        progress(f"  {kind}: {len(objects)} objects stored and released in {out['setupSeconds']} s")
        services = services_of(store, engine)
        service = DailyPlanService(services)
        rss_before = vm_status("VmRSS")
        peak_reset = reset_peak_rss()

        t0 = time.perf_counter()
        released = service.released()
        t_released = time.perf_counter() - t0
        t0 = time.perf_counter()
        outcome = service.plan(
            CONTROLLER_ID, [PLAN_DATE], system_meta("daily-plan-bench", CONTROLLER_ID), not_before_ms=0
        )
        t_plan = time.perf_counter() - t0
        peak = vm_status("VmHWM")
        total = t_released + t_plan
        out["plan"] = {
            "wallSeconds": round(total, 2),
            "ordersPlanned": outcome.planned,
            "scheduleDays": outcome.schedule_days,
            "ordersPerSecond": round(outcome.planned / total),
            "problems": outcome.problems[:5],
            "parts": {"releasedParseSeconds": round(t_released, 2), "planSeconds": round(t_plan, 2)},
            "rssBeforeMiB": rss_before,
            "peakRssMiB": peak if peak_reset else None,
            "peakRssNote": "VmHWM reset before released() + plan()" if peak_reset else "VmHWM could not be reset",
        }
        progress(f"  {kind}: planned {outcome.planned} orders in {total:.1f} s")

        # The same computation without the store: the domain's share of the plan.
        settings = plan_settings(services)
        workflows = selection.current_workflows(engine, CONTROLLER_ID)
        t0 = time.perf_counter()
        computed = 0
        for path, (sched, _) in released.schedules.items():
            orders = dp.schedule_day_orders(
                controller_id=CONTROLLER_ID, plan_date=PLAN_DATE, schedule_path=path, schedule=sched,
                calendars=released.calendars, workflow_paths=workflows, zone=settings.zone,
                period_begin_s=settings.period_begin_s,
            )  # fmt: skip
            computed += len(orders) if isinstance(orders, tuple) else 0
        out["plan"]["parts"]["pureScheduleDayOrdersSeconds"] = round(time.perf_counter() - t0, 2)
        out["plan"]["parts"]["pureOrders"] = computed

        # Events and their bytes, for the database's limit below
        last = store.last_notification_id()
        planned_events = [
            r for r in store.notifications(last - outcome.schedule_days, outcome.schedule_days)
            if isinstance(r.event, DailyPlanOrdersPlanned)
        ]  # fmt: skip
        sample = planned_events[: min(500, len(planned_events))]
        # A check, not a figure: JOC's order ids are unique within a plan (the projection's primary key).
        duplicates = [
            (r.key, o)
            for r in planned_events
            for o, n in Counter(order.order_id for order in r.event.orders).items()
            if n > 1
        ]
        out["plan"]["duplicateOrderIds"] = {"count": len(duplicates), "first": duplicates[:3]}
        event_bytes = sum(stored_bytes(store, r) for r in sample) // max(1, len(sample))

        t0 = time.perf_counter()
        again = service.plan(
            CONTROLLER_ID, [PLAN_DATE], system_meta("daily-plan-bench", CONTROLLER_ID), not_before_ms=0
        )
        out["planAgainSeconds"] = round(time.perf_counter() - t0, 2)
        out["planAgainOrders"] = again.planned
        # A service that has not planned this date itself (a Cockpit started anew) loads every schedule-day once.
        t0 = time.perf_counter()
        DailyPlanService(services).plan(
            CONTROLLER_ID, [PLAN_DATE], system_meta("daily-plan-bench", CONTROLLER_ID), not_before_ms=0
        )
        out["planAgainByAFreshServiceSeconds"] = round(time.perf_counter() - t0, 2)
        progress(
            f"  {kind}: planned again (nothing new) in {out['planAgainSeconds']} s,"
            f" by a fresh service in {out['planAgainByAFreshServiceSeconds']} s"
        )

        t0 = time.perf_counter()
        projector = DailyPlanProjector(store, engine)
        try:
            projected = projector.catch_up()
        except sa.exc.IntegrityError as e:
            message = str(e.orig).splitlines()[0] if e.orig else str(e)[:200]
            out["projection"] = {"error": message, "stuckAtStoreNotification": projector.position()}
            progress(f"  {kind}: the projection failed: {message}")
        else:
            t_projection = time.perf_counter() - t0
            with engine.connect() as c:
                rows = int(c.execute(sa.select(sa.func.count()).select_from(schema.daily_plan_orders)).scalar() or 0)
            out["projection"] = {
                "seconds": round(t_projection, 2),
                "storeNotifications": projected,
                "rows": rows,
                "rowsPerSecond": round(rows / t_projection),
            }
            progress(f"  {kind}: projected {rows} rows in {t_projection:.1f} s")
        out["peakRssWholeProcessMiB"] = vm_status("VmHWM")

        # The machine's limits in the same run: the disk, and the database's insert rate for the plan's writes
        per_transaction = 200  # daily_plan.CHUNK: schedule-days per store transaction
        if kind == "sqlite":
            inserts = raw_sqlite_inserts(directory, outcome.schedule_days, event_bytes, per_transaction)
            out["machine"] = {
                "rawAppendFdatasync": raw_fdatasync_rate(directory, 1.0),
                "sqliteInsertsOfThePlansEvents": inserts,
            }
        else:
            out["machine"] = {
                "postgresInsertsOfThePlansEvents": raw_postgres_inserts(
                    outcome.schedule_days, event_bytes, per_transaction
                )
            }
        out["machine"]["meanPlannedEventBytes"] = event_bytes
    finally:
        store.close()
        engine.dispose()
        if schema_name:
            drop_schema(schema_name)
    return out


def stored_bytes(store: Any, record: Any) -> int:
    """The bytes the store writes for one record (its mapper's encoding)."""
    from js7es.journal.cockpit.mapper import store_event

    return len(store._mapper.to_stored_event(store_event(record)).state)


def planning(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in args.databases:
        progress(f"planning: {args.plan_schedules} schedules on {kind}")
        directory = root / f"plan-{kind}"
        directory.mkdir()
        command = [sys.executable, __file__, "--plan-child", kind, str(args.plan_schedules), str(directory), args.zones]
        try:
            done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
        except subprocess.CalledProcessError as e:
            out[kind] = {"error": f"exit {e.returncode}"}
            continue
        out[kind] = json.loads(done.stdout)
    return out


# --- figure 2: a year's projection of one schedule ---------------------------------------------------------


def projection(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    from js7es.domain.calendar.schedule import planned_starts
    from js7es.nodes.cockpit.api.call import Call
    from js7es.nodes.cockpit.api.daily_plan import Projections, project
    from js7es.nodes.cockpit.daily_plan import DailyPlanService

    typical = {
        "workflowNames": ["wf-000"],
        "calendars": [{"calendarName": "WorkingDaysDE", "timeZone": "Europe/Berlin", "periods": [
            {"singleStart": "06:30:00"}, {"singleStart": "18:00:00", "whenHoliday": "NEXTNONWORKINGDAY"}]}],
        "nonWorkingDayCalendars": [{"calendarName": "HolidaysDE"}],
    }  # fmt: skip
    cyclic = {
        "workflowNames": ["wf-001"],
        "calendars": [{"calendarName": "EveryDay", "timeZone": "America/New_York",
                       "periods": [{"begin": "00:00:00", "end": "24:00:00", "repeat": "00:15:00"}]}],
    }  # fmt: skip
    every_minute = {
        "workflowNames": ["wf-002"],
        "calendars": [{"calendarName": "Weekdays", "timeZone": "UTC",
                       "periods": [{"begin": "08:00:00", "end": "18:00:00", "repeat": "00:01:00"}]}],
    }  # fmt: skip
    cases = {
        "typical": ("/sched/typical", typical, "2 single starts on German working days, holidays moved"),
        "cyclic15MinAllDay": ("/sched/cyclic", cyclic, "every 15 minutes, 24 h, every day"),
        "everyMinute10hWeekdays": ("/sched/minute", every_minute, "every minute 08:00-18:00 on weekdays"),
    }
    directory = root / "projection"
    directory.mkdir()
    store, engine, _ = open_stores("sqlite", directory)
    try:
        objects = [*calendars(), *(("SCHEDULE", path, config) for path, config, _ in cases.values())]
        store_and_release(store, objects, {"time_zone": PLAN_ZONE})
        insert_workflows(engine)
        services = services_of(store, engine)
        services.daily_plan = DailyPlanService(services)
        released = services.daily_plan.released()
        call = Call(request=None, endpoint=None, services=services, session=None, permissions=None, folders=None)  # type: ignore[arg-type]
        day_from = datetime.now(ZoneInfo(PLAN_ZONE)).date()
        day_to = day_from + timedelta(days=364)
        rounds = 5 if args.quick else 20
        out: dict[str, Any] = {"days": 365, "from": day_from.isoformat(), "rounds": rounds}
        for name, (path, _, what) in cases.items():
            sched = released.schedules[path][0]
            times, starts = [], 0
            for _ in range(rounds):
                t0 = time.perf_counter()
                result = planned_starts(sched, released.calendars, day_from, day_to)
                times.append((time.perf_counter() - t0) * 1000)
                assert isinstance(result, tuple)
                starts = len(result)
            body = Projections(schedulePaths=[path], dateFrom=day_from.isoformat(), dateTo=day_to.isoformat())
            handler_times, periods = [], 0
            for _ in range(rounds):
                t0 = time.perf_counter()
                days = project(call, body, day_from, day_to)
                handler_times.append((time.perf_counter() - t0) * 1000)
                periods = sum(d["numOfPeriods"] for d in days.values())
            out[name] = {
                "schedule": what,
                "plannedStarts": starts,
                "plannedStartsMs": {"median": round(sorted(times)[len(times) // 2], 1), "min": round(min(times), 1)},
                "projectionsDatesHandlerMs": {
                    "median": round(sorted(handler_times)[len(handler_times) // 2], 1),
                    "min": round(min(handler_times), 1),
                },
                "periodsListed": periods,
            }
            progress(f"projection {name}: {starts} starts, planned_starts {out[name]['plannedStartsMs']} ms, "
                     f"project {out[name]['projectionsDatesHandlerMs']} ms")  # fmt: skip
        services.close()
        return out
    finally:
        store.close()
        engine.dispose()


# --- figure 3: start skew on real processes ----------------------------------------------------------------


SPAWN_RATE = """
import asyncio, json, sys
from bench.process_bench import rate, sh_c_true
async def both():
    return {f"concurrency{c}": await rate(sh_c_true, c, float(sys.argv[1])) for c in (1, 8)}
print(json.dumps(asyncio.run(both())))
"""


def spawn_rate(seconds: float) -> dict[str, Any]:
    """The machine's limit: `sh -c true` through asyncio (as bench/process_bench.py), in a fresh interpreter
    (a big parent process forks more slowly)."""
    root = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "-c", SPAWN_RATE, str(seconds)], cwd=root, check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout))


def skew(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    from js7es.nodes.cockpit.api.passwords import hash_password
    from js7es.projections.cockpit import schema
    from js7es.projections.cockpit.database import open_database, sqlite_url
    from tests.cockpit.api.test_daily_plan_e2e import midday_zone, post
    from tests.cockpit.api.test_joc_e2e import PASSWORD, Setup, _projected_workflows
    from tests.cockpit.cockpit_process import CockpitProcess
    from tests.cockpit.test_cockpit_e2e import cockpit_topology, wait_until

    n, minutes = args.skew_schedules, args.skew_minutes
    out: dict[str, Any] = {"schedules": n, "minutes": minutes, "startsPerMinute": n}
    progress("skew: the machine's process-spawn rate")
    out["machineSpawnRate"] = {"before": spawn_rate(1.0 if args.quick else 3.0)}
    stamps = root / "stamps.txt"
    stamp = f'date "+$JS7_ORDER_ID %s%N" >>"{stamps}"\n'
    job = {
        "agentPath": "agent",
        "executable": {"TYPE": "ShellScriptExecutable", "script": stamp},
        "processLimit": 100000,
    }
    workflow = {"path": "tick", "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}], "jobs": {"J": job}}
    topology = cockpit_topology(root / "nodes", controller_id=CONTROLLER_ID)
    cockpit = CockpitProcess(
        topology,
        root / "cockpit",
        {CONTROLLER_ID: "controller"},
        sections={"joc": {"root-password-hash": hash_password(PASSWORD)}, "daily-plan": {"check-interval": 1.0}},
    )
    engine = open_database(sqlite_url(root / "cockpit" / "cockpit.sqlite"))
    try:
        topology.start_all()
        assert topology.deploy(workflow, version="v1").status_code == 200
        cockpit.start()
        cockpit.wait_ready()
        wait_until(lambda: _projected_workflows(engine) == ["tick"], 60, "the workflow in the projection")
        setup = Setup(topology, cockpit, engine)
        now = datetime.now(UTC)
        zone = midday_zone(now)
        # The first start: a whole minute after storing, releasing, planning and submitting (estimated).
        lead_s = args.skew_lead if args.skew_lead else 30 + 0.03 * n + 0.004 * n * minutes
        first = (now + timedelta(seconds=lead_s + 60)).replace(second=0, microsecond=0)
        begin = first.astimezone(ZoneInfo(zone))
        end = begin + timedelta(minutes=minutes)
        out["firstStart"] = first.isoformat()
        out["timeZone"] = zone
        progress(f"skew: {n} schedules every minute from {first:%H:%M:%S} UTC for {minutes} min ({zone})")
        paths = [f"/bench/every{i:04d}" for i in range(n)]
        with setup.client() as client:
            setup.login(client)
            item = {"dailyplan": {"time_zone": {"value": zone}, "days_ahead_plan": {"value": "1"},
                                  "days_ahead_submit": {"value": "1"}}}  # fmt: skip
            post(client, "/settings/store", {"configurationItem": json.dumps(item)})
            every_day = {"includes": {"weekdays": [{"days": [0, 1, 2, 3, 4, 5, 6]}]}}
            post(client, "/inventory/store", {"objectType": "WORKINGDAYSCALENDAR", "path": "/cal/EveryDay",
                                              "configuration": every_day})  # fmt: skip
            config = {
                "workflowNames": ["tick"],
                "planOrderAutomatically": True,
                "submitOrderToControllerWhenPlanned": True,
                "calendars": [{"calendarName": "EveryDay", "timeZone": zone, "periods": [
                    {"begin": begin.strftime("%H:%M:%S"), "end": end.strftime("%H:%M:%S"), "repeat": "00:01:00"}]}],
            }  # fmt: skip
            t0 = time.perf_counter()
            for path in paths:
                post(client, "/inventory/store", {"objectType": "SCHEDULE", "path": path, "configuration": config})
            out["storeSeconds"] = round(time.perf_counter() - t0, 1)
            t0 = time.perf_counter()
            items = [{"objectType": "WORKINGDAYSCALENDAR", "path": "/cal/EveryDay"}]
            items += [{"objectType": "SCHEDULE", "path": p} for p in paths]
            for i in range(0, len(items), 500):
                post(client, "/inventory/release", {"update": items[i : i + 500]})
            out["releaseSeconds"] = round(time.perf_counter() - t0, 1)
            released_at = time.time()
        day = begin.date().isoformat()
        expected = n * minutes
        plan = schema.daily_plan_orders

        def submitted() -> int:
            with engine.connect() as c:
                q = sa.select(sa.func.count()).where(plan.c.plan_date == day, plan.c.status == "SUBMITTED")
                return int(c.execute(q).scalar() or 0)

        wait_until(
            lambda: submitted() >= expected, max(60.0, first.timestamp() - time.time() + 60), "the plan submitted"
        )
        out["releasedToAllSubmittedSeconds"] = round(time.time() - released_at, 1)
        out["allSubmittedBeforeFirstStartSeconds"] = round(first.timestamp() - time.time(), 1)
        progress(
            f"skew: {expected} orders submitted {out['allSubmittedBeforeFirstStartSeconds']} s before the first start"
        )
        out["loadAverageBeforeFirstStart"] = [round(x, 2) for x in os.getloadavg()]
        history, steps = schema.order_history, schema.order_steps
        pattern = f"#{day}#C%"

        def finished() -> int:
            with engine.connect() as c:
                q = sa.select(sa.func.count()).where(history.c.order_id.like(pattern), history.c.state == "Finished")
                return int(c.execute(q).scalar() or 0)

        wait_until(lambda: finished() >= expected, first.timestamp() - time.time() + minutes * 60 + 180, "every run")
        time.sleep(3)  # nothing more may come
        out["loadAverageAtEnd"] = [round(x, 2) for x in os.getloadavg()]
        out["machineSpawnRate"]["after"] = spawn_rate(1.0 if args.quick else 3.0)
        with engine.connect() as c:
            joined = history.join(
                steps,
                sa.and_(
                    steps.c.controller_id == history.c.controller_id,
                    steps.c.order_id == history.c.order_id,
                    steps.c.run_event_id == history.c.run_event_id,
                ),
            )
            step = steps.c.started_at.label("step")
            columns = (history.c.order_id, history.c.scheduled_for, history.c.started_at, step)
            runs = c.execute(sa.select(*columns).select_from(joined).where(history.c.order_id.like(pattern))).all()
            statuses = dict(
                c.execute(
                    sa.select(plan.c.status, sa.func.count()).where(plan.c.plan_date == day).group_by(plan.c.status)
                ).all()
            )
        process_start: dict[str, int] = {}
        for line in stamps.read_text().splitlines():
            order_id, ns = line.rsplit(" ", 1)
            process_start.setdefault(order_id, int(ns) // 1_000_000)
        ids = [r.order_id for r in runs]
        out["orders"] = {
            "planned": sum(statuses.values()),
            "planStatuses": statuses,
            "ran": len(set(ids)),
            "ranMoreThanOnce": len(ids) - len(set(ids)),
            "jobProcesses": sum(1 for _ in stamps.read_text().splitlines()),
            "expected": expected,
        }
        out["skewMs"] = {
            "toOrderProcessingStarted": percentiles([r.step - r.scheduled_for for r in runs]),
            "toProcessStart": percentiles(
                [process_start[r.order_id] - r.scheduled_for for r in runs if r.order_id in process_start]
            ),
            "toOrderStarted": percentiles([r.started_at - r.scheduled_for for r in runs if r.started_at is not None]),
        }
        by_minute: dict[int, list[float]] = {}
        for r in runs:
            by_minute.setdefault(r.scheduled_for, []).append(r.step - r.scheduled_for)
        out["skewMs"]["toOrderProcessingStartedMaxPerMinute"] = [round(max(v)) for _, v in sorted(by_minute.items())]
        best = max(r["perSecond"] for run in out["machineSpawnRate"].values() for r in run.values())
        out["burstLowerBoundMs"] = {
            "note": "n simultaneous starts at the best spawn rate measured: the last can start no earlier",
            "ms": round(n / best * 1000, 1),
        }
        progress(f"skew: {json.dumps(out['skewMs'])}")
        return out
    finally:
        cockpit.kill()
        topology.stop_all()
        engine.dispose()


# --- main ----------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--figures", default="plan,projection,skew", help="a comma-separated selection")
    parser.add_argument("--databases", default="sqlite,postgres", help="for planning: sqlite, postgres")
    parser.add_argument("--plan-schedules", type=int, default=None, help="10,000 (--quick: 1,000)")
    parser.add_argument("--skew-schedules", type=int, default=None, help="1,000 (--quick: 100)")
    parser.add_argument("--skew-minutes", type=int, default=None, help="10 (--quick: 2)")
    parser.add_argument("--skew-lead", type=float, default=None, help="seconds from the release to the first start")
    parser.add_argument(
        "--dir", type=Path, default=None, help="where the databases and nodes live (default: a temp dir)"
    )
    parser.add_argument("--zones", default=",".join(ZONES), help="the schedules' time zones, in turn (default: five)")
    parser.add_argument(
        "--plan-child", nargs=4, metavar=("DATABASE", "SCHEDULES", "DIR", "ZONES"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.plan_child:
        kind, count, directory, zones = args.plan_child
        print(json.dumps(plan_child(kind, int(count), Path(directory), tuple(zones.split(",")))))
        return
    args.databases = [d for d in args.databases.split(",") if d]
    args.plan_schedules = args.plan_schedules or (1000 if args.quick else 10000)
    args.skew_schedules = args.skew_schedules or (100 if args.quick else 1000)
    args.skew_minutes = args.skew_minutes or (2 if args.quick else 10)
    figures = set(args.figures.split(","))
    report: dict[str, Any] = {"machine": machine(), "quick": args.quick}
    base = args.dir or Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="js7es-daily-plan-bench-", dir=base) as tmp:
        root = Path(tmp)
        if "plan" in figures:
            report["planning"] = planning(args, root)
        if "projection" in figures:
            report["projection"] = projection(args, root)
        if "skew" in figures:
            report["skew"] = skew(args, root)
    report["loadAverageAtEnd"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
