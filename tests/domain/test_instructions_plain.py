"""EmptyInstruction, Stop, BreakOrder, Options(stopOnFailure) and StickySubagent, with the event
sequences of JS7's StopTest, StopOnFailureTest and StickySubagentTest as the oracle."""

from __future__ import annotations

from typing import Any

from js7es.domain.commands.orders import CancelOrders, ResumeOrders
from js7es.domain.lock import AVAILABLE
from js7es.domain.order import events as ev
from js7es.domain.order import states as st
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Failed, Outcome, Succeeded
from js7es.domain.problem import Problem
from js7es.domain.value import value_from_json
from js7es.domain.workflow.job import WorkflowJob
from js7es.domain.workflow.parse import parse_workflow
from tests.domain.simulator import Simulator

SHELL = {"TYPE": "ShellScriptExecutable", "script": "exit 0"}
JOBS = {
    "J": {"agentPath": "AGENT", "executable": SHELL},
    "FAILING": {"agentPath": "AGENT", "executable": SHELL},
}
EXECUTE = {"TYPE": "Execute.Named", "jobName": "J"}
FAILING = {"TYPE": "Execute.Named", "jobName": "FAILING"}
PROMPT = {"TYPE": "Prompt", "question": "'PROMPT'"}


def workflow(*instructions: dict[str, Any], path: str = "W") -> dict[str, Any]:
    return {"path": path, "instructions": list(instructions), "jobs": JOBS}


def options(*instructions: dict[str, Any], stop_on_failure: bool | None = None) -> dict[str, Any]:
    given = {} if stop_on_failure is None else {"stopOnFailure": stop_on_failure}
    return {"TYPE": "Options", **given, "block": {"instructions": list(instructions)}}


def run_job(order: Order, job: WorkflowJob) -> Outcome:
    failing = order.position.count("lock") == 2  # the FAILING job, in the inner Lock
    return Failed(error_message="FailingJob failed") if failing else Succeeded(named_values={"returnCode": 0})


def simulator(*instructions: dict[str, Any]) -> Simulator:
    sim = Simulator()
    sim.deploy(workflow(*instructions))
    return sim


def resume(sim: Simulator, order_id: str, **kwargs: Any) -> None:
    assert not isinstance(sim.command(ResumeOrders(order_ids=(order_id,), **kwargs)), Problem)
    sim.run()


def test_the_instructions_parse_and_are_no_longer_refused() -> None:
    parsed = parse_workflow(
        workflow(
            {"TYPE": "EmptyInstruction", "label": "EMPTY"},
            {"TYPE": "Stop"},
            {"TYPE": "BreakOrder"},
            options(EXECUTE, stop_on_failure=True),
            {
                "TYPE": "StickySubagent",
                "agentPath": "AGENT",
                "subagentBundleIdExpr": "'B'",
                "subworkflow": {"instructions": [EXECUTE]},
            },
        )
    )
    assert not isinstance(parsed, Problem), parsed
    positions = [p for p, _ in parsed.positions()]
    assert positions[3:9] == [
        (3,), (3, "options", 0), (3, "options", 1), (4,), (4, "stickySubagent", 0), (4, "stickySubagent", 1)
    ]  # fmt: skip
    bad = parse_workflow(workflow({"TYPE": "Options", "stopOnFailure": "yes", "block": {"instructions": []}}))
    assert isinstance(bad, Problem) and bad.code == "InvalidInstruction"
    bad = parse_workflow(workflow({"TYPE": "StickySubagent", "subworkflow": {"instructions": []}}))
    assert isinstance(bad, Problem) and bad.code == "InvalidInstruction"


def test_empty_instruction_moves_a_fresh_order_on_before_it_starts() -> None:
    sim = simulator({"TYPE": "EmptyInstruction"}, PROMPT)
    sim.add_order("O", "W")
    sim.run()
    assert sim.typed_events_of("O")[:3] == [
        ev.OrderAdded(workflow_id=sim.state.orders["O"].workflow_id),
        ev.OrderMoved(to=(1,)),
        ev.OrderStarted(),
    ]


def test_stop_at_the_controller_as_in_js7() -> None:
    """JS7's StopTest "Stop at Controller"."""
    sim = simulator({"TYPE": "Stop"})
    sim.add_order("O", "W")
    sim.run()
    assert isinstance(sim.state.orders["O"].state, st.Stopped)
    resume(sim, "O", position=(1,))
    assert sim.typed_events_of("O")[1:] == [
        ev.OrderStarted(),
        ev.OrderStopped(),
        ev.OrderResumed(position=(1,)),
        ev.OrderFinished(),
    ]


def test_stop_at_the_agent_as_in_js7() -> None:
    """JS7's StopTest "Stop at Agent": the order goes back to the Controller, which stops it."""
    sim = simulator(EXECUTE, {"TYPE": "Stop"})
    sim.add_order("O", "W")
    sim.run()
    resume(sim, "O", position=(2,))
    assert sim.events_of("O") == [
        "OrderAdded",
        "OrderAttachable",
        "OrderAttached",
        "OrderStarted",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderStopped",
        "OrderResumed",
        "OrderFinished",
    ]


def test_a_stopped_order_can_be_cancelled() -> None:
    sim = simulator({"TYPE": "Stop"})
    sim.add_order("O", "W")
    sim.run()
    assert not isinstance(sim.command(CancelOrders(order_ids=("O",))), Problem)
    sim.run()
    assert sim.events_of("O")[-1] == "OrderCancelled"


def test_break_order_breaks_the_order() -> None:
    sim = simulator({"TYPE": "BreakOrder"})
    sim.add_order("O", "W")
    sim.run()
    assert sim.events_of("O") == ["OrderAdded", "OrderStarted", "OrderBroken"]
    assert isinstance(sim.state.orders["O"].state, st.Broken)


def test_fail_in_options_stop_on_failure_stops_as_in_js7() -> None:
    """JS7's StopOnFailureTest "Fail at Controller"."""
    sim = simulator(options({"TYPE": "Fail", "message": "'TEST-FAILURE'"}, stop_on_failure=True))
    sim.add_order("O", "W")
    sim.run()
    order = sim.state.orders["O"]
    assert isinstance(order.state, st.Stopped)
    resume(sim, "O", as_succeeded=True, position=(0, "options", 1))
    assert sim.typed_events_of("O")[1:] == [
        ev.OrderMoved(to=(0, "options", 0)),
        ev.OrderStarted(),
        ev.OrderOutcomeAdded(outcome=Failed(error_message="TEST-FAILURE")),
        ev.OrderStopped(),
        ev.OrderResumed(position=(0, "options", 1), as_succeeded=True),
        ev.OrderMoved(to=(1,)),
        ev.OrderFinished(),
    ]


def test_nested_options_switch_stop_on_failure_off_as_in_js7() -> None:
    """JS7's StopOnFailureTest "Two nested Options instructions"."""
    sim = simulator(
        options(options({"TYPE": "Fail", "message": "'TEST-FAILURE'"}, stop_on_failure=False), stop_on_failure=True)
    )
    sim.add_order("O", "W")
    sim.run()
    assert sim.typed_events_of("O")[1:] == [
        ev.OrderMoved(to=(0, "options", 0)),
        ev.OrderMoved(to=(0, "options", 0, "options", 0)),
        ev.OrderStarted(),
        ev.OrderOutcomeAdded(outcome=Failed(error_message="TEST-FAILURE")),
        ev.OrderFailed(),
    ]
    assert sim.state.orders["O"].position == (0, "options", 0, "options", 0)


def test_failed_job_in_nested_locks_in_options_stops_holding_the_locks_as_in_js7() -> None:
    """JS7's StopOnFailureTest "Fail in two nested Lock instructions"."""
    sim = Simulator()
    items = [{"TYPE": "Lock", "path": p, "limit": 1} for p in ("A", "B")]
    sim.command(_update(*({"TYPE": "AddOrChangeSimple", "item": i} for i in items)))
    inner = {"TYPE": "Lock", "demands": [{"lockPath": "B"}], "lockedWorkflow": {"instructions": [FAILING]}}
    outer = {"TYPE": "Lock", "demands": [{"lockPath": "A"}], "lockedWorkflow": {"instructions": [EXECUTE, inner]}}
    sim.deploy(workflow(options(outer, stop_on_failure=True)))
    sim.run_job = run_job
    sim.add_order("O", "W")
    sim.run()
    stopped = sim.state.orders["O"]
    assert isinstance(stopped.state, st.Stopped)
    assert stopped.position == (0, "options", 0, "lock", 1, "lock", 0)
    resume(sim, "O", as_succeeded=True, position=(0, "options", 0, "lock", 1, "lock", 1))
    assert sim.events_of("O") == [
        "OrderAdded",
        "OrderMoved",
        "OrderStarted",
        "OrderLocksAcquired",
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderLocksAcquired",
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderDetachable",
        "OrderDetached",
        "OrderStopped",
        "OrderResumed",
        "OrderLocksReleased",
        "OrderLocksReleased",
        "OrderMoved",
        "OrderFinished",
    ]
    released = [e for e in sim.typed_events_of("O") if isinstance(e, ev.OrderLocksReleased)]
    assert released == [ev.OrderLocksReleased(lock_paths=("B",)), ev.OrderLocksReleased(lock_paths=("A",))]


def test_a_fresh_order_failing_in_options_is_stopped_while_fresh_and_resumes_fresh() -> None:
    """A Lock demanding more than its limit fails an order unstarted (JS7); in Options(stopOnFailure) the
    order is StoppedWhileFresh instead, and a ResumeOrder makes it Fresh again (JS7's Order.scala)."""
    sim = Simulator()
    sim.command(_update({"TYPE": "AddOrChangeSimple", "item": {"TYPE": "Lock", "path": "A", "limit": 1}}))
    too_many = {"TYPE": "Lock", "demands": [{"lockPath": "A", "count": 2}], "lockedWorkflow": {"instructions": []}}
    sim.deploy(workflow(options(too_many, stop_on_failure=True)))
    sim.add_order("O", "W")
    sim.run()
    assert isinstance(sim.state.orders["O"].state, st.StoppedWhileFresh)
    resume(sim, "O", position=(1,))
    assert sim.events_of("O")[-3:] == ["OrderResumed", "OrderStarted", "OrderFinished"]


def test_sticky_subagent_as_in_js7() -> None:
    """JS7's StickySubagentTest, reduced to one Agent with one Subagent: entered on the Controller while
    Fresh, left on the Agent at the block's end."""
    sticky = {
        "TYPE": "StickySubagent",
        "agentPath": "AGENT",
        "subagentBundleIdExpr": "'BUNDLE'",
        "subworkflow": {"instructions": [EXECUTE, EXECUTE]},
    }
    sim = simulator(sticky)
    sim.add_order("O", "W")
    sim.run()
    events = sim.typed_events_of("O")
    assert events[1] == ev.OrderStickySubagentEntered(agent_path="AGENT", subagent_bundle_id="BUNDLE")
    assert sim.events_of("O") == [
        "OrderAdded",
        "OrderStickySubagentEntered",
        "OrderAttachable",
        "OrderAttached",
        "OrderStarted",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderStickySubagentLeaved",
        "OrderDetachable",
        "OrderDetached",
        "OrderFinished",
    ]
    moves = [e.to for e in events if isinstance(e, ev.OrderMoved)]
    assert moves == [(0, "stickySubagent", 1), (0, "stickySubagent", 2)]


def test_nested_sticky_subagent_fails() -> None:
    inner = {"TYPE": "StickySubagent", "agentPath": "AGENT", "subworkflow": {"instructions": []}}
    sim = simulator({"TYPE": "StickySubagent", "agentPath": "AGENT", "subworkflow": {"instructions": [inner]}})
    sim.add_order("O", "W")
    sim.run()
    assert isinstance(sim.state.orders["O"].state, st.Failed)
    outcome = sim.state.orders["O"].last_outcome
    assert outcome == Failed(error_message="StickySubagent instruction must not be nested")


def _update(*operations: dict[str, Any]) -> Any:
    from js7es.domain.commands.items import UpdateItems

    return UpdateItems(operations=tuple(value_from_json(o) for o in operations))


def test_cancelling_an_order_stopped_in_a_lock_gives_the_lock_back() -> None:
    sim = Simulator()
    sim.command(_update({"TYPE": "AddOrChangeSimple", "item": {"TYPE": "Lock", "path": "A", "limit": 1}}))
    locked = {"TYPE": "Lock", "demands": [{"lockPath": "A"}], "lockedWorkflow": {"instructions": [{"TYPE": "Fail"}]}}
    sim.deploy(workflow(options(locked, stop_on_failure=True)))
    sim.add_order("O", "W")
    sim.run()
    assert isinstance(sim.state.orders["O"].state, st.Stopped)
    assert not isinstance(sim.command(CancelOrders(order_ids=("O",))), Problem)
    sim.run()
    assert sim.events_of("O")[-4:] == [
        "OrderStopped",
        "OrderCancellationMarked",
        "OrderLocksReleased",
        "OrderCancelled",
    ]
    assert sim.state.locks["A"].acquired == AVAILABLE
