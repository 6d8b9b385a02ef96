"""JS7's expression language: parse once (at deployment), evaluate often (If, arguments, …).

    expr = parse_expression("$returnCode == 0 && $js7TryCount < 3")   # Expression | Problem
    evaluate(expr, scope)                                               # Value | Problem

Every failure is a Problem value, never an exception. Problem codes: ExpressionSyntax (with
arguments column, 1-based, and expression), ExpressionTooDeep, UnknownVariable, UnknownSymbol,
UnknownField, UnknownFunction, UnknownEnvironmentVariable, ExpressionType, InvalidNumber,
NumberOutOfRange, DivisionByZero, IndexOutOfRange, InvalidRegex, DoesNotMatch,
InvalidFunctionArguments, NotSupported (JobResource access) and ExpressionError (`error('…')`).

JS7 interpolates only inside "…" strings of expressions (not in script texts), so there is no
separate parse_interpolated.
"""

from __future__ import annotations

from js7es.domain.expression.ast import Expression, referenced_names
from js7es.domain.expression.evaluator import evaluate
from js7es.domain.expression.parser import MAX_DEPTH, parse
from js7es.domain.expression.parser_base import MAX_NESTING
from js7es.domain.expression.printer import to_text
from js7es.domain.expression.scanner import ExpressionSyntaxError
from js7es.domain.expression.scope import MapScope, Scope
from js7es.domain.problem import Problem, problem
from js7es.domain.value import Value

__all__ = [
    "MAX_DEPTH",
    "MAX_NESTING",
    "Expression",
    "MapScope",
    "Scope",
    "evaluate",
    "evaluate_text",
    "parse_expression",
    "referenced_names",
    "to_text",
]


def parse_expression(text: str) -> Expression | Problem:
    try:
        return parse(text)
    except ExpressionSyntaxError as e:
        return _syntax_problem(text, e.message, e.position)
    except RecursionError:
        return _syntax_problem(text, "Expression is nested too deeply", 0)


def _syntax_problem(text: str, message: str, position: int) -> Problem:
    column = position + 1
    return problem("ExpressionSyntax", f"{message} at column {column}: {text}", column=column, expression=text)


def evaluate_text(text: str, scope: Scope) -> Value | Problem:
    expr = parse_expression(text)
    if isinstance(expr, Problem):
        return expr
    return evaluate(expr, scope)
