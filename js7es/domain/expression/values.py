"""Value conversions, equality and arithmetic as JS7 defines them for expressions.

Missing (None) propagates: an operation that expects a type and gets missing yields missing, as
JS7 turns an "unexpected type: Missing" problem into MissingValue.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal, DecimalException, DivisionByZero, InvalidOperation, Overflow
from typing import NoReturn

from js7es.domain.problem import Problem, problem
from js7es.domain.value import Value, type_name

Number = int | Decimal

# Scala's BigDecimal computes in MathContext.DECIMAL128: 34 significant digits, half-even.
# The exponent is bounded so that every result can be printed and converted to int cheaply.
ARITHMETIC = Context(
    prec=34, rounding=ROUND_HALF_EVEN, Emax=4000, Emin=-4000, traps=[Overflow, InvalidOperation, DivisionByZero]
)
_INT_LIMIT = 10**34
_EXACT = Context(prec=5000, Emax=5000, Emin=-5000)


class EvaluationFailure(Exception):
    """Internal: carries a Problem out of nested evaluation to the public `evaluate`."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def fail(code: str, message: str, **arguments: object) -> NoReturn:
    raise EvaluationFailure(problem(code, message, **arguments))


def fail_type(expected: str, value: Value) -> NoReturn:
    actual = type_name(value)
    fail(
        "ExpressionType",
        f"Expected {'an' if expected[0] in 'AEIOU' else 'a'} {expected} value, not {actual}: {shorten(render(value))}",
        expectedType=expected,
        type=actual,
    )


def shorten(text: str, limit: int = 50) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_number(value: Value) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


def normalized(number: Decimal) -> Number:
    """int when integral, else a normalized Decimal (like value.normalize_number, but exact)."""
    if number == number.to_integral_value():
        return int(number)
    return number.normalize(_EXACT)


def number_text(number: Number) -> str:
    return str(number) if isinstance(number, int) else format(number, "f")


def render(value: Value) -> str:
    """How a value is shown inside lists, objects and messages: strings quoted."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if value is None:
        return "missing"
    return convert_to_string(value)


def convert_to_string(value: Value) -> str:
    """JS7's `convertToString`, used by string interpolation and mkString: missing becomes ""."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return number_text(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return "{" + ", ".join(f"{render(k)}:{render(v)}" for k, v in value.items()) + "}"


def to_string(value: Value) -> str | None:
    """JS7's `toStringValue` (for `++`, matches): strings, numbers and booleans; None when missing."""
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, (bool, int, Decimal)):
        return convert_to_string(value)
    fail_type("String", value)


def values_equal(a: Value, b: Value) -> bool:
    """Equality of JS7 values: never between different types (1 != true, 1 != "1")."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping):
        return isinstance(b, Mapping) and a.keys() == b.keys() and all(values_equal(v, b[k]) for k, v in a.items())
    if is_number(a):
        return is_number(b) and a == b
    return type(a) is type(b) and a == b


def arithmetic(operator: str, a: Number, b: Number) -> Number:
    try:
        if isinstance(a, int) and isinstance(b, int) and operator != "/":
            result = a + b if operator == "+" else a - b if operator == "-" else a * b
            if -_INT_LIMIT < result < _INT_LIMIT:
                return result
            return normalized(ARITHMETIC.create_decimal(result))
        x, y = Decimal(a), Decimal(b)
        if operator == "+":
            return normalized(ARITHMETIC.add(x, y))
        if operator == "-":
            return normalized(ARITHMETIC.subtract(x, y))
        if operator == "*":
            return normalized(ARITHMETIC.multiply(x, y))
        if not y:
            fail("DivisionByZero", "Division by zero")
        return normalized(ARITHMETIC.divide(x, y))
    except DecimalException:
        fail("NumberOutOfRange", f"Result of {number_text(a)} {operator} {number_text(b)} is out of range")


def parse_number(string: str) -> Number:
    """Java's BigDecimal syntax: optional sign, digits with optional fraction, optional exponent."""
    if not _is_java_decimal(string):
        fail("InvalidNumber", f"Not a valid number: {shorten(string)}")
    number = Decimal(string)
    if abs(number.adjusted()) > 4000:
        fail("NumberOutOfRange", f"Number out of range: {shorten(string)}")
    return normalized(number)


def _is_java_decimal(s: str) -> bool:
    i = 1 if s[:1] in ("+", "-") else 0
    mantissa_digits = 0
    seen_point = False
    while i < len(s) and ((s[i].isdigit() and s[i].isascii()) or (s[i] == "." and not seen_point)):
        if s[i] == ".":
            seen_point = True
        else:
            mantissa_digits += 1
        i += 1
    if mantissa_digits == 0:
        return False
    if i < len(s) and s[i] in "eE":
        i += 1
        if s[i : i + 1] in ("+", "-"):
            i += 1
        exponent_start = i
        while i < len(s) and s[i].isdigit() and s[i].isascii():
            i += 1
        if i == exponent_start:
            return False
    return i == len(s)
