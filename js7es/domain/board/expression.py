"""JS7's BoardPathExpression: which boards' notices an ExpectNotices/ConsumeNotices waits for.

Text as JS7 writes it: quoted board paths with ``&&`` and ``||`` (``&&`` binds tighter) and parentheses,
e.g. ``'A' || 'B' && ('C' || 'D')``. It is evaluated in JS7's three-valued logic (L3): a board's notice
is True (posted), False (not posted but announced in the order's plan) or Unknown (neither).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from js7es.domain.problem import Problem, problem


class L3(Enum):
    FALSE = 0
    UNKNOWN = 1
    TRUE = 2

    def and_(self, other: L3) -> L3:
        return L3(min(self.value, other.value))

    def or_(self, other: L3) -> L3:
        return L3(max(self.value, other.value))


@dataclass(frozen=True, slots=True)
class ExpectNotice:
    board_path: str


@dataclass(frozen=True, slots=True)
class And:
    a: BoardPathExpr
    b: BoardPathExpr


@dataclass(frozen=True, slots=True)
class Or:
    a: BoardPathExpr
    b: BoardPathExpr


BoardPathExpr = ExpectNotice | And | Or


def board_paths(expr: BoardPathExpr) -> tuple[str, ...]:
    """The boards named, each once, in order of appearance."""
    match expr:
        case ExpectNotice(board_path=path):
            return (path,)
        case And(a=a, b=b) | Or(a=a, b=b):
            return tuple(dict.fromkeys((*board_paths(a), *board_paths(b))))
    raise TypeError(expr)


def evaluate(expr: BoardPathExpr, available: dict[str, L3]) -> L3:
    match expr:
        case ExpectNotice(board_path=path):
            return available.get(path, L3.UNKNOWN)
        case And(a=a, b=b):
            return evaluate(a, available).and_(evaluate(b, available))
        case Or(a=a, b=b):
            return evaluate(a, available).or_(evaluate(b, available))
    raise TypeError(expr)


def parse_board_path_expression(text: str) -> BoardPathExpr | Problem:
    parser = _Parser(text)
    try:
        expr = parser.or_()
        parser.skip_space()
        if parser.pos != len(text):
            raise _Error(f"unexpected {text[parser.pos :]!r}")
    except _Error as e:
        return problem("InvalidBoardPathExpression", f"Bad board path expression {text!r}: {e}", expression=text)
    return expr


class _Error(Exception):
    pass


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def take(self, token: str) -> bool:
        self.skip_space()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def or_(self) -> BoardPathExpr:
        expr = self.and_()
        while self.take("||"):
            expr = Or(expr, self.and_())
        return expr

    def and_(self) -> BoardPathExpr:
        expr = self.factor()
        while self.take("&&"):
            expr = And(expr, self.factor())
        return expr

    def factor(self) -> BoardPathExpr:
        if self.take("("):
            expr = self.or_()
            if not self.take(")"):
                raise _Error("missing ')'")
            return expr
        self.skip_space()
        quote = self.text[self.pos : self.pos + 1]
        if quote not in ("'", '"'):
            raise _Error(f"expected a quoted board path at position {self.pos}")
        end = self.text.find(quote, self.pos + 1)
        if end < 0:
            raise _Error("unterminated board path")
        path = self.text[self.pos + 1 : end]
        if not path:
            raise _Error("empty board path")
        self.pos = end + 1
        return ExpectNotice(path)


def to_text(expr: BoardPathExpr) -> str:
    """JS7's printed form (parentheses only where precedence needs them)."""
    match expr:
        case ExpectNotice(board_path=path):
            return f"'{path}'"
        case And(a=a, b=b):
            return f"{_operand(a, And)} && {_operand(b, And)}"
        case Or(a=a, b=b):
            return f"{to_text(a)} || {to_text(b)}"
    raise TypeError(expr)


def _operand(expr: BoardPathExpr, within: type) -> str:
    return f"({to_text(expr)})" if isinstance(expr, Or) and within is And else to_text(expr)
