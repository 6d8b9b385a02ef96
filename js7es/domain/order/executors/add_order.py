"""AddOrder (JS7's AddOrderExecutor): on the Controller, the order adds an order to the current version
of a workflow (OrderOrderAdded, keyed by the adding order) and moves on. An order id that exists
already, a bad id, arguments the workflow refuses or a bad start or stop position (an unknown label:
UnknownKey) fail the adding order (JS7: the outcome names the problem, e.g. DuplicateKey), as the
AddOrders command would refuse them. The added order keeps its stop positions as given (labels too).
JS7 2.8's planId is taken where it names the plan js7es derives from the added order's id (no plan
items in js7es); another plan fails the adding order (UnsupportedPlanId).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from js7es.domain.order.events import OrderEvent, OrderOrderAdded
from js7es.domain.problem import Problem, problem
from js7es.domain.value import Value
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import AddOrder

if TYPE_CHECKING:
    from js7es.domain.order.executors.step import Step


def execute_add_order(step: Step, instruction: AddOrder) -> list[OrderEvent]:
    if not step.ctx.at_controller:
        return step.detach()
    added = order_order_added(step, instruction)
    if isinstance(added, Problem):
        return step.fail_with(added.message)
    return [added, step.move(pos.next_of(step.order.position))]


def order_order_added(step: Step, instruction: AddOrder) -> OrderOrderAdded | Problem:
    from js7es.domain.commands.orders import FreshOrder, check_fresh_order

    order_id = step.evaluate(instruction.order_id)
    if isinstance(order_id, Problem):
        return order_id
    if not isinstance(order_id, str):
        return problem("InvalidOrderId", f"AddOrder's orderId must be a string, not {order_id!r}")
    if order_id in step.state.orders:  # JS7's DuplicateKey("OrderId", orderId)
        return problem("DuplicateKey", f"Duplicate OrderId: Order:{order_id}", type="OrderId", key=order_id)
    arguments: dict[str, Value] = {}
    for name, expression in instruction.arguments.items():
        value = step.evaluate(expression)
        if isinstance(value, Problem):
            return value
        arguments[name] = value
    plan_id = None if instruction.plan_id is None else step.evaluate(instruction.plan_id)
    if isinstance(plan_id, Problem):
        return plan_id
    plan = (
        None
        if plan_id is None
        else tuple(p for p in plan_id if isinstance(p, str))
        if isinstance(plan_id, tuple)
        else ()
    )
    if plan_id is not None and (not isinstance(plan_id, tuple) or plan != plan_id):
        return problem("InvalidPlanId", f"AddOrder's planId must be a list of strings, not {plan_id!r}")
    workflow = step.state.current_workflow(instruction.workflow_path)
    if workflow is None:
        return problem("UnknownItem", f"No such workflow: {instruction.workflow_path}")
    fresh = FreshOrder(
        id=order_id,
        workflow_path=instruction.workflow_path,
        arguments=arguments,
        start_position=instruction.start_position,  # a label is resolved as for the AddOrders command
        delete_when_terminated=instruction.delete_when_terminated,
        force_admission=instruction.force_admission,
        stop_positions=instruction.stop_positions or None,
        plan_id=plan,
    )
    checked = check_fresh_order(step.state, fresh)
    if isinstance(checked, Problem):
        return checked
    return OrderOrderAdded(
        order_id=order_id,
        workflow_id=checked.workflow_id,
        arguments=checked.arguments,
        delete_when_terminated=checked.delete_when_terminated,
        force_admission=checked.force_admission,
        start_position=checked.start_position,
        stop_positions=checked.stop_positions,
    )
