"""The exporter's Kafka side against a real broker: record format, resume after a crash in the middle
of a multi-partition batch, checkpoints, the consumer helper."""

from __future__ import annotations

import warnings
from collections import defaultdict

import pytest

from js7es.domain.event import NO_KEY, Stamped
from js7es.domain.items import VersionAdded
from js7es.domain.order.events import OrderMoved, OrderStarted
from js7es.projections.kafka import decode, read_events
from js7es.projections.kafka.exporter import ExportConfigError, KafkaExporter
from js7es.projections.kafka.records import (
    CHECKPOINT_KEY,
    HEADER_EVENT_ID,
    HEADER_TYPE,
    NODE_RECORD_KEY,
    Checkpoint,
    event_id_header,
    event_id_of_headers,
    partition_of,
    record_key,
)
from tests.projections.conftest import Broker

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka


def events(first: int, count: int, orders: int = 7) -> list[Stamped]:
    out = []
    for n in range(first, first + count):
        if n % 10 == 0:
            out.append(Stamped(n, n // 1000, NO_KEY, VersionAdded(version_id=f"v{n}")))
        elif n % 2:
            out.append(Stamped(n, n // 1000, f"order-{n % orders}", OrderStarted()))
        else:
            out.append(Stamped(n, n // 1000, f"order-{n % orders}", OrderMoved(to=(1, "then", n))))
    return out


def exporter(broker: Broker, topic: str, **kwargs: object) -> KafkaExporter:
    return KafkaExporter(broker.bootstrap, topic, partitions=3, idle_s=0.8, checkpoint_interval_s=0, **kwargs)  # type: ignore[arg-type]


def topic_records(broker: Broker, topic: str) -> dict[int, list[object]]:
    consumer = kafka.KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tps = [kafka.TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)
        found: dict[int, list[object]] = defaultdict(list)
        empty = 0
        while empty < 5:
            batches = consumer.poll(timeout_ms=200)
            empty = 0 if batches else empty + 1
            for tp, records in batches.items():
                found[tp.partition].extend(records)
        return found
    finally:
        consumer.close()


def test_record_format() -> None:
    keyed = Stamped(1000, 1, "order-1", OrderStarted())
    assert record_key(keyed) == b"order-1"
    assert record_key(Stamped(1001, 1, NO_KEY, VersionAdded(version_id="1"))) == NODE_RECORD_KEY.encode()
    assert event_id_header(1_732_521_600_000_001) == b"1732521600000001"
    assert event_id_of_headers([(HEADER_TYPE, b"X"), (HEADER_EVENT_ID, event_id_header(42))]) == 42
    # Kafka's default partitioner (the Java client's murmur2): the same key, the same partition.
    assert partition_of(b"order-1", 3) == partition_of(b"order-1", 3)
    assert {partition_of(f"o{i}".encode(), 3) for i in range(50)} == {0, 1, 2}


def test_export_then_resume_exactly(kafka_broker: Broker, topic: str) -> None:
    first = exporter(kafka_broker, topic)
    point = first.open()
    assert point.after == 0
    batch = events(1, 500)
    assert first.export(batch) == 500  # checkpointed at once (interval 0)
    first.close()

    records = topic_records(kafka_broker, topic)
    assert sum(len(r) for r in records.values()) == 500
    for partition, rs in records.items():
        ids = [event_id_of_headers(r.headers) for r in rs]  # type: ignore[attr-defined]
        assert ids == sorted(ids)
        for r in rs:
            stamped = decode(r)
            assert partition_of(record_key(stamped), 3) == partition
            assert dict(r.headers)[HEADER_TYPE] == type(stamped.event).__name__.encode()  # type: ignore[attr-defined]
    decoded = sorted((s for s in read_events(kafka_broker.bootstrap, topic, idle_s=1)), key=lambda s: s.event_id)
    assert decoded == batch

    second = exporter(kafka_broker, topic)
    point = second.open()
    assert point.after == 500 and point.watermark == 500
    assert point.scanned_records < 10  # read from the checkpoint's offsets, not from the beginning
    second.export(events(501, 100))
    second.close()
    assert sum(len(r) for r in topic_records(kafka_broker, topic).values()) == 600


def test_a_crash_in_the_middle_of_a_multi_partition_batch(kafka_broker: Broker, topic: str) -> None:
    """Partition A got the whole batch, B half of it, C nothing: no duplicate, no gap after the resume."""
    first = exporter(kafka_broker, topic)
    first.open()
    first.export(events(1, 100))
    first.close()
    batch = events(101, 300)
    by_partition: dict[int, list[Stamped]] = defaultdict(list)
    for s in batch:
        by_partition[partition_of(record_key(s), 3)].append(s)
    # What a crashed exporter left behind, without a checkpoint: partition 0 complete, 1 half, 2 none.
    crashed = exporter(kafka_broker, topic)
    crashed.open()
    crashed.checkpoint = lambda force=False: 0  # type: ignore[method-assign]  # its checkpoint never made it
    partial = by_partition[0] + by_partition[1][: len(by_partition[1]) // 2]
    crashed.export(sorted(partial, key=lambda s: s.event_id))
    crashed.close()

    resumed = exporter(kafka_broker, topic)
    point = resumed.open()
    assert point.after == 100  # the last checkpoint; partition 2 has nothing newer
    resumed.export(events(101, 300))  # the Controller's stream after 100: the whole batch again
    resumed.export(events(401, 50))
    resumed.close()

    records = topic_records(kafka_broker, topic)
    all_ids = []
    for rs in records.values():
        ids = [event_id_of_headers(r.headers) for r in rs]  # type: ignore[attr-defined]
        assert ids == sorted(set(ids)), "in order per partition, no duplicate"
        all_ids.extend(ids)
    assert sorted(all_ids) == list(range(1, 451))


def test_a_changed_partition_count_is_refused(kafka_broker: Broker, topic: str) -> None:
    first = exporter(kafka_broker, topic)
    first.open()
    first.export(events(1, 10))
    first.close()
    # As if the topic had had 5 partitions when it was last exported to (Tansu cannot add partitions).
    producer = kafka.KafkaProducer(bootstrap_servers=kafka_broker.bootstrap)
    producer.send(first.checkpoint_topic, Checkpoint(10, {}, 5).to_bytes(), key=CHECKPOINT_KEY, partition=0).get(10)
    producer.close()
    with pytest.raises(ExportConfigError, match="partition count"):
        exporter(kafka_broker, topic).open()
