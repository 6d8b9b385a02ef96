"""Subagents and Subagent clusters in the JOC API on a real `js7es cockpit` process over a real Controller and
Agent (issue 16): a Subagent and a SubagentBundle deployed at the Controller are projected into /agents
(the Agent's subagents with isDirector) and /agents/cluster (with priorities); disable/enable go through
the Controller (the SubagentItem's `disabled` changes and is projected); reset reaches the Agent, whose
SubagentResetStarted comes back; an unknown Subagent is refused with JOC's error. Each call is audited."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cockpit.api.test_operator_e2e import CONTROLLER_ID, Setup, setup, wait_until

pytestmark = pytest.mark.slow
__all__ = ["setup"]  # the module's Cockpit, Controller and Agent

REMOTE = {"TYPE": "SubagentItem", "id": "agent-2nd", "agentPath": "agent", "uri": "https://127.0.0.1:9"}
BUNDLE = {"TYPE": "SubagentBundle", "id": "pair", "subagentToPriority": {"agent-director": 2, "agent-2nd": 1}}


def read(setup: Setup, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = setup.client.post(path, json=body)  # a read: no audit comment
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def agent(setup: Setup) -> dict[str, Any]:
    """The Agent as projected, or {} while the Cockpit has not yet projected it (the module's Cockpit may
    still be catching up with the Controller when the first test starts)."""
    found = read(setup, "/agents", {"controllerId": CONTROLLER_ID, "agentIds": ["agent"]})["agents"]
    assert len(found) <= 1, found
    return found[0] if found else {}


def test_subagents_and_clusters_are_projected_and_commanded(setup: Setup) -> None:
    items = [{"TYPE": "AddOrChangeSimple", "item": i} for i in (REMOTE, BUNDLE)]
    with setup.topology.controller() as c:
        response = c.post("/controller/api/item", json=items)
    assert response.status_code == 200, response.text

    def subagents() -> list[tuple[str, str, bool]]:
        return [(s["subagentId"], s["isDirector"], s["disabled"]) for s in agent(setup).get("subagents", [])]

    wait_until(lambda: len(subagents()) == 2, "the Subagents projected")
    assert subagents() == [("agent-2nd", "NO_DIRECTOR", False), ("agent-director", "PRIMARY_DIRECTOR", False)]
    clusters = wait_until(
        lambda: read(setup, "/agents/cluster", {"controllerId": CONTROLLER_ID})["subagentClusters"], "the bundle"
    )
    assert [(c["subagentClusterId"], c["agentId"], c["subagentIds"]) for c in clusters] == [
        (
            "pair",
            "agent",
            [{"subagentId": "agent-director", "priority": "2"}, {"subagentId": "agent-2nd", "priority": "1"}],
        )
    ]

    body = {"controllerId": CONTROLLER_ID, "subagentIds": ["agent-2nd"]}
    setup.ok("/agents/inventory/cluster/subagents/disable", body)
    wait_until(lambda: ("agent-2nd", "NO_DIRECTOR", True) in subagents(), "disabled projected")
    setup.ok("/agents/inventory/cluster/subagents/enable", body)
    wait_until(lambda: ("agent-2nd", "NO_DIRECTOR", False) in subagents(), "enabled projected")
    error = setup.refused("/agents/inventory/cluster/subagents/disable", {**body, "subagentIds": ["ghost"]})
    assert "UnknownItem" in str(error)

    setup.ok("/agents/inventory/cluster/subagent/reset", {"controllerId": CONTROLLER_ID, "subagentId": "agent-2nd"})
    events = setup.topology.wait_for(
        lambda es: any(e["TYPE"] == "SubagentResetStarted" and e.get("Key") == "agent-2nd" for e in es)
    )
    assert [e["TYPE"] for e in events if e.get("Key") == "agent-2nd"] == [
        "SubagentResetStartedByController",
        "SubagentResetStarted",
    ]
    for request in ("/agents/inventory/cluster/subagents/disable", "/agents/inventory/cluster/subagent/reset"):
        # the audit log is a projection of the Cockpit store: the entry may land after the answer
        wait_until(lambda r=request: "operator test" in setup.audited_comments(r), f"{request} in the audit log")
