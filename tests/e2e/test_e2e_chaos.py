"""kill -9 of the Controller or the Agent while orders flow: nothing committed is lost, no job whose
end was journaled runs again, and every accepted order finishes exactly once."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.topology import Topology

pytestmark = pytest.mark.slow


def side_effect_workflow(path: str, log: Path, *, seconds: float = 0.0, restartable: bool = True) -> dict[str, Any]:
    """Each order appends its id to `log` when its job ends: the side effect we count."""
    script = (f"sleep {seconds}\n" if seconds else "") + f'echo "$JS7_ORDER_ID" >> "{log}"\n'
    job = {
        "agentPath": "agent",
        "executable": {"TYPE": "ShellScriptExecutable", "script": script},
        "processLimit": 8,
        "isNotRestartable": not restartable,
    }
    return {"path": path, "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}], "jobs": {"J": job}}


class OrderFeeder(threading.Thread):
    """Adds orders one by one; an order counts as accepted when the Controller answered 201."""

    def __init__(self, topology: Topology, workflow: str, prefix: str) -> None:
        super().__init__(daemon=True)
        self.topology = topology
        self.workflow = workflow
        self.prefix = prefix
        self.accepted: list[str] = []
        self.attempted: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        client = self.topology.controller()
        try:
            while not self.stop.is_set():
                order_id = f"{self.prefix}-{n}"
                self.attempted.append(order_id)
                try:
                    response = client.post(
                        "/controller/api/order", json={"id": order_id, "workflowPath": self.workflow}
                    )
                except httpx.HTTPError:
                    time.sleep(0.05)
                    client.close()
                    client = self.topology.controller()
                    continue  # not acknowledged: it may or may not have been added
                if response.status_code == 201:
                    self.accepted.append(order_id)
                    n += 1
                elif response.status_code == 409:
                    n += 1  # added by the attempt whose answer was lost
                time.sleep(0.01)
        finally:
            client.close()


def finished_orders(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["Key"] for e in events if e["TYPE"] == "OrderFinished")


def lines(path: Path) -> Counter[str]:
    return Counter(path.read_text().split()) if path.exists() else Counter()


def test_controller_killed_repeatedly_while_orders_flow(topology: Topology) -> None:
    log = topology.root / "side-effects.log"
    topology.deploy(side_effect_workflow("chaos", log), version="1")
    feeder = OrderFeeder(topology, "chaos", "c")
    feeder.start()
    rng = random.Random(7)
    for _ in range(5):
        time.sleep(rng.uniform(0.5, 1.5))
        topology.restart("controller")  # kill -9, then start again
    time.sleep(0.5)
    feeder.stop.set()
    feeder.join(timeout=30)
    assert len(feeder.accepted) > 20
    events = topology.wait_for(lambda es: set(feeder.accepted) <= set(finished_orders(es)), timeout=90)
    finished = finished_orders(events)
    assert all(count == 1 for count in finished.values()), [o for o, c in finished.items() if c > 1]
    effects = lines(log)
    assert all(effects[o] == 1 for o in feeder.accepted), {o: effects[o] for o in feeder.accepted if effects[o] != 1}
    assert set(effects) <= set(feeder.attempted)
    assert all(count == 1 for count in effects.values())  # no job ran twice
    assert set(effects) == set(finished)


@pytest.mark.parametrize("restartable", [True, False])
def test_agent_killed_repeatedly_while_orders_flow(topology: Topology, restartable: bool) -> None:
    log = topology.root / "side-effects.log"
    topology.deploy(side_effect_workflow("chaos", log, seconds=0.2, restartable=restartable), version="1")
    feeder = OrderFeeder(topology, "chaos", "a")
    feeder.start()
    rng = random.Random(11)
    for _ in range(4):
        time.sleep(rng.uniform(0.5, 1.5))
        topology.restart("agent")
    time.sleep(0.5)
    feeder.stop.set()
    feeder.join(timeout=30)
    assert len(feeder.accepted) > 20

    def ended(events: list[dict[str, Any]]) -> bool:
        done = {e["Key"] for e in events if e["TYPE"] in ("OrderFinished", "OrderFailed")}
        return set(feeder.accepted) <= done

    events = topology.wait_for(ended, timeout=90)
    lost = Counter(e["Key"] for e in events if e["TYPE"] == "OrderProcessed" and e["outcome"]["TYPE"] == "Disrupted")
    finished = finished_orders(events)
    failed = Counter(e["Key"] for e in events if e["TYPE"] == "OrderFailed")
    assert all(c == 1 for c in (finished + failed).values())  # every order ended exactly once
    effects = lines(log)
    for order_id in feeder.accepted:
        # A step's end that was journaled never runs again; a lost process may have written its line
        # before the Agent died, so it can appear once more per ProcessLost — but only then.
        assert effects[order_id] <= 1 + lost[order_id], (order_id, effects[order_id], lost[order_id])
        if restartable:
            assert finished[order_id] == 1 and effects[order_id] >= 1
        else:
            assert (finished[order_id] == 1) != (lost[order_id] > 0)  # a lost, not restartable step fails
    if not restartable:
        assert set(failed) == set(lost)


def test_the_agent_runs_on_while_the_controller_is_down(topology: Topology) -> None:
    log = topology.root / "side-effects.log"
    two_steps = side_effect_workflow("steps", log, seconds=0.3)
    two_steps["instructions"] = [{"TYPE": "Execute.Named", "jobName": "J"}, {"TYPE": "Execute.Named", "jobName": "J"}]
    topology.deploy(two_steps, version="1")
    ids = [f"d-{i}" for i in range(10)]
    with topology.controller() as c:
        response = c.post("/controller/api/order", json=[{"id": i, "workflowPath": "steps"} for i in ids])
        assert response.status_code == 200, response.text
    topology.wait_for(lambda es: all("OrderAttached" in topology.order_events(es, i) for i in ids))
    topology.kill("controller")
    deadline = time.monotonic() + 30
    while sum(lines(log)[i] for i in ids) < 2 * len(ids):  # both steps of every order, by the Agent alone
        assert time.monotonic() < deadline, lines(log)
        time.sleep(0.05)
    topology.start("controller")
    events = topology.wait_for(lambda es: topology.terminated(es, *ids))
    for order_id in ids:
        names = [n for n in topology.order_events(events, order_id) if n not in ("OrderStdoutWritten",)]
        assert names.count("OrderProcessed") == 2 and names[-1] == "OrderFinished"
    assert all(lines(log)[i] == 2 for i in ids)


def test_a_process_lost_with_the_agent_repeats_the_step_or_fails_when_not_restartable(topology: Topology) -> None:
    log = topology.root / "side-effects.log"
    topology.deploy(
        side_effect_workflow("again", log, seconds=2),
        side_effect_workflow("once", log, seconds=2, restartable=False),
        version="1",
    )
    topology.add_order("again-1", "again")
    topology.add_order("once-1", "once")
    topology.wait_for(
        lambda es: all("OrderProcessingStarted" in topology.order_events(es, o) for o in ("again-1", "once-1"))
    )
    topology.restart("agent")
    events = topology.wait_for(lambda es: topology.terminated(es, "again-1", "once-1"))
    again = topology.order_events(events, "again-1")
    assert again.count("OrderProcessingStarted") == 2 and again[-1] == "OrderFinished"
    lost = next(e for e in events if e.get("Key") == "again-1" and e["TYPE"] == "OrderProcessed")
    assert lost["outcome"] == {"TYPE": "Disrupted", "reason": "ProcessLost", "message": "Agent restarted"}
    once = topology.order_events(events, "once-1")
    assert once.count("OrderProcessingStarted") == 1 and once[-1] == "OrderFailed"
    assert lines(log) == Counter({"again-1": 1})  # the killed processes never wrote their line
