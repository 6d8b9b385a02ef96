"""The exact event sequence of each order through every instruction (pure domain, simulated nodes)."""

from __future__ import annotations

from typing import Any

import pytest

from js7es.domain.commands.orders import (
    AnswerOrderPrompt,
    CancelOrders,
    DeleteOrdersWhenTerminated,
    ResumeOrders,
    SuspendOrders,
)
from js7es.domain.items import ItemDeleted
from js7es.domain.order import events as ev
from js7es.domain.order import states as st
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Disrupted, Failed, Outcome, Succeeded, TimedOut
from js7es.domain.problem import Problem
from js7es.domain.workflow.job import WorkflowJob
from js7es.domain.workflow.workflow import WorkflowId
from tests.domain.simulator import Simulator

SHELL = {"TYPE": "ShellScriptExecutable", "script": "exit 0"}


def job(agent: str = "AGENT", **extra: Any) -> dict[str, Any]:
    return {"agentPath": agent, "executable": SHELL, **extra}


def execute(name: str = "J") -> dict[str, Any]:
    return {"TYPE": "Execute.Named", "jobName": name}


def workflow(*instructions: dict[str, Any], path: str = "W", **jobs: dict[str, Any]) -> dict[str, Any]:
    return {"path": path, "instructions": list(instructions), "jobs": jobs or {"J": job()}}


ONE_JOB_ON_AGENT = [
    "OrderAttachable",
    "OrderAttached",
    "OrderStarted",
    "OrderProcessingStarted",
    "OrderProcessed",
    "OrderMoved",
    "OrderDetachable",
    "OrderDetached",
    "OrderFinished",
]


def test_one_job_as_in_js7() -> None:
    sim = Simulator()
    sim.deploy(workflow(execute()))
    sim.add_order("O", "W")
    sim.run()
    assert sim.events_of("O") == ["OrderAdded", *ONE_JOB_ON_AGENT]
    assert isinstance(sim.state.orders["O"].state, st.Finished)
    moved = [e for e in sim.typed_events_of("O") if isinstance(e, ev.OrderMoved)]
    assert moved == [ev.OrderMoved(to=(1,))]


def test_delete_when_terminated() -> None:
    sim = Simulator()
    sim.deploy(workflow(execute()))
    sim.add_order("O", "W", delete_when_terminated=True)
    sim.run()
    assert sim.events_of("O") == ["OrderAdded", *ONE_JOB_ON_AGENT, "OrderDeleted"]
    assert "O" not in sim.state.orders


def test_two_jobs_stay_on_the_agent() -> None:
    sim = Simulator()
    sim.deploy(workflow(execute(), execute()))
    sim.add_order("O", "W")
    sim.run()
    assert sim.events_of("O") == [
        "OrderAdded",
        "OrderAttachable",
        "OrderAttached",
        "OrderStarted",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderFinished",
    ]


def test_jobs_on_two_agents_move_the_order() -> None:
    sim = Simulator(agents=("A1", "A2"))
    sim.deploy(workflow(execute("J1"), execute("J2"), J1=job("A1"), J2=job("A2")))
    sim.add_order("O", "W")
    sim.run()
    events = sim.typed_events_of("O")
    assert [e.agent_path for e in events if isinstance(e, ev.OrderAttachable)] == ["A1", "A2"]
    assert sim.events_of("O")[7:13] == [
        "OrderDetachable",
        "OrderDetached",
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
    ]


def test_if_else_if_else_with_arguments() -> None:
    sim = Simulator()
    condition = {
        "TYPE": "If",
        "ifThens": [
            {"predicate": "$n > 10", "then": {"instructions": [execute()]}},
            {"predicate": "$n > 5", "then": {"instructions": [execute(), execute()]}},
        ],
        "else": {"instructions": []},
    }
    sim.deploy(workflow(condition))
    sim.add_order("big", "W", arguments={"n": 11})
    sim.add_order("middle", "W", arguments={"n": 7})
    sim.add_order("small", "W", arguments={"n": 1})
    sim.run()
    moved = {
        o: [e.to for e in sim.typed_events_of(o) if isinstance(e, ev.OrderMoved)] for o in ("big", "middle", "small")
    }
    assert moved == {
        "big": [(0, "then", 0), (1,)],
        "middle": [(0, "then+2", 0), (0, "then+2", 1), (1,)],
        "small": [(1,)],  # an empty else block is passed over
    }
    assert sim.events_of("small") == ["OrderAdded", "OrderStarted", "OrderMoved", "OrderFinished"]


def test_if_with_a_bad_predicate_value_fails_the_order() -> None:
    sim = Simulator()
    sim.deploy(workflow({"TYPE": "If", "ifThens": [{"predicate": "$n", "then": {"instructions": []}}]}))
    sim.add_order("O", "W", arguments={"n": 1})
    sim.run()
    assert sim.events_of("O") == ["OrderAdded", "OrderStarted", "OrderOutcomeAdded", "OrderFailed"]
    assert isinstance(sim.state.orders["O"].state, st.Failed)


def failing_times(n: int, outcome: Outcome | None = None) -> Any:
    runs: dict[str, int] = {}

    def run(order: Order, _: WorkflowJob) -> Outcome:
        runs[order.id] = runs.get(order.id, 0) + 1
        if runs[order.id] <= n:
            return outcome or Failed(error_message="boom", named_values={"returnCode": 1})
        return Succeeded(named_values={"returnCode": 0})

    return run


def try_retry(max_tries: int) -> dict[str, Any]:
    return {
        "TYPE": "Try",
        "try": {"instructions": [execute()]},
        "catch": {"instructions": [{"TYPE": "Retry"}]},
        "retryDelays": [1, 2],
        "maxTries": max_tries,
    }


def test_try_retry_on_the_agent_until_success() -> None:
    sim = Simulator(run_job=failing_times(2))
    sim.deploy(workflow(try_retry(3)))
    start = sim.now_ms
    sim.add_order("O", "W")
    sim.run()
    assert sim.events_of("O") == [
        "OrderAdded",
        "OrderStarted",
        "OrderMoved",
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderCaught",
        "OrderRetrying",
        "OrderAwoke",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderCaught",
        "OrderRetrying",
        "OrderAwoke",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderFinished",
    ]
    retrying = [e for e in sim.typed_events_of("O") if isinstance(e, ev.OrderRetrying)]
    assert retrying == [
        ev.OrderRetrying(moved_to=(0, "try+1", 0), delayed_until=start + 1000),
        ev.OrderRetrying(moved_to=(0, "try+2", 0), delayed_until=start + 3000),
    ]
    caught = [e.moved_to for e in sim.typed_events_of("O") if isinstance(e, ev.OrderCaught)]
    assert caught == [(0, "catch+0", 0), (0, "catch+1", 0)]


def test_retry_stops_at_max_tries_and_the_order_fails() -> None:
    sim = Simulator(run_job=failing_times(5))
    sim.deploy(workflow(try_retry(2)))
    sim.add_order("O", "W")
    sim.run()
    names = sim.events_of("O")
    assert names.count("OrderProcessed") == 2
    assert names[-5:] == ["OrderCaught", "OrderDetachable", "OrderDetached", "OrderOutcomeAdded", "OrderFailed"]
    outcome = sim.state.orders["O"].last_outcome
    assert outcome == Failed(error_message="Retry stopped because maxTries=2 has been reached")


def test_failed_job_without_try_fails_the_order_then_resume_at_a_position() -> None:
    sim = Simulator(run_job=failing_times(1))
    sim.deploy(workflow(execute()))
    sim.add_order("O", "W")
    sim.run()
    assert sim.events_of("O")[-4:] == ["OrderProcessed", "OrderDetachable", "OrderDetached", "OrderFailed"]
    assert isinstance(sim.command(ResumeOrders(order_ids=("O",), position=(5,))), Problem)
    sim.command(ResumeOrders(order_ids=("O",), position=(0,)))
    sim.run()
    assert sim.events_of("O")[-9:] == ["OrderResumed", *ONE_JOB_ON_AGENT[:2], *ONE_JOB_ON_AGENT[3:]]


def test_fail_instruction_caught_and_uncatchable() -> None:
    sim = Simulator()
    caught = {
        "TYPE": "Try",
        "try": {"instructions": [{"TYPE": "Fail", "message": "'stop'", "namedValues": {"x": "1", "returnCode": 7}}]},
        "catch": {"instructions": []},
    }
    uncatchable = {
        "TYPE": "Try",
        "try": {"instructions": [{"TYPE": "Fail", "uncatchable": True}]},
        "catch": {"instructions": []},
    }
    sim.deploy(workflow(caught, path="C"), workflow(uncatchable, path="U"))
    sim.add_order("c", "C")
    sim.add_order("u", "U")
    sim.run()
    assert sim.events_of("c") == [
        "OrderAdded",
        "OrderStarted",
        "OrderMoved",
        "OrderOutcomeAdded",
        "OrderCaught",
        "OrderMoved",
        "OrderFinished",
    ]
    added = [e for e in sim.typed_events_of("c") if isinstance(e, ev.OrderOutcomeAdded)]
    # JS7's Fail.namedValues are values, not expressions (FailTest: "namedValues": {"returnCode": 7})
    assert added == [
        ev.OrderOutcomeAdded(outcome=Failed(error_message="stop", named_values={"x": "1", "returnCode": 7}))
    ]
    assert sim.events_of("u") == ["OrderAdded", "OrderStarted", "OrderMoved", "OrderOutcomeAdded", "OrderFailed"]


def fork(*branches: tuple[str, list[dict[str, Any]]], join_if_failed: bool = False) -> dict[str, Any]:
    return {
        "TYPE": "Fork",
        "joinIfFailed": join_if_failed,
        "branches": [{"id": b, "workflow": {"instructions": i}} for b, i in branches],
    }


def test_fork_and_join() -> None:
    sim = Simulator()
    sim.deploy(workflow(fork(("a", [execute()]), ("b", [execute(), execute()])), execute()))
    sim.add_order("O", "W")
    sim.run()
    assert sim.events_of("O") == [
        "OrderAdded",
        "OrderStarted",
        "OrderForked",
        "OrderJoined",
        "OrderMoved",
        *ONE_JOB_ON_AGENT[:2],
        *ONE_JOB_ON_AGENT[3:],
    ]
    assert sim.events_of("O|a") == [
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
    ]
    forked = next(e for e in sim.typed_events_of("O") if isinstance(e, ev.OrderForked))
    assert [c.order_id for c in forked.children] == ["O|a", "O|b"]
    assert set(sim.state.orders) == {"O"}  # children are gone after the join
    assert sim.state.orders["O"].historic_outcomes[-2].outcome == Succeeded()


def test_fork_join_if_failed_fails_the_parent_and_a_try_catches_it() -> None:
    sim = Simulator(run_job=lambda order, job: Failed() if order.id == "O|bad" else Succeeded())
    guarded = {
        "TYPE": "Try",
        "try": {"instructions": [fork(("good", [execute()]), ("bad", [execute()]), join_if_failed=True)]},
        "catch": {"instructions": []},
    }
    sim.deploy(workflow(guarded))
    sim.add_order("O", "W")
    sim.run()
    assert sim.events_of("O|bad")[-3:] == ["OrderDetachable", "OrderDetached", "OrderFailedInFork"]
    assert sim.events_of("O")[-4:] == ["OrderJoined", "OrderCaught", "OrderMoved", "OrderFinished"]


def test_fork_without_join_if_failed_waits_for_the_failed_child() -> None:
    sim = Simulator(run_job=lambda order, job: Failed() if order.id == "O|bad" else Succeeded())
    sim.deploy(workflow(fork(("good", [execute()]), ("bad", [execute()]))))
    sim.add_order("O", "W")
    sim.run()
    assert isinstance(sim.state.orders["O|bad"].state, st.Failed)
    assert isinstance(sim.state.orders["O"].state, st.Forked)
    sim.run_job = lambda order, job: Succeeded()
    sim.command(ResumeOrders(order_ids=("O|bad",), position=(0, "fork+bad", 0)))
    sim.run()
    assert isinstance(sim.state.orders["O"].state, st.Finished)


def test_prompt_and_answer() -> None:
    sim = Simulator()
    sim.deploy(workflow({"TYPE": "Prompt", "question": "'Go on, ' ++ $who ++ '?'"}))
    sim.add_order("O", "W", arguments={"who": "Ada"})
    sim.run()
    assert sim.state.orders["O"].state == st.Prompting(question="Go on, Ada?")
    assert isinstance(sim.command(AnswerOrderPrompt(order_id="nope")), Problem)
    sim.command(AnswerOrderPrompt(order_id="O"))
    sim.run()
    assert sim.events_of("O") == [
        "OrderAdded",
        "OrderStarted",
        "OrderPrompted",
        "OrderPromptAnswered",
        "OrderMoved",
        "OrderFinished",
    ]


def test_sleep() -> None:
    sim = Simulator()
    sim.deploy(workflow({"TYPE": "Sleep", "duration": "$seconds"}))
    start = sim.now_ms
    sim.add_order("O", "W", arguments={"seconds": 3})
    sim.run()
    assert sim.events_of("O") == ["OrderAdded", "OrderStarted", "OrderSleeping", "OrderMoved", "OrderFinished"]
    assert ev.OrderSleeping(until=start + 3000) in sim.typed_events_of("O")
    assert sim.now_ms == start + 3000


def test_finish_in_the_middle_and_inside_a_fork_branch() -> None:
    sim = Simulator()
    sim.deploy(
        workflow({"TYPE": "Finish"}, path="F"),
        workflow(fork(("a", [{"TYPE": "Finish"}])), path="FF"),
    )
    sim.add_order("f", "F")
    sim.add_order("ff", "FF")
    sim.run()
    assert sim.events_of("f") == ["OrderAdded", "OrderStarted", "OrderFinished"]
    assert sim.events_of("ff|a") == ["OrderMoved"]
    assert sim.events_of("ff")[-2:] == ["OrderMoved", "OrderFinished"]


def test_scheduled_order_starts_at_its_time() -> None:
    sim = Simulator()
    sim.deploy(workflow(execute()))
    later = sim.now_ms + 60_000
    sim.add_order("O", "W", scheduled_for=later)
    sim.step()
    assert sim.events_of("O") == ["OrderAdded", "OrderAttachable", "OrderAttached"]
    sim.run()
    assert sim.now_ms == later
    assert sim.events_of("O")[-1] == "OrderFinished"


def test_cancel_fresh_order_and_refuse_fresh_only_for_a_started_one() -> None:
    sim = Simulator()
    sim.deploy(workflow({"TYPE": "Prompt", "question": "'?'"}))
    sim.add_order("fresh", "W", scheduled_for=sim.now_ms + 60_000)
    sim.add_order("started", "W")
    sim.run_until = None
    sim.step()
    refused = sim.command(CancelOrders(order_ids=("started",), mode="FreshOnly"))
    assert isinstance(refused, Problem) and refused.code == "CancelStartedOrder"
    sim.command(CancelOrders(order_ids=("fresh", "started")))
    sim.step()
    assert sim.events_of("fresh") == ["OrderAdded", "OrderCancellationMarked", "OrderCancelled"]
    assert sim.events_of("started")[-2:] == ["OrderCancellationMarked", "OrderCancelled"]
    unknown = sim.command(CancelOrders(order_ids=("fresh", "nope")))
    assert isinstance(unknown, Problem) and unknown.code == "UnknownOrder"


def test_cancel_on_the_agent_detaches_first() -> None:
    sim = Simulator()
    sim.deploy(workflow(execute()))
    sim.add_order("O", "W", scheduled_for=sim.now_ms + 60_000)
    sim.step()  # attached to the agent, waiting for its time
    sim.command(CancelOrders(order_ids=("O",)))
    sim.run()
    assert sim.events_of("O")[3:] == ["OrderCancellationMarked", "OrderDetachable", "OrderDetached", "OrderCancelled"]


def test_suspend_and_resume() -> None:
    sim = Simulator()
    sim.deploy(workflow(execute()))
    sim.add_order("O", "W", scheduled_for=sim.now_ms + 1000)
    sim.command(SuspendOrders(order_ids=("O",)))
    sim.run()
    assert sim.events_of("O") == [
        "OrderAdded",
        "OrderAttachable",
        "OrderSuspensionMarked",  # while the order is being attached
        "OrderAttached",
        "OrderDetachable",
        "OrderDetached",
        "OrderSuspended",
    ]
    assert sim.state.orders["O"].is_suspended
    sim.command(ResumeOrders(order_ids=("O",)))
    sim.run()
    assert sim.events_of("O")[7:] == ["OrderResumed", *ONE_JOB_ON_AGENT]


def test_process_lost_repeats_the_step_unless_not_restartable() -> None:
    lost = Disrupted(reason="ProcessLost", message="Subagent restarted")
    sim = Simulator(run_job=failing_times(1, lost))
    sim.deploy(
        workflow(execute(), path="R"),
        workflow(execute(), path="N", J=job(isNotRestartable=True)),
    )
    sim.add_order("r", "R")
    sim.add_order("n", "N")
    sim.run()
    moved = [e for e in sim.typed_events_of("r") if isinstance(e, ev.OrderMoved)]
    assert moved == [ev.OrderMoved(to=(0,), reason="ProcessLost"), ev.OrderMoved(to=(1,))]
    assert isinstance(sim.state.orders["r"].state, st.Finished)
    assert isinstance(sim.state.orders["n"].state, st.Failed)


def test_timed_out_job_fails() -> None:
    sim = Simulator(run_job=failing_times(1, TimedOut(outcome=Failed(named_values={"returnCode": 143}))))
    sim.deploy(workflow(execute()))
    sim.add_order("O", "W")
    sim.run()
    assert isinstance(sim.state.orders["O"].state, st.Failed)


def test_duplicate_order_is_reported_never_added_twice() -> None:
    sim = Simulator()
    sim.deploy(workflow({"TYPE": "Prompt", "question": "'?'"}))
    first = sim.add_order("O", "W")
    second = sim.add_order("O", "W")
    assert not isinstance(first, Problem) and first.reply == {"ignoredBecauseDuplicate": []}
    assert not isinstance(second, Problem) and second.reply == {"ignoredBecauseDuplicate": ["O"]}
    assert sim.events_of("O").count("OrderAdded") == 1


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({}, "MissingOrderArgument"),
        ({"s": 1}, "WrongOrderArgumentType"),
        ({"s": "x", "extra": 1}, "UndeclaredOrderArgument"),
        ({"s": "x", "fixed": "y"}, "FixedOrderArgument"),
    ],
)
def test_order_arguments_are_checked_against_parameters(arguments: dict[str, Any], code: str) -> None:
    sim = Simulator()
    w = workflow({"TYPE": "Prompt", "question": "$s ++ $n.toString ++ $fixed"})
    w["orderPreparation"] = {
        "parameters": {"s": {"type": "String"}, "n": {"type": "Number", "default": "7"}, "fixed": {"final": "'F'"}}
    }
    sim.deploy(w)
    result = sim.add_order("O", "W", arguments=arguments)
    assert isinstance(result, Problem) and result.code == code
    assert "O" not in sim.state.orders
    sim.add_order("ok", "W", arguments={"s": "x"})
    sim.run()
    assert sim.state.orders["ok"].state == st.Prompting(question="x7F")


def test_invalid_order_ids_are_refused() -> None:
    sim = Simulator()
    sim.deploy(workflow(execute()))
    for bad in ("", "a|b", "tab\there"):
        result = sim.add_order(bad, "W")
        assert isinstance(result, Problem) and result.code == "InvalidOrderId"
    result = sim.add_order("x", "unknown")
    assert isinstance(result, Problem) and result.code == "UnknownItem"


def test_old_workflow_version_stays_while_an_order_uses_it() -> None:
    sim = Simulator()
    sim.deploy(workflow(execute()))
    sim.add_order("old", "W", scheduled_for=sim.now_ms + 10_000)
    sim.deploy(workflow(execute(), execute()))
    assert set(sim.state.workflows) == {WorkflowId("W", "v1"), WorkflowId("W", "v2")}
    sim.add_order("new", "W")
    sim.command(DeleteOrdersWhenTerminated(order_ids=("old", "new")))
    sim.run()
    assert sim.events_of("old").count("OrderProcessed") == 1
    assert sim.events_of("new").count("OrderProcessed") == 2
    sim.command(DeleteOrdersWhenTerminated(order_ids=()))  # follow-up removes obsolete versions
    assert set(sim.state.workflows) == {WorkflowId("W", "v2")}
    assert any(isinstance(k.event, ItemDeleted) and k.event.key == "Workflow:W~v1" for k in sim.log)


def test_a_child_detached_by_its_agent_lets_the_parent_join() -> None:
    """The node applies OrderDetached (from the Agent) itself; follow_up must still visit the parent."""
    from js7es.domain.event import KeyedEvent
    from js7es.domain.order.event_source import follow_up

    sim = Simulator()
    sim.deploy(workflow(fork(("a", [execute()]))))
    sim.add_order("O", "W")
    for _ in range(20):  # run until the child waits for its detachment
        if sim.state.orders["O|a"].attached is not None and sim.state.orders["O|a"].attached.kind == "Detaching":
            break
        sim.log.extend(follow_up(sim.state, list(sim.state.orders), sim.ctx()))
        sim.log.extend(follow_up(sim.state, ["O|a"], sim.ctx("AGENT")))
        order = sim.state.orders["O|a"]
        if order.attached is not None and order.attached.kind == "Attaching":
            sim._emit("O|a", ev.OrderAttached(agent_path="AGENT"))
        elif isinstance(order.state, st.Ready) and order.attached is not None and order.position[-1] == 0:
            sim._emit("O|a", ev.OrderProcessingStarted(subagent_id="s"))
            sim._emit("O|a", ev.OrderProcessed(outcome=Succeeded()))
    assert sim.state.apply_event("O|a", ev.OrderDetached()) is None
    events = follow_up(sim.state, ["O|a"], sim.ctx())
    assert [type(k.event).__name__ for k in events] == ["OrderJoined", "OrderMoved", "OrderFinished"]
    assert all(isinstance(k, KeyedEvent) and k.key == "O" for k in events)


def test_suspending_a_forked_order_leaves_a_child_suspended_before_as_it_is() -> None:
    """Found by the replay property test: the parent's suspension marked every child, also one suspended
    already, whose OrderSuspensionMarked does not apply — an event that halts the node."""
    sim = Simulator()
    sleep = {"TYPE": "Prompt", "question": "'?'"}
    sim.deploy(workflow(fork(("a", [sleep]), ("b", [sleep]))))
    sim.add_order("O", "W")
    sim.run()
    assert isinstance(sim.state.orders["O"].state, st.Forked)
    assert not isinstance(sim.command(SuspendOrders(order_ids=("O|a",), reset_state=True)), Problem)
    sim.run()
    assert sim.state.orders["O|a"].is_suspended
    decided = sim.command(SuspendOrders(order_ids=("O",)))
    assert not isinstance(decided, Problem), decided
    assert [(k.key, type(k.event).__name__) for k in decided.events] == [
        ("O", "OrderSuspensionMarked"),
        ("O|b", "OrderSuspensionMarked"),
    ]
