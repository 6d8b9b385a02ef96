"""Strict equality for round trips: dataclass == would let 5 == Decimal("5") and (1,) vs [1] slip by."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where `a` and `b` differ in type, representation (Decimal digits) or value; empty if identical."""
    if type(a) is not type(b) and not (isinstance(a, Mapping) and isinstance(b, Mapping)):
        return [f"{path or '.'}: {type(a).__name__} {a!r} vs {type(b).__name__} {b!r}"]
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        found = []
        for f in dataclasses.fields(a):
            found += differences(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
        return found
    if isinstance(a, Decimal):
        return [] if a.as_tuple() == b.as_tuple() else [f"{path}: {a!r} vs {b!r}"]
    if isinstance(a, tuple):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} vs {len(b)}"]
        return [d for k, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{k}]")]
    if isinstance(a, Mapping):
        if list(a) != list(b):
            return [f"{path}: keys {list(a)} vs {list(b)}"]
        return [d for k in a for d in differences(a[k], b[k], f"{path}.{k}")]
    return [] if a == b else [f"{path}: {a!r} vs {b!r}"]
