"""The ForkList instruction, with JS7's ForkListTest as the oracle: one child `parent|id` per list
element in the block "fork", with the arguments of childToArguments; duplicates and bad ids fail the
parent unstarted (outcome Disrupted); an empty list joins at once; failing children as for Fork."""

from __future__ import annotations

from typing import Any

from js7es.domain.expression import MapScope
from js7es.domain.expression.function import call, parse_function
from js7es.domain.order import events as ev
from js7es.domain.order import states as st
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Disrupted, Failed, Outcome, Succeeded
from js7es.domain.problem import Problem
from js7es.domain.workflow.job import WorkflowJob
from js7es.domain.workflow.parse import parse_workflow
from js7es.domain.workflow.workflow import WorkflowId
from tests.domain.simulator import Simulator

SHELL = {"TYPE": "ShellScriptExecutable", "script": "exit 0"}
JOBS = {"J": {"agentPath": "AGENT", "executable": SHELL}}
EXECUTE = {"TYPE": "Execute.Named", "jobName": "J"}
ELEMENTS = ("ELEMENT-1", "ELEMENT-2", "ELEMENT-3")


def fork_list(*instructions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "TYPE": "ForkList",
        "children": "$myList",
        "childToId": "element => $element",
        "childToArguments": "element => { element: $element }",
        "workflow": {"instructions": list(instructions)},
        **extra,
    }


def simulator(*instructions: dict[str, Any]) -> Simulator:
    sim = Simulator()
    sim.deploy({"path": "W", "instructions": list(instructions), "jobs": JOBS})
    return sim


def test_function_literals() -> None:
    scope = MapScope(named_values={"y": 5})
    fn = parse_function("(element, index) => { element: $element, i: $index, y: $y }")
    assert not isinstance(fn, Problem)
    assert call(fn, ("a", 1), scope) == {"element": "a", "i": 1, "y": 5}
    one = parse_function("x => $x")
    assert not isinstance(one, Problem) and call(one, ("a", 1), scope) == "a"
    assert isinstance(parse_function("(a, b, c) => 1"), Problem)
    assert isinstance(parse_function("() => 1", minimum=1), Problem)
    assert isinstance(parse_function("$x"), Problem)
    refused = parse_workflow({"path": "W", "instructions": [fork_list(childToId="$element")]})
    assert isinstance(refused, Problem) and refused.code == "InvalidInstruction"


def test_fork_list_events_as_in_js7() -> None:
    """JS7's ForkListTest "Events and Order.Forked snapshot" (forked on the Controller here)."""
    sim = simulator(fork_list(EXECUTE))
    sim.add_order("O", "W", arguments={"myList": ELEMENTS}, delete_when_terminated=True)
    sim.run()
    children = tuple(ev.ForkedChild(order_id=f"O|{e}", arguments={"element": e}) for e in ELEMENTS)
    assert sim.typed_events_of("O") == [
        ev.OrderAdded(workflow_id=WorkflowId("W", "v1"), arguments={"myList": ELEMENTS}, delete_when_terminated=True),
        ev.OrderStarted(),
        ev.OrderForked(children=children),
        ev.OrderJoined(outcome=Succeeded()),
        ev.OrderMoved(to=(1,)),
        ev.OrderFinished(),
        ev.OrderDeleted(),
    ]
    child_moves = [e.to for e in sim.typed_events_of("O|ELEMENT-2") if isinstance(e, ev.OrderMoved)]
    assert child_moves == [(0, "fork", 1)]


def test_fork_list_at_an_agent_as_in_js7() -> None:
    """JS7's ForkListTest with agentPath: attached, forked on the Agent, joined on the Controller."""
    sim = simulator(fork_list(EXECUTE, agentPath="AGENT"))
    sim.add_order("O", "W", arguments={"myList": ELEMENTS[:2]})
    sim.run()
    assert sim.events_of("O") == [
        "OrderAdded",
        "OrderAttachable",
        "OrderAttached",
        "OrderStarted",
        "OrderForked",
        "OrderDetachable",
        "OrderDetached",
        "OrderJoined",
        "OrderMoved",
        "OrderFinished",
    ]
    assert sim.events_of("O|ELEMENT-1") == [
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
    ]


def test_fork_list_with_the_index() -> None:
    sim = simulator(
        fork_list(
            {"TYPE": "Prompt", "question": "$i"}, childToId='(e, i) => "$e-$i"', childToArguments="(e, i) => { i: $i }"
        )
    )
    sim.add_order("O", "W", arguments={"myList": ("a", "b")})
    sim.run()
    assert sorted(o for o in sim.state.orders if "|" in o) == ["O|a-0", "O|b-1"]
    assert sim.state.orders["O|b-1"].arguments == {"myList": ("a", "b"), "i": 1}


def test_fork_list_with_duplicates_fails_unstarted_as_in_js7() -> None:
    """JS7's ForkListTest "ForkList with duplicates"."""
    sim = simulator(fork_list(EXECUTE))
    sim.add_order("O", "W", arguments={"myList": ("DUPLICATE", "DUPLICATE")})
    sim.run()
    assert sim.typed_events_of("O")[1:] == [
        ev.OrderOutcomeAdded(
            outcome=Disrupted(
                reason="Other", message="Duplicate child IDs in $myList: Unexpected duplicates: 2\u00d7DUPLICATE"
            )
        ),
        ev.OrderFailed(),
    ]


def test_fork_list_with_invalid_ids_fails_as_in_js7() -> None:
    """JS7's ForkListTest "ForkList with invalid value"."""
    for bad, message in (("|", "OrderId must not contain reserved characters: |"), ("", "must not be empty")):
        sim = simulator(fork_list(EXECUTE))
        sim.add_order("O", "W", arguments={"myList": (bad,)})
        sim.run()
        order = sim.state.orders["O"]
        assert isinstance(order.state, st.Failed) and order.position == (0,)
        assert isinstance(order.last_outcome, Disrupted) and message in (order.last_outcome.message or "")


def test_fork_list_with_an_empty_list_joins_at_once() -> None:
    """JS7's ForkListTest "ForkList with empty array": OrderForked without children, OrderJoined."""
    sim = simulator(fork_list(EXECUTE))
    sim.add_order("O", "W", arguments={"myList": ()})
    sim.run()
    assert sim.events_of("O") == [
        "OrderAdded",
        "OrderStarted",
        "OrderForked",
        "OrderJoined",
        "OrderMoved",
        "OrderFinished",
    ]


def fail_element_1(order: Order, job: WorkflowJob) -> Outcome:
    return Failed(error_message="FAILED") if order.id.endswith("ELEMENT-1") else Succeeded()


def test_fork_list_with_failing_children_as_in_js7() -> None:
    """JS7's ForkListTest "ForkList with failing child orders" with and without joinIfFailed."""
    for join_if_failed, child_end in ((True, ev.OrderFailedInFork), (False, ev.OrderFailed)):
        sim = simulator(fork_list(EXECUTE, joinIfFailed=join_if_failed))
        sim.run_job = fail_element_1
        sim.add_order("O", "W", arguments={"myList": ELEMENTS[:2]})
        sim.run()
        assert isinstance(sim.typed_events_of("O|ELEMENT-1")[-1], child_end)
        if join_if_failed:
            assert sim.events_of("O")[-2:] == ["OrderJoined", "OrderFailed"]
        else:
            assert isinstance(sim.state.orders["O"].state, st.Forked)


def test_fork_list_at_an_agent_with_a_bad_list_fails_on_the_controller() -> None:
    sim = simulator(fork_list(EXECUTE, agentPath="AGENT"))
    sim.add_order("O", "W", arguments={"myList": "not a list"})
    sim.run()
    assert sim.events_of("O") == ["OrderAdded", "OrderOutcomeAdded", "OrderFailed"]


def test_fork_list_result_collects_each_childs_values_into_a_list_as_in_js7() -> None:
    """JS7's ForkListTest: the block's result {resultList: $result} gives the parent's join outcome
    {resultList: [the children's $result, in the children's order]}, a variable after the join."""

    def run_job(order: Order, job: WorkflowJob) -> Outcome:
        return Succeeded(named_values={"result": "🔹" + order.id})

    sim = Simulator(run_job=run_job)
    sim.deploy(
        {
            "path": "W",
            "instructions": [
                {**fork_list(), "workflow": {"instructions": [EXECUTE], "result": {"resultList": "$result"}}},
                {"TYPE": "If", "predicate": "$resultList(2) == '🔹O|ELEMENT-3'", "then": {"instructions": [EXECUTE]}},
            ],
            "jobs": JOBS,
        }
    )
    sim.add_order("O", "W", arguments={"myList": ELEMENTS})
    sim.run()
    joined = next(e for e in sim.typed_events_of("O") if isinstance(e, ev.OrderJoined))
    assert joined == ev.OrderJoined(outcome=Succeeded(named_values={"resultList": tuple(f"🔹O|{e}" for e in ELEMENTS)}))
    assert sim.state.orders["O"].position == (2,) and "OrderProcessed" in sim.events_of("O")  # the If's then


def test_fork_results_merge_and_a_failing_result_fails_the_join_as_in_js7() -> None:
    """JS7's ForkTest: each branch's result into one outcome ({CARROT, CITRON}); "failingResultWorkflow":
    a result that does not evaluate makes OrderJoined(Failed(...)), then OrderFailed; a name in two
    branches is refused (JS7's Fork.checked)."""

    def branch(branch_id: str, result: dict[str, str]) -> dict[str, Any]:
        return {"id": branch_id, "workflow": {"instructions": [EXECUTE], "result": result}}

    def run_job(order: Order, job: WorkflowJob) -> Outcome:
        return Succeeded(named_values={"jobResult": 11 if order.id.endswith("🥕") else 21})

    sim = Simulator(run_job=run_job)
    sim.deploy(
        {
            "path": "W",
            "jobs": JOBS,
            "instructions": [
                {
                    "TYPE": "Fork",
                    "branches": [branch("🥕", {"CARROT": "$jobResult"}), branch("🍋", {"CITRON": "$jobResult"})],
                }
            ],
        },
        {
            "path": "FAILING",
            "jobs": JOBS,
            "instructions": [{"TYPE": "Fork", "branches": [branch("💥", {"D": "$UNKNOWN"})]}],
        },
    )
    sim.add_order("O", "W")
    sim.add_order("💥", "FAILING")
    sim.run()
    assert ev.OrderJoined(outcome=Succeeded(named_values={"CARROT": 11, "CITRON": 21})) in sim.typed_events_of("O")
    assert isinstance(sim.state.orders["O"].state, st.Finished)
    failed = sim.typed_events_of("💥")[-2:]
    assert isinstance(failed[0], ev.OrderJoined) and isinstance(failed[0].outcome, Failed)
    assert "UNKNOWN" in (failed[0].outcome.error_message or "")
    assert failed[1] == ev.OrderFailed()  # JS7: OrderFailed(Position(0)), where it stands
    duplicate = parse_workflow(
        {
            "path": "D",
            "jobs": JOBS,
            "instructions": [{"TYPE": "Fork", "branches": [branch("A", {"X": "1"}), branch("B", {"X": "2"})]}],
        }
    )
    assert (
        isinstance(duplicate, Problem)
        and "Result name 'X' is used duplicately in Fork branches 'A' , 'B'" in duplicate.message
    )
