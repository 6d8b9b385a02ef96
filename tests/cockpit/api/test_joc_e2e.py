"""The JOC API of a real `js7es cockpit` process over a real Controller and Agent: orders added through
the Cockpit run, every command is audited before it leaves and its outcome after — also when the
Controller refuses, is down, or the Cockpit is killed -9 between the audit entry and the answer."""

from __future__ import annotations

import base64
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from js7es.nodes.cockpit.api.passwords import hash_password
from js7es.nodes.tls import client_ssl_context
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.database import open_database, sqlite_url
from tests.cockpit.cockpit_process import CockpitProcess
from tests.cockpit.test_cockpit_e2e import cockpit_topology, finished_runs, wait_until, workflow
from tests.e2e.topology import HOST, Topology

pytestmark = pytest.mark.slow
CONTROLLER_ID = "js7es-test"
PASSWORD = "root-secret"
SLOW = {
    "path": "slow",
    "instructions": [{"TYPE": "Execute.Anonymous", "job": {
        "agentPath": "agent", "executable": {"TYPE": "ShellScriptExecutable", "script": "sleep 60"}
    }}],
}  # fmt: skip
ASK = {"path": "ask", "instructions": [{"TYPE": "Prompt", "question": "'Go on?'"}]}


@dataclass
class Setup:
    topology: Topology
    cockpit: CockpitProcess
    engine: Engine

    def client(self) -> httpx.Client:
        verify = client_ssl_context(self.topology.client_tls)
        return httpx.Client(base_url=f"https://{HOST}:{self.cockpit.port}/joc/api", verify=verify, timeout=30)

    def login(self, client: httpx.Client) -> None:
        basic = base64.b64encode(f"root:{PASSWORD}".encode()).decode()
        r = client.post("/authentication/login", headers={"Authorization": f"Basic {basic}"})
        assert r.status_code == 200, r.text
        client.headers["X-Access-Token"] = r.headers["X-Access-Token"]

    def audit(self, request: str = "/joc/api/orders/add") -> list[dict[str, Any]]:
        table = schema.audit_log
        with self.engine.connect() as c:
            rows = c.execute(sa.select(table).where(table.c.request == request).order_by(table.c.id)).mappings()
            return [dict(r) for r in rows]

    def restart(self, **env: str) -> None:
        self.cockpit.kill()
        self.cockpit.env = dict(env)
        self.cockpit.start()
        self.cockpit.wait_ready()


@contextlib.contextmanager
def running_setup(
    tmp_path: Path, workflows: list[dict[str, Any]], sections: dict[str, dict[str, Any]] | None = None
) -> Iterator[Setup]:
    """A Controller and an Agent with `workflows` deployed, and a Cockpit (root's password PASSWORD, more
    configuration `sections`) that has projected them."""
    topology = cockpit_topology(tmp_path / "nodes", controller_id=CONTROLLER_ID)
    cockpit = CockpitProcess(
        topology,
        tmp_path / "cockpit",
        {CONTROLLER_ID: "controller"},
        sections={"joc": {"root-password-hash": hash_password(PASSWORD)}, **(sections or {})},
    )
    engine = open_database(sqlite_url(tmp_path / "cockpit" / "cockpit.sqlite"))
    try:
        topology.start_all()
        assert topology.deploy(*workflows, version="v1").status_code == 200
        cockpit.start()
        cockpit.wait_ready()
        expected = sorted(w["path"] for w in workflows)
        wait_until(lambda: sorted(_projected_workflows(engine)) == expected, 30, "the workflows in the projection")
        yield Setup(topology, cockpit, engine)
    finally:
        cockpit.kill()
        topology.stop_all()
        engine.dispose()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    with running_setup(tmp_path, [workflow(), SLOW, ASK]) as running:
        yield running


def _projected_workflows(engine: Engine) -> list[str]:
    try:
        with engine.connect() as c:
            return [r.path for r in c.execute(sa.select(schema.workflows.c.path))]
    except sa.exc.OperationalError:  # the Cockpit has not yet migrated its database
        return []


def add(client: httpx.Client, **order: Any) -> httpx.Response:
    body = {
        "controllerId": CONTROLLER_ID,
        "orders": [{"workflowPath": "/burst", **order}],
        "auditLog": {"comment": "t"},
    }
    return client.post("/orders/add", json=body)


def wait_audited(setup: Setup, count: int, outcome_ready: bool = True) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while True:
        rows = setup.audit()
        if len(rows) >= count and (not outcome_ready or all(r["outcome"] != "Pending" for r in rows)):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"audit rows: {rows}")
        time.sleep(0.1)


def test_orders_added_through_the_cockpit_run_and_are_audited(setup: Setup) -> None:
    with setup.client() as client:
        setup.login(client)
        body = {
            "controllerId": CONTROLLER_ID,
            "orders": [{"workflowPath": "/burst", "orderName": f"o{i}"} for i in range(3)],
            "auditLog": {"comment": "three orders", "ticketLink": "https://tickets/1", "timeSpent": 2},
        }
        r = client.post("/orders/add", json=body)
        assert r.status_code == 200, r.text
        ids = r.json()["orderIds"]
        assert len(ids) == 3 and all(i.startswith("#") and "#T" in i for i in ids)
        assert [i.rsplit("-", 1)[1] for i in ids] == ["o0", "o1", "o2"]
        wait_until(lambda: finished_runs(setup.engine, CONTROLLER_ID) == 3, 60, "three orders finished")
    [row] = wait_audited(setup, 1)
    assert row["account"] == "root" and row["category"] == "CONTROLLER" and row["controller_id"] == CONTROLLER_ID
    assert row["comment"] == "three orders" and row["ticket_link"] == "https://tickets/1"
    assert row["outcome"] == "Accepted"


def test_a_refusal_by_the_controller_is_420_with_its_problem_and_audited(setup: Setup) -> None:
    with setup.client() as client:
        setup.login(client)
        r = add(client, startPosition=[99])
        assert r.status_code == 420, r.text
        assert r.json()["error"]["code"] == "JOC-420"
        # A label as startPosition and JOC's endPositions (JS7's stopPositions) reach the Controller,
        # which resolves the labels: an unknown one is its UnknownKey problem
        for order in ({"startPosition": "NO-SUCH-LABEL"}, {"endPositions": [[0], "NO-SUCH-LABEL"]}):
            r = add(client, **order)
            assert r.status_code == 420 and "NO-SUCH-LABEL" in r.json()["error"]["message"], r.text
    rows = wait_audited(setup, 3)
    assert all(row["outcome"].startswith("Refused: ") for row in rows)
    assert sum("UnknownKey" in row["outcome"] for row in rows) == 2, rows


def test_a_controller_that_is_down_fails_the_request_cleanly_and_the_audit_says_so(setup: Setup) -> None:
    setup.topology.kill("controller")
    with setup.client() as client:
        setup.login(client)
        r = add(client)
        assert r.status_code == 420, r.text
        assert r.json()["error"]["code"] == "JOC-503"
    [row] = wait_audited(setup, 1)
    assert row["outcome"].startswith("Refused: ControllerUnavailable")


@pytest.mark.parametrize(("crash_at", "reaches_controller"), [
    ("cockpit-command-audited", False),
    ("cockpit-command-answered", True),
])  # fmt: skip
def test_kill_9_between_the_audit_entry_and_the_answer_leaves_an_entry_of_unknown_outcome(
    setup: Setup, crash_at: str, reaches_controller: bool
) -> None:
    setup.restart(JS7ES_TEST_CRASH_AT=crash_at)
    with setup.client() as client:
        setup.login(client)
        with pytest.raises(httpx.HTTPError):
            add(client, orderName="crash")
    assert setup.cockpit.process is not None
    setup.cockpit.process.wait(timeout=10)
    setup.restart()
    [row] = wait_audited(setup, 1)
    assert row["outcome"] == "Unknown"
    added = [
        e for e in setup.topology.events() if e["TYPE"] == "OrderAdded" and str(e.get("Key", "")).endswith("-crash")
    ]
    assert len(added) == (1 if reaches_controller else 0)
    if reaches_controller:
        wait_until(lambda: finished_runs(setup.engine, CONTROLLER_ID) == 1, 60, "the order sent before the crash")


def order_state(setup: Setup, order_id: str) -> tuple[str, bool] | None:
    table = schema.orders
    with setup.engine.connect() as c:
        row = c.execute(sa.select(table.c.state, table.c.is_suspended).where(table.c.order_id == order_id)).first()
    return None if row is None else (row.state, row.is_suspended)


def history_state(setup: Setup, order_id: str) -> str | None:
    table = schema.order_history
    with setup.engine.connect() as c:
        return c.execute(sa.select(table.c.state).where(table.c.order_id == order_id)).scalar()


def test_suspend_resume_cancel_and_confirm_through_the_cockpit(setup: Setup) -> None:
    """Each a JS7 command at the Controller; the projection shows what it did."""
    body = {"controllerId": CONTROLLER_ID, "auditLog": {"comment": "operator"}}
    with setup.client() as client:
        setup.login(client)
        r = client.post("/orders/add", json={**body, "orders": [{"workflowPath": "slow"}, {"workflowPath": "ask"}]})
        assert r.status_code == 200, r.text
        slow, ask = r.json()["orderIds"]
        wait_until(lambda: order_state(setup, slow) == ("Processing", False), 30, "the slow job running")
        r = client.post("/orders/suspend", json={**body, "orderIds": [slow], "kill": True})
        assert r.status_code == 200, r.text
        wait_until(lambda: (order_state(setup, slow) or ("", False))[1], 30, "the slow order suspended")
        r = client.post("/orders/resume", json={**body, "orderIds": [slow]})
        assert r.status_code == 200, r.text
        wait_until(lambda: order_state(setup, slow) == ("Processing", False), 30, "the job running again")
        r = client.post("/orders/cancel", json={**body, "orderIds": [slow], "kill": True})
        assert r.status_code == 200, r.text
        wait_until(lambda: history_state(setup, slow) == "Cancelled", 30, "the slow order cancelled")
        wait_until(lambda: order_state(setup, ask) == ("Prompting", False), 30, "the prompt")
        r = client.post("/orders/confirm", json={**body, "orderIds": [ask]})
        assert r.status_code == 200, r.text
        wait_until(lambda: history_state(setup, ask) == "Finished", 30, "the answered order finished")
        # an order outside the selection's states is left alone: nothing to cancel is JOC-002
        r = client.post("/orders/cancel", json={**body, "orderIds": ["no-such-order"]})
        assert r.status_code == 420 and r.json()["error"]["code"] == "JOC-002"
    rows = wait_audited(setup, 1)

    def requests() -> list[str]:
        paths = ("suspend", "resume", "cancel", "confirm")
        return [r["request"] for path in paths for r in setup.audit(f"/joc/api/orders/{path}")]

    # the audit projection follows the store: the last entries may come a moment after the last answer
    wait_until(lambda: len(requests()) == 4, 20, "four audit entries")
    assert len(requests()) == 4 and rows[0]["outcome"] == "Accepted"
