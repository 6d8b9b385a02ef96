"""Reading the exported event stream back: Kafka records → js7es `Stamped` events.

The exporter (`js7es export kafka`, exporter.py) writes one record per Controller event (records.py):
the value is Avro single-object encoding of `js7es.Stamped` (schemas/README.md),
the key the order id (item key, agent path; ``controller`` for node events), the headers ``eventId``
(the EventId as a decimal ASCII string) and ``type`` (the JS7 TYPE). One key's events are in EventId order on one
partition; across partitions, merge by EventId if you need the global order.

Example (any kafka-python consumer works; `decode` takes its records)::

    from kafka import KafkaConsumer
    from js7es.projections.kafka import decode

    consumer = KafkaConsumer("js7-events", bootstrap_servers="localhost:9092", group_id="my-view",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    for record in consumer:
        stamped = decode(record)          # Stamped(event_id, timestamp_ms, key, event)
        print(stamped.event_id, stamped.key, type(stamped.event).__name__)

or, without a consumer group (all partitions from the beginning until the topic is quiet)::

    for stamped in read_events("localhost:9092", "js7-events", idle_s=2):
        ...

`decode` checks the framing and refuses bytes of an unknown writer schema (a newer js7es: update
schemas/); older schema versions are resolved to the current classes.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

from js7es.domain.event import Stamped
from js7es.journal.avro import AvroCodec, AvroCodecError
from js7es.projections.kafka.records import HEADER_EVENT_ID, event_id_of_headers

with warnings.catch_warnings():  # kafka-python 3.0 reads its protocol files with deprecated importlib calls
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka

_codec: AvroCodec | None = None


def _default_codec() -> AvroCodec:
    global _codec
    if _codec is None:
        _codec = AvroCodec()
    return _codec


def decode_value(value: bytes, codec: AvroCodec | None = None) -> Stamped:
    """The Stamped event of a record value (raises AvroCodecError for foreign or unknown bytes)."""
    return (codec or _default_codec()).decode(value)


def decode(record: Any, codec: AvroCodec | None = None) -> Stamped:
    """The Stamped event of a kafka-python ConsumerRecord; checks that its header matches the value."""
    stamped = decode_value(record.value, codec)
    header = event_id_of_headers(record.headers)
    if header is not None and header != stamped.event_id:
        raise AvroCodecError(f"header {HEADER_EVENT_ID}={header} but the record holds EventId {stamped.event_id}")
    return stamped


def event_id_of(record: Any) -> int | None:
    """The EventId of a record from its header, without decoding the value."""
    return event_id_of_headers(record.headers)


def read_events(
    bootstrap: str,
    topic: str,
    *,
    after: int = 0,
    idle_s: float | None = 2.0,
    options: Mapping[str, Any] | None = None,
    codec: AvroCodec | None = None,
) -> Iterator[Stamped]:
    """Every event with EventId > `after` in the topic, partition by partition as they arrive (assign
    and seek, no consumer group); ends when no record came for `idle_s` (None: follow forever).
    `options`: kafka-python client options (security_protocol, ssl_*, sasl_*)."""
    consumer = kafka.KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, **dict(options or {})
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [kafka.TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)
        idle_until = None if idle_s is None else time.monotonic() + idle_s
        while idle_until is None or time.monotonic() < idle_until:
            batches = consumer.poll(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    event_id = event_id_of_headers(record.headers)
                    if event_id is not None and event_id <= after:
                        continue
                    yield decode(record, codec)
            if batches and idle_s is not None:
                idle_until = time.monotonic() + idle_s
    finally:
        consumer.close()
