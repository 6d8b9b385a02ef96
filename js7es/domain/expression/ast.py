"""The syntax tree of JS7 expressions: frozen, slotted dataclasses, one per construct.

The parser produces canonical trees, so that `parse_expression(to_text(e)) == e`:
numbers are normalized (int when integral), `variable("x")` without further arguments becomes
`Variable("x")`, legacy `.toNumber` style suffixes become `FunctionCall`s, and interpolated strings
never hold two adjacent `StringConstant`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import TypeAlias, Union


class BinaryOperator(Enum):
    OR = "||"
    AND = "&&"
    EQUAL = "=="
    NOT_EQUAL = "!="
    LESS_THAN = "<"
    LESS_OR_EQUAL = "<="
    GREATER_THAN = ">"
    GREATER_OR_EQUAL = ">="
    CONCAT = "++"
    ADD = "+"
    SUBTRACT = "-"
    MULTIPLY = "*"
    DIVIDE = "/"


class Precedence:
    """Binding strength, loosest first (JS7's `Precedence.scala`, plus the prefix operators)."""

    IF_THEN_ELSE = 1
    WORD_OPERATOR = 2  # in, matches
    OR = 3
    AND = 4
    EQUAL = 5
    COMPARISON = 6
    ADDITION = 7
    MULTIPLICATION = 8
    PREFIX = 9  # ! and unary -
    OR_ELSE = 10  # a ? b, a?
    DOT = 11  # a.name, a(index)
    FACTOR = 12


OPERATOR_PRECEDENCE: dict[BinaryOperator, int] = {
    BinaryOperator.OR: Precedence.OR,
    BinaryOperator.AND: Precedence.AND,
    BinaryOperator.EQUAL: Precedence.EQUAL,
    BinaryOperator.NOT_EQUAL: Precedence.EQUAL,
    BinaryOperator.LESS_THAN: Precedence.COMPARISON,
    BinaryOperator.LESS_OR_EQUAL: Precedence.COMPARISON,
    BinaryOperator.GREATER_THAN: Precedence.COMPARISON,
    BinaryOperator.GREATER_OR_EQUAL: Precedence.COMPARISON,
    BinaryOperator.CONCAT: Precedence.ADDITION,
    BinaryOperator.ADD: Precedence.ADDITION,
    BinaryOperator.SUBTRACT: Precedence.ADDITION,
    BinaryOperator.MULTIPLY: Precedence.MULTIPLICATION,
    BinaryOperator.DIVIDE: Precedence.MULTIPLICATION,
}


@dataclass(frozen=True, slots=True)
class BooleanConstant:
    value: bool


@dataclass(frozen=True, slots=True)
class NumberConstant:
    value: int | Decimal  # normalized: int when integral


@dataclass(frozen=True, slots=True)
class StringConstant:
    value: str


@dataclass(frozen=True, slots=True)
class MissingConstant:
    """The keyword `missing`: JS7's MissingValue, our None."""


@dataclass(frozen=True, slots=True)
class ListExpr:
    elements: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class ObjectExpr:
    fields: tuple[tuple[str, Expression], ...]  # names are unique


@dataclass(frozen=True, slots=True)
class InterpolatedString:
    """`"text $name ${name} $(expr)"`: the parts are converted to strings and concatenated."""

    parts: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Variable:
    """`$name`, `${name}`, `` $`odd name` `` and `variable("name")`: the last occurred named value."""

    name: str


@dataclass(frozen=True, slots=True)
class NamedValue:
    """`variable(key, label=L | job=J, default=D)` and `argument(key, default=D)`."""

    key: Expression
    label: str | None = None
    job: str | None = None
    default: Expression | None = None
    is_argument: bool = False


@dataclass(frozen=True, slots=True)
class Symbol:
    """A known name without `$`, like `orderId` or `tryCount` (JS7's argumentless functions)."""

    name: str


@dataclass(frozen=True, slots=True)
class JobResourceVariable:
    """`JobResource:path:name`."""

    path: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Argument:
    expression: Expression
    name: str | None = None


@dataclass(frozen=True, slots=True)
class FunctionCall:
    name: str
    arguments: tuple[Argument, ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expression


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Expression


@dataclass(frozen=True, slots=True)
class BinaryOp:
    operator: BinaryOperator
    left: Expression
    right: Expression


@dataclass(frozen=True, slots=True)
class In:
    element: Expression
    list: ListExpr


@dataclass(frozen=True, slots=True)
class Matches:
    string: Expression
    pattern: Expression


@dataclass(frozen=True, slots=True)
class OrElse:
    """`a ? b`: b when a fails or is missing (JS7 `Catch`)."""

    expression: Expression
    default: Expression


@dataclass(frozen=True, slots=True)
class OrMissing:
    """`a?`: missing when a fails (JS7 `OrMissing`)."""

    expression: Expression


@dataclass(frozen=True, slots=True)
class IfThenElse:
    condition: Expression
    then: Expression
    otherwise: Expression


@dataclass(frozen=True, slots=True)
class DotExpr:
    """`a.name`: a field of an object."""

    expression: Expression
    name: str


@dataclass(frozen=True, slots=True)
class IndexExpr:
    """`a(i)`: the i-th element of a list (JS7 `ArgumentExpr`)."""

    expression: Expression
    index: Expression


Expression: TypeAlias = Union[  # noqa: UP007
    BooleanConstant,
    NumberConstant,
    StringConstant,
    MissingConstant,
    ListExpr,
    ObjectExpr,
    InterpolatedString,
    Variable,
    NamedValue,
    Symbol,
    JobResourceVariable,
    FunctionCall,
    Not,
    Negate,
    BinaryOp,
    In,
    Matches,
    OrElse,
    OrMissing,
    IfThenElse,
    DotExpr,
    IndexExpr,
]


def children(expr: Expression) -> tuple[Expression, ...]:
    """The direct subexpressions, for tree walks."""
    match expr:
        case ListExpr(elements):
            return elements
        case ObjectExpr(fields):
            return tuple(e for _, e in fields)
        case InterpolatedString(parts):
            return parts
        case NamedValue(key, _, _, default, _):
            return (key,) if default is None else (key, default)
        case FunctionCall(_, arguments):
            return tuple(a.expression for a in arguments)
        case Not(a) | Negate(a) | OrMissing(a) | DotExpr(a, _):
            return (a,)
        case BinaryOp(_, a, b) | Matches(a, b) | OrElse(a, b) | IndexExpr(a, b):
            return (a, b)
        case In(a, b):
            return (a, b)
        case IfThenElse(a, b, c):
            return (a, b, c)
        case _:
            return ()


def depth(expr: Expression) -> int:
    """The height of the tree, computed without recursion (trees may be deep)."""
    result = 0
    stack: list[tuple[Expression, int]] = [(expr, 1)]
    while stack:
        node, level = stack.pop()
        result = max(result, level)
        stack.extend((child, level + 1) for child in children(node))
    return result


def referenced_names(expr: Expression) -> frozenset[str]:
    """The names of the named values an expression reads (constant keys only)."""
    names: set[str] = set()
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Variable):
            names.add(node.name)
        elif isinstance(node, NamedValue) and isinstance(node.key, StringConstant):
            names.add(node.key.value)
        stack.extend(children(node))
    return frozenset(names)
