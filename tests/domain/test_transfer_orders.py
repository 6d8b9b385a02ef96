"""TransferOrders: orders of an older workflow version continue in the current one. JS7's
TransferOrderTest (js7-tests/.../TransferOrderTest.scala) as the oracle."""

from __future__ import annotations

from typing import Any

from js7es.domain.commands.orders import AnswerOrderPrompt
from js7es.domain.commands.transfer import TransferOrders
from js7es.domain.items import ItemDeleted
from js7es.domain.order import events as ev
from js7es.domain.order import states as st
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.workflow.workflow import WorkflowId
from tests.domain.simulator import Simulator

SHELL = {"TYPE": "ShellScriptExecutable", "script": "exit 0"}
JOB = {"TYPE": "Execute.Named", "jobName": "J"}
V1, V2 = WorkflowId("W", "v1"), WorkflowId("W", "v2")


def prompt(question: str = "?") -> dict[str, Any]:
    return {"TYPE": "Prompt", "question": f"'{question}'"}


def workflow(*instructions: dict[str, Any]) -> dict[str, Any]:
    return {"path": "W", "instructions": list(instructions), "jobs": {"J": {"agentPath": "AGENT", "executable": SHELL}}}


def transfer(sim: Simulator, wid: WorkflowId = V1) -> Any:
    decided = sim.command(TransferOrders(workflow_id=wid))
    if not isinstance(decided, Problem):
        sim.run()
    return decided


def answer(sim: Simulator, order_id: str) -> None:
    assert not isinstance(sim.command(AnswerOrderPrompt(order_id=order_id)), Problem)
    sim.run()


def test_a_prompting_order_is_transferred_as_in_js7() -> None:
    """JS7's aOrder: OrderAdded, OrderStarted, OrderPrompted, OrderTransferred(v2 /: 0); the old version is
    deleted; answered, the order runs the new version."""
    sim = Simulator()
    sim.deploy(workflow(prompt(), JOB))
    sim.add_order("A", "W")
    sim.run()
    sim.deploy(workflow(prompt(), JOB, JOB))
    assert not isinstance(transfer(sim), Problem)
    assert sim.events_of("A") == ["OrderAdded", "OrderStarted", "OrderPrompted", "OrderTransferred"]
    assert sim.typed_events_of("A")[-1] == ev.OrderTransferred(
        workflow_position=ev.WorkflowPosition(workflow_id=V2, position=(0,))
    )
    assert any(k.event == ItemDeleted(key="Workflow:W~v1") for k in sim.log)
    assert V1 not in sim.state.workflows
    answer(sim, "A")
    assert sim.events_of("A").count("OrderProcessed") == 2
    assert isinstance(sim.state.orders["A"].state, st.Finished)


def test_an_order_at_a_changed_instruction_is_reset_first() -> None:
    sim = Simulator()
    sim.deploy(workflow(prompt("old")))
    sim.add_order("A", "W")
    sim.run()
    sim.deploy(workflow(prompt("new")))
    assert not isinstance(transfer(sim), Problem)
    assert sim.events_of("A")[-4:] == ["OrderPrompted", "OrderStateReset", "OrderTransferred", "OrderPrompted"]
    assert sim.state.orders["A"].state == st.Prompting(question="new")


def test_refusals() -> None:
    """JS7 refuses an attached order, a changed surrounding instruction, the current version itself."""
    sim = Simulator()
    condition = {"TYPE": "If", "ifThens": [{"predicate": "true", "then": {"instructions": [prompt()]}}]}
    sim.deploy(workflow(condition))
    sim.add_order("A", "W")
    sim.run()
    current = transfer(sim)
    assert isinstance(current, Problem) and current.code == "WorkflowIsCurrentVersion"
    unknown = transfer(sim, WorkflowId("W", "v9"))
    assert isinstance(unknown, Problem) and unknown.code == "UnknownItem"
    changed = {"TYPE": "If", "ifThens": [{"predicate": "false", "then": {"instructions": [prompt()]}}]}
    sim.deploy(workflow(changed))
    refused = transfer(sim)
    assert isinstance(refused, Problem) and refused.code == "OrderNotTransferable"
    assert "surrounding instruction at 0 has changed" in refused.message
    assert sim.state.orders["A"].workflow_id == V1

    sim.deploy(workflow({"TYPE": "Sleep", "duration": "3600"}))  # v3: no position [0,"then",0]
    gone = transfer(sim)
    assert isinstance(gone, Problem) and gone.code == "OrderNotTransferable"


def test_an_order_on_its_agent_is_not_transferred() -> None:
    sim = Simulator()
    sim.deploy(workflow(JOB))
    sim.add_order("A", "W", scheduled_for=sim.now_ms + 3_600_000)
    sim.step()
    assert sim.state.orders["A"].attached is not None
    sim.deploy(workflow(JOB, JOB))
    refused = sim.command(TransferOrders(workflow_id=V1))
    assert isinstance(refused, Problem) and refused.code == "OrderNotTransferable"
    assert "at Agent AGENT" in refused.message


def test_replay_after_transfer() -> None:
    sim = Simulator()
    sim.deploy(workflow(prompt(), JOB))
    sim.add_order("A", "W")
    sim.add_order("B", "W")
    sim.run()
    sim.deploy(workflow(prompt(), JOB, JOB))
    transfer(sim)
    replayed = ControllerState()
    for keyed in sim.log:
        assert replayed.apply_event(keyed.key, keyed.event) is None
    assert replayed == sim.state
    assert ControllerState.from_snapshot(list(sim.state.snapshot_objects())) == sim.state
    assert not sim.state.orders_using(V1) and sim.state.orders_using(V2)
