"""ControlWorkflowPath on real Controller and Agent processes (JS7's ControlWorkflowPathSuspendWorkflowTest
and ControlWorkflowPathSkipTest): a suspended workflow's orders stop before their next instruction — one
on the Agent finishes its running job and waits there, a new one does not start —, resumed they finish;
a job skipped by its label does not run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_e2e_orders import execute, shell, workflow
from tests.e2e.topology import Topology

pytestmark = pytest.mark.slow

QUIET_S = 1.0  # long enough for an order on an idle Agent to have taken many steps


def control(topology: Topology, **command: Any) -> None:
    response = topology.command({"TYPE": "ControlWorkflowPath", "workflowPath": "w", **command})
    assert response.status_code == 200, response.text


def processed(events: list[dict[str, Any]], order_id: str) -> int:
    return topology_events(events, order_id).count("OrderProcessed")


def topology_events(events: list[dict[str, Any]], order_id: str) -> list[str]:
    return [e["TYPE"] for e in events if e.get("Key") == order_id]


def suspended_at_agent(events: list[dict[str, Any]]) -> bool:
    """Whether the Agent holds workflow w's control as suspended (its own journal: ItemAttachedToMe)."""
    attached = [e["item"] for e in events if e["TYPE"] == "ItemAttachedToMe"]
    controls = [i for i in attached if i.get("TYPE") == "WorkflowPathControl" and i.get("path") == "w"]
    return bool(controls) and bool(controls[-1].get("suspended"))


def test_suspend_resume_and_skip(topology: Topology, tmp_path: Path) -> None:
    gate = tmp_path / "gate"  # the running job ends only once the Agent holds the suspension
    w = workflow(
        "w",
        execute("FIRST"),
        execute("SECOND", label="SKIPPABLE"),
        FIRST=shell(f'while [ ! -e "{gate}" ]; do sleep 0.02; done\n'),
        SECOND=shell("echo second\n"),
    )
    assert topology.deploy(w, version="1").status_code == 200
    assert topology.add_order("running", "w").status_code == 201
    topology.wait_for(lambda es: "OrderProcessingStarted" in topology_events(es, "running"))

    control(topology, suspend=True)
    topology.wait_for_agent(suspended_at_agent)
    gate.write_text("")
    assert topology.add_order("fresh", "w").status_code == 201
    topology.wait_for(lambda es: processed(es, "running") == 1)  # the running job ends
    time.sleep(QUIET_S)
    events = topology.events()
    assert processed(events, "running") == 1  # and the order waits before its next instruction
    assert topology_events(events, "running")[-1] == "OrderProcessed"
    assert topology_events(events, "fresh") == ["OrderAdded"]

    control(topology, suspend=False)
    events = topology.wait_for(lambda es: topology.terminated(es, "running") and topology.terminated(es, "fresh"))
    for order_id in ("running", "fresh"):
        assert processed(events, order_id) == 2
        assert topology.order_events(events, order_id)[-1] == "OrderFinished"

    control(topology, skip={"SKIPPABLE": True})
    assert topology.add_order("skipping", "w").status_code == 201
    events = topology.wait_for(lambda es: topology.terminated(es, "skipping"))
    assert processed(events, "skipping") == 1
    moves = [(e["to"], e.get("reason")) for e in events if e.get("Key") == "skipping" and e["TYPE"] == "OrderMoved"]
    assert moves == [([1], None), ([2], "SkippedDueToWorkflowPathControl")]
    assert topology.order_events(events, "skipping")[-1] == "OrderFinished"


def test_go_order_on_the_agent_as_in_js7(topology: Topology) -> None:
    """JS7's AddOrderTest: a scheduled order on its Agent is marked on the Controller (OrderGoMarked), the
    mark goes to the Agent, which lets it go (OrderGoes, OrderStarted)."""
    w = workflow("w", execute("J"), J=shell("true\n"))
    assert topology.deploy(w, version="1").status_code == 200
    far = int(time.time() * 1000) + 100 * 365 * 24 * 3600 * 1000
    assert topology.add_order("later", "w", scheduledFor=far, deleteWhenTerminated=True).status_code == 201
    topology.wait_for(lambda es: "OrderAttached" in topology_events(es, "later"))
    response = topology.command({"TYPE": "GoOrder", "orderId": "later", "position": [0]})
    assert response.status_code == 200, response.text
    events = topology.wait_for(lambda es: "OrderDeleted" in topology_events(es, "later"))
    assert [n for n in topology_events(events, "later") if n not in ("OrderStdoutWritten", "OrderStderrWritten")] == [
        "OrderAdded",
        "OrderAttachable",
        "OrderAttached",
        "OrderGoMarked",
        "OrderGoes",
        "OrderStarted",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderFinished",
        "OrderDeleted",
    ]
    wrong = topology.command({"TYPE": "GoOrder", "orderId": "later", "position": [0]})
    assert wrong.status_code == 404 and wrong.json()["code"] == "UnknownOrder"
