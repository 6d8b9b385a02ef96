"""The Cockpit as a real process following real Controllers over mutual TLS.

- kill -9 of the Cockpit, again and again, during a burst of orders: afterwards every table equals a
  fresh rebuild from the Controller's journal (digest of every table), on SQLite and on PostgreSQL;
- two Controllers projected into one database without mixing;
- `js7es cockpit migrate` / `rebuild` / `digest` from the command line, rebuild from the event stream.

The burst is 2,000 orders (JS7ES_COCKPIT_BURST changes it) with a kill -9 every 0.3-1.5 s while
the orders are added and projected, at least 10 kills and at most 20 (then the Cockpit catches up
unhindered): what is proven is the same at any size (each kill lands at a random moment of the live
projection, mostly inside a batch's transaction or in the catch-up after the restart, and the tables
must equal the rebuild), and the deterministic cases (a crash inside a batch's transaction, a
redelivered or duplicated batch) have their own tests in tests/cockpit/contract.py. 5,000 orders took
up to two minutes per database while the suite ran on two workers, and a crowded machine slows each
restart, which stretched even 2,000 orders to 230 s without the cap. The issue's 10,000 took 30 s
(SQLite) and 67 s (PostgreSQL) on a quiet machine, but 87 s and 218 s on a busy one; it is the slow
variant below (JS7ES_COCKPIT_10K=1), killed until every order is projected.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from js7es.projections.cockpit import schema
from js7es.projections.cockpit.database import (
    count_orders_by_state,
    head_revision,
    migrate,
    open_database,
    sqlite_url,
    stored_event_id,
    table_digests,
)
from js7es.projections.cockpit.projector import Projector
from js7es.projections.cockpit.rebuild import journal_events, rebuild
from tests.cockpit.cockpit_process import COCKPIT_USER, CockpitProcess, controller_event_id
from tests.cockpit.conftest import PG_URL, drop_schema, require_postgres
from tests.e2e.topology import Topology

CONTROLLER_ID = "js7es-test"
BURST_ORDERS = int(os.environ.get("JS7ES_COCKPIT_BURST", "2000"))
MIN_KILLS = 10
MAX_KILLS = 20  # then the Cockpit catches up unhindered (the 10,000 variant kills until the end)
ECHO_JOB = {
    "agentPath": "agent",
    "executable": {"TYPE": "InternalExecutable", "className": "js7es.nodes.subagent.builtin_jobs:echo"},
    "processLimit": 64,
}


def workflow(path: str = "burst", agent: str = "agent") -> dict[str, Any]:
    return {
        "path": path,
        "instructions": [{"TYPE": "Execute.Named", "jobName": "echo"}, {"TYPE": "Execute.Named", "jobName": "echo"}],
        "jobs": {"echo": {**ECHO_JOB, "agentPath": agent}},
    }


class Database:
    """A fresh database of one kind: an SQLite file, or a new schema on the real PostgreSQL."""

    def __init__(self, kind: str, root: Path) -> None:
        self.kind = kind
        self.schemas: list[str] = []
        self.root = root
        self.engines: list[Engine] = []

    def fresh(self, name: str) -> tuple[str, str | None]:
        if self.kind == "sqlite":
            return sqlite_url(self.root / f"{name}.sqlite"), None
        schema_name = f"cockpit_e2e_{os.getpid()}_{secrets.token_hex(4)}"
        self.schemas.append(schema_name)
        return PG_URL, schema_name

    def engine(self, url: str, schema_name: str | None) -> Engine:
        engine = open_database(url, schema_name=schema_name)
        migrate(engine, schema_name=schema_name)
        self.engines.append(engine)
        return engine

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()
        for name in self.schemas:
            drop_schema(name)


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgres":
        require_postgres()
    db = Database(request.param, tmp_path)
    try:
        yield db
    finally:
        db.close()


def cockpit_topology(root: Path, **kwargs: Any) -> Topology:
    # "client" is a registered reader that never releases: the journal keeps every segment, so that the
    # test can rebuild from it at the end.
    return Topology(
        root,
        extra_users={"controller": {"cockpit": COCKPIT_USER}, **kwargs.pop("extra_users", {})},
        journal_readers=("cockpit", "client"),
        **kwargs,
    )


class OrderBurst(threading.Thread):
    def __init__(self, topology: Topology, count: int, *, node: str = "controller", workflow_path: str = "burst"):
        super().__init__(daemon=True)
        self.topology, self.count, self.node, self.workflow_path = topology, count, node, workflow_path
        self.added = 0

    def run(self) -> None:
        with self.topology.client(self.node) as client:
            while self.added < self.count:
                ids = range(self.added, min(self.count, self.added + 100))
                orders = [{"id": f"order-{i}", "workflowPath": self.workflow_path} for i in ids]
                response = client.post("/controller/api/order", json=orders)
                assert response.status_code in (200, 201), response.text
                self.added += len(orders)
                time.sleep(0.05)


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def finished_runs(engine: Engine, controller_id: str) -> int:
    table = schema.order_history
    with engine.connect() as c:
        query = sa.select(sa.func.count()).where(table.c.controller_id == controller_id, table.c.state == "Finished")
        return int(c.execute(query).scalar() or 0)


def caught_up(cockpit_engine: Engine, topology: Topology, controller_id: str, node: str = "controller") -> bool:
    return stored_event_id(cockpit_engine, controller_id) == controller_event_id(topology, node)


def rebuilt_digests(database: Database, journal_dir: Path, controller_id: str, until: int) -> dict[str, str]:
    url, schema_name = database.fresh("rebuilt")
    engine = database.engine(url, schema_name)
    events = (e for e in journal_events(journal_dir) if e.event_id <= until)
    rebuild(Projector(engine), controller_id, events)
    return table_digests(engine, controller_id)


def run_burst_with_kills(tmp_path: Path, database: Database, orders: int, max_kills: int | None = None) -> None:
    topology = cockpit_topology(tmp_path / "nodes")
    topology.start_all()
    url, schema_name = database.fresh("live")
    cockpit = CockpitProcess(topology, tmp_path / "cockpit", {CONTROLLER_ID: "controller"}, url, schema_name)
    try:
        assert topology.deploy(workflow(), version="v1").status_code == 200
        cockpit.start()
        cockpit.wait_ready()
        engine = database.engine(url, schema_name)
        burst = OrderBurst(topology, orders)
        started = time.monotonic()
        burst.start()
        kills = 0
        rng = random.Random(5)
        while kills < MIN_KILLS or (
            (burst.is_alive() or finished_runs(engine, CONTROLLER_ID) < orders)
            and (max_kills is None or kills < max_kills)
        ):
            time.sleep(rng.uniform(0.3, 1.5))
            cockpit.kill()
            kills += 1
            cockpit.start()
            cockpit.wait_ready()
            assert time.monotonic() - started < 600, f"{finished_runs(engine, CONTROLLER_ID)} of {orders} finished"
        burst.join(60)
        wait_until(lambda: finished_runs(engine, CONTROLLER_ID) == orders, 120, "every order projected")
        wait_until(lambda: caught_up(engine, topology, CONTROLLER_ID), 60, "the Cockpit to catch up")
        stored = stored_event_id(engine, CONTROLLER_ID)

        def released() -> bool:  # ReleaseEvents reached the Controller
            return bool(cockpit.overview()["controllers"][CONTROLLER_ID]["releasedEventId"] == stored)

        wait_until(released, 30, "ReleaseEvents")
        cockpit.kill()
        print(f"{orders} orders, {kills} kills in {time.monotonic() - started:.1f} s on {database.kind}")
        assert kills >= MIN_KILLS
        live = table_digests(engine, CONTROLLER_ID)
        rebuilt = rebuilt_digests(database, topology.nodes["controller"].data_dir / "state", CONTROLLER_ID, stored)
        assert live == rebuilt
        assert count_orders_by_state(engine, CONTROLLER_ID) == {"Finished": orders}
        with engine.connect() as c:
            controller = c.execute(sa.select(schema.controllers)).mappings().one()
            steps = c.execute(sa.select(sa.func.count()).select_from(schema.order_steps)).scalar()
            logs = c.execute(sa.select(sa.func.count()).select_from(schema.task_logs)).scalar()
        assert controller["inapplicable_events"] == 0
        assert steps == 2 * orders and logs == 2 * orders
    finally:
        cockpit.kill()
        topology.stop_all()


@pytest.mark.slow
def test_kill_9_during_a_burst_then_every_table_equals_a_rebuild(tmp_path: Path, database: Database) -> None:
    run_burst_with_kills(tmp_path, database, BURST_ORDERS, max_kills=MAX_KILLS)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("JS7ES_COCKPIT_10K") != "1", reason="the issue's 10,000 orders: JS7ES_COCKPIT_10K=1")
def test_kill_9_during_10000_orders(tmp_path: Path, database: Database) -> None:
    run_burst_with_kills(tmp_path, database, 10_000)


@pytest.mark.slow  # six node processes and the Cockpit, 10-30 s: out of the quick tier
def test_two_controllers_in_one_database_and_the_command_line(tmp_path: Path, database: Database) -> None:
    topology = cockpit_topology(
        tmp_path / "nodes",
        agents=("agent", "agent2"),
        extra_users={
            "controller2": {"cockpit": COCKPIT_USER},
            "agent2": {"controller2": {"distinguished-names": ["CN=controller2"], "permissions": ["AgentDirector"]}},
        },
    )
    topology.add_controller("controller2", "second")
    topology.start_all()
    url, schema_name = database.fresh("live")
    cockpit = CockpitProcess(
        topology, tmp_path / "cockpit", {CONTROLLER_ID: "controller", "second": "controller2"}, url, schema_name
    )
    try:
        migrated = cockpit.cli("migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert json.loads(migrated.stdout)["revision"] == head_revision()
        items = topology.agent_items()
        first = [{"TYPE": "AddVersion", "versionId": "v1"}] + [
            {"TYPE": "AddOrChangeSimple", "item": i} for i in items if "agent2" not in json.dumps(i)
        ]
        second = [{"TYPE": "AddVersion", "versionId": "v1"}] + [
            {"TYPE": "AddOrChangeSimple", "item": i} for i in items if "agent2" in json.dumps(i)
        ]
        with topology.client("controller") as c:
            response = c.post("/controller/api/item", json=[*first, {"TYPE": "AddOrChangeSimple", "item": workflow()}])
            assert response.status_code == 200, response.text
        with topology.client("controller2") as c:
            w2 = workflow("other", agent="agent2")
            response = c.post("/controller/api/item", json=[*second, {"TYPE": "AddOrChangeSimple", "item": w2}])
            assert response.status_code == 200, response.text
        cockpit.start()
        cockpit.wait_ready()
        engine = database.engine(url, schema_name)
        bursts = [OrderBurst(topology, 30), OrderBurst(topology, 50, node="controller2", workflow_path="other")]
        for b in bursts:
            b.start()
        wait_until(
            lambda: finished_runs(engine, CONTROLLER_ID) == 30 and finished_runs(engine, "second") == 50,
            60,
            "both Controllers' orders",
        )
        wait_until(lambda: caught_up(engine, topology, CONTROLLER_ID), 30, "the first Controller")
        wait_until(lambda: caught_up(engine, topology, "second", "controller2"), 30, "the second Controller")
        cockpit.kill()
        assert count_orders_by_state(engine, CONTROLLER_ID) == {"Finished": 30}
        assert count_orders_by_state(engine, "second") == {"Finished": 50}
        with engine.connect() as c:
            agents = {tuple(r) for r in c.execute(sa.select(schema.agents.c.controller_id, schema.agents.c.agent_path))}
            workflows = {
                tuple(r) for r in c.execute(sa.select(schema.workflows.c.controller_id, schema.workflows.c.path))
            }
        assert agents == {(CONTROLLER_ID, "agent"), ("second", "agent2")}
        assert workflows == {(CONTROLLER_ID, "burst"), ("second", "other")}
        live = {cid: table_digests(engine, cid) for cid in (CONTROLLER_ID, "second")}
        # rebuild of one Controller from its event stream (from 0) leaves the other's rows alone
        result = cockpit.cli("rebuild", "--controller", "second", "--no-progress")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["events"] > 0
        result = cockpit.cli("rebuild", "--controller", CONTROLLER_ID, "--no-progress", "--journal",
                             str(topology.nodes["controller"].data_dir / "state"))  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert {cid: table_digests(engine, cid) for cid in (CONTROLLER_ID, "second")} == live
        digest = cockpit.cli("digest", "--controller", "second")
        assert json.loads(digest.stdout) == live["second"]
    finally:
        cockpit.kill()
        topology.stop_all()


def test_the_cockpit_refuses_a_bad_configuration(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[cockpit]\ndata-dir = "x"\n[controllers.c]\nuris = "not a list"\n')
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", "cockpit", "migrate", "--config", str(bad)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "controllers.c.uris must be a list" in result.stderr
    assert httpx is not None
