"""ControlWorkflowPath (suspend a workflow, skip instructions by label): JS7's ControlWorkflowPathSkipTest
and ControlWorkflowPathSuspendWorkflowTest (js7-tests/.../tests/) as the oracle for the event sequences."""

from __future__ import annotations

from typing import Any

from js7es.domain.commands import Decided
from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.orders import AnswerOrderPrompt, ResumeOrders
from js7es.domain.commands.workflow_controls import ControlWorkflow, ControlWorkflowPath
from js7es.domain.items import (
    ItemDeleted,
    UnsignedItemAdded,
    UnsignedItemChanged,
    UnsignedSimpleItemAdded,
    UnsignedSimpleItemChanged,
)
from js7es.domain.order import events as ev
from js7es.domain.order import states as st
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json, value_to_json
from js7es.domain.workflow.workflow import WorkflowId
from js7es.domain.workflow_control import SKIPPED_DUE_TO_WORKFLOW_PATH_CONTROL
from tests.domain.simulator import Simulator, succeed

SHELL = {"TYPE": "ShellScriptExecutable", "script": "exit 0"}
JOB = {"TYPE": "Execute.Named", "jobName": "J"}
LABELLED_JOB = {**JOB, "label": "LABEL"}
PROMPT = {"TYPE": "Prompt", "question": "'?'"}
SKIPPED = SKIPPED_DUE_TO_WORKFLOW_PATH_CONTROL


def workflow(path: str, *instructions: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": path,
        "instructions": list(instructions),
        "jobs": {"J": {"agentPath": "AGENT", "executable": SHELL}},
    }


def control(sim: Simulator, path: str = "W", **kwargs: Any) -> Decided:
    decided = sim.command(ControlWorkflowPath(workflow_path=path, **kwargs))
    assert isinstance(decided, Decided), decided
    sim.run()
    return decided


def item_of(decided: Decided) -> dict[str, Any]:
    event = decided.events[0].event
    assert isinstance(event, (UnsignedSimpleItemAdded, UnsignedSimpleItemChanged))
    return dict(value_to_json(event.item))


def moves(sim: Simulator, order_id: str) -> list[tuple[tuple[int | str, ...], str | None]]:
    return [(e.to, e.reason) for e in sim.typed_events_of(order_id) if isinstance(e, ev.OrderMoved)]


def test_skip_the_first_job_as_in_js7() -> None:
    """JS7: OrderAdded, OrderMoved(1, SkippedDueToWorkflowPathControl), OrderStarted, OrderFinished,
    OrderDeleted: the Fresh order skips the job without going to the Agent."""
    sim = Simulator()
    sim.deploy(workflow("W", LABELLED_JOB))
    decided = control(sim, skip={"LABEL": True})
    assert item_of(decided) == {
        "TYPE": "WorkflowPathControl",
        "path": "W",
        "suspended": False,
        "skip": ["LABEL"],
        "itemRevision": 1,
    }
    assert isinstance(decided.events[0].event, UnsignedSimpleItemAdded)
    sim.add_order("A", "W", delete_when_terminated=True)
    sim.run()
    assert sim.events_of("A") == ["OrderAdded", "OrderMoved", "OrderStarted", "OrderFinished", "OrderDeleted"]
    assert moves(sim, "A") == [((1,), SKIPPED)]


def test_skip_the_job_in_the_middle_as_in_js7() -> None:
    """JS7's "Skip the Job in the middle": the job in the If's then-block is moved over, then the order
    leaves the block and runs the last job, all on the Agent. (js7es moves to the If first, then into
    its block, where JS7 moves straight into the block: one OrderMoved more, as for any If after a job.)"""
    sim = Simulator()
    condition = {"TYPE": "If", "ifThens": [{"predicate": "true", "then": {"instructions": [LABELLED_JOB]}}]}
    sim.deploy(workflow("W", JOB, condition, JOB))
    control(sim, skip={"LABEL": True})
    sim.add_order("B", "W", delete_when_terminated=True)
    sim.run()
    assert sim.events_of("B") == [
        "OrderAdded",
        "OrderAttachable",
        "OrderAttached",
        "OrderStarted",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderMoved",
        "OrderMoved",
        "OrderMoved",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderFinished",
        "OrderDeleted",
    ]
    assert moves(sim, "B") == [
        ((1,), None),
        ((1, "then", 0), None),
        ((1, "then", 1), SKIPPED),
        ((2,), None),
        ((3,), None),
    ]


def test_unskip_runs_the_job_again_and_revisions_count() -> None:
    sim = Simulator()
    sim.deploy(workflow("W", LABELLED_JOB))
    control(sim, skip={"LABEL": True})
    decided = control(sim, skip={"LABEL": False})
    assert isinstance(decided.events[0].event, UnsignedSimpleItemChanged)
    assert item_of(decided)["skip"] == []
    assert item_of(decided)["itemRevision"] == 2
    sim.add_order("A", "W")
    sim.run()
    assert "OrderProcessed" in sim.events_of("A")
    assert moves(sim, "A") == [((1,), None)]


def test_suspended_workflow_holds_a_fresh_order_until_resumed_as_in_js7() -> None:
    """JS7's ControlWorkflowPathSuspendWorkflowTest: the added order does not start (nor go to its Agent)
    while the workflow is suspended; resumed, it runs."""
    sim = Simulator()
    sim.deploy(workflow("W", JOB))
    decided = control(sim, suspend=True)
    assert item_of(decided)["suspended"] is True
    sim.add_order("A", "W", delete_when_terminated=True)
    sim.run()
    assert sim.events_of("A") == ["OrderAdded"]
    decided = control(sim, suspend=False)
    assert item_of(decided) == {
        "TYPE": "WorkflowPathControl",
        "path": "W",
        "suspended": False,
        "skip": [],
        "itemRevision": 2,
    }
    assert sim.events_of("A") == [
        "OrderAdded",
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


def test_suspended_workflow_holds_an_order_before_its_next_instruction() -> None:
    """JS7: "OrderPromptAnswered happens despite suspended Workflow", but the order does not go on to
    its job (not attached) until the workflow is resumed."""
    sim = Simulator()
    sim.deploy(workflow("W", PROMPT, JOB))
    sim.add_order("A", "W")
    sim.run()
    assert isinstance(sim.state.orders["A"].state, st.Prompting)
    control(sim, suspend=True)
    assert not isinstance(sim.command(AnswerOrderPrompt(order_id="A")), Problem)
    sim.run()
    assert sim.events_of("A")[-2:] == ["OrderPromptAnswered", "OrderMoved"]
    assert sim.state.orders["A"].attached is None
    control(sim, suspend=False)
    assert sim.events_of("A")[-2:] == ["OrderDetached", "OrderFinished"]
    assert isinstance(sim.state.orders["A"].state, st.Finished)


def test_suspended_workflow_holds_an_order_on_the_agent_between_jobs() -> None:
    """An order on its Agent finishes its running step, then waits before the next job."""
    sim = Simulator()
    sim.deploy(workflow("W", JOB, JOB))
    suspended = []

    def run_job(order: Any, job: Any) -> Any:
        if not suspended:  # the operator suspends while the first step runs
            suspended.append(sim.command(ControlWorkflowPath(workflow_path="W", suspend=True)))
        return succeed(order, job)

    sim.run_job = run_job
    sim.add_order("A", "W")
    sim.run()
    assert sim.events_of("A")[-2:] == ["OrderProcessingStarted", "OrderProcessed"]
    assert isinstance(sim.state.orders["A"].state, st.Processed)
    control(sim, suspend=False)
    assert sim.events_of("A").count("OrderProcessed") == 2
    assert isinstance(sim.state.orders["A"].state, st.Finished)


def test_other_workflows_and_suspended_orders_are_not_touched() -> None:
    sim = Simulator()
    sim.deploy(workflow("W", JOB), workflow("X", JOB))
    control(sim, "W", suspend=True)
    sim.add_order("X1", "X")
    sim.run()
    assert isinstance(sim.state.orders["X1"].state, st.Finished)


def test_refusals() -> None:
    sim = Simulator()
    sim.deploy(workflow("W", JOB))
    unknown = sim.command(ControlWorkflowPath(workflow_path="NONE", suspend=True))
    assert isinstance(unknown, Problem) and unknown.code == "UnknownItem"
    bad_label = sim.command(ControlWorkflowPath(workflow_path="W", skip={"": True}))
    assert isinstance(bad_label, Problem) and bad_label.code == "InvalidLabel"
    item = {"TYPE": "WorkflowPathControl", "path": "W", "suspended": True}
    deployed = sim.command(UpdateItems(operations=(value_from_json({"TYPE": "AddOrChangeSimple", "item": item}),)))
    assert isinstance(deployed, Problem) and deployed.code == "ItemIsNotDeployable"
    assert sim.state.workflow_path_controls == {}


def test_snapshot_and_replay_keep_the_control() -> None:
    sim = Simulator()
    sim.deploy(workflow("W", LABELLED_JOB))
    control(sim, suspend=True, skip={"LABEL": True})
    sim.add_order("A", "W")
    sim.run()
    restored = ControllerState.from_snapshot(list(sim.state.snapshot_objects()))
    assert restored == sim.state
    assert restored.workflow_path_controls == sim.state.workflow_path_controls
    replayed = ControllerState()
    for keyed in sim.log:
        assert replayed.apply_event(keyed.key, keyed.event) is None
    assert replayed == sim.state
    assert replayed.is_workflow_suspended("W") and replayed.skipped_labels("W") == {"LABEL"}


# -- ControlWorkflow: breakpoints ------------------------------------------------------------------


def breakpoints(sim: Simulator, wid: WorkflowId, add: tuple[Any, ...] = (), remove: tuple[Any, ...] = ()) -> Decided:
    decided = sim.command(ControlWorkflow(workflow_id=wid, add_breakpoints=add, remove_breakpoints=remove))
    assert isinstance(decided, Decided), decided
    sim.run()
    return decided


def resume(sim: Simulator, order_id: str) -> None:
    assert not isinstance(sim.command(ResumeOrders(order_ids=(order_id,))), Problem)
    sim.run()


def test_breakpoints_as_in_js7() -> None:
    """JS7's ControlWorkflowBreakpointTest "Set some breakpoints": the exact event sequence."""
    sim = Simulator()
    sim.deploy(workflow("W", {"TYPE": "Prompt", "question": "'PROMPT'"}, JOB, JOB, JOB))
    wid = WorkflowId("W", "v1")
    decided = breakpoints(sim, wid, add=((0,), (1,)))
    assert isinstance(decided.events[0].event, UnsignedItemAdded)
    assert item_of_unsigned(decided) == {
        "TYPE": "WorkflowControl",
        "id": {"path": "W", "versionId": "v1"},
        "breakpoints": [[0], [1]],
        "itemRevision": 0,
    }
    sim.add_order("A", "W", delete_when_terminated=True)
    sim.run()
    assert sim.state.orders["A"].is_suspended
    resume(sim, "A")
    assert isinstance(sim.state.orders["A"].state, st.Prompting)
    assert not isinstance(sim.command(AnswerOrderPrompt(order_id="A")), Problem)
    sim.run()
    decided = breakpoints(sim, wid, add=((3,),))
    assert isinstance(decided.events[0].event, UnsignedItemChanged)
    assert item_of_unsigned(decided)["breakpoints"] == [[0], [1], [3]]
    assert item_of_unsigned(decided)["itemRevision"] == 1
    resume(sim, "A")
    assert sim.state.orders["A"].is_suspended and sim.state.orders["A"].position == (3,)
    resume(sim, "A")
    assert sim.events_of("A") == [
        "OrderAdded",
        "OrderSuspended",
        "OrderResumed",
        "OrderStarted",
        "OrderPrompted",
        "OrderPromptAnswered",
        "OrderMoved",
        "OrderSuspended",
        "OrderResumed",
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderSuspended",
        "OrderResumed",
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderFinished",
        "OrderDeleted",
    ]
    decided = breakpoints(sim, wid, add=((3,),), remove=((1,),))
    assert item_of_unsigned(decided)["breakpoints"] == [[0], [3]]
    assert item_of_unsigned(decided)["itemRevision"] == 2


def test_breakpoint_in_a_try_block_holds_in_every_round() -> None:
    """JS7's "Breakpoint in a Try block": a breakpoint at [1,"try",0] holds the order at [1,"try+0",0]."""
    sim = Simulator()
    sim.deploy(workflow("W", JOB, {"TYPE": "Try", "try": {"instructions": [JOB]}, "catch": {"instructions": [JOB]}}))
    wid = WorkflowId("W", "v1")
    breakpoints(sim, wid, add=((1, "try", 0),))
    sim.add_order("A", "W")
    sim.run()
    order = sim.state.orders["A"]
    assert order.is_suspended and order.position[0] == 1 and str(order.position[1]).startswith("try")
    resume(sim, "A")
    assert isinstance(sim.state.orders["A"].state, st.Finished)


def test_breakpoint_refusals_snapshot_and_replay() -> None:
    sim = Simulator()
    sim.deploy(workflow("W", JOB))
    unknown = sim.command(ControlWorkflow(workflow_id=WorkflowId("W", "v9"), add_breakpoints=((0,),)))
    assert isinstance(unknown, Problem) and unknown.code == "UnknownItem"
    bad = sim.command(ControlWorkflow(workflow_id=WorkflowId("W", "v1"), add_breakpoints=((7, "then", 0),)))
    assert isinstance(bad, Problem) and bad.code == "InvalidPosition"
    breakpoints(sim, WorkflowId("W", "v1"), add=((0,),))
    sim.add_order("A", "W")
    sim.run()
    restored = ControllerState.from_snapshot(list(sim.state.snapshot_objects()))
    assert restored == sim.state
    assert restored.workflow_controls == sim.state.workflow_controls
    replayed = ControllerState()
    for keyed in sim.log:
        assert replayed.apply_event(keyed.key, keyed.event) is None
    assert replayed == sim.state


def item_of_unsigned(decided: Decided) -> dict[str, Any]:
    event = decided.events[0].event
    assert isinstance(event, (UnsignedItemAdded, UnsignedItemChanged))
    return dict(value_to_json(event.item))


def test_controls_are_deleted_after_their_workflows_as_in_js7() -> None:
    """JS7's ControllerStateExecutor: ItemDeleted of a WorkflowControl after its workflow version, of a
    WorkflowPathControl when no version of the workflow is left."""
    sim = Simulator()
    sim.deploy(workflow("W", JOB))
    breakpoints(sim, WorkflowId("W", "v1"), add=((0,),))
    control(sim, suspend=True)
    sim.deploy(workflow("W", JOB, JOB))  # v1 is used by no order: deleted, and its breakpoints
    deleted = [k.event.key for k in sim.log if isinstance(k.event, ItemDeleted)]
    assert deleted == ["Workflow:W~v1", "WorkflowControl:W~v1"]
    assert sim.state.workflow_controls == {} and "W" in sim.state.workflow_path_controls
    removed = sim.command(UpdateItems(operations=(value_from_json({"TYPE": "RemoveVersioned", "path": "W"}),)))
    assert isinstance(removed, Decided)
    deleted = [k.event.key for k in removed.events if isinstance(k.event, ItemDeleted)]
    assert deleted == ["Workflow:W~v2", "WorkflowPathControl:W"]
    assert sim.state.workflow_path_controls == {}
    replayed = ControllerState()
    for keyed in sim.log:
        assert replayed.apply_event(keyed.key, keyed.event) is None
    assert replayed == sim.state
