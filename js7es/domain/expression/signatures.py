"""Which function names are built in, and which arguments they take (checked when parsing)."""

from __future__ import annotations

from dataclasses import dataclass

from js7es.domain.expression.ast import Argument, Expression


@dataclass(frozen=True, slots=True)
class Signature:
    parameters: tuple[str, ...]
    required: int
    named: bool = False  # whether `name=` arguments are allowed

    def bind(self, function: str, arguments: tuple[Argument, ...]) -> tuple[Expression, ...] | str:
        """The arguments in parameter order (only the given ones), or an error message."""
        if not self.named and any(a.name is not None for a in arguments):
            return f"{function} function expects positional arguments only"
        if not self.required <= len(arguments) <= len(self.parameters):
            if self.required == len(self.parameters):
                return f"{function} function expects exactly {_count(self.required)}"
            return f"{function} function expects {self.required} to {len(self.parameters)} arguments"
        bound: list[Expression | None] = [None] * len(arguments)
        for i, argument in enumerate(arguments):
            index = i if argument.name is None else _index(self.parameters, argument.name)
            if index is None or index >= len(arguments) or bound[index] is not None:
                return f"{function} function: unexpected argument {argument.name or i + 1}"
            bound[index] = argument.expression
        return tuple(e for e in bound if e is not None)


def _index(parameters: tuple[str, ...], name: str) -> int | None:
    return parameters.index(name) if name in parameters else None


def _count(n: int) -> str:
    return {1: "one argument", 2: "two arguments", 3: "three arguments"}.get(n, f"{n} arguments")


SIGNATURES: dict[str, Signature] = {
    "toNumber": Signature(("value",), 1),
    "toBoolean": Signature(("value",), 1),
    "toString": Signature(("value",), 1),
    "stripMargin": Signature(("string",), 1),
    "mkString": Signature(("value",), 1),
    "replaceAll": Signature(("string", "pattern", "replacement"), 3),
    "match": Signature(("string", "pattern", "replacement"), 3),
    "substring": Signature(("string", "start", "end"), 2),
    "min": Signature(("a", "b"), 2),
    "max": Signature(("a", "b"), 2),
    "error": Signature(("message",), 1),
    "env": Signature(("name", "default"), 1, named=True),
    "now": Signature(("format", "timezone"), 1, named=True),
}

# Suffixes `x.toNumber` etc. (JS7 legacy syntax) mean the function applied to x.
DOT_FUNCTIONS = frozenset({"toNumber", "toBoolean", "toString", "stripMargin", "mkString"})

# JS7's argumentless functions, written without parentheses, mapped to the built-in named value
# that carries the same information in js7es.
SYMBOLS: dict[str, str] = {
    "orderId": "js7OrderId",
    "workflowPath": "js7WorkflowPath",
    "workflowPosition": "js7WorkflowPosition",
    "label": "js7Label",
    "job": "js7JobName",
    "controllerId": "js7ControllerId",
    "tryCount": "js7TryCount",
    "maxTries": "js7MaxTries",
    "timedOut": "js7TimedOut",
    "catchCount": "js7CatchCount",
}

KEYWORDS = frozenset(
    {"argument", "false", "else", "error", "in", "if", "matches", "missing", "then", "true", "variable"}
)
