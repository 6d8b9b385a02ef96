"""The names an expression sees for an order: outcomes of earlier steps, arguments, parameter defaults
and finals, and JS7's $js7… built-ins."""

from __future__ import annotations

from dataclasses import dataclass, field

from js7es.domain.expression import Scope, evaluate_text
from js7es.domain.order.context import Context
from js7es.domain.order.order import Order
from js7es.domain.problem import Problem
from js7es.domain.value import Value
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.workflow import Workflow


@dataclass(slots=True)
class OrderScope(Scope):
    order: Order
    workflow: Workflow
    ctx: Context
    job_name: str | None = None
    extra: dict[str, Value] = field(default_factory=dict)  # e.g. a job's default arguments
    _resolving: set[str] = field(default_factory=set)

    def named_value(self, name: str, label: str | None = None, job: str | None = None) -> Value | None:
        if label is not None or job is not None:
            return self._scoped(name, label, job)
        if name in self.extra:
            return self.extra[name]
        for historic in reversed(self.order.historic_outcomes):
            named = historic.outcome.named_values
            if name in named:
                return named[name]
        if name in self.order.arguments:
            return self.order.arguments[name]
        builtin = self._builtin(name)
        if builtin is not None:
            return builtin
        return self._parameter(name)

    def environment(self, name: str) -> str | None:
        return None  # environment variables are read by the Subagent, never while deciding

    def now_ms(self) -> int:
        return self.ctx.now_ms

    def _scoped(self, name: str, label: str | None, job: str | None) -> Value | None:
        for historic in reversed(self.order.historic_outcomes):
            instruction = self.workflow.instruction(historic.position)
            if instruction is None:
                continue
            if label is not None and instruction.label != label:
                continue
            if job is not None and getattr(instruction, "job_name", None) != job:
                continue
            return historic.outcome.named_values.get(name)
        return None

    def _builtin(self, name: str) -> Value | None:
        match name:
            case "js7OrderId":
                return self.order.id
            case "js7WorkflowPath":
                return self.workflow.path
            case "js7WorkflowPosition":
                return f"{self.workflow.id}:{pos.to_string(self.order.position)}"
            case "js7Label":
                instruction = self.workflow.instruction(self.order.position)
                return instruction.label if instruction is not None and instruction.label else ""
            case "js7ControllerId":
                return self.ctx.controller_id
            case "js7EpochMilli":
                return self.ctx.now_ms
            case "js7EpochSecond":
                return self.ctx.now_ms // 1000
            case "js7JobName":
                return self.job_name
            case "js7TryCount":
                return try_count(self.order)
            case "js7MaxTries":
                return None
        return None

    def _parameter(self, name: str) -> Value | None:
        parameter = self.workflow.parameters.get(name)
        if parameter is None or name in self._resolving:
            return None
        text = parameter.final or parameter.default
        if text is None:
            return None
        self._resolving.add(name)
        try:
            value = evaluate_text(text, self)
        finally:
            self._resolving.discard(name)
        return None if isinstance(value, Problem) else value


def try_count(order: Order) -> int:
    """JS7's $js7TryCount: 1 + the retry number of the innermost try block, 0 outside any try."""
    for branch in reversed(order.position[1::2]):
        count = pos.try_count(str(branch))
        if count is not None and str(branch).startswith("try+"):
            return count + 1
    return 0
