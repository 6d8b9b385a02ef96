"""Fork: child orders `parent|branch` run the branches; the parent joins when all are through.

With `agentPath` the order is attached to that Agent and forked there, so the children start on it
without a round trip through the Controller; the forked parent goes back to the Controller, and the
children come back there at the ends of their branches, where the Controller joins (as JS7 does).
"""

from __future__ import annotations

from collections import Counter

from js7es.domain.expression import evaluate_text
from js7es.domain.expression.function import call, parse_function
from js7es.domain.order.events import (
    ForkedChild,
    OrderAttachable,
    OrderEvent,
    OrderForked,
    OrderJoined,
    OrderOutcomeAdded,
    OrderStarted,
)
from js7es.domain.order.executors.step import Step
from js7es.domain.order.order import child_order_id
from js7es.domain.order.outcome import Disrupted, Failed, Succeeded
from js7es.domain.order.scope import OrderScope
from js7es.domain.order.states import Cancelled, FailedInFork, Forked, Fresh, Ready
from js7es.domain.problem import Problem, problem
from js7es.domain.value import NamedValues, Value
from js7es.domain.workflow.instructions import Fork, ForkList, ImplicitEnd


def execute_fork(step: Step, instruction: Fork) -> list[OrderEvent]:
    """The fork happens on Fork.agentPath when given (the children start there, JS7), else on the
    Controller. The join is always the Controller's."""
    agent_path = instruction.agent_path
    if step.ctx.at_controller and agent_path is not None:
        return [OrderAttachable(agent_path=agent_path)]
    if not step.ctx.at_controller and step.ctx.here != agent_path:
        return step.detach()
    return [
        OrderForked(
            children=tuple(
                ForkedChild(order_id=child_order_id(step.order.id, b.id), branch_id=b.id) for b in instruction.branches
            )
        )
    ]


def execute_fork_list(step: Step, instruction: ForkList) -> list[OrderEvent]:
    """One child per element of the list (JS7's ForkListExecutor), forked where a Fork would be. A bad
    list, id or arguments fail the order with the outcome Disrupted, before it starts when it is Fresh
    (JS7's "ForkList with duplicates"); an empty list forks no child and joins at once."""
    agent_path = instruction.agent_path
    if not step.ctx.at_controller and step.ctx.here != agent_path:
        return step.detach()
    children = fork_list_children(step, instruction)  # on the Controller too: a failure stays there
    if step.ctx.at_controller and agent_path is not None and not isinstance(children, Problem):
        return [OrderAttachable(agent_path=agent_path)]
    if isinstance(children, Problem):
        handling = step.fail()
        if handling == step.detach():
            return handling
        return [OrderOutcomeAdded(outcome=Disrupted(reason="Other", message=children.message)), *handling]
    start: list[OrderEvent] = [OrderStarted()] if isinstance(step.order.state, Fresh) else []
    return [*start, OrderForked(children=children)]


def fork_list_children(step: Step, instruction: ForkList) -> tuple[ForkedChild, ...] | Problem:
    scope = OrderScope(step.order, step.workflow, step.ctx)
    elements = step.evaluate(instruction.children)
    if isinstance(elements, Problem):
        return elements
    if not isinstance(elements, tuple):
        return problem("ExpressionType", f"ForkList's children must be a list, not {elements!r}")
    to_id = parse_function(instruction.child_to_id, minimum=1)
    to_arguments = parse_function(instruction.child_to_arguments)
    if isinstance(to_id, Problem):
        return to_id
    if isinstance(to_arguments, Problem):
        return to_arguments
    ids: list[str] = []
    arguments: list[NamedValues] = []
    for index, element in enumerate(elements):
        child_id = call(to_id, (element, index), scope)
        if isinstance(child_id, Problem):
            return child_id
        if not isinstance(child_id, str):
            return problem("ExpressionType", f"childToId must give a string, not {child_id!r}")
        if not child_id:
            return problem("EmptyString", "OrderId.withChild must not be empty")
        if "|" in child_id:
            return problem("InvalidOrderId", "OrderId must not contain reserved characters: |")
        args = call(to_arguments, (element, index), scope)
        if isinstance(args, Problem):
            return args
        if not isinstance(args, dict):
            return problem("ExpressionType", f"childToArguments must give an object, not {args!r}")
        ids.append(child_id)
        arguments.append(args)
    duplicates = [f"{n}\u00d7{i}" for i, n in Counter(ids).items() if n > 1]
    if duplicates:
        return problem(
            "DuplicateChildIds",
            f"Duplicate child IDs in {instruction.children}: Unexpected duplicates: {', '.join(duplicates)}",
        )
    return tuple(
        ForkedChild(order_id=child_order_id(step.order.id, i), arguments=a or None)
        for i, a in zip(ids, arguments, strict=True)
    )


def join(step: Step) -> list[OrderEvent]:
    """OrderJoined when every child is detached and at its branch end, failed in fork, or cancelled."""
    state = step.order.state
    assert isinstance(state, Forked)
    failed = []
    for child_id in state.children:
        child = step.state.orders.get(child_id)
        if child is None or child.attached is not None:
            return []
        if isinstance(child.state, (FailedInFork, Cancelled)):
            failed.append(child_id)
            continue
        at_end = (
            isinstance(child.state, Ready)
            and len(child.position) == len(step.order.position) + 2
            and isinstance(step.workflow.instruction(child.position), ImplicitEnd)
        )
        if not at_end or child.is_suspended:
            return []
    if failed:
        return [OrderJoined(outcome=Failed(error_message=f"Order:{failed[0]} failed"))]
    results = fork_result(step, state.children)
    if isinstance(results, Problem):  # JS7: OrderJoined(Failed(problem)), then the parent fails
        return [OrderJoined(outcome=Failed(error_message=results.message))]
    return [OrderJoined(outcome=Succeeded(named_values=results))]


def fork_result(step: Step, children: tuple[str, ...]) -> dict[str, Value] | Problem:
    """The join outcome's named values (JS7's forkResult): each Fork branch's `result` expressions,
    evaluated for its child order; for a ForkList, each name's values of all children as a list, in the
    children's order."""
    fork = step.workflow.instruction(step.order.position)
    results: dict[str, Value] = {}
    lists: dict[str, list[Value]] = {}
    for child_id in children:
        child = step.state.orders[child_id]
        block = step.workflow.block(child.position[:-1])
        for name, expression in ((block.result if block is not None else None) or {}).items():
            value = evaluate_text(expression, OrderScope(child, step.workflow, step.ctx))
            if isinstance(value, Problem):
                return value
            if isinstance(fork, ForkList):
                lists.setdefault(name, []).append(value)
            else:
                results[name] = value
    return {**results, **{name: tuple(values) for name, values in lists.items()}}
