"""The official Apache `avro` library reads what js7es writes: the contract is not fastavro's dialect."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import avro.io
import avro.schema
import fastavro
import pytest

from js7es.journal.avro import HEADER_SIZE, AvroCodec, load_schema
from tests.schemas.samples import EVENT_SAMPLES, stamped_sample

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "events"
ENVELOPE = load_schema()
APACHE_SCHEMA = avro.schema.parse(json.dumps(ENVELOPE))
FAST_SCHEMA = fastavro.parse_schema(ENVELOPE)


class NamedUnionReader(avro.io.DatumReader):  # type: ignore[misc]
    """Tags each record read from a union with its full name, as fastavro's return_record_name does;
    otherwise branches with equal fields (Fresh and Ready: no fields at all) could not be told apart."""

    def read_union(self, writers_schema: Any, readers_schema: Any, decoder: Any) -> Any:
        index = int(decoder.read_long())
        selected = writers_schema.schemas[index]
        datum = self.read_data(selected, selected, decoder)
        return (selected.fullname, datum) if isinstance(selected, avro.schema.RecordSchema) else datum


@pytest.mark.parametrize("type_name", sorted(EVENT_SAMPLES))
def test_apache_avro_reads_the_golden_bytes_as_fastavro_does(type_name: str) -> None:
    if os.environ.get("UPDATE_GOLDEN") == "1":  # the golden file may not be written yet
        data = AvroCodec().encode(stamped_sample(type_name))
    else:
        data = bytes.fromhex((GOLDEN / f"{type_name}.avro.hex").read_text())
    assert data[:2] == b"\xc3\x01"
    body = data[HEADER_SIZE:]
    decoder = avro.io.BinaryDecoder(io.BytesIO(body))
    apache = NamedUnionReader(APACHE_SCHEMA, APACHE_SCHEMA).read(decoder)
    fast = fastavro.schemaless_reader(io.BytesIO(body), FAST_SCHEMA, None, return_record_name=True)
    assert apache == fast
    assert apache["event"][0] == f"js7es.events.{type_name}"
    # and the plain reader (no tags), as any consumer would use it, gets the same records
    plain = avro.io.DatumReader(APACHE_SCHEMA).read(avro.io.BinaryDecoder(io.BytesIO(body)))
    assert plain == fastavro.schemaless_reader(io.BytesIO(body), FAST_SCHEMA, None)
