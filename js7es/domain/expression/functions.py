"""The built-in functions. Each gets its arguments unevaluated (in parameter order) and evaluates
what it needs, so that `env('X', default=…)` evaluates the default only when X is not set.

Regular expressions are Python's `re`, close to Java's for the usual patterns; replacement strings
keep Java's syntax (`$1`, `${name}`, `\\$` for a dollar), as JS7 users write them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from js7es.domain.expression.ast import Expression
from js7es.domain.expression.scope import Scope
from js7es.domain.expression.timeformat import format_epoch_milli
from js7es.domain.expression.values import (
    Number,
    convert_to_string,
    fail,
    fail_type,
    is_number,
    parse_number,
    shorten,
)
from js7es.domain.value import Value

Evaluate = Callable[[Expression, Scope], Value]
Builtin = Callable[[tuple[Expression, ...], Scope, Evaluate], Value]


def _to_number(args: tuple[Expression, ...], scope: Scope, ev: Evaluate) -> Value:
    value = ev(args[0], scope)
    if value is None or is_number(value):
        return value
    if isinstance(value, str):
        return parse_number(value)
    if isinstance(value, bool):
        return 1 if value else 0
    fail_type("Number", value)


def _to_boolean(args: tuple[Expression, ...], scope: Scope, ev: Evaluate) -> Value:
    value = ev(args[0], scope)
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    if is_number(value) and value in (0, 1):
        return value == 1
    fail_type("Boolean", value)


def _to_string(args: tuple[Expression, ...], scope: Scope, ev: Evaluate) -> Value:
    value = ev(args[0], scope)
    return None if value is None else convert_to_string(value)


def _strip_margin(args: tuple[Expression, ...], scope: Scope, ev: Evaluate) -> Value:
    string = _string(ev(args[0], scope))
    if string is None:
        return None
    lines = string.splitlines(keepends=True)
    return "".join(_strip_line(line) for line in lines)


def _strip_line(line: str) -> str:
    """Scala's stripMargin: leading blanks and control characters up to a '|' are removed."""
    stripped = line.lstrip("".join(chr(c) for c in range(33)))
    return stripped[1:] if stripped.startswith("|") else line


def _mk_string(args: tuple[Expression, ...], scope: Scope, ev: Evaluate) -> Value:
    value = ev(args[0], scope)
    if isinstance(value, tuple):
        return "".join(convert_to_string(v) for v in value)
    return convert_to_string(value)


def _replace_all(args: tuple[Expression, ...], scope: Scope, ev: Evaluate) -> Value:
    string, pattern, replacement = (_string(ev(a, scope)) for a in args)
    if string is None or pattern is None or replacement is None:
        return None
    compiled = compile_pattern(pattern)
    return compiled.sub(lambda m: _expand(replacement, m), string)


def _match(args: tuple[Expression, ...], scope: Scope, ev: Evaluate) -> Value:
    string, pattern, replacement = (_string(ev(a, scope)) for a in args)
    if string is None or pattern is None or replacement is None:
        return None
    found = compile_pattern(pattern).fullmatch(string)
    if found is None:
        fail("DoesNotMatch", f'"{shorten(string)}" does not match pattern "{shorten(pattern)}"')
    return _expand(replacement, found)


def _substring(args: tuple[Expression, ...], scope: Scope, ev: Evaluate) -> Value:
    string = _string(ev(args[0], scope))
    start = _int(ev(args[1], scope))
    end = _int(ev(args[2], scope)) if len(args) > 2 else len(string or "")
    if string is None or start is None or end is None:
        return None
    if not 0 <= start <= end <= len(string):
        fail("IndexOutOfRange", f"substring: begin {start}, end {end}, length {len(string)}")
    return string[start:end]


def _min(args: tuple[Expression, ...], scope: Scope, ev: Evaluate) -> Value:
    a, b = (_number(ev(e, scope)) for e in args)
    return None if a is None or b is None else min(a, b)


def _max(args: tuple[Expression, ...], scope: Scope, ev: Evaluate) -> Value:
    a, b = (_number(ev(e, scope)) for e in args)
    return None if a is None or b is None else max(a, b)


def _error(args: tuple[Expression, ...], scope: Scope, ev: Evaluate) -> Value:
    message = convert_to_string(ev(args[0], scope))
    fail("ExpressionError", message, errorMessage=message)


def _env(args: tuple[Expression, ...], scope: Scope, ev: Evaluate) -> Value:
    name = _string(ev(args[0], scope))
    if name is None:
        return None
    value = scope.environment(name)
    if value is not None:
        return value
    if len(args) > 1:
        return ev(args[1], scope)
    fail("UnknownEnvironmentVariable", f"Unknown environment variable: {name}", name=name)


def _now(args: tuple[Expression, ...], scope: Scope, ev: Evaluate) -> Value:
    pattern = _string(ev(args[0], scope))
    timezone = _string(ev(args[1], scope)) if len(args) > 1 else None
    if pattern is None:
        return None
    return format_epoch_milli(scope.now_ms(), pattern, timezone)


BUILTINS: dict[str, Builtin] = {
    "toNumber": _to_number,
    "toBoolean": _to_boolean,
    "toString": _to_string,
    "stripMargin": _strip_margin,
    "mkString": _mk_string,
    "replaceAll": _replace_all,
    "match": _match,
    "substring": _substring,
    "min": _min,
    "max": _max,
    "error": _error,
    "env": _env,
    "now": _now,
}

# Functions JS7 knows that need services js7es does not offer to expressions yet.
NOT_SUPPORTED = frozenset({"jobResourceVariable", "jobResourceVariables", "scheduledOrEmpty", "toFile"})


def compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)  # re caches compiled patterns
    except re.error as e:
        fail("InvalidRegex", f"{e.msg} in regular expression pattern: “{pattern}”", pattern=pattern)


def _expand(replacement: str, found: re.Match[str]) -> str:
    """Java's Matcher replacement syntax: $n, ${name}, and backslash quoting."""
    result: list[str] = []
    i = 0
    while i < len(replacement):
        c = replacement[i]
        if c == "\\":
            if i + 1 >= len(replacement):
                fail("InvalidRegex", "Character to be escaped is missing in replacement")
            result.append(replacement[i + 1])
            i += 2
        elif c == "$":
            i += 1
            if replacement.startswith("{", i):
                end = replacement.find("}", i)
                name = replacement[i + 1 : end] if end > 0 else ""
                if name not in found.re.groupindex:
                    fail("InvalidRegex", f"No group with name {{{name}}}")
                result.append(found.group(name) or "")
                i = end + 1
            elif i < len(replacement) and replacement[i].isdigit() and replacement[i].isascii():
                group = int(replacement[i])
                i += 1
                while i < len(replacement) and replacement[i].isdigit() and replacement[i].isascii():
                    longer = group * 10 + int(replacement[i])
                    if longer > found.re.groups:
                        break
                    group = longer
                    i += 1
                if group > found.re.groups:
                    fail("InvalidRegex", f"No group {group}")
                result.append(found.group(group) or "")
            else:
                fail("InvalidRegex", "Illegal group reference in replacement")
        else:
            result.append(c)
            i += 1
    return "".join(result)


def _string(value: Value) -> str | None:
    if value is None or isinstance(value, str):
        return value
    fail_type("String", value)


def _number(value: Value) -> Number | None:
    if value is None or is_number(value):
        return value  # type: ignore[return-value]
    fail_type("Number", value)


def _int(value: Value) -> int | None:
    number = _number(value)
    if number is None or isinstance(number, int):
        return number
    fail("ExpressionType", f"Expected an integral number, not {number}")
