"""AddOrder, ForkList and Options(stopOnFailure) on real Controller and Agent processes: the exact events
of the adding order, of a ForkList child forked on the Agent and of the added order; the stopped order
resumes. Orders added through the Controller's API with a start position by label, stop positions
and a decimal priority finish at their stop position, as in JS7's OrderStartAndStopPositionsTest."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_e2e_orders import execute, shell, without_output, workflow
from tests.e2e.topology import Topology

pytestmark = pytest.mark.slow


def test_add_order_fork_list_and_stop_on_failure(topology: Topology) -> None:
    fork_list: dict[str, Any] = {
        "TYPE": "ForkList",
        "children": "$list",
        "childToId": "x => $x",
        "childToArguments": "(x, i) => { x: $x, i: $i }",
        "agentPath": "agent",
        "workflow": {"instructions": [execute("ok")]},
    }
    main = workflow(
        "main",
        {"TYPE": "AddOrder", "orderId": "'added'", "workflowPath": "other", "deleteWhenTerminated": True},
        fork_list,
        {"TYPE": "Options", "stopOnFailure": True, "block": {"instructions": [execute("failing")]}},
        ok=shell("exit 0"),
        failing=shell("exit 3"),
    )
    other = workflow("other", execute("ok"), ok=shell("exit 0"))
    labelled = [{**execute("ok"), "label": label} for label in ("FIRST", "SECOND", "THIRD")]
    stops = workflow("stops", *labelled, ok=shell("exit 0"))
    assert topology.deploy(main, other, stops, version="1").status_code == 200
    response = topology.add_order("o", "main", arguments={"list": ["a", "b"]})
    assert response.status_code == 201, response.text
    stopping = {"startPosition": "SECOND", "stopPositions": ["THIRD", [7]], "priority": 1.5}
    assert topology.add_order("s", "stops", **stopping).status_code == 400  # [7]: no such position
    del stopping["stopPositions"][1]
    assert topology.add_order("s", "stops", **stopping).status_code == 201
    assert topology.add_order("s0", "stops", stopPositions=[[0]]).status_code == 201
    events = topology.wait_for(lambda es: "OrderStopped" in topology.order_events(es, "o"))
    stopped_at = [2, "options", 0]
    resumed = topology.command(
        {"TYPE": "ResumeOrder", "orderId": "o", "position": [2, "options", 1], "asSucceeded": True}
    )
    assert resumed.status_code == 200, resumed.text
    events = topology.wait_for(  # "added" deletes itself when terminated: its OrderDeleted follows its end
        lambda es: (
            topology.terminated(es, "o", "added", "s", "s0") and "OrderDeleted" in topology.order_events(es, "added")
        )
    )
    assert topology.order_events(events, "s0") == ["OrderAdded", "OrderStarted", "OrderFinished"]
    assert without_output(topology.order_events(events, "s")) == [
        "OrderAdded",
        "OrderAttachable",
        "OrderAttached",
        "OrderStarted",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderFinished",
    ]
    s_events = [e for e in events if e.get("Key") == "s"]
    assert {k: s_events[0][k] for k in ("startPosition", "stopPositions", "priority")} == {
        "startPosition": [1],
        "stopPositions": ["THIRD"],
        "priority": 1.5,
    }
    assert [e["to"] for e in s_events if e["TYPE"] == "OrderMoved"] == [[2]]
    assert "outcome" not in s_events[-1]  # JS7: OrderFinished() at a stop position
    assert without_output(topology.order_events(events, "o")) == [
        "OrderAdded",
        "OrderStarted",
        "OrderOrderAdded",
        "OrderMoved",
        "OrderAttachable",
        "OrderAttached",
        "OrderForked",
        "OrderDetachable",
        "OrderDetached",
        "OrderJoined",
        "OrderMoved",
        "OrderMoved",  # into the Options block
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",  # exit 3
        "OrderDetachable",
        "OrderDetached",
        "OrderStopped",
        "OrderResumed",
        "OrderMoved",
        "OrderFinished",
    ]
    keyed = [e for e in events if e.get("Key") == "o"]
    forked = next(e for e in keyed if e["TYPE"] == "OrderForked")
    assert forked["children"] == [
        {"TYPE": "ForkedChild", "orderId": "o|a", "arguments": {"x": "a", "i": 0}},
        {"TYPE": "ForkedChild", "orderId": "o|b", "arguments": {"x": "b", "i": 1}},
    ]
    order_added = next(e for e in keyed if e["TYPE"] == "OrderOrderAdded")
    assert order_added["orderId"] == "added" and order_added["deleteWhenTerminated"] is True
    processed = [e for e in keyed if e["TYPE"] == "OrderProcessed"]
    assert processed[0]["outcome"]["TYPE"] == "Failed"
    moved = [e["to"] for e in keyed if e["TYPE"] == "OrderMoved"]
    assert moved == [[1], [2], stopped_at, [3]]
    assert without_output(topology.order_events(events, "o|b")) == [
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
    ]
    assert without_output(topology.order_events(events, "added")) == [
        "OrderAttachable",
        "OrderAttached",
        "OrderStarted",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderFinished",
        "OrderDeleted",
    ]
