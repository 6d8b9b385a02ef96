"""The base of the expression parser: position handling, and the productions of literals and names
(objects, $variables, strings with interpolation, variable()/argument(), JobResource:…).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from js7es.domain.expression import ast
from js7es.domain.expression.ast import Expression
from js7es.domain.expression.scanner import (
    ExpressionSyntaxError,
    is_identifier_part,
    is_identifier_start,
    scan_identifier,
    scan_simple_identifier,
    scan_single_quoted,
    skip_white,
)
from js7es.domain.expression.signatures import KEYWORDS, SIGNATURES, SYMBOLS

MAX_NESTING = 50  # parentheses, brackets, arguments and prefix operators inside each other

_T = TypeVar("_T")
_ESCAPES = {"\\": "\\", '"': '"', "t": "\t", "r": "\r", "n": "\n", "$": "$"}


class ParserBase:
    __slots__ = ("nesting", "pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.nesting = 0

    # Helpers

    def skip(self) -> None:
        self.pos = skip_white(self.text, self.pos)

    def error(self, message: str, pos: int | None = None) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(message, self.pos if pos is None else pos)

    def expect(self, token: str) -> None:
        self.skip()
        if not self.text.startswith(token, self.pos):
            raise self.error(f"Expected '{token}'")
        self.pos += len(token)

    def try_token(self, token: str) -> bool:
        self.skip()
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            return True
        return False

    def peek_keyword(self, *keywords: str) -> str | None:
        """The keyword at the current position (after white space), without consuming it."""
        self.skip()
        pos = self.pos
        if pos < len(self.text) and is_identifier_start(self.text[pos]):
            name, _ = scan_simple_identifier(self.text, pos)
            if name in keywords:
                return name
        return None

    def expect_keyword(self, keyword: str) -> None:
        if self.peek_keyword(keyword) is None:
            raise self.error(f"Expected '{keyword}'")
        self.pos += len(keyword)

    def enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(f"Expression is nested more than {MAX_NESTING} levels deep")

    # Grammar, loosest binding first

    def expression(self) -> Expression:
        raise NotImplementedError

    def comma_sequence(self, close: str, element: Callable[[], _T]) -> list[_T]:
        result: list[_T] = []
        if self.try_token(close):
            return result
        while True:
            result.append(element())
            if self.try_token(close):
                return result
            self.expect(",")

    def object_expr(self) -> ast.ObjectExpr:
        start = self.pos
        self.pos += 1

        def field() -> tuple[str, Expression]:
            self.skip()
            name, self.pos, _ = scan_identifier(self.text, self.pos)
            self.expect(":")
            return name, self.expression()

        fields = self.comma_sequence("}", field)
        names = [name for name, _ in fields]
        if len(set(names)) < len(names):
            duplicates = sorted({n for n in names if names.count(n) > 1})
            raise self.error(f"Duplicate field names: {', '.join(duplicates)}", start)
        return ast.ObjectExpr(tuple(fields))

    def dollar_variable(self) -> Expression:
        text = self.text
        self.pos += 1  # $
        if text.startswith("{", self.pos):
            name, self.pos, _ = scan_identifier(text, self.pos + 1)
            expr: Expression = ast.Variable(name)
            while text.startswith(".", self.pos):
                field, self.pos, _ = scan_identifier(text, self.pos + 1)
                expr = ast.DotExpr(expr, field)
            if not text.startswith("}", self.pos):
                raise self.error("Expected '}'")
            self.pos += 1
            return expr
        if is_digit(text, self.pos):  # $1: a regular expression group in match/replaceAll
            start = self.pos
            while is_digit(text, self.pos):
                self.pos += 1
            return ast.Variable(text[start : self.pos])
        if self.pos < len(text) and (text[self.pos] == "`" or is_identifier_start(text[self.pos])):
            name, self.pos, _ = scan_identifier(text, self.pos)
            return ast.Variable(name)
        raise self.error("Expected a name after '$'")

    def interpolated_string(self) -> Expression:
        text = self.text
        start = self.pos
        self.pos += 1
        parts: list[Expression] = []
        chunk: list[str] = []
        while True:
            if self.pos >= len(text):
                raise self.error('Expected properly terminated "…"-quoted string', start)
            c = text[self.pos]
            if c == '"':
                self.pos += 1
                break
            if c == "\\":
                escaped = _ESCAPES.get(text[self.pos + 1 : self.pos + 2])
                if escaped is None:
                    raise self.error('Expected backslash (\\) and one of the following characters: [\\"trn$]')
                chunk.append(escaped)
                self.pos += 2
            elif c == "$":
                if chunk:
                    parts.append(ast.StringConstant("".join(chunk)))
                    chunk = []
                if text.startswith("$(", self.pos):
                    self.pos += 2
                    parts.append(self.expression())
                    self.expect(")")
                else:
                    parts.append(self.dollar_variable())
            else:
                chunk.append(c)
                self.pos += 1
        if chunk:
            parts.append(ast.StringConstant("".join(chunk)))
        return interpolated(parts)

    def job_resource_variable(self) -> Expression:
        self.pos += len("JobResource:")
        start = self.pos
        text = self.text
        while self.pos < len(text) and (is_identifier_part(text[self.pos]) or text[self.pos] in "-."):
            self.pos += 1
        if self.pos == start:
            raise self.error("Expected a JobResource path")
        path = text[start : self.pos]
        name = None
        if text.startswith(":", self.pos):
            name, self.pos, _ = scan_identifier(text, self.pos + 1)
        return ast.JobResourceVariable(path, name)

    def name_expression(self) -> Expression:
        start = self.pos
        name, self.pos = scan_simple_identifier(self.text, self.pos)
        if name in ("true", "false"):
            return ast.BooleanConstant(name == "true")
        if name == "missing":
            return ast.MissingConstant()
        has_arguments = self.try_token("(")
        if name in ("variable", "argument") and has_arguments:
            return self.named_value(name == "argument", start)
        if not has_arguments:
            if name in SYMBOLS:
                return ast.Symbol(name)
            if name in KEYWORDS:
                raise self.error(f"Unexpected '{name}' keyword, maybe parentheses around it are missing?", start)
            raise self.error(f"Unknown symbol: {name}", start)
        arguments = tuple(self.comma_sequence(")", self.argument))
        if not arguments and name in SYMBOLS:
            return ast.Symbol(name)
        signature = SIGNATURES.get(name)
        if signature is not None:
            bound = signature.bind(name, arguments)
            if isinstance(bound, str):
                raise self.error(bound, start)
        elif name in KEYWORDS:
            raise self.error(f"Unexpected '{name}' keyword", start)
        return ast.FunctionCall(name, arguments)

    def argument(self) -> ast.Argument:
        name = self.keyword_argument_name()
        return ast.Argument(self.expression(), name)

    def named_value(self, is_argument: bool, start: int) -> Expression:
        function = "argument" if is_argument else "variable"
        allowed = ("key", "default") if is_argument else ("key", "default", "label", "job")
        expressions: dict[str, Expression] = {}
        names: dict[str, str] = {}

        def element() -> None:
            keyword = self.keyword_argument_name()
            if keyword is not None and keyword not in allowed:
                raise self.error(f"{function}: unexpected argument {keyword}=", start)
            key = keyword or "key"
            if key in expressions or key in names:
                raise self.error(f"{function}: duplicate argument {key}", start)
            if key in ("label", "job"):
                names[key] = self.label_or_job_name(key)
            else:
                expressions[key] = self.expression()

        self.comma_sequence(")", element)
        key_expr, default = expressions.get("key"), expressions.get("default")
        label, job = names.get("label"), names.get("job")
        if key_expr is None:
            raise self.error(f"{function} requires a key (the name of the value)", start)
        if label is not None and job is not None:
            raise self.error(f"{function}: label= and job= contradict each other", start)
        if isinstance(key_expr, ast.StringConstant) and not (is_argument or label or job or default):
            return ast.Variable(key_expr.value)
        return ast.NamedValue(key_expr, label, job, default, is_argument)

    def keyword_argument_name(self) -> str | None:
        """Consumes `name =` and returns the name, or returns None and consumes nothing."""
        self.skip()
        before = self.pos
        if self.pos < len(self.text) and is_identifier_start(self.text[self.pos]):
            name, after = scan_simple_identifier(self.text, self.pos)
            self.pos = skip_white(self.text, after)
            if self.text.startswith("=", self.pos) and not self.text.startswith("==", self.pos):
                self.pos += 1
                return name
        self.pos = before
        return None

    def label_or_job_name(self, keyword: str) -> str:
        """JS7 writes `label=L`, an identifier; a quoted string is accepted, too."""
        self.skip()
        if self.text.startswith("'", self.pos):
            name, self.pos = scan_single_quoted(self.text, self.pos)
            return name
        if self.text.startswith('"', self.pos):
            expr = self.interpolated_string()
            if not isinstance(expr, ast.StringConstant):
                raise self.error(f"Expected a constant name after {keyword}=")
            return expr.value
        if self.pos < len(self.text) and (self.text[self.pos] == "`" or is_identifier_start(self.text[self.pos])):
            name, self.pos, _ = scan_identifier(self.text, self.pos)
            return name
        raise self.error(f"Expected a name after {keyword}=")


def interpolated(parts: list[Expression]) -> Expression:
    """The canonical form: adjacent constants merged; a lone constant is just a StringConstant."""
    merged: list[Expression] = []
    for part in parts:
        if isinstance(part, ast.StringConstant):
            if not part.value:
                continue
            if merged and isinstance(merged[-1], ast.StringConstant):
                merged[-1] = ast.StringConstant(merged[-1].value + part.value)
                continue
        merged.append(part)
    if not merged:
        return ast.StringConstant("")
    if len(merged) == 1 and isinstance(merged[0], ast.StringConstant):
        return merged[0]
    return ast.InterpolatedString(tuple(merged))


def is_digit(text: str, pos: int) -> bool:
    return pos < len(text) and "0" <= text[pos] <= "9"
