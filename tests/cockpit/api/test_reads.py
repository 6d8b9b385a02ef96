"""The JOC read endpoints over a projection filled with the domain simulator's events: JOC's shapes
(validated against JOC's schemas), folder permissions (hidden in lists, JOC-419 when addressed), bad
input never 500, and the /events long poll."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.events import ChangeMeta
from js7es.domain.cockpit.iam import FolderGrant, PermissionGrant
from js7es.projections.cockpit.database import migrate, open_database, sqlite_url
from js7es.projections.cockpit.projector import Projector
from tests.cockpit import joc_schemas
from tests.cockpit.api.harness import Joc, running_joc
from tests.cockpit.support import deploy_through_inventory, linear_workflow, simulated_history, stamp
from tests.domain.simulator import Simulator

C = "js7es"
META = ChangeMeta(account="test", at_ms=0, request="test")


def check(answer: Any, schema_path: str, **patch: Any) -> None:
    joc_schemas.validate(answer, schema_path, patch=patch or None)


@pytest.fixture
def projected(tmp_path: Path) -> Iterator[tuple[Joc, Projector]]:
    engine = open_database(sqlite_url(tmp_path / "projection.sqlite"))
    migrate(engine)
    projector = Projector(engine)
    projector.ensure_controller(C)
    sim = Simulator()
    sim.deploy(linear_workflow("XW"), linear_workflow("YV", steps=1))
    sim.add_order("in-x", "XW", arguments={"n": 1})
    sim.add_order("in-y", "YV")
    sim.run()
    events = simulated_history(3) + stamp(sim.log, start=simulated_history(3)[-1].event_id + 1000)
    projector.apply(C, events)
    with running_joc(tmp_path, engine=engine) as joc:
        joc.services.events_wait_s = 1.0
        joc.services.events_poll_s = 0.2
        in_folders(joc)
        yield joc, projector
    engine.dispose()


@pytest.fixture
def joc(projected: tuple[Joc, Projector]) -> Joc:
    return projected[0]


def in_folders(joc: Joc) -> None:
    """JS7 workflow names have no folders; the Cockpit's inventory gives them: XW is deployed at /a/b/XW,
    YV at /c/YV (W, deployed without the inventory, stays in /)."""
    deploy_through_inventory(joc.store, C, ["/a/b/XW", "/c/YV"], commit_id="folders")
    joc.audited()  # the deployed objects' projection, as the Cockpit's follower thread keeps it


def limited_account(joc: Joc, folder: str = "/a") -> str:
    """An account whose role sees orders, workflows and agents only in `folder`; logged in."""
    store = joc.store
    store.execute(keys.role("x-only"), cmd.StoreRole(), META)
    grants = tuple(
        PermissionGrant(path=p)
        for p in (
            "sos:products:controller:view",
            "sos:products:controller:orders:view",
            "sos:products:controller:workflows:view",
            "sos:products:controller:agents:view",
        )
    )
    store.execute(keys.role("x-only"), cmd.StorePermissions(scope="", grants=grants), META)
    store.execute(keys.role("x-only"), cmd.StoreFolders(scope="", folders=(FolderGrant(folder=folder),)), META)
    from js7es.nodes.cockpit.api.passwords import hash_password

    store.execute(keys.account("xuser"), cmd.StoreAccount(password_hash=hash_password("pw"), roles=("x-only",)), META)
    return joc.login("xuser", "pw")


def ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def test_orders_order_snapshot_and_summary_in_jocs_shape(joc: Joc) -> None:
    token = joc.login()
    body = ok(joc.post("/orders", {"controllerId": C}, token=token))
    check(body, "order/orders_v-schema.json")
    ids = {o["orderId"] for o in body["orders"]}
    assert {"o-0", "in-x", "in-y"} <= ids
    assert len(ok(joc.post("/orders", {"controllerId": C, "limit": 2}, token=token))["orders"]) == 2
    assert len(ok(joc.post("/orders", {"controllerId": C, "limit": -1}, token=token))["orders"]) == len(ids)
    one = ok(joc.post("/order", {"controllerId": C, "orderId": "in-x"}, token=token))
    check(one, "order/order_v-schema.json")
    assert one["arguments"] == {"n": 1} and one["workflowId"]["path"] == "/a/b/XW"
    snap = ok(joc.post("/orders/overview/snapshot", {"controllerId": C}, token=token))
    check(snap, "order/snapshot-schema.json")
    summary = ok(
        joc.post("/orders/overview/summary", {"controllerId": C, "dateFrom": "2000-01-01T00:00:00Z"}, token=token)
    )
    check(summary, "order/summary-schema.json")
    assert summary["orders"]["failed"] == 1
    r = joc.post("/order", {"controllerId": C, "orderId": "nope"}, token=token)
    assert r.status_code == 420 and r.json()["error"]["code"] == "JOC-002"


def test_throughput_counts_the_main_orders_ended_per_minute_inside_the_accounts_folders(joc: Joc) -> None:
    from js7es.projections.cockpit import schema

    now = int(time.time() * 1000)
    ended = [("t-x1", "XW", now - 30_000), ("t-x2", "XW", now - 90_000), ("t-y", "YV", now - 30_000)]
    with joc.services.engine.begin() as c:
        c.execute(schema.order_history.insert(), [
            {"controller_id": C, "order_id": order_id, "run_event_id": i + 1, "parent_order_id": None,
             "workflow_path": path, "workflow_version": "v", "arguments": "{}", "added_at": at - 10,
             "scheduled_for": None, "started_at": at - 5, "ended_at": at, "state": "Finished",
             "end_position": "[1]", "error_message": None}
            for i, (order_id, path, at) in enumerate(ended)
        ])  # fmt: skip
    token = joc.login()
    answer = ok(joc.post("/orders/overview/throughput", {"controllerId": C, "minutes": 5}, token=token))
    assert answer["minutes"] == 5 and answer["ended"][-2:] in ([1, 2], [2, 1]) and sum(answer["ended"]) == 3
    assert len(ok(joc.post("/orders/overview/throughput", {"controllerId": C}, token=token))["ended"]) == 60
    in_a = ok(joc.post("/orders/overview/throughput", {"controllerId": C, "minutes": 5}, token=limited_account(joc)))
    assert sum(in_a["ended"]) == 2  # YV lies in /c, outside the account's folders
    for minutes in (0, 1441, "x"):
        r = joc.post("/orders/overview/throughput", {"controllerId": C, "minutes": minutes}, token=token)
        assert r.status_code == 420 and r.json()["error"]["code"] == "JOC-400", r.text


def test_history_task_history_order_history_and_logs(joc: Joc) -> None:
    token = joc.login()
    history = ok(joc.post("/orders/history", {"controllerId": C}, token=token))
    check(history, "order/orderHistory-schema.json")
    assert ok(joc.post("/orders/history", {}, token=token))["history"] == history["history"]
    assert len(ok(joc.post("/orders/history", {"limit": 2}, token=token))["history"]) == 2
    fork = next(h for h in history["history"] if h["orderId"] == "o-fork")
    children = ok(joc.post("/order/history", {"controllerId": C, "historyId": fork["historyId"]}, token=token))
    check(children, "order/orderHistoryItemChildren-schema.json")
    tasks = ok(joc.post("/tasks/history", {"controllerId": C}, token=token))
    check(tasks, "job/history-schema.json")
    task = next(t for t in tasks["history"] if t["orderId"] == "in-x")
    r = joc.post("/task/log", {"controllerId": C, "taskId": task["taskId"]}, token=token)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.headers["X-Log-Complete"] == "true" and r.headers["X-Log-Task-Id"] == str(task["taskId"])
    running = ok(
        joc.post(
            "/task/log/running",
            {"controllerId": C, "taskId": task["taskId"], "eventId": int(r.headers["X-Log-Event-Id"])},
            token=token,
        )
    )
    check(running, "job/runningTaskLog-schema.json")
    assert running["complete"] is True
    log = ok(joc.post("/order/log", {"controllerId": C, "historyId": fork["historyId"]}, token=token))
    check(log, "order/orderLog-schema.json", type="object")
    r = joc.post("/task/log", {"controllerId": C, "taskId": 12345}, token=token)
    assert r.status_code == 420 and r.json()["error"]["code"] == "JOC-002"


def test_workflows_agents_and_controllers(joc: Joc) -> None:
    token = joc.login()
    wfs = ok(joc.post("/workflows", {"controllerId": C, "compact": True}, token=token))
    check(wfs, "workflow/workflows-schema.json")
    assert {w["path"] for w in wfs["workflows"]} >= {"/a/b/XW", "/c/YV", "/W"}
    one = ok(joc.post("/workflow", {"controllerId": C, "workflowId": {"path": "/a/b/XW"}}, token=token))
    check(one, "workflow/workflow-schema.json")
    counts = ok(joc.post("/workflows/order_count", {"controllerId": C, "workflowIds": [{"path": "/W"}]}, token=token))
    check(counts, "workflow/workflowsOrderCount-schema.json")
    agents = ok(joc.post("/agents", {"controllerId": C}, token=token))
    check(agents, "agent/agents_v-schema.json")
    controllers = ok(joc.post("/controllers", {}, token=token))
    check(controllers, "controller/masters-schema.json")
    assert [c["controllerId"] for c in controllers["controllers"]] == [C]
    controller = ok(joc.post("/controller", {"controllerId": C}, token=token))
    check(controller, "controller/jobscheduler200_v-schema.json")


def test_folder_permissions_hide_in_lists_and_forbid_when_addressed(joc: Joc) -> None:
    token = limited_account(joc)
    listed = ok(joc.post("/orders", {"controllerId": C}, token=token))["orders"]
    assert {(o["orderId"], o["workflowId"]["path"]) for o in listed} == {("in-x", "/a/b/XW")}
    history = ok(joc.post("/orders/history", {}, token=token))["history"]
    assert {(h["orderId"], h["workflow"]) for h in history} == {("in-x", "/a/b/XW")}
    tasks = ok(joc.post("/tasks/history", {"controllerId": C}, token=token))["history"]
    assert {t["workflow"] for t in tasks} == {"/a/b/XW"}
    paths = {w["path"] for w in ok(joc.post("/workflows", {"controllerId": C}, token=token))["workflows"]}
    assert paths == {"/a/b/XW"}
    # the request's folders narrow the account's, never widen them
    assert ok(joc.post("/orders", {"controllerId": C, "folders": [{"folder": "/c"}]}, token=token))["orders"] == []
    for path, body in (
        ("/order", {"controllerId": C, "orderId": "in-y"}),
        ("/workflow", {"controllerId": C, "workflowId": {"path": "/c/YV"}}),
    ):
        r = joc.post(path, body, token=token)
        assert r.status_code == 420 and r.json()["error"]["code"] == "JOC-419", (path, r.text)
    root = joc.login()
    hidden_task = next(
        t for t in ok(joc.post("/tasks/history", {"controllerId": C}, token=root))["history"] if t["orderId"] == "in-y"
    )
    r = joc.post("/task/log", {"controllerId": C, "taskId": hidden_task["taskId"]}, token=token)
    assert r.status_code == 420 and r.json()["error"]["code"] == "JOC-419"


def test_an_account_without_the_permission_is_403(joc: Joc) -> None:
    joc.store.execute(keys.role("nothing"), cmd.StoreRole(), META)
    joc.store.execute(
        keys.role("nothing"),
        cmd.StorePermissions(scope="", grants=(PermissionGrant(path="sos:products:controller:view"),)),
        META,
    )
    from js7es.nodes.cockpit.api.passwords import hash_password

    joc.store.execute(keys.account("n"), cmd.StoreAccount(password_hash=hash_password("pw"), roles=("nothing",)), META)
    token = joc.login("n", "pw")
    for path in ("/orders", "/orders/history", "/tasks/history", "/workflows", "/agents"):
        assert joc.post(path, {"controllerId": C}, token=token).status_code == 403, path
    assert joc.post("/controllers", {}, token=token).status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/orders", {"controllerId": C, "limit": "ten"}),
        ("/orders", {"controllerId": C, "limit": 10**30}),
        ("/orders", {"controllerId": C, "regex": "(unclosed"}),
        ("/orders", {"controllerId": C, "orderTags": ["t"]}),
        ("/orders", {"controllerId": C, "states": ["NOPE"]}),
        ("/orders/history", {"controllerId": C, "dateFrom": "yesterday-ish"}),
        ("/orders/history", {"controllerId": C, "dateFrom": "99999999999y"}),
        ("/orders/history", {"controllerId": C, "historyIds": [-1]}),
        ("/tasks/history", {"controllerId": C, "taskIds": ["x"]}),
        ("/task/log", {"controllerId": C}),
        ("/task/log", {"controllerId": C, "taskId": -5}),
        ("/order/history", {"controllerId": C, "historyId": 2**70}),
        ("/workflow", {"controllerId": C, "workflowId": {"path": "/nope"}}),
        ("/workflows/order_count", {"controllerId": C, "workflowIds": []}),
        ("/agents", {"controllerId": C, "states": ["BAD"]}),
        ("/events", {"controllerId": C, "eventId": -1}),
        ("/orders", {"controllerId": "other"}),
    ],
)
def test_bad_input_is_a_joc_error_never_a_500(joc: Joc, path: str, body: dict[str, Any]) -> None:
    r = joc.post(path, body, token=joc.login())
    assert r.status_code in (403, 420), r.text
    assert r.json()["error"]["code"].startswith("JOC-") if r.status_code == 420 else True


@pytest.mark.parametrize("glob", ["%", "x;--*", "it's", "_", "*'*", "\\*"])
def test_sql_meta_characters_in_globs_are_harmless(joc: Joc, glob: str) -> None:
    token = joc.login()
    for path in ("/orders/history", "/tasks/history"):
        r = joc.post(path, {"controllerId": C, "orderId": glob, "workflowPath": glob}, token=token)
        assert r.status_code == 200, r.text
    assert joc.post("/orders", {"controllerId": C, "orderIds": [glob]}, token=token).json()["orders"] == []


def _more_events(projector: Projector, after: int) -> list[Any]:
    sim = Simulator()
    sim.deploy(linear_workflow("ZW"))
    sim.add_order("late", "ZW")
    sim.run()
    events = stamp(sim.log, start=after + 1000)
    projector.apply(C, events)
    return events


def test_events_answer_at_once_when_newer_events_exist(projected: tuple[Joc, Projector]) -> None:
    joc, _ = projected
    token = joc.login()
    started = time.monotonic()
    body = ok(joc.post("/events", {"controllerId": C, "eventId": 1}, token=token))
    assert time.monotonic() - started < 0.9
    check(body, "event/event-schema.json")
    types = {s["eventType"] for s in body["eventSnapshots"]}
    assert {"WorkflowStateChanged", "HistoryOrderTerminated", "HistoryTaskTerminated", "JobStateChanged"} <= types
    workflows = {s["workflow"]["path"] for s in body["eventSnapshots"] if s["eventType"] == "WorkflowStateChanged"}
    assert {"/a/b/XW", "/c/YV"} <= workflows
    # folders apply to the snapshots
    limited = ok(joc.post("/events", {"controllerId": C, "eventId": 1}, token=limited_account(joc)))
    assert {s["workflow"]["path"] for s in limited["eventSnapshots"] if "workflow" in s} == {"/a/b/XW"}


def test_events_wait_then_answer_empty_and_wake_when_a_batch_commits(projected: tuple[Joc, Projector]) -> None:
    joc, projector = projected
    token = joc.login()
    started = time.monotonic()
    idle = ok(joc.post("/events", {"controllerId": C}, token=token))
    assert 0.9 <= time.monotonic() - started < 3
    assert idle["eventSnapshots"] == []
    check(idle, "event/event-schema.json")
    joc.services.events_wait_s = 10.0
    joc.services.events_poll_s = 10.0  # only the signal can wake the call in time

    def commit_later() -> None:
        time.sleep(0.3)
        _more_events(projector, idle["eventId"])
        joc.services.batches.notify()

    thread = threading.Thread(target=commit_later)
    thread.start()
    started = time.monotonic()
    woken = ok(joc.post("/events", {"controllerId": C, "eventId": idle["eventId"]}, token=token))
    thread.join()
    assert time.monotonic() - started < 5
    assert woken["eventId"] > idle["eventId"]
    assert {"path": "/ZW"}.items() <= next(s["workflow"] for s in woken["eventSnapshots"] if "workflow" in s).items()


def test_openapi_declares_the_read_endpoints_with_their_permissions(joc: Joc) -> None:
    doc = joc.client.get("/joc/api/openapi.json").json()
    assert doc["paths"]["/joc/api/orders"]["post"]["x-permission"] == "sos:products:controller:orders:view"
    assert doc["paths"]["/joc/api/workflows"]["post"]["x-permission"] == "sos:products:controller:workflows:view"
    assert "text/plain" in json.dumps(doc["paths"]["/joc/api/task/log"])


def test_jocs_lists_this_cockpit_alone_and_active_outside_a_cluster(joc: Joc) -> None:
    body = ok(joc.post("/jocs", {}, token=joc.login()))
    check(body, "controller/jocs-schema.json")
    [instance] = body["jocs"]
    assert instance["current"] and instance["clusterNodeState"]["_text"] == "active"
