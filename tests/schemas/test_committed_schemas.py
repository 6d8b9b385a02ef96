"""schemas/ is the contract: it must equal what the event classes generate, and cover every event class."""

from __future__ import annotations

import importlib
import json
import pkgutil
import shutil
from pathlib import Path

import avro.schema
import fastavro
import pytest

import js7es.domain
from js7es.domain import codec
from js7es.domain.event import event_classes
from js7es.journal import avro as js7avro

CURRENT = js7avro.schema_versions()[-1][1]


def _committed_event_records() -> set[str]:
    envelope = js7avro.load_schema()
    (event_field,) = [f for f in envelope["fields"] if f["name"] == "event"]
    return {branch["name"] for branch in event_field["type"]}


def _defined_records(schema: object) -> set[str]:
    if isinstance(schema, list):
        return {n for s in schema for n in _defined_records(s)}
    if isinstance(schema, dict):
        found = {schema["name"]} if schema.get("type") == "record" else set()
        for key in ("type", "items", "values"):
            found |= _defined_records(schema.get(key))
        for f in schema.get("fields", ()):
            found |= _defined_records(f)
        return found
    return set()


def test_committed_schemas_equal_the_generated_ones() -> None:
    assert js7avro.check() == []
    generated = {name: js7avro.schema_text(s) for name, s in js7avro.generate_schemas().items()}
    committed = {p.name: p.read_text(encoding="utf-8") for p in CURRENT.glob("*.avsc")}
    assert committed == generated


def test_every_event_class_has_a_record_in_the_committed_envelope() -> None:
    for module in pkgutil.walk_packages(js7es.domain.__path__, "js7es.domain."):
        importlib.import_module(module.name)  # every event class of js7es, wherever it is defined
    classes = {n: c for n, c in event_classes().items() if c.__module__.startswith("js7es.")}
    assert len(classes) >= 45
    assert classes == js7avro.contract_event_classes()
    missing = {js7avro.record_name(c) for c in classes.values()} - _committed_event_records()
    assert not missing, f"event classes without a record in {CURRENT}/envelope.avsc: {sorted(missing)}"


def test_each_family_file_holds_its_events_and_the_types_file_the_nested_records() -> None:
    files = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in CURRENT.glob("*.avsc")}
    families = sorted(set(files) - {"envelope.avsc", "types.avsc"})
    assert {"order-events.avsc", "item-events.avsc", "agent-events.avsc", "agent-ref-events.avsc"} <= set(families)
    assert all(f.endswith("-events.avsc") for f in families)
    family_records = {r["name"] for f in families for r in files[f]}
    assert sum(len(files[f]) for f in families) == len(family_records)  # each event in exactly one family
    assert family_records == _committed_event_records()
    assert all(r["name"].startswith("js7es.events.Order") for r in files["order-events.avsc"])
    types = _defined_records(files["types.avsc"])
    assert _defined_records(files["envelope.avsc"]) == {"js7es.Stamped"} | family_records | types
    registered = {js7avro.record_name(c) for c in codec.registered_classes()}
    assert types <= registered and all(t.startswith("js7es.types.") for t in types)


@pytest.mark.parametrize("path", sorted(CURRENT.glob("*.avsc")), ids=lambda p: p.name)
def test_every_schema_file_loads_on_its_own_with_both_libraries(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fastavro.parse_schema(json.loads(text))
    avro.schema.parse(text)


def test_a_new_event_class_without_regenerated_schemas_fails_the_check(tmp_path: Path) -> None:
    shutil.copytree(CURRENT, tmp_path / "v1")
    envelope = json.loads((tmp_path / "v1" / "envelope.avsc").read_text())
    event_field = envelope["fields"][3]
    event_field["type"] = [r for r in event_field["type"] if r["name"] != "js7es.events.OrderSleeping"]
    (tmp_path / "v1" / "envelope.avsc").write_text(js7avro.schema_text(envelope))
    problems = js7avro.check(tmp_path)
    assert len(problems) == 1
    assert "differs from the schemas generated" in problems[0]
    assert "--write" in problems[0]
    assert '+          "name": "js7es.events.OrderSleeping"' in problems[0]


def test_check_command_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert js7avro.main(["--check"]) == 0
    assert js7avro.main(["--check", "--root", str(tmp_path)]) == 1
    assert "no schema version" in capsys.readouterr().err
    assert js7avro.main(["--write", "--root", str(tmp_path)]) == 0
    assert js7avro.main(["--check", "--root", str(tmp_path)]) == 0
    assert js7avro.main(["--write", "--root", str(tmp_path)]) == 0
    assert "up to date" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1"]
    (tmp_path / "v1" / "types.avsc").write_text("[]\n")
    assert js7avro.main(["--check", "--root", str(tmp_path)]) == 1
    assert "types.avsc" in capsys.readouterr().err


def test_fingerprint_is_crc64_avro_little_endian() -> None:
    # The Avro specification's test vector: the Rabin fingerprint of "int" is 0x7275d51a3f395c8f.
    assert js7avro.fingerprint("int").hex() == "8f5c393f1ad57572"
    envelope = js7avro.load_schema()
    canonical = js7avro.canonical_form(envelope)
    expected = fastavro.schema.fingerprint(canonical, "CRC-64-AVRO")
    assert js7avro.fingerprint(envelope).hex() == expected
    assert js7avro.fingerprint(envelope) == avro.schema._crc_64_fingerprint(canonical.encode())
    assert '"logicalType"' not in canonical and '"doc"' not in canonical
