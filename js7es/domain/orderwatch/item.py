"""The FileWatch item (JS7's FileWatch, an OrderWatch): an Agent watches a directory and the Controller
adds one order per file that appears in it.

    {"TYPE": "FileWatch", "path": "invoices", "agentPath": "agent-1", "workflowPath": "process-invoice",
     "directoryExpr": "'/data/in'", "pattern": "[^.].*\\.csv", "delay": 2,
     "orderIdExpression": "'#' ++ now(format='yyyy-MM-dd', timezone='UTC') ++ '#F-' ++ $0"}

`directory` (a plain string, JS7 before 2.0.1) is read as a constant `directoryExpr`. The directory is
evaluated on the Agent (it may use `env(…)`). A file counts when its name (relative to the directory)
matches `pattern` as a whole; JS7's default pattern is `[^.].*` (no hidden files). The order id comes
from JS7's `orderExpr` (`{orderId: …, priority: …}`) or the older `orderIdExpression`, evaluated with
`$0` (the name), `$1`… (the pattern's groups) and `$orderWatchPath`; without either it is JS7's
`file:<path>:<name>`. The order gets the argument `file`, the file's full path.

The key of a FileWatch is JS7's OrderWatchPath key, `OrderWatch:<path>`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from js7es.domain.expression import MapScope, evaluate, parse_expression
from js7es.domain.problem import Problem, problem
from js7es.domain.value import Value

FILE_ARGUMENT = "file"  # JS7's FileWatch.FileArgumentName
DEFAULT_PATTERN = "[^.].*"
KEY_PREFIX = "OrderWatch:"


@dataclass(frozen=True, slots=True, kw_only=True)
class FileWatch:
    path: str
    agent_path: str
    workflow_path: str
    directory_expr: str
    pattern: str | None = None
    order_expr: str | None = None
    order_id_expression: str | None = None
    delay_s: float = 0.0
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX}{self.path}"

    def match(self, name: str) -> re.Match[str] | None:
        return _compiled(self.pattern or DEFAULT_PATTERN).fullmatch(name)

    def order_id_and_priority(self, name: str, now_ms: int) -> tuple[str, int | None] | Problem:
        """JS7's externalToOrderAndPlanIdAndPriority: the order id (and priority) for a file name."""
        matched = self.match(name)
        if matched is None:
            return problem(
                "FileWatchPatternDoesntMatch",
                f"{self.key}: {name!r} does not match the pattern",
                orderWatchPath=self.path,
                externalOrderName=name,
            )
        default_id = f"file:{self.path}:{name}"
        named: dict[str, Value] = {"orderWatchPath": self.path, "0": matched.group(0)}
        for i, group in enumerate(matched.groups(), start=1):
            if group is not None:
                named[str(i)] = group
        scope = MapScope(named, now=now_ms)
        if self.order_expr is not None:
            value = _evaluate(self.order_expr, scope)
            if isinstance(value, Problem):
                return value
            if not isinstance(value, dict):
                return problem("ExpressionType", f"{self.key}: orderExpr must give an object")
            order_id = value.get("orderId", default_id)
            priority = value.get("priority")
            if not isinstance(order_id, str):
                return problem("ExpressionType", f"{self.key}: orderExpr's orderId must be a string")
            if priority is not None and (
                isinstance(priority, bool) or not isinstance(priority, (int, Decimal)) or priority != int(priority)
            ):
                return problem("ExpressionType", f"{self.key}: orderExpr's priority must be a whole number")
            return order_id, None if priority is None else int(priority)
        if self.order_id_expression is not None:
            value = _evaluate(self.order_id_expression, scope)
            if isinstance(value, Problem):
                return value
            if not isinstance(value, str):
                return problem("ExpressionType", f"{self.key}: orderIdExpression must give a string")
            return value, None
        return default_id, None


def _evaluate(text: str, scope: MapScope) -> Value | Problem:
    expression = parse_expression(text)
    if isinstance(expression, Problem):
        return expression
    return evaluate(expression, scope)


_patterns: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    compiled = _patterns.get(pattern)
    if compiled is None:
        compiled = _patterns[pattern] = re.compile(pattern)
    return compiled


def _string_constant(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def parse_file_watch(obj: Mapping[str, Any], path: str) -> FileWatch | Problem:
    key = f"{KEY_PREFIX}{path}"

    def bad(message: str) -> Problem:
        return problem("InvalidItem", f"FileWatch {path}: {message}", key=key)

    for name in ("agentPath", "workflowPath"):
        value = obj.get(name)
        if not isinstance(value, str) or not value:
            return bad(f"{name} must be a name")
    directory_expr = obj.get("directoryExpr")
    if directory_expr is None:  # JS7 before 2.0.1: a plain directory name
        directory = obj.get("directory")
        if not isinstance(directory, str) or not directory:
            return bad("needs directoryExpr (or directory)")
        directory_expr = _string_constant(directory)
    for name, text in (
        ("directoryExpr", directory_expr),
        ("orderExpr", obj.get("orderExpr")),
        ("orderIdExpression", obj.get("orderIdExpression")),
    ):
        if text is None:
            continue
        if not isinstance(text, str):
            return bad(f"{name} must be an expression string")
        parsed = parse_expression(text)
        if isinstance(parsed, Problem):
            return problem("InvalidExpression", f"FileWatch {path}: {name}: {parsed.message}", key=key)
    if obj.get("orderExpr") is not None and obj.get("orderIdExpression") is not None:
        return bad("orderExpr cannot be combined with legacy orderIdExpression")
    pattern = obj.get("pattern")
    if pattern is not None:
        if not isinstance(pattern, str):
            return bad("pattern must be a string")
        try:
            re.compile(pattern)
        except re.error as e:
            return problem("InvalidPattern", f"FileWatch {path}: bad pattern {pattern!r}: {e}", key=key)
    delay = obj.get("delay", 0)
    if isinstance(delay, bool) or not isinstance(delay, (int, float, Decimal)) or delay < 0:
        return bad("delay must be a number of seconds >= 0")
    return FileWatch(
        path=path,
        agent_path=obj["agentPath"],
        workflow_path=obj["workflowPath"],
        directory_expr=directory_expr,
        pattern=pattern,
        order_expr=obj.get("orderExpr"),
        order_id_expression=obj.get("orderIdExpression"),
        delay_s=float(delay),
        raw=dict(obj),
    )
