"""JS7 values: strings, numbers (exact, as in JS7's BigDecimal), booleans, lists, objects, missing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Context, Decimal
from typing import Any, TypeAlias, Union

_EXACT = Context(prec=10_000)  # normalize() must not round (the default context has 28 digits)

# A number is an int when integral, else a Decimal; lists are tuples; objects are read-only mappings.
Value: TypeAlias = Union[str, bool, int, Decimal, tuple["Value", ...], Mapping[str, "Value"], None]  # noqa: UP007
NamedValues: TypeAlias = Mapping[str, Value]


def normalize_number(number: int | Decimal | float) -> int | Decimal:
    if isinstance(number, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(number, int):
        return number
    decimal = number if isinstance(number, Decimal) else Decimal(repr(number))
    if decimal.is_finite() and decimal == decimal.to_integral_value():
        return int(decimal)
    return decimal.normalize(_EXACT)


def value_from_json(obj: Any) -> Value:
    """Convert a value parsed by `json` (with parse_float=Decimal or plain floats) into a Value."""
    if obj is None or isinstance(obj, (str, bool)):
        return obj
    if isinstance(obj, (int, float, Decimal)):
        return normalize_number(obj)
    if isinstance(obj, (list, tuple)):
        return tuple(value_from_json(v) for v in obj)
    if isinstance(obj, dict):
        return {str(k): value_from_json(v) for k, v in obj.items()}
    raise TypeError(f"not a JSON value: {type(obj).__name__}")


def value_to_json(value: Value) -> Any:
    """The JSON-compatible form of a Value (Decimals become floats only in `dumps`, see below)."""
    if isinstance(value, tuple):
        return [value_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: value_to_json(v) for k, v in value.items()}
    return value


def dumps(obj: Any) -> str:
    """Compact JSON of values and events; Decimals are written as JSON numbers."""
    return json.dumps(_exact(obj), separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _exact(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        # Written through float: exact for up to 15 significant digits, which JS7 values rarely exceed.
        return float(obj)
    if isinstance(obj, (list, tuple)):
        return [_exact(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: _exact(v) for k, v in obj.items()}
    return obj


def loads(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


def type_name(value: Value) -> str:
    if value is None:
        return "Missing"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, (int, Decimal)):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, tuple):
        return "List"
    return "Object"
