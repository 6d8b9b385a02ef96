"""JOC's JSON schemas from the local mirror of sos-berlin/js7-api-schemas, for validating answers.

`validate(answer, "order/orders_v-schema.json")` resolves the relative `$ref`s from the mirror (git
show HEAD:…), merges jsonschema2pojo's `extends` into the schema (JOC's models inherit properties
that way; plain JSON Schema ignores the keyword) and validates with jsonschema_rs (the `jsonschema`
package is not installed; schemathesis brought jsonschema_rs). A schema missing from the mirror is
taken as `{}` (anything). Without the mirror the tests that validate skip.
"""

from __future__ import annotations

import json
import posixpath
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

MIRROR = Path("/work/.mirror/sos-berlin+js7-api-schemas/repo")
ROOT = "src/main/resources/raml/api/schemas/"
BASE = "https://joc.invalid/"


def available() -> bool:
    return MIRROR.exists()


@cache
def _raw(path: str) -> dict[str, Any]:
    try:
        text = subprocess.run(
            ["git", "-C", str(MIRROR), "show", f"HEAD:{path}"], check=True, capture_output=True, text=True
        ).stdout
    except subprocess.CalledProcessError:
        return {}
    return json.loads(text)


def _resolved(path: str) -> dict[str, Any]:
    schema = dict(_raw(path))
    schema.pop("$schema", None)
    extends = schema.pop("extends", None)
    if isinstance(extends, dict) and "$ref" in extends:
        parent = _resolved(posixpath.normpath(posixpath.join(posixpath.dirname(path), extends["$ref"])))
        schema["properties"] = {**parent.get("properties", {}), **schema.get("properties", {})}
        schema["required"] = sorted(set(parent.get("required", [])) | set(schema.get("required", [])))
        if not parent:  # the parent is not in the mirror (inventory/…): its properties are unknown
            schema.pop("additionalProperties", None)
    if schema.get("required") == []:
        del schema["required"]  # draft 4 wants at least one item
    if isinstance(schema.get("type"), dict):
        del schema["type"]  # masters-schema.json's currentSecurityLevel
    return schema


def _drop_bad_patterns(node: Any) -> Any:
    """Java regexes the Rust engine refuses (``\\<``) are left out rather than failing the schema."""
    if isinstance(node, dict):
        out = {k: _drop_bad_patterns(v) for k, v in node.items()}
        if isinstance(out.get("pattern"), str) and "\\<" in out["pattern"]:
            del out["pattern"]
        if isinstance(out.get("type"), dict):
            del out["type"]  # masters-schema.json's currentSecurityLevel: {"type": {"$ref": …}}
        return out
    if isinstance(node, list):
        return [_drop_bad_patterns(v) for v in node]
    return node


def _retrieve(uri: str) -> dict[str, Any]:
    return _drop_bad_patterns(_resolved(uri.removeprefix(BASE)))


def validate(answer: Any, schema_path: str, *, patch: dict[str, Any] | None = None) -> None:
    import jsonschema_rs

    path = ROOT + schema_path
    schema = _drop_bad_patterns({**_resolved(path), **(patch or {})})
    validator = jsonschema_rs.Draft4Validator(schema, retriever=_retrieve, validate_formats=True, base_uri=BASE + path)
    errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(answer)]
    assert errors == [], errors
