"""Liveness: with locks and notice boards, no order waits forever where the workflows allow progress.

Random workflows of Lock blocks (nested, several locks at once, exclusive or with a count, within
fork branches, If, Try and ConsumeNotices blocks and around them), jobs that succeed or fail,
PostNotices, ExpectNotices and ConsumeNotices; random orders with random (decimal) priorities, added
between random steps, some priorities changed on the way, some cancelled, and one order that posts
the notice (posted again while orders still wait for it, as consumers use it up). Run to quiescence,
every order has ended (Finished, Failed where a job failed, or Cancelled) and every lock is free with
an empty queue.

"Allow progress" means what it means in JS7 too: nested Lock blocks take their locks in one global
order (L1 before L2 before L3), as two orders taking two locks in opposite orders may deadlock in
JS7 as well; a fork joins failed children (joinIfFailed), as in JS7 a failed child otherwise waits
for a person while its parent keeps its locks; and the notice's poster holds no lock. Everything else
is left to chance: a forked child demanding a lock its parent holds, or an order demanding a lock it
holds already, fails (JS7's refusal) rather than waiting.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from js7es.domain.commands.change_order import ChangeOrder
from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.notices import PostNotice
from js7es.domain.commands.orders import CancelOrders
from js7es.domain.lock import AVAILABLE
from js7es.domain.order import states
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Failed, Outcome, Succeeded
from js7es.domain.problem import Problem
from js7es.domain.value import value_from_json
from js7es.domain.workflow.job import WorkflowJob
from tests.domain.simulator import Simulator
from tests.domain.test_replay_properties import lock_inconsistencies

LOCKS = (("L1", 1), ("L2", 2), ("L3", 3))
BOARD = {"TYPE": "GlobalBoard", "path": "B", "postOrderToNoticeKey": "'K'", "expectOrderToNoticeKey": "'K'"}
SHELL = {"TYPE": "ShellScriptExecutable", "script": "true"}
JOBS = {
    "OK": {"agentPath": "AGENT", "executable": SHELL},
    "FAIL": {"agentPath": "AGENT", "executable": SHELL, "title": "fails"},
}
POSTER = {"path": "poster", "instructions": [{"TYPE": "PostNotices", "boardPaths": ["B"]}]}
MAX_DEPTH = 3


def execute(job: str) -> dict[str, Any]:
    return {"TYPE": "Execute.Named", "jobName": job}


@st.composite
def blocks(draw: st.DrawFn, depth: int, first_lock: int) -> list[dict[str, Any]]:
    """1 to 3 instructions; Lock blocks only take locks numbered `first_lock` and higher."""
    kinds = ["ok", "ok", "fail", "expect", "post"]
    if depth > 0:
        kinds += ["fork", "try", "if", "consume"] + (["lock", "lock", "lock"] if first_lock < len(LOCKS) else [])
    instructions = []
    for _ in range(draw(st.integers(1, 3))):
        match draw(st.sampled_from(kinds)):
            case "ok":
                instructions.append(execute("OK"))
            case "fail":
                instructions.append(execute("FAIL"))
            case "expect":
                instructions.append({"TYPE": "ExpectNotices", "boardPaths": "'B'"})
            case "post":
                instructions.append({"TYPE": "PostNotices", "boardPaths": ["B"]})
            case "lock":
                numbers = sorted(
                    draw(st.lists(st.integers(first_lock, len(LOCKS) - 1), min_size=1, max_size=2, unique=True))
                )
                demands = []
                for nr in numbers:
                    path, limit = LOCKS[nr]
                    count = draw(st.sampled_from([None, 1, limit]))  # None: exclusive
                    demands.append({"lockPath": path} if count is None else {"lockPath": path, "count": count})
                body = draw(blocks(depth - 1, numbers[-1] + 1))
                instructions.append({"TYPE": "Lock", "demands": demands, "lockedWorkflow": {"instructions": body}})
            case "fork":
                branches = [
                    {"id": branch_id, "workflow": {"instructions": draw(blocks(depth - 1, first_lock))}}
                    for branch_id in ("a", "b")
                ]
                instructions.append({"TYPE": "Fork", "joinIfFailed": True, "branches": branches})
            case "consume":  # waits for the notice, then consumes it when the block ends
                body = {"instructions": draw(blocks(depth - 1, first_lock))}
                instructions.append({"TYPE": "ConsumeNotices", "boardPaths": "'B'", "subworkflow": body})
            case "if":
                then = {"instructions": draw(blocks(depth - 1, first_lock))}
                instructions.append({"TYPE": "If", "predicate": draw(st.sampled_from(["true", "false"])), "then": then})
            case "try":
                catch = draw(st.sampled_from([[], [execute("OK")]]))
                instructions.append(
                    {
                        "TYPE": "Try",
                        "try": {"instructions": draw(blocks(depth - 1, first_lock))},
                        "catch": {"instructions": catch},
                    }
                )
    return instructions


PRIORITIES = st.sampled_from([None, 0, 1, -1, Decimal("1.5"), Decimal("-3.25"), Decimal("0.001"), 7])


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    workflows = [
        {"path": f"W{i}", "jobs": JOBS, "instructions": draw(blocks(MAX_DEPTH, 0))}
        for i in range(draw(st.integers(1, 3)))
    ]
    order_count = draw(st.integers(2, 8))
    actions: list[tuple[Any, ...]] = []
    for i in range(order_count):
        actions.append(("add", f"o{i}", draw(st.integers(0, len(workflows) - 1)), draw(PRIORITIES)))
        actions.extend(
            draw(
                st.lists(
                    st.one_of(
                        st.tuples(st.just("step"), st.integers(1, 3)),
                        st.tuples(st.just("priority"), st.integers(0, i), PRIORITIES.filter(lambda p: p is not None)),
                        st.tuples(st.just("cancel"), st.integers(0, i)),
                    ),
                    max_size=2,
                )
            )
        )
    actions.insert(draw(st.integers(0, len(actions))), ("add-poster",))
    return workflows, actions


def run_job(order: Order, job: WorkflowJob) -> Outcome:
    if job.title == "fails":
        return Failed(error_message="rc 1", named_values={"returnCode": 1})
    return Succeeded(named_values={"returnCode": 0})


def lock_items() -> UpdateItems:
    items = [{"TYPE": "Lock", "path": path, "limit": limit} for path, limit in LOCKS]
    return UpdateItems(operations=tuple(value_from_json({"TYPE": "AddOrChangeSimple", "item": i}) for i in items))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_no_order_waits_forever_for_a_lock_or_a_notice(scenario: tuple[list[dict[str, Any]], list[Any]]) -> None:
    workflows, actions = scenario
    note(f"workflows={workflows!r}\nactions={actions!r}")
    sim = Simulator(run_job=run_job)
    assert not isinstance(sim.command(lock_items()), Problem)
    sim.deploy(BOARD, POSTER, *workflows)
    for action in actions:
        match action:
            case ("add", order_id, w, priority):
                assert not isinstance(sim.add_order(order_id, f"W{w}", priority=priority), Problem)
            case ("add-poster",):
                assert not isinstance(sim.add_order("poster", "poster"), Problem)
            case ("step", n):
                for _ in range(n):
                    sim.step()
            case ("priority", nr, priority):
                sim.command(ChangeOrder(order_id=f"o{nr}", priority=priority))
            case ("cancel", nr):
                sim.command(CancelOrders(order_ids=(f"o{nr}",)))
        assert lock_inconsistencies(sim.state) == []
    sim.run()
    for _ in range(500):  # someone posts again while orders wait: consumed notices are gone
        if not any(isinstance(o.state, states.ExpectingNotices) for o in sim.state.orders.values()):
            break
        before = len(sim.log)
        assert not isinstance(sim.command(PostNotice(notice_id=("B", "K"))), Problem)
        sim.run()
        assert len(sim.log) > before + 1, "a posted notice let no waiting order go on"
    waiting = {o.id: (type(o.state).__name__, o.position) for o in sim.state.orders.values() if not _ended(o)}
    assert not waiting, f"orders that wait forever: {waiting}"
    held = {p: (s.acquired, s.queue) for p, s in sim.state.locks.items() if s.acquired != AVAILABLE or s.queue}
    assert not held, f"locks not free at the end: {held}"
    assert lock_inconsistencies(sim.state) == []


def _ended(order: Order) -> bool:
    return isinstance(order.state, (states.Finished, states.Failed, states.Cancelled))


def test_locks_taken_in_opposite_orders_deadlock_as_in_js7_until_one_order_is_cancelled() -> None:
    """What "allow progress" leaves out, documented: holding L1, an order waits for L2 while another,
    holding L2, waits for L1. JS7 has no deadlock detection either (its LockExecutor queues both); the
    operator's CancelOrders gives the cancelled order's locks back and the other one goes on."""

    def lock(path: str, *body: dict[str, Any]) -> dict[str, Any]:
        return {"TYPE": "Lock", "demands": [{"lockPath": path}], "lockedWorkflow": {"instructions": list(body)}}

    inverted = [
        {"path": f"W{i}", "jobs": JOBS, "instructions": [lock(a, execute("OK"), lock(b, execute("OK")))]}
        for i, (a, b) in enumerate((("L1", "L2"), ("L2", "L1")))
    ]
    sim = Simulator(run_job=run_job)
    assert not isinstance(sim.command(lock_items()), Problem)
    sim.deploy(*inverted)
    sim.add_order("a", "W0")
    sim.add_order("b", "W1")
    sim.run()
    assert {o.id: (type(o.state).__name__, o.position) for o in sim.state.orders.values()} == {
        "a": ("WaitingForLock", (0, "lock", 1)),
        "b": ("WaitingForLock", (0, "lock", 1)),
    }
    assert not isinstance(sim.command(CancelOrders(order_ids=("a",))), Problem)
    sim.run()
    assert isinstance(sim.state.orders["a"].state, states.Cancelled)
    assert isinstance(sim.state.orders["b"].state, states.Finished)
    assert all(s.acquired == AVAILABLE and not s.queue for s in sim.state.locks.values())


def test_leaving_consume_notices_and_lock_blocks_through_an_if_innermost_first() -> None:
    """Found by the liveness property: a job failing within an If in a Lock in a ConsumeNotices block
    (and an order cancelled there) crashed the decision (OrderNoticesConsumed applied only directly in
    the block). As JS7's leaveBlocks: innermost first, OrderLocksReleased, then OrderNoticesConsumed
    (failed: the notice stays), then OrderFailed at the outermost block left / OrderCancelled."""
    lock = {
        "TYPE": "Lock",
        "demands": [{"lockPath": "L1"}],
        "lockedWorkflow": {
            "instructions": [{"TYPE": "If", "predicate": "true", "then": {"instructions": [execute("FAIL")]}}]
        },
    }
    consume = {"TYPE": "ConsumeNotices", "boardPaths": "'B'", "subworkflow": {"instructions": [lock]}}
    prompt = {
        **consume,
        "subworkflow": {
            "instructions": [{**lock, "lockedWorkflow": {"instructions": [{"TYPE": "Prompt", "question": "'?'"}]}}]
        },
    }
    sim = Simulator(run_job=run_job)
    assert not isinstance(sim.command(lock_items()), Problem)
    sim.deploy(
        BOARD,
        POSTER,
        {"path": "W", "jobs": JOBS, "instructions": [consume]},
        {"path": "P", "jobs": JOBS, "instructions": [prompt]},
    )
    sim.add_order("poster", "poster")
    sim.add_order("o", "W")
    sim.run()
    assert sim.events_of("o")[-4:] == ["OrderDetached", "OrderLocksReleased", "OrderNoticesConsumed", "OrderFailed"]
    assert sim.state.orders["o"].position == (0,) and isinstance(sim.state.orders["o"].state, states.Failed)
    sim.add_order("p", "P")
    sim.run()
    assert isinstance(sim.state.orders["p"].state, states.Prompting)
    assert not isinstance(sim.command(CancelOrders(order_ids=("p",))), Problem)
    sim.run()
    assert sim.events_of("p")[-5:] == [
        "OrderCancellationMarked",
        "OrderStateReset",
        "OrderLocksReleased",
        "OrderNoticesConsumed",
        "OrderCancelled",
    ]
    assert all(s.acquired == AVAILABLE and not s.queue for s in sim.state.locks.values())
    assert not sim.state.boards.consumptions.get("p") and lock_inconsistencies(sim.state) == []
