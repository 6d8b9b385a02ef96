"""An order's startPosition and stopPositions, with JS7's OrderStartAndStopPositionsTest as the oracle:
an order reaching one of its stop positions finishes there (OrderFinished without an outcome), back on
the Controller first; labels resolve (the start position) or stay labels (the stop positions)."""

from __future__ import annotations

from typing import Any

import pytest

from js7es.domain import codec
from js7es.domain.commands.orders import FreshOrder
from js7es.domain.order import events as ev
from js7es.domain.order import states as st
from js7es.domain.order.order import forked_child
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.value import dumps, loads
from js7es.domain.workflow.parse import parse_workflow
from js7es.domain.workflow.workflow import WorkflowId
from tests.domain.simulator import Simulator

AGENT_EVENTS = ["OrderAttachable", "OrderAttached", "OrderStarted"]
JOB_STEP = ["OrderProcessingStarted", "OrderProcessed", "OrderMoved"]
BACK_AND_FINISHED = ["OrderDetachable", "OrderDetached", "OrderFinished"]
EXECUTE = {"TYPE": "Execute.Named", "jobName": "J"}
JOBS = {"J": {"agentPath": "AGENT", "executable": {"TYPE": "ShellScriptExecutable", "script": "exit 0"}}}


def if_true(*instructions: dict[str, Any]) -> dict[str, Any]:
    return {"TYPE": "If", "predicate": "true", "then": {"instructions": list(instructions)}}


# JS7's OrderStartAndStopPositionsTest.workflow and .tryWorkflow
WORKFLOW = {
    "path": "A-WORKFLOW",
    "jobs": JOBS,
    "instructions": [
        if_true({"TYPE": "Fork", "branches": [{"id": "BRANCH", "workflow": {"instructions": [{"TYPE": "Fail"}]}}]}),
        EXECUTE,
        EXECUTE,
        if_true({"TYPE": "Fail"}),
    ],
}
TRY_WORKFLOW = {
    "path": "TRY-WORKFLOW",
    "jobs": JOBS,
    "instructions": [
        if_true(EXECUTE),
        {
            "TYPE": "Try",
            "try": {
                "instructions": [
                    EXECUTE,
                    EXECUTE,
                    if_true({**EXECUTE, "label": "LABEL"}),
                    if_true({"TYPE": "Fail"}),
                ]
            },
            "catch": {"instructions": [{"TYPE": "Fail", "label": "CATCHED"}]},
        },
    ],
}


def simulator() -> Simulator:
    sim = Simulator()
    sim.deploy(WORKFLOW, TRY_WORKFLOW)
    return sim


def run(sim: Simulator, order_id: str, workflow_path: str, **fresh: Any) -> list[ev.OrderEvent]:
    added = sim.add_order(order_id, workflow_path, **fresh)
    assert not isinstance(added, Problem), added
    sim.run()
    return sim.typed_events_of(order_id)


def test_start_position_is_a_stop_position() -> None:
    """JS7: "startPosition == stopPositions": OrderAdded, OrderStarted, OrderFinished — never attached."""
    sim = simulator()
    events = run(sim, "A", "A-WORKFLOW", start_position=(1,), stop_positions=((1,),))
    assert events == [
        ev.OrderAdded(workflow_id=WorkflowId("A-WORKFLOW", "v1"), start_position=(1,), stop_positions=((1,),)),
        ev.OrderStarted(),
        ev.OrderFinished(),
    ]
    assert sim.state.orders["A"].position == (1,)


def test_start_and_stop_positions() -> None:
    """JS7: "startPosition and stopPositions": one job, then back to the Controller and finished."""
    sim = simulator()
    events = run(sim, "B", "A-WORKFLOW", start_position=(1,), stop_positions=((2,),))
    assert [type(e).__name__ for e in events] == ["OrderAdded", *AGENT_EVENTS, *JOB_STEP, *BACK_AND_FINISHED]
    assert events[6] == ev.OrderMoved(to=(2,))
    assert events[-1] == ev.OrderFinished()
    assert isinstance(sim.state.orders["B"].state, st.Finished) and sim.state.orders["B"].position == (2,)


def test_stop_position_at_an_if() -> None:
    """JS7: "stopPositions point to an If statement": it stops at the If, never executing it."""
    sim = simulator()
    events = run(sim, "C", "A-WORKFLOW", start_position=(1,), stop_positions=((3,),))
    assert [type(e).__name__ for e in events] == [
        "OrderAdded",
        *AGENT_EVENTS,
        *JOB_STEP,
        *JOB_STEP,
        *BACK_AND_FINISHED,
    ]
    assert [e.to for e in events if isinstance(e, ev.OrderMoved)] == [(2,), (3,)]


def test_stop_at_a_label_inside_if_and_try() -> None:
    """JS7: "startPosition and stopPosition point into If statements", the stop position a label.

    JS7 merges the move to the If and the If's own move into one OrderMoved; js7es writes both."""
    sim = simulator()
    events = run(sim, "D", "TRY-WORKFLOW", start_position=(0, "then", 0), stop_positions=("LABEL",))
    assert events[0] == ev.OrderAdded(
        workflow_id=WorkflowId("TRY-WORKFLOW", "v1"), start_position=(0, "then", 0), stop_positions=("LABEL",)
    )
    assert events[-3:] == [ev.OrderDetachable(), ev.OrderDetached(), ev.OrderFinished()]
    assert [type(e).__name__ for e in events].count("OrderProcessed") == 3  # the LABEL's job does not run
    moves = [e.to for e in events if isinstance(e, ev.OrderMoved)]
    assert moves == [(1,), (1, "try+0", 0), (1, "try+0", 1), (1, "try+0", 2), (1, "try+0", 2, "then", 0)]
    assert sim.state.orders["D"].position == (1, "try+0", 2, "then", 0)  # LABEL reached


def test_start_at_a_label_and_stop_in_the_catch_block() -> None:
    """JS7: "startPosition points into a Try statement": the label resolves in OrderAdded; the stop
    position written with JS7's plain "catch" matches the order's catch+0 block."""
    sim = simulator()
    events = run(sim, "E", "TRY-WORKFLOW", start_position="LABEL", stop_positions=((1, "catch", 0),))
    assert events[0] == ev.OrderAdded(
        workflow_id=WorkflowId("TRY-WORKFLOW", "v1"),
        start_position=(1, "try+0", 2, "then", 0),
        stop_positions=((1, "catch", 0),),
    )
    names = [type(e).__name__ for e in events]
    assert names[:6] == ["OrderAdded", *AGENT_EVENTS, "OrderProcessingStarted", "OrderProcessed"]
    assert names[-5:] == ["OrderOutcomeAdded", "OrderCaught", *BACK_AND_FINISHED]
    assert events[-4] == ev.OrderCaught(moved_to=(1, "catch+0", 0))
    assert isinstance(sim.state.orders["E"].state, st.Finished)  # the catch block's Fail did not run


@pytest.mark.parametrize(
    ("fresh", "code", "message"),
    [
        ({"start_position": (5,)}, "InvalidPosition", "Invalid start position [5]"),
        ({"stop_positions": ((5,),)}, "InvalidPosition", "Unknown position 5 in Workflow:A-WORKFLOW~v1"),
        (
            {"stop_positions": ((0, "then", 0, "fork+BRANCH", 0),)},
            "InvalidPosition",
            "Order's startPosition or one of its stopPositions is not reachable: 0/then:0/fork+BRANCH:0",
        ),
        ({"start_position": (0, "then", 0, "fork+BRANCH", 0)}, "InvalidPosition", "inside a fork branch"),
        ({"stop_positions": ("NOWHERE",)}, "UnknownKey", "Unknown Label: 'NOWHERE'"),
        ({"start_position": "NOWHERE"}, "UnknownKey", "Unknown Label: 'NOWHERE'"),
    ],
)
def test_invalid_start_and_stop_positions_are_refused(fresh: dict[str, Any], code: str, message: str) -> None:
    """JS7: "Invalid position" — and an unknown label is JS7's UnknownKey problem."""
    sim = simulator()
    refused = sim.add_order("INVALID", "A-WORKFLOW", **fresh)
    assert isinstance(refused, Problem) and refused.code == code and message in refused.message, refused
    assert "INVALID" not in sim.state.orders


def test_stop_positions_stay_with_the_order_and_in_its_json() -> None:
    """Kept by the order on the Agent too (OrderAttachedToAgent carries the whole order), and in the
    snapshot's order JSON; a forked child has none of its own (JS7)."""
    sim = simulator()
    sim.add_order("F", "TRY-WORKFLOW", start_position=(1, "try+0", 0), stop_positions=((1, "try", 3), "LABEL"))
    sim.step()
    order = sim.state.orders["F"]
    assert order.stop_positions == ((1, "try", 3), "LABEL") and order.attached is not None
    assert codec.encode(order)["stopPositions"] == [[1, "try", 3], "LABEL"]
    assert codec.decode(codec.encode(order)) == order
    assert forked_child(order, "F|child", "BRANCH").stop_positions is None
    text = [loads(dumps(obj)) for obj in sim.state.snapshot_objects()]  # through the snapshot's JSON text
    restored = ControllerState.from_snapshot(text)
    assert restored.orders["F"] == order and restored.state_hash() == sim.state.state_hash()
    sim.run()  # and it still stops there
    assert isinstance(sim.state.orders["F"].state, st.Finished)
    assert sim.state.orders["F"].position == (1, "try+0", 2, "then", 0)  # at LABEL, before [1, "try", 3]
    fresh = FreshOrder(id="X", workflow_path="A-WORKFLOW", start_position="LABEL", stop_positions=((2,), "L"))
    assert codec.decode(codec.encode(fresh)) == fresh


def test_an_order_without_stop_positions_runs_through() -> None:
    sim = simulator()
    events = run(sim, "G", "A-WORKFLOW", start_position=(1,))
    assert isinstance(sim.state.orders["G"].state, st.Failed)  # the If's Fail at 3
    assert ev.OrderFinished() not in events


def test_a_cycle_round_counts_as_its_stop_position() -> None:
    """Positions are compared normalized (JS7): try+N is "try", a cycle's state is "cycle"."""
    from js7es.domain.workflow import position as pos

    assert pos.normalized((1, "try+2", 0, "cycle+end=1,i=2", 3)) == (1, "try", 0, "cycle", 3)
    assert pos.normalized((1, "catch+0", 0)) == pos.normalized((1, "catch", 0))


def test_add_order_instruction_gives_the_added_order_stop_positions() -> None:
    """JS7's AddOrder with stopPositions: kept in OrderOrderAdded as given (labels too)."""
    adding = {
        "path": "ADDING",
        "instructions": [
            {"TYPE": "AddOrder", "orderId": "'ADDED'", "workflowPath": "A-WORKFLOW", "startPosition": [1]}
            | {"stopPositions": [[2]]}
        ],
    }
    sim = simulator()
    sim.deploy(adding)
    sim.add_order("O", "ADDING")
    sim.run()
    added = next(e for e in sim.typed_events_of("O") if isinstance(e, ev.OrderOrderAdded))
    assert added.stop_positions == ((2,),) and added.start_position == (1,)
    assert sim.events_of("ADDED") == [*AGENT_EVENTS, *JOB_STEP, *BACK_AND_FINISHED]
    assert parse_workflow({**adding, "instructions": [{**adding["instructions"][0], "stopPositions": 7}]}).code == (  # type: ignore[union-attr]
        "InvalidInstruction"
    )
