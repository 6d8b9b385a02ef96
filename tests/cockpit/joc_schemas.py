"""JOC's response contracts, for validating the Cockpit's answers: committed extracts of JOC's JSON
schemas (sos-berlin/js7-api-schemas) in tests/fixtures/joc-contract/, so that CI validates without the
schemas' repository.

An extract keeps only the facts a client relies on — property names, types, required fields, enums,
formats, items, alternatives — with every `$ref` resolved and jsonschema2pojo's `extends` merged (JOC's
models inherit properties that way; plain JSON Schema ignores the keyword); titles, descriptions, Java
types and patterns are left out. `validate(answer, "order/orders_v-schema.json")` checks an answer with
jsonschema_rs (brought by schemathesis). Where the schemas' repository is mirrored (`fetch` of
sos-berlin/js7-api-schemas), `python -m tests.cockpit.joc_schemas` writes the extracts anew.
"""

from __future__ import annotations

import json
import posixpath
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

MIRROR = Path("/work/.mirror/sos-berlin+js7-api-schemas/repo")
CONTRACTS = Path(__file__).resolve().parents[1] / "fixtures" / "joc-contract"
# The responses the tests validate (tests/cockpit/api/test_reads.py, tests/cockpit/queries_contract.py).
USED = (
    "agent/agents_v-schema.json",
    "controller/jobscheduler200_v-schema.json",
    "controller/jocs-schema.json",
    "controller/masters-schema.json",
    "event/event-schema.json",
    "job/history-schema.json",
    "job/runningTaskLog-schema.json",
    "order/orderHistory-schema.json",
    "order/orderHistoryItemChildren-schema.json",
    "order/orderLog-schema.json",
    "order/order_v-schema.json",
    "order/orders_v-schema.json",
    "order/snapshot-schema.json",
    "order/summary-schema.json",
    "workflow/workflow-schema.json",
    "workflow/workflows-schema.json",
    "workflow/workflowsOrderCount-schema.json",
)
_KEPT = {"type", "required", "properties", "items", "enum", "format", "anyOf", "oneOf", "additionalProperties"}
MAX_DEPTH = 12  # recursive models (an order's children) are cut there: deeper is "anything"
ROOT = "src/main/resources/raml/api/schemas/"
BASE = "https://joc.invalid/"


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


def extract(path: str, depth: int = 0) -> Any:
    """The contract of the schema at `path` in the mirror (see the module's docstring)."""
    return _extract_node(_drop_bad_patterns(_resolved(path)), path, depth)


def _extract_node(node: Any, path: str, depth: int) -> Any:
    if not isinstance(node, dict):
        return node
    if depth > MAX_DEPTH:
        return {}
    if "$ref" in node and isinstance(node["$ref"], str):
        target = posixpath.normpath(posixpath.join(posixpath.dirname(path), node["$ref"]))
        return extract(target, depth + 1)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in _KEPT:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _extract_node(v, path, depth + 1) for name, v in value.items()}
        elif key in ("items",):
            out[key] = _extract_node(value, path, depth + 1)
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            out[key] = [_extract_node(v, path, depth + 1) for v in value]
        elif key == "additionalProperties" and not isinstance(value, bool):
            continue
        else:
            out[key] = value
    return out


def write_contracts() -> None:
    for name in USED:
        target = CONTRACTS / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(extract(ROOT + name), indent=1, sort_keys=True) + "\n")


def validate(answer: Any, schema_path: str, *, patch: dict[str, Any] | None = None) -> None:
    import jsonschema_rs

    schema = {**json.loads((CONTRACTS / schema_path).read_text()), **(patch or {})}
    validator = jsonschema_rs.Draft4Validator(schema, validate_formats=True)
    errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(answer)]
    assert errors == [], errors


if __name__ == "__main__":
    write_contracts()
