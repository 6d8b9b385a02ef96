"""What makes the exporter faster may not change what it writes: `EnvelopeEncoder` writes exactly
`AvroCodec.encode`'s bytes for every event class; `decode_event_lines` reads what per-line `loads`
reads; pipelined batches (`send` / `collect(keep=1)` / an unacknowledged checkpoint) resume exactly."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from js7es.domain.event import NO_KEY, Stamped, stamped_to_json
from js7es.domain.items import VersionAdded
from js7es.domain.order.events import OrderAdded, OrderMoved, OrderStarted
from js7es.domain.value import dumps
from js7es.domain.workflow.workflow import WorkflowId
from js7es.journal.avro import AvroCodec, contract_event_classes
from js7es.nodes.export.stream import decode_event_lines
from js7es.projections.kafka.encoder import EnvelopeEncoder
from js7es.projections.kafka.exporter import KafkaExporter
from tests.cockpit.support import simulated_history
from tests.projections.conftest import Broker
from tests.projections.test_kafka_export import topic_records
from tests.schemas.samples import stamped_sample


def test_the_encoder_writes_the_codecs_bytes_for_every_event_class() -> None:
    codec = AvroCodec()
    encoder = EnvelopeEncoder(codec)
    events = [stamped_sample(name) for name in sorted(contract_event_classes())] + simulated_history(30)
    for stamped in events + events:  # the second time from the encoder's cache where it keeps events
        assert encoder.encode(stamped) == codec.encode(stamped), stamped
        assert codec.decode(encoder.encode(stamped)) == stamped


def test_equal_events_with_different_bytes_are_not_taken_from_the_cache() -> None:
    codec = AvroCodec()
    encoder = EnvelopeEncoder(codec)
    workflow = WorkflowId("W", "1")
    # Equal in Python (1 == Decimal(1) == 1.0), different as JS7 values, so different Avro bytes.
    one = Stamped(10, 0, "o", OrderAdded(workflow_id=workflow, arguments={"n": 1}))
    decimal = Stamped(10, 0, "o", OrderAdded(workflow_id=workflow, arguments={"n": Decimal("1.0")}))
    assert one.event == decimal.event
    assert codec.encode(one)[10:] != codec.encode(decimal)[10:]  # after the header
    assert encoder.encode(one) == codec.encode(one)
    assert encoder.encode(decimal) == codec.encode(decimal)


def test_the_cache_is_bounded() -> None:
    codec = AvroCodec()
    encoder = EnvelopeEncoder(codec)
    encoder.CACHED_EVENTS = 10  # type: ignore[misc]
    for n in range(1, 40):
        stamped = Stamped(n, 0, f"o{n}", OrderMoved(to=(n,)))
        assert encoder.encode(stamped) == codec.encode(stamped)
    assert len(encoder._bodies) <= 10


def test_decoding_lines_at_once_reads_what_loads_reads() -> None:
    events = simulated_history(3)
    lines = [dumps(stamped_to_json(s)).encode() for s in events]
    assert decode_event_lines([b"", *lines[:5], b"", *lines[5:]]) == events  # empty lines: heartbeats
    assert decode_event_lines([b""]) == []
    with pytest.raises(json.JSONDecodeError):
        decode_event_lines([lines[0], b'{"eventId": 1,'])
    with pytest.raises(json.JSONDecodeError):  # two objects on one line are not one event
        decode_event_lines([lines[0] + b"," + lines[1]])


def numbered(first: int, count: int) -> list[Stamped]:
    return [
        Stamped(n, n // 1000, NO_KEY, VersionAdded(version_id=f"v{n}"))
        if n % 10 == 0
        else Stamped(n, n // 1000, f"order-{n % 7}", OrderStarted() if n % 2 else OrderMoved(to=(1, "then", n)))
        for n in range(first, first + count)
    ]


def test_pipelined_batches_resume_exactly(kafka_broker: Broker, topic: str) -> None:
    first = KafkaExporter(kafka_broker.bootstrap, topic, partitions=3, idle_s=0.8, checkpoint_interval_s=0)
    first.open()
    first.send(numbered(1, 200))
    first.send(numbered(201, 200))
    assert first.in_flight == 2
    exported = first.collect(keep=1)  # waits for the older batch; takes the newer one if acknowledged too
    assert (exported, first.in_flight) in ((200, 1), (400, 0))
    assert first.checkpoint(wait=False) == 0  # sent, not yet known to be acknowledged
    first.send(numbered(401, 200))
    assert first.collect() == 600 and first.in_flight == 0
    assert first.checkpoint(wait=True) >= 200
    first.send(numbered(601, 100))  # never collected: a crash before the acknowledgement
    first.close()

    second = KafkaExporter(kafka_broker.bootstrap, topic, partitions=3, idle_s=0.8, checkpoint_interval_s=0)
    point = second.open()
    assert 600 <= point.after <= 700
    second.send(numbered(point.after + 1, 800 - point.after))
    second.collect()
    assert second.checkpoint(force=True) == 800
    second.close()
    ids = []
    for records in topic_records(kafka_broker, topic).values():
        in_partition = [int(dict(r.headers)["eventId"]) for r in records]  # type: ignore[attr-defined]
        assert in_partition == sorted(set(in_partition)), "in order per partition, no duplicate"
        ids.extend(in_partition)
    assert sorted(ids) == list(range(1, 801))
