"""Deciding what happens next to an order (JS7's OrderEventSource): pure, from state and context."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from js7es.domain.board.events import OrderNoticePosted
from js7es.domain.event import KeyedEvent
from js7es.domain.order.context import Context
from js7es.domain.order.events import (
    OrderAttachable,
    OrderAwoke,
    OrderBroken,
    OrderCancelled,
    OrderDeleted,
    OrderDetachable,
    OrderEvent,
    OrderFinished,
    OrderForked,
    OrderMoved,
    OrderOrderAdded,
    OrderProcessingKilled,
    OrderResumed,
    OrderStarted,
    OrderStateReset,
    OrderSuspended,
)
from js7es.domain.order.executors import EXECUTORS
from js7es.domain.order.executors.cycle import between_cycles
from js7es.domain.order.executors.execute import after_processed
from js7es.domain.order.executors.fork import execute_fork_list, join
from js7es.domain.order.executors.lock import (
    disrupted,
    execute_lock,
    in_lock_block,
    permanent_refusal,
)
from js7es.domain.order.executors.notices import expecting_notices
from js7es.domain.order.executors.plain import PASSED_WHILE_FRESH
from js7es.domain.order.executors.step import Step
from js7es.domain.order.go import go_events
from js7es.domain.order.order import Cancelling, Going, Order, Resuming, Suspending
from js7es.domain.order.outcome import Killed
from js7es.domain.order.states import (
    BetweenCycles,
    Broken,
    DelayingRetry,
    ExpectingNotices,
    Failed,
    FailedInFork,
    Forked,
    Fresh,
    Processed,
    Processing,
    ProcessingKilled,
    Prompting,
    Ready,
    Sleeping,
    WaitingForLock,
)
from js7es.domain.order.stop_positions import is_at_stop_position
from js7es.domain.problem import Problem
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import Cycle, ForkList, Instruction, LockInstruction
from js7es.domain.workflow_control import SKIPPED_DUE_TO_WORKFLOW_PATH_CONTROL

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState

MAX_STEPS_PER_ORDER = 1000  # a workflow that moves without end (e.g. If loops) is stopped as Broken


class InapplicableEventError(AssertionError):
    """A decided event did not apply: a bug in the deciding code, never an input error."""


def next_events(state: ControllerState, order_id: str, ctx: Context) -> list[OrderEvent]:
    """The events the order's next step produces now (empty while it waits)."""
    order = state.orders.get(order_id)
    if order is None:
        return []
    if ctx.at_controller and order.attached is not None:
        return []  # the Agent has the order
    if not ctx.at_controller and not (ctx.here is not None and order.is_attached_to(ctx.here)):
        return []
    workflow = state.workflow_of(order)
    instruction = workflow.instruction(order.position) if workflow is not None else None
    if workflow is None or instruction is None:
        if isinstance(order.state, Broken) or order.is_terminal:
            return []
        return [OrderBroken(problem=f"Unknown workflow position {order.workflow_id}:{order.position}")]
    step = Step(state, order, workflow, ctx)
    if order.is_terminal:
        vanished = order.external_order is not None and order.external_order.vanished
        if (order.delete_when_terminated or vanished) and order.parent is None and ctx.at_controller:
            return [OrderDeleted()]
        return []
    marked = _mark_events(step)
    if marked is not None:
        return marked
    if order.is_suspended:
        return []
    if step.state.is_at_breakpoint(order):  # JS7: suspended at the Controller
        return [OrderSuspended()] if ctx.at_controller else [OrderDetachable()]
    if step.state.is_workflow_suspended(order.workflow_id.path):
        return []  # JS7: a suspended workflow's orders take no step, whatever their state
    stopped = _at_stop_position(step)
    if stopped is not None:
        return stopped
    skipped = _skipped(step, instruction)
    if skipped is not None:
        return skipped
    return _state_events(step, instruction)


def _at_stop_position(step: Step) -> list[OrderEvent] | None:
    """JS7: an order at one of its stop positions finishes as a Finish instruction there would finish
    it: back on the Controller first (OrderDetachable), OrderStarted when it is Fresh (and due)."""
    order = step.order
    if not order.stop_positions or not is_at_stop_position(step.workflow, order):
        return None
    if isinstance(order.state, Fresh):
        if order.scheduled_for is not None and order.scheduled_for > step.ctx.now_ms:
            return []
        return [OrderStarted()] if step.ctx.at_controller else step.detach()
    if not isinstance(order.state, Ready):
        return None
    # A stop position is reachable only through then/else/try/catch/cycle/options blocks, which leave
    # nothing behind (JS7's leaveBlocks): the order finishes, without an outcome of its own.
    return [OrderFinished()] if step.ctx.at_controller else step.detach()


def _skipped(step: Step, instruction: Instruction) -> list[OrderEvent] | None:
    """JS7's ifSkippedDueToWorkflowPathControlThenMove: a Fresh (when due) or Ready order at an
    instruction whose label the operator skips moves past it (js7es.domain.workflow_control)."""
    order = step.order
    if instruction.label is None or instruction.label not in step.state.skipped_labels(order.workflow_id.path):
        return None
    fresh_and_due = isinstance(order.state, Fresh) and (
        order.scheduled_for is None or order.scheduled_for <= step.ctx.now_ms
    )
    if not (fresh_and_due or isinstance(order.state, Ready)):
        return None
    return [OrderMoved(to=pos.next_of(order.position), reason=SKIPPED_DUE_TO_WORKFLOW_PATH_CONTROL)]


def _state_events(step: Step, instruction: Instruction) -> list[OrderEvent]:
    order = step.order
    match order.state:
        case Fresh():
            if isinstance(instruction, ForkList) and (
                step.ctx.at_controller or step.ctx.here == instruction.agent_path
            ):
                if order.scheduled_for is not None and order.scheduled_for > step.ctx.now_ms:
                    return []
                return execute_fork_list(step, instruction)  # JS7: attaches, starts and forks, or fails unstarted
            job = step.workflow.job_of(instruction)
            if job is not None and step.ctx.at_controller:
                return [OrderAttachable(agent_path=job.agent_path)]  # the Agent waits for scheduledFor
            if (job is None and not step.ctx.at_controller) or (job is not None and job.agent_path != step.ctx.here):
                return step.detach()
            if order.scheduled_for is not None and order.scheduled_for > step.ctx.now_ms:
                return []
            if isinstance(instruction, PASSED_WHILE_FRESH):
                return EXECUTORS[type(instruction)](step, instruction)
            if isinstance(instruction, LockInstruction):  # JS7: an impossible demand fails it unstarted
                refused = permanent_refusal(step.state, order.id, instruction)
                if refused is not None:
                    return disrupted(step, refused)
            return [OrderStarted()]
        case Ready():
            executor = EXECUTORS.get(type(instruction))
            if executor is None:
                return [OrderBroken(problem=f"No executor for {type(instruction).__name__}")]
            return executor(step, instruction)
        case Processed():
            return after_processed(step)
        case ProcessingKilled():
            return step.fail()
        case DelayingRetry(until_ms=until):
            return [OrderAwoke()] if until <= step.ctx.now_ms else []
        case Sleeping(until_ms=until):
            return [step.move(pos.next_of(order.position))] if until <= step.ctx.now_ms else []
        case BetweenCycles():
            if not isinstance(instruction, Cycle):
                return [OrderBroken(problem=f"BetweenCycles at {type(instruction).__name__}, not at a Cycle")]
            return between_cycles(step, instruction)
        case ExpectingNotices():
            return expecting_notices(step, instruction)
        case WaitingForLock():
            if not isinstance(instruction, LockInstruction):
                return [OrderBroken(problem=f"WaitingForLock at {type(instruction).__name__}, not at a Lock")]
            return execute_lock(step, instruction)
        case Forked():  # forked on an Agent (Fork.agentPath): the Controller joins
            return join(step) if step.ctx.at_controller else step.detach()
    return []  # Processing, Prompting, Failed, FailedInFork, Broken: waiting for a process or a person


def _mark_events(step: Step) -> list[OrderEvent] | None:
    """Events that carry out a cancel/suspend/resume mark, or None to go on as usual."""
    order = step.order
    mark = order.mark
    state = order.state
    at_controller = step.ctx.at_controller
    killed = isinstance(state, Processed) and isinstance(order.last_outcome, Killed)
    match mark:
        case Cancelling(mode=mode):
            if mode == "FreshOnly" and order.is_started:
                return None
            if isinstance(state, (Processing, Forked)):
                return [] if isinstance(state, Processing) else None
            if killed:
                return [OrderProcessingKilled()]
            if isinstance(state, (Failed, FailedInFork, Broken, Prompting)) and not at_controller:
                return []
            if not at_controller:
                return [OrderDetachable()]
            return [*_leave_blocks(step), OrderCancelled()]
        case Suspending(reset_state=reset_state):
            if killed:
                return [OrderProcessingKilled()]
            if isinstance(state, (Fresh, Ready, ProcessingKilled, Failed)):
                return [OrderSuspended()] if at_controller else [OrderDetachable()]
            resettable = (DelayingRetry, Prompting, Sleeping, BetweenCycles, ExpectingNotices, WaitingForLock)
            if reset_state and isinstance(state, resettable):  # JS7's IsResettable
                return [OrderStateReset(), OrderSuspended()] if at_controller else [OrderDetachable()]
            return None
        case Going(position=position):  # JS7: on the Agent, as soon as the mark arrives
            return go_events(order) if order.is_go_commandable(position) else None
        case Resuming(position=position, as_succeeded=as_succeeded, restart_killed_job=restart):
            if not at_controller:
                return None
            return [OrderResumed(position=position, as_succeeded=as_succeeded, restart_killed_job=restart)]
    return None


def _leave_blocks(step: Step) -> list[OrderEvent]:
    """Before an order is cancelled (JS7's leaveBlocks): out of the lock queue or the notice board it
    waits in, or out of a wait within a block (OrderStateReset), then each ConsumeNotices and Lock block
    it is in ended, innermost first — a consumption as failed (the notices stay), a lock given back."""
    order = step.order
    leaving, _ = step.leave_blocks(0)
    resettable = (DelayingRetry, Prompting, Sleeping, BetweenCycles)
    waits = isinstance(order.state, (WaitingForLock, ExpectingNotices))
    in_block = bool(leaving) or in_lock_block(order.position)  # a parent's lock block too
    reset: list[OrderEvent] = [OrderStateReset()] if waits or (in_block and isinstance(order.state, resettable)) else []
    return [*reset, *leaving]


def follow_up(state: ControllerState, order_ids: Iterable[str], ctx: Context) -> list[KeyedEvent]:
    """Decide and apply, order by order, until every touched order waits; returns the events in order.

    The events are applied to `state` as they are decided (the node's uncommitted state); the caller
    persists them. Parents of touched children and children of forked parents are visited too.
    """
    result: list[KeyedEvent] = []
    initial = list(order_ids)
    parents = [o.parent for o in map(state.orders.get, initial) if o is not None and o.parent is not None]
    pending = deque(dict.fromkeys([*initial, *parents]))  # a child's change may let its parent join
    pending.extend(state.first_waiting_orders())  # a lock given back or a priority changed by the caller
    steps: dict[str, int] = {}
    while pending:
        order_id = pending.popleft()
        events = next_events(state, order_id, ctx)
        if not events:
            continue
        steps[order_id] = steps.get(order_id, 0) + 1
        if steps[order_id] > MAX_STEPS_PER_ORDER:
            events = [OrderBroken(problem=f"More than {MAX_STEPS_PER_ORDER} steps without waiting")]
        order_before: Order | None = state.orders.get(order_id)
        for event in events:
            problem = state.apply_event(order_id, event)
            if isinstance(problem, Problem):
                raise InapplicableEventError(f"{problem} (decided for {order_before})")
            result.append(KeyedEvent(order_id, event))
            if isinstance(event, OrderForked):
                pending.extend(c.order_id for c in event.children)
            elif isinstance(event, OrderOrderAdded):
                pending.append(event.order_id)
            elif isinstance(event, OrderNoticePosted):  # JS7: the expecting orders go on in the same commit
                pending.extend(state.boards.expecting_orders_of(event.notice_id))
        pending.extend(state.first_waiting_orders())  # the order that goes first at a changed lock
        if isinstance(events[-1], OrderBroken) and steps[order_id] > MAX_STEPS_PER_ORDER:
            continue
        pending.append(order_id)
        if order_before is not None and order_before.parent is not None:
            pending.append(order_before.parent)
    return result
