"""JS7 values: strings, numbers (exact, as in JS7's BigDecimal), booleans, lists, objects, missing."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
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
    """The JSON-compatible form of a Value (Decimals stay Decimals: `dumps` writes them exactly)."""
    if isinstance(value, tuple):
        return [value_to_json(v) for v in value]
    if isinstance(value, Mapping):
        return {k: value_to_json(v) for k, v in value.items()}
    return value


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """JSON of values and events, compact (or indented by `indent`); every digit of a Decimal is kept.

    JS7 numbers are BigDecimals, so a number is written exactly as it is held (never through float).
    The C encoder writes what holds no Decimal, in one pass; a Decimal makes it give up, and the exact
    writer below does the whole object (numbers with many digits are rare, events are small).
    """
    try:
        if indent is None and _c_encode is not None:
            return "".join(_c_encode(obj, 0))
        if indent is not None:
            return json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=indent, default=_no_decimal).encode(obj)
        return _fast_encoder.encode(obj)  # pragma: no cover - an interpreter without the C accelerator
    except _HasDecimal:
        pass
    return "".join(_exact_chunks(obj, indent, 0))


class _HasDecimal(Exception):
    """The object holds a Decimal: the C encoder would need float for it, the exact writer takes over."""


def _no_decimal(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        raise _HasDecimal
    if isinstance(obj, Mapping):
        return dict(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


_fast_encoder = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False, default=_no_decimal
)
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
# Called directly: the JSONEncoder.encode wrapper costs as much again for a small event, and the
# journal encodes every event.
_c_encode = (
    None
    if _c_make_encoder is None
    else _c_make_encoder(None, _no_decimal, json.encoder.encode_basestring, None, ":", ",", False, False, False)
)
_encode_string = json.encoder.encode_basestring


def number_text(number: Decimal) -> str:
    """A Decimal as a JSON number with all its digits (Decimal("1E+2") stays 1E+2, a valid JSON number)."""
    if not number.is_finite():
        raise ValueError(f"Out of range float values are not JSON compliant: {number}")
    return str(number)


def _scalar_text(obj: Any) -> str | None:
    """null, true, false, an int or a float as the stdlib encoder writes them; None for anything else."""
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, int):
        return int.__repr__(obj)
    if isinstance(obj, float):
        return _float_text(obj)
    return None


def _key_text(key: Any) -> str:
    # The keys the stdlib encoder accepts, converted as it converts them.
    if isinstance(key, str):
        return key
    text = _scalar_text(key)
    if text is None:
        raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")
    return text


def _float_text(number: float) -> str:
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"Out of range float values are not JSON compliant: {number!r}")
    return float.__repr__(number)


def _exact_chunks(obj: Any, indent: int | None, level: int) -> Iterator[str]:
    if isinstance(obj, str):
        yield _encode_string(obj)
    elif isinstance(obj, Decimal):
        yield number_text(obj)
    elif (text := _scalar_text(obj)) is not None:
        yield text
    elif isinstance(obj, (list, tuple)):
        if not obj:
            yield "[]"
            return
        inner, close, separator = _layout(indent, level)
        yield "[" + inner
        for i, item in enumerate(obj):
            if i:
                yield separator
            yield from _exact_chunks(item, indent, level + 1)
        yield close + "]"
    elif isinstance(obj, Mapping):
        if not obj:
            yield "{}"
            return
        inner, close, separator = _layout(indent, level)
        yield "{" + inner
        colon = ":" if indent is None else ": "
        for i, (key, item) in enumerate(obj.items()):
            if i:
                yield separator
            yield _encode_string(_key_text(key)) + colon
            yield from _exact_chunks(item, indent, level + 1)
        yield close + "}"
    else:
        raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def _layout(indent: int | None, level: int) -> tuple[str, str, str]:
    """(after the opening bracket, before the closing one, between items) as json.dumps lays them out."""
    if indent is None:
        return "", "", ","
    inner = "\n" + " " * (indent * (level + 1))
    return inner, "\n" + " " * (indent * level), "," + inner


_DECODER = json.JSONDecoder(parse_float=Decimal)


def loads(text: str | bytes) -> Any:
    """json.loads with Decimal numbers — through one decoder: json.loads makes a new JSONDecoder per call
    when given an argument (2 % of the Controller's loop thread in bench/node_bench.py's profile)."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode(json.detect_encoding(text), "surrogatepass")  # as json.loads does
    elif not isinstance(text, str):
        raise TypeError(f"the JSON object must be str, bytes or bytearray, not {type(text).__name__}")
    if text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _DECODER.decode(text)


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
