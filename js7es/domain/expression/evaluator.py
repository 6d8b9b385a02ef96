"""Evaluation of a parsed expression against a Scope.

One handler per node class, found by a dict lookup on the class: no re-parsing and no generic
visitor machinery on the hot path. Problems travel as an internal exception and come out of
`evaluate` as a returned Problem.

Semantics follow JS7's `Expression.scala`:
* missing (None) propagates through operators and functions that expect a type (`missing + 1` is
  missing); `==`/`!=` compare any values and never across types (`1 == "1"` is false);
  `< <= > >=` compare numbers with numbers and strings with strings, anything else is a problem.
* `&&`, `||` and `if` evaluate lazily; arithmetic evaluates both sides first.
* `a ? b` yields b when a fails *or* is missing; `a?` yields missing when a fails.
* `++` concatenates lists, otherwise strings (numbers and booleans are converted).

Decision: `variable(x, default=d)` yields d with its own type (JS7 converts it to a string, which
surprises: `variable("n", default=0) + 1` would fail).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from js7es.domain.expression import ast
from js7es.domain.expression.ast import BinaryOperator, Expression
from js7es.domain.expression.functions import BUILTINS, NOT_SUPPORTED, compile_pattern
from js7es.domain.expression.scope import Scope
from js7es.domain.expression.signatures import SIGNATURES, SYMBOLS
from js7es.domain.expression.values import (
    EvaluationFailure,
    arithmetic,
    convert_to_string,
    fail,
    fail_type,
    is_number,
    to_string,
    values_equal,
)
from js7es.domain.problem import Problem, problem
from js7es.domain.value import Value, type_name


def evaluate(expr: Expression, scope: Scope) -> Value | Problem:
    try:
        return _eval(expr, scope)
    except EvaluationFailure as failure:
        return failure.problem
    except RecursionError:
        return problem("ExpressionTooDeep", "Expression is nested too deeply to be evaluated")


def _eval(expr: Expression, scope: Scope) -> Value:
    return _HANDLERS[type(expr)](expr, scope)


def _variable(expr: ast.Variable, scope: Scope) -> Value:
    value = scope.named_value(expr.name)
    if value is None:
        if expr.name == "js7EpochMilli":
            return scope.now_ms()
        if expr.name == "js7EpochSecond":
            return scope.now_ms() // 1000
        fail("UnknownVariable", f"No such named value: {expr.name}", name=expr.name)
    return value


def _named_value(expr: ast.NamedValue, scope: Scope) -> Value:
    name = _eval(expr.key, scope)
    if name is None:
        return None
    if not isinstance(name, str):
        fail_type("String", name)
    value = scope.named_value(name, expr.label, expr.job)
    if value is not None:
        return value
    if expr.default is not None:
        return _eval(expr.default, scope)
    if expr.is_argument:
        message = f"No such order argument: {name}"
    elif expr.label is not None:
        message = f"Workflow instruction at label {expr.label} did not return a named value '{name}'"
    elif expr.job is not None:
        message = f"Last execution of job '{expr.job}' did not return a named value '{name}'"
    else:
        message = f"No such named value: {name}"
    fail("UnknownVariable", message, name=name)


def _symbol(expr: ast.Symbol, scope: Scope) -> Value:
    value = scope.named_value(SYMBOLS[expr.name])
    if value is None:
        fail("UnknownSymbol", f"{expr.name} is not available here", name=expr.name)
    return value


def _job_resource_variable(expr: ast.JobResourceVariable, scope: Scope) -> Value:
    fail("NotSupported", f"JobResources are not accessible here: JobResource:{expr.path}")


def _function_call(expr: ast.FunctionCall, scope: Scope) -> Value:
    builtin = BUILTINS.get(expr.name)
    if builtin is None:
        if expr.name in NOT_SUPPORTED:
            fail("NotSupported", f"Function {expr.name} is not supported here", name=expr.name)
        fail("UnknownFunction", f"Unknown function: {expr.name}", name=expr.name)
    if all(a.name is None for a in expr.arguments):
        arguments = tuple(a.expression for a in expr.arguments)
    else:
        bound = SIGNATURES[expr.name].bind(expr.name, expr.arguments)
        if isinstance(bound, str):  # the parser has checked this already
            fail("InvalidFunctionArguments", bound)
        arguments = bound
    return builtin(arguments, scope, _eval)


def _not(expr: ast.Not, scope: Scope) -> Value:
    value = _boolean(_eval(expr.operand, scope))
    return None if value is None else not value


def _negate(expr: ast.Negate, scope: Scope) -> Value:
    value = _eval(expr.operand, scope)
    if value is None:
        return None
    if not is_number(value):
        fail_type("Number", value)
    return -value  # type: ignore[operator]


def _boolean(value: Value) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    fail_type("Boolean", value)


def _binary(expr: ast.BinaryOp, scope: Scope) -> Value:
    operator = expr.operator
    if operator is BinaryOperator.AND or operator is BinaryOperator.OR:
        first = _boolean(_eval(expr.left, scope))
        if first is None:
            return None
        if first is (operator is BinaryOperator.OR):
            return first
        return _boolean(_eval(expr.right, scope))
    return _BINARY[operator](_eval(expr.left, scope), _eval(expr.right, scope))


def _arithmetic(symbol: str) -> Callable[[Value, Value], Value]:
    def apply(a: Value, b: Value) -> Value:
        if is_number(a):
            if is_number(b):
                return arithmetic(symbol, a, b)  # type: ignore[arg-type]
            return None if b is None else fail_type("Number", b)
        return None if a is None else fail_type("Number", a)

    return apply


def _comparison(compare: Callable[[Any, Any], bool]) -> Callable[[Value, Value], Value]:
    def apply(a: Value, b: Value) -> Value:
        if (is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
            return compare(a, b)
        if a is None or b is None:
            return None
        fail(
            "ExpressionType",
            f"{type_name(a)} and {type_name(b)} are not comparable",
            left=type_name(a),
            right=type_name(b),
        )

    return apply


def _concat(a: Value, b: Value) -> Value:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return a + b
    left = to_string(a)
    if left is None:
        return None
    right = to_string(b)
    return None if right is None else left + right


_BINARY: dict[BinaryOperator, Callable[[Value, Value], Value]] = {
    BinaryOperator.EQUAL: values_equal,
    BinaryOperator.NOT_EQUAL: lambda a, b: not values_equal(a, b),
    BinaryOperator.LESS_THAN: _comparison(lambda a, b: a < b),
    BinaryOperator.LESS_OR_EQUAL: _comparison(lambda a, b: a <= b),
    BinaryOperator.GREATER_THAN: _comparison(lambda a, b: a > b),
    BinaryOperator.GREATER_OR_EQUAL: _comparison(lambda a, b: a >= b),
    BinaryOperator.CONCAT: _concat,
    BinaryOperator.ADD: _arithmetic("+"),
    BinaryOperator.SUBTRACT: _arithmetic("-"),
    BinaryOperator.MULTIPLY: _arithmetic("*"),
    BinaryOperator.DIVIDE: _arithmetic("/"),
}


def _in(expr: ast.In, scope: Scope) -> Value:
    element = _eval(expr.element, scope)
    elements = _list(expr.list, scope)
    return any(values_equal(element, e) for e in elements)


def _matches(expr: ast.Matches, scope: Scope) -> Value:
    string = _eval(expr.string, scope)
    string = "" if string is None else to_string(string)
    pattern = to_string(_eval(expr.pattern, scope))
    if pattern is None or string is None:
        return None
    return compile_pattern(pattern).fullmatch(string) is not None


def _or_else(expr: ast.OrElse, scope: Scope) -> Value:
    try:
        value = _eval(expr.expression, scope)
    except EvaluationFailure:
        return _eval(expr.default, scope)
    return _eval(expr.default, scope) if value is None else value


def _or_missing(expr: ast.OrMissing, scope: Scope) -> Value:
    try:
        return _eval(expr.expression, scope)
    except EvaluationFailure:
        return None


def _if_then_else(expr: ast.IfThenElse, scope: Scope) -> Value:
    condition = _boolean(_eval(expr.condition, scope))
    if condition is None:
        return None
    return _eval(expr.then if condition else expr.otherwise, scope)


def _dot(expr: ast.DotExpr, scope: Scope) -> Value:
    obj = _eval(expr.expression, scope)
    if obj is None:
        return None
    if not isinstance(obj, Mapping):
        fail_type("Object", obj)
    if expr.name not in obj:
        fail("UnknownField", f"Object has no field '{expr.name}'", name=expr.name)
    return obj[expr.name]


def _index(expr: ast.IndexExpr, scope: Scope) -> Value:
    elements = _eval(expr.expression, scope)
    if elements is None:
        return None
    if not isinstance(elements, tuple):
        fail_type("List", elements)
    index = _eval(expr.index, scope)
    if index is None:
        return None
    if not is_number(index):
        fail_type("Number", index)
    if isinstance(index, Decimal):
        fail("ExpressionType", f"Expected an integral number as index, not {index}")
    assert isinstance(index, int)
    if not 0 <= index < len(elements):
        fail("IndexOutOfRange", f"Index {index} out of range 0...{len(elements) - 1}")
    return elements[index]


def _list(expr: ast.ListExpr, scope: Scope) -> tuple[Value, ...]:
    return tuple(_eval(e, scope) for e in expr.elements)


def _object(expr: ast.ObjectExpr, scope: Scope) -> Value:
    return {name: _eval(e, scope) for name, e in expr.fields}


def _interpolated(expr: ast.InterpolatedString, scope: Scope) -> Value:
    return "".join(convert_to_string(_eval(part, scope)) for part in expr.parts)


_HANDLERS: dict[type, Callable[[Any, Scope], Value]] = {
    ast.BooleanConstant: lambda e, s: e.value,
    ast.NumberConstant: lambda e, s: e.value,
    ast.StringConstant: lambda e, s: e.value,
    ast.MissingConstant: lambda e, s: None,
    ast.ListExpr: _list,
    ast.ObjectExpr: _object,
    ast.InterpolatedString: _interpolated,
    ast.Variable: _variable,
    ast.NamedValue: _named_value,
    ast.Symbol: _symbol,
    ast.JobResourceVariable: _job_resource_variable,
    ast.FunctionCall: _function_call,
    ast.Not: _not,
    ast.Negate: _negate,
    ast.BinaryOp: _binary,
    ast.In: _in,
    ast.Matches: _matches,
    ast.OrElse: _or_else,
    ast.OrMissing: _or_missing,
    ast.IfThenElse: _if_then_else,
    ast.DotExpr: _dot,
    ast.IndexExpr: _index,
}
