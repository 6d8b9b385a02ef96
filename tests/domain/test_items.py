"""Deploying items: versioned workflows, agent refs, subagents and job resources, all or nothing."""

from __future__ import annotations

import json
from typing import Any

from js7es.domain.commands.items import UpdateItems
from js7es.domain.items import (
    ItemDeleted,
    SignedItemAdded,
    SignedItemChanged,
    UnsignedSimpleItemAdded,
    UnsignedSimpleItemChanged,
    VersionAdded,
    VersionedItemAdded,
    VersionedItemChanged,
    VersionedItemRemoved,
)
from js7es.domain.problem import Problem
from js7es.domain.value import value_from_json
from js7es.domain.workflow.workflow import WorkflowId
from tests.domain.simulator import Simulator

AGENT = {"TYPE": "AgentRef", "path": "A", "directors": ["A-1"]}
SUBAGENT = {"TYPE": "SubagentItem", "id": "A-1", "agentPath": "A", "uri": "https://a:4443"}
RESOURCE = {"TYPE": "JobResource", "path": "R", "variables": {"x": "'1'"}, "env": {"X": "$x"}}
WORKFLOW = {
    "path": "W",
    "jobResourcePaths": ["R"],
    "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
    "jobs": {"J": {"agentPath": "A", "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}}},
}


def update(sim: Simulator, *operations: dict[str, Any]) -> Any:
    return sim.command(UpdateItems(operations=tuple(value_from_json(o) for o in operations)))


def simple(item: dict[str, Any]) -> dict[str, Any]:
    return {"TYPE": "AddOrChangeSimple", "item": item}


def signed(item: dict[str, Any]) -> dict[str, Any]:
    return {"TYPE": "AddOrChangeSigned", "signedString": {"string": json.dumps(item), "signature": {"TYPE": "Silly"}}}


def test_deploy_all_kinds_then_change_them() -> None:
    sim = Simulator()
    added = update(
        sim,
        {"TYPE": "AddVersion", "versionId": "1"},
        simple(AGENT),
        simple(SUBAGENT),
        signed(RESOURCE),
        signed(WORKFLOW),
    )
    assert not isinstance(added, Problem), added
    assert [type(k.event) for k in added.events] == [
        VersionAdded,
        UnsignedSimpleItemAdded,
        UnsignedSimpleItemAdded,
        SignedItemAdded,
        VersionedItemAdded,
    ]
    assert {k.key for k in added.events} == {""}  # item events are not keyed, as in JS7
    changed = update(
        sim,
        {"TYPE": "AddVersion", "versionId": "2"},
        simple({**AGENT, "uri": "https://a:4444"}),
        signed({**RESOURCE, "variables": {"x": "'2'"}}),
        signed(WORKFLOW),
    )
    assert not isinstance(changed, Problem), changed
    assert [type(k.event) for k in changed.events] == [
        VersionAdded,
        UnsignedSimpleItemChanged,
        SignedItemChanged,
        VersionedItemChanged,
        ItemDeleted,
    ]
    assert changed.events[-1].event == ItemDeleted(key="Workflow:W~1")  # no order used it
    assert sim.state.agent_refs["A"].uri == "https://a:4444"
    assert sim.state.job_resources["R"].variables == {"x": "'2'"}
    assert set(sim.state.workflows) == {WorkflowId("W", "2")}


def test_references_are_checked_and_a_refusal_changes_nothing() -> None:
    sim = Simulator()
    missing_resource = update(sim, {"TYPE": "AddVersion", "versionId": "1"}, simple(AGENT), signed(WORKFLOW))
    assert isinstance(missing_resource, Problem) and missing_resource.arguments["key"] == "JobResource:R"
    orphan = update(sim, simple(SUBAGENT))
    assert isinstance(orphan, Problem) and orphan.code == "UnknownItem"  # as a workflow's unknown AgentRef
    assert sim.state.agent_refs == {} and sim.state.versions == [] and sim.log == []


def test_an_agent_used_by_a_workflow_cannot_be_deleted_until_the_workflow_is_removed() -> None:
    sim = Simulator()
    update(sim, {"TYPE": "AddVersion", "versionId": "1"}, simple(AGENT), signed(RESOURCE), signed(WORKFLOW))
    refused = update(sim, {"TYPE": "DeleteSimple", "path": "AgentRef:A"})
    assert isinstance(refused, Problem) and refused.code == "UnknownItem" and "AgentRef:A" in refused.message
    removed = update(sim, {"TYPE": "RemoveVersioned", "path": "W"}, {"TYPE": "DeleteSimple", "path": "AgentRef:A"})
    assert not isinstance(removed, Problem), removed
    assert [type(k.event) for k in removed.events] == [VersionedItemRemoved, ItemDeleted, ItemDeleted]
    assert sim.state.agent_refs == {} and sim.state.workflows == {}


def test_bad_operations_are_refused_with_codes() -> None:
    sim = Simulator()
    cases = [
        ({"TYPE": "Nope"}, "InvalidItemOperation"),
        ({"TYPE": "AddVersion", "versionId": "a~b"}, "InvalidVersionId"),
        ({"TYPE": "AddOrChangeSigned", "signedString": {"string": "{not json"}}, "InvalidItemOperation"),
        (simple({"TYPE": "NoSuchItem", "path": "L"}), "UnknownItemType"),
        (simple({"TYPE": "AgentRef", "path": "bad path"}), "InvalidItem"),
        ({"TYPE": "DeleteSimple", "path": "AgentRef:none"}, "UnknownItem"),
        ({"TYPE": "RemoveVersioned", "path": "none"}, "UnknownItem"),
        (simple({"path": "X", "instructions": []}), "MissingVersionId"),
    ]
    for operation, code in cases:
        result = update(sim, operation)
        assert isinstance(result, Problem) and result.code == code, (operation, result)
    update(sim, {"TYPE": "AddVersion", "versionId": "1"})
    again = update(sim, {"TYPE": "AddVersion", "versionId": "1"})
    assert isinstance(again, Problem) and again.code == "DuplicateVersion"


def test_item_fields_js7es_does_not_implement_are_refused_not_ignored() -> None:
    """An AgentRef's processLimit (js7es takes it from agent.toml) would run differently than JS7 runs
    it: refused as NotSupported, and nothing changes. A disabled subagent is JS7's: accepted."""
    sim = Simulator()
    refused = update(sim, simple(AGENT), simple({**AGENT, "processLimit": 3}))
    assert isinstance(refused, Problem) and refused.code == "NotSupported", refused
    assert sim.state.agent_refs == {} and sim.log == []
    bad = update(sim, simple(AGENT), simple({**SUBAGENT, "disabled": "yes"}))
    assert isinstance(bad, Problem) and bad.code == "InvalidItem", bad
    assert not isinstance(update(sim, simple(AGENT), simple({**SUBAGENT, "disabled": True})), Problem)
    assert sim.state.subagents[SUBAGENT["id"]].disabled
    assert not isinstance(update(sim, simple({**SUBAGENT, "disabled": False})), Problem)
    assert not sim.state.subagents[SUBAGENT["id"]].disabled
