"""The Cockpit queries' latency on SQLite and PostgreSQL: a page of 100 out of many rows.

    .venv/bin/python bench/cockpit_queries_bench.py                      # 100,000 orders, 1,000,000 history rows
    .venv/bin/python bench/cockpit_queries_bench.py --orders 10000 --history 50000 --runs 50   # a quick check

Fills the tables with bulk inserts (one Controller, 140 workflows deployed through the inventory in 20
folders: their paths in `deployed_objects`, which every query LEFT JOINs), then times each query
`--runs` times and prints one JSON document: p50/p99 ms per query and backend, beside the machine's
own limit on that backend (`SELECT 1` on the same connection), plus the query plans of the paging
queries (the statements each sends, as it sends them). PostgreSQL: JS7ES_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/test),
in a schema of its own, dropped afterwards. The target (ARCHITECTURE) is p99 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from js7es.projections.cockpit import schema
from js7es.projections.cockpit.database import migrate, open_database, sqlite_url
from js7es.projections.cockpit.queries import history, orders

CID = "bench"
T0 = 1_700_000_000_000
STATES = ("Fresh", "Ready", "Processing", "Finished", "Failed", "Prompting")
WORKFLOWS = 140  # W0 … W139, Wk deployed at /folder<k % 20>/Wk


def fill(engine: Engine, n_orders: int, n_history: int) -> None:
    with engine.begin() as c:
        c.execute(
            schema.controllers.insert(),
            [{"controller_id": CID, "event_id": 1, "event_count": 1, "inapplicable_events": 0}],
        )
        c.execute(
            schema.deployed_objects.insert(),
            [
                {
                    "controller_id": CID,
                    "object_type": "WORKFLOW",
                    "name": f"W{k}",
                    "path": f"/folder{k % 20}/W{k}",
                    "folder": f"/folder{k % 20}",
                    "commit_id": "v1",
                    "deployed_at": T0,
                    "store_notification_id": k + 1,
                }
                for k in range(WORKFLOWS)
            ],
        )
        for start in range(0, n_orders, 10_000):
            c.execute(
                schema.orders.insert(),
                [
                    {
                        "controller_id": CID,
                        "order_id": f"order-{i:08}",
                        "workflow_path": f"W{i % WORKFLOWS}",
                        "workflow_version": "v1",
                        "state": STATES[i % len(STATES)],
                        "is_suspended": i % 50 == 0,
                        "position": "[0]",
                        "arguments": '{"n":1}',
                        "scheduled_for": T0 + i * 1000 if i % 3 else None,
                        "agent_path": "AGENT",
                        "parent_order_id": None,
                        "run_event_id": i,
                        "step_event_id": None,
                        "order_json": "{}",
                        "updated_at": T0,
                        "last_event_id": i,
                    }
                    for i in range(start, min(start + 10_000, n_orders))
                ],
            )
        for start in range(0, n_history, 20_000):
            c.execute(
                schema.order_history.insert(),
                [
                    {
                        "controller_id": CID,
                        "order_id": f"run-{i:08}",
                        "run_event_id": i,
                        "parent_order_id": None if i % 10 else f"run-{i - 1:08}",
                        "workflow_path": f"W{i % WORKFLOWS}",
                        "workflow_version": "v1",
                        "arguments": "{}",
                        "added_at": T0 + i * 100,
                        "scheduled_for": None,
                        "started_at": T0 + i * 100,
                        "ended_at": T0 + i * 100 + 50,
                        "state": "Failed" if i % 13 == 0 else "Finished",
                        "end_position": "[1]",
                        "error_message": None,
                    }
                    for i in range(start, min(start + 20_000, n_history))
                ],
            )
    with engine.begin() as c:
        c.exec_driver_sql("ANALYZE")


def timed(c: Connection, runs: int, call: Callable[[Connection], Any]) -> dict[str, float]:
    call(c)  # warm up
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call(c)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "p50Ms": round(statistics.median(samples), 2),
        "p99Ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 2),
    }


def plan(c: Connection, call: Callable[[Connection], Any]) -> list[list[str]]:
    """The plans of the paging statements `call` sends (those joining deployed_objects, not its lookup of
    the folders' workflows)."""
    sent: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        sent.append((statement, parameters))

    sa.event.listen(c.engine, "before_cursor_execute", grab)
    try:
        call(c)
    finally:
        sa.event.remove(c.engine, "before_cursor_execute", grab)
    prefix = "EXPLAIN QUERY PLAN " if c.dialect.name == "sqlite" else "EXPLAIN "
    return [
        [" ".join(str(x) for x in row) for row in c.exec_driver_sql(prefix + statement, parameters)]
        for statement, parameters in sent
        if "JOIN" in statement
    ]


def measure(engine: Engine, runs: int) -> dict[str, Any]:
    now = T0 + 50_000_000
    folders = [("/folder3", True)]
    queries: dict[str, Callable[[Connection], Any]] = {
        "ordersPage100": lambda c: orders.list_orders(c, CID, now_ms=now, limit=100),
        "ordersPage100Folder": lambda c: orders.list_orders(c, CID, now_ms=now, limit=100, folders=folders),
        "ordersPage100StateFailed": lambda c: orders.list_orders(c, CID, now_ms=now, limit=100, states=["FAILED"]),
        "ordersSnapshotCounts": lambda c: orders.orders_snapshot(c, CID, now_ms=now),
        "historyPage100": lambda c: history.orders_history(c, now_ms=now, controller_ids=[CID], limit=100),
        "historyPage100AllControllers": lambda c: history.orders_history(c, now_ms=now, limit=100),
        "historyPage100Folder": lambda c: history.orders_history(
            c, now_ms=now, controller_ids=[CID], limit=100, folders=folders
        ),
        "historyPage100Failed": lambda c: history.orders_history(
            c, now_ms=now, controller_ids=[CID], limit=100, history_states=["FAILED"]
        ),
    }
    out: dict[str, Any] = {}
    with engine.connect() as c:
        out["machineLimitSelect1"] = timed(c, runs, lambda c: c.exec_driver_sql("SELECT 1").scalar())
        for name, call in queries.items():
            out[name] = timed(c, runs, call)
        out["plans"] = {
            name: plan(c, queries[name])
            for name in ("ordersPage100", "ordersPage100Folder", "historyPage100", "historyPage100Folder")
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    report: dict[str, Any] = {"orders": args.orders, "historyRows": args.history, "runs": args.runs}
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(sqlite_url(Path(tmp) / "bench.sqlite"))
        migrate(engine)
        start = time.perf_counter()
        fill(engine, args.orders, args.history)
        print(f"sqlite filled in {time.perf_counter() - start:.1f} s", file=sys.stderr)
        report["sqlite"] = measure(engine, args.runs)
        engine.dispose()
    if not args.no_postgres:
        url = os.environ.get("JS7ES_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
        name = f"queries_bench_{secrets.token_hex(4)}"
        engine = open_database(url, schema_name=name)
        try:
            migrate(engine, schema_name=name)
            start = time.perf_counter()
            fill(engine, args.orders, args.history)
            print(f"postgresql filled in {time.perf_counter() - start:.1f} s", file=sys.stderr)
            report["postgresql"] = measure(engine, args.runs)
        finally:
            engine.dispose()
            with open_database(url).begin() as c:
                c.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    json.dump(report, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
