"""`js7es journal dump --format avro`: one hex line per committed event, decodable with AvroCodec."""

from __future__ import annotations

import json
from pathlib import Path

from js7es.domain.event import KeyedEvent, stamped_from_json
from js7es.domain.value import loads
from js7es.journal import FileJournal
from js7es.journal.avro import AvroCodec
from js7es.journal.tools import dump
from tests.schemas.samples import stamped_sample


def test_dump_avro_lines_decode_to_the_dumped_json_events(tmp_path: Path) -> None:
    samples = [stamped_sample(n) for n in ("OrderAdded", "OrderMoved", "OrderProcessed", "VersionAdded")]
    with FileJournal.open(tmp_path) as journal:
        for s in samples:
            journal.persist_sync([KeyedEvent(s.key, s.event)])
    json_events = [stamped_from_json(loads(line)) for line in dump(tmp_path)]
    codec = AvroCodec()
    avro_lines = list(dump(tmp_path, fmt="avro"))
    assert [codec.decode(bytes.fromhex(line)) for line in avro_lines] == json_events
    assert [e.event for e in json_events] == [s.event for s in samples]
    assert all(line.startswith("c301" + codec.fingerprint.hex()) for line in avro_lines)
    after = json_events[1].event_id
    assert len(list(dump(tmp_path, after=after, fmt="avro"))) == 2
    json.dumps(avro_lines)  # plain text lines
