"""JSON codec for the domain's frozen dataclasses, driven by their type hints.

One explicit registry maps `TYPE` names to classes (JS7's discriminator). A field typed as a base class
is written with the `TYPE` of the instance's class; field names are written in camelCase, as JS7 does.
Encoders and decoders are compiled once per class, because the journal encodes every event.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from js7es.domain.value import value_from_json, value_to_json

_T = TypeVar("_T")
# TYPE -> the classes of that name: one per family (JS7 names the order state and the outcome both
# "Failed"; the field's declared type, the context, tells which one is meant).
_registry: dict[str, tuple[type[Any], ...]] = {}
_aliases: dict[str, tuple[type[Any], ...]] = {}  # older TYPEs that still decode (never written)
_Encoder = Callable[[Any], Any]
_Decoder = Callable[[Any], Any]
_encoders: dict[type[Any], _Encoder] = {}
_decoders: dict[type[Any], _Decoder] = {}
# (TYPE, base) -> the decoder `decode` found for it: every event read from a journal is decoded here
# (emptied when a class or an alias is registered)
_resolved: dict[tuple[str, type[Any] | None], _Decoder] = {}


class CodecError(ValueError):
    """Malformed JSON for a registered class (a bug or a corrupt journal; input validation is elsewhere)."""


def register(cls: type[_T]) -> type[_T]:
    """Register a dataclass under its class name (or TYPE_NAME) as its `TYPE`.

    Two classes may share a TYPE only when they belong to unrelated families (no common base but
    `object`), so that the declared type of a field always tells them apart.
    """
    name = getattr(cls, "TYPE_NAME", cls.__name__)
    existing = _registry.get(name, ())
    if cls in existing:
        return cls
    for other in existing:
        if _related(other, cls):
            raise TypeError(f"TYPE {name} registered twice: {other} and {cls}")
    _registry[name] = (*existing, cls)
    _resolved.clear()
    return cls


def register_alias(old_name: str, cls: type[Any]) -> None:
    """Decode the older TYPE `old_name` as `cls` (journals written before a rename); never encoded."""
    if cls not in _registry.get(type_name_of(cls), ()):
        raise TypeError(f"{cls} is not registered")
    _aliases[old_name] = (*_aliases.get(old_name, ()), cls)
    _resolved.clear()


def _related(a: type[Any], b: type[Any]) -> bool:
    return bool((set(a.__mro__) & set(b.__mro__)) - {object})


def type_name_of(cls: type[Any]) -> str:
    return str(getattr(cls, "TYPE_NAME", cls.__name__))


def registered(base: type[Any]) -> dict[str, type[Any]]:
    """The registered subclasses of `base` by TYPE (unique within a family)."""
    return {n: c for n, classes in _registry.items() for c in classes if issubclass(c, base)}


def registered_classes() -> list[type[Any]]:
    """Every registered class."""
    return [c for classes in _registry.values() for c in classes]


def lookup(type_name: str, base: type[Any] | None = None) -> type[Any] | None:
    """The class of a TYPE (within `base`'s family), or None when unknown or ambiguous."""
    found = [c for c in _candidates(type_name) if base is None or issubclass(c, base)]
    return found[0] if len(found) == 1 else None


def _candidates(type_name: str) -> tuple[type[Any], ...]:
    return _registry.get(type_name) or _aliases.get(type_name, ())


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def encode(obj: Any) -> dict[str, Any]:
    """A registered dataclass instance as a JSON object with its TYPE."""
    return _encoder_for(type(obj))(obj)  # type: ignore[no-any-return]


def decode(obj: Mapping[str, Any], base: type[_T] | None = None) -> _T:
    """Decode a JSON object with a TYPE into its registered class (a subclass of `base` if given)."""
    try:
        name = obj["TYPE"]
    except (KeyError, TypeError):
        raise CodecError(f"missing TYPE in {str(obj)[:200]}") from None
    if not isinstance(name, str):
        raise CodecError(f"TYPE must be a string: {str(obj)[:200]}")
    decoder = _resolved.get((name, base))
    if decoder is None:
        found = [c for c in _candidates(name) if base is None or issubclass(c, base)]
        if len(found) != 1:
            what = "ambiguous" if found else "unknown"
            raise CodecError(f"{what} TYPE {name!r}" + (f" for {base.__name__}" if base else ""))
        decoder = _resolved[(name, base)] = _decoder_for(found[0])
    return decoder(obj)  # type: ignore[no-any-return]


class _ValueMarker:
    """Stands in for the recursive `Value` alias while type hints are resolved for the codec."""


# The recursive Value alias cannot be evaluated by get_type_hints; these names resolve to the marker.
_HINT_NAMES: dict[str, Any] = {"Value": _ValueMarker}


def _field_codecs(hint: Any) -> tuple[_Encoder, _Decoder]:
    if hint is _ValueMarker:
        return value_to_json, value_from_json
    if hint in (str, bool, int):
        return _identity, _checked(hint)
    if hint is float:  # a whole number as an integer: JS7's durations in seconds read 10, not 10.0
        return (lambda v: int(v) if float(v).is_integer() else v), float
    if hint is Decimal:  # written exactly by value.dumps, read by value.loads as a Decimal
        return _identity, lambda v: v if isinstance(v, Decimal) else Decimal(str(v))
    origin = get_origin(hint)
    args = get_args(hint)
    if origin in (Union, types.UnionType):
        if Decimal in args:  # the recursive Value alias
            return value_to_json, value_from_json
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            enc, dec = _field_codecs(non_none[0])
            return (lambda v: None if v is None else enc(v)), (lambda v: None if v is None else dec(v))
        if all(a in (str, int) for a in non_none):  # positions: tuple[int | str, ...]
            return _identity, _identity
        if len(non_none) == 2 and str in non_none and any(get_origin(a) is tuple for a in non_none):
            return _position_or_label, _position_or_label  # JS7's PositionOrLabel: a label or a position
        return _polymorphic(object)
    if origin is typing.Literal:
        return _identity, _identity
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            ienc, idec = _field_codecs(args[0])
            return (lambda v: [ienc(x) for x in v]), (lambda v: tuple(idec(x) for x in v))
        codecs = [_field_codecs(a) for a in args]
        return (
            lambda v: [c[0](x) for c, x in zip(codecs, v, strict=True)],
            lambda v: tuple(c[1](x) for c, x in zip(codecs, v, strict=True)),
        )
    if origin in (dict, Mapping, typing.Mapping) or (isinstance(origin, type) and issubclass(origin, Mapping)):
        venc, vdec = _field_codecs(args[1])
        return (lambda v: {k: venc(x) for k, x in v.items()}), (lambda v: {k: vdec(x) for k, x in v.items()})
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if getattr(hint, "JSON_UNTYPED", False):  # a record JS7 writes without TYPE (e.g. CycleState)
            return _untyped(hint)
        return _polymorphic(hint)
    if hint is Any or hint is object:
        return _identity, _identity
    raise TypeError(f"codec cannot handle type {hint!r}")


def _polymorphic(base: type[Any]) -> tuple[_Encoder, _Decoder]:
    return encode, (lambda v: decode(v, base if base is not object else None))


def _untyped(cls: type[Any]) -> tuple[_Encoder, _Decoder]:
    def encode_untyped(v: Any) -> Any:
        out = encode(v)
        del out["TYPE"]
        return out

    return encode_untyped, (lambda v: _decoder_for(cls)(v))


def _identity(v: Any) -> Any:
    return v


def _position_or_label(v: Any) -> Any:
    """A label as it is, a position as a JSON array (encoding) or a tuple (decoding); None as None."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, list):
        return tuple(v)
    raise CodecError(f"expected a label or a position, got {type(v).__name__}")


def _checked(kind: type[Any]) -> _Decoder:
    def check(v: Any) -> Any:
        if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
            raise CodecError(f"expected {kind.__name__}, got {type(v).__name__}")
        return v

    check.checks = kind  # type: ignore[attr-defined]  # _generated inlines the check of the exact class
    return check


def _encoder_for(cls: type[Any]) -> _Encoder:
    encoder = _encoders.get(cls)
    if encoder is None:
        _compile(cls)
        encoder = _encoders[cls]
    return encoder


def _decoder_for(cls: type[Any]) -> _Decoder:
    decoder = _decoders.get(cls)
    if decoder is None:
        _compile(cls)
        decoder = _decoders[cls]
    return decoder


def _compile(cls: type[Any]) -> None:
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls} is not a dataclass")
    import sys

    module_globals = dict(vars(sys.modules[cls.__module__]))
    module_globals.update(_HINT_NAMES)
    hints = get_type_hints(cls, globalns=module_globals, localns=_HINT_NAMES)
    type_name = type_name_of(cls)
    fields = []
    for f in dataclasses.fields(cls):
        enc, dec = _field_codecs(hints[f.name])
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        default = f.default if f.default is not dataclasses.MISSING else None
        fields.append((f.name, camel(f.name), enc, dec, has_default, default))

    encode_obj, decode_obj = _generated(cls, type_name, fields)
    _encoders[cls] = encode_obj
    _decoders[cls] = decode_obj


_MISSING = object()
_PLAIN = {str, int, bool}  # decoders that only check the type: the check inlined for the exact class


def _generated(
    cls: type[Any], type_name: str, fields: list[tuple[str, str, _Encoder, _Decoder, bool, Any]]
) -> tuple[_Encoder, _Decoder]:
    """A class's encoder and decoder written out field by field (no loop over the fields, no call for
    a field written as it is): the journal encodes every event and a rebuild decodes every one.

    encode: `{"TYPE": ..., camelName: enc(value), ...}`, an optional field (default None) left out when
    None, as JS7 does. decode: each field present decoded, a missing one without default a CodecError,
    any error of the class's own checks a CodecError."""
    namespace: dict[str, Any] = {
        "_cls": cls,
        "_type_name": type_name,
        "_missing": _MISSING,
        "CodecError": CodecError,
    }
    encode_lines = ["def encode_obj(obj):", "    out = {'TYPE': _type_name}"]
    decode_lines = ["def decode_obj(obj):", "    kwargs = {}", "    try:"]
    for i, (name, json_name, enc, dec, has_default, default) in enumerate(fields):
        namespace[f"_enc{i}"], namespace[f"_dec{i}"] = enc, dec
        written = "value" if enc is _identity else f"_enc{i}(value)"
        encode_lines.append(f"    value = obj.{name}")
        if has_default and default is None:
            encode_lines += ["    if value is not None:", f"        out[{json_name!r}] = {written}"]
        else:
            encode_lines.append(f"    out[{json_name!r}] = {written}")
        plain = next((kind for kind in _PLAIN if getattr(dec, "checks", None) is kind), None)
        if dec is _identity:
            read = "value"
        elif plain is not None:
            read = f"value if value.__class__ is {plain.__name__} else _dec{i}(value)"
        else:
            read = f"_dec{i}(value)"
        decode_lines += [
            f"        value = obj.get({json_name!r}, _missing)",
            "        if value is not _missing:",
            f"            kwargs[{name!r}] = {read}",
        ]
        if not has_default:
            decode_lines += [
                "        else:",
                f"            raise CodecError({f'{type_name}: missing field {json_name!r}'!r})",
            ]
    encode_lines.append("    return out")
    decode_lines += [
        "        return _cls(**kwargs)",
        "    except CodecError:",
        "        raise",
        "    except (TypeError, ValueError, KeyError, AttributeError) as e:",
        "        raise CodecError(f'{_type_name}: {e}') from e",
    ]
    exec("\n".join(encode_lines) + "\n\n" + "\n".join(decode_lines), namespace)  # names are the fields'
    return namespace["encode_obj"], namespace["decode_obj"]
