"""Evaluating JS7 expressions; expected results are those of JS7's ExpressionTest where it has one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from js7es.domain.expression import MapScope, evaluate, evaluate_text, parse_expression
from js7es.domain.expression.ast import Variable
from js7es.domain.problem import Problem
from js7es.domain.value import Value

SCOPE = MapScope(
    named_values={
        "ASTRING": "AA",
        "ANUMBER": 7,
        "ABOOLEAN": True,
        "WEIRD/NAME": "weird",
        "returnCode": 1,
        "myObject": {"myField": {"a": 1}},
        "list": (-1, 111, {"elem": ("CONTENT",)}, ("DEEP",)),
        "js7OrderId": "#2024-01-01#T1",
        "js7TryCount": 2,
        "date": "2024-03-15",
    },
    by_label={"LABEL": {"KEY": "LABEL-VALUE", "returnCode": 2}},
    by_job={"JOB": {"KEY": "JOB-VALUE", "returnCode": 3}},
    env={"HOME": "/home/js7"},
    now=1_700_000_000_123,  # 2023-11-14T22:13:20.123Z
)

VALUES: list[tuple[str, Value]] = [
    # constants
    ("7", 7),
    (
        "-111222333444555666777888999000111222333444555666777888999000",
        -111222333444555666777888999000111222333444555666777888999000,
    ),
    ("1.25", Decimal("1.25")),
    ("'a\\x'", "a\\x"),
    ('"\\\\"', "\\"),
    ("[ 'AAA', missing, 7 ]", ("AAA", None, 7)),
    ("{a: 'AAA', missing: missing}.a", "AAA"),
    ("missing", None),
    # variables
    ("$ASTRING", "AA"),
    ("${ASTRING}", "AA"),
    ("$`WEIRD/NAME`", "weird"),
    ("$myObject", {"myField": {"a": 1}}),
    ("$js7OrderId", "#2024-01-01#T1"),
    ("$js7EpochMilli", 1_700_000_000_123),
    ("$js7EpochSecond", 1_700_000_000),
    ('variable("ASTRING")', "AA"),
    ("variable(missing)", None),
    ('variable("UNKNOWN", default="DEFAULT")', "DEFAULT"),
    ('variable("UNKNOWN", default=0) + 1', 1),
    ('variable(job=JOB, key="UNKNOWN", default="DEFAULT")', "DEFAULT"),
    ('variable(key="returnCode", label=LABEL)', 2),
    ('variable(key="returnCode", job=JOB)', 3),
    ("variable('KEY', label='LABEL')", "LABEL-VALUE"),
    ("variable('ASTRING' ++ \"\")", "AA"),
    ('argument("ASTRING")', "AA"),
    ('argument("UNKNOWN", default="DEFAULT")', "DEFAULT"),
    ("orderId", "#2024-01-01#T1"),
    ("tryCount + 1", 3),
    # interpolation
    ('"-->$ASTRING${ABOOLEAN}$(missing)$(100 + $ANUMBER)<--"', "-->AAtrue107<--"),
    ('"$ANUMBER-$($myObject.myField.a)"', "7-1"),
    ('"${myObject.myField.a}"', "1"),
    ("\"-->$(error('ERROR')?)<--\"", "--><--"),
    ('"$list"', '[-1, 111, {"elem":["CONTENT"]}, ["DEEP"]]'),
    ('"\\$ASTRING"', "$ASTRING"),
    # conversions
    ("toBoolean('true')", True),
    ("toBoolean('false')", False),
    ("toBoolean(missing)", None),
    ("'true'.toBoolean", True),
    ("toBoolean(1)", True),
    ("toNumber('123')", 123),
    ("toNumber('-1.50')", Decimal("-1.5")),
    ("toNumber('1e3')", 1000),
    ("toNumber(true)", 1),
    ("toNumber(missing)", None),
    ("toString(7) ++ '!'", "7!"),
    ("$ANUMBER.toString", "7"),
    ("toString(1.50)", "1.5"),
    ("mkString(123)", "123"),
    ("mkString(missing)", ""),
    ('mkString([$ANUMBER, "-", missing, true])', "7-true"),
    ("stripMargin('  |ONE\n  |TWO')", "ONE\nTWO"),
    ("'  |ONE\n  |TWO'.stripMargin", "ONE\nTWO"),
    ("stripMargin(missing)", None),
    # functions
    ('replaceAll("abcdef", "([ae])", \'»$1«\')', "»a«bcd»e«f"),
    ("replaceAll(missing, 'x', 'y')", None),
    ("replaceAll('a.b', '\\.', '\\$')", "a$b"),
    ("replaceAll('2024-03', '(?P<y>\\d+)-(\\d+)', '${y}/$2')", "2024/03"),
    ("match($date, '(\\d+)-(\\d+)-(\\d+)', '$3.$2.$1')", "15.03.2024"),
    ("substring('abcdef', 2)", "cdef"),
    ("substring('abcdef', 1, 3)", "bc"),
    ("min(3, 2.5)", Decimal("2.5")),
    ("max(3, 2.5)", 3),
    ("min(missing, 1)", None),
    ("env('HOME')", "/home/js7"),
    ("env('UNKNOWN', default='x')", "x"),
    ("env('HOME', error('not evaluated'))", "/home/js7"),
    ("now(format='yyyy-MM-dd HH:mm:ss.SSS')", "2023-11-14 22:13:20.123"),
    ("now(format='yyyy-MM-dd HH:mm XXX', timezone='Europe/Berlin')", "2023-11-14 23:13 +01:00"),
    ("now('EEE, d MMM yy', 'UTC')", "Tue, 14 Nov 23"),
    ("now(\"'T'HH 'o''clock'\")", "T22 o'clock"),
    # arithmetic (exact, JS7's BigDecimal with 34 significant digits for division)
    ("100 + 2 * 3 - 12 / 3", 102),
    ("3.1 * -7.1", Decimal("-22.01")),
    ("0.1 + 0.2", Decimal("0.3")),
    ("1 / 3", Decimal("0.3333333333333333333333333333333333")),
    ("6 / -2", -3),
    ("-$ANUMBER", -7),
    ("$returnCode + -3", -2),
    ("missing * 7", None),
    ("7 / missing", None),
    ("missing + 'x'", None),
    # comparisons
    ("$returnCode == 1", True),
    ("'1' == 1", False),
    ("1 == true", False),
    ("1.0 == 1", True),
    ("missing == missing", True),
    ("missing == 1", False),
    ("[1, [2, 'x']] == [1, [2, 'x']]", True),
    ("{a: 1} != {a: 2}", True),
    ("$returnCode <= 1", True),
    ("'a' < 'b'", True),
    ("2.5 > 2", True),
    ("missing < 1", None),
    # boolean operators
    ("!false", True),
    ("$returnCode >= 1 && !($returnCode <= 9) && $returnCode != 1", False),
    ("true && missing", None),
    ("missing && true", None),
    ("false && missing", False),
    ("false && error('E')", False),
    ("true || error('E')", True),
    ("false || missing", None),
    ("true || false && 3 == 4 < 5 + 6 * 7 ? 8", True),
    # concatenation
    ("'->' ++ $returnCode ++ '<-'", "->1<-"),
    ("'->' ++ missing ++ '<-'", None),
    ("[1] ++ [2, 3]", (1, 2, 3)),
    ("true ++ 1.5", "true1.5"),
    # in, matches
    ("$returnCode in [1, 2, 3]", True),
    ("'1' in [1, 2, 3]", False),
    ("'A--' matches 'A.+'", True),
    ("'-A-' matches 'A.+'", False),
    ('7 matches ""', False),
    ('missing matches ""', True),
    ('"" matches missing', None),
    # ?
    ("error('ERROR')?", None),
    ("error('ERROR') ? 7 + 3", 10),
    ("$unknown ? 7 + 3", 10),
    ("1 + 2 ? 7 + 3", 6),
    ("(1 / 0)?", None),
    ("(1 / 0) ? -1", -1),
    ("(7 in [1 / 0]) ? $unknown ? -1", -1),
    ("$aUnknown ? $bUnknown ?", None),
    ("missing ? 'default'", "default"),
    # if then else
    ("if $returnCode == 1 then 'one' else 'other'", "one"),
    ("if false then 1 else if true then 2 else 3", 2),
    ("if missing then 1 else 2", None),
    ("if true then 1 else error('not evaluated')", 1),
    # lists and objects
    ("$list(0)", -1),
    ("${list}(1)", 111),
    ("$list(2).elem(0)", "CONTENT"),
    ("$list(3)(0)", "DEEP"),
    ("3 + $myObject.myField.a", 4),
]


@pytest.mark.parametrize(("text", "expected"), VALUES, ids=[v[0] for v in VALUES])
def test_value(text: str, expected: Value) -> None:
    result = evaluate_text(text, SCOPE)
    assert result == expected
    assert type(result) is type(expected)


PROBLEMS: list[tuple[str, str, str]] = [
    ("$UNKNOWN", "UnknownVariable", "No such named value: UNKNOWN"),
    ('variable("UNKNOWN")', "UnknownVariable", "No such named value: UNKNOWN"),
    ("argument('UNKNOWN')", "UnknownVariable", "No such order argument: UNKNOWN"),
    (
        "variable('X', label=LABEL)",
        "UnknownVariable",
        "Workflow instruction at label LABEL did not return a named value 'X'",
    ),
    ("variable('X', job=JOB)", "UnknownVariable", "Last execution of job 'JOB' did not return a named value 'X'"),
    ("variable(1)", "ExpressionType", "Expected a String value, not Number: 1"),
    ("error('ERROR')", "ExpressionError", "ERROR"),
    ("[ 'AAA', error('ERROR'), 7 ]", "ExpressionError", "ERROR"),
    ("mkString(['-->', error('ERROR')])", "ExpressionError", "ERROR"),
    ("error('ERROR') == error('X')", "ExpressionError", "ERROR"),
    ("error('ERROR') * missing", "ExpressionError", "ERROR"),
    ("missing * error('ERROR')", "ExpressionError", "ERROR"),
    ("missing ++ error('ERROR') ++ missing", "ExpressionError", "ERROR"),
    ("\"-->$(error('ERROR'))<--\"", "ExpressionError", "ERROR"),
    ("1 / 0", "DivisionByZero", "Division by zero"),
    ("missing / (1 / 0)", "DivisionByZero", "Division by zero"),
    ("1 / 0 + missing", "DivisionByZero", "Division by zero"),
    ('$returnCode + "3"', "ExpressionType", 'Expected a Number value, not String: "3"'),
    ("'a' + 'b'", "ExpressionType", 'Expected a Number value, not String: "a"'),
    ("'a' < 1", "ExpressionType", "String and Number are not comparable"),
    ("true < false", "ExpressionType", "Boolean and Boolean are not comparable"),
    ("!1", "ExpressionType", "Expected a Boolean value, not Number: 1"),
    ("1 && true", "ExpressionType", "Expected a Boolean value, not Number: 1"),
    ("true && 1", "ExpressionType", "Expected a Boolean value, not Number: 1"),
    ("if 1 then 2 else 3", "ExpressionType", "Expected a Boolean value, not Number: 1"),
    ("-'a'", "ExpressionType", 'Expected a Number value, not String: "a"'),
    ("[1] ++ 'a'", "ExpressionType", "Expected a String value, not List: [1]"),
    ('[7] matches ""', "ExpressionType", "Expected a String value, not List: [7]"),
    ("toNumber($ASTRING)", "InvalidNumber", "Not a valid number: AA"),
    ("toNumber(' 1')", "InvalidNumber", "Not a valid number:  1"),
    ("toNumber('NaN')", "InvalidNumber", "Not a valid number: NaN"),
    ("toNumber('1e99999')", "NumberOutOfRange", "Number out of range: 1e99999"),
    ("toBoolean('yes')", "ExpressionType", 'Expected a Boolean value, not String: "yes"'),
    ("$list(4)", "IndexOutOfRange", "Index 4 out of range 0...3"),
    ("$list(-1)", "IndexOutOfRange", "Index -1 out of range 0...3"),
    ("$list(1.5)", "ExpressionType", "Expected an integral number as index, not 1.5"),
    ("$ASTRING(0)", "ExpressionType", 'Expected a List value, not String: "AA"'),
    ("$myObject.unknown", "UnknownField", "Object has no field 'unknown'"),
    ("$ASTRING.field", "ExpressionType", 'Expected an Object value, not String: "AA"'),
    ("substring('abc', 2, 1)", "IndexOutOfRange", "substring: begin 2, end 1, length 3"),
    (
        "replaceAll('a', '(', 'x')",
        "InvalidRegex",
        "missing ), unterminated subpattern in regular expression pattern: “(”",
    ),
    ("replaceAll('a', 'a', '$2')", "InvalidRegex", "No group 2"),
    ("match('abc', 'b', 'x')", "DoesNotMatch", '"abc" does not match pattern "b"'),
    ("'a' matches '['", "InvalidRegex", "unterminated character set in regular expression pattern: “[”"),
    ("env('UNKNOWN')", "UnknownEnvironmentVariable", "Unknown environment variable: UNKNOWN"),
    ("now(format='yyyy', timezone='Mars/Olympus')", "InvalidFunctionArguments", "Unknown timezone: Mars/Olympus"),
    ("now(format='yyyy-LL')", "InvalidFunctionArguments", "Unsupported letter 'L' in time format: yyyy-LL"),
    ("myFunction(7)", "UnknownFunction", "Unknown function: myFunction"),
    ("jobResourceVariable('R', 'x')", "NotSupported", "Function jobResourceVariable is not supported here"),
    ("JobResource:R:x", "NotSupported", "JobResources are not accessible here: JobResource:R"),
    ("workflowPath", "UnknownSymbol", "workflowPath is not available here"),
    ("'1' ++ $UNKNOWN", "UnknownVariable", "No such named value: UNKNOWN"),
    ("(1 + $x", "ExpressionSyntax", "Expected ')' at column 8: (1 + $x"),
]


@pytest.mark.parametrize(("text", "code", "message"), PROBLEMS, ids=[p[0] for p in PROBLEMS])
def test_problem(text: str, code: str, message: str) -> None:
    result = evaluate_text(text, SCOPE)
    assert isinstance(result, Problem)
    assert (result.code, result.message) == (code, message)


def test_arithmetic_rounds_to_34_digits_like_scala_big_decimal() -> None:
    assert evaluate_text("99999999999999999999999999999999999 + 1", SCOPE) == 10**35
    assert evaluate_text("12345678901234567890123456789012345 * 1", SCOPE) == 12345678901234567890123456789012340


def test_huge_results_are_a_problem_not_an_explosion() -> None:
    expr = "$x * $x"
    scope = MapScope({"x": 10**1000})
    for _ in range(3):
        expr = f"({expr}) * ({expr})"
    result = evaluate_text(expr, scope)
    assert isinstance(result, Problem)
    assert result.code == "NumberOutOfRange"


def test_a_parsed_expression_is_evaluated_against_changing_scopes() -> None:
    expr = parse_expression("$returnCode == 0 && $js7TryCount < 3")
    assert not isinstance(expr, Problem)
    assert evaluate(expr, MapScope({"returnCode": 0, "js7TryCount": 1})) is True
    assert evaluate(expr, MapScope({"returnCode": 0, "js7TryCount": 3})) is False
    assert evaluate(expr, MapScope({"returnCode": 1, "js7TryCount": 1})) is False


def test_a_tree_deeper_than_the_parser_allows_is_a_problem_when_evaluated() -> None:
    expr: Variable | object = Variable("x")
    from js7es.domain.expression.ast import Not

    for _ in range(100_000):
        expr = Not(expr)  # type: ignore[arg-type]
    result = evaluate(expr, MapScope({"x": True}))  # type: ignore[arg-type]
    assert isinstance(result, Problem)
    assert result.code == "ExpressionTooDeep"
