"""The Controller's check of an Agent's events and their application afterwards (agent_driver): the
orders the check computed are taken when the events are applied, never a stale one."""

from __future__ import annotations

import copy

from js7es.domain.agent.translate import check_applicable
from js7es.domain.event import KeyedEvent
from js7es.domain.order.event_source import follow_up
from js7es.domain.order.events import (
    OrderAttached,
    OrderDetachable,
    OrderMoved,
    OrderProcessed,
    OrderProcessingStarted,
    OrderStarted,
)
from js7es.domain.order.order import Attachment
from js7es.domain.order.outcome import Succeeded
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState, PreApplied
from tests.domain.simulator import Simulator

SHELL = {"TYPE": "ShellScriptExecutable", "script": "exit 0"}
WORKFLOW = {
    "path": "W",
    "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
    "jobs": {"J": {"agentPath": "AGENT", "executable": SHELL}},
}


def attached_state() -> ControllerState:
    sim = Simulator()
    sim.deploy(WORKFLOW)
    for order_id in ("A", "B"):
        assert not isinstance(sim.add_order(order_id, "W"), Problem)
    sim.log.extend(follow_up(sim.state, list(sim.state.orders), sim.ctx()))  # OrderAttachable
    for order_id in ("A", "B"):  # the AgentDriver's part
        assert sim.state.apply_event(order_id, OrderAttached(agent_path="AGENT")) is None
    assert all(o.attached == Attachment(kind="Attached", agent_path="AGENT") for o in sim.state.orders.values())
    return sim.state


def agent_events() -> list[KeyedEvent]:
    return [
        KeyedEvent("A", OrderStarted()),
        KeyedEvent("B", OrderStarted()),
        KeyedEvent("A", OrderProcessingStarted(subagent_id="AGENT")),
        KeyedEvent("B", OrderProcessingStarted(subagent_id="AGENT")),
        KeyedEvent("A", OrderProcessed(outcome=Succeeded(named_values={"returnCode": 0}))),
        KeyedEvent("A", OrderMoved(to=(1,))),
        KeyedEvent("A", OrderDetachable()),
    ]


def test_applying_checked_events_takes_the_checked_orders_and_equals_applying_them() -> None:
    plain = attached_state()
    checked_state = copy.deepcopy(plain)
    events = agent_events()
    for keyed in events:
        assert plain.apply_event(keyed.key, keyed.event) is None

    checked: PreApplied = {}
    assert check_applicable(checked_state.orders, events, checked) is None
    assert len(checked) == len(events)
    with checked_state.applying_checked(checked):
        for keyed in events:
            assert checked_state.apply_event(keyed.key, keyed.event) is None
    assert checked_state == plain
    assert checked_state.orders == plain.orders
    # The orders in the state are the ones the check made, not computed a second time
    last_of = {k.key: checked[id(k.event)][2] for k in events}
    assert checked_state.orders["A"] is last_of["A"]
    assert checked_state.orders["B"] is last_of["B"]
    # Outside the block, nothing is taken from the check
    assert checked_state._checked is None


def test_a_checked_order_is_not_taken_for_another_order_object() -> None:
    """What the check computed on an order object that is not the state's (the order changed between
    check and application) is not used: the event is applied to the state's order."""
    plain = attached_state()
    other = copy.deepcopy(plain)
    events = agent_events()
    checked: PreApplied = {}
    assert check_applicable(other.orders, events, checked) is None  # on copies of the orders
    with plain.applying_checked(checked):
        for keyed in events:
            assert plain.apply_event(keyed.key, keyed.event) is None
    assert all(plain.orders[k.key] is not checked[id(k.event)][2] for k in events)
    expected = copy.deepcopy(other)
    for keyed in events:
        assert expected.apply_event(keyed.key, keyed.event) is None
    assert plain == expected
