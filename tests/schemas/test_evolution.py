"""Schema evolution: every released version stays readable; compatible changes resolve, others are refused."""

from __future__ import annotations

import copy
import io
import itertools
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import avro.compatibility
import avro.schema
import fastavro
import pytest
from fastavro.read import SchemaResolutionError

from js7es.domain.event import Stamped
from js7es.domain.order.events import OrderMoved
from js7es.journal import avro as js7avro
from js7es.journal.avro import AvroCodec, AvroCodecError, check_compatible, fingerprint, load_schema
from tests.schemas.samples import EVENT_SAMPLES, stamped_sample

CURRENT = load_schema()


def _record(schema: dict[str, Any], name: str) -> dict[str, Any]:
    (event_field,) = [f for f in schema["fields"] if f["name"] == "event"]
    (record,) = [r for r in event_field["type"] if isinstance(r, dict) and r["name"] == name]
    return record


def _with_field(schema: dict[str, Any], record: str, field: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(schema)
    _record(changed, record)["fields"].append(field)
    return changed


def _without_field(schema: dict[str, Any], record: str, name: str) -> dict[str, Any]:
    changed = copy.deepcopy(schema)
    rec = _record(changed, record)
    rec["fields"] = [f for f in rec["fields"] if f["name"] != name]
    return changed


def _apache_compatible(old: dict[str, Any], new: dict[str, Any]) -> bool:
    checker = avro.compatibility.ReaderWriterCompatibilityChecker()
    result = checker.get_compatibility(avro.schema.parse(json.dumps(new)), avro.schema.parse(json.dumps(old)))
    return bool(result.compatibility is avro.compatibility.SchemaCompatibilityType.compatible)


def _encode_with(schema: dict[str, Any], record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return b"\xc3\x01" + fingerprint(schema) + out.getvalue()


@pytest.mark.parametrize("version", js7avro.schema_versions(), ids=lambda v: f"v{v[0]}")
def test_data_of_every_released_version_decodes_with_the_current_code(version: tuple[int, Path]) -> None:
    writer = load_schema(version[1])
    codec = AvroCodec()
    assert fingerprint(writer) in codec.known_fingerprints
    written_names = {r["name"] for r in _record_list(writer)}
    for type_name in sorted(EVENT_SAMPLES):
        stamped = stamped_sample(type_name)
        if js7avro.record_name(type(stamped.event)) not in written_names:
            continue  # an event class newer than this version
        record = codec.to_record(stamped)
        if fingerprint(writer) != codec.fingerprint:
            record = _as_older_versions_wrote(record)
        decoded = codec.decode(_encode_with(writer, record))
        assert type(decoded.event) is type(stamped.event)
        assert (decoded.event_id, decoded.timestamp_ms, decoded.key) == (
            stamped.event_id,
            stamped.timestamp_ms,
            stamped.key,
        )
        if fingerprint(writer) == codec.fingerprint:
            assert decoded == stamped


def _as_older_versions_wrote(datum: Any) -> Any:
    """A fractional priority exists since v6 (v5 had whole ones only, as a long): older writers get the
    sample with a whole priority."""
    if isinstance(datum, dict):
        return {
            k: int(Decimal(v)) if k == "priority" and isinstance(v, str) else _as_older_versions_wrote(v)
            for k, v in datum.items()
        }
    if isinstance(datum, list):
        return [_as_older_versions_wrote(v) for v in datum]
    if isinstance(datum, tuple):  # a record in a union, tagged with its name
        return tuple(_as_older_versions_wrote(v) for v in datum)
    return datum


def _record_list(schema: dict[str, Any]) -> list[dict[str, Any]]:
    (event_field,) = [f for f in schema["fields"] if f["name"] == "event"]
    return [r for r in event_field["type"] if isinstance(r, dict)]


def test_consecutive_versions_are_compatible() -> None:
    versions = js7avro.schema_versions()
    for (_, old), (_, new) in itertools.pairwise(versions):
        assert check_compatible(load_schema(old), load_schema(new)) == []


def test_a_new_optional_field_is_filled_with_its_default() -> None:
    v2 = _with_field(CURRENT, "js7es.events.OrderMoved", {"name": "priority", "type": "long", "default": 0})
    v2 = _with_field(v2, "js7es.events.OrderMoved", {"name": "comment", "type": ["null", "string"], "default": None})
    assert check_compatible(CURRENT, v2) == []
    assert _apache_compatible(CURRENT, v2)
    data = AvroCodec().encode(stamped_sample("OrderMoved"))
    record = fastavro.schemaless_reader(
        io.BytesIO(data[10:]), fastavro.parse_schema(CURRENT), fastavro.parse_schema(v2), return_record_name=True
    )
    name, moved = record["event"]
    assert name == "js7es.events.OrderMoved"
    assert moved == {"to": [1, "then", 0], "reason": "SkippedDueToWorkflowPathControl", "priority": 0, "comment": None}


def test_old_bytes_without_a_field_decode_to_the_dataclass_default() -> None:
    """Old data, new code: a writer schema without OrderMoved.reason (as if reason were added later)."""
    old = _without_field(CURRENT, "js7es.events.OrderMoved", "reason")
    assert check_compatible(old, CURRENT) == []
    codec = AvroCodec(extra_writer_schemas=[old])
    stamped = Stamped(1732521600000042, 1732521600000, "o-1", OrderMoved(to=(3,), reason="will be dropped"))
    record = codec.to_record(stamped)
    decoded = codec.decode(_encode_with(old, record))
    assert decoded == Stamped(stamped.event_id, stamped.timestamp_ms, "o-1", OrderMoved(to=(3,), reason=None))
    with pytest.raises(AvroCodecError, match="unknown writer schema fingerprint"):
        AvroCodec().decode(_encode_with(old, record))


def test_a_new_field_without_default_is_incompatible() -> None:
    v2 = _with_field(CURRENT, "js7es.events.OrderMoved", {"name": "priority", "type": "long"})
    problems = check_compatible(CURRENT, v2)
    assert problems == ["js7es.events.OrderMoved.priority: new field without a default"]
    assert not _apache_compatible(CURRENT, v2)
    data = AvroCodec().encode(stamped_sample("OrderMoved"))
    with pytest.raises(SchemaResolutionError, match="priority"):
        fastavro.schemaless_reader(io.BytesIO(data[10:]), fastavro.parse_schema(CURRENT), fastavro.parse_schema(v2))
    # data written with v2 is readable by v1 (the field is skipped): the check is about new readers
    assert check_compatible(v2, CURRENT) == []


def test_other_incompatible_changes_are_reported_and_agree_with_apache_avro() -> None:
    removed_event = copy.deepcopy(CURRENT)
    removed_event["fields"][3]["type"] = [r for r in _record_list(CURRENT) if r["name"] != "js7es.events.ItemDeleted"]
    retyped = copy.deepcopy(CURRENT)
    for f in _record(retyped, "js7es.events.OrderSleeping")["fields"]:
        f["type"] = "string"
    cases = {"removed event record": removed_event, "long → string": retyped}
    for label, new in cases.items():
        assert check_compatible(CURRENT, new), label
        assert not _apache_compatible(CURRENT, new), label
    promoted = copy.deepcopy(CURRENT)
    for f in _record(promoted, "js7es.events.OrderSleeping")["fields"]:
        f["type"] = "double"
    assert check_compatible(CURRENT, promoted) == []
    assert _apache_compatible(CURRENT, promoted)
    # a new event record (a new union branch) is compatible: old data never holds it
    assert check_compatible(removed_event, CURRENT) == []
    assert _apache_compatible(removed_event, CURRENT)


def _tmp_root_with_v1(tmp_path: Path, v1_envelope: dict[str, Any]) -> Path:
    shutil.copytree(js7avro.schema_versions()[-1][1], tmp_path / "v1")
    (tmp_path / "v1" / "envelope.avsc").write_text(js7avro.schema_text(v1_envelope))
    return tmp_path


def test_write_creates_the_next_version_for_a_compatible_change(tmp_path: Path) -> None:
    root = _tmp_root_with_v1(tmp_path, _without_field(CURRENT, "js7es.events.OrderMoved", "reason"))
    assert js7avro.check(root) != []
    assert js7avro.main(["--write", "--root", str(root)]) == 0
    assert sorted(p.name for p in root.iterdir()) == ["v1", "v2"]
    assert load_schema(root / "v2") == CURRENT
    assert js7avro.check(root) == []
    codec = AvroCodec(root)
    assert fingerprint(load_schema(root / "v1")) in codec.known_fingerprints


def test_write_refuses_an_incompatible_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _tmp_root_with_v1(tmp_path, _without_field(CURRENT, "js7es.events.OrderMoved", "to"))
    assert js7avro.main(["--write", "--root", str(root)]) == 1
    assert "js7es.events.OrderMoved.to: new field without a default" in capsys.readouterr().err
    assert sorted(p.name for p in root.iterdir()) == ["v1"]


def test_framing_errors() -> None:
    codec = AvroCodec()
    data = codec.encode(stamped_sample("OrderMoved"))
    assert codec.decode(data) == stamped_sample("OrderMoved")
    with pytest.raises(AvroCodecError, match="C3 01"):
        codec.decode(b"\x00" + data[1:])
    with pytest.raises(AvroCodecError, match="unknown writer schema"):
        codec.decode(data[:2] + bytes(8) + data[10:])
    with pytest.raises(AvroCodecError, match="bytes after the record"):
        codec.decode(data + b"\x00")
    with pytest.raises(AvroCodecError):
        codec.decode(data[:5])
