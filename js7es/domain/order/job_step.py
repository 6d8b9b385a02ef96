"""What a job step gets: its arguments and environment, evaluated purely from the order and the items."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from js7es.domain.expression import evaluate_text
from js7es.domain.order.context import Context
from js7es.domain.order.order import Order
from js7es.domain.order.scope import OrderScope
from js7es.domain.problem import Problem, problem
from js7es.domain.value import Value, dumps
from js7es.domain.workflow.instructions import ExecuteAnonymous, ExecuteNamed
from js7es.domain.workflow.job import WorkflowJob
from js7es.domain.workflow.workflow import Workflow

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState

ARGUMENT_ENV_PREFIX = "JS7_ARG_"


@dataclass(frozen=True, slots=True, kw_only=True)
class JobStep:
    job: WorkflowJob
    job_name: str | None
    job_key: str  # identifies the job for its process limit: workflow path + job name or position
    arguments: Mapping[str, Value]
    env: Mapping[str, str]


def env_string(value: Value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return dumps(value)


def job_step(state: ControllerState, order: Order, workflow: Workflow, ctx: Context) -> JobStep | Problem:
    """The job at the order's position with its arguments (parameter defaults, order arguments, the
    job's and the instruction's default arguments) and its environment: the executable's `env`, the job
    resources' `env`, and every argument as JS7_ARG_<name>."""
    instruction = workflow.instruction(order.position)
    if not isinstance(instruction, (ExecuteNamed, ExecuteAnonymous)):
        return problem("NotAnExecute", f"Order {order.id!r} is not at an Execute instruction")
    job = workflow.job_of(instruction)
    if job is None:
        return problem("UnknownJob", f"Unknown job at {order.position}")
    job_name = instruction.job_name if isinstance(instruction, ExecuteNamed) else None
    scope = OrderScope(order, workflow, ctx, job_name=job_name)
    arguments: dict[str, Value] = {}
    for name in workflow.parameters:
        value = scope.named_value(name)
        if value is not None:
            arguments[name] = value
    arguments.update(order.arguments)
    for defaults in (job.default_arguments, instruction.default_arguments):
        for name, expr in defaults.items():
            if name in order.arguments:
                continue  # default arguments apply only where the order has no such argument
            default = evaluate_text(expr, scope)
            if isinstance(default, Problem):
                return problem(default.code, f"Argument {name!r}: {default.message}")
            arguments[name] = default
            scope.extra[name] = default
    env: dict[str, str] = {}
    for name, value in arguments.items():
        if name.isidentifier():
            env[ARGUMENT_ENV_PREFIX + name] = env_string(value)
    for resource_path in (*workflow.job_resource_paths, *job.job_resource_paths):
        resource = state.job_resources.get(resource_path)
        if resource is None:
            return problem("UnknownItem", f"Unknown JobResource:{resource_path}")
        for name, expr in resource.env.items():
            resource_value = evaluate_text(expr, scope)
            if isinstance(resource_value, Problem):
                return problem(resource_value.code, f"JobResource:{resource_path} env {name}: {resource_value.message}")
            if resource_value is not None:
                env[name] = env_string(resource_value)
    for name, expr in job.executable.env.items():
        env_value = evaluate_text(expr, scope)
        if isinstance(env_value, Problem):
            return problem(env_value.code, f"env {name}: {env_value.message}")
        if env_value is not None:
            env[name] = env_string(env_value)
    return JobStep(
        job=job, job_name=job_name, job_key=job_key(workflow, order.position, instruction), arguments=arguments, env=env
    )


def job_key(workflow: Workflow, position: tuple[int | str, ...], instruction: ExecuteNamed | ExecuteAnonymous) -> str:
    """What a job's process limit counts: the named job of a workflow version, or an anonymous job's position."""
    if isinstance(instruction, ExecuteNamed):
        return f"{workflow.id}:{instruction.job_name}"
    return f"{workflow.id}:{list(position)}"
