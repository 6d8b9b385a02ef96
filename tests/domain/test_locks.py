"""Locks: the exact event sequences of JS7's LockTest (js7-tests/.../LockTest.scala) as the oracle, the
queue's fairness and priorities, forked children, cancellation, deployment, snapshot and replay."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from js7es.domain.commands.change_order import ChangeOrder
from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.orders import AnswerOrderPrompt, CancelOrders
from js7es.domain.lock import AVAILABLE, Exclusive, LockDemand, NonExclusive
from js7es.domain.order import events as ev
from js7es.domain.order import states as st
from js7es.domain.order.outcome import Disrupted, Failed
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json
from tests.domain.simulator import Simulator

SHELL = {"TYPE": "ShellScriptExecutable", "script": "exit 0"}
JOBS = {"J": {"agentPath": "AGENT", "executable": SHELL}}
PROMPT = {"TYPE": "Prompt", "question": "'PROMPT'"}
JOB = {"TYPE": "Execute.Named", "jobName": "J"}


def lock(*instructions: dict[str, Any], demands: list[dict[str, Any]] | None = None, **demand: Any) -> dict[str, Any]:
    return {
        "TYPE": "Lock",
        "demands": demands if demands is not None else [{"lockPath": "LOCK", **demand}],
        "lockedWorkflow": {"instructions": list(instructions)},
    }


def workflow(path: str, *instructions: dict[str, Any]) -> dict[str, Any]:
    return {"path": path, "instructions": list(instructions), "jobs": JOBS}


def simulator(**limits: int) -> Simulator:
    sim = Simulator()
    items = [{"TYPE": "Lock", "path": path, "limit": limit} for path, limit in {"LOCK": 1, **limits}.items()]
    update(sim, *({"TYPE": "AddOrChangeSimple", "item": item} for item in items))
    return sim


def update(sim: Simulator, *operations: dict[str, Any]) -> Any:
    return sim.command(UpdateItems(operations=tuple(value_from_json(o) for o in operations)))


def names(sim: Simulator, order_id: str) -> list[str]:
    return sim.events_of(order_id)


def answer(sim: Simulator, order_id: str) -> None:
    assert not isinstance(sim.command(AnswerOrderPrompt(order_id=order_id)), Problem)
    sim.run()


def acquired_order(sim: Simulator) -> list[str]:
    return [k.key for k in sim.log if isinstance(k.event, ev.OrderLocksAcquired)]


def assert_free(sim: Simulator, *paths: str) -> None:
    for path in paths or tuple(sim.state.locks):
        assert (sim.state.locks[path].acquired, sim.state.locks[path].queue) == (AVAILABLE, ())


def test_prompt_in_lock_and_a_queued_order_as_in_js7() -> None:
    """JS7's "After OrderLocksReleased continue waiting Order" (JS-2157)."""
    sim = simulator()
    sim.deploy(workflow("W", lock(PROMPT)))
    sim.add_order("A", "W", delete_when_terminated=True)
    sim.run()
    sim.add_order("B", "W", delete_when_terminated=True)
    sim.run()
    assert sim.state.locks["LOCK"].acquired == Exclusive(order_id="A")
    assert sim.state.locks["LOCK"].queue == ("B",)
    assert isinstance(sim.state.orders["B"].state, st.WaitingForLock)
    answer(sim, "A")
    assert names(sim, "A") == [
        "OrderAdded",
        "OrderStarted",
        "OrderLocksAcquired",
        "OrderPrompted",
        "OrderPromptAnswered",
        "OrderMoved",
        "OrderLocksReleased",
        "OrderFinished",
        "OrderDeleted",
    ]
    moved = [e for e in sim.typed_events_of("A") if isinstance(e, ev.OrderMoved)]
    assert moved == [ev.OrderMoved(to=(0, "lock", 1))]
    assert [e for e in sim.typed_events_of("A") if isinstance(e, ev.OrderLocksAcquired)] == [
        ev.OrderLocksAcquired(demands=(LockDemand(lock_path="LOCK"),))
    ]
    answer(sim, "B")
    assert names(sim, "B") == [
        "OrderAdded",
        "OrderStarted",
        "OrderLocksQueued",
        "OrderLocksAcquired",
        "OrderPrompted",
        "OrderPromptAnswered",
        "OrderMoved",
        "OrderLocksReleased",
        "OrderFinished",
        "OrderDeleted",
    ]
    assert_free(sim)


def test_jobs_in_a_lock_go_back_to_the_controller_to_release_as_in_js7() -> None:
    """JS7's "Run some orders at different agents with a lock with limit=1"; ten queued orders with
    priorities -1..-10, added in random order, acquire the lock by priority."""
    sim = simulator()
    sim.deploy(workflow("W", lock(PROMPT, JOB)))
    sim.add_order("A", "W", delete_when_terminated=True)
    sim.run()
    ids = [f"B-{i}" for i in range(1, 11)]
    for order_id in random.Random(7).sample(ids, len(ids)):
        sim.add_order(order_id, "W", priority=-int(order_id[2:]), delete_when_terminated=True)
        sim.run()
    for order_id in ["A", *ids]:
        answer(sim, order_id)
    assert names(sim, "A")[:3] == ["OrderAdded", "OrderStarted", "OrderLocksAcquired"]
    assert names(sim, "B-1") == [
        "OrderAdded",
        "OrderStarted",
        "OrderLocksQueued",
        "OrderLocksAcquired",
        "OrderPrompted",
        "OrderPromptAnswered",
        "OrderMoved",
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderLocksReleased",
        "OrderFinished",
        "OrderDeleted",
    ]
    assert [e.to for e in sim.typed_events_of("B-1") if isinstance(e, ev.OrderMoved)] == [
        (0, "lock", 1),
        (0, "lock", 2),
    ]
    assert acquired_order(sim) == ["A", *ids]
    assert not sim.state.orders
    assert_free(sim)


def test_change_order_priority_reorders_the_queue_as_in_js7() -> None:
    """JS7's "ChangeOrder priority • PriorityChanged"."""
    sim = simulator()
    sim.deploy(workflow("W", lock(PROMPT)))
    for i in range(4):
        sim.add_order(f"P-{i}", "W", priority=-i, delete_when_terminated=True)
    sim.run()
    decided = sim.command(ChangeOrder(order_id="P-1", priority=-100))
    assert not isinstance(decided, Problem)
    assert [type(k.event).__name__ for k in decided.events] == ["OrderPriorityChanged"]
    assert sim.command(ChangeOrder(order_id="P-1", priority=-100)) == type(decided)()  # unchanged: no event
    for _ in range(4):
        prompting = next(o.id for o in sim.state.orders.values() if isinstance(o.state, st.Prompting))
        answer(sim, prompting)
    assert acquired_order(sim) == ["P-0", "P-2", "P-3", "P-1"]
    unknown = sim.command(ChangeOrder(order_id="nope", priority=1))
    assert isinstance(unknown, Problem) and unknown.code == "UnknownOrder"


def test_a_higher_priority_arriving_later_goes_first_fifo_within_a_priority() -> None:
    sim = simulator()
    sim.deploy(workflow("W", lock(PROMPT)))
    sim.add_order("holder", "W")
    sim.run()
    for order_id, priority in [("low-1", 0), ("low-2", 0), ("high-1", 5), ("low-3", 0), ("high-2", 5)]:
        sim.add_order(order_id, "W", priority=priority)
        sim.run()
    for _ in range(6):
        prompting = next(o.id for o in sim.state.orders.values() if isinstance(o.state, st.Prompting))
        answer(sim, prompting)
    assert acquired_order(sim) == ["holder", "high-1", "high-2", "low-1", "low-2", "low-3"]


def test_decimal_priorities_rank_between_whole_ones_as_js7s_bigdecimal() -> None:
    """JS7 2.7's priority is a BigDecimal: 1.5 goes between 2 and 1, -3.25 after 0 and -3; a change to a
    fraction moves the order to its new rank."""
    sim = simulator()
    sim.deploy(workflow("W", lock(PROMPT)))
    sim.add_order("holder", "W")
    sim.run()
    for order_id, priority in [("p1", 1), ("m3.25", Decimal("-3.25")), ("p1.5", Decimal("1.5")), ("p2", 2)]:
        sim.add_order(order_id, "W", priority=priority)
        sim.run()
    sim.add_order("m3", "W", priority=-3)
    sim.add_order("zero", "W")
    sim.run()
    decided = sim.command(ChangeOrder(order_id="zero", priority=Decimal("-3.5")))
    assert not isinstance(decided, Problem)
    assert [k.event for k in decided.events] == [ev.OrderPriorityChanged(priority=Decimal("-3.5"))]
    for _ in range(7):
        prompting = next(o.id for o in sim.state.orders.values() if isinstance(o.state, st.Prompting))
        answer(sim, prompting)
    assert acquired_order(sim) == ["holder", "p2", "p1.5", "p1", "m3", "m3.25", "zero"]
    assert_free(sim)


def test_after_releasing_a_lock_of_2_two_orders_with_count_1_start_as_in_js7() -> None:
    sim = simulator(LIMIT2=2)
    sim.deploy(
        workflow("ONE", lock(PROMPT, lockPath="LIMIT2", count=1)),
        workflow("TWO", lock(PROMPT, lockPath="LIMIT2", count=2)),
    )
    sim.add_order("two", "TWO")
    sim.run()
    for order_id in ("a", "b", "c"):
        sim.add_order(order_id, "ONE")
        sim.run()
    assert sim.state.locks["LIMIT2"].queue == ("a", "b", "c")
    answer(sim, "two")
    assert sim.state.locks["LIMIT2"].acquired == NonExclusive(order_to_count={"a": 1, "b": 1})
    assert sim.state.locks["LIMIT2"].queue == ("c",)
    answer(sim, "a")
    assert sim.state.locks["LIMIT2"].acquired == NonExclusive(order_to_count={"b": 1, "c": 1})
    answer(sim, "b")
    answer(sim, "c")
    assert_free(sim)


def test_a_large_demand_is_not_starved_by_small_ones() -> None:
    """js7es grants in rank order: a count=1 arriving after a waiting count=3 waits behind it, even
    with room for one (JS7 would let it in, and a stream of small ones could starve the large one)."""
    sim = simulator(L3=3)
    sim.deploy(
        workflow("SMALL", lock(PROMPT, lockPath="L3", count=1)), workflow("LARGE", lock(PROMPT, lockPath="L3", count=3))
    )
    sim.add_order("s1", "SMALL")
    sim.add_order("s2", "SMALL")
    sim.run()
    sim.add_order("large", "LARGE")
    sim.run()
    sim.add_order("s3", "SMALL")
    sim.run()
    assert names(sim, "s3")[-1] == "OrderLocksQueued"
    assert sim.state.locks["L3"].queue == ("large", "s3")
    answer(sim, "s1")
    assert sim.state.locks["L3"].queue == ("large", "s3")
    answer(sim, "s2")
    assert sim.state.locks["L3"].acquired == NonExclusive(order_to_count={"large": 3})
    answer(sim, "large")
    answer(sim, "s3")
    assert acquired_order(sim) == ["s1", "s2", "large", "s3"]
    assert_free(sim)


def test_exclusive_and_shared_use_of_one_lock_as_in_js7() -> None:
    sim = simulator(LIMIT2=2)
    sim.deploy(
        workflow("EX", lock(PROMPT, lockPath="LIMIT2")), workflow("SHARED", lock(PROMPT, lockPath="LIMIT2", count=2))
    )
    sim.add_order("ex", "EX")
    sim.run()
    sim.add_order("shared", "SHARED")
    sim.run()
    assert names(sim, "shared")[-1] == "OrderLocksQueued"
    answer(sim, "ex")
    assert sim.state.locks["LIMIT2"].acquired == NonExclusive(order_to_count={"shared": 2})
    sim.add_order("ex2", "EX")
    sim.run()
    assert names(sim, "ex2")[-1] == "OrderLocksQueued"
    answer(sim, "shared")
    answer(sim, "ex2")
    assert_free(sim)


def test_failed_order_releases_nested_locks_and_stands_at_the_outer_lock_as_in_js7() -> None:
    """JS7's "Failed order"."""
    sim = simulator(LOCK2=1)
    sim.deploy(workflow("W", JOB, lock(JOB, lock({"TYPE": "Fail"}, lockPath="LOCK2"))))
    sim.add_order("O", "W", delete_when_terminated=True)
    sim.run()
    assert names(sim, "O") == [
        "OrderAdded",
        "OrderAttachable",
        "OrderAttached",
        "OrderStarted",
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
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderLocksAcquired",
        "OrderOutcomeAdded",
        "OrderLocksReleased",
        "OrderLocksReleased",
        "OrderFailed",
    ]
    events = sim.typed_events_of("O")
    assert events[-3:] == [
        ev.OrderLocksReleased(lock_paths=("LOCK2",)),
        ev.OrderLocksReleased(lock_paths=("LOCK",)),
        ev.OrderFailed(moved_to=(1,)),
    ]
    assert sim.state.orders["O"].position == (1,)
    assert_free(sim)
    sim.command(CancelOrders(order_ids=("O",)))
    sim.run()
    assert names(sim, "O")[-2:] == ["OrderCancelled", "OrderDeleted"]


def test_failed_order_in_try_catch_inside_a_lock_as_in_js7() -> None:
    """JS7's "Failed order in try/catch": the inner lock is given back, the outer one kept."""
    sim = simulator(LOCK2=1)
    try_ = {
        "TYPE": "Try",
        "try": {"instructions": [lock({"TYPE": "Fail"}, lockPath="LOCK2")]},
        "catch": {"instructions": [JOB]},
    }
    sim.deploy(workflow("W", lock(try_)))
    sim.add_order("O", "W", delete_when_terminated=True)
    sim.run()
    events = sim.typed_events_of("O")
    assert names(sim, "O") == [
        "OrderAdded",
        "OrderStarted",
        "OrderLocksAcquired",
        "OrderMoved",
        "OrderLocksAcquired",
        "OrderOutcomeAdded",
        "OrderLocksReleased",
        "OrderCaught",
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderLocksReleased",
        "OrderFinished",
        "OrderDeleted",
    ]
    assert events[3] == ev.OrderMoved(to=(0, "lock", 0, "try+0", 0))
    assert events[6] == ev.OrderLocksReleased(lock_paths=("LOCK2",))
    assert events[7] == ev.OrderCaught(moved_to=(0, "lock", 0, "catch+0", 0))
    assert events[12] == ev.OrderMoved(to=(0, "lock", 1))
    assert events[15] == ev.OrderLocksReleased(lock_paths=("LOCK",))
    assert_free(sim)


def test_a_job_failing_in_a_lock_in_try_goes_back_to_the_controller_first_as_in_js7() -> None:
    """JS7's "JS-2015 Lock in Try/Retry": the failed job's order detaches, releases, then is caught."""
    failing = {"TYPE": "Execute.Anonymous", "job": {"agentPath": "AGENT", "executable": SHELL}}
    sim = simulator()
    sim.run_job = lambda order, job: Failed(error_message="failed", named_values={"returnCode": 1})
    try_ = {
        "TYPE": "Try",
        "try": {"instructions": [lock(failing)]},
        "catch": {"instructions": [{"TYPE": "Retry"}]},
        "retryDelays": [0],
        "maxTries": 2,
    }
    sim.deploy(workflow("W", try_))
    sim.add_order("O", "W")
    sim.run()
    in_lock = [
        "OrderLocksAcquired",
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderDetachable",
        "OrderDetached",
        "OrderLocksReleased",
    ]
    got = names(sim, "O")
    first = got.index("OrderLocksAcquired")
    second = got.index("OrderLocksAcquired", first + 1)
    assert got[first : first + 9] == [*in_lock, "OrderCaught"]
    assert got[second : second + 9] == [*in_lock, "OrderCaught"]
    caught = [e for e in sim.typed_events_of("O") if isinstance(e, ev.OrderCaught)]
    assert caught == [ev.OrderCaught(moved_to=(0, "catch+0", 0)), ev.OrderCaught(moved_to=(0, "catch+1", 0))]
    assert_free(sim)


def test_failed_forked_child_releases_its_lock_as_in_js7() -> None:
    """JS7's "Failed forked order" (joinIfFailed)."""
    sim = simulator()
    fork = {
        "TYPE": "Fork",
        "joinIfFailed": True,
        "branches": [{"id": "BRANCH", "workflow": {"instructions": [lock({"TYPE": "Fail"})]}}],
    }
    sim.deploy(workflow("W", fork))
    sim.add_order("O", "W")
    sim.run()
    assert sim.typed_events_of("O|BRANCH") == [
        ev.OrderLocksAcquired(demands=(LockDemand(lock_path="LOCK"),)),
        ev.OrderOutcomeAdded(outcome=Failed(error_message="Failed")),
        ev.OrderLocksReleased(lock_paths=("LOCK",)),
        ev.OrderFailedInFork(moved_to=(0, "fork+BRANCH", 0)),
    ]
    assert names(sim, "O")[-2:] == ["OrderJoined", "OrderFailed"]
    assert_free(sim)


def test_a_forked_child_does_not_wait_for_its_parents_lock_as_in_js7() -> None:
    """JS7's "Forked order with same lock": the child would wait for ever (its parent waits for it)."""
    sim = simulator()
    fork = {"TYPE": "Fork", "branches": [{"id": "BRANCH", "workflow": {"instructions": [lock()]}}]}
    sim.deploy(workflow("W", lock(fork)))
    sim.add_order("O", "W")
    sim.run()
    assert sim.typed_events_of("O|BRANCH") == [
        ev.OrderOutcomeAdded(
            outcome=Disrupted(reason="Other", message="Lock:LOCK has already been acquired by parent Order:O")
        ),
        ev.OrderFailed(moved_to=None),
    ]
    assert sim.state.orders["O|BRANCH"].position == (0, "lock", 0, "fork+BRANCH", 0)
    sim.command(CancelOrders(order_ids=("O|BRANCH",)))
    sim.run()
    assert names(sim, "O")[-3:] == ["OrderJoined", "OrderLocksReleased", "OrderFailed"]
    assert_free(sim)


def test_forked_children_share_a_lock_with_room_and_queue_for_an_exclusive_one() -> None:
    """No deadlock between siblings: each waits for the other's release like any order."""
    sim = simulator()
    branches = [{"id": b, "workflow": {"instructions": [lock(PROMPT)]}} for b in ("a", "b")]
    sim.deploy(workflow("W", {"TYPE": "Fork", "branches": branches}))
    sim.add_order("O", "W")
    sim.run()
    assert sim.state.locks["LOCK"].acquired == Exclusive(order_id="O|a")
    assert sim.state.locks["LOCK"].queue == ("O|b",)
    answer(sim, "O|a")
    answer(sim, "O|b")
    assert names(sim, "O")[-2:] == ["OrderJoined", "OrderMoved"] or names(sim, "O")[-1] == "OrderFinished"
    assert isinstance(sim.state.orders["O"].state, st.Finished)
    assert_free(sim)


def test_finish_in_a_lock_and_in_a_forked_lock_as_in_js7() -> None:
    sim = simulator()
    sim.deploy(workflow("W", JOB, lock({"TYPE": "Finish"})))
    sim.add_order("O", "W")
    sim.run()
    assert names(sim, "O")[-3:] == ["OrderLocksAcquired", "OrderLocksReleased", "OrderFinished"]
    fork = {"TYPE": "Fork", "branches": [{"id": "BRANCH", "workflow": {"instructions": [lock({"TYPE": "Finish"})]}}]}
    sim.deploy(workflow("F", fork))
    sim.add_order("P", "F")
    sim.run()
    assert sim.typed_events_of("P|BRANCH") == [
        ev.OrderLocksAcquired(demands=(LockDemand(lock_path="LOCK"),)),
        ev.OrderLocksReleased(lock_paths=("LOCK",)),
        ev.OrderMoved(to=(0, "fork+BRANCH", 1)),
    ]
    assert_free(sim)


def test_acquire_too_much_fails_the_order_unstarted_as_in_js7() -> None:
    sim = simulator()
    sim.deploy(workflow("W", lock(count=2)))
    sim.add_order("O", "W")
    sim.run()
    assert sim.typed_events_of("O")[1:] == [
        ev.OrderOutcomeAdded(
            outcome=Disrupted(reason="Other", message="Cannot fulfill lock count=2 with Lock:LOCK limit=1")
        ),
        ev.OrderFailed(moved_to=None),
    ]
    assert_free(sim)


def test_several_locks_at_once() -> None:
    """JS7's "Multiple locks": all or nothing; b waits in both queues while a holds one of them."""
    sim = simulator(LOCK2=1)
    both = [{"lockPath": "LOCK"}, {"lockPath": "LOCK2"}]
    sim.deploy(
        workflow("A", lock(PROMPT)),
        workflow("B", lock(JOB, demands=both)),
        workflow("C", lock(PROMPT, lockPath="LOCK2")),
    )
    sim.add_order("a", "A")
    sim.run()
    sim.add_order("b", "B")
    sim.run()
    assert (sim.state.locks["LOCK"].acquired, sim.state.locks["LOCK"].queue) == (Exclusive(order_id="a"), ("b",))
    assert (sim.state.locks["LOCK2"].acquired, sim.state.locks["LOCK2"].queue) == (AVAILABLE, ("b",))
    sim.add_order("c", "C")  # js7es: behind b in LOCK2's queue (JS7 would let it take LOCK2 now)
    sim.run()
    assert sim.state.locks["LOCK2"].queue == ("b", "c")
    answer(sim, "a")
    assert names(sim, "b") == [
        "OrderAdded",
        "OrderStarted",
        "OrderLocksQueued",
        "OrderLocksAcquired",
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderLocksReleased",
        "OrderFinished",
    ]
    assert sim.typed_events_of("b")[-2] == ev.OrderLocksReleased(lock_paths=("LOCK", "LOCK2"))
    answer(sim, "c")
    assert_free(sim)


def test_cancel_while_waiting_and_while_holding_as_in_js7() -> None:
    sim = simulator()
    sim.deploy(workflow("W", lock(PROMPT)))
    for order_id in ("A", "B", "C"):
        sim.add_order(order_id, "W", delete_when_terminated=True)
    sim.run()
    sim.command(CancelOrders(order_ids=("B",)))
    sim.run()
    assert names(sim, "B") == [
        "OrderAdded",
        "OrderStarted",
        "OrderLocksQueued",
        "OrderCancellationMarked",
        "OrderStateReset",
        "OrderCancelled",
        "OrderDeleted",
    ]
    assert sim.state.locks["LOCK"].queue == ("C",)
    sim.command(CancelOrders(order_ids=("A",)))
    sim.run()
    assert names(sim, "A") == [
        "OrderAdded",
        "OrderStarted",
        "OrderLocksAcquired",
        "OrderPrompted",
        "OrderCancellationMarked",
        "OrderStateReset",
        "OrderLocksReleased",
        "OrderCancelled",
        "OrderDeleted",
    ]
    assert names(sim, "C")[-2:] == ["OrderLocksAcquired", "OrderPrompted"]
    answer(sim, "C")
    assert_free(sim)


def test_break_in_a_lock_releases_it() -> None:
    from js7es.domain.order.context import Context
    from js7es.domain.order.executors.cycle import execute_break
    from js7es.domain.order.executors.step import Step
    from js7es.domain.order.order import Order
    from js7es.domain.workflow.instructions import Break
    from js7es.domain.workflow.parse import parse_workflow

    wf = parse_workflow(
        {
            "path": "W",
            "versionId": "1",
            "calendarPath": "CAL",
            "instructions": [
                {
                    "TYPE": "Cycle",
                    "schedule": {
                        "schemes": [
                            {
                                "admissionTimeScheme": {
                                    "periods": [{"TYPE": "DailyPeriod", "secondOfDay": 0, "duration": 86400}]
                                },
                                "repeat": {"TYPE": "Continuous", "pause": 1},
                            }
                        ]
                    },
                    "cycleWorkflow": {"instructions": [lock({"TYPE": "Break"})]},
                }
            ],
        }
    )
    assert not isinstance(wf, Problem)
    order = Order(id="O", workflow_id=wf.id, position=(0, "cycle+end=9,i=1,next=5", 0, "lock", 0), state=st.Ready())
    events = execute_break(Step(ControllerState(), order, wf, Context(now_ms=0)), Break())
    assert events == [
        ev.OrderLocksReleased(lock_paths=("LOCK",)),
        ev.OrderMoved(to=(0, "cycle+end=9,i=1,next=5", 1)),
        ev.OrderCycleFinished(cycle_state=None),
    ]


def test_deployment_refuses_unknown_locks_and_deleting_a_lock_in_use() -> None:
    sim = simulator()
    refused = update(
        sim,
        {"TYPE": "AddVersion", "versionId": "x"},
        {"TYPE": "AddOrChangeSimple", "item": workflow("W", lock(lockPath="NONE"))},
    )
    assert isinstance(refused, Problem) and refused.code == "UnknownItem" and refused.arguments["key"] == "Lock:NONE"
    sim.deploy(workflow("W", lock(PROMPT)))
    in_use = update(sim, {"TYPE": "DeleteSimple", "path": "Lock:LOCK"})
    assert isinstance(in_use, Problem) and in_use.code == "UnknownItem"  # referenced by the current workflow
    sim.add_order("O", "W", delete_when_terminated=True)
    sim.run()
    remove = {"TYPE": "RemoveVersioned", "path": "W"}
    held = update(sim, {"TYPE": "AddVersion", "versionId": "y"}, remove, {"TYPE": "DeleteSimple", "path": "Lock:LOCK"})
    assert isinstance(held, Problem) and held.code == "ItemIsStillReferenced"
    answer(sim, "O")
    deleted = update(
        sim, {"TYPE": "AddVersion", "versionId": "z"}, remove, {"TYPE": "DeleteSimple", "path": "Lock:LOCK"}
    )
    assert not isinstance(deleted, Problem)
    assert "LOCK" not in sim.state.locks
    bad = update(sim, {"TYPE": "AddOrChangeSimple", "item": {"TYPE": "Lock", "path": "L", "limit": -1}})
    assert isinstance(bad, Problem) and bad.code == "InvalidItem"


def test_a_higher_limit_lets_waiting_orders_go() -> None:
    sim = simulator()
    sim.deploy(workflow("W", lock(PROMPT, count=1)))
    for order_id in ("A", "B", "C"):
        sim.add_order(order_id, "W")
    sim.run()
    assert sim.state.locks["LOCK"].queue == ("B", "C")
    changed = update(sim, {"TYPE": "AddOrChangeSimple", "item": {"TYPE": "Lock", "path": "LOCK", "limit": 3}})
    assert next(type(k.event).__name__ for k in changed.events) == "UnsignedSimpleItemChanged"
    assert sim.state.locks["LOCK"].acquired == NonExclusive(order_to_count={"A": 1, "B": 1, "C": 1})


def test_snapshot_and_replay_keep_holders_and_queue() -> None:
    sim = simulator(LIMIT2=2)
    sim.deploy(workflow("W", lock(PROMPT, lockPath="LIMIT2", count=1)), workflow("X", lock(PROMPT)))
    for i in range(5):
        sim.add_order(f"O{i}", "W", priority=i % 2)
    sim.add_order("X1", "X")
    sim.add_order("X2", "X")
    sim.run()
    restored = ControllerState.from_snapshot(list(sim.state.snapshot_objects()))
    assert restored == sim.state
    assert restored.locks == sim.state.locks
    replayed = ControllerState()
    for keyed in sim.log:
        assert replayed.apply_event(keyed.key, keyed.event) is None
    assert replayed.locks == sim.state.locks
    assert replayed.state_hash() == sim.state.state_hash()
    objects = [o for o in sim.state.snapshot_objects() if o["TYPE"] == "LockState"]
    assert objects[0] == {
        "TYPE": "LockState",
        "lock": {"TYPE": "Lock", "path": "LIMIT2", "limit": 2},
        "acquired": {"TYPE": "NonExclusive", "orderToCount": {"O0": 1, "O1": 1}},
        "queue": ["O3", "O2", "O4"],  # rank order: priority 1 before 0
    }
    assert objects[1]["acquired"] == {"TYPE": "Exclusive", "orderId": "X1"}


def test_lock_instruction_json_forms() -> None:
    from js7es.domain.workflow.instructions import LockInstruction
    from js7es.domain.workflow.parse import parse_workflow

    older = {"TYPE": "Lock", "lockPath": "L", "count": 2, "lockedWorkflow": {"instructions": []}}
    parsed = parse_workflow({"path": "W", "versionId": "1", "instructions": [older]})
    assert not isinstance(parsed, Problem)
    instruction = parsed.instructions.instructions[0]
    assert isinstance(instruction, LockInstruction)
    assert instruction.demands == (LockDemand(lock_path="L", count=2),)
    for bad, code in [
        ({"TYPE": "Lock", "demands": [], "lockedWorkflow": {"instructions": []}}, "InvalidInstruction"),
        (
            {"TYPE": "Lock", "demands": [{"lockPath": "L", "count": 0}], "lockedWorkflow": {"instructions": []}},
            "LockInvalidCount",
        ),
        (
            {"TYPE": "Lock", "demands": [{"lockPath": "L"}, {"lockPath": "L"}], "lockedWorkflow": {"instructions": []}},
            "InvalidInstruction",
        ),
    ]:
        result = parse_workflow({"path": "W", "versionId": "1", "instructions": [bad]})
        assert isinstance(result, Problem) and result.code == code, result


def test_resume_never_moves_an_order_into_or_out_of_a_locks_block() -> None:
    from js7es.domain.commands.orders import ResumeOrders, SuspendOrders

    sim = simulator()
    sim.deploy(workflow("W", PROMPT, lock(PROMPT, PROMPT)))
    sim.add_order("O", "W")
    sim.run()
    sim.command(SuspendOrders(order_ids=("O",), reset_state=True))
    sim.run()
    assert sim.state.orders["O"].is_suspended
    into = sim.command(ResumeOrders(order_ids=("O",), position=(1, "lock", 1)))
    assert isinstance(into, Problem) and into.code == "InvalidPosition"
    assert not isinstance(sim.command(ResumeOrders(order_ids=("O",), position=(1,))), Problem)
    sim.run()
    assert names(sim, "O")[-2:] == ["OrderLocksAcquired", "OrderPrompted"]
    sim.command(SuspendOrders(order_ids=("O",), reset_state=True))
    sim.run()
    out = sim.command(ResumeOrders(order_ids=("O",), position=(2,)))
    assert isinstance(out, Problem) and out.code == "InvalidPosition"
    assert not isinstance(sim.command(ResumeOrders(order_ids=("O",), position=(1, "lock", 1))), Problem)
    sim.run()
    answer(sim, "O")
    assert names(sim, "O")[-2:] == ["OrderLocksReleased", "OrderFinished"]
    assert_free(sim)


def test_an_order_holding_a_lock_takes_a_free_nested_lock_past_a_waiting_order() -> None:
    """X holds LOCK and then wants M; H waits for LOCK and M together (first in M's queue, M free). If
    X waited behind H, H would wait for X for ever: orders holding locks take what is free (JS7)."""
    sim = simulator(M=1)
    both = [{"lockPath": "LOCK"}, {"lockPath": "M"}]
    sim.deploy(workflow("X", lock(PROMPT, lock(lockPath="M"))), workflow("H", lock(demands=both)))
    sim.add_order("x", "X")
    sim.run()
    sim.add_order("h", "H")
    sim.run()
    assert sim.state.locks["M"].queue == ("h",) and sim.state.locks["M"].acquired == AVAILABLE
    answer(sim, "x")
    assert names(sim, "x")[-4:] == ["OrderLocksAcquired", "OrderLocksReleased", "OrderLocksReleased", "OrderFinished"]
    assert names(sim, "h")[-3:] == ["OrderLocksAcquired", "OrderLocksReleased", "OrderFinished"]
    assert acquired_order(sim) == ["x", "x", "h"]
    assert_free(sim)


def test_forked_children_of_a_lock_holder_take_free_locks_past_waiting_orders() -> None:
    sim = simulator(M=1)
    fork = {
        "TYPE": "Fork",
        "branches": [{"id": b, "workflow": {"instructions": [lock(PROMPT, lockPath="M")]}} for b in ("a", "b")],
    }
    both = [{"lockPath": "LOCK"}, {"lockPath": "M"}]
    sim.deploy(workflow("P", lock(PROMPT, fork)), workflow("H", lock(demands=both)))
    sim.add_order("p", "P")
    sim.run()
    sim.add_order("h", "H")
    sim.run()
    answer(sim, "p")  # the parent forks inside its lock; child a takes M past h, child b waits for a
    assert sim.state.locks["M"].acquired == Exclusive(order_id="p|a")
    assert sim.state.locks["M"].queue == ("p|b", "h")  # the lock holder's child ranks first
    answer(sim, "p|a")
    assert sim.state.locks["M"].acquired == Exclusive(order_id="p|b")
    answer(sim, "p|b")
    assert isinstance(sim.state.orders["p"].state, st.Finished)
    assert names(sim, "h")[-3:] == ["OrderLocksAcquired", "OrderLocksReleased", "OrderFinished"]
    assert_free(sim)


def test_js7_json_of_a_failed_order_in_nested_locks() -> None:
    """JS7's LockTest "Failed order" as JSON lines (tests/golden/js7/lock-failed-order.ndjson): the
    demands without TYPE, the released lock paths, OrderFailed standing at the outer Lock."""
    from tests.domain.test_js7_conformance import assert_golden

    sim = simulator(LOCK2=1)
    sim.deploy(workflow("W", JOB, lock(JOB, lock({"TYPE": "Fail"}, lockPath="LOCK2"))))
    sim.add_order("🟦", "W", delete_when_terminated=True)
    sim.run()
    sim.command(CancelOrders(order_ids=("🟦",)))
    sim.run()
    assert_golden("lock-failed-order", [k for k in sim.log if k.key == "🟦"])


def test_a_failure_within_an_if_in_a_lock_gives_the_lock_back_as_in_js7() -> None:
    """Found by the liveness property (tests/domain/test_liveness_properties.py): a job failing within
    an If (or another then/else/try block without a catch) in a Lock's block. As JS7's leaveBlocks:
    OrderLocksReleased, then OrderFailed at the Lock; the lock is free, the next order takes it."""
    sim = simulator()
    sim.run_job = lambda order, job: Failed(error_message="rc 1", named_values={"returnCode": 1})
    sim.deploy(workflow("W", lock({"TYPE": "If", "predicate": "true", "then": {"instructions": [JOB]}})))
    sim.add_order("A", "W")
    sim.add_order("B", "W")
    sim.run()
    assert sim.typed_events_of("A")[-2:] == [ev.OrderLocksReleased(lock_paths=("LOCK",)), ev.OrderFailed(moved_to=(0,))]
    assert sim.state.orders["A"].position == (0,)
    assert isinstance(sim.state.orders["B"].state, st.Failed) and acquired_order(sim) == ["A", "B"]
    assert_free(sim)


def test_cancelling_an_order_waiting_for_an_inner_lock_gives_the_outer_ones_back() -> None:
    """Found by the liveness property: holding LOCK, the order waits for INNER; cancelled, it leaves the
    queue and gives LOCK back (JS7's leaveBlocks: OrderStateReset, OrderLocksReleased, OrderCancelled),
    so that the order waiting for LOCK goes on."""
    sim = simulator(INNER=1)
    sim.deploy(
        workflow("OUTER", lock(JOB, lock(JOB, lockPath="INNER"))),
        workflow("HOLDS-INNER", lock(PROMPT, lockPath="INNER")),
        workflow("WAITS", lock(JOB)),
    )
    sim.add_order("inner", "HOLDS-INNER")
    sim.run()
    sim.add_order("A", "OUTER")
    sim.run()
    sim.add_order("B", "WAITS")
    sim.run()
    assert isinstance(sim.state.orders["A"].state, st.WaitingForLock) and sim.state.locks["INNER"].queue == ("A",)
    assert not isinstance(sim.command(CancelOrders(order_ids=("A",))), Problem)
    sim.run()
    assert sim.typed_events_of("A")[-4:] == [
        ev.OrderCancellationMarked(),
        ev.OrderStateReset(),
        ev.OrderLocksReleased(lock_paths=("LOCK",)),
        ev.OrderCancelled(),
    ]
    assert isinstance(sim.state.orders["B"].state, st.Finished)
    answer(sim, "inner")
    assert_free(sim)
