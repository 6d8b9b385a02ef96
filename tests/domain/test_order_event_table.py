"""Every order event against every order state: it applies, or it is refused as InapplicableEvent."""

from __future__ import annotations

from dataclasses import replace

import pytest

from js7es.domain.board import events as nev
from js7es.domain.event import Event, event_classes
from js7es.domain.lock import LockDemand
from js7es.domain.order import events as ev
from js7es.domain.order import states as st
from js7es.domain.order.apply import apply_order
from js7es.domain.order.cycle import CycleState
from js7es.domain.order.order import Attachment, Cancelling, Order, Resuming, Suspending
from js7es.domain.order.outcome import Failed, Succeeded
from js7es.domain.problem import Problem
from js7es.domain.workflow.workflow import WorkflowId

AGENT = "AGENT"
STATE_SAMPLES: dict[type[st.OrderState], st.OrderState] = {
    st.Fresh: st.Fresh(),
    st.Ready: st.Ready(),
    st.Processing: st.Processing(subagent_id="sub"),
    st.Processed: st.Processed(),
    st.ProcessingKilled: st.ProcessingKilled(),
    st.DelayingRetry: st.DelayingRetry(until_ms=5),
    st.Forked: st.Forked(children=("O|a",)),
    st.Prompting: st.Prompting(question="?"),
    st.Sleeping: st.Sleeping(until_ms=5),
    st.BetweenCycles: st.BetweenCycles(cycle_state=CycleState(end=9, index=1, next=5)),
    st.ExpectingNotices: st.ExpectingNotices(notice_ids=(("B", "K"),)),
    st.WaitingForLock: st.WaitingForLock(),
    st.Failed: st.Failed(),
    st.FailedInFork: st.FailedInFork(),
    st.Finished: st.Finished(),
    st.Cancelled: st.Cancelled(),
    st.Broken: st.Broken(problem="x"),
    st.Stopped: st.Stopped(),
    st.StoppedWhileFresh: st.StoppedWhileFresh(),
}

BASE = Order(id="O", workflow_id=WorkflowId("W", "1"), position=(0,))
VARIANTS: dict[str, Order] = {
    "D": BASE,  # detached, top level
    "C": replace(BASE, parent="P"),  # detached child of a fork
    "A": replace(BASE, attached=Attachment(kind="Attached", agent_path=AGENT)),
    "X": replace(BASE, attached=Attachment(kind="Attaching", agent_path=AGENT)),
    "Y": replace(BASE, attached=Attachment(kind="Detaching", agent_path=AGENT)),
    "MC": replace(BASE, mark=Cancelling()),
    "MS": replace(BASE, mark=Suspending()),
    "MR": replace(BASE, mark=Resuming()),
    "S": replace(BASE, is_suspended=True),
}

ALL = frozenset(STATE_SAMPLES)
TERMINAL = frozenset({st.Finished, st.Cancelled})
NONTERMINAL = ALL - TERMINAL
ALL_V = frozenset(VARIANTS)
DETACHED = frozenset({"D", "C", "MC", "MS", "MR", "S"})
DETACHED_OR_ATTACHED = ALL_V - {"X", "Y"}  # JS7's isDetachedOrAttached
DETACHABLE = frozenset(
    {st.Fresh, st.Ready, st.Processed, st.ProcessingKilled, st.DelayingRetry, st.Sleeping, st.Forked, st.BetweenCycles}
)
MOVABLE = frozenset({st.Fresh, st.Ready, st.Processed, st.ProcessingKilled, st.Sleeping, st.BetweenCycles})
CANCELLABLE = NONTERMINAL - {st.Processing, st.Forked, st.WaitingForLock}  # a waiting order is reset first
RELEASING = NONTERMINAL - {st.Fresh, st.Processing, st.Forked, st.WaitingForLock}
SUSPENDABLE = frozenset({st.Fresh, st.Ready, st.ProcessingKilled, st.Failed})
STOPPED = frozenset({st.Failed, st.Stopped, st.StoppedWhileFresh})  # resumable without a suspension
GO_COMMANDABLE = frozenset({st.DelayingRetry, st.Sleeping, st.BetweenCycles})

Cells = frozenset[tuple[type[st.OrderState], str]]


def cells(states: frozenset[type[st.OrderState]], variants: frozenset[str]) -> Cells:
    return frozenset((s, v) for s in states for v in variants)


NOTHING: Cells = frozenset()

# event sample -> the (state, variant) cells where it applies, and the state class it leads to
# (None: the state stays as it was).
TABLE: list[tuple[Event, Cells, type[st.OrderState] | None]] = [
    (ev.OrderAdded(workflow_id=WorkflowId("W", "1")), NOTHING, None),  # creates; see test_order_state
    (ev.OrderAttachedToAgent(order=BASE), NOTHING, None),  # creates, on the Agent
    (ev.OrderAttachable(agent_path=AGENT), cells(frozenset({st.Fresh, st.Ready}), DETACHED), None),
    (ev.OrderAttached(agent_path=AGENT), cells(ALL, frozenset({"X"})), None),
    (ev.OrderDetachable(), cells(DETACHABLE, frozenset({"A"})), None),
    (ev.OrderDetached(), cells(ALL, frozenset({"Y"})), None),
    (ev.OrderStarted(), cells(frozenset({st.Fresh}), ALL_V), st.Ready),
    (ev.OrderProcessingStarted(subagent_id="s"), cells(frozenset({st.Ready}), frozenset({"A"})), st.Processing),
    (ev.OrderStdoutWritten(chunk="x"), cells(frozenset({st.Processing}), ALL_V), None),
    (ev.OrderStderrWritten(chunk="x"), cells(frozenset({st.Processing}), ALL_V), None),
    (ev.OrderProcessed(outcome=Succeeded()), cells(frozenset({st.Processing}), ALL_V), st.Processed),
    (ev.OrderProcessingKilled(), cells(frozenset({st.Processed}), ALL_V), st.ProcessingKilled),
    (ev.OrderMoved(to=(1,)), cells(MOVABLE, ALL_V), st.Ready),  # Fresh stays Fresh, checked below
    (
        ev.OrderForked(children=(ev.ForkedChild(order_id="O|a", branch_id="a"),)),
        cells(frozenset({st.Ready}), ALL_V),
        st.Forked,
    ),
    (ev.OrderJoined(outcome=Succeeded()), cells(frozenset({st.Forked}), ALL_V), st.Processed),
    (ev.OrderOutcomeAdded(outcome=Failed()), cells(NONTERMINAL, ALL_V), None),
    (ev.OrderFailed(), cells(frozenset({st.Fresh, st.Ready, st.Processed, st.ProcessingKilled}), DETACHED), st.Failed),
    (ev.OrderFailedInFork(), cells(frozenset({st.Ready, st.Processed}), frozenset({"C"})), st.FailedInFork),
    (ev.OrderCaught(moved_to=(0, "catch+0", 0)), cells(frozenset({st.Ready, st.Processed}), ALL_V), st.Ready),
    (
        ev.OrderRetrying(moved_to=(0, "try+1", 0), delayed_until=9),
        cells(frozenset({st.Ready}), ALL_V),
        st.DelayingRetry,
    ),
    (ev.OrderAwoke(), cells(frozenset({st.DelayingRetry}), ALL_V), st.Ready),
    (ev.OrderBroken(problem="p"), cells(NONTERMINAL, ALL_V), st.Broken),
    (ev.OrderFinished(), cells(frozenset({st.Ready}), DETACHED), st.Finished),
    (ev.OrderCancellationMarked(), cells(NONTERMINAL, ALL_V), None),
    (ev.OrderCancellationMarkedOnAgent(), cells(ALL, frozenset({"MC"})), None),
    (ev.OrderCancelled(), cells(CANCELLABLE, DETACHED), st.Cancelled),
    (ev.OrderDeletionMarked(), cells(ALL, ALL_V), None),
    (ev.OrderDeleted(), cells(TERMINAL, DETACHED - {"C"}), None),
    # only for an order added for a file (none here), see tests/domain/test_file_watch.py
    (ev.OrderExternalVanished(), NOTHING, None),
    (ev.OrderSuspensionMarked(), cells(NONTERMINAL, ALL_V - {"S"}), None),
    (ev.OrderSuspensionMarkedOnAgent(), cells(ALL, frozenset({"MS"})), None),
    (ev.OrderSuspended(), cells(SUSPENDABLE, DETACHED - {"S"}), None),
    (ev.OrderResumptionMarked(), cells(ALL, frozenset({"MS"})), None),
    (ev.OrderResumed(), cells(NONTERMINAL, frozenset({"S", "MR"})) | cells(STOPPED, DETACHED), None),
    (ev.OrderPrompted(question="q"), cells(frozenset({st.Ready}), DETACHED), st.Prompting),
    (ev.OrderPromptAnswered(), cells(frozenset({st.Prompting}), ALL_V), st.Ready),
    (ev.OrderSleeping(until=7), cells(frozenset({st.Ready}), ALL_V), st.Sleeping),
    (
        ev.OrderStateReset(),
        cells(
            frozenset(
                {st.DelayingRetry, st.Prompting, st.Sleeping, st.BetweenCycles, st.ExpectingNotices, st.WaitingForLock}
            ),
            ALL_V,
        ),
        st.Ready,
    ),
    (
        ev.OrderLocksQueued(demands=(LockDemand(lock_path="L"),)),
        cells(frozenset({st.Ready}), DETACHED),
        st.WaitingForLock,
    ),
    (
        ev.OrderLocksAcquired(demands=(LockDemand(lock_path="L", count=2),)),
        cells(frozenset({st.Ready, st.WaitingForLock}), DETACHED),
        st.Ready,
    ),
    # applied to orders in a lock's block, see IN_LOCK
    (ev.OrderLocksReleased(lock_paths=("L",)), cells(RELEASING, DETACHED), None),
    (ev.OrderPriorityChanged(priority=7), cells(NONTERMINAL, ALL_V), None),
    # GoOrder: an order waiting for a time (BASE has no scheduledFor: its Fresh state is not such a wait)
    (ev.OrderGoMarked(position=(0,)), cells(GO_COMMANDABLE, frozenset({"A"})), None),
    (ev.OrderGoes(), cells(GO_COMMANDABLE, DETACHED_OR_ATTACHED), None),
    (  # TransferOrders checks the rest
        ev.OrderTransferred(workflow_position=ev.WorkflowPosition(workflow_id=WorkflowId("W", "2"), position=(0,))),
        cells(ALL, DETACHED),
        None,
    ),
    (
        ev.OrderCyclingPrepared(cycle_state=CycleState(end=9, index=1, next=7)),
        cells(frozenset({st.Ready, st.BetweenCycles}), DETACHED_OR_ATTACHED - {"S"}),
        st.BetweenCycles,
    ),
    (ev.OrderCycleStarted(), cells(frozenset({st.BetweenCycles}), DETACHED_OR_ATTACHED - {"S"}), st.Ready),
    (nev.OrderNoticeAnnounced(notice_id=("B", "K")), cells(frozenset({st.Fresh}), DETACHED), None),
    (nev.OrderNoticePosted(notice_id=("B", "K")), cells(frozenset({st.Ready}), DETACHED - {"S"}), None),
    (
        nev.OrderNoticesExpected(notice_ids=(("B", "K"),)),
        cells(frozenset({st.Ready}), DETACHED - {"S"}),
        st.ExpectingNotices,
    ),
    (nev.OrderNoticesRead(), cells(frozenset({st.Ready, st.ExpectingNotices}), DETACHED - {"S"}), st.Ready),
    (
        nev.OrderNoticesConsumptionStarted(notice_ids=(("B", "K"),)),
        cells(frozenset({st.Ready, st.ExpectingNotices}), DETACHED - {"S"}),
        st.Ready,
    ),
    # applied to orders in a ConsumeNotices block, see IN_CONSUME
    (nev.OrderNoticesConsumed(), cells(ALL, DETACHED), st.Ready),
    # applied to orders in a cycle's block, see IN_CYCLE
    (ev.OrderCycleFinished(cycle_state=None), cells(frozenset({st.Ready}), DETACHED_OR_ATTACHED), st.BetweenCycles),
    # the added order is the ControllerState's, see tests/domain/test_add_order.py
    (ev.OrderOrderAdded(order_id="N", workflow_id=WorkflowId("W", "1")), cells(frozenset({st.Ready}), DETACHED), None),
    # Fresh becomes StoppedWhileFresh, checked below
    (
        ev.OrderStopped(),
        cells(frozenset({st.Fresh, st.Ready, st.Processed, st.ProcessingKilled}), DETACHED),
        st.Stopped,
    ),
    (
        ev.OrderStickySubagentEntered(agent_path=AGENT),
        cells(frozenset({st.Fresh, st.Ready}), DETACHED_OR_ATTACHED - {"S"}),
        None,
    ),
    # applied to orders in a StickySubagent's block, see IN_STICKY
    (ev.OrderStickySubagentLeaved(), cells(NONTERMINAL, DETACHED_OR_ATTACHED), None),
]
IN_CYCLE = (0, "cycle+end=9,i=1,next=5", 2)
IN_CONSUME = (0, "consumeNotices", 2)
IN_LOCK = (1, "lock", 3)
IN_STICKY = (1, "stickySubagent", 3)


def test_the_table_covers_every_order_event_class() -> None:
    order_events = {name for name, cls in event_classes().items() if issubclass(cls, ev.OrderEvent)}
    assert order_events == {type(event).__name__ for event, _, _ in TABLE}
    assert len(order_events) >= 35


def test_cycle_events_move_into_and_out_of_the_cycles_block() -> None:
    """JS7's Order.applyEvent: OrderCycleStarted enters the block at the branch id that carries the
    cycle state (with `skipped` added to next); OrderCycleFinished goes back to the Cycle instruction."""
    between = replace(BASE, state=st.BetweenCycles(cycle_state=CycleState(end=9000, index=2, next=5000)))
    started = apply_order(between, ev.OrderCycleStarted())
    assert not isinstance(started, Problem)
    assert (started.position, started.state) == ((0, "cycle+end=9000,i=2,next=5000", 0), st.Ready())
    skipped = apply_order(between, ev.OrderCycleStarted(skipped=1.5))
    assert not isinstance(skipped, Problem)
    assert skipped.position == (0, "cycle+end=9000,i=2,next=6500", 0)
    next_state = CycleState(end=9000, index=3, next=8000)
    finished = apply_order(
        replace(started, position=(0, started.position[1], 4)), ev.OrderCycleFinished(cycle_state=next_state)
    )
    assert not isinstance(finished, Problem)
    assert (finished.position, finished.state) == ((0,), st.BetweenCycles(cycle_state=next_state))
    not_in_a_cycle = apply_order(replace(BASE, state=st.Ready(), position=(0, "then", 1)), ev.OrderCycleFinished())
    assert isinstance(not_in_a_cycle, Problem) and not_in_a_cycle.code == "InapplicableEvent"


def test_lock_events_move_into_and_out_of_the_locks_block() -> None:
    """JS7's Order.applyEvent: OrderLocksAcquired enters the block (lock/0), OrderLocksReleased goes
    to the instruction after the Lock (from any depth of its block's own position), and only from a
    position in a lock's block."""
    waiting = replace(BASE, position=(2,), state=st.WaitingForLock())
    acquired = apply_order(waiting, ev.OrderLocksAcquired(demands=(LockDemand(lock_path="L"),)))
    assert not isinstance(acquired, Problem)
    assert (acquired.position, acquired.state) == ((2, "lock", 0), st.Ready())
    released = apply_order(replace(acquired, position=(2, "lock", 4)), ev.OrderLocksReleased(lock_paths=("L",)))
    assert not isinstance(released, Problem)
    assert released.position == (3,)
    not_in_a_lock = apply_order(
        replace(BASE, state=st.Ready(), position=(0, "then", 1)), ev.OrderLocksReleased(lock_paths=("L",))
    )
    assert isinstance(not_in_a_lock, Problem) and not_in_a_lock.code == "InapplicableEvent"


def test_the_samples_cover_every_state_class() -> None:
    assert set(STATE_SAMPLES) == set(st.ALL_STATES)


@pytest.mark.parametrize(("event", "applies_in", "result_state"), TABLE, ids=lambda x: type(x).__name__)
def test_event_against_every_state(
    event: ev.OrderEvent, applies_in: Cells, result_state: type[st.OrderState] | None
) -> None:
    wrong = []
    for state_class, sample in STATE_SAMPLES.items():
        for variant, base in VARIANTS.items():
            order = replace(base, state=sample)
            if isinstance(event, ev.OrderCycleFinished):
                order = replace(order, position=IN_CYCLE)
            if isinstance(event, nev.OrderNoticesConsumed):
                order = replace(order, position=IN_CONSUME)
            if isinstance(event, ev.OrderLocksReleased):
                order = replace(order, position=IN_LOCK)
            if isinstance(event, ev.OrderStickySubagentLeaved):
                order = replace(order, position=IN_STICKY)
            result = apply_order(order, event)
            expected = (state_class, variant) in applies_in
            if isinstance(result, Problem):
                assert result.code == "InapplicableEvent"
                if expected:
                    wrong.append(f"refused in {state_class.__name__}/{variant}: {result.message}")
                continue
            if not expected:
                wrong.append(f"applied in {state_class.__name__}/{variant}")
                continue
            want = state_class if result_state is None else result_state
            if isinstance(event, ev.OrderMoved) and state_class is st.Fresh:
                want = st.Fresh
            if isinstance(event, ev.OrderResumed) and state_class in (st.Failed, st.ProcessingKilled, st.Stopped):
                want = st.Ready
            if isinstance(event, (ev.OrderResumed, ev.OrderStopped)) and state_class is st.Fresh:
                want = st.StoppedWhileFresh if isinstance(event, ev.OrderStopped) else st.Fresh
            if isinstance(event, ev.OrderResumed) and state_class is st.StoppedWhileFresh:
                want = st.Fresh
            if isinstance(event, ev.OrderRetrying) and event.delayed_until is None:
                want = st.Ready
            if type(result.state) is not want:
                wrong.append(f"{state_class.__name__}/{variant} led to {type(result.state).__name__}")
    assert wrong == []


def test_sticky_subagent_entered_and_leaved_move_in_and_out_as_in_js7() -> None:
    """JS7's Order.applyEvent: entered goes to stickySubagent/0 (not when already in such a block),
    leaved to the instruction after the StickySubagent."""
    entered = apply_order(replace(BASE, position=(2,)), ev.OrderStickySubagentEntered(agent_path=AGENT))
    assert not isinstance(entered, Problem) and entered.position == (2, "stickySubagent", 0)
    assert entered.state == st.Fresh()
    nested = apply_order(replace(entered, state=st.Ready()), ev.OrderStickySubagentEntered(agent_path=AGENT))
    assert isinstance(nested, Problem)
    leaved = apply_order(replace(entered, position=(2, "stickySubagent", 4)), ev.OrderStickySubagentLeaved())
    assert not isinstance(leaved, Problem) and leaved.position == (3,)
    assert isinstance(apply_order(replace(BASE, position=(0, "then", 1)), ev.OrderStickySubagentLeaved()), Problem)
