"""GoOrder: an order waiting for a time goes on now. JS7's AddOrderTest (a scheduled order on its Agent),
SleepTest and RetryTest ("GoOrder when waiting in Retry") as the oracle."""

from __future__ import annotations

from typing import Any

from js7es.domain.commands import Decided
from js7es.domain.commands.change_order import GoOrder
from js7es.domain.order import events as ev
from js7es.domain.order import states as st
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from tests.domain.simulator import Simulator

SHELL = {"TYPE": "ShellScriptExecutable", "script": "exit 0"}
JOB = {"TYPE": "Execute.Named", "jobName": "J"}
YEAR_MS = 365 * 24 * 3600 * 1000


def workflow(*instructions: dict[str, Any]) -> dict[str, Any]:
    return {"path": "W", "instructions": list(instructions), "jobs": {"J": {"agentPath": "AGENT", "executable": SHELL}}}


def go(sim: Simulator, order_id: str, position: tuple[int | str, ...]) -> Decided | Problem:
    decided = sim.command(GoOrder(order_id=order_id, position=position))
    if not isinstance(decided, Problem):
        sim.run()
    return decided


def test_a_scheduled_order_on_its_agent_goes_as_in_js7() -> None:
    """JS7's AddOrderTest: OrderGoMarked on the Controller, then OrderGoes and OrderStarted on the Agent."""
    sim = Simulator()
    sim.deploy(workflow(JOB))
    sim.add_order("A", "W", scheduled_for=sim.now_ms + 100 * YEAR_MS, delete_when_terminated=True)
    sim.step()
    assert not isinstance(go(sim, "A", (0,)), Problem)
    assert sim.events_of("A") == [
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
    assert ev.OrderGoMarked(position=(0,)) in sim.typed_events_of("A")
    assert sim.state.orders == {}


def test_a_sleeping_order_goes() -> None:
    """JS7's SleepTest: OrderGoes, then the order moves past the Sleep (js7es's sleep ends without
    OrderAwoke, so GoOrder's does too)."""
    sim = Simulator()
    sim.deploy(workflow({"TYPE": "Sleep", "duration": "3600"}))
    start = sim.now_ms
    sim.add_order("A", "W")
    sim.step()
    assert isinstance(sim.state.orders["A"].state, st.Sleeping)
    assert not isinstance(go(sim, "A", (0,)), Problem)
    assert sim.events_of("A") == [
        "OrderAdded",
        "OrderStarted",
        "OrderSleeping",
        "OrderGoes",
        "OrderMoved",
        "OrderFinished",
    ]
    assert sim.now_ms == start  # not by the clock


def test_an_order_delaying_its_retry_goes_and_wrong_positions_are_refused() -> None:
    """JS7's "GoOrder when waiting in Retry": a wrong position is GoOrderInapplicable; at its position the
    order goes (OrderGoes, OrderAwoke) and tries again."""
    sim = Simulator()
    retry = {
        "TYPE": "Try",
        "try": {"instructions": [{"TYPE": "Fail"}]},
        "catch": {"instructions": [{"TYPE": "Retry"}]},
        "retryDelays": [3600],
        "maxTries": 2,
    }
    sim.deploy(workflow(retry))
    sim.add_order("A", "W")
    sim.step()
    order = sim.state.orders["A"]
    assert isinstance(order.state, st.DelayingRetry)
    wrong = go(sim, "A", (0, "try+999", 0))
    assert isinstance(wrong, Problem) and wrong.code == "GoOrderInapplicable"
    assert not isinstance(go(sim, "A", order.position), Problem)
    names = sim.events_of("A")
    after = names[names.index("OrderRetrying") :]
    assert after[:4] == ["OrderRetrying", "OrderGoes", "OrderAwoke", "OrderOutcomeAdded"]  # tried again
    assert after[-1] == "OrderFailed"  # (js7es catches the second failure before Retry gives up)
    assert after.count("OrderRetrying") == 1


def test_refusals_and_replay() -> None:
    sim = Simulator()
    sim.deploy(workflow({"TYPE": "Prompt", "question": "'?'"}))
    unknown = go(sim, "NONE", (0,))
    assert isinstance(unknown, Problem) and unknown.code == "UnknownOrder"
    sim.add_order("P", "W")
    sim.run()
    not_waiting = go(sim, "P", (0,))  # prompting: waits for a person, not for a time
    assert isinstance(not_waiting, Problem) and not_waiting.code == "GoOrderInapplicable"
    sim.add_order("S", "W", scheduled_for=sim.now_ms + YEAR_MS)  # at the Controller (a Prompt first)
    sim.step()
    assert not isinstance(go(sim, "S", (0,)), Problem)
    assert sim.events_of("S") == ["OrderAdded", "OrderGoes", "OrderStarted", "OrderPrompted"]
    replayed = ControllerState()
    for keyed in sim.log:
        assert replayed.apply_event(keyed.key, keyed.event) is None
    assert replayed == sim.state
