"""Order commands: AddOrders, CancelOrders, SuspendOrders, ResumeOrder(s), AnswerOrderPrompt,
DeleteOrdersWhenTerminated. Each checks every order first: all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from js7es.domain import codec
from js7es.domain.board.notice import check_plan_id
from js7es.domain.commands.base import Command, Decided, handles
from js7es.domain.event import KeyedEvent
from js7es.domain.order import stop_positions
from js7es.domain.order.apply import apply_order
from js7es.domain.order.context import Context
from js7es.domain.order.events import (
    OrderAdded,
    OrderCancellationMarked,
    OrderDeletionMarked,
    OrderEvent,
    OrderMoved,
    OrderPromptAnswered,
    OrderResumed,
    OrderResumptionMarked,
    OrderSuspensionMarked,
)
from js7es.domain.order.executors.notices import announced_notices
from js7es.domain.order.executors.step import enclosing_fork, move_target
from js7es.domain.order.order import CancellationMode, Order, Suspending, is_valid_order_id
from js7es.domain.order.outcome import Killed
from js7es.domain.order.states import Failed, Forked, ProcessingKilled, Prompting, Stopped, StoppedWhileFresh
from js7es.domain.problem import Problem, problem
from js7es.domain.value import NamedValues, Value, type_name
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import CONSUME_NOTICES_BRANCH
from js7es.domain.workflow.position import Position, PositionOrLabel
from js7es.domain.workflow.workflow import Workflow

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class FreshOrder:
    id: str
    workflow_path: str
    arguments: NamedValues = field(default_factory=dict)
    scheduled_for: int | None = None
    delete_when_terminated: bool = False
    start_position: PositionOrLabel | None = None  # a position or a label (resolved in OrderAdded)
    force_admission: bool = False
    priority: int | Decimal | None = None  # JS7 2.7's BigDecimal: higher goes first at a lock or a job
    stop_positions: tuple[PositionOrLabel, ...] | None = None  # JS7: the order finishes at any of them
    plan_id: tuple[str, ...] | None = None  # JS7 2.8's planId: taken when it is the plan of the order's id


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AddOrders(Command):
    orders: tuple[FreshOrder, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrders(Command):
    order_ids: tuple[str, ...]
    mode: CancellationMode = "FreshOrStarted"
    kill: bool = False
    kill_immediately: bool = False  # JS7's kill.immediately: SIGKILL, without SIGTERM first


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SuspendOrders(Command):
    order_ids: tuple[str, ...]
    kill: bool = False
    kill_immediately: bool = False
    reset_state: bool = False  # JS7's resetState: reset an order waiting for a retry, an answer or a sleep


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ResumeOrders(Command):
    """`restart_killed_job`: JS7's restartKilledJob; None (not given) restarts a killed job when it is
    restartable, as JS7 does."""

    order_ids: tuple[str, ...]
    position: Position | None = None
    as_succeeded: bool = False
    restart_killed_job: bool | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerOrderPrompt(Command):
    order_id: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteOrdersWhenTerminated(Command):
    order_ids: tuple[str, ...]


def check_arguments(workflow: Workflow, arguments: NamedValues) -> Problem | None:
    """Order arguments against the workflow's parameters: declared, required, not final, right type."""
    for name, value in arguments.items():
        parameter = workflow.parameters.get(name)
        if parameter is None:
            if workflow.parameters and not workflow.allow_undeclared:
                return problem("UndeclaredOrderArgument", f"Undeclared argument {name!r}", argument=name)
            continue
        if parameter.final is not None:
            return problem("FixedOrderArgument", f"Argument {name!r} is fixed by the workflow", argument=name)
        if not _has_type(value, parameter.type):
            return problem(
                "WrongOrderArgumentType",
                f"Argument {name!r} must be a {parameter.type}, not a {type_name(value)}",
                argument=name,
            )
    for name, parameter in workflow.parameters.items():
        if parameter.is_required and name not in arguments:
            return problem("MissingOrderArgument", f"Missing argument {name!r}", argument=name)
    return None


def _has_type(value: Value, type_: str) -> bool:
    match type_:
        case "String":
            return isinstance(value, str)
        case "Number":
            return isinstance(value, (int, Decimal)) and not isinstance(value, bool)
        case "Boolean":
            return isinstance(value, bool)
        case "List":
            return isinstance(value, tuple)
        case "Object":
            return isinstance(value, dict)
    return True


def check_fresh_order(state: ControllerState, fresh: FreshOrder) -> OrderAdded | Problem:
    if not is_valid_order_id(fresh.id):
        return problem("InvalidOrderId", f"Invalid order id {fresh.id!r}: non-empty, printable, no '|'")
    workflow = state.current_workflow(fresh.workflow_path)
    if workflow is None:
        return problem("UnknownItem", f"No such workflow: {fresh.workflow_path}", path=fresh.workflow_path)
    checked = check_arguments(workflow, fresh.arguments)
    if checked is not None:
        return checked
    planned = None if fresh.plan_id is None else check_plan_id(fresh.id, fresh.plan_id)
    if planned is not None:
        return planned
    start = None if fresh.start_position is None else stop_positions.resolved(workflow, fresh.start_position)
    if isinstance(start, Problem):
        return start
    if start is not None and not workflow.is_valid_position(start):
        return problem("InvalidPosition", f"Invalid start position {list(start)}")
    if start is not None and any(str(b).startswith("fork") for b in start[1::2]):
        return problem("InvalidPosition", "An order cannot start inside a fork branch")
    if start is not None and CONSUME_NOTICES_BRANCH in start[1::2]:
        return problem("InvalidPosition", "An order cannot start inside a ConsumeNotices block")
    if start is not None and "lock" in start[1::2]:
        return problem("InvalidPosition", "An order cannot start inside a Lock's block: it would not hold the lock")
    if start is not None:
        start = stop_positions.checked(workflow, start)  # JS7: reachable from the workflow's start
        if isinstance(start, Problem):
            return start
    stops = stop_positions.checked_stop_positions(workflow, fresh.stop_positions)
    if isinstance(stops, Problem):
        return stops
    return OrderAdded(
        workflow_id=workflow.id,
        arguments=fresh.arguments,
        scheduled_for=fresh.scheduled_for,
        delete_when_terminated=fresh.delete_when_terminated,
        start_position=start,
        force_admission=fresh.force_admission,
        priority=fresh.priority or None,
        stop_positions=stops,
    )


@handles(AddOrders)
def add_orders(state: ControllerState, command: AddOrders, ctx: Context) -> Decided | Problem:
    events = []
    duplicates = []
    seen: set[str] = set()
    for fresh in command.orders:
        if fresh.id in state.orders or fresh.id in seen:
            duplicates.append(fresh.id)  # never run twice: a duplicate is reported, not added
            continue
        added = check_fresh_order(state, fresh)
        if isinstance(added, Problem):
            return problem(added.code, f"Order {fresh.id!r}: {added.message}", **added.arguments)
        seen.add(fresh.id)
        events.append(KeyedEvent(fresh.id, added))
        events.extend(KeyedEvent(fresh.id, e) for e in announced_notices(state, fresh.id, added, ctx))
    return Decided(
        events=tuple(events),
        reply={"ignoredBecauseDuplicate": duplicates},
        touched_orders=tuple(k.key for k in events),  # in the order given: FIFO where they queue
    )


def _orders(state: ControllerState, order_ids: tuple[str, ...]) -> list[Order] | Problem:
    result = []
    for order_id in order_ids:
        order = state.orders.get(order_id)
        if order is None:
            return problem("UnknownOrder", f"Unknown order {order_id!r}", orderId=order_id)
        result.append(order)
    return result


def _decided(events: list[KeyedEvent]) -> Decided:
    return Decided(events=tuple(events), touched_orders=tuple(dict.fromkeys(e.key for e in events)))


def _with_children(state: ControllerState, order: Order, event: OrderEvent) -> list[KeyedEvent]:
    """The event for the order and, when it is forked, for its children (recursively) — for a child only
    where it applies: a child already suspended (or marked) is left as it is, its own children not."""
    result = [KeyedEvent(order.id, event)]
    if isinstance(order.state, Forked):
        for child_id in order.state.children:
            child = state.orders.get(child_id)
            if child is not None and not child.is_terminal:
                descendants = _with_children(state, child, event)
                if isinstance(apply_order(child, event), Problem):
                    descendants = descendants[1:]
                result.extend(descendants)
    return result


@handles(CancelOrders)
def cancel_orders(state: ControllerState, command: CancelOrders, ctx: Context) -> Decided | Problem:
    orders = _orders(state, command.order_ids)
    if isinstance(orders, Problem):
        return orders
    events: list[KeyedEvent] = []
    for order in orders:
        if order.is_terminal:
            continue  # already ended: nothing to cancel (JS7 ignores it too)
        if command.mode == "FreshOnly" and order.is_started:
            return problem("CancelStartedOrder", f"Order {order.id!r} has started; it is not Fresh")
        marked = OrderCancellationMarked(
            mode=command.mode, kill=command.kill, kill_immediately=command.kill_immediately
        )
        events.extend(_with_children(state, order, marked))
    return _decided(events)


@handles(SuspendOrders)
def suspend_orders(state: ControllerState, command: SuspendOrders, ctx: Context) -> Decided | Problem:
    orders = _orders(state, command.order_ids)
    if isinstance(orders, Problem):
        return orders
    events: list[KeyedEvent] = []
    for order in orders:
        if order.is_terminal:
            return problem("CannotSuspendOrder", f"Order {order.id!r} has ended")
        if order.is_suspended:
            continue
        marked = OrderSuspensionMarked(
            kill=command.kill, kill_immediately=command.kill_immediately, reset_state=command.reset_state
        )
        events.extend(_with_children(state, order, marked))
    return _decided(events)


@handles(ResumeOrders)
def resume_orders(state: ControllerState, command: ResumeOrders, ctx: Context) -> Decided | Problem:
    orders = _orders(state, command.order_ids)
    if isinstance(orders, Problem):
        return orders
    events: list[KeyedEvent] = []
    for order in orders:
        if command.position is not None:
            checked = _check_resume_position(state, order, command.position)
            if checked is not None:
                return checked
        restart = _restart_killed_job(state, order, command.restart_killed_job)
        resumable = order.is_suspended or isinstance(
            order.state, (Failed, ProcessingKilled, Stopped, StoppedWhileFresh)
        )
        if resumable and order.attached is None and not order.is_terminal:
            resumed = OrderResumed(
                position=command.position, as_succeeded=command.as_succeeded, restart_killed_job=restart
            )
            events.append(KeyedEvent(order.id, resumed))
        elif isinstance(order.mark, Suspending):
            marked = OrderResumptionMarked(
                position=command.position, as_succeeded=command.as_succeeded, restart_killed_job=restart
            )
            events.append(KeyedEvent(order.id, marked))
        else:
            return problem("CannotResumeOrder", f"Order {order.id!r} is neither suspended, stopped nor failed")
    return _decided(events)


def _restart_killed_job(state: ControllerState, order: Order, requested: bool | None) -> bool:
    """JS7: as requested, else restart when the last step was killed and its job is restartable."""
    if requested is not None:
        return requested
    if not isinstance(order.last_outcome, Killed):
        return False
    workflow = state.workflow_of(order)
    instruction = workflow.instruction(order.position) if workflow is not None else None
    job = workflow.job_of(instruction) if workflow is not None and instruction is not None else None
    return job is not None and not job.is_not_restartable


def _check_resume_position(state: ControllerState, order: Order, position: Position) -> Problem | None:
    workflow = state.workflow_of(order)
    if workflow is None or not workflow.is_valid_position(position):
        return problem("InvalidPosition", f"Invalid position {list(position)} for order {order.id!r}")
    # The order may move only within the fork branch it is in (or the top level when it has no parent).
    fork = enclosing_fork(order.position)
    prefix = () if fork is None else order.position[: len(fork) + 1]
    inside = position[: len(prefix)] == prefix and len(position) > len(prefix)
    if not inside or any(str(b).startswith("fork") for b in position[len(prefix) + 1 :: 2]):
        return problem(
            "InvalidPosition",
            f"Order {order.id!r} cannot be moved to {pos.to_string(position)}: outside its block",
        )
    for i in range(1, len(position), 2):  # into a ConsumeNotices block only from within it
        if position[i] == CONSUME_NOTICES_BRANCH and order.position[: i + 1] != position[: i + 1]:
            return problem(
                "InvalidPosition",
                f"Order {order.id!r} cannot be moved into the ConsumeNotices block at {pos.to_string(position)}",
            )
    if _lock_blocks(position) != _lock_blocks(order.position):  # it would hold a lock it has not taken
        return problem(
            "InvalidPosition",
            f"Order {order.id!r} cannot be moved to {pos.to_string(position)}: into or out of a Lock's block",
        )
    return None


def _lock_blocks(position: Position) -> list[Position]:
    return [position[:i] for i in range(1, len(position), 2) if position[i] == "lock"]


@handles(AnswerOrderPrompt)
def answer_prompt(state: ControllerState, command: AnswerOrderPrompt, ctx: Context) -> Decided | Problem:
    orders = _orders(state, (command.order_id,))
    if isinstance(orders, Problem):
        return orders
    if not isinstance(orders[0].state, Prompting):
        return problem("OrderNotPrompting", f"Order {command.order_id!r} is not waiting for an answer")
    order = orders[0]
    workflow = state.workflow_of(order)
    if workflow is None:
        return problem("UnknownItem", f"Unknown workflow {order.workflow_id}")
    moved = OrderMoved(to=move_target(workflow, pos.next_of(order.position)))
    return _decided([KeyedEvent(order.id, OrderPromptAnswered()), KeyedEvent(order.id, moved)])


@handles(DeleteOrdersWhenTerminated)
def delete_when_terminated(
    state: ControllerState, command: DeleteOrdersWhenTerminated, ctx: Context
) -> Decided | Problem:
    orders = _orders(state, command.order_ids)
    if isinstance(orders, Problem):
        return orders
    for order in orders:
        if order.parent is not None:
            return problem("CannotDeleteChildOrder", f"Order {order.id!r} is a child order of a fork")
    return _decided([KeyedEvent(o.id, OrderDeletionMarked()) for o in orders if not o.delete_when_terminated])
