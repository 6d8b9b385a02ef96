"""Parsing JS7 expressions: the tree for each construct, precedence, syntax problems, limits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from js7es.domain.expression import MAX_DEPTH, MAX_NESTING, parse_expression, referenced_names, to_text
from js7es.domain.expression.ast import (
    Argument,
    BinaryOp,
    BinaryOperator,
    BooleanConstant,
    DotExpr,
    Expression,
    FunctionCall,
    IfThenElse,
    In,
    IndexExpr,
    InterpolatedString,
    JobResourceVariable,
    ListExpr,
    Matches,
    MissingConstant,
    NamedValue,
    Negate,
    Not,
    NumberConstant,
    ObjectExpr,
    OrElse,
    OrMissing,
    StringConstant,
    Symbol,
    Variable,
)
from js7es.domain.problem import Problem

ADD, SUB, MUL, DIV = BinaryOperator.ADD, BinaryOperator.SUBTRACT, BinaryOperator.MULTIPLY, BinaryOperator.DIVIDE
N, S, V = NumberConstant, StringConstant, Variable


def call(name: str, *args: Expression) -> FunctionCall:
    return FunctionCall(name, tuple(Argument(a) for a in args))


def parsed(text: str) -> Expression:
    result = parse_expression(text)
    assert not isinstance(result, Problem), result
    return result


CASES: list[tuple[str, Expression]] = [
    # constants
    ("7", N(7)),
    ("-7", N(-7)),
    ("-1.111222333444555666777888999", N(Decimal("-1.111222333444555666777888999"))),
    ("1.50", N(Decimal("1.5"))),
    ("2.0", N(2)),
    ("true", BooleanConstant(True)),
    ("false", BooleanConstant(False)),
    ("missing", MissingConstant()),
    ('""', S("")),
    ("'a\\x'", S("a\\x")),
    ("''it's''", S("it's")),
    ("'a\r\nb'", S("a\nb")),
    ('"\\\\ \\" \\$ \\t \\r \\n"', S('\\ " $ \t \r \n')),
    ("[]", ListExpr(())),
    ("[ 'AAA', missing, 7 ]", ListExpr((S("AAA"), MissingConstant(), N(7)))),
    ("{a: 1, `b c`: 'x'}", ObjectExpr((("a", N(1)), ("b c", S("x"))))),
    # variables
    ("$ASTRING", V("ASTRING")),
    ("${ASTRING}", V("ASTRING")),
    ("$js7OrderId", V("js7OrderId")),
    ("$`WEIRD/NAME`", V("WEIRD/NAME")),
    ("$`a``b`", V("a`b")),
    ("$1", V("1")),
    ("${myObject.myField.a}", DotExpr(DotExpr(V("myObject"), "myField"), "a")),
    ('variable("X")', V("X")),
    ('variable(key="X")', V("X")),
    ('variable("X", default=1)', NamedValue(S("X"), default=N(1))),
    ("variable(key='rc', label=LABEL)", NamedValue(S("rc"), label="LABEL")),
    ("variable('rc', job=`my job`)", NamedValue(S("rc"), job="my job")),
    ("variable($name)", NamedValue(V("name"))),
    ('argument("ARG")', NamedValue(S("ARG"), is_argument=True)),
    ("argument(key='A', default='D')", NamedValue(S("A"), default=S("D"), is_argument=True)),
    ("orderId", Symbol("orderId")),
    ("orderId()", Symbol("orderId")),
    ("JobResource:my-resource:VARIABLE", JobResourceVariable("my-resource", "VARIABLE")),
    # interpolation
    (
        '"-->$A${B}$(missing)$(1 + $C)<--"',
        InterpolatedString((S("-->"), V("A"), V("B"), MissingConstant(), BinaryOp(ADD, N(1), V("C")), S("<--"))),
    ),
    ("\"$('a')b\"", S("ab")),
    ('"x$1y"', InterpolatedString((S("x"), V("1"), S("y")))),
    # functions and legacy suffixes
    ("toNumber('1')", call("toNumber", S("1"))),
    ("'1'.toNumber", call("toNumber", S("1"))),
    ("$a.toBoolean", call("toBoolean", V("a"))),
    ("'x'.stripMargin", call("stripMargin", S("x"))),
    ("$a.`toNumber`", DotExpr(V("a"), "toNumber")),
    ("replaceAll($a, 'x', 'y')", call("replaceAll", V("a"), S("x"), S("y"))),
    (
        "now(format='yyyy', timezone='UTC')",
        FunctionCall("now", (Argument(S("yyyy"), "format"), Argument(S("UTC"), "timezone"))),
    ),
    ("error('E')", call("error", S("E"))),
    ("myFunction(7)", call("myFunction", N(7))),
    # postfix
    ("$list(0)", IndexExpr(V("list"), N(0))),
    ("$list(2).elem(0)", IndexExpr(DotExpr(IndexExpr(V("list"), N(2)), "elem"), N(0))),
    # operators and precedence (JS7 ExpressionTest)
    (
        "100 + 2 * 3 - 12 / 3",
        BinaryOp(SUB, BinaryOp(ADD, N(100), BinaryOp(MUL, N(2), N(3))), BinaryOp(DIV, N(12), N(3))),
    ),
    ("-3 * -7", BinaryOp(MUL, N(-3), N(-7))),
    ("$a -1", BinaryOp(SUB, V("a"), N(1))),
    ("-$a", Negate(V("a"))),
    ("-(3)", Negate(N(3))),
    ("!!true", Not(Not(BooleanConstant(True)))),
    (
        "true || false && 3 == 4 < 5 + 6 * 7 ? 8",
        BinaryOp(
            BinaryOperator.OR,
            BooleanConstant(True),
            BinaryOp(
                BinaryOperator.AND,
                BooleanConstant(False),
                BinaryOp(
                    BinaryOperator.EQUAL,
                    N(3),
                    BinaryOp(
                        BinaryOperator.LESS_THAN, N(4), BinaryOp(ADD, N(5), BinaryOp(MUL, N(6), OrElse(N(7), N(8))))
                    ),
                ),
            ),
        ),
    ),
    ("error('E') ? 7 + 3", BinaryOp(ADD, OrElse(call("error", S("E")), N(7)), N(3))),
    ("6 / 3?", BinaryOp(DIV, N(6), OrMissing(N(3)))),
    ("error('E')? ? 7", OrElse(OrMissing(call("error", S("E"))), N(7))),
    ("(error('E')?)?", OrMissing(OrMissing(call("error", S("E"))))),
    ("$a ? $b ?", OrMissing(OrElse(V("a"), V("b")))),
    ("$a? + 1", BinaryOp(ADD, OrMissing(V("a")), N(1))),
    ("!$a?", Not(OrMissing(V("a")))),
    ("$rc in [1, 2]", In(V("rc"), ListExpr((N(1), N(2))))),
    ("'A-' matches 'A.+'", Matches(S("A-"), S("A.+"))),
    ("if $a then 1 else if $b then 2 else 3", IfThenElse(V("a"), N(1), IfThenElse(V("b"), N(2), N(3)))),
    ("$a ++ $b", BinaryOp(BinaryOperator.CONCAT, V("a"), V("b"))),
    # white space and comments
    (" 1 /* one */ + // comment\n 2 ", BinaryOp(ADD, N(1), N(2))),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_parse(text: str, expected: Expression) -> None:
    assert parsed(text) == expected


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_to_text_parses_back_to_the_same_tree(text: str, expected: Expression) -> None:
    assert parsed(to_text(expected)) == expected


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("$a + (1", "Expected ')'", 8),
        ("(1/0) ??", "Unexpected '?' ('??' is reserved)", 8),
        ("1 +", "Unexpected end of expression", 4),
        ("1 2", "Unexpected '2'", 3),
        ("$x in $y", "Expected a List after operator 'in'", 7),
        ('"\\q"', "Expected backslash (\\) and one of the following characters", 2),
        ('"open', 'Expected properly terminated "…"-quoted string', 1),
        ("''", "Expected properly terminated ''…''-quoted string", 1),
        ("then", "Unexpected 'then' keyword, maybe parentheses around it are missing?", 1),
        ("unknownName", "Unknown symbol: unknownName", 1),
        ("toNumber(1, 2)", "toNumber function expects exactly one argument", 1),
        ("replaceAll('a', 'b')", "replaceAll function expects exactly three arguments", 1),
        ("{a: 1, a: 2}", "Duplicate field names: a", 1),
        ("variable(label=L)", "variable requires a key", 1),
        ("variable('x', label=L, job=J)", "variable: label= and job= contradict each other", 1),
        ("$", "Expected a name after '$'", 2),
        ("$``", "Identifier in backticks (`) must not be empty", 4),
        ("1 /* open", "Unterminated comment /*", 3),
        ("", "Unexpected end of expression", 1),
    ],
)
def test_syntax_problem(text: str, message: str, column: int) -> None:
    result = parse_expression(text)
    assert isinstance(result, Problem)
    assert result.code == "ExpressionSyntax"
    assert result.message.startswith(message)
    assert result.message.endswith(f" at column {column}: {text}")
    assert result.arguments == {"column": str(column), "expression": text}


def test_nesting_within_the_limit_is_parsed() -> None:
    depth = MAX_NESTING - 2
    assert parsed("(" * depth + "1" + ")" * depth) == N(1)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 10_000 + "1" + ")" * 10_000,
        "[" * 10_000 + "]" * 10_000,
        "!" * 10_000 + "true",
        "-" * 10_000 + "$a",
        '"$(' * 3_000 + "1" + ')"' * 3_000,
        "f(" * 5_000 + ")" * 5_000,
        "if true then " * 5_000 + "1" + " else 2" * 5_000,
        " + ".join(["1"] * (MAX_DEPTH + 1)),
    ],
    ids=["parentheses", "lists", "not", "negate", "interpolation", "calls", "if", "long chain"],
)
def test_deep_nesting_is_a_problem_not_a_crash(text: str) -> None:
    result = parse_expression(text)
    assert isinstance(result, Problem)
    assert result.code == "ExpressionSyntax"
    assert "nested more than" in result.message


def test_a_long_chain_within_the_depth_limit_is_parsed() -> None:
    expr = parsed(" + ".join(["1"] * (MAX_DEPTH - 1)))
    assert isinstance(expr, BinaryOp)


def test_referenced_names() -> None:
    expr = parsed("$a + variable('b', default=$c) + toNumber(\"$d\") + variable($e) + argument('f') + orderId")
    assert referenced_names(expr) == frozenset({"a", "b", "c", "d", "e", "f"})


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        (BinaryOp(SUB, N(1), BinaryOp(SUB, N(2), N(3))), "1 - (2 - 3)"),
        (BinaryOp(SUB, BinaryOp(SUB, N(1), N(2)), N(3)), "1 - 2 - 3"),
        (Negate(N(3)), "-(3)"),
        (Not(BinaryOp(BinaryOperator.EQUAL, V("a"), N(1))), "!($a == 1)"),
        (OrMissing(OrMissing(V("a"))), "$a? ?"),
        (S("it's"), '"it\'s"'),
        (S("x"), "'x'"),
        (S("$a\n"), "'$a\n'"),
        (S("tab\t"), '"tab\\t"'),
        (InterpolatedString((V("a"), S("b"))), '"${a}b"'),
        (V("two words"), "$`two words`"),
        (IndexExpr(Symbol("orderId"), N(0)), "(orderId)(0)"),
        (ObjectExpr((("in", N(1)),)), "{`in`: 1}"),
    ],
)
def test_to_text(expr: Expression, text: str) -> None:
    assert to_text(expr) == text
    assert parsed(text) == expr
