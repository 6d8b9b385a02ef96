"""`to_text`: an expression back as source text; parsing the text again gives the same tree.

Parentheses are written only where precedence needs them (JS7's `Precedence.toString`).
"""

from __future__ import annotations

from js7es.domain.expression import ast
from js7es.domain.expression.ast import OPERATOR_PRECEDENCE, Expression, Precedence
from js7es.domain.expression.scanner import is_identifier_part, is_simple_identifier
from js7es.domain.expression.signatures import DOT_FUNCTIONS, KEYWORDS
from js7es.domain.expression.values import number_text

# Characters that force "…" quoting: controls (except \n), C1 controls, and the single quote.
_NOT_IN_SINGLE_QUOTES = frozenset(
    [chr(c) for c in range(0x20) if c != 0x0A] + [chr(c) for c in range(0x7F, 0xA0)] + ["'"]
)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\r": "\\r", "\n": "\\n", "$": "\\$"}


def to_text(expr: Expression) -> str:
    match expr:
        case ast.BooleanConstant(value):
            return "true" if value else "false"
        case ast.NumberConstant(value):
            return number_text(value)
        case ast.StringConstant(value):
            return quote(value)
        case ast.MissingConstant():
            return "missing"
        case ast.ListExpr(elements):
            return "[" + ", ".join(to_text(e) for e in elements) + "]"
        case ast.ObjectExpr(fields):
            return "{" + ", ".join(f"{identifier(n)}: {to_text(e)}" for n, e in fields) + "}"
        case ast.InterpolatedString(parts):
            return _interpolated(parts)
        case ast.Variable(name):
            return _variable(name)
        case ast.NamedValue():
            return _named_value(expr)
        case ast.Symbol(name):
            return name
        case ast.JobResourceVariable(path, name):
            return f"JobResource:{path}" + ("" if name is None else ":" + identifier(name))
        case ast.FunctionCall(name, arguments):
            texts = ((a.name + "=" if a.name else "") + to_text(a.expression) for a in arguments)
            return f"{name}({', '.join(texts)})"
        case ast.Not(operand):
            return "!" + _operand(operand, Precedence.PREFIX)
        case ast.Negate(operand):
            text = _operand(operand, Precedence.PREFIX)
            return "-" + (f"({text})" if text[:1].isdigit() else text)
        case ast.BinaryOp(operator, left, right):
            precedence = OPERATOR_PRECEDENCE[operator]
            return _infix(left, operator.value, precedence, right)
        case ast.In(element, elements):
            return _infix(element, "in", Precedence.WORD_OPERATOR, elements)
        case ast.Matches(string, pattern):
            return _infix(string, "matches", Precedence.WORD_OPERATOR, pattern)
        case ast.OrElse(a, default):
            return f"{_operand(a, Precedence.OR_ELSE)} ? {_operand(default, Precedence.DOT)}"
        case ast.OrMissing(a):
            text = _operand(a, Precedence.OR_ELSE)
            return text + (" ?" if text.endswith("?") else "?")
        case ast.IfThenElse(condition, then, otherwise):
            return f"if {_operand(condition, Precedence.WORD_OPERATOR)} then {to_text(then)} else {to_text(otherwise)}"
        case ast.DotExpr(a, name):
            field = f"`{name}`" if name in DOT_FUNCTIONS else identifier(name)
            return f"{_postfix_operand(a)}.{field}"
        case ast.IndexExpr(a, index):
            return f"{_postfix_operand(a)}({to_text(index)})"
    raise TypeError(f"Not an expression: {expr!r}")  # a bug, not bad input


def precedence(expr: Expression) -> int:
    match expr:
        case ast.IfThenElse():
            return Precedence.IF_THEN_ELSE
        case ast.In() | ast.Matches():
            return Precedence.WORD_OPERATOR
        case ast.BinaryOp(operator):
            return OPERATOR_PRECEDENCE[operator]
        case ast.Not() | ast.Negate():
            return Precedence.PREFIX
        case ast.OrElse() | ast.OrMissing():
            return Precedence.OR_ELSE
        case ast.DotExpr() | ast.IndexExpr():
            return Precedence.DOT
    return Precedence.FACTOR


def _operand(expr: Expression, minimum: int) -> str:
    text = to_text(expr)
    return text if precedence(expr) >= minimum else f"({text})"


def _postfix_operand(expr: Expression) -> str:
    # "orderId(0)" would be a call and "JobResource:r.x" a longer path
    if isinstance(expr, (ast.Symbol, ast.JobResourceVariable)):
        return f"({to_text(expr)})"
    return _operand(expr, Precedence.DOT)


def _infix(left: Expression, operator: str, level: int, right: Expression) -> str:
    return f"{_operand(left, level)} {operator} {_operand(right, level + 1)}"


def quote(string: str) -> str:
    if not string:
        return '""'
    if not any(c in _NOT_IN_SINGLE_QUOTES for c in string):
        return f"'{string}'"
    return '"' + "".join(_ESCAPES.get(c, c) for c in string) + '"'


def identifier(name: str) -> str:
    if is_simple_identifier(name) and name not in KEYWORDS:
        return name
    return "`" + name.replace("`", "``") + "`"


def _variable(name: str) -> str:
    if is_simple_identifier(name) or _is_digits(name):
        return "$" + name
    if name and "\n" not in name:
        return "$`" + name.replace("`", "``") + "`"
    return f"variable({quote(name)})"


def _named_value(expr: ast.NamedValue) -> str:
    arguments = [f"key={to_text(expr.key)}"]
    if expr.label is not None:
        arguments.append(f"label={_name_argument(expr.label)}")
    if expr.job is not None:
        arguments.append(f"job={_name_argument(expr.job)}")
    if expr.default is not None:
        arguments.append(f"default={to_text(expr.default)}")
    function = "argument" if expr.is_argument else "variable"
    return f"{function}({', '.join(arguments)})"


def _name_argument(name: str) -> str:
    return identifier(name) if name and "\n" not in name else quote(name)


def _interpolated(parts: tuple[Expression, ...]) -> str:
    texts = ['"']
    for i, part in enumerate(parts):
        following = parts[i + 1] if i + 1 < len(parts) else None
        next_char = following.value[:1] if isinstance(following, ast.StringConstant) else ""
        if isinstance(part, ast.StringConstant):
            texts.append("".join(_ESCAPES.get(c, c) for c in part.value))
        elif isinstance(part, ast.Variable) and is_simple_identifier(part.name):
            texts.append(f"${{{part.name}}}" if next_char and is_identifier_part(next_char) else "$" + part.name)
        elif isinstance(part, ast.Variable) and _is_digits(part.name) and not next_char.isdigit():
            texts.append("$" + part.name)
        else:
            texts.append(f"$({to_text(part)})")
    texts.append('"')
    return "".join(texts)


def _is_digits(name: str) -> bool:
    return name.isascii() and name.isdigit()
