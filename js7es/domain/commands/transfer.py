"""TransferOrders (JS7's transferOrdersExecutor and Order.transfer): the orders of an older workflow
version continue in the current one, all or none. An order is transferred where it stands (its position
must exist in the new version), only while it is at the Controller, and only when the instructions
around it are the same apart from their blocks (JS7's isSameCore). An
order waiting at a changed instruction (a prompt, a lock, notices, a cycle) is reset first
(OrderStateReset); one forked at a changed instruction cannot be transferred."""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from typing import TYPE_CHECKING

from js7es.domain import codec
from js7es.domain.commands.base import Command, Decided, handles
from js7es.domain.event import KeyedEvent
from js7es.domain.order.context import Context
from js7es.domain.order.events import OrderEvent, OrderStateReset, OrderTransferred, WorkflowPosition
from js7es.domain.order.order import Order
from js7es.domain.order.states import BetweenCycles, ExpectingNotices, Forked, Processing, Prompting, WaitingForLock
from js7es.domain.problem import Problem, problem
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import Block, Instruction
from js7es.domain.workflow.workflow import Workflow, WorkflowId

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState

_RESET_IF_CHANGED = (WaitingForLock, ExpectingNotices, Prompting, BetweenCycles)
_ONLY_IF_UNCHANGED = (Processing, Forked)


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class TransferOrders(Command):
    workflow_id: WorkflowId


@handles(TransferOrders)
def transfer_orders(state: ControllerState, command: TransferOrders, ctx: Context) -> Decided | Problem:
    wid = command.workflow_id
    if wid not in state.workflows:
        return problem("UnknownItem", f"Unknown Workflow:{wid}", key=f"Workflow:{wid}")
    to = state.current_workflow(wid.path)
    if to is None:
        return problem("UnknownItem", f"Workflow:{wid.path} has no current version", key=f"Workflow:{wid.path}")
    if to.id == wid:
        return problem("WorkflowIsCurrentVersion", f"{wid} is already the current version", workflow=str(wid))
    from_ = state.workflows[wid]
    events: list[KeyedEvent] = []
    for order in sorted((o for o in state.orders.values() if o.workflow_id == wid), key=lambda o: o.id):
        transferred = _transfer(order, from_, to)
        if isinstance(transferred, Problem):
            return transferred
        events.extend(KeyedEvent(order.id, e) for e in transferred)
    return Decided(events=tuple(events), touched_orders=tuple(dict.fromkeys(k.key for k in events)))


def _transfer(order: Order, from_: Workflow, to: Workflow) -> list[OrderEvent] | Problem:
    position = order.position
    if not to.is_valid_position(position):
        return _not_transferable(order, f"its position {pos.to_string(position)} is not in {to.id}")
    if order.attached is not None:
        return _not_transferable(order, f"it is at Agent {order.attached.agent_path}")
    parent = pos.parent(position)
    while parent is not None:
        if not _same_core(from_.instruction(parent), to.instruction(parent)):
            return _not_transferable(order, f"the surrounding instruction at {pos.to_string(parent)} has changed")
        parent = pos.parent(parent)
    changed = from_.instruction(position) != to.instruction(position)
    prepare: list[OrderEvent] = []
    if changed and isinstance(order.state, _ONLY_IF_UNCHANGED):
        return _not_transferable(order, f"it is {type(order.state).__name__} and its instruction has changed")
    if changed and isinstance(order.state, _RESET_IF_CHANGED):
        prepare.append(OrderStateReset())
    return [*prepare, OrderTransferred(workflow_position=WorkflowPosition(workflow_id=to.id, position=position))]


def _same_core(a: Instruction | None, b: Instruction | None) -> bool:
    """JS7's isSameCore: the same instruction apart from its blocks (and its label)."""
    if a is None or b is None or type(a) is not type(b):
        return False
    return _core(a) == _core(b)


def _core(value: object) -> object:
    """The value with its blocks left out (and labels, which do not change what an order does here)."""
    if isinstance(value, Block):
        return None
    if is_dataclass(value) and not isinstance(value, type):
        return tuple((f.name, _core(getattr(value, f.name))) for f in fields(value) if f.name not in ("label", "raw"))
    if isinstance(value, tuple):
        return tuple(_core(v) for v in value)
    return value


def _not_transferable(order: Order, why: str) -> Problem:
    return problem("OrderNotTransferable", f"Order {order.id!r} cannot be transferred: {why}", orderId=order.id)
