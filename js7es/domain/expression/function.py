"""JS7's function literals (ExprFunction): `element => $element`, `(element, index) => {…}`,
`() => 'x'`. The parameters are named values of the body while it is evaluated, over the caller's scope.

    fn = parse_function("(x, i) => \\"$x-$i\\"")   # ExprFunction | Problem
    call(fn, ("a", 1), scope)                      # Value | Problem
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from js7es.domain.expression.ast import Expression
from js7es.domain.expression.evaluator import evaluate
from js7es.domain.expression.scope import Scope
from js7es.domain.problem import Problem, problem
from js7es.domain.value import Value

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_HEAD = re.compile(rf"\s*(?:\(\s*((?:{_NAME}\s*(?:,\s*{_NAME}\s*)*)?)\)|({_NAME}))\s*=>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ExprFunction:
    parameters: tuple[str, ...]
    body: Expression


def parse_function(text: str, *, minimum: int = 0, maximum: int = 2) -> ExprFunction | Problem:
    """A function literal with `minimum`..`maximum` parameters (JS7's ExprFunction.restrict)."""
    from js7es.domain.expression import parse_expression

    head = _HEAD.match(text)
    if head is None:
        return problem(
            "ExpressionSyntax", f"Expected a function like 'x => …' or '(x, i) => …': {text}", expression=text
        )
    names = head.group(2) or head.group(1) or ""
    parameters = tuple(n.strip() for n in names.split(",") if n.strip())
    if not minimum <= len(parameters) <= maximum:
        return problem(
            "InvalidFunctionArguments",
            f"The function must have {minimum} to {maximum} parameters, not {len(parameters)}: {text}",
            expression=text,
        )
    if len(set(parameters)) != len(parameters):
        return problem("InvalidFunctionArguments", f"A parameter is named twice: {text}", expression=text)
    body = parse_expression(text[head.end() :])
    if isinstance(body, Problem):
        return body
    return ExprFunction(parameters=parameters, body=body)


def call(function: ExprFunction, arguments: Sequence[Value], scope: Scope) -> Value | Problem:
    """The body's value with the parameters bound to the first arguments (a function may use fewer
    parameters than it is given, as JS7's ForkList calls childToId with the element and its index)."""
    if len(arguments) < len(function.parameters):
        return problem(
            "InvalidFunctionArguments", f"{len(function.parameters)} arguments expected, got {len(arguments)}"
        )
    return evaluate(function.body, _BoundScope(dict(zip(function.parameters, arguments, strict=False)), scope))


@dataclass(frozen=True, slots=True)
class _BoundScope:
    bound: dict[str, Value]
    outer: Scope

    def named_value(self, name: str, label: str | None = None, job: str | None = None) -> Value | None:
        if label is None and job is None and name in self.bound:
            return self.bound[name]
        return self.outer.named_value(name, label, job)

    def environment(self, name: str) -> str | None:
        return self.outer.environment(name)

    def now_ms(self) -> int:
        return self.outer.now_ms()
