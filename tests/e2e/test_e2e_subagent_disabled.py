"""A disabled Subagent on real Controller and Agent processes (JS7's SubagentDisabledTest for the
Director's own Subagent, which the Cockpit's Agent disable/enable sets): orders reach the Agent but no
job starts while it is disabled — across a kill -9 of the Agent too —, a process already running goes
on to its end, and enabling it again starts the waiting orders."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.test_e2e_orders import execute, shell, workflow
from tests.e2e.topology import Topology

QUIET_S = 1.0  # long enough for a job on an idle Agent to have started many times over


def set_disabled(topology: Topology, disabled: bool) -> None:
    """Enabling sends the item as first deployed (no `disabled` field): the same JSON as before the disable
    must reach the Agent again."""
    director = next(i for i in topology.agent_items() if i["TYPE"] == "SubagentItem")
    item = {**director, "disabled": True} if disabled else director
    with topology.controller() as c:
        response = c.post("/controller/api/item", json=[{"TYPE": "AddOrChangeSimple", "item": item}])
    assert response.status_code == 200, response.text


def started(events: list[dict[str, Any]], order_id: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("Key") == order_id and e["TYPE"] == "OrderProcessingStarted"]


def test_a_disabled_director_subagent_starts_no_job_until_enabled(topology: Topology) -> None:
    w = workflow("w", execute(), J=shell("sleep 0.8\n"))
    assert topology.deploy(w, version="1").status_code == 200
    assert topology.add_order("running", "w").status_code == 201
    topology.wait_for(lambda es: bool(started(es, "running")))

    set_disabled(topology, True)
    assert topology.add_order("waiting", "w").status_code == 201
    events = topology.wait_for(lambda es: topology.terminated(es, "running"))
    assert [e["outcome"]["TYPE"] for e in events if e.get("Key") == "running" and e["TYPE"] == "OrderProcessed"] == [
        "Succeeded"
    ]
    events = topology.wait_for(lambda es: "OrderAttached" in topology.order_events(es, "waiting"))
    time.sleep(QUIET_S)
    assert not started(topology.events(), "waiting")

    topology.restart("agent")  # kill -9: the disabled flag is in the Agent's journal
    time.sleep(QUIET_S)
    assert not started(topology.events(), "waiting")

    set_disabled(topology, False)
    events = topology.wait_for(lambda es: topology.terminated(es, "waiting"))
    assert [e["subagentId"] for e in started(events, "waiting")] == ["agent-director"]
    assert topology.order_events(events, "waiting")[-1] == "OrderFinished"

    # Once more without a restart in between: each change reaches the Agent, also back to a JSON sent before.
    set_disabled(topology, True)
    assert topology.add_order("again", "w").status_code == 201
    topology.wait_for(lambda es: "OrderAttached" in topology.order_events(es, "again"))
    time.sleep(QUIET_S)
    assert not started(topology.events(), "again")
    set_disabled(topology, False)
    events = topology.wait_for(lambda es: topology.terminated(es, "again"))
    assert topology.order_events(events, "again")[-1] == "OrderFinished"
