"""Avro schemas of the events, generated from the event dataclasses, and the Avro codec of `Stamped`.

The schemas are never written by hand: every registered dataclass becomes one record
("js7es.events.<TYPE>" for events, "js7es.types.<TYPE>" for the classes nested in them, or the class's
AVRO_NAME where two families share a JSON TYPE), with the field names of the JSON codec (camelCase).
The mapping of field types:

- str, int, bool, float → string, long, boolean, double;
- `X | None` → ["null", X] with default null;
- `tuple[X, ...]` → array of X; `Mapping[str, X]` → map of X; positions `tuple[int | str, ...]` →
  array of ["long", "string"];
- `Literal[...]` → string (doc lists the values): a string reads any future value, an Avro enum would
  make every old reader fail on a new symbol unless it declared an enum default;
- a number of JS7's BigDecimal kind (`int | Decimal`, e.g. an order's priority) → union of long (a whole
  number, as v5 wrote priorities) and string holding its exact decimal text ("1.5", "-3.25"), null when
  optional and absent;
- JS7's PositionOrLabel (`Position | str`) → union of string (a label) and the position's array;
- a JS7 `Value` → string holding the value's JSON text, numbers written exactly (a Decimal keeps every
  digit); `NamedValues` → map of such JSON texts, so that a consumer sees the names without parsing;
- a field typed by a base class → union of the records of all registered subclasses (sorted by TYPE;
  the branch of a dataclass default first, because Avro defaults belong to the first branch);
- a dataclass default → the Avro default, so that a field added later with a default evolves compatibly.

The envelope record "js7es.Stamped" {eventId, timestamp (timestamp-millis), key, event: union of every
event record} is the contract. `AvroCodec` writes it in Avro's *single-object encoding*: C3 01, the
8-byte little-endian CRC-64-AVRO fingerprint of the envelope's Parsing Canonical Form, then the Avro
binary body. Readers look the fingerprint up among every released schema version under `schemas/` and
resolve it to the current schema; bytes of an unknown writer schema are refused, never guessed at.

`python -m js7es.journal.avro --check` compares `schemas/` with the code; `--write` regenerates it.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import io
import itertools
import json
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import fastavro
from fastavro.schema import to_parsing_canonical_form

from js7es.domain import codec
from js7es.domain.event import Event, Stamped
from js7es.domain.events import EVENTS

Schema = Any  # Avro schema JSON: a str, a list (union) or a dict
_Converter = Callable[[Any], Any]

EVENTS_NAMESPACE = "js7es.events"
TYPES_NAMESPACE = "js7es.types"
ENVELOPE_NAME = "js7es.Stamped"
ENVELOPE_FILE = "envelope.avsc"
TYPES_FILE = "types.avsc"
SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
SINGLE_OBJECT_MARKER = b"\xc3\x01"
HEADER_SIZE = 10

VALUE_DOC = "JSON text of a JS7 value"
NAMED_VALUES_DOC = "Map of name to the JSON text of a JS7 value"
POSITION_DOC = 'Workflow position: instruction numbers and branch ids, e.g. [1, "then", 0]'
# JS7's BigDecimal: a whole number as a long (so that v5's long priorities stay readable), any other as its
# exact decimal text.
NUMBER_BRANCHES = ("long", "string")
NUMBER_DOC = 'A number (JS7\'s BigDecimal): a long when whole, else its exact decimal text, e.g. "1.5", "-3.25"'


class AvroCodecError(ValueError):
    """Bytes that are not a js7es single-object Avro event (unknown writer schema, bad framing)."""


# ---------------------------------------------------------------------------------------------------
# Type hints, resolved as the JSON codec resolves them


class _ValueMarker:
    """Stands in for the recursive `Value` alias, which get_type_hints cannot evaluate."""


_HINT_NAMES: dict[str, Any] = {"Value": _ValueMarker}
_hints_cache: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _hints_cache.get(cls)
    if hints is None:
        module_globals = dict(vars(sys.modules[cls.__module__]))
        module_globals.update(_HINT_NAMES)
        hints = get_type_hints(cls, globalns=module_globals, localns=_HINT_NAMES)
        _hints_cache[cls] = hints
    return hints


def _is_value(hint: Any) -> bool:
    return hint is _ValueMarker or (
        get_origin(hint) in (Union, types.UnionType) and Decimal in get_args(hint) and str in get_args(hint)
    )


def _is_number(hint: Any) -> bool:
    """`int | Decimal` (optionally `| None`): a number as JS7's BigDecimal, an int when whole."""
    args = set(get_args(hint)) - {type(None)}
    return get_origin(hint) in (Union, types.UnionType) and args == {int, Decimal}


def _is_position_or_label(hint: Any) -> bool:
    """`Position | str`: JS7's PositionOrLabel."""
    args = get_args(hint)
    return (
        get_origin(hint) in (Union, types.UnionType)
        and len(args) == 2
        and str in args
        and any(get_origin(a) is tuple and _is_scalar_union(get_args(a)[0]) for a in args)
    )


def _number_datum(value: Any) -> Any:
    """A whole number as a long (as v5 wrote an order's priority), any other as its exact text."""
    return value if isinstance(value, int) else str(value)


def _number_of_datum(datum: Any) -> Any:
    if isinstance(datum, int):
        return datum
    from js7es.domain.value import normalize_number

    return normalize_number(Decimal(datum))


def _is_mapping(hint: Any) -> bool:
    origin = get_origin(hint)
    return origin in (dict, Mapping, typing.Mapping) or (isinstance(origin, type) and issubclass(origin, Mapping))


def _optional_inner(hint: Any) -> Any | None:
    """X for `X | None`, else None."""
    if get_origin(hint) in (Union, types.UnionType) and not _is_value(hint):
        args = get_args(hint)
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1 and len(args) == 2:
            return non_none[0]
    return None


def _is_scalar_union(hint: Any) -> bool:
    """`int | str`, the element of a position."""
    args = get_args(hint)
    return get_origin(hint) in (Union, types.UnionType) and bool(args) and all(a in (str, int) for a in args)


def _record_classes(hint: Any) -> list[type[Any]] | None:
    """The registered classes a field typed `hint` may hold, sorted by record name (the order of a union's
    branches, which is part of the wire format); None if not a dataclass type."""
    if not (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
        return None
    found = sorted((record_name(c), c) for c in codec.registered(hint).values() if _in_contract(c))
    if not found:
        raise TypeError(f"no registered class for the field type {hint.__name__}")
    return [cls for _, cls in found]


def _in_contract(cls: type[Any]) -> bool:
    """Classes of the js7es package; tests register their own events, which are no part of the contract."""
    return cls.__module__ == "js7es" or cls.__module__.startswith("js7es.")


def record_name(cls: type[Any]) -> str:
    """The Avro record's full name: the JSON TYPE, unless the class gives an AVRO_NAME (Avro needs one
    name per record in a schema, where JSON tells two equal TYPEs apart by the field's type)."""
    namespace = EVENTS_NAMESPACE if issubclass(cls, Event) else TYPES_NAMESPACE
    return f"{namespace}.{getattr(cls, 'AVRO_NAME', None) or codec.type_name_of(cls)}"


def _has_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def _default_of(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()  # type: ignore[operator]


# ---------------------------------------------------------------------------------------------------
# Schema generation


class _SchemaBuilder:
    """Emits named records inline at their first use and by full name afterwards (Avro's rule)."""

    def __init__(self) -> None:
        self.defined: set[str] = set()

    def record(self, cls: type[Any]) -> Schema:
        name = record_name(cls)
        if name in self.defined:
            return name
        self.defined.add(name)  # before the fields: records may be recursive (TimedOut.outcome)
        hints = _hints(cls)
        fields = []
        for f in dataclasses.fields(cls):
            hint = hints[f.name]
            has_default = _has_default(f)
            default = _default_of(f) if has_default else None
            field: dict[str, Any] = {"name": codec.camel(f.name)}
            field.update(self.field_type(hint, default))
            if has_default:
                field["default"] = _avro_default(hint, default)
            elif _optional_inner(hint) is not None:
                field["default"] = None
            fields.append(field)
        return {"type": "record", "name": name, "fields": fields}

    def field_type(self, hint: Any, default: Any = None) -> dict[str, Any]:
        """{"type": ..., optionally "doc": ...} for a field; `default` orders the union branches."""
        if _is_number(hint):
            optional = type(None) in get_args(hint)
            return {"type": ["null", *NUMBER_BRANCHES] if optional else list(NUMBER_BRANCHES), "doc": NUMBER_DOC}
        inner = _optional_inner(hint)
        if inner is not None:
            branches = self._branches(inner, default)
            return {
                "type": ["null", *branches] if default is None else [*branches, "null"],
                **_doc_of(inner),
            }
        classes = _record_classes(hint)
        if classes is not None and (len(classes) > 1 or classes[0] is not hint):
            return {"type": self._branches(hint, default)}
        return {"type": self.type_of(hint), **_doc_of(hint)}

    def _branches(self, hint: Any, default: Any) -> list[Schema]:
        classes = _record_classes(hint)
        if classes is None:
            return [self.type_of(hint)]
        if default is not None and type(default) in classes:
            classes = [type(default), *(c for c in classes if c is not type(default))]
        return [self.record(c) for c in classes]

    def type_of(self, hint: Any) -> Schema:
        if _is_value(hint):
            return "string"
        if _is_number(hint) and type(None) not in get_args(hint):
            return list(NUMBER_BRANCHES)
        if _is_position_or_label(hint):
            return ["string", {"type": "array", "items": ["long", "string"]}]
        if hint is str:
            return "string"
        if hint is bool:
            return "boolean"
        if hint is int:
            return "long"
        if hint is float:
            return "double"
        origin = get_origin(hint)
        args = get_args(hint)
        if origin is typing.Literal and all(isinstance(a, str) for a in args):
            return "string"
        if _is_scalar_union(hint):
            return [{int: "long", str: "string"}[a] for a in args]
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": self._item_type(args[0])}
        if _is_mapping(hint) and args and args[0] is str:
            return {"type": "map", "values": self._item_type(args[1])}
        classes = _record_classes(hint)
        if classes is not None:
            return self._branches(hint, None) if len(classes) > 1 or classes[0] is not hint else self.record(hint)
        raise TypeError(f"no Avro mapping for the type {hint!r}")

    def _item_type(self, hint: Any) -> Schema:
        if _optional_inner(hint) is not None:
            return ["null", *self._branches(_optional_inner(hint), None)]
        return self.type_of(hint)


def _doc_of(hint: Any) -> dict[str, str]:
    if _is_value(hint):
        return {"doc": VALUE_DOC}
    if _is_mapping(hint) and _is_value(get_args(hint)[1]):
        return {"doc": NAMED_VALUES_DOC}
    if get_origin(hint) is tuple and _is_scalar_union(get_args(hint)[0]):
        return {"doc": POSITION_DOC}
    if get_origin(hint) is tuple and _is_position_or_label(get_args(hint)[0]):
        return {"doc": 'Each a label (string) or a workflow position (array), e.g. [[2], "LABEL"]'}
    if get_origin(hint) is typing.Literal:
        return {"doc": "One of: " + ", ".join(get_args(hint))}
    return {}


def _avro_default(hint: Any, value: Any) -> Any:
    """A dataclass default in Avro's JSON form of defaults (the first union branch's encoding)."""
    if value is None:
        return None
    inner = _optional_inner(hint)
    return _to_json_datum(inner if inner is not None else hint, value)


def _to_json_datum(hint: Any, value: Any) -> Any:
    if _is_value(hint):
        return value_json(value)
    if _is_number(hint):
        return _number_datum(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        hints = _hints(type(value))
        return {
            codec.camel(f.name): _avro_default(hints[f.name], getattr(value, f.name)) for f in dataclasses.fields(value)
        }
    if isinstance(value, tuple):
        args = get_args(hint)
        return [_to_json_datum(args[0] if args else Any, v) for v in value]
    if isinstance(value, Mapping):
        args = get_args(hint)
        return {k: _to_json_datum(args[1] if args else Any, v) for k, v in value.items()}
    return value


def _event_family(cls: type[Any]) -> str:
    """'order-events' for subclasses of OrderEvent: the base class right below Event names the family."""
    mro = cls.__mro__
    base = mro[mro.index(Event) - 1] if Event in mro[1:] else cls
    stem = base.__name__.removesuffix("Event") or "other"
    return re.sub(r"(?<!^)(?=[A-Z])", "-", stem).lower() + "-events"


def envelope_schema() -> dict[str, Any]:
    """The self-contained envelope schema: js7es.Stamped with the union of every event record."""
    builder = _SchemaBuilder()
    events = [builder.record(cls) for _, cls in sorted(contract_event_classes().items())]
    return {
        "type": "record",
        "name": ENVELOPE_NAME,
        "doc": "A committed js7es event with its EventId, timestamp and key (JS7's Stamped KeyedEvent)",
        "fields": [
            {"name": "eventId", "type": "long", "doc": "The journal position; strictly increasing"},
            {"name": "timestamp", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "key", "type": "string", "doc": "The order id, item key, or empty for node events"},
            {"name": "event", "type": events},
        ],
    }


def contract_event_classes() -> dict[str, type[Event]]:
    """Every event class of js7es, by TYPE (the registry of js7es.domain.events)."""
    return dict(EVENTS)


def generate_schemas() -> dict[str, Schema]:
    """File name → schema: the envelope, one union per event family, and the shared types.

    Every file is self-contained (nested records are defined inline where first used), so each one
    loads on its own with any Avro library; the envelope is the one that frames the bytes.
    """
    classes = contract_event_classes()
    families: dict[str, list[type[Any]]] = {}
    for _, cls in sorted(classes.items()):
        families.setdefault(_event_family(cls), []).append(cls)
    result: dict[str, Schema] = {ENVELOPE_FILE: envelope_schema()}
    for family, members in sorted(families.items()):
        builder = _SchemaBuilder()
        result[f"{family}.avsc"] = [builder.record(cls) for cls in members]
    builder = _SchemaBuilder()
    result[TYPES_FILE] = [builder.record(cls) for cls in _nested_classes(classes.values())]
    return result


def _nested_classes(roots: Iterable[type[Any]]) -> list[type[Any]]:
    """The non-event records reachable from `roots`, each after the records it uses (but for cycles),
    so that types.avsc defines most of them at its top level."""
    ordered: list[type[Any]] = []
    seen: set[type[Any]] = set()

    def visit(cls: type[Any]) -> None:
        if cls in seen:
            return
        seen.add(cls)
        for hint in _hints(cls).values():
            for used in sorted(_classes_in(hint), key=record_name):
                visit(used)
        if not issubclass(cls, Event):
            ordered.append(cls)

    for root in sorted(roots, key=record_name):
        visit(root)
    return ordered


def _classes_in(hint: Any) -> list[type[Any]]:
    if _is_value(hint):
        return []
    classes = _record_classes(hint)
    if classes is not None:
        return classes
    return [c for a in get_args(hint) if a is not Ellipsis for c in _classes_in(a)]


def schema_text(schema: Schema) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------------
# Versions under schemas/


def schema_versions(root: Path = SCHEMAS_DIR) -> list[tuple[int, Path]]:
    """The released versions (vN directories), oldest first."""
    if not root.is_dir():
        return []
    found = [(int(p.name[1:]), p) for p in root.iterdir() if p.is_dir() and re.fullmatch(r"v[1-9]\d*", p.name)]
    return sorted(found)


def load_schema(directory: Path | None = None) -> dict[str, Any]:
    """The envelope schema of a version directory (default: the current one, the highest vN)."""
    if directory is None:
        versions = schema_versions()
        if not versions:
            raise FileNotFoundError(f"no schema version under {SCHEMAS_DIR}")
        directory = versions[-1][1]
    schema: dict[str, Any] = json.loads((directory / ENVELOPE_FILE).read_text(encoding="utf-8"))
    return schema


def _read_files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.avsc"))}


# ---------------------------------------------------------------------------------------------------
# Fingerprints (CRC-64-AVRO, the Rabin fingerprint of the Avro specification)

_EMPTY64 = 0xC15D213AA4D7A795
_MASK64 = 0xFFFFFFFFFFFFFFFF


def _fp_table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY64 & (-(fp & 1) & _MASK64))
        table.append(fp)
    return table


_FP_TABLE = _fp_table()


def canonical_form(schema: Schema) -> str:
    return str(to_parsing_canonical_form(schema))


def fingerprint(schema: Schema) -> bytes:
    """The 8 bytes of the single-object header: CRC-64-AVRO of the Parsing Canonical Form, little-endian."""
    fp = _EMPTY64
    for byte in canonical_form(schema).encode("utf-8"):
        fp = (fp >> 8) ^ _FP_TABLE[(fp ^ byte) & 0xFF]
    return fp.to_bytes(8, "little")


# ---------------------------------------------------------------------------------------------------
# Schema compatibility (Avro's schema resolution rules)

_PROMOTIONS = {
    ("int", "long"),
    ("int", "float"),
    ("int", "double"),
    ("long", "float"),
    ("long", "double"),
    ("float", "double"),
    ("string", "bytes"),
    ("bytes", "string"),
}


def check_compatible(old: Schema, new: Schema) -> list[str]:
    """Problems that keep a reader with schema `new` from reading data written with schema `old`.

    Empty means compatible. The rules are Avro's schema resolution: a reader field missing in the
    writer needs a default; writer fields unknown to the reader are skipped; each writer union branch
    must be readable by the reader; primitives may only be promoted (int → long → float → double).
    Named types are referenced by full name, as `generate_schemas` writes them."""
    checker = _Compatibility(old, new)
    checker.check(checker.old_root, checker.new_root, "")
    return checker.problems


class _Compatibility:
    def __init__(self, old: Schema, new: Schema) -> None:
        self.old_names: dict[str, dict[str, Any]] = {}
        self.new_names: dict[str, dict[str, Any]] = {}
        self.old_root = self._index(old, self.old_names, None)
        self.new_root = self._index(new, self.new_names, None)
        self.assumed: set[tuple[str, str]] = set()
        self.problems: list[str] = []

    def _index(self, schema: Schema, names: dict[str, dict[str, Any]], namespace: str | None) -> Schema:
        """Collects named types by full name; returns the schema with name references left as names."""
        if isinstance(schema, list):
            for s in schema:
                self._index(s, names, namespace)
        elif isinstance(schema, dict):
            kind = schema.get("type")
            if kind in ("record", "error", "enum", "fixed"):
                full = _fullname(schema["name"], schema.get("namespace", namespace))
                names[full] = schema
                ns = full.rpartition(".")[0] or None
                for f in schema.get("fields", ()):
                    self._index(f["type"], names, ns)
            elif kind == "array":
                self._index(schema["items"], names, namespace)
            elif kind == "map":
                self._index(schema["values"], names, namespace)
        return schema

    def _resolve(self, schema: Schema, names: dict[str, dict[str, Any]]) -> Schema:
        if isinstance(schema, str) and schema in names:
            return names[schema]
        if isinstance(schema, dict) and isinstance(schema.get("type"), (dict, list)) and len(schema) == 1:
            return schema["type"]
        if isinstance(schema, dict) and schema.get("type") in _PRIMITIVES:
            return schema["type"]  # logical types resolve as their underlying type
        return schema

    def check(self, writer: Schema, reader: Schema, path: str) -> None:
        writer = self._resolve(writer, self.old_names)
        reader = self._resolve(reader, self.new_names)
        if isinstance(writer, list):  # every branch the writer may have written must be readable
            for branch in writer:
                self.check(branch, reader, path)
            return
        if isinstance(reader, list):  # the first reader branch that matches the writer's type is used
            branches = [self._resolve(b, self.new_names) for b in reader]
            match = next((b for b in branches if _matches(writer, b, exact=True)), None)
            match = match or next((b for b in branches if _matches(writer, b, exact=False)), None)
            if match is None:
                self.problems.append(
                    f"{path or '/'}: the reader's union has no branch for the writer's {_label(writer)}"
                )
            else:
                self.check(writer, match, path)
            return
        wkind, rkind = _kind(writer), _kind(reader)
        if wkind in _PRIMITIVES or rkind in _PRIMITIVES:
            if wkind != rkind and (wkind, rkind) not in _PROMOTIONS:
                self.problems.append(f"{path or '/'}: writer {wkind} cannot be read as {rkind}")
            return
        if wkind != rkind:
            self.problems.append(f"{path or '/'}: writer {wkind} cannot be read as {rkind}")
            return
        if wkind == "array":
            self.check(writer["items"], reader["items"], path + "[]")
        elif wkind == "map":
            self.check(writer["values"], reader["values"], path + "{}")
        elif wkind in ("record", "error"):
            self._check_record(writer, reader, path)
        elif wkind == "enum":
            missing = set(writer["symbols"]) - set(reader["symbols"])
            if missing and "default" not in reader:
                self.problems.append(f"{path or '/'}: enum symbols {sorted(missing)} unknown to the reader")
        elif wkind == "fixed" and (writer.get("size") != reader.get("size") or not _same_name(writer, reader)):
            self.problems.append(f"{path or '/'}: fixed types differ")

    def _check_record(self, writer: dict[str, Any], reader: dict[str, Any], path: str) -> None:
        wname, rname = writer["name"], reader["name"]
        if not _same_name(writer, reader):
            self.problems.append(f"{path or '/'}: record {wname} cannot be read as {rname}")
            return
        if (wname, rname) in self.assumed:
            return
        self.assumed.add((wname, rname))
        writer_fields = {f["name"]: f for f in writer["fields"]}
        for rfield in reader["fields"]:
            names = [rfield["name"], *rfield.get("aliases", ())]
            wfield = next((writer_fields[n] for n in names if n in writer_fields), None)
            here = f"{rname}.{rfield['name']}"
            if wfield is None:
                if "default" not in rfield:
                    self.problems.append(f"{here}: new field without a default")
            else:
                self.check(wfield["type"], rfield["type"], here)


_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _kind(schema: Schema) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    return str(schema["type"])


def _fullname(name: str, namespace: str | None) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _matches(writer: Schema, reader: Schema, *, exact: bool) -> bool:
    wkind, rkind = _kind(writer), _kind(reader)
    if wkind == rkind:
        return _same_name(writer, reader)
    return not exact and (wkind, rkind) in _PROMOTIONS


def _same_name(writer: Schema, reader: Schema) -> bool:
    if not (isinstance(writer, dict) and isinstance(reader, dict) and "name" in writer and "name" in reader):
        return True  # only named types (record, enum, fixed) are matched by name
    w, r = writer["name"].rpartition(".")[2], reader["name"].rpartition(".")[2]
    return w == r or writer["name"] in reader.get("aliases", ())


def _label(schema: Schema) -> str:
    return schema["name"] if isinstance(schema, dict) and "name" in schema else _kind(schema)


# ---------------------------------------------------------------------------------------------------
# Values as exact JSON text


def value_json(value: Any) -> str:
    """The JSON text of a JS7 value; a Decimal is written with all its digits (no float rounding)."""
    if value is None or isinstance(value, str | bool | int):
        return _json_str(value)
    return "".join(_value_chunks(value))


def _value_chunks(value: Any) -> Iterator[str]:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a JSON number: {value}")
        text = str(value)
        # "5" would read back as an int: an exponent keeps a Decimal a Decimal (5E0 is Decimal("5")).
        yield text if "." in text or "E" in text else text + "E0"
    elif isinstance(value, tuple | list):
        yield "["
        for k, item in enumerate(value):
            if k:
                yield ","
            yield from _value_chunks(item)
        yield "]"
    elif isinstance(value, Mapping):
        yield "{"
        for k, (name, item) in enumerate(value.items()):
            if k:
                yield ","
            yield _json_str(name)
            yield ":"
            yield from _value_chunks(item)
        yield "}"
    elif value is None or isinstance(value, str | bool | int):
        yield _json_str(value)
    else:
        raise TypeError(f"not a JS7 value: {type(value).__name__}")


_json_str = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_json_decode = json.JSONDecoder(parse_float=Decimal).decode


def value_from_json_text(text: str) -> Any:
    """The JS7 value of a JSON text, lists as tuples, numbers exactly as written (no normalization)."""
    return _thaw(_json_decode(text))


def _thaw(obj: Any) -> Any:
    if isinstance(obj, list):
        return tuple(_thaw(v) for v in obj)
    if isinstance(obj, dict):
        return {k: _thaw(v) for k, v in obj.items()}
    return obj


# ---------------------------------------------------------------------------------------------------
# Dataclass ↔ Avro datum, compiled once per class

_encoders: dict[type[Any], _Converter] = {}
_decoders: dict[str, _Converter] = {}  # by record full name


def _identity(v: Any) -> Any:
    return v


def _field_converters(hint: Any, in_union: bool = False) -> tuple[_Converter, _Converter]:
    """(to Avro datum, from Avro datum) for a field type; records in a union are tagged with their name."""
    if _is_value(hint):
        return value_json, value_from_json_text
    if _is_number(hint):
        if type(None) in get_args(hint):
            return (lambda v: None if v is None else _number_datum(v)), (
                lambda v: None if v is None else _number_of_datum(v)
            )
        return _number_datum, _number_of_datum
    if _is_position_or_label(hint):
        return (lambda v: v if isinstance(v, str) else list(v)), (lambda v: v if isinstance(v, str) else tuple(v))
    if hint in (str, bool, int, float) or _is_scalar_union(hint) or get_origin(hint) is typing.Literal:
        return _identity, _identity
    inner = _optional_inner(hint)
    if inner is not None:
        enc, dec = _field_converters(inner, in_union=True)
        return (lambda v: None if v is None else enc(v)), (lambda v: None if v is None else dec(v))
    origin = get_origin(hint)
    args = get_args(hint)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if args[0] in (str, int, bool, float) or _is_scalar_union(args[0]):
            return list, tuple  # a tuple in a union would be read by fastavro as (branch name, value)
        ienc, idec = _field_converters(args[0])
        return (lambda v: [ienc(x) for x in v]), (lambda v: tuple(idec(x) for x in v))
    if _is_mapping(hint):
        venc, vdec = _field_converters(args[1])
        return (lambda v: {k: venc(x) for k, x in v.items()}), (lambda v: {k: vdec(x) for k, x in v.items()})
    classes = _record_classes(hint)
    if classes is not None:
        if in_union or len(classes) > 1 or classes[0] is not hint:
            return _encode_tagged, _decode_tagged
        cls = classes[0]
        return (lambda v: _encoder_for(cls)(v)), (lambda v: _decoder_for(record_name(cls))(v))
    raise TypeError(f"no Avro mapping for the type {hint!r}")


def _encoder_for(cls: type[Any]) -> _Converter:
    return _encoders.get(cls) or _compile(cls)[0]


def _decoder_for(name: str) -> _Converter:
    decoder = _decoders.get(name)
    if decoder is None:
        cls = {record_name(c): c for c in codec.registered_classes()}.get(name)
        if cls is None:
            raise AvroCodecError(f"no registered class for the record {name}")
        decoder = _compile(cls)[1]
    return decoder


def _encode_tagged(obj: Any) -> tuple[str, dict[str, Any]]:
    """fastavro's explicit union branch: (record full name, record)."""
    cls = type(obj)
    return record_name(cls), _encoder_for(cls)(obj)


def _decode_tagged(datum: Any) -> Any:
    if not isinstance(datum, tuple):  # union branches are read with return_record_name=True
        raise AvroCodecError(f"expected a named union branch, got {type(datum).__name__}")
    name, record = datum
    return _decoder_for(name)(record)


def _compile(cls: type[Any]) -> tuple[_Converter, _Converter]:
    hints = _hints(cls)
    fields = [(f.name, codec.camel(f.name), *_field_converters(hints[f.name])) for f in dataclasses.fields(cls)]

    def encode_record(obj: Any) -> dict[str, Any]:
        return {avro_name: enc(getattr(obj, name)) for name, avro_name, enc, _ in fields}

    def decode_record(record: Mapping[str, Any]) -> Any:
        # Fields of a newer writer that this class does not know are not in `record` (resolution drops them).
        return cls(**{name: dec(record[avro_name]) for name, avro_name, _, dec in fields})

    _encoders[cls] = encode_record
    _decoders[record_name(cls)] = decode_record
    return encode_record, decode_record


# ---------------------------------------------------------------------------------------------------
# The codec

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


class AvroCodec:
    """Stamped events ↔ Avro single-object encoding of the envelope schema.

    Writes with the schema generated from the code (which `--check` keeps equal to the current
    committed version). Reads bytes of any known writer schema — the current one and every version
    under `schemas/` — resolved to the current schema, so old data decodes into today's classes."""

    def __init__(self, schemas_dir: Path | None = SCHEMAS_DIR, *, extra_writer_schemas: Iterable[Schema] = ()) -> None:
        self.schema = envelope_schema()
        self.fingerprint = fingerprint(self.schema)
        self._header = SINGLE_OBJECT_MARKER + self.fingerprint
        self._parsed = fastavro.parse_schema(self.schema)
        self._writers: dict[bytes, Any] = {self.fingerprint: self._parsed}
        writers = [load_schema(path) for _, path in schema_versions(schemas_dir)] if schemas_dir else []
        for writer in [*writers, *extra_writer_schemas]:
            self._writers.setdefault(fingerprint(writer), fastavro.parse_schema(writer))

    @property
    def known_fingerprints(self) -> frozenset[bytes]:
        return frozenset(self._writers)

    def to_record(self, stamped: Stamped) -> dict[str, Any]:
        return {
            "eventId": stamped.event_id,
            "timestamp": stamped.timestamp_ms,
            "key": stamped.key,
            "event": _encode_tagged(stamped.event),
        }

    def encode(self, stamped: Stamped) -> bytes:
        out = io.BytesIO()
        out.write(self._header)
        fastavro.schemaless_writer(out, self._parsed, self.to_record(stamped))
        return out.getvalue()

    def read_record(self, data: bytes) -> dict[str, Any]:
        """The envelope record (union branches as (name, record)), resolved to the current schema."""
        if len(data) < HEADER_SIZE or data[:2] != SINGLE_OBJECT_MARKER:
            raise AvroCodecError("not Avro single-object encoding (no C3 01 marker)")
        fp = data[2:HEADER_SIZE]
        writer = self._writers.get(fp)
        if writer is None:
            raise AvroCodecError(f"unknown writer schema fingerprint {fp.hex()}")
        body = io.BytesIO(data)
        body.seek(HEADER_SIZE)
        record = fastavro.schemaless_reader(
            body, writer, None if writer is self._parsed else self._parsed, return_record_name=True
        )
        if body.tell() != len(data):
            raise AvroCodecError(f"{len(data) - body.tell()} bytes after the record")
        assert isinstance(record, dict)
        return record

    def decode(self, data: bytes) -> Stamped:
        record = self.read_record(data)
        try:
            timestamp = record["timestamp"]
            if isinstance(timestamp, datetime):
                timestamp = (timestamp - _EPOCH) // _ONE_MS
            return Stamped(record["eventId"], timestamp, record["key"], _decode_tagged(record["event"]))
        except (TypeError, KeyError) as e:
            raise AvroCodecError(f"event {record.get('eventId')}: {e}") from e


def avro_dump_lines(events: Iterable[Stamped], codec_: AvroCodec | None = None) -> Iterator[str]:
    """One line of hex per event: its single-object Avro bytes (for `js7es journal dump --format avro`)."""
    avro_codec = codec_ or AvroCodec()
    for stamped in events:
        yield avro_codec.encode(stamped).hex()


# ---------------------------------------------------------------------------------------------------
# Generator command: python -m js7es.journal.avro --check | --write


def _diff(committed: Mapping[str, str], generated: Mapping[str, str], where: str) -> list[str]:
    lines: list[str] = []
    for name in sorted(set(committed) | set(generated)):
        old, new = committed.get(name, ""), generated.get(name, "")
        if old != new:
            lines.extend(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.splitlines(keepends=True),
                    f"{where}/{name}" if name in committed else "/dev/null",
                    f"generated/{name}" if name in generated else "/dev/null",
                    n=2,
                )
            )
    return lines


def check(root: Path = SCHEMAS_DIR) -> list[str]:
    """Problems: the current version differs from the code, or a version cannot read its predecessor."""
    versions = schema_versions(root)
    if not versions:
        return [f"no schema version under {root}: run python -m js7es.journal.avro --write"]
    problems = []
    generated = {name: schema_text(s) for name, s in generate_schemas().items()}
    _, current = versions[-1]
    diff = _diff(_read_files(current), generated, str(current))
    if diff:
        shown = diff[:200] + ([f"... {len(diff) - 200} more diff lines\n"] if len(diff) > 200 else [])
        problems.append(
            f"{current} differs from the schemas generated from the event classes "
            "(an event class was added or changed): run python -m js7es.journal.avro --write\n" + "".join(shown)
        )
    for (n_old, old), (n_new, new) in itertools.pairwise(versions):
        for problem in check_compatible(load_schema(old), load_schema(new)):
            problems.append(f"v{n_new} cannot read data written with v{n_old}: {problem}")
    return problems


def write(root: Path = SCHEMAS_DIR) -> str:
    """Regenerate: no change → nothing; same wire schema (fingerprint) → rewrite the current version;
    compatible change → a new version vN+1; incompatible change → refused (ValueError)."""
    generated = {name: schema_text(s) for name, s in generate_schemas().items()}
    versions = schema_versions(root)
    if versions:
        n, current = versions[-1]
        if _read_files(current) == generated:
            return f"{current} is up to date"
        old = load_schema(current)
        new = generate_schemas()[ENVELOPE_FILE]
        if fingerprint(old) == fingerprint(new):
            target = current  # docs or per-family files only: the wire contract is unchanged
        else:
            problems = check_compatible(old, new)
            if problems:
                raise ValueError(
                    f"the event classes changed incompatibly with {current} (add new fields as optional "
                    "with defaults):\n  " + "\n  ".join(problems)
                )
            target = root / f"v{n + 1}"
    else:
        target = root / "v1"
    target.mkdir(parents=True, exist_ok=True)
    for stale in set(_read_files(target)) - set(generated):
        (target / stale).unlink()
    for name, text in generated.items():
        (target / name).write_text(text, encoding="utf-8")
    return f"wrote {target}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m js7es.journal.avro", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--check", action="store_true", help="exit 1 when schemas/ differs from the code")
    group.add_argument("--write", action="store_true", help="regenerate schemas/ (a new version if needed)")
    parser.add_argument("--root", type=Path, default=SCHEMAS_DIR, help="the schemas directory")
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.root)
        for problem in problems:
            print(problem, file=sys.stderr)
        if not problems:
            print(f"{args.root}: up to date")
        return 1 if problems else 0
    try:
        print(write(args.root))
    except ValueError as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
