"""The one transition function of an order: apply(order, event) -> order | Problem.

It never raises and never ignores: an event that does not fit the order's state is an
"InapplicableEvent" problem (a bug in whoever decided it). Events that create or remove orders
(OrderAdded, OrderAttachedToAgent, OrderForked's children, OrderJoined, OrderDeleted) are applied by
the state that holds the orders, which calls this function for the order's own part.
"""

from __future__ import annotations

from dataclasses import replace

from js7es.domain.order.cycle import cycle_branch_id
from js7es.domain.order.events import (
    OrderAttachable,
    OrderAttached,
    OrderAwoke,
    OrderBroken,
    OrderCancellationMarked,
    OrderCancellationMarkedOnAgent,
    OrderCancelled,
    OrderCaught,
    OrderCycleFinished,
    OrderCycleStarted,
    OrderCyclingPrepared,
    OrderDeleted,
    OrderDeletionMarked,
    OrderDetachable,
    OrderDetached,
    OrderEvent,
    OrderExternalVanished,
    OrderFailed,
    OrderFailedInFork,
    OrderFinished,
    OrderForked,
    OrderGoes,
    OrderGoMarked,
    OrderJoined,
    OrderLocksAcquired,
    OrderLocksQueued,
    OrderLocksReleased,
    OrderMoved,
    OrderOrderAdded,
    OrderOutcomeAdded,
    OrderPriorityChanged,
    OrderProcessed,
    OrderProcessingKilled,
    OrderProcessingStarted,
    OrderPromptAnswered,
    OrderPrompted,
    OrderResumed,
    OrderResumptionMarked,
    OrderRetrying,
    OrderSleeping,
    OrderStarted,
    OrderStateReset,
    OrderStderrWritten,
    OrderStdoutWritten,
    OrderStickySubagentEntered,
    OrderStickySubagentLeaved,
    OrderStopped,
    OrderSuspended,
    OrderSuspensionMarked,
    OrderSuspensionMarkedOnAgent,
    OrderTransferred,
)
from js7es.domain.order.notice_apply import NOTICE_EVENTS, apply_notice_event
from js7es.domain.order.order import Attachment, Cancelling, Going, Order, Resuming, StickySubagent, Suspending
from js7es.domain.order.outcome import Killed, Succeeded
from js7es.domain.order.states import (
    BetweenCycles,
    Broken,
    Cancelled,
    DelayingRetry,
    ExpectingNotices,
    Failed,
    FailedInFork,
    Finished,
    Forked,
    Fresh,
    OrderState,
    Processed,
    Processing,
    ProcessingKilled,
    Prompting,
    Ready,
    Sleeping,
    Stopped,
    StoppedWhileFresh,
    WaitingForLock,
)
from js7es.domain.problem import Problem, problem
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import STICKY_SUBAGENT_BRANCH, is_cycle_branch

_MOVABLE = (Fresh, Ready, Processed, ProcessingKilled, Sleeping, BetweenCycles)
# Forked: a parent forked on an Agent goes back to the Controller, which joins (JS7: Forked IsDetachable).
_DETACHABLE = (Fresh, Ready, Processed, ProcessingKilled, DelayingRetry, Sleeping, Forked, BetweenCycles)
_SUSPENDABLE = (Fresh, Ready, ProcessingKilled, Failed)
_CANCELLABLE = (
    Fresh,
    Ready,
    Processed,
    ProcessingKilled,
    DelayingRetry,
    Sleeping,
    Prompting,
    BetweenCycles,
    ExpectingNotices,
    Failed,
    Broken,
    FailedInFork,
    Stopped,
    StoppedWhileFresh,
)
_TERMINAL = (Finished, Cancelled)
_RESETTABLE = (
    DelayingRetry,
    Prompting,
    Sleeping,
    BetweenCycles,
    ExpectingNotices,
    WaitingForLock,
)  # JS7's IsResettable states that js7es has
# States a ResumeOrder takes an order out of, besides a suspension (JS7's isResumable).
_STOPPED = (Failed, Stopped, StoppedWhileFresh)
# An order leaves a Lock's block (OrderLocksReleased) from any state but these (JS7: when detached).
_NOT_RELEASING = (Fresh, Processing, Forked, WaitingForLock, Finished, Cancelled)


def inapplicable(order: Order, event: OrderEvent) -> Problem:
    return problem(
        "InapplicableEvent",
        f"{type(event).__name__} is not applicable to order {order.id!r} in state "
        f"{type(order.state).__name__}{' (suspended)' if order.is_suspended else ''}",
        orderId=order.id,
        event=type(event).__name__,
        state=type(order.state).__name__,
    )


def _detached_or_attached(order: Order) -> bool:
    """JS7's isDetachedOrAttached: not on the way to or from an Agent."""
    return order.attached is None or order.attached.kind == "Attached"


def apply_order(order: Order, event: OrderEvent) -> Order | Problem:
    applied = _apply_order(order, event)
    if isinstance(event, OrderResumed):
        return applied.updated(is_resumed=True) if isinstance(applied, Order) else applied
    if order.is_resumed and isinstance(applied, Order) and applied.position != order.position:
        return applied.updated(is_resumed=False)  # JS7: a move ends the pass over a breakpoint
    return applied


def _apply_order(order: Order, event: OrderEvent) -> Order | Problem:
    s = order.state
    if isinstance(event, NOTICE_EVENTS):
        applied = apply_notice_event(order, event)
        return inapplicable(order, event) if applied is None else applied
    match event:
        case OrderAttachable(agent_path=agent_path):
            if isinstance(s, (Fresh, Ready)) and order.attached is None:
                return order.updated(attached=Attachment(kind="Attaching", agent_path=agent_path))
        case OrderAttached(agent_path=agent_path):
            if order.attached == Attachment(kind="Attaching", agent_path=agent_path):
                return order.updated(attached=Attachment(kind="Attached", agent_path=agent_path))
        case OrderDetachable():
            if isinstance(s, _DETACHABLE) and order.attached is not None and order.attached.kind == "Attached":
                return order.updated(attached=replace(order.attached, kind="Detaching"))
        case OrderDetached():
            if order.attached is not None and order.attached.kind == "Detaching":
                return order.updated(attached=None, mark_on_agent=False)
        case OrderStarted():
            if isinstance(s, Fresh):
                return order.updated(state=Ready())
        case OrderProcessingStarted(subagent_id=subagent_id, stick=stick):
            if isinstance(s, Ready) and order.attached is not None and order.attached.kind == "Attached":
                if not stick:
                    return order.updated(state=Processing(subagent_id=subagent_id))
                if order.sticky_subagents:  # JS7: the innermost block records its Subagent
                    first, *rest = order.sticky_subagents
                    stuck = replace(first, stuck_subagent_id=subagent_id)
                    return order.updated(state=Processing(subagent_id=subagent_id), sticky_subagents=(stuck, *rest))
        case OrderStdoutWritten() | OrderStderrWritten():
            if isinstance(s, Processing):
                return order
        case OrderProcessed(outcome=outcome):
            if isinstance(s, Processing):
                return order.with_outcome(outcome).updated(state=Processed())
        case OrderProcessingKilled():
            if isinstance(s, Processed):
                return order.updated(state=ProcessingKilled())
        case OrderMoved(to=to):
            if isinstance(s, _MOVABLE):
                return order.updated(position=to, state=Fresh() if isinstance(s, Fresh) else Ready())
        case OrderForked(children=children):
            if isinstance(s, Ready):
                return order.updated(state=Forked(children=tuple(c.order_id for c in children)))
        case OrderJoined(outcome=outcome):
            if isinstance(s, Forked):
                return order.with_outcome(outcome).updated(state=Processed())
        case OrderOutcomeAdded(outcome=outcome):
            if not isinstance(s, _TERMINAL):
                return order.with_outcome(outcome)
        case OrderFailed(moved_to=moved_to):
            if isinstance(s, (Fresh, Ready, Processed, ProcessingKilled)) and order.attached is None:
                return order.updated(state=Failed(), position=moved_to or order.position)
        case OrderFailedInFork(moved_to=moved_to):
            if isinstance(s, (Ready, Processed)) and order.parent is not None and order.attached is None:
                return order.updated(state=FailedInFork(), position=moved_to or order.position)
        case OrderCaught(moved_to=moved_to):
            if isinstance(s, (Ready, Processed)):
                return order.updated(state=Ready(), position=moved_to)
        case OrderRetrying(moved_to=moved_to, delayed_until=until):
            if isinstance(s, Ready):
                state: OrderState = Ready() if until is None else DelayingRetry(until_ms=until)
                return order.updated(state=state, position=moved_to)
        case OrderAwoke():
            if isinstance(s, DelayingRetry):
                return order.updated(state=Ready())
        case OrderBroken(problem=text):
            if not isinstance(s, _TERMINAL):
                return order.updated(state=Broken(problem=text))
        case OrderFinished():
            if isinstance(s, Ready) and order.attached is None:
                return order.updated(state=Finished(), mark=None)
        case OrderCancellationMarked(mode=mode, kill=kill, kill_immediately=immediately):
            if not isinstance(s, _TERMINAL):
                cancelling = Cancelling(mode=mode, kill=kill, kill_immediately=immediately)
                return order.updated(mark=cancelling, mark_on_agent=False)
        case OrderCancellationMarkedOnAgent():
            if isinstance(order.mark, Cancelling):
                return order.updated(mark_on_agent=True)
        case OrderCancelled():
            if isinstance(s, _CANCELLABLE) and order.attached is None:
                return order.updated(state=Cancelled(), mark=None, is_suspended=False)
        case OrderDeletionMarked():
            return order.updated(delete_when_terminated=True)
        case OrderExternalVanished():
            if order.external_order is not None and order.parent is None:
                return order.updated(external_order=replace(order.external_order, vanished=True))
        case OrderDeleted():
            if isinstance(s, _TERMINAL) and order.attached is None and order.parent is None:
                return order
        case OrderSuspensionMarked(kill=kill, kill_immediately=immediately, reset_state=reset_state):
            if not isinstance(s, _TERMINAL) and not order.is_suspended:
                suspending = Suspending(kill=kill, kill_immediately=immediately, reset_state=reset_state)
                return order.updated(mark=suspending, mark_on_agent=False)
        case OrderSuspensionMarkedOnAgent():
            if isinstance(order.mark, Suspending):
                return order.updated(mark_on_agent=True)
        case OrderSuspended():
            if isinstance(s, _SUSPENDABLE) and order.attached is None and not order.is_suspended:
                return order.updated(is_suspended=True, mark=None)
        case OrderResumptionMarked(position=position, as_succeeded=as_succeeded, restart_killed_job=restart):
            if isinstance(order.mark, Suspending) and not order.is_suspended:
                resuming = Resuming(position=position, as_succeeded=as_succeeded, restart_killed_job=restart)
                return order.updated(mark=resuming)
        case OrderResumed(position=position, as_succeeded=as_succeeded, restart_killed_job=restart):
            resumable = order.is_suspended or isinstance(s, _STOPPED) or isinstance(order.mark, Resuming)
            if resumable and order.attached is None and not isinstance(s, _TERMINAL):
                killed = isinstance(order.last_outcome, Killed)
                forget_killed = restart and killed
                if forget_killed:  # JS7: the killed step is forgotten and runs again
                    order = order.updated(historic_outcomes=order.historic_outcomes[:-1])
                elif position is None and killed and as_succeeded:  # JS7: the killed job counts as done
                    position = pos.next_of(order.position)
                resumed = order.updated(
                    is_suspended=False,
                    mark=None,
                    position=position or order.position,
                    state=Fresh()
                    if isinstance(s, StoppedWhileFresh)
                    else Ready()
                    if isinstance(s, (Failed, ProcessingKilled, Stopped))
                    else s,
                )
                if as_succeeded and resumed.historic_outcomes and not forget_killed:
                    last = resumed.historic_outcomes[-1]
                    resumed = resumed.updated(
                        historic_outcomes=(
                            *resumed.historic_outcomes[:-1],
                            replace(last, outcome=Succeeded(named_values=last.outcome.named_values)),
                        ),
                    )
                return resumed
        case OrderPrompted(question=question):
            if isinstance(s, Ready) and order.attached is None:
                return order.updated(state=Prompting(question=question))
        case OrderPromptAnswered():
            if isinstance(s, Prompting):
                return order.updated(state=Ready())
        case OrderSleeping(until=until):
            if isinstance(s, Ready):
                return order.updated(state=Sleeping(until_ms=until))
        case OrderCyclingPrepared(cycle_state=cycle_state):
            if isinstance(s, (Ready, BetweenCycles)) and _detached_or_attached(order) and not order.is_suspended:
                return order.updated(state=BetweenCycles(cycle_state=cycle_state))
        case OrderCycleStarted(skipped=skipped):
            waiting = isinstance(s, BetweenCycles) and s.cycle_state is not None
            if waiting and _detached_or_attached(order) and not order.is_suspended:
                assert isinstance(s, BetweenCycles) and s.cycle_state is not None
                started = s.cycle_state
                if skipped is not None:
                    started = replace(started, next=started.next + round(skipped * 1000))
                return order.updated(position=(*order.position, cycle_branch_id(started), 0), state=Ready())
        case OrderCycleFinished(cycle_state=cycle_state):
            branch = pos.branch_id(order.position)
            if isinstance(s, Ready) and branch is not None and is_cycle_branch(branch) and _detached_or_attached(order):
                cycle_position = pos.parent(order.position)
                assert cycle_position is not None
                return order.updated(position=cycle_position, state=BetweenCycles(cycle_state=cycle_state))
        case OrderLocksQueued():
            if isinstance(s, Ready) and order.attached is None:
                return order.updated(state=WaitingForLock())
        case OrderLocksAcquired():
            if isinstance(s, (Ready, WaitingForLock)) and order.attached is None:
                return order.updated(position=pos.nested(order.position, "lock"), state=Ready())
        case OrderLocksReleased():
            lock_position = pos.innermost_block(order.position, "lock")
            if lock_position is not None and order.attached is None and not isinstance(s, _NOT_RELEASING):
                return order.updated(position=pos.next_of(lock_position))
        case OrderPriorityChanged(priority=priority):
            if not isinstance(s, _TERMINAL):
                return order.updated(priority=priority or None)
        case OrderOrderAdded():  # the added order is the ControllerState's
            if isinstance(s, Ready) and order.attached is None:
                return order
        case OrderStopped():
            if isinstance(s, (Fresh, Ready, Processed, ProcessingKilled)) and order.attached is None:
                return order.updated(state=StoppedWhileFresh() if isinstance(s, Fresh) else Stopped())
        case OrderStickySubagentEntered(agent_path=agent_path, subagent_bundle_id=bundle_id):
            entering = isinstance(s, (Fresh, Ready)) and _detached_or_attached(order) and not order.is_suspended
            if entering and STICKY_SUBAGENT_BRANCH not in order.position[1::2]:  # JS7: not nested
                sticky = StickySubagent(agent_path=agent_path, subagent_bundle_id=bundle_id)
                # an entry left by a failure out of the block (no OrderStickySubagentLeaved) is replaced
                return order.updated(
                    position=pos.nested(order.position, STICKY_SUBAGENT_BRANCH),
                    sticky_subagents=(sticky, *(s for s in order.sticky_subagents or () if s.agent_path != agent_path)),
                )
        case OrderStickySubagentLeaved():
            sticky_position = pos.parent(order.position)
            in_block = sticky_position is not None and pos.branch_id(order.position) == STICKY_SUBAGENT_BRANCH
            if in_block and _detached_or_attached(order) and not order.is_terminal:
                assert sticky_position is not None
                remaining = (order.sticky_subagents or ())[1:]
                return order.updated(position=pos.next_of(sticky_position), sticky_subagents=remaining or None)
        case OrderGoMarked(position=position):  # JS7: only for an order on an Agent
            attached = order.attached is not None and order.attached.kind == "Attached"
            if attached and order.is_go_commandable(position):
                return order.updated(mark=Going(position=position), mark_on_agent=False)
        case OrderTransferred(workflow_position=to):  # checked by TransferOrders
            if order.attached is None:
                return order.updated(workflow_id=to.workflow_id, position=to.position)
        case OrderGoes():
            if order.is_go_commandable():
                return order.updated(mark=None) if isinstance(order.mark, Going) else order
        case OrderStateReset():
            if isinstance(s, _RESETTABLE):
                return order.updated(state=Ready(), mark=None)
    return inapplicable(order, event)
