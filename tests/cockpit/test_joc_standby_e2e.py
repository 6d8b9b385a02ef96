"""Two real Cockpit processes on one PostgreSQL database, one Controller and Agent (issue 19, Must 2).

- The standby serves reads from the shared database and forwards every change to the active member,
  checked for every endpoint of the API's table (so that a new endpoint cannot slip): a change answers
  with ``X-JS7ES-Forwarded-To: a``, a read is answered by the standby itself (never the standby problem).
  An order added through the standby runs and is projected.
- Sessions are in the database: a token from a login on the standby (forwarded to the active) works on
  both members, and after a kill -9 of the active on the member that took over; a logout on one ends it
  on the other.
- switch_member (sent to the standby, forwarded): activity moves to the named member, the old active
  writes nothing after (a trigger logs every write with its writer and the lease's generation), the
  switch is audited once; /jocs shows the new state.
- (slow) kill -9 of the active Cockpit during a burst of orders, JS7ES_COCKPIT_KILLS times (10): the
  other takes over within 10 s each time; then the projection equals a rebuild from the Controller's
  journal, every order has one history row, and every change sent through the Cockpits during the burst
  (an audited /orders/add) has one audit entry.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa

from js7es.nodes.cockpit.api import families
from js7es.nodes.cockpit.api.endpoint import API, PREFIX
from js7es.nodes.cockpit.api.passwords import hash_password
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.database import stored_event_id, table_digests
from tests.cockpit.api.harness import basic
from tests.cockpit.cockpit_process import CockpitProcess
from tests.cockpit.conftest import PG_DSN, require_postgres
from tests.cockpit.joc_schemas import validate
from tests.cockpit.test_cockpit_e2e import (
    CONTROLLER_ID,
    Database,
    caught_up,
    cockpit_topology,
    finished_runs,
    rebuilt_digests,
    wait_until,
    workflow,
)
from tests.cockpit.test_joc_cluster_e2e import WRITE_LOG

LEASE_S = 4.0
ROOT_PASSWORD = "standby-root-pw"
ROOT_HASH = hash_password(ROOT_PASSWORD)
FORWARDED_TO = "X-JS7ES-Forwarded-To"
KILLS = int(os.environ.get("JS7ES_COCKPIT_KILLS", "10"))


def member(
    topology: Any,
    root: Path,
    name: str,
    url: str,
    schema_name: str | None,
    *,
    lease_s: float = LEASE_S,
    renew_s: float = 1.0,
    poll_s: float = 0.5,
) -> CockpitProcess:
    """A member whose URI is its own address (the default): the other forwards its changes there."""
    cockpit = CockpitProcess(
        topology,
        root / name,
        {CONTROLLER_ID: "controller"},
        url,
        schema_name,
        sections={
            "joc": {"root-password-hash": ROOT_HASH, "events-wait": 1},
            "cluster": {"member-id": name, "lease": lease_s, "renew-interval": renew_s, "poll-interval": poll_s},
        },
    )
    cockpit.env = {"PGAPPNAME": f"js7es-{name}"}
    return cockpit


def cluster(cockpit: CockpitProcess) -> dict[str, Any]:
    return dict(cockpit.overview()["cluster"])


def post(cockpit: CockpitProcess, path: str, body: Any = None, *, token: str | None = None) -> httpx.Response:
    with cockpit.client() as client:
        client.timeout = httpx.Timeout(60.0)
        headers = {"X-Access-Token": token} if token else {}
        return client.post(PREFIX + path, json={} if body is None else body, headers=headers)


def login(cockpit: CockpitProcess) -> httpx.Response:
    with cockpit.client() as client:
        return client.post(PREFIX + "/authentication/login", headers=basic("root", ROOT_PASSWORD))


def jocs(cockpit: CockpitProcess, token: str) -> dict[str, tuple[bool, bool]]:
    """memberId -> (active, current) as /joc/api/jocs says."""
    answer = post(cockpit, "/jocs", token=token)
    assert answer.status_code == 200, answer.text
    validate(answer.json(), "controller/jocs-schema.json")
    return {j["memberId"]: (j["clusterNodeState"]["_text"] == "active", j["current"]) for j in answer.json()["jocs"]}


def ui_page(cockpit: CockpitProcess, token: str) -> str:
    with cockpit.client() as client:
        client.cookies.set("js7es_session", token)
        page = client.get("/")
    assert page.status_code == 200, page.text
    return page.text


def csrf_of(page: str) -> str:
    found = re.search(r'name="_csrf" value="([0-9a-f]+)"', page)
    assert found is not None, page[:2000]
    return found.group(1)


def add_order(cockpit: CockpitProcess, token: str, name: str) -> httpx.Response:
    body = {
        "controllerId": CONTROLLER_ID,
        "orders": [{"workflowPath": "burst", "orderName": name}],
        "auditLog": {"comment": name},
    }
    return post(cockpit, "/orders/add", body, token=token)


class Pair:
    """A Controller with its Agent, and two Cockpit members a (started first: active) and b."""

    def __init__(self, tmp_path: Path, **timing: float) -> None:
        require_postgres()
        self.database = Database("postgres", tmp_path)
        self.topology = cockpit_topology(tmp_path / "nodes")
        self.url, self.schema_name = self.database.fresh("live")
        self.a = member(self.topology, tmp_path, "a", self.url, self.schema_name, **timing)
        self.b = member(self.topology, tmp_path, "b", self.url, self.schema_name, **timing)

    def start(self) -> None:
        self.topology.start_all()
        assert self.topology.deploy(workflow(), version="v1").status_code == 200
        self.engine = self.database.engine(self.url, self.schema_name)
        self.a.start()
        self.a.wait_ready()
        wait_until(lambda: cluster(self.a)["active"], 30, "a active")
        self.b.start()
        self.b.wait_ready()
        wait_until(lambda: cluster(self.b)["activeMember"] == "a", 30, "b to see a active")

    def sql(self, statement: str) -> list[Any]:
        with psycopg.connect(PG_DSN, autocommit=True, options=f"-c search_path={self.schema_name}") as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def close(self) -> None:
        for cockpit in (self.a, self.b):
            if cockpit.process is not None and cockpit.process.poll() is None:
                cockpit.process.send_signal(signal.SIGCONT)
            cockpit.kill()
        self.topology.stop_all()
        self.database.close()


def test_the_standby_reads_itself_and_forwards_every_change_sessions_survive_a_kill_9(tmp_path: Path) -> None:
    pair = Pair(tmp_path)
    a, b = pair.a, pair.b
    try:
        pair.start()
        answer = login(b)  # a change (the login history): forwarded to a, which opens the session
        assert answer.status_code == 200, answer.text
        assert answer.headers[FORWARDED_TO] == "a"
        token = answer.headers["X-Access-Token"]
        assert answer.json()["accessToken"] == token
        for cockpit in (a, b):  # one session, in the database: valid on both
            assert post(cockpit, "/joc/version", token=token).status_code == 200
        assert jocs(b, token) == {"a": (True, False), "b": (False, True)}
        pages = [ui_page(cockpit, token) for cockpit in (a, b)]  # the web UI with the session's cookie
        assert all('<span class="account">root</span>' in page for page in pages)
        assert csrf_of(pages[0]) == csrf_of(pages[1])  # a form from one member posts to the other

        families.load()
        checked: dict[bool, int] = {True: 0, False: 0}
        for endpoint in API.endpoints.values():
            if endpoint.path == "/authentication/logout":
                continue  # below: it would end the session
            with b.client() as client:
                client.timeout = httpx.Timeout(60.0)
                headers = {"X-Access-Token": token}
                if endpoint.method == "GET":
                    r = client.get(endpoint.url, headers=headers)
                else:
                    r = client.post(endpoint.url, json={}, headers=headers)
            where = f"{endpoint.method} {endpoint.path}: {r.status_code} {r.text[:300]}"
            assert "JocClusterStandby" not in r.text, where
            if endpoint.changes:
                assert r.headers.get(FORWARDED_TO) == "a", where
            else:
                assert FORWARDED_TO not in r.headers, where
                assert r.status_code < 500, where
            checked[endpoint.changes] += 1
        print(f"changes forwarded: {checked[True]}, reads served by the standby: {checked[False]}")
        assert checked[True] >= 40 and checked[False] >= 40

        added = add_order(b, token, "via-standby")  # a real change through the standby
        assert added.status_code == 200, added.text
        assert added.headers[FORWARDED_TO] == "a"
        wait_until(lambda: finished_runs(pair.engine, CONTROLLER_ID) == 1, 60, "the order to run and be projected")

        a.kill()  # kill -9 of the active: b takes over, the session goes on
        wait_until(lambda: cluster(b)["active"], 30, "b to take over")
        assert post(b, "/joc/version", token=token).status_code == 200
        added = add_order(b, token, "after-takeover")
        assert added.status_code == 200, added.text
        assert FORWARDED_TO not in added.headers  # b is active itself now
        wait_until(lambda: finished_runs(pair.engine, CONTROLLER_ID) == 2, 60, "b to project the second order")

        a.start()  # back as the standby: the token works there too, and a logout there ends it everywhere
        a.wait_ready()
        wait_until(lambda: cluster(a)["activeMember"] == "b", 30, "a to see b active")
        assert post(a, "/joc/version", token=token).status_code == 200
        assert post(a, "/authentication/logout", token=token).status_code == 200
        for cockpit in (a, b):
            assert post(cockpit, "/joc/version", token=token).status_code == 401
        stored = pair.sql("SELECT id FROM joc_sessions")
        assert all(len(row[0]) == 64 and row[0] != token for row in stored)  # hashes, never the token
    finally:
        pair.close()


def test_switch_member_moves_activity_and_the_old_active_writes_nothing_after(tmp_path: Path) -> None:
    pair = Pair(tmp_path)
    a, b = pair.a, pair.b
    try:
        pair.start()
        pair.sql(WRITE_LOG)
        token = login(a).headers["X-Access-Token"]
        assert add_order(a, token, "before-switch").status_code == 200
        wait_until(lambda: finished_runs(pair.engine, CONTROLLER_ID) == 1, 60, "a to project the first order")

        refused = post(b, "/joc/cluster/switch_member", {"memberId": "nobody"}, token=token)
        assert refused.status_code == 420 and "unknown member 'nobody'" in refused.text
        switched = post(
            b, "/joc/cluster/switch_member", {"memberId": "b", "auditLog": {"comment": "switch-b"}}, token=token
        )
        assert switched.status_code == 200, switched.text
        assert switched.headers[FORWARDED_TO] == "a"
        started = time.monotonic()
        wait_until(lambda: cluster(b)["active"], 30, "b to become active")
        print(f"switch-over: b active {time.monotonic() - started:.1f} s after the answer")
        wait_until(lambda: cluster(a)["activeMember"] == "b", 10, "a to see b active")
        assert not cluster(a)["active"]
        assert cluster(b)["generation"] == 2
        assert jocs(a, token) == {"a": (False, True), "b": (True, False)}
        assert "handed the lease over to 'b'" in a.log()

        added = add_order(a, token, "after-switch")  # a forwards to b now
        assert added.status_code == 200 and added.headers[FORWARDED_TO] == "b", added.text
        wait_until(lambda: finished_runs(pair.engine, CONTROLLER_ID) == 2, 60, "b to project the second order")
        time.sleep(2 * LEASE_S)  # a has had every chance to write, had it kept anything running
        writes = {(app, generation) for app, generation in pair.sql("SELECT DISTINCT app, generation FROM write_log")}
        assert writes == {("js7es-a", 1), ("js7es-b", 2)}, writes
        wait_until(
            lambda: pair.sql("SELECT count(*) FROM audit_log WHERE comment = 'switch-b'") == [(1,)],
            30,
            "the switch's audit entry",
        )
    finally:
        pair.close()


class ControllerOrders(threading.Thread):
    """Orders added at the Controller (10 every 0.2 s) until stopped: what the projection follows."""

    def __init__(self, pair: Pair) -> None:
        super().__init__(daemon=True)
        self.pair = pair
        self.added = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with self.pair.topology.client("controller") as client:
            while not self.stop.is_set():
                orders = [{"id": f"order-{i}", "workflowPath": "burst"} for i in range(self.added, self.added + 10)]
                response = client.post("/controller/api/order", json=orders)
                assert response.status_code in (200, 201), response.text
                self.added += len(orders)
                time.sleep(0.2)


class CockpitChanges(threading.Thread):
    """Audited changes sent through the Cockpits (/orders/add via whichever member answers) during a burst:
    the names of those answered 200 (each must have one audit entry), and of those in doubt."""

    def __init__(self, pair: Pair, token: str) -> None:
        super().__init__(daemon=True)
        self.pair, self.token = pair, token
        self.accepted: list[str] = []
        self.sent: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            for cockpit in (self.pair.a, self.pair.b):
                name = f"cockpit-{i}"
                i += 1
                self.sent.append(name)
                try:
                    if add_order(cockpit, self.token, name).status_code == 200:
                        self.accepted.append(name)
                except httpx.HTTPError:
                    pass  # the member was killed: in doubt
            time.sleep(0.2)


@pytest.mark.slow
def test_kill_9_of_the_active_cockpit_during_a_burst_10_times(tmp_path: Path) -> None:
    pair = Pair(tmp_path)
    try:
        pair.start()
        engine = pair.engine
        token = login(pair.a).headers["X-Access-Token"]
        burst = ControllerOrders(pair)
        changes = CockpitChanges(pair, token)
        burst.start()
        changes.start()
        takeovers = []
        for kill in range(KILLS):
            time.sleep(1.5)
            active, standby = (pair.a, pair.b) if cluster(pair.a)["active"] else (pair.b, pair.a)
            generation = cluster(active)["generation"]
            active.kill()
            killed = time.monotonic()
            wait_until(lambda s=standby: cluster(s)["active"], 10, f"takeover {kill + 1} within 10 s")  # the issue's
            takeovers.append(time.monotonic() - killed)
            assert cluster(standby)["generation"] == generation + 1
            assert post(standby, "/joc/version", token=token).status_code == 200  # the session goes on
            active.start()
            active.wait_ready()
        burst.stop.set()
        changes.stop.set()
        burst.join(60)
        changes.join(120)
        orders = burst.added + len(changes.accepted)
        print(f"{KILLS} takeovers: {', '.join(f'{t:.1f}' for t in takeovers)} s; {orders} orders at least")

        def settled() -> bool:
            return caught_up(engine, pair.topology, CONTROLLER_ID) and finished_runs(engine, CONTROLLER_ID) >= orders

        wait_until(settled, 300, "every order run and projected")

        def audited() -> dict[str, int]:  # projected from the Cockpit's store by the active's own follower
            return dict(pair.sql("SELECT comment, count(*) FROM audit_log WHERE comment LIKE 'cockpit-%' GROUP BY 1"))

        wait_until(lambda: set(changes.accepted) <= set(audited()), 60, "every accepted change audited")
        stored = stored_event_id(engine, CONTROLLER_ID)
        live = table_digests(engine, CONTROLLER_ID)
        pair.a.kill(signal.SIGTERM)
        pair.b.kill(signal.SIGTERM)
        journal = pair.topology.nodes["controller"].data_dir / "state"
        assert live == rebuilt_digests(pair.database, journal, CONTROLLER_ID, stored)
        history = schema.order_history
        with engine.connect() as c:
            per_order = c.execute(
                sa.select(history.c.order_id, sa.func.count()).where(history.c.controller_id == CONTROLLER_ID)
                .group_by(history.c.order_id)
            ).all()  # fmt: skip
        assert per_order and all(n == 1 for _, n in per_order)
        assert len(per_order) >= orders
        assert changes.accepted  # changes went through the Cockpits during the burst
        entries = audited()
        assert all(entries.get(name) == 1 for name in changes.accepted), entries
        assert all(n == 1 for n in entries.values()) and set(entries) <= set(changes.sent)
    finally:
        pair.close()
