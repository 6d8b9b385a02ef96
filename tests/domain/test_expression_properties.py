"""Properties: printing a tree and parsing it again gives the same tree; no input makes the
parser or the evaluator raise."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from js7es.domain.expression import MapScope, ast, evaluate, parse_expression, to_text
from js7es.domain.expression.ast import Argument, BinaryOperator, Expression
from js7es.domain.expression.parser_base import interpolated
from js7es.domain.expression.signatures import SYMBOLS
from js7es.domain.problem import Problem

SCOPE = MapScope(
    {"a": 1, "b": "B", "c": True, "l": (1, "x"), "o": {"f": 2}, "js7OrderId": "ORDER"},
    env={"HOME": "/home"},
    now=1_700_000_000_000,
)

names = st.text(min_size=1, max_size=8).filter(lambda s: "\n" not in s)
numbers = st.one_of(
    st.integers(-(10**40), 10**40),
    st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False, allow_infinity=False).map(
        lambda d: int(d) if d == d.to_integral_value() else d.normalize()
    ),
)
leaves: st.SearchStrategy[Expression] = st.one_of(
    st.booleans().map(ast.BooleanConstant),
    numbers.map(ast.NumberConstant),
    st.text(max_size=10).map(ast.StringConstant),
    st.just(ast.MissingConstant()),
    st.text(max_size=8).map(ast.Variable),
    st.sampled_from(sorted(SYMBOLS)).map(ast.Symbol),
    st.builds(
        ast.JobResourceVariable,
        st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,6}", fullmatch=True),
        st.none() | names,
    ),
)


def _named_value(
    key: Expression, where: tuple[str, str] | None, default: Expression | None, is_argument: bool
) -> Expression:
    label, job = (
        (None, None)
        if where is None or is_argument
        else ((where[1], None) if where[0] == "label" else (None, where[1]))
    )
    if isinstance(key, ast.StringConstant) and not (is_argument or label or job or default):
        return ast.Variable(key.value)
    return ast.NamedValue(key, label, job, default, is_argument)


def _object(fields: dict[str, Expression]) -> Expression:
    return ast.ObjectExpr(tuple(fields.items()))


def _extend(children: st.SearchStrategy[Expression]) -> st.SearchStrategy[Expression]:
    lists = st.lists(children, max_size=3).map(lambda es: ast.ListExpr(tuple(es)))
    one = st.builds(lambda e: (Argument(e),), children)
    two = st.builds(lambda a, b: (Argument(a), Argument(b)), children, children)
    three = st.builds(lambda a, b, c: (Argument(a), Argument(b), Argument(c)), children, children, children)
    generic_arguments = st.lists(st.builds(Argument, children, st.none() | st.sampled_from(["x", "name"])), max_size=3)
    return st.one_of(
        lists,
        st.dictionaries(names, children, max_size=3).map(_object),
        st.lists(children, min_size=1, max_size=4).map(interpolated),
        st.builds(
            _named_value,
            children,
            st.none() | st.tuples(st.sampled_from(["label", "job"]), st.text(max_size=5)),
            st.none() | children,
            st.booleans(),
        ),
        st.builds(ast.FunctionCall, st.sampled_from(["toNumber", "toString", "mkString", "error"]), one),
        st.builds(ast.FunctionCall, st.sampled_from(["min", "max"]), two),
        st.builds(ast.FunctionCall, st.sampled_from(["replaceAll", "match"]), three),
        st.builds(ast.FunctionCall, st.sampled_from(["f", "myFunction"]), generic_arguments.map(tuple)),
        st.builds(ast.Not, children),
        st.builds(ast.Negate, children),
        st.builds(ast.BinaryOp, st.sampled_from(list(BinaryOperator)), children, children),
        st.builds(ast.In, children, lists),
        st.builds(ast.Matches, children, children),
        st.builds(ast.OrElse, children, children),
        st.builds(ast.OrMissing, children),
        st.builds(ast.IfThenElse, children, children, children),
        st.builds(ast.DotExpr, children, names),
        st.builds(ast.IndexExpr, children, children),
    )


expressions = st.recursive(leaves, _extend, max_leaves=12)


@settings(max_examples=500)
@given(expressions)
def test_printed_expression_parses_to_the_same_tree(expr: Expression) -> None:
    text = to_text(expr)
    assert parse_expression(text) == expr, text


@settings(max_examples=300)
@given(expressions)
def test_evaluation_returns_a_value_or_a_problem(expr: Expression) -> None:
    result = evaluate(expr, SCOPE)
    assert result is None or isinstance(result, (Problem, str, bool, int, Decimal, tuple, dict))


_FRAGMENTS = ["in ", "if ", " then ", " else ", "true", "missing", "toNumber(", "variable(", "${", "$(", "/*", "//"]
ALPHABET = st.sampled_from([*"$(){}[]'\"`\\.,:?!=<>+-*/&|ab1 0\n", *_FRAGMENTS])


@settings(max_examples=1000)
@given(st.one_of(st.text(max_size=30), st.lists(ALPHABET, max_size=20).map("".join)))
def test_any_text_gives_an_expression_or_a_problem(text: str) -> None:
    result = parse_expression(text)
    if isinstance(result, Problem):
        assert result.code == "ExpressionSyntax"
        assert result.arguments["expression"] == text
        assert 1 <= int(result.arguments["column"]) <= len(text) + 1
    else:
        assert parse_expression(to_text(result)) == result
        evaluate(result, SCOPE)
