"""The AddOrder instruction, with JS7's AddOrderTest as the oracle: OrderOrderAdded on the adding
order brings the new order into being (it gets no OrderAdded of its own), a duplicate id fails the
adding order with DuplicateKey."""

from __future__ import annotations

from typing import Any

from js7es.domain.order import events as ev
from js7es.domain.order import states as st
from js7es.domain.order.outcome import Failed
from js7es.domain.problem import Problem
from js7es.domain.workflow.parse import parse_workflow
from js7es.domain.workflow.workflow import WorkflowId
from tests.domain.simulator import Simulator

SHELL = {"TYPE": "ShellScriptExecutable", "script": "exit 0"}
JOBS = {"J": {"agentPath": "AGENT", "executable": SHELL}}
EXECUTE = {"TYPE": "Execute.Named", "jobName": "J"}
PROMPT = {"TYPE": "Prompt", "question": "'PROMPT'"}


def workflow(path: str, *instructions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"path": path, "instructions": list(instructions), "jobs": JOBS, **extra}


def add_order(order_id: str, workflow_path: str = "B", **extra: Any) -> dict[str, Any]:
    return {"TYPE": "AddOrder", "orderId": order_id, "workflowPath": workflow_path, **extra}


def simulator(*workflows: dict[str, Any]) -> Simulator:
    sim = Simulator()
    sim.deploy(*workflows)
    return sim


def test_add_order_as_in_js7() -> None:
    """JS7's AddOrderTest "AddOrder": the added order prompts in its workflow."""
    sim = simulator(
        workflow("A", add_order("'🟦'", arguments={"year": "$year + 1"}, deleteWhenTerminated=True)),
        workflow("B", PROMPT, orderPreparation={"parameters": {"year": {"type": "Number"}}}),
    )
    sim.add_order("🔷", "A", arguments={"year": 2024})
    sim.run()
    assert sim.typed_events_of("🔷") == [
        ev.OrderAdded(workflow_id=WorkflowId("A", "v1"), arguments={"year": 2024}),
        ev.OrderStarted(),
        ev.OrderOrderAdded(
            order_id="🟦", workflow_id=WorkflowId("B", "v1"), arguments={"year": 2025}, delete_when_terminated=True
        ),
        ev.OrderMoved(to=(1,)),
        ev.OrderFinished(),
    ]
    assert sim.events_of("🟦") == ["OrderStarted", "OrderPrompted"]
    added = sim.state.orders["🟦"]
    assert isinstance(added.state, st.Prompting) and added.delete_when_terminated


def test_add_order_with_a_duplicate_order_id_fails_as_in_js7() -> None:
    """JS7's AddOrderTest "AddOrder with duplicate OrderId"."""
    sim = simulator(workflow("A", add_order("'🟦'")), workflow("B", PROMPT))
    sim.add_order("🔷", "A")
    sim.run()
    sim.add_order("🟧", "A")
    sim.run()
    assert sim.typed_events_of("🟧")[1:] == [
        ev.OrderStarted(),
        ev.OrderOutcomeAdded(outcome=Failed(error_message="Duplicate OrderId: Order:🟦")),
        ev.OrderFailed(),
    ]
    assert sim.state.orders["🟧"].position == (0,)


def test_added_order_runs_a_job_from_a_start_position_by_label_and_is_deleted() -> None:
    """JS7's AddOrderTest "startPosition and stopPositions" (without stop positions): the added order's
    own events begin with OrderAttachable, as in JS7."""
    sim = simulator(
        workflow("A", add_order("'ADDED'", startPosition="SECOND", deleteWhenTerminated=True)),
        workflow("B", EXECUTE, {**EXECUTE, "label": "SECOND"}),
    )
    sim.add_order("O", "A")
    sim.run()
    assert sim.events_of("ADDED") == [
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
    order_added = next(e for e in sim.typed_events_of("O") if isinstance(e, ev.OrderOrderAdded))
    assert order_added.start_position == (1,)
    assert "ADDED" not in sim.state.orders


def test_add_order_failures_fail_the_adding_order() -> None:
    sim = simulator(
        workflow("A", add_order("'X'", startPosition="NOWHERE")),
        workflow("A2", add_order("'X|Y'")),
        workflow("A3", add_order("'X'", workflowPath="UNKNOWN")),
        workflow("B", PROMPT, orderPreparation={"parameters": {"year": {"type": "Number"}}}),
    )
    for order_id, path in (("1", "A"), ("2", "A2"), ("3", "A3")):
        sim.add_order(order_id, path)
    sim.run()
    for order_id in ("1", "2", "3"):
        assert isinstance(sim.state.orders[order_id].state, st.Failed), order_id
    assert "X" not in sim.state.orders


def test_add_order_parses_stop_positions_and_plan_id() -> None:
    parsed = parse_workflow(workflow("A", add_order("'X'", stopPositions=[[1], "L"], planId="[]")))
    assert not isinstance(parsed, Problem), parsed
    refused = parse_workflow(workflow("A", add_order("'X'", stopPositions=[[1, "then"]])))
    assert isinstance(refused, Problem) and refused.code == "InvalidInstruction"
    refused = parse_workflow(workflow("A", add_order("'X'", startPosition=[1, "then"])))
    assert isinstance(refused, Problem) and refused.code == "InvalidInstruction"
    parsed = parse_workflow(workflow("A", add_order("'X'", startPosition=[1], forceAdmission=True)))
    assert not isinstance(parsed, Problem), parsed


def test_add_order_plan_id_is_taken_where_it_is_the_added_orders_own_plan() -> None:
    """JS7 2.8's planId: js7es has no plan items and derives an order's plan from its id (a daily plan id
    #YYYY-MM-DD#… is in DailyPlan/YYYY-MM-DD, any other in the global plan): that plan is taken, another
    fails the adding order with UnsupportedPlanId."""
    sim = simulator(
        workflow("A", add_order("'#2025-01-31#ADDED'", planId='["DailyPlan", "2025-01-31"]')),
        workflow("A2", add_order("'GLOBAL'", planId="[]")),
        workflow("A3", add_order("'OTHER'", planId='["DailyPlan", "2025-01-31"]')),
        workflow("B", PROMPT),
    )
    for order_id, path in (("1", "A"), ("2", "A2"), ("3", "A3")):
        sim.add_order(order_id, path)
    sim.run()
    assert "#2025-01-31#ADDED" in sim.state.orders and "GLOBAL" in sim.state.orders
    assert isinstance(sim.state.orders["3"].state, st.Failed) and "OTHER" not in sim.state.orders
    failed = next(e for e in sim.typed_events_of("3") if isinstance(e, ev.OrderOutcomeAdded))
    assert isinstance(failed.outcome, Failed) and "is not Order:OTHER's plan" in (failed.outcome.error_message or "")
    refused = sim.add_order("#2025-02-01#X", "B", plan_id=("DailyPlan", "2025-01-31"))
    assert isinstance(refused, Problem) and refused.code == "UnsupportedPlanId"
    assert not isinstance(sim.add_order("#2025-02-01#Y", "B", plan_id=("DailyPlan", "2025-02-01")), Problem)
