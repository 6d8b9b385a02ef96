"""SubagentBundle items and the consistency of Agents, Subagents and bundles in one deployment (issue 16):
a deployment that breaks it is refused as a whole with a coded problem and changes nothing; the
Subagent commands (ResetSubagent, Enable/DisableSubagents); snapshots keep it all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.agent.subagent_events import SubagentResetStarted, SubagentResetStartedByController
from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.subagent_references import constant_bundle_id
from js7es.domain.commands.subagents import DisableSubagents, EnableSubagents, ResetSubagent
from js7es.domain.items import SubagentBundle, parse_simple_item
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json
from tests.domain.simulator import Simulator

SAMPLES = Path(__file__).parents[1] / "fixtures" / "js7-samples"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return loaded


AGENT_1, AGENT_2 = sample("agent-1.agent.json"), sample("agent-2.agent.json")
SUBAGENTS_1 = [sample(f"subagent-1{x}.subagent.json") for x in "abc"]
SUBAGENT_2A = sample("subagent-2a.subagent.json")
BUNDLE = {
    "TYPE": "SubagentBundle",
    "id": "bundle-1",
    "subagentToPriority": {
        "subagent-1a": 3,
        "subagent-1b": 2,
        "subagent-1c": "if ($js7SubagentProcessCount < 10) then 1 else 0",
    },
}


def simple(item: dict[str, Any]) -> dict[str, Any]:
    return {"TYPE": "AddOrChangeSimple", "item": item}


def delete(key: str) -> dict[str, Any]:
    return {"TYPE": "DeleteSimple", "path": key}


def update(sim: Simulator, *operations: dict[str, Any]) -> Any:
    return sim.command(UpdateItems(operations=tuple(value_from_json(o) for o in operations)))


def workflow(bundle_expr: str | None = None, *, constant: str | None = None) -> dict[str, Any]:
    job: dict[str, Any] = {"agentPath": "agent-1", "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}}
    if bundle_expr is not None:
        job["subagentBundleIdExpr"] = bundle_expr
    if constant is not None:
        job["subagentSelectionId"] = constant  # JS7's constant form up to 2.7.1
    item = {"path": "W", "instructions": [{"TYPE": "Execute.Anonymous", "job": job}]}
    return {"TYPE": "AddOrChangeSigned", "signedString": {"string": json.dumps(item)}}


def deployed() -> Simulator:
    """The JS7 sample items, unchanged, and a bundle over agent-1's three Subagents."""
    sim = Simulator()
    added = update(sim, *map(simple, [AGENT_1, AGENT_2, *SUBAGENTS_1, SUBAGENT_2A, BUNDLE]))
    assert not isinstance(added, Problem), added
    return sim


def test_parse_a_bundle_with_numbers_and_expressions_and_the_old_name() -> None:
    bundle = parse_simple_item(BUNDLE)
    assert isinstance(bundle, SubagentBundle)
    assert bundle.key == "SubagentBundle:bundle-1"
    assert bundle.subagent_to_priority == {
        "subagent-1a": "3",
        "subagent-1b": "2",
        "subagent-1c": "if ($js7SubagentProcessCount < 10) then 1 else 0",
    }
    old = parse_simple_item({**BUNDLE, "TYPE": "SubagentSelection"})
    assert isinstance(old, SubagentBundle) and old.raw["TYPE"] == "SubagentBundle"


@pytest.mark.parametrize(
    "bad",
    [
        {"TYPE": "SubagentBundle", "id": "b"},
        {"TYPE": "SubagentBundle", "id": "b", "subagentToPriority": {}},
        {"TYPE": "SubagentBundle", "id": "b", "subagentToPriority": {"s": "1 +"}},
        {"TYPE": "SubagentBundle", "id": "b", "subagentToPriority": {"s": True}},
        {"TYPE": "SubagentBundle", "id": "b", "subagentToPriority": {"a/b": 1}},
        {"TYPE": "SubagentBundle", "id": "", "subagentToPriority": {"s": 1}},
    ],
)
def test_a_bad_bundle_is_refused_with_a_coded_problem(bad: dict[str, Any]) -> None:
    refused = parse_simple_item(bad)
    assert isinstance(refused, Problem) and refused.code in ("InvalidItem", "InvalidExpression")


def test_the_js7_samples_and_a_bundle_deploy_and_survive_a_snapshot() -> None:
    sim = deployed()
    assert set(sim.state.agent_refs) == {"agent-1", "agent-2"}
    assert set(sim.state.subagents) == {"subagent-1a", "subagent-1b", "subagent-1c", "subagent-2a"}
    assert set(sim.state.subagent_bundles) == {"bundle-1"}
    restored = ControllerState.from_snapshot(sim.state.snapshot_objects())
    assert restored == sim.state and set(restored.subagent_bundles) == {"bundle-1"}


@pytest.mark.parametrize(
    ("name", "operations", "code", "key"),
    [
        (
            "a bundle naming an unknown Subagent",
            [simple({**BUNDLE, "subagentToPriority": {"subagent-1a": 1, "ghost": 2}})],
            "UnknownItem",
            "SubagentItem:ghost",
        ),
        (
            "a bundle over two Agents",
            [simple({**BUNDLE, "subagentToPriority": {"subagent-1a": 1, "subagent-2a": 1}})],
            "InvalidItem",
            "SubagentBundle:bundle-1",
        ),
        (
            "a Subagent of an unknown Agent",
            [simple({**SUBAGENT_2A, "id": "subagent-9", "agentPath": "agent-9"})],
            "UnknownItem",
            "AgentRef:agent-9",
        ),
        (
            "an AgentRef whose Director is another Agent's Subagent",
            [simple({"TYPE": "AgentRef", "path": "agent-3", "directors": ["subagent-1c"]})],
            "InvalidItem",
            "AgentRef:agent-3",
        ),
        ("deleting a Subagent a bundle uses", [delete("SubagentItem:subagent-1c")], "ItemIsStillReferenced", None),
        ("deleting a Director's Subagent", [delete("SubagentItem:subagent-2a")], "ItemIsStillReferenced", None),
        ("deleting an Agent with Subagents", [delete("AgentRef:agent-2")], "ItemIsStillReferenced", None),
        (
            "a job naming neither bundle nor Subagent",
            [{"TYPE": "AddVersion", "versionId": "1"}, workflow("'nowhere'")],
            "UnknownItem",
            "SubagentBundle:nowhere",
        ),
        (
            "the same by the old constant",
            [{"TYPE": "AddVersion", "versionId": "1"}, workflow(constant="nowhere")],
            "UnknownItem",
            "SubagentBundle:nowhere",
        ),
        ("deleting an unknown bundle", [delete("SubagentBundle:nope")], "UnknownItem", "SubagentBundle:nope"),
    ],
)
def test_an_inconsistent_deployment_is_refused_as_a_whole(
    name: str, operations: list[dict[str, Any]], code: str, key: str | None
) -> None:
    sim = deployed()
    before, log = sim.state.state_hash(), list(sim.log)
    # a harmless item first: nothing of the deployment may be applied
    refused = update(sim, simple({"TYPE": "JobResource", "path": "R", "variables": {}}), *operations)
    assert isinstance(refused, Problem), name
    assert refused.code == code, refused
    if key is not None:
        assert refused.arguments.get("key") == key, refused
    assert sim.state.state_hash() == before and sim.log == log and "R" not in sim.state.job_resources


@pytest.mark.parametrize(
    "job", [workflow("'bundle-1'"), workflow("'subagent-1b'"), workflow(constant="bundle-1"), workflow("$which")]
)
def test_a_job_may_name_a_bundle_or_a_subagent_or_compute_it(job: dict[str, Any]) -> None:
    sim = deployed()
    assert not isinstance(update(sim, {"TYPE": "AddVersion", "versionId": "1"}, job), Problem)


def test_a_bundle_a_workflow_names_is_deleted_only_with_the_workflow() -> None:
    sim = deployed()
    assert not isinstance(update(sim, {"TYPE": "AddVersion", "versionId": "1"}, workflow("'bundle-1'")), Problem)
    refused = update(sim, delete("SubagentBundle:bundle-1"))
    assert isinstance(refused, Problem) and refused.code == "UnknownItem"  # the workflow would name nothing
    both = update(sim, {"TYPE": "RemoveVersioned", "path": "W"}, delete("SubagentBundle:bundle-1"))
    assert not isinstance(both, Problem), both
    assert sim.state.subagent_bundles == {}


def test_bundle_and_its_subagent_go_together() -> None:
    sim = deployed()
    both = update(sim, delete("SubagentBundle:bundle-1"), delete("SubagentItem:subagent-1c"))
    assert not isinstance(both, Problem), both
    assert "subagent-1c" not in sim.state.subagents and "bundle-1" not in sim.state.subagent_bundles


def test_constant_bundle_ids() -> None:
    assert constant_bundle_id("'b'") == "b"
    assert constant_bundle_id("'b' ++ '1'") == "b1"
    assert constant_bundle_id("$x") is None
    assert constant_bundle_id(None) is None


def test_enable_and_disable_subagents_change_their_items() -> None:
    sim = deployed()
    disabled = sim.command(DisableSubagents(subagent_ids=("subagent-1b", "subagent-1c")))
    assert not isinstance(disabled, Problem), disabled
    assert [sim.state.subagents[i].disabled for i in ("subagent-1a", "subagent-1b", "subagent-1c")] == [
        False,
        True,
        True,
    ]
    again = sim.command(DisableSubagents(subagent_ids=("subagent-1b",)))
    assert not isinstance(again, Problem) and again.events == ()
    assert not isinstance(sim.command(EnableSubagents(subagent_ids=("subagent-1b",))), Problem)
    assert not sim.state.subagents["subagent-1b"].disabled
    unknown = sim.command(EnableSubagents(subagent_ids=("subagent-1b", "ghost")))
    assert isinstance(unknown, Problem) and unknown.code == "UnknownItem"
    assert not sim.state.subagents["subagent-1b"].disabled


def test_reset_subagent_is_pending_until_the_agent_starts_it() -> None:
    sim = deployed()
    decided = sim.command(ResetSubagent(subagent_id="subagent-1c", force=True))
    assert not isinstance(decided, Problem), decided
    assert [(k.key, k.event) for k in decided.events] == [("subagent-1c", SubagentResetStartedByController(force=True))]
    assert sim.state.subagent_resets == {"subagent-1c": True}
    again = sim.command(ResetSubagent(subagent_id="subagent-1c", force=True))
    assert not isinstance(again, Problem) and again.events == ()
    restored = ControllerState.from_snapshot(sim.state.snapshot_objects())
    assert restored.subagent_resets == {"subagent-1c": True}
    assert sim.state.apply_event("subagent-1c", SubagentResetStarted(force=True)) is None  # adopted from the Agent
    assert sim.state.subagent_resets == {}


@pytest.mark.parametrize(("subagent_id", "code"), [("subagent-1a", "SubagentIsDirector"), ("ghost", "UnknownItem")])
def test_reset_subagent_refusals(subagent_id: str, code: str) -> None:
    refused = deployed().command(ResetSubagent(subagent_id=subagent_id))
    assert isinstance(refused, Problem) and refused.code == code
