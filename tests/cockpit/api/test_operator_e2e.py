"""The operator's calls of the JOC API on a real `js7es cockpit` process over a real Controller and Agent:
a LOCK, a NOTICEBOARD and the workflows using them stored and deployed through the inventory (a workflow
whose lock is not deployed is refused as a whole), then each call proven by what the engine does:
/locks and /lock show the holder and the waiting order, /notices/post lets the expecting order finish and
/notices/delete removes the notice, /workflows/suspend keeps a new order from starting until
/workflows/resume, /workflow/skip skips the labelled job, /workflow/stop stops an order at the position.
Every call is in the audit log with its comment."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
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
from tests.cockpit.cockpit_process import COCKPIT_USER, CockpitProcess
from tests.cockpit.test_cockpit_e2e import ECHO_JOB, cockpit_topology
from tests.e2e.topology import HOST, Topology

pytestmark = pytest.mark.slow
CONTROLLER_ID = "js7es-test"
PASSWORD = "root-secret"
ECHO = {"TYPE": "Execute.Named", "jobName": "echo"}
LOCKED = {
    "instructions": [
        {"TYPE": "Lock", "demands": [{"lockPath": "L"}], "lockedWorkflow": {"instructions": [
            {"TYPE": "Prompt", "question": "'Give the lock back?'"},
        ]}},
    ],
}  # fmt: skip
EXPECTING = {"instructions": [{"TYPE": "ExpectNotices", "boardPaths": "'B'"}, ECHO], "jobs": {"echo": ECHO_JOB}}
LABELLED = {"instructions": [{**ECHO, "label": "j1"}, {**ECHO, "label": "j2"}], "jobs": {"echo": ECHO_JOB}}
READS = {"/locks", "/lock", "/notice/boards", "/notice/board", "/inventory/read/configuration", "/workflows"}
BOARD = {
    "boardType": "GLOBAL",
    "postOrderToNoticeId": "'K'",
    "expectOrderToNoticeId": "'K'",
    "endOfLife": "$js7EpochMilli + 24 * 60 * 60 * 1000",
}


@dataclass
class Setup:
    topology: Topology
    cockpit: CockpitProcess
    engine: Engine
    client: httpx.Client

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """A changing call with the audit comment; a read as it is."""
        audit = {} if path in READS else {"auditLog": {"comment": "operator test"}}
        return self.client.post(path, json={**body, **audit})

    def ok(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.post(path, body)
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"
        answer: dict[str, Any] = r.json()
        return answer

    def board(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.ok(path, body)["noticeBoard"]
        return answer

    def refused(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.post(path, body)
        assert r.status_code == 420, f"{path}: {r.status_code} {r.text}"
        error: dict[str, Any] = r.json()["error"]
        return error

    def add(self, workflow: str, name: str) -> str:
        body = {"controllerId": CONTROLLER_ID, "orders": [{"workflowPath": f"/ops/{workflow}", "orderName": name}]}
        order_id: str = self.ok("/orders/add", body)["orderIds"][0]
        return order_id

    def order(self, order_id: str) -> dict[str, Any]:
        with self.topology.controller() as c:
            answer: dict[str, Any] = c.get("/controller/api/order", params={"id": order_id}).json()
        return answer["orders"][0]

    def wait_projected(self, order_id: str) -> None:
        """Until the Cockpit's projection holds the order: /orders/confirm|resume|… resolve their orderIds
        there (an order not yet projected is JOC-002), while `order` reads the Controller itself."""
        body = {"controllerId": CONTROLLER_ID, "orderIds": [order_id]}
        wait_until(  # a read: without the audit comment `post` adds
            lambda: self.client.post("/orders", json=body).json()["orders"], f"{order_id} in the projection"
        )

    def audited_comments(self, request: str) -> list[str | None]:
        table = schema.audit_log
        with self.engine.connect() as c:
            rows = c.execute(sa.select(table.c.comment).where(table.c.request == f"/joc/api{request}"))
            return [r.comment for r in rows]


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def store(setup: Setup, object_type: str, name: str, configuration: dict[str, Any]) -> None:
    body = {"path": f"/ops/{name}", "objectType": object_type, "configuration": configuration}
    setup.ok("/inventory/store", body)


def deploy(setup: Setup, *objects: tuple[str, str]) -> httpx.Response:
    drafts = [{"configuration": {"path": f"/ops/{n}", "objectType": t}} for t, n in objects]
    return setup.post(
        "/inventory/deployment/deploy", {"controllerIds": [CONTROLLER_ID], "store": {"draftConfigurations": drafts}}
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp_path: Path = tmp_path_factory.mktemp("operator")
    deployer = {**COCKPIT_USER, "permissions": [*COCKPIT_USER["permissions"], "UpdateItem"]}
    topology = cockpit_topology(
        tmp_path / "nodes", controller_id=CONTROLLER_ID, extra_users={"controller": {"cockpit": deployer}}
    )
    cockpit = CockpitProcess(
        topology,
        tmp_path / "cockpit",
        {CONTROLLER_ID: "controller"},
        sections={"joc": {"root-password-hash": hash_password(PASSWORD)}},
    )
    engine = open_database(sqlite_url(tmp_path / "cockpit" / "cockpit.sqlite"))
    try:
        topology.start_all()
        assert topology.deploy(version="agents").status_code == 200
        cockpit.start()
        cockpit.wait_ready()
        verify = client_ssl_context(topology.client_tls)
        with httpx.Client(base_url=f"https://{HOST}:{cockpit.port}/joc/api", verify=verify, timeout=60) as client:
            basic = base64.b64encode(f"root:{PASSWORD}".encode()).decode()
            r = client.post("/authentication/login", headers={"Authorization": f"Basic {basic}"})
            assert r.status_code == 200, r.text
            client.headers["X-Access-Token"] = r.headers["X-Access-Token"]
            yield Setup(topology, cockpit, engine, client)
    finally:
        cockpit.kill()
        topology.stop_all()
        engine.dispose()


def test_lock_and_board_deploy_through_the_inventory(setup: Setup) -> None:
    store(setup, "LOCK", "L", {"limit": 1, "title": "one at a time"})
    store(setup, "NOTICEBOARD", "B", BOARD)
    for name, workflow in (("locked", LOCKED), ("expecting", EXPECTING), ("labelled", LABELLED)):
        store(setup, "WORKFLOW", name, workflow)
    # The workflow without its lock: the Controller refuses the deployment as a whole, and says why.
    refused = deploy(setup, ("WORKFLOW", "locked"), ("WORKFLOW", "labelled"))
    assert refused.status_code == 420, refused.text
    assert "Lock:L" in refused.json()["error"]["message"], refused.text
    with setup.topology.controller() as c:
        snapshot = c.get("/controller/api/snapshot").text
    assert '"locked"' not in snapshot and '"labelled"' not in snapshot  # nothing of it applied
    read = setup.ok("/inventory/read/configuration", {"path": "/ops/locked", "objectType": "WORKFLOW"})
    assert read["deployed"] is False and read["hasDeployments"] is False

    r = deploy(
        setup,
        ("LOCK", "L"),
        ("NOTICEBOARD", "B"),
        ("WORKFLOW", "locked"),
        ("WORKFLOW", "expecting"),
        ("WORKFLOW", "labelled"),
    )
    assert r.status_code == 200, r.text
    lock = setup.ok("/inventory/read/configuration", {"path": "/ops/L", "objectType": "LOCK"})
    assert lock["deployed"] is True
    with setup.topology.controller() as c:
        lines = [json.loads(line) for line in c.get("/controller/api/snapshot").text.splitlines()]
    [lock_state] = [line for line in lines if line["TYPE"] == "LockState"]
    assert lock_state["lock"] == {"TYPE": "Lock", "path": "L", "limit": 1}  # JOC's title stays in the Cockpit

    def projected() -> bool:
        with setup.engine.connect() as c:
            paths = {r.path for r in c.execute(sa.select(schema.workflows.c.path))}
        return {"locked", "expecting", "labelled"} <= paths

    wait_until(projected, "the workflows in the projection")


def test_locks_show_holder_and_waiting_order(setup: Setup) -> None:
    first, second = setup.add("locked", "first"), setup.add("locked", "second")
    body = {"controllerId": CONTROLLER_ID}

    def held() -> dict[str, Any] | None:
        locks = setup.ok("/locks", body)["locks"]
        return locks[0] if locks and locks[0]["ordersWaitingForLocksCount"] == 1 else None

    entry = wait_until(held, "one order holding L, one waiting")
    assert entry["lock"]["path"] == "/ops/L" and entry["lock"]["limit"] == 1
    assert entry["lock"]["title"] == "one at a time" and entry["lock"]["versionDate"]  # from the inventory
    assert entry["acquiredLockCount"] == 1 and entry["ordersHoldingLocksCount"] == 1
    [workflow] = entry["workflows"]
    assert workflow["path"] == "/ops/locked"
    assert [o["order"]["orderId"] for o in workflow["ordersHoldingLocks"]] == [first]
    assert [o["order"]["orderId"] for o in workflow["ordersWaitingForLocks"]] == [second]
    assert workflow["ordersWaitingForLocks"][0]["lock"] == {"id": "L", "type": "EXCLUSIVE"}
    single = setup.ok("/lock", {"controllerId": CONTROLLER_ID, "lockPath": "/ops/L", "compact": True})["lock"]
    assert single["ordersWaitingForLocksCount"] == 1 and "workflows" not in single
    assert setup.refused("/lock", {"controllerId": CONTROLLER_ID, "lockPath": "nothing"})["code"] == "JOC-002"
    # The holder is answered: it gives the lock back, the waiting one takes it.
    setup.wait_projected(first)
    setup.ok("/orders/confirm", {"controllerId": CONTROLLER_ID, "orderIds": [first]})
    wait_until(lambda: setup.order(second)["state"]["TYPE"] == "Prompting", "the second order holding L")

    # A new version of the workflow; /workflow/transition moves the order of the old one to it.
    old_version = setup.order(second)["workflowId"]["versionId"]
    store(setup, "WORKFLOW", "locked", {"instructions": [*LOCKED["instructions"], {"TYPE": "EmptyInstruction"}]})
    assert deploy(setup, ("WORKFLOW", "locked")).status_code == 200
    transition = {"controllerId": CONTROLLER_ID, "workflowId": {"path": "/ops/locked", "versionId": old_version}}
    setup.ok("/workflow/transition", transition)
    assert setup.order(second)["workflowId"]["versionId"] != old_version
    assert setup.refused("/workflow/transition", transition)["code"] == "JOC-002"  # the old version is gone


def test_notices_post_lets_the_expecting_order_go_on_and_delete_removes_them(setup: Setup) -> None:
    order_id = setup.add("expecting", "expects")
    body = {"controllerId": CONTROLLER_ID, "noticeBoardPath": "/ops/B"}

    def expected() -> list[dict[str, Any]]:
        notices: list[dict[str, Any]] = setup.ok("/notice/board", body)["noticeBoard"]["notices"]
        return [n for n in notices if n["state"]["_text"] == "EXPECTED"]

    [notice] = wait_until(expected, "the order expecting B's notice K")
    assert notice["id"] == "K" and notice["expectingOrderIds"] == [order_id]
    error = setup.refused("/notices/post", {"controllerId": CONTROLLER_ID, "notices": [{"noticeBoardPath": "/ops/X"}]})
    assert error == {
        "code": "JOC-002",
        "message": f"Controller '{CONTROLLER_ID}' couldn't find the Notice Boards ['X']",
    }
    assert setup.order(order_id)["state"]["TYPE"] == "ExpectingNotices"  # the refused call changed nothing

    setup.ok(
        "/notices/post", {"controllerId": CONTROLLER_ID, "notices": [{"noticeBoardPath": "/ops/B", "noticeIds": ["K"]}]}
    )
    setup.topology.wait_for(lambda events: setup.topology.terminated(events, order_id))
    assert "OrderFinished" in setup.topology.order_events(setup.topology.events(), order_id)
    boards = setup.ok("/notice/boards", {"controllerId": CONTROLLER_ID})["noticeBoards"]
    [board] = [b for b in boards if b["path"] == "/ops/B"]
    assert board["numOfPostedNotices"] == 1 and board["numOfExpectingOrders"] == 0
    assert board["boardType"] == "GLOBAL" and board["endOfLife"] == BOARD["endOfLife"]
    assert [(n["id"], n["state"]["_text"]) for n in board["notices"]] == [("K", "POSTED")]

    setup.ok("/notices/delete", {"controllerId": CONTROLLER_ID, "notices": [{"noticeBoardPath": "/ops/B"}]})
    board = setup.ok("/notice/board", body)["noticeBoard"]
    assert board["notices"] == [] and board["numOfNotices"] == 0
    assert (
        setup.refused("/notices/delete", {"controllerId": CONTROLLER_ID, "noticeBoardPath": "B", "noticeIds": ["K"]})[
            "code"
        ]
        == "JOC-002"
    )
    for request in ("/notices/post", "/notices/delete"):  # the refused calls never went out
        wait_until(lambda r=request: setup.audited_comments(r) == ["operator test"], f"{request} in the audit log")


def test_suspend_resume_skip_and_stop(setup: Setup) -> None:
    selector = {"controllerId": CONTROLLER_ID, "workflowPaths": ["/ops/labelled"]}
    assert setup.refused("/workflows/resume", selector) == {
        "code": "JOC-002",
        "message": "No suspended workflows found.",
    }
    setup.ok("/workflows/suspend", selector)

    def state_of_labelled() -> str:
        [shown] = setup.ok("/workflows", {"controllerId": CONTROLLER_ID, "workflowIds": [{"path": "/ops/labelled"}]})[
            "workflows"
        ]
        return str(shown["state"]["_text"]) if shown["suspended"] == (shown["state"]["_text"] == "SUSPENDED") else "?"

    wait_until(lambda: state_of_labelled() == "SUSPENDED", "/workflows showing the workflow suspended")
    held = setup.add("labelled", "held")
    other = setup.add("expecting", "other")  # an order of another workflow runs meanwhile
    expected = {"noticeBoardPath": "/ops/B", "workflowPaths": ["/ops/expecting"]}
    wait_until(lambda: setup.order(other)["state"]["TYPE"] == "ExpectingNotices", "the other order expecting K")
    setup.ok("/notices/post/expected", {"controllerId": CONTROLLER_ID, "expectedNotices": [expected]})
    setup.topology.wait_for(lambda events: setup.topology.terminated(events, other))
    setup.ok("/notice/delete", {"controllerId": CONTROLLER_ID, "noticeBoardPath": "/ops/B", "noticeId": "K"})
    assert setup.board("/notice/board", {"controllerId": CONTROLLER_ID, "noticeBoardPath": "B"})["numOfNotices"] == 0
    assert setup.order(held)["state"]["TYPE"] == "Fresh" and setup.order(held)["position"] == [0]
    setup.ok("/workflows/resume", {"controllerId": CONTROLLER_ID, "folders": [{"folder": "/ops", "recursive": False}]})
    setup.topology.wait_for(lambda events: setup.topology.terminated(events, held))
    wait_until(lambda: state_of_labelled() == "IN_SYNC", "/workflows showing the workflow resumed")

    labels = {"controllerId": CONTROLLER_ID, "workflowPath": "/ops/labelled"}
    assert setup.refused("/workflow/skip", {**labels, "labels": ["nope"]}) == {
        "code": "JOC-002",
        "message": "Couldn't find an instruction with the label 'nope' in the Workflow 'labelled'.",
    }
    setup.ok("/workflow/skip", {**labels, "labels": ["j1"]})
    assert setup.refused("/workflow/skip", {**labels, "labels": ["j1"]})["code"] == "JOC-400"  # skipped already
    skipping = setup.add("labelled", "skipping")
    events = setup.topology.wait_for(lambda events: setup.topology.terminated(events, skipping))
    started = [e for e in events if e.get("Key") == skipping and e["TYPE"] == "OrderProcessingStarted"]
    assert len(started) == 1  # j2 only
    setup.ok("/workflow/unskip", {**labels, "labels": ["j1"]})

    workflow_id = {"path": "/ops/labelled"}
    stop = {"controllerId": CONTROLLER_ID, "workflowId": workflow_id}
    assert setup.refused("/workflow/stop", {**stop, "positions": [[7]]})["code"] == "JOC-400"
    setup.ok("/workflow/stop", {**stop, "positions": ["j2"]})  # by label: position [1]
    stopping = setup.add("labelled", "stopping")
    wait_until(lambda: setup.order(stopping)["isSuspended"], "the order suspended at the breakpoint")
    assert setup.order(stopping)["position"] == [1]
    setup.ok("/workflow/unstop", {**stop, "positions": [[1]]})
    setup.wait_projected(stopping)
    setup.ok("/orders/resume", {"controllerId": CONTROLLER_ID, "orderIds": [stopping]})
    setup.topology.wait_for(lambda events: setup.topology.terminated(events, stopping))
    for request in ("/workflows/suspend", "/workflows/resume", "/workflow/skip", "/workflow/unskip", "/workflow/stop"):
        wait_until(lambda r=request: setup.audited_comments(r) == ["operator test"], f"{request} in the audit log")
