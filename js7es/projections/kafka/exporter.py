"""Controller events → a Kafka topic, Avro-encoded, exactly once and without a gap across crashes.

The records are those of records.py, their values written by `EnvelopeEncoder` (encoder.py).
The producer is idempotent with ``acks=all`` and at most 5 requests in flight per connection, which
keeps the records of one partition in the order they were sent, without duplicates from retries.

**Pipelining** (`send` / `collect`): the exporter sends the next batch while the broker acknowledges
the previous one. Acknowledged batches are taken in sending order, and only a batch whose every
record is acknowledged advances `exported_until`, the per-partition positions and so the checkpoint;
nothing else depends on the acknowledgement. The checkpoint record itself is sent without waiting;
`checkpointed` (what may be released) advances when the broker has acknowledged it.

**Resume algorithm** (`KafkaExporter.open`). Kafka transactions would make a batch atomic, but the
test broker (Tansu) does not honour them, and its end offsets are wrong (libraries.md §3): neither
is used. Instead two facts make the topic itself the truth:

1. Per partition, the exporter sends events in EventId order, and the idempotent producer keeps that
   order; a restarted exporter sends to a partition only events newer than the partition's last one.
   So every partition holds, for the keys that map to it, a gap-free *prefix* of their events; the
   last EventId `last[p]` of partition p says that every event of p with an EventId ≤ last[p] is in p.
2. After a batch is acknowledged by the broker, the exporter writes a **checkpoint** record to the
   one-partition topic ``<topic>.js7es-checkpoint``: {"eventId": W, "partitions": {p: [next offset,
   last EventId]}}. W says: every event ≤ W is in the topic (on whatever partition it belongs to).
   Only then does it send ``ReleaseEvents(W)`` to the Controller, so the Controller keeps every
   event after W — the resume point below never asks for a released event.

On start: read the checkpoint topic from its beginning to its end, keep the last checkpoint (W and
per-partition offsets); read every data partition from the checkpoint's offset to its end, keeping the
EventId header of the last record: `last[p]`. "To its end" means: `poll` returned no record for
`idle_s` (default 1.5 s) — the exporter is the topic's only writer, and a killed exporter's requests
are answered within milliseconds. Resume the Controller's stream after
``max(W, min over p of last[p])`` (each is a bound below which nothing is missing; an empty
partition counts 0), and skip every event whose EventId ≤ last[its own partition]: so a crash in
the middle of a multi-partition batch — partition A has the batch, partition B has not — neither
duplicates A's events nor loses B's.

The checkpoint topic has one partition when the exporter creates it; if it was created otherwise
(auto-created by a broker, with more partitions), only its partition 0 is used.

**Cost of a start**: one read of the checkpoint topic (one small record per checkpoint, written at most
every `checkpoint_interval_s`; on Kafka give it ``cleanup.policy=compact`` — it is created so — and
it stays one record per key; Tansu does not compact) plus the data records written after the last
checkpoint (at most a checkpoint interval's worth), plus `idle_s` of waiting. Without a checkpoint
(first start, or the checkpoint topic was deleted) every partition is read from its beginning.

Rules: one exporter per topic; do not add partitions to the topic while exporting (a changed
partition count is refused: keys would move and their order would break, as in any keyed topic).
"""

from __future__ import annotations

import logging
import time
import warnings
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from js7es.domain.event import Stamped
from js7es.journal.avro import AvroCodec
from js7es.projections.kafka.encoder import EnvelopeEncoder
from js7es.projections.kafka.records import (
    CHECKPOINT_KEY,
    CHECKPOINT_SUFFIX,
    HEADER_EVENT_ID,
    HEADER_TYPE,
    Checkpoint,
    EventRecord,
    event_id_of_headers,
    key_hash,
    record_key,
    type_header,
)

with warnings.catch_warnings():  # kafka-python 3.0 reads its protocol files with deprecated importlib calls
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka
    import kafka.errors

logger = logging.getLogger(__name__)

# The producer: idempotent, acks=all, at most 5 requests in flight per connection (which keeps the
# order of a partition's records across retries).
PRODUCER_SETTINGS: Mapping[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "max_in_flight_requests_per_connection": 5,
    "linger_ms": 5,
    "batch_size": 256 * 1024,
}

# Client options passed through to the producer and consumers (TLS, SASL), by kafka-python's names.
CLIENT_OPTIONS = frozenset(
    {
        "security_protocol",
        "ssl_cafile",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_password",
        "ssl_check_hostname",
        "ssl_crlfile",
        "ssl_ciphers",
        "sasl_mechanism",
        "sasl_plain_username",
        "sasl_plain_password",
        "sasl_kerberos_service_name",
        "sasl_kerberos_domain_name",
        "client_id",
    }
)


class ExportError(Exception):
    """The broker failed or refused a batch: close, reopen (which re-reads the topic) and go on."""


class ExportConfigError(ValueError):
    """A problem a restart does not cure (topic layout changed, foreign records): stop with the message."""


def client_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The TLS/SASL options among `options` (None values left out); unknown names are refused."""
    unknown = sorted(set(options) - CLIENT_OPTIONS)
    if unknown:
        raise ExportConfigError(f"unknown Kafka client option {unknown[0]!r}")
    return {k: v for k, v in options.items() if v is not None}


@dataclass(slots=True)
class _Batch:
    records: list[tuple[int, int, Any]]  # (partition, EventId, the producer's future), in sending order
    until: int  # the batch's last EventId (sent or skipped as already in the topic)
    acknowledged: int = 0  # records[:acknowledged] are acknowledged


@dataclass(frozen=True, slots=True)
class ResumePoint:
    after: int  # resume the Controller's stream after this EventId
    watermark: int  # every event ≤ watermark is in the topic (what may be released)
    last_by_partition: Mapping[int, int]
    scanned_records: int
    seconds: float


class KafkaExporter:
    """Produces Stamped events to `topic`; `open()` finds where to resume, `send()` sends a batch and
    `collect()` takes the acknowledgements (`export()`: both, and a checkpoint, for one batch).

    Not thread-safe; one instance per topic. After an `ExportError`, call `close()` and `open()` again.
    """

    def __init__(
        self,
        bootstrap: str | Sequence[str],
        topic: str,
        *,
        options: Mapping[str, Any] | None = None,
        partitions: int = 3,
        idle_s: float = 1.5,
        checkpoint_interval_s: float = 1.0,
        codec: AvroCodec | None = None,
        producer_options: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bootstrap = [bootstrap] if isinstance(bootstrap, str) else list(bootstrap)
        self.topic = topic
        self.checkpoint_topic = topic + CHECKPOINT_SUFFIX
        self.options = client_options(options or {})
        self.new_topic_partitions = partitions
        self.idle_s = idle_s
        self.checkpoint_interval_s = checkpoint_interval_s
        self.codec = codec or AvroCodec()
        self.producer_options = dict(producer_options or {})
        self._clock = clock
        self._producer: Any = None
        self.partition_count = 0
        self.last_by_partition: dict[int, int] = {}
        self.next_offset: dict[int, int] = {}
        self.exported_until = 0  # every event ≤ this is acknowledged by the broker
        self.checkpointed = 0  # ... and a checkpoint saying so is acknowledged too
        self._last_checkpoint_at = float("-inf")
        self.encoder = EnvelopeEncoder(self.codec)
        self._sent_by_partition: dict[int, int] = {}  # the last EventId sent per partition
        self._in_flight: deque[_Batch] = deque()
        self._pending_checkpoint: tuple[Checkpoint, Any] | None = None

    # -- start ------------------------------------------------------------------------------------

    def open(self) -> ResumePoint:
        """Connect, create missing topics, read the topic's state; where the Controller stream resumes."""
        started = self._clock()
        self.close()
        try:
            self._ensure_topics()
            producer = kafka.KafkaProducer(
                bootstrap_servers=self.bootstrap, **{**PRODUCER_SETTINGS, **self.options, **self.producer_options}
            )
            self._producer = producer
            partitions = producer.partitions_for(self.topic)
            if not partitions:
                raise ExportError(f"topic {self.topic!r} has no partitions")
            self.partition_count = len(partitions)
            checkpoint, scanned_cp = self._read_checkpoint()
            if checkpoint.partition_count not in (None, self.partition_count):
                raise ExportConfigError(
                    f"topic {self.topic!r} has {self.partition_count} partitions, but "
                    f"{checkpoint.partition_count} when it was last exported to: keyed order and resume "
                    "need a fixed partition count (export to a new topic instead)"
                )
            last, next_offset, scanned = self._read_partitions(checkpoint)
        except kafka.errors.KafkaError as e:
            self.close()
            raise ExportError(f"Kafka {self.bootstrap}: {type(e).__name__}: {e}") from e
        except BaseException:
            self.close()
            raise
        self.last_by_partition = last
        self._sent_by_partition = dict(last)
        self.next_offset = next_offset
        lower = min((last.get(p, 0) for p in range(self.partition_count)), default=0)
        watermark = max(checkpoint.event_id, lower)
        self.exported_until = self.checkpointed = watermark
        self._last_checkpoint_at = float("-inf")
        point = ResumePoint(watermark, watermark, dict(last), scanned + scanned_cp, self._clock() - started)
        logger.info(
            "Topic %s: %d partitions, last EventIds %s, checkpoint %d; resuming after %d (%d records read in %.1f s)",
            self.topic,
            self.partition_count,
            dict(sorted(last.items())),
            checkpoint.event_id,
            point.after,
            point.scanned_records,
            point.seconds,
        )
        return point

    def _ensure_topics(self) -> None:
        admin = kafka.KafkaAdminClient(bootstrap_servers=self.bootstrap, **self.options)
        try:
            existing = set(admin.list_topics())
            wanted = {}
            if self.topic not in existing:
                wanted[self.topic] = self.new_topic_partitions
            if self.checkpoint_topic not in existing:
                wanted[self.checkpoint_topic] = 1
            for name, count in wanted.items():
                new = kafka.admin.NewTopic(
                    name,
                    num_partitions=count,
                    replication_factor=-1,
                    topic_configs={"cleanup.policy": "compact"} if name == self.checkpoint_topic else {},
                )
                try:
                    admin.create_topics([new])
                    logger.info("Created topic %s with %d partition(s)", name, count)
                except kafka.errors.TopicAlreadyExistsError:
                    pass
        finally:
            admin.close()

    def _consumer(self) -> Any:
        return kafka.KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=10_000,
            **self.options,
        )

    def _read_to_end(self, starts: Mapping[Any, int], on_record: Callable[[Any], None]) -> int:
        """Read the partitions `starts` (TopicPartition → offset) until `poll` is empty for `idle_s`."""
        consumer = self._consumer()
        count = 0
        try:
            consumer.assign(list(starts))
            for tp, offset in starts.items():
                consumer.seek(tp, offset)
            idle_until = self._clock() + self.idle_s
            while self._clock() < idle_until:
                batches = consumer.poll(timeout_ms=200)
                for records in batches.values():
                    for record in records:
                        on_record(record)
                        count += 1
                if batches:
                    idle_until = self._clock() + self.idle_s
        finally:
            consumer.close()
        return count

    def _read_checkpoint(self) -> tuple[Checkpoint, int]:
        found: list[Checkpoint] = [Checkpoint()]

        def take(record: Any) -> None:
            try:
                found[0] = Checkpoint.from_bytes(record.value)
            except (ValueError, KeyError, TypeError) as e:
                raise ExportConfigError(f"{self.checkpoint_topic}: not a js7es checkpoint at {record.offset}") from e

        count = self._read_to_end({kafka.TopicPartition(self.checkpoint_topic, 0): 0}, take)
        return found[0], count

    def _read_partitions(self, checkpoint: Checkpoint) -> tuple[dict[int, int], dict[int, int], int]:
        last: dict[int, int] = {}
        next_offset: dict[int, int] = {}
        starts = {}
        for p in range(self.partition_count):
            offset, event_id = checkpoint.partitions.get(p, (0, 0))
            starts[kafka.TopicPartition(self.topic, p)] = offset
            next_offset[p] = offset
            if event_id:
                last[p] = event_id

        def take(record: Any) -> None:
            event_id = event_id_of_headers(record.headers)
            if event_id is None:
                raise ExportConfigError(
                    f"{self.topic}[{record.partition}]@{record.offset} has no {HEADER_EVENT_ID} header: "
                    "the topic holds records of another writer"
                )
            previous = last.get(record.partition, 0)
            if event_id <= previous:
                logger.warning(
                    "%s[%d]@%d: EventId %d after %d", self.topic, record.partition, record.offset, event_id, previous
                )
            last[record.partition] = max(previous, event_id)
            next_offset[record.partition] = record.offset + 1

        scanned = self._read_to_end(starts, take)
        return last, next_offset, scanned

    # -- export -----------------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Batches sent whose acknowledgement has not been collected yet."""
        return len(self._in_flight)

    def send(self, events: Sequence[Stamped]) -> None:
        """Send `events` (EventId order, following the last batch or the resume point) without waiting;
        `collect` takes the broker's acknowledgements."""
        encode = self.encoder.encode
        self.send_records([(s.event_id, record_key(s), encode(s), type_header(type(s.event))) for s in events])

    def send_records(self, records: Sequence[EventRecord]) -> None:
        """`send` for events encoded already: (EventId, key, value, type header) each."""
        producer = self._producer
        if producer is None:
            raise ExportError("not open")
        if not records:
            return
        sent = []
        sent_until = self._sent_by_partition
        topic = self.topic
        count = self.partition_count
        try:
            for event_id, key, value, type_name in records:
                partition = key_hash(key) % count
                if event_id <= sent_until.get(partition, 0):
                    continue  # already in its partition (the batch a crash interrupted)
                future = producer.send(
                    topic,
                    value=value,
                    key=key,
                    partition=partition,
                    headers=[(HEADER_EVENT_ID, str(event_id).encode()), (HEADER_TYPE, type_name)],
                )
                sent_until[partition] = event_id
                sent.append((partition, event_id, future))
        except kafka.errors.KafkaError as e:
            raise ExportError(f"Kafka {self.bootstrap}: {type(e).__name__}: {e}") from e
        self._in_flight.append(_Batch(sent, records[-1][0]))

    def collect(self, *, keep: int = 0, timeout_s: float = 120.0) -> int:
        """Take the acknowledgements of the batches sent, oldest first, waiting until at most `keep`
        batches remain in flight; returns `exported_until`."""
        while self._in_flight:
            batch = self._in_flight[0]
            wait = len(self._in_flight) > keep
            records = batch.records
            while batch.acknowledged < len(records):
                partition, event_id, future = records[batch.acknowledged]
                if not future.is_done:
                    if not wait:
                        return self.exported_until
                    try:
                        future.get(timeout=timeout_s)
                    except kafka.errors.KafkaError as e:
                        raise ExportError(f"EventId {event_id} not acknowledged: {type(e).__name__}: {e}") from e
                if future.failed():
                    raise ExportError(f"EventId {event_id} not acknowledged: {future.exception}")
                self.last_by_partition[partition] = event_id
                self.next_offset[partition] = future.value.offset + 1
                batch.acknowledged += 1
            self._in_flight.popleft()
            self.exported_until = max(self.exported_until, batch.until)
        return self.exported_until

    def export(self, events: Sequence[Stamped]) -> int:
        """Send `events`, wait for the broker's acknowledgement of everything sent and for a due
        checkpoint; returns how far events may be released (the checkpointed EventId)."""
        self.send(events)
        self.collect()
        return self.checkpoint()

    def checkpoint(self, *, force: bool = False, wait: bool = True) -> int:
        """Write a checkpoint of `exported_until` when due (`force`: now); returns the checkpointed
        EventId. With `wait=False` the checkpoint is only sent: a later call takes its acknowledgement."""
        if self._pending_checkpoint is not None:
            checkpoint, future = self._pending_checkpoint
            if not (wait or future.is_done):
                return self.checkpointed
            try:
                future.get(timeout=30)
            except kafka.errors.KafkaError as e:
                raise ExportError(f"checkpoint not acknowledged: {type(e).__name__}: {e}") from e
            self._pending_checkpoint = None
            self.checkpointed = max(self.checkpointed, checkpoint.event_id)
        if self.exported_until <= self.checkpointed:
            return self.checkpointed
        now = self._clock()
        if not force and now - self._last_checkpoint_at < self.checkpoint_interval_s:
            return self.checkpointed
        checkpoint = Checkpoint(
            self.exported_until,
            {p: (self.next_offset.get(p, 0), e) for p, e in self.last_by_partition.items()},
            self.partition_count,
        )
        try:
            future = self._producer.send(
                self.checkpoint_topic, value=checkpoint.to_bytes(), key=CHECKPOINT_KEY, partition=0
            )
        except kafka.errors.KafkaError as e:
            raise ExportError(f"checkpoint not sent: {type(e).__name__}: {e}") from e
        self._last_checkpoint_at = now
        self._pending_checkpoint = (checkpoint, future)
        return self.checkpoint(wait=True) if wait else self.checkpointed

    def close(self) -> None:
        self._in_flight.clear()
        self._pending_checkpoint = None
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=5)
            except Exception as e:  # a broken connection must not hide the error that made us close
                logger.debug("closing the producer: %s", e)
