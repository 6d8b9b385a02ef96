"""js7es against JS7's own JSON: each scenario's events are compared with a golden file under
tests/golden/js7/ (one `{"Key":…, "TYPE":…, …}` line per event, as JS7's journal holds them without
EventIds). The JS7 source each expectation comes from is named at the test.

UPDATE_GOLDEN=1 rewrites the files after an intended change; review the diff against JS7's sources.

What each test checks is JS7's (positions, state and event names, what the commands do). Shapes where
js7es's JSON still differs from JS7's, outside these tests' subject, show in the files as they are: the
outcome Failed's text is "errorMessage" (JS7: "message"), a WorkflowId carries a TYPE, and the marks'
kill options are flat fields (JS7: "mode": {"TYPE": …, "kill": {"immediately": …}}).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from js7es.domain import codec
from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.orders import CancelOrders, ResumeOrders, SuspendOrders
from js7es.domain.event import KeyedEvent
from js7es.domain.order.events import OrderAttachedToAgent, OrderCancellationMarked, OrderResumed, mark_event
from js7es.domain.order.order import Cancelling, Order
from js7es.domain.order.outcome import Failed as FailedOutcome
from js7es.domain.order.outcome import Killed, Outcome, Succeeded, failed_with_return_code
from js7es.domain.order.states import Failed, Finished, OrderState, Prompting, Ready, Sleeping
from js7es.domain.problem import Problem
from js7es.domain.value import dumps, loads
from js7es.domain.workflow.job import WorkflowJob
from tests.domain.simulator import Simulator

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "js7"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def assert_golden(name: str, events: Sequence[KeyedEvent]) -> None:
    text = "".join(dumps({"Key": k.key, **codec.encode(k.event)}) + "\n" for k in events)
    path = GOLDEN / f"{name}.ndjson"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} differs (UPDATE_GOLDEN=1 if intended)"


def job(name: str) -> dict[str, Any]:
    return {"agentPath": "AGENT", "executable": {"TYPE": "PathExecutable", "path": name}}


def events_of(sim: Simulator, order_id: str) -> list[KeyedEvent]:
    return [k for k in sim.log if k.key == order_id]


# JS7 JS-2134 (IfExecutorTest "JS-2134 else if", WorkflowTest): the if-thens of an If are the branches
# "then", "then+2", "then+3", …; JS7 has no "then+1".
ELSE_IF = {
    "path": "W",
    "instructions": [
        {
            "TYPE": "If",
            "ifThens": [
                {"predicate": "false", "then": {"instructions": [{"TYPE": "Execute.Named", "jobName": "THEN"}]}},
                {"predicate": "false", "then": {"instructions": [{"TYPE": "Execute.Named", "jobName": "THEN-2"}]}},
                {"predicate": "true", "then": {"instructions": [{"TYPE": "Execute.Named", "jobName": "THEN-3"}]}},
            ],
            "else": {"instructions": [{"TYPE": "Execute.Named", "jobName": "ELSE"}]},
        }
    ],
    "jobs": {name: job(name) for name in ("THEN", "THEN-2", "THEN-3", "ELSE")},
}


def test_else_if_branches_are_named_then_then2_then3() -> None:
    sim = Simulator()
    sim.deploy(ELSE_IF)
    workflow = sim.state.current_workflow("W")
    assert workflow is not None
    assert [p for p, _ in workflow.positions() if len(p) == 3 and p[2] == 0] == [
        (0, "then", 0),
        (0, "then+2", 0),
        (0, "then+3", 0),
        (0, "else", 0),
    ]
    assert not workflow.is_valid_position((0, "then+1", 0))
    assert not workflow.is_valid_position((0, "then+4", 0))

    def fail_then_3(order: Order, job: WorkflowJob) -> Outcome:
        if order.position == (0, "then+3", 0):
            return failed_with_return_code(1)
        return Succeeded(named_values={"returnCode": 0})

    sim.run_job = fail_then_3
    sim.add_order("ORDER", "W")
    sim.run()
    refused = sim.command(ResumeOrders(order_ids=("ORDER",), position=(0, "then+1", 0)))
    assert isinstance(refused, Problem) and refused.code == "InvalidPosition"
    sim.command(ResumeOrders(order_ids=("ORDER",), position=(0, "then+2", 0)))
    sim.run()
    assert_golden("if-else-if", events_of(sim, "ORDER"))


# JS7 Order.scala: the state of a failed order is {"TYPE": "Failed"} (Subtype(Failed)), the same TYPE as
# the outcome OrderOutcome.Failed; the field (state or outcome) tells which one it is.
def test_a_failed_order_has_js7s_state_Failed() -> None:
    sim = Simulator()
    sim.run_job = lambda order, job: failed_with_return_code(1, "exit 1")
    sim.deploy({"path": "W", "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}], "jobs": {"J": job("J")}})
    sim.add_order("ORDER", "W")
    sim.run()
    order = sim.state.orders["ORDER"]
    assert isinstance(order.state, Failed)
    assert_golden("failed-order", [KeyedEvent("ORDER", OrderAttachedToAgent(order=order))])
    encoded = codec.encode(order)
    assert encoded["state"] == {"TYPE": "Failed"}
    assert encoded["historicOutcomes"][0]["outcome"]["TYPE"] == "Failed"
    assert codec.decode(loads(dumps(encoded)), Order) == order
    assert codec.decode({"TYPE": "Failed"}, OrderState) == Failed()
    assert codec.decode({"TYPE": "Failed", "errorMessage": "x"}, Outcome) == FailedOutcome(error_message="x")


# JS7 OrderEventSource.resume / Order.scala OrderResumed: restartKilledJob (default: the last outcome is
# Killed and the job is restartable) forgets the Killed outcome and runs the job again; without it, a
# killed order resumed asSucceeded continues after the job.
def _killed_while_suspending(*, restartable: bool = True) -> Simulator:
    sim = Simulator()
    job_ = {**job("J"), "isNotRestartable": not restartable}
    sim.deploy({"path": "W", "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}], "jobs": {"J": job_}})
    runs: list[str] = []

    def run(order: Order, workflow_job: WorkflowJob) -> Outcome:
        runs.append(order.id)
        if len(runs) == 1:  # while the first run goes on, suspend with kill: the process is killed
            sim.command(SuspendOrders(order_ids=(order.id,), kill=True))
            return Killed(outcome=failed_with_return_code(137))
        return Succeeded(named_values={"returnCode": 0})

    sim.run_job = run
    sim.add_order("ORDER", "W")
    sim.run()
    order = sim.state.orders["ORDER"]
    assert order.is_suspended and isinstance(order.last_outcome, Killed) and runs == ["ORDER"]
    return sim


def test_resume_restarts_a_killed_job() -> None:
    sim = _killed_while_suspending()
    sim.command(ResumeOrders(order_ids=("ORDER",)))
    sim.run()
    order = sim.state.orders["ORDER"]
    assert isinstance(order.state, Finished)
    assert [type(h.outcome) for h in order.historic_outcomes] == [Succeeded]  # the Killed one is forgotten
    assert_golden("resume-restart-killed-job", events_of(sim, "ORDER"))


def test_resume_as_succeeded_without_restart_continues_after_the_killed_job() -> None:
    sim = _killed_while_suspending()
    sim.command(ResumeOrders(order_ids=("ORDER",), as_succeeded=True, restart_killed_job=False))
    sim.run()
    order = sim.state.orders["ORDER"]
    assert isinstance(order.state, Finished) and order.position == (1,)
    assert sim.events_of("ORDER").count("OrderProcessingStarted") == 1  # not run again
    resumed = [e for e in sim.typed_events_of("ORDER") if isinstance(e, OrderResumed)]
    assert resumed == [OrderResumed(as_succeeded=True, restart_killed_job=False)]


def test_a_killed_job_that_is_not_restartable_is_not_restarted_by_default() -> None:
    sim = _killed_while_suspending(restartable=False)
    sim.command(ResumeOrders(order_ids=("ORDER",)))
    resumed = [e for e in sim.typed_events_of("ORDER") if isinstance(e, OrderResumed)]
    assert resumed == [OrderResumed(restart_killed_job=False)]
    assert isinstance(sim.state.orders["ORDER"].historic_outcomes[-1].outcome, Killed)


# JS7 SuspensionMode(resetState) / OrderEventSource.trySuspendNow: an order waiting in a resettable state
# (here Prompting, Sleeping, DelayingRetry) gets OrderStateReset and OrderSuspended at once; resumed, it
# starts its instruction anew. Without resetState it stays waiting, marked.
def test_suspend_with_reset_state() -> None:
    sim = Simulator()
    sim.deploy(
        {"path": "P", "instructions": [{"TYPE": "Prompt", "question": "'Go on?'"}]},
        {"path": "S", "instructions": [{"TYPE": "Sleep", "duration": "3600"}]},
    )
    for order_id, path in (("PROMPTING", "P"), ("SLEEPING", "S"), ("KEPT", "P")):
        sim.add_order(order_id, path)
    while sim.step():  # without letting the clock run
        pass
    assert isinstance(sim.state.orders["SLEEPING"].state, Sleeping)
    assert not isinstance(sim.command(SuspendOrders(order_ids=("PROMPTING", "SLEEPING"), reset_state=True)), Problem)
    sim.command(SuspendOrders(order_ids=("KEPT",)))
    assert isinstance(sim.state.orders["KEPT"].state, Prompting) and not sim.state.orders["KEPT"].is_suspended
    for order_id in ("PROMPTING", "SLEEPING"):
        order = sim.state.orders[order_id]
        assert order.is_suspended and isinstance(order.state, Ready) and order.mark is None
    sim.now_ms += 1000
    sim.command(ResumeOrders(order_ids=("PROMPTING", "SLEEPING")))
    assert isinstance(sim.state.orders["PROMPTING"].state, Prompting)
    sleeping = sim.state.orders["SLEEPING"].state
    assert isinstance(sleeping, Sleeping) and sleeping.until_ms == sim.now_ms + 3_600_000  # sleeps anew
    assert_golden("suspend-reset-state", events_of(sim, "PROMPTING") + events_of(sim, "SLEEPING"))


# JS7 CancellationMode.FreshOrStarted(kill = Some(Kill(immediately = true))): the mark carries it to the
# Agent, which sends SIGKILL at once (tests/e2e/test_e2e_orders.py runs it on a real process).
def test_cancel_with_kill_immediately_is_marked_so() -> None:
    sim = Simulator()
    sim.deploy({"path": "W", "instructions": [{"TYPE": "Prompt", "question": "'?'"}]})
    sim.add_order("ORDER", "W")
    sim.run()
    sim.command(CancelOrders(order_ids=("ORDER",), kill=True, kill_immediately=True))
    marked = [e for e in sim.typed_events_of("ORDER") if isinstance(e, OrderCancellationMarked)]
    assert marked == [OrderCancellationMarked(kill=True, kill_immediately=True)]
    assert mark_event(Cancelling(kill=True, kill_immediately=True)) == marked[0]
    assert sim.events_of("ORDER")[-1] == "OrderCancelled"


# JS7 Finish(outcome: Option[OrderOutcome.Completed]): the order finishes with that outcome, named values
# included; Fail's namedValues are values (FailTest: "namedValues": {"returnCode": 7}).
def test_finish_and_fail_outcomes_carry_their_named_values() -> None:
    sim = Simulator()
    sim.deploy(
        {
            "path": "F",
            "instructions": [
                {"TYPE": "Finish", "outcome": {"TYPE": "Failed", "message": "given up", "namedValues": {"n": 1}}}
            ],
        },
        {"path": "X", "instructions": [{"TYPE": "Fail", "message": "'ERROR'", "namedValues": {"returnCode": 7}}]},
    )
    sim.add_order("FINISH", "F")
    sim.add_order("FAIL", "X")
    sim.run()
    assert_golden("finish-and-fail-outcomes", events_of(sim, "FINISH") + events_of(sim, "FAIL"))


# JS7 ForkInstructionExecutor: with agentPath the order is attached to that Agent and forked there (the
# children are created attached to it, Order.newForkedOrders copies attachedState); the forked parent is
# detachable and the Controller joins, after the children came back at the ends of their branches.
def test_fork_with_agent_path_forks_on_that_agent() -> None:
    sim = Simulator(agents=("AGENT", "B"))
    fork = {
        "TYPE": "Fork",
        "agentPath": "AGENT",
        "branches": [
            {"id": "a", "workflow": {"instructions": [{"TYPE": "Execute.Named", "jobName": "A"}]}},
            {"id": "b", "workflow": {"instructions": [{"TYPE": "Execute.Named", "jobName": "B"}]}},
        ],
    }
    sim.deploy(
        {"path": "W", "instructions": [fork], "jobs": {"A": job("A"), "B": {**job("B"), "agentPath": "B"}}},
    )
    sim.add_order("ORDER", "W")
    sim.run()
    assert sim.events_of("ORDER")[-1] == "OrderFinished"
    forked = [k for k in sim.log if k.key.startswith("ORDER")]
    assert_golden("fork-on-agent", forked)
    # The child whose job is on this Agent starts at once; the other one goes to its Agent via the Controller.
    assert sim.events_of("ORDER|a")[:2] == ["OrderProcessingStarted", "OrderProcessed"]
    assert sim.events_of("ORDER|b")[:4] == ["OrderDetachable", "OrderDetached", "OrderAttachable", "OrderAttached"]


def test_fork_with_an_unknown_agent_path_is_not_deployed() -> None:
    sim = Simulator()
    fork = {"TYPE": "Fork", "agentPath": "NONE", "branches": [{"id": "a", "workflow": {"instructions": []}}]}
    refused = sim.command(
        UpdateItems(
            operations=(
                {"TYPE": "AddVersion", "versionId": "1"},
                {"TYPE": "AddOrChangeSimple", "item": {"path": "W", "instructions": [fork]}},
            )
        )
    )
    assert isinstance(refused, Problem) and refused.arguments["key"] == "AgentRef:NONE"


# JS7 StopOnFailureTest "Fail at Controller" and ForkListTest "Events and Order.Forked snapshot": the
# stopped order's events with OrderStopped, and a ForkList's OrderForked children with their arguments
# and without a branchId (JS7's OrderForked.Child).
def test_stop_on_failure_and_fork_list_as_json() -> None:
    options = {
        "TYPE": "Options",
        "stopOnFailure": True,
        "block": {"instructions": [{"TYPE": "Fail", "message": "'TEST-FAILURE'"}]},
    }
    fork_list = {
        "TYPE": "ForkList",
        "children": "$myList",
        "childToId": "element => $element",
        "childToArguments": "element => { element: $element }",
        "workflow": {"instructions": []},
    }
    sim = Simulator()
    sim.deploy({"path": "W", "instructions": [fork_list, options]})
    sim.add_order("O", "W", arguments={"myList": ("ELEMENT-1", "ELEMENT-2")})
    sim.run()
    stopped = sim.state.orders["O"]
    resumed = sim.command(ResumeOrders(order_ids=("O",), position=(1, "options", 1), as_succeeded=True))
    assert not isinstance(resumed, Problem), resumed
    sim.run()
    assert stopped.position == (1, "options", 0)
    assert sim.events_of("O")[-1] == "OrderFinished"
    assert_golden("fork-list-and-stop-on-failure", events_of(sim, "O"))
