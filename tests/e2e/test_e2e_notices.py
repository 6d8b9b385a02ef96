"""Notice boards on real Controller and Agent processes: an ExpectNotices order waits until another
workflow posts; a notice posted before a ConsumeNotices order arrives is consumed once; a kill -9 and
restart of the Controller keeps notices and waiting orders; the end of life deletes a notice (its timer
armed again after the restart). JS7's event sequences (GlobalBoardTest, ConsumeNoticesTest) are the oracle.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.topology import Topology

pytestmark = pytest.mark.slow

DAY_KEY = "match(orderId, '#([0-9]{4}-[0-9]{2}-[0-9]{2})#.*', '$1')"  # JS7's GlobalBoard.joc
BOARD = {
    "TYPE": "GlobalBoard",
    "path": "B",
    "postOrderToNoticeKey": DAY_KEY,
    "expectOrderToNoticeKey": DAY_KEY,
    "endOfLife": "$js7EpochMilli + 86400000",
}
JOB = {"TYPE": "Execute.Named", "jobName": "J"}


def workflow(path: str, *instructions: dict[str, Any]) -> dict[str, Any]:
    job = {"agentPath": "agent", "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}}
    return {"path": path, "instructions": list(instructions), "jobs": {"J": job}}


WORKFLOWS = (
    workflow("POSTING", JOB, {"TYPE": "PostNotices", "boardPaths": ["B"]}),
    workflow("EXPECTING", {"TYPE": "ExpectNotices", "boardPaths": "'B'"}, JOB),
    workflow("CONSUMING", {"TYPE": "ConsumeNotices", "boardPaths": "'B'", "subworkflow": {"instructions": [JOB]}}),
)
ON_THE_AGENT = [
    "OrderAttachable",
    "OrderAttached",
    "OrderProcessingStarted",
    "OrderProcessed",
    "OrderMoved",
    "OrderDetachable",
    "OrderDetached",
]


@pytest.fixture(name="topology", scope="module")
def _topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    topology = Topology(Path(tmp_path_factory.mktemp("notices")))
    topology.start_all()
    try:
        operations = [{"TYPE": "AddVersion", "versionId": "1"}]
        operations += [{"TYPE": "AddOrChangeSimple", "item": i} for i in (*topology.agent_items(), BOARD)]
        operations += [{"TYPE": "AddOrChangeSimple", "item": w} for w in WORKFLOWS]
        with topology.controller() as c:
            response = c.post("/controller/api/item", json=operations)
        assert response.status_code == 200, response.text
        yield topology
    finally:
        topology.stop_all()


def of(events: list[dict[str, Any]], key: str, type_: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("Key") == key and e["TYPE"] == type_]


def post_notice(topology: Topology, key: str, **fields: Any) -> None:
    response = topology.command({"TYPE": "PostNotice", "noticeId": ["B", key], **fields})
    assert response.status_code == 200, response.text


def notices(topology: Topology) -> list[list[str]]:
    with topology.controller() as c:
        response = c.get("/controller/api/snapshot")
    assert response.status_code == 200
    objects = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    return [o["id"] for o in objects if o.get("TYPE") == "Notice"]


def test_expecting_order_waits_until_another_workflow_posts(topology: Topology) -> None:
    expecting, posting = "#2025-01-01#E", "#2025-01-01#P"
    assert topology.add_order(expecting, "EXPECTING").status_code == 201
    topology.wait_for(lambda es: bool(of(es, expecting, "OrderNoticesExpected")))
    assert topology.add_order(posting, "POSTING").status_code == 201
    events = topology.wait_for(lambda es: topology.terminated(es, expecting, posting))
    assert topology.order_events(events, posting) == [
        "OrderAdded",
        "OrderAttachable",
        "OrderAttached",
        "OrderStarted",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderNoticePosted",
        "OrderMoved",
        "OrderFinished",
    ]
    assert topology.order_events(events, expecting) == [
        "OrderAdded",
        "OrderStarted",
        "OrderNoticesExpected",
        "OrderNoticesRead",
        "OrderMoved",
        *ON_THE_AGENT,
        "OrderFinished",
    ]
    assert of(events, expecting, "OrderNoticesExpected")[0]["noticeIds"] == [["B", "2025-01-01"]]
    posted = of(events, posting, "OrderNoticePosted")[0]
    assert posted["noticeId"] == ["B", "2025-01-01"] and posted["endOfLife"] > time.time() * 1000
    # the expecting order went on in the poster's commit
    read = of(events, expecting, "OrderNoticesRead")[0]["eventId"]
    assert posted["eventId"] < read < of(events, posting, "OrderFinished")[0]["eventId"]


def test_notice_posted_before_is_consumed_once_and_kept_over_a_restart(topology: Topology) -> None:
    """kill -9 after a snapshot: the notice and the waiting consumer come back from the snapshot."""
    post_notice(topology, "2025-01-02")
    first, second = "#2025-01-02#C1", "#2025-01-02#C2"
    assert topology.add_order(first, "CONSUMING").status_code == 201
    events = topology.wait_for(lambda es: topology.terminated(es, first))
    assert topology.order_events(events, first) == [
        "OrderAdded",
        "OrderStarted",
        "OrderNoticesConsumptionStarted",
        *ON_THE_AGENT,
        "OrderNoticesConsumed",
        "OrderFinished",
    ]
    assert ["B", "2025-01-02"] not in notices(topology)
    assert topology.add_order(second, "CONSUMING").status_code == 201
    topology.wait_for(lambda es: bool(of(es, second, "OrderNoticesExpected")))

    post_notice(topology, "2025-01-03")  # for an order that comes after the restart
    snapshot = topology.command({"TYPE": "TakeSnapshot"})  # recovery from it: Notice objects, ExpectingNotices
    assert snapshot.status_code == 200, snapshot.text
    topology.kill("controller")
    topology.start("controller")
    assert ["B", "2025-01-03"] in notices(topology)
    reading = "#2025-01-03#E"
    assert topology.add_order(reading, "EXPECTING").status_code == 201
    post_notice(topology, "2025-01-02")  # the second consumer waited over the restart
    events = topology.wait_for(lambda es: topology.terminated(es, reading, second))
    assert topology.order_events(events, reading)[:4] == [
        "OrderAdded",
        "OrderStarted",
        "OrderNoticesRead",
        "OrderMoved",
    ]
    assert topology.order_events(events, second)[-3:] == ["OrderDetached", "OrderNoticesConsumed", "OrderFinished"]
    assert len(of(events, second, "OrderNoticesConsumptionStarted")) == 1
    assert ["B", "2025-01-02"] not in notices(topology)


def test_end_of_life_deletes_the_notice_also_after_a_restart(topology: Topology) -> None:
    now = int(time.time() * 1000)
    post_notice(topology, "SHORT", endOfLife=now + 12000)  # beyond the restart, also on a loaded machine
    topology.kill("controller")
    topology.start("controller")
    assert int(time.time() * 1000) < now + 12000, "the restart took longer than the notice's life"
    assert ["B", "SHORT"] in notices(topology)
    events = topology.wait_for(lambda es: any(e["TYPE"] == "NoticeDeleted" for e in es), timeout=30)
    deleted = [e for e in events if e["TYPE"] == "NoticeDeleted"]
    assert [(e["Key"], e["plannedNoticeKey"]) for e in deleted] == [("B", "SHORT")]
    assert int(deleted[0].get("timestamp", deleted[0]["eventId"] // 1000)) >= now + 12000
    assert ["B", "SHORT"] not in notices(topology)


def test_notices_end_one_after_the_other(topology: Topology) -> None:
    # The timer is armed at the earliest end of life; after it fires it must arm itself for the next.
    now = int(time.time() * 1000)
    post_notice(topology, "FIRST", endOfLife=now + 1000)
    post_notice(topology, "SECOND", endOfLife=now + 2000)
    events = topology.wait_for(
        lambda es: {e.get("plannedNoticeKey") for e in es if e["TYPE"] == "NoticeDeleted"} >= {"FIRST", "SECOND"},
        timeout=15,
    )
    deleted = [e["plannedNoticeKey"] for e in events if e["TYPE"] == "NoticeDeleted"]
    assert deleted[-2:] == ["FIRST", "SECOND"]
    assert not {("B", "FIRST"), ("B", "SECOND")} & {tuple(n) for n in notices(topology)}


def test_bad_notice_commands_are_refused(topology: Topology) -> None:
    for command, code in (
        ({"TYPE": "PostNotice", "noticeId": ["UNKNOWN", "K"]}, "UnknownKey"),
        ({"TYPE": "PostNotice", "noticeId": "K"}, "InvalidRequest"),
        ({"TYPE": "PostNotice", "noticeId": ["B", "K"], "endOfLife": "soon"}, "InvalidRequest"),
        ({"TYPE": "PostNotice", "noticeId": ["B", "K"], "lifetime": 1}, "UnknownField"),
        ({"TYPE": "DeleteNotice", "noticeId": ["B", "NEVER-POSTED"]}, "UnknownKey"),
    ):
        response = topology.command(command)
        assert response.status_code == 400 and response.json()["code"] == code, (command, response.text)
    post_notice(topology, "GONE")
    assert topology.command({"TYPE": "DeleteNotice", "boardPath": "B", "noticeId": "GONE"}).status_code == 200
    assert ["B", "GONE"] not in notices(topology)
