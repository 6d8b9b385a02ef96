"""Two real Cockpit processes on one PostgreSQL database, one Controller (issue 19, Must 1).

- The first one started is active, the second a standby (its overview says so, it follows nothing).
- kill -9 of the active: the standby takes over (the lease expires on the database's clock) and its
  projection goes on: orders added after the takeover are projected.
- The active (now the second) is stopped with SIGSTOP past its lease: the first takes over and projects;
  after SIGCONT the stopped one steps down, and nothing it wrote carries another member's generation: a
  trigger of the test logs, for every write to the projection's controllers row and to the Cockpit store,
  the writing process (PGAPPNAME) and the lease's generation inside the writing transaction.
- A clean stop (SIGTERM) of the active releases the lease: the standby takes over at once.
- The standby forwards a login (a write: the login history) to the active member (forwarding.py; the
  members' URIs are their own addresses, the default); /joc/api/jocs lists both members, which one is
  active and which one answers.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from js7es.nodes.cockpit.api.passwords import hash_password
from tests.cockpit.api.harness import basic
from tests.cockpit.cockpit_process import CockpitProcess
from tests.cockpit.conftest import PG_DSN, require_postgres
from tests.cockpit.joc_schemas import validate
from tests.cockpit.test_cockpit_e2e import (
    CONTROLLER_ID,
    Database,
    cockpit_topology,
    finished_runs,
    wait_until,
    workflow,
)

pytestmark = pytest.mark.slow
LEASE_S = 4.0
ROOT_PASSWORD = "cluster-root-pw"
ROOT_HASH = hash_password(ROOT_PASSWORD)

WRITE_LOG = """
CREATE TABLE write_log (app text, generation bigint, tbl text, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO write_log (app, generation, tbl)
        SELECT current_setting('application_name'), (SELECT generation FROM joc_cluster_lease), TG_TABLE_NAME;
    RETURN NULL;
END $$;
CREATE TRIGGER log_controllers AFTER INSERT OR UPDATE ON controllers FOR EACH STATEMENT EXECUTE FUNCTION log_write();
CREATE TRIGGER log_store AFTER INSERT ON cockpit_store_events FOR EACH STATEMENT EXECUTE FUNCTION log_write();
"""


def member(topology: Any, root: Path, name: str, url: str, schema_name: str | None) -> CockpitProcess:
    cockpit = CockpitProcess(
        topology,
        root / name,
        {CONTROLLER_ID: "controller"},
        url,
        schema_name,
        sections={
            "joc": {"root-password-hash": ROOT_HASH},
            "cluster": {
                "member-id": name,
                "lease": LEASE_S,
                "renew-interval": 1,
                "poll-interval": 0.5,
            },
        },
    )
    cockpit.env = {"PGAPPNAME": f"js7es-{name}"}
    return cockpit


def cluster(cockpit: CockpitProcess) -> dict[str, Any]:
    return dict(cockpit.overview()["cluster"])


def login(cockpit: CockpitProcess) -> Any:
    with cockpit.client() as client:
        return client.post("/joc/api/authentication/login", headers=basic("root", ROOT_PASSWORD))


def jocs(cockpit: CockpitProcess, token: str) -> dict[str, tuple[bool, bool]]:
    """memberId -> (active, current) as /joc/api/jocs says."""
    with cockpit.client() as client:
        answer = client.post("/joc/api/jocs", json={}, headers={"X-Access-Token": token})
    assert answer.status_code == 200, answer.text
    validate(answer.json(), "controller/jocs-schema.json")
    return {j["memberId"]: (j["clusterNodeState"]["_text"] == "active", j["current"]) for j in answer.json()["jocs"]}


def add_orders(topology: Any, first: int, count: int) -> None:
    orders = [{"id": f"order-{i}", "workflowPath": "burst"} for i in range(first, first + count)]
    with topology.client("controller") as client:
        assert client.post("/controller/api/order", json=orders).status_code in (200, 201)


def test_two_cockpits_one_active_kill_9_takeover_and_a_fenced_stale_member(tmp_path: Path) -> None:
    require_postgres()
    database = Database("postgres", tmp_path)
    topology = cockpit_topology(tmp_path / "nodes")
    topology.start_all()
    url, schema_name = database.fresh("live")
    a = member(topology, tmp_path, "a", url, schema_name)
    b = member(topology, tmp_path, "b", url, schema_name)
    try:
        assert topology.deploy(workflow(), version="v1").status_code == 200
        engine = database.engine(url, schema_name)
        a.start()
        a.wait_ready()
        wait_until(lambda: cluster(a)["active"], 30, "a active")
        b.start()
        b.wait_ready()
        wait_until(lambda: cluster(b)["activeMember"] == "a", 30, "b to see a active")
        assert not cluster(b)["active"] and cluster(b)["generation"] is None
        assert b.overview()["controllers"][CONTROLLER_ID]["state"] == "Starting"  # b follows nothing
        forwarded = login(b)  # a login is a write (the login history): the standby forwards it to the active
        assert forwarded.status_code == 200 and forwarded.headers["X-JS7ES-Forwarded-To"] == "a", forwarded.text
        answer = login(a)
        assert answer.status_code == 200, answer.text
        assert jocs(a, answer.headers["X-Access-Token"]) == {"a": (True, True), "b": (False, False)}
        with psycopg.connect(PG_DSN, autocommit=True, options=f"-c search_path={schema_name}") as connection:
            connection.execute(WRITE_LOG)
        add_orders(topology, 0, 10)
        wait_until(lambda: finished_runs(engine, CONTROLLER_ID) == 10, 60, "a to project 10 orders")

        a.kill()  # kill -9 of the active
        killed = time.monotonic()
        wait_until(lambda: cluster(b)["active"], 30, "b to take over")
        takeover_s = time.monotonic() - killed
        assert cluster(b)["generation"] == 2
        add_orders(topology, 10, 10)
        wait_until(lambda: finished_runs(engine, CONTROLLER_ID) == 20, 60, "b to project the orders added after")

        a.start()  # back as the standby
        a.wait_ready()
        wait_until(lambda: cluster(a)["activeMember"] == "b", 30, "a to see b active")
        assert not cluster(a)["active"]

        assert b.process is not None
        b.process.send_signal(signal.SIGSTOP)  # b is stale: paused past its lease
        try:
            wait_until(lambda: cluster(a)["active"], 30, "a to take over from the paused b")
            assert cluster(a)["generation"] == 3
            add_orders(topology, 20, 10)
            wait_until(lambda: finished_runs(engine, CONTROLLER_ID) == 30, 60, "a to project the orders added after")
        finally:
            b.process.send_signal(signal.SIGCONT)
        wait_until(lambda: not cluster(b)["active"] and cluster(b)["activeMember"] == "a", 30, "b to step down")
        add_orders(topology, 30, 10)
        wait_until(lambda: finished_runs(engine, CONTROLLER_ID) == 40, 60, "a to go on projecting")
        with psycopg.connect(PG_DSN, autocommit=True, options=f"-c search_path={schema_name}") as connection:
            writes = connection.execute("SELECT app, generation, count(*) FROM write_log GROUP BY 1, 2").fetchall()
        by_member = {(app, generation) for app, generation, _ in writes}
        print(f"takeover after kill -9: {takeover_s:.1f} s (lease {LEASE_S} s); writes {sorted(writes)}")
        print("b after SIGCONT:", [line for line in b.log().splitlines() if "Cockpit cluster" in line][-3:])
        assert {("js7es-a", 1), ("js7es-b", 2), ("js7es-a", 3)} <= by_member  # each projected while active
        assert by_member <= {("js7es-a", 1), ("js7es-b", 2), ("js7es-a", 3)}  # nobody wrote out of its generation

        a.kill(signal.SIGTERM)  # a clean stop releases the lease: b takes over without waiting for it to expire
        assert a.process is not None and a.process.returncode == -signal.SIGTERM, a.log()  # re-raised after the stop
        assert "released the lease (generation 3)" in a.log()
        stopped = time.monotonic()
        try:
            wait_until(lambda: cluster(b)["active"], 30, "b to take over from the stopped a")
        except AssertionError as e:  # seen once in a loaded full run: what did b do meanwhile?
            raise AssertionError(f"{e}\n---- b's log:\n{b.log()[-6000:]}") from None
        print(f"takeover after a clean stop: {time.monotonic() - stopped:.1f} s")
        assert cluster(b)["generation"] == 4
        add_orders(topology, 40, 10)
        wait_until(lambda: finished_runs(engine, CONTROLLER_ID) == 50, 60, "b to project after the handover")
    finally:
        for cockpit in (a, b):
            if cockpit.process is not None and cockpit.process.poll() is None:
                cockpit.process.send_signal(signal.SIGCONT)
            cockpit.kill()
        topology.stop_all()
        database.close()
