"""A hand-written recursive-descent parser for JS7 expressions (grammar of JS7's ExpressionParser).

Loosest first::

    expression  = "if" word "then" expression "else" expression | word
    word        = or (("in" list | "matches" or))*
    or, and, ==/!=, < <= > >=, + - ++, * /      left-associative binary operators
    prefix      = ("!" | "-") prefix | orElse
    orElse      = postfix ("?" postfix?)*       "a ? b" is b when a fails, "a?" is missing then
    postfix     = primary ("." name | "(" expression ")")*
    primary     = number | string | true | false | missing | list | object | $name | ${name.field}
                | variable(…) | argument(…) | error(…) | JobResource:path:name | f(args) | symbol
                | "(" expression ")"

Binary operator chains are loops, so only nesting (parentheses, lists, arguments, prefixes) recurses;
both the nesting and the height of the resulting tree are limited, giving a Problem, not a crash.
"""

from __future__ import annotations

from js7es.domain.expression import ast
from js7es.domain.expression.ast import BinaryOperator, Expression, Precedence
from js7es.domain.expression.parser_base import ParserBase, is_digit
from js7es.domain.expression.scanner import (
    ExpressionSyntaxError,
    is_identifier_start,
    scan_identifier,
    scan_number,
    scan_single_quoted,
    skip_white,
)
from js7es.domain.expression.signatures import DOT_FUNCTIONS

MAX_DEPTH = 100  # height of the syntax tree (also bounds the recursion of evaluation)

# Longest first, so that "<=" is not read as "<".
_OPERATORS = sorted(BinaryOperator, key=lambda o: -len(o.value))


def parse(text: str) -> Expression:
    """Parse a whole text; raises ExpressionSyntaxError."""
    parser = _Parser(text)
    parser.pos = skip_white(text, 0)
    expr = parser.expression()
    parser.skip()
    if parser.pos < len(text):
        raise ExpressionSyntaxError(f"Unexpected {_describe(text, parser.pos)}", parser.pos)
    if ast.depth(expr) > MAX_DEPTH:
        raise ExpressionSyntaxError(f"Expression is nested more than {MAX_DEPTH} levels deep", 0)
    return expr


def _describe(text: str, pos: int) -> str:
    return "end of expression" if pos >= len(text) else f"'{text[pos]}'"


class _Parser(ParserBase):
    __slots__ = ()

    def expression(self) -> Expression:
        self.enter()
        if self.peek_keyword("if"):
            self.pos += 2
            condition = self.word_operation()
            self.expect_keyword("then")
            then = self.expression()
            self.expect_keyword("else")
            result: Expression = ast.IfThenElse(condition, then, self.expression())
        else:
            result = self.word_operation()
        self.nesting -= 1
        return result

    def word_operation(self) -> Expression:
        left = self.binary(Precedence.OR)
        while keyword := self.peek_keyword("in", "matches"):
            self.pos += len(keyword)
            operand_pos = skip_white(self.text, self.pos)
            right = self.binary(Precedence.OR)
            if keyword == "matches":
                left = ast.Matches(left, right)
            elif isinstance(right, ast.ListExpr):
                left = ast.In(left, right)
            else:
                raise self.error("Expected a List after operator 'in'", operand_pos)
        return left

    def binary(self, min_precedence: int) -> Expression:
        left = self.prefix()
        while (operator := self.peek_operator()) is not None:
            precedence = ast.OPERATOR_PRECEDENCE[operator]
            if precedence < min_precedence:
                break
            self.pos += len(operator.value)
            left = ast.BinaryOp(operator, left, self.binary(precedence + 1))
        return left

    def peek_operator(self) -> BinaryOperator | None:
        self.skip()
        for operator in _OPERATORS:
            if self.text.startswith(operator.value, self.pos):
                return operator
        return None

    def prefix(self) -> Expression:
        self.skip()
        text, pos = self.text, self.pos
        if text.startswith("!", pos) and not text.startswith("!=", pos):
            self.pos += 1
            self.enter()
            result: Expression = ast.Not(self.prefix())
            self.nesting -= 1
            return result
        if text.startswith("-", pos) and not is_digit(text, pos + 1):
            self.pos += 1
            self.enter()
            result = ast.Negate(self.prefix())
            self.nesting -= 1
            return result
        return self.or_else()

    def or_else(self) -> Expression:
        expr = self.postfix()
        while True:
            self.skip()
            if self.text.startswith("??", self.pos):
                raise self.error("Unexpected '?' ('??' is reserved)", self.pos + 1)
            if not self.text.startswith("?", self.pos):
                return expr
            self.pos += 1
            self.skip()
            expr = ast.OrElse(expr, self.postfix()) if self.starts_operand() else ast.OrMissing(expr)

    def starts_operand(self) -> bool:
        text, pos = self.text, self.pos
        if pos >= len(text):
            return False
        c = text[pos]
        if c in "([{$'\"`" or is_digit(text, pos) or (c == "-" and is_digit(text, pos + 1)):
            return True
        return is_identifier_start(c) and self.peek_keyword("in", "matches", "then", "else") is None

    def postfix(self) -> Expression:
        expr = self.primary()
        while True:
            before = self.pos
            self.skip()
            if self.text.startswith(".", self.pos):
                self.pos = skip_white(self.text, self.pos + 1)
                if not (
                    self.pos < len(self.text)
                    and (is_identifier_start(self.text[self.pos]) or self.text[self.pos] == "`")
                ):
                    raise self.error("Expected a field name after '.'")
                name, self.pos, quoted = scan_identifier(self.text, self.pos)
                if name in DOT_FUNCTIONS and not quoted:
                    expr = ast.FunctionCall(name, (ast.Argument(expr),))
                else:
                    expr = ast.DotExpr(expr, name)
            elif self.text.startswith("(", self.pos):
                self.pos += 1
                index = self.expression()
                self.expect(")")
                expr = ast.IndexExpr(expr, index)
            else:
                self.pos = before
                return expr

    def primary(self) -> Expression:
        self.skip()
        text, pos = self.text, self.pos
        c = text[pos] if pos < len(text) else ""
        if c == "(":
            self.pos += 1
            expr = self.expression()
            self.expect(")")
            return expr
        if c == "[":
            self.pos += 1
            return ast.ListExpr(tuple(self.comma_sequence("]", self.expression)))
        if c == "{":
            return self.object_expr()
        if c == "$":
            return self.dollar_variable()
        if c == "'":
            value, self.pos = scan_single_quoted(text, pos)
            return ast.StringConstant(value)
        if c == '"':
            return self.interpolated_string()
        if is_digit(text, pos) or (c == "-" and is_digit(text, pos + 1)):
            number, self.pos = scan_number(text, pos)
            return ast.NumberConstant(number)
        if text.startswith("JobResource:", pos):
            return self.job_resource_variable()
        if is_identifier_start(c):
            return self.name_expression()
        raise self.error(f"Unexpected {_describe(text, pos)}")
