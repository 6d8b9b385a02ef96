"""Reading request bodies strictly: Content-Type, a size limit enforced while streaming, exact JSON.

`read_json` and `read_ndjson` return the decoded value or a coded Problem (never raise for bad input):

- ``UnsupportedMediaType`` (415): the Content-Type is not the expected one (a ``charset`` other than
  UTF-8 counts as wrong);
- ``PayloadTooLarge`` (413): a Content-Length above the limit is refused before reading; a chunked
  body is read only until it passes the limit;
- ``InvalidJson`` (400): invalid UTF-8 or JSON, a duplicate key, NaN/Infinity, or nesting too deep;
  the arguments give ``position`` (byte offset for UTF-8, character offset for JSON), ``line``
  and ``column``.

JSON numbers with a fraction decode as `Decimal` (as everywhere in js7es), integers as `int`.

Then `Shape` (or `check_fields`) checks an object's fields: unknown fields are refused (JS7's
decoders refuse them too, and a typo must not be silently ignored), required ones must be there, and
each has its JSON type::

    ADD_ORDER = Shape("AddOrder", required={"id": STRING, "workflowPath": STRING},
                      optional={"arguments": OBJECT, "scheduledFor": INTEGER})
    obj = ADD_ORDER.check(await read_json(request))   # -> dict | Problem
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.requests import Request

from js7es.domain.problem import Problem, problem
from js7es.nodes.http.responses import JSON, NDJSON

MAX_BODY_BYTES = 8 * 1024 * 1024  # JS7's limit for commands (8m)

JsonType = type | tuple[type, ...]
STRING: JsonType = str
INTEGER: JsonType = int
NUMBER: JsonType = (int, Decimal, float)
BOOLEAN: JsonType = bool
OBJECT: JsonType = dict
ARRAY: JsonType = list
NULL: JsonType = type(None)
ANY: JsonType = object

_JSON_NAMES = {str: "string", int: "integer", Decimal: "number", float: "number", bool: "boolean",
               dict: "object", list: "array", type(None): "null", object: "any"}  # fmt: skip


def media_type(request: Request) -> tuple[str, dict[str, str]]:
    """The Content-Type's media type (lower case) and its parameters."""
    kind, *params = request.headers.get("content-type", "").split(";")
    parsed = {}
    for param in params:
        name, _, value = param.partition("=")
        parsed[name.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), parsed


def is_ndjson(request: Request) -> bool:
    return media_type(request)[0] in (NDJSON, "application/ndjson")


def _check_media_type(request: Request, accepted: tuple[str, ...]) -> Problem | None:
    kind, params = media_type(request)
    if kind not in accepted or params.get("charset", "utf-8") != "utf-8":
        return problem(
            "UnsupportedMediaType",
            f"Content-Type {request.headers.get('content-type', '(none)')!r} is not accepted, expected {accepted[0]}",
            expected=accepted[0],
        )
    return None


def too_large(max_bytes: int) -> Problem:
    return problem("PayloadTooLarge", f"The request body exceeds {max_bytes} bytes", maxBytes=max_bytes)


async def read_limited(request: Request, max_bytes: int = MAX_BODY_BYTES) -> bytes | Problem:
    """The raw body, or PayloadTooLarge as soon as more than `max_bytes` arrived (the rest is not read)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            return problem("BadRequest", "Invalid Content-Length header")
        if int(declared) > max_bytes:
            return too_large(max_bytes)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            return too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen.add(key)
    return result


def decode_json(data: bytes, *, where: str = "body") -> Any | Problem:
    """Strict JSON from UTF-8 bytes (see the module docstring)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return problem("InvalidJson", f"Invalid UTF-8 in {where} at byte {e.start}", position=e.start)
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        return problem(
            "InvalidJson",
            f"Invalid JSON in {where}: {e.msg} (line {e.lineno} column {e.colno})",
            position=e.pos,
            line=e.lineno,
            column=e.colno,
        )
    except ValueError as e:
        return problem("InvalidJson", f"Invalid JSON in {where}: {e}")
    except RecursionError:
        return problem("InvalidJson", f"Invalid JSON in {where}: nested too deeply")


async def read_json(request: Request, *, max_bytes: int = MAX_BODY_BYTES) -> Any | Problem:
    """The body as one JSON value (Content-Type application/json)."""
    refused = _check_media_type(request, (JSON,))
    if refused:
        return refused
    data = await read_limited(request, max_bytes)
    if isinstance(data, Problem):
        return data
    return decode_json(data)


async def read_ndjson(request: Request, *, max_bytes: int = MAX_BODY_BYTES) -> list[Any] | Problem:
    """The body as newline-delimited JSON (application/x-ndjson): one value per non-empty line."""
    refused = _check_media_type(request, (NDJSON, "application/ndjson"))
    if refused:
        return refused
    data = await read_limited(request, max_bytes)
    if isinstance(data, Problem):
        return data
    values = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            value = decode_json(line, where=f"line {number}")
            if isinstance(value, Problem):
                arguments = {**value.arguments, "line": str(number)}  # the line in the body, not in the value
                return Problem(code=value.code, message=value.message, arguments=arguments)
            values.append(value)
    return values


def json_type_name(kind: JsonType) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(dict.fromkeys(_JSON_NAMES.get(k, k.__name__) for k in kinds))


def has_json_type(value: Any, kind: JsonType) -> bool:
    if isinstance(value, bool):  # bool is an int in Python, not in JSON
        return kind is bool or kind is object or (isinstance(kind, tuple) and bool in kind)
    return isinstance(value, kind)


@dataclass(frozen=True, slots=True)
class Shape:
    """The fields of a JSON object: required and optional ones with their JSON types; nothing else.

    A ``TYPE`` field is always allowed (it is the discriminator the caller has already looked at).
    """

    where: str
    required: Mapping[str, JsonType] = field(default_factory=dict)
    optional: Mapping[str, JsonType] = field(default_factory=dict)

    def check(self, obj: Any) -> dict[str, Any] | Problem:
        """`obj` itself if it fits, else the first problem (UnknownField, MissingField, WrongType)."""
        if isinstance(obj, Problem):
            return obj
        if not isinstance(obj, dict):
            return wrong_type(self.where, obj, OBJECT)
        for name in obj:
            if name not in self.required and name not in self.optional and name != "TYPE":
                return problem("UnknownField", f"UnknownField: {name!r} in {self.where}", field=name, where=self.where)
        for name in self.required:
            if name not in obj:
                return problem("MissingField", f"MissingField: {name!r} in {self.where}", field=name, where=self.where)
        for fields in (self.required, self.optional):
            for name, kind in fields.items():
                if name in obj and not has_json_type(obj[name], kind):
                    return wrong_type(f"{self.where}.{name}", obj[name], kind)
        return obj


def wrong_type(where: str, value: Any, expected: JsonType) -> Problem:
    actual = json_type_name(type(value)) if type(value) in _JSON_NAMES else type(value).__name__
    return problem(
        "WrongType",
        f"WrongType: {where} must be {json_type_name(expected)}, not {actual}",
        where=where,
        expected=json_type_name(expected),
    )


def check_fields(
    obj: Any,
    *,
    required: Collection[str] | Mapping[str, JsonType] = (),
    optional: Collection[str] | Mapping[str, JsonType] = (),
    where: str,
) -> Problem | None:
    """Like `Shape(...).check(obj)`, for a one-off check; sets of names allow any type."""

    def typed(fields: Collection[str] | Mapping[str, JsonType]) -> Mapping[str, JsonType]:
        return fields if isinstance(fields, Mapping) else dict.fromkeys(fields, ANY)

    checked = Shape(where, typed(required), typed(optional)).check(obj)
    return checked if isinstance(checked, Problem) else None
