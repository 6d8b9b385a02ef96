"""Subagents and SubagentBundles as items on real Controller and Agent processes (issue 16): an
inconsistent deployment is refused as a whole through the Controller's API (coded problem, nothing
applied); Disable/EnableSubagents change the SubagentItem; ResetSubagent travels to the Agent, whose
SubagentResetStarted comes back; an order passes a StickySubagent block with a job naming a bundle."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.test_e2e_orders import execute, shell, workflow
from tests.e2e.topology import Topology

REMOTE = {"TYPE": "SubagentItem", "id": "agent-remote", "agentPath": "agent", "uri": "https://127.0.0.1:9"}
BUNDLE = {"TYPE": "SubagentBundle", "id": "bundle", "subagentToPriority": {"agent-director": 2, "agent-remote": 1}}


def post_items(topology: Topology, *operations: dict[str, Any]) -> Any:
    with topology.controller() as c:
        return c.post("/controller/api/item", json=list(operations))


def simple(item: dict[str, Any]) -> dict[str, Any]:
    return {"TYPE": "AddOrChangeSimple", "item": item}


def snapshot_items(topology: Topology) -> dict[str, dict[str, Any]]:
    with topology.controller() as c:
        response = c.get("/controller/api/snapshot")
    assert response.status_code == 200, response.text
    objects = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    items = [o["item"] for o in objects if o.get("TYPE") == "SimpleItem"]
    return {f"{i['TYPE']}:{i.get('id') or i.get('path')}": i for i in items}


def test_bundles_deploy_refusals_are_whole_and_subagent_commands_reach_the_agent(topology: Topology) -> None:
    sticky = {
        "TYPE": "StickySubagent",
        "agentPath": "agent",
        "subagentBundleIdExpr": "'bundle'",
        "subworkflow": {"instructions": [execute(), execute()]},
    }
    w = workflow("w", sticky, J=shell("true\n", subagentBundleIdExpr="'bundle'"))
    deployed = topology.deploy(w, version="1")
    assert deployed.status_code == 400  # the workflow names a bundle that is not there yet
    assert deployed.json()["code"] == "UnknownItem"
    assert deployed.json()["arguments"]["key"] == "SubagentBundle:bundle"
    assert topology.deploy(version="0").status_code == 200
    response = post_items(topology, {"TYPE": "AddVersion", "versionId": "1"}, simple(REMOTE), simple(BUNDLE), simple(w))
    assert response.status_code == 200, response.text
    assert {"SubagentItem:agent-remote", "SubagentBundle:bundle"} <= set(snapshot_items(topology))

    refusals = [
        ([simple({**BUNDLE, "id": "b2", "subagentToPriority": {"ghost": 1}})], "UnknownItem"),
        ([simple({**REMOTE, "id": "lost", "agentPath": "nowhere"})], "UnknownItem"),
        ([simple({"TYPE": "AgentRef", "path": "agent-2", "directors": ["agent-remote"]})], "InvalidItem"),
        ([{"TYPE": "DeleteSimple", "path": "SubagentItem:agent-remote"}], "ItemIsStillReferenced"),
        ([{"TYPE": "DeleteSimple", "path": "SubagentBundle:bundle"}], "UnknownItem"),  # the workflow names it
    ]
    for operations, code in refusals:
        before = snapshot_items(topology)
        refused = post_items(topology, simple({"TYPE": "JobResource", "path": "R", "variables": {}}), *operations)
        assert refused.status_code == 400, refused.text
        assert refused.json()["code"] == code, refused.text
        assert snapshot_items(topology) == before  # not even the JobResource

    assert topology.add_order("o", "w").status_code == 201
    events = topology.wait_for(lambda es: topology.terminated(es, "o"))
    names = topology.order_events(events, "o")
    assert names[0:2] == ["OrderAdded", "OrderStickySubagentEntered"]
    assert names.count("OrderProcessingStarted") == 2 and "OrderStickySubagentLeaved" in names
    assert names[-1] == "OrderFinished"

    assert topology.command({"TYPE": "DisableSubagents", "subagentIds": ["agent-remote"]}).status_code == 200
    assert snapshot_items(topology)["SubagentItem:agent-remote"]["disabled"] is True
    assert topology.command({"TYPE": "EnableSubagents", "subagentIds": ["agent-remote"]}).status_code == 200
    assert snapshot_items(topology)["SubagentItem:agent-remote"]["disabled"] is False
    unknown = topology.command({"TYPE": "EnableSubagents", "subagentIds": ["ghost"]})
    assert unknown.status_code == 400 and unknown.json()["code"] == "UnknownItem"

    director = topology.command({"TYPE": "ResetSubagent", "subagentId": "agent-director"})
    assert director.status_code == 400 and director.json()["code"] == "SubagentIsDirector"
    assert topology.command({"TYPE": "ResetSubagent", "subagentId": "agent-remote", "force": True}).status_code == 200
    events = topology.wait_for(
        lambda es: any(e["TYPE"] == "SubagentResetStarted" and e.get("Key") == "agent-remote" for e in es)
    )
    resets = [(e["TYPE"], e.get("force")) for e in events if e.get("Key") == "agent-remote"]
    assert resets == [("SubagentResetStartedByController", True), ("SubagentResetStarted", True)]

    # Deleted together (the workflow first, which names the bundle): the Agent has them detached.
    deleted = post_items(
        topology,
        {"TYPE": "RemoveVersioned", "path": "w"},
        {"TYPE": "DeleteSimple", "path": "SubagentBundle:bundle"},
        {"TYPE": "DeleteSimple", "path": "SubagentItem:agent-remote"},
    )
    assert deleted.status_code == 200, deleted.text
    wanted = {"SubagentBundle:bundle", "SubagentItem:agent-remote"}
    topology.wait_for_agent(lambda es: {e.get("key") for e in es if e["TYPE"] == "ItemDetachedFromMe"} == wanted)
