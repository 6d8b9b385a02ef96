"""Controller events → a Kafka topic, Avro-encoded, exactly once and without a gap across crashes.

The record of one event (ARCHITECTURE §8, issue 6):

- **value**: the `AvroCodec` bytes, Avro single-object encoding (C3 01, the writer schema's 8-byte
  CRC-64-AVRO fingerprint, the `js7es.Stamped` record) — see schemas/README.md;
- **key**: the Stamped key (order id, item key, agent path) in UTF-8; events of the whole node
  (key "") get the key ``controller`` (`NODE_RECORD_KEY`);
- **partition**: chosen here, explicitly, as Kafka's default partitioner does (murmur2 of the key,
  positive, modulo the partition count), so that the resume logic knows where every event belongs
  and one key's events stay in order on one partition;
- **headers**: ``eventId`` = the EventId as a **decimal string** in ASCII (e.g. ``1732521600000001``;
  chosen over 8 binary bytes because every tool shows it as it is — kcat prints header values as C
  strings, and a big-endian long starts with a zero byte) and ``type`` = the event's JS7 TYPE in UTF-8
  (e.g. ``OrderMoved``), so that consumers can route and filter without decoding Avro.

The producer is idempotent with ``acks=all`` and at most 5 requests in flight per connection, which
keeps the records of one partition in the order they were sent, without duplicates from retries.

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

import json
import logging
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from js7es.domain.codec import type_name_of
from js7es.domain.event import NO_KEY, Stamped
from js7es.journal.avro import AvroCodec

with warnings.catch_warnings():  # kafka-python 3.0 reads its protocol files with deprecated importlib calls
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka
    import kafka.errors
    from kafka.partitioner.default import murmur2

logger = logging.getLogger(__name__)

HEADER_EVENT_ID = "eventId"
HEADER_TYPE = "type"
NODE_RECORD_KEY = "controller"
CHECKPOINT_SUFFIX = ".js7es-checkpoint"
CHECKPOINT_KEY = b"checkpoint"

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


def record_key(stamped: Stamped) -> bytes:
    return (stamped.key if stamped.key != NO_KEY else NODE_RECORD_KEY).encode()


@lru_cache(maxsize=65536)
def _hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


def partition_of(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (murmur2 of the key bytes, made positive, modulo the count)."""
    return _hash(key) % partitions


def event_id_header(event_id: int) -> bytes:
    return str(event_id).encode("ascii")


def event_id_of_headers(headers: Iterable[tuple[str, bytes]] | None) -> int | None:
    for name, value in headers or ():
        if name == HEADER_EVENT_ID and value and value.isdigit():
            return int(value)
    return None


def client_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The TLS/SASL options among `options` (None values left out); unknown names are refused."""
    unknown = sorted(set(options) - CLIENT_OPTIONS)
    if unknown:
        raise ExportConfigError(f"unknown Kafka client option {unknown[0]!r}")
    return {k: v for k, v in options.items() if v is not None}


@dataclass
class Checkpoint:
    """Every event ≤ `event_id` is in the topic; `partitions`: p → (next offset, last EventId) then."""

    event_id: int = 0
    partitions: dict[int, tuple[int, int]] = field(default_factory=dict)
    partition_count: int | None = None

    def to_bytes(self) -> bytes:
        return json.dumps(
            {
                "eventId": self.event_id,
                "partitionCount": self.partition_count,
                "partitions": {str(p): list(v) for p, v in sorted(self.partitions.items())},
            }
        ).encode()

    @staticmethod
    def from_bytes(data: bytes) -> Checkpoint:
        obj = json.loads(data)
        return Checkpoint(
            int(obj["eventId"]),
            {int(p): (int(v[0]), int(v[1])) for p, v in obj["partitions"].items()},
            obj.get("partitionCount"),
        )


@dataclass(frozen=True, slots=True)
class ResumePoint:
    after: int  # resume the Controller's stream after this EventId
    watermark: int  # every event ≤ watermark is in the topic (what may be released)
    last_by_partition: Mapping[int, int]
    scanned_records: int
    seconds: float


class KafkaExporter:
    """Produces Stamped events to `topic`; `open()` finds where to resume, `export()` sends a batch.

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
        self._type_names: dict[type[Any], bytes] = {}

    # -- start ------------------------------------------------------------------------------------

    def open(self) -> ResumePoint:
        """Connect, create missing topics, read the topic's state; where the Controller stream resumes."""
        started = self._clock()
        self.close()
        try:
            self._ensure_topics()
            producer = kafka.KafkaProducer(
                bootstrap_servers=self.bootstrap,
                acks="all",
                enable_idempotence=True,
                max_in_flight_requests_per_connection=5,
                linger_ms=5,
                batch_size=256 * 1024,
                **{**self.options, **self.producer_options},
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

    def export(self, events: Sequence[Stamped]) -> int:
        """Send `events` (EventId order, following the last batch or the resume point), wait for the
        broker's acknowledgement; returns how far events may be released (the checkpointed EventId)."""
        producer = self._producer
        if producer is None:
            raise ExportError("not open")
        sent = []
        try:
            for stamped in events:
                key = record_key(stamped)
                partition = partition_of(key, self.partition_count)
                if stamped.event_id <= self.last_by_partition.get(partition, 0):
                    continue  # already in its partition (the batch a crash interrupted)
                future = producer.send(
                    self.topic,
                    value=self.codec.encode(stamped),
                    key=key,
                    partition=partition,
                    headers=[(HEADER_EVENT_ID, event_id_header(stamped.event_id)), (HEADER_TYPE, self._type(stamped))],
                )
                sent.append((partition, stamped.event_id, future))
            producer.flush()
        except kafka.errors.KafkaError as e:
            raise ExportError(f"Kafka {self.bootstrap}: {type(e).__name__}: {e}") from e
        for partition, event_id, future in sent:
            if future.failed():
                raise ExportError(f"EventId {event_id} not acknowledged: {future.exception}")
            self.last_by_partition[partition] = event_id
            self.next_offset[partition] = future.value.offset + 1
        if events:
            self.exported_until = max(self.exported_until, events[-1].event_id)
        return self.checkpoint()

    def checkpoint(self, *, force: bool = False) -> int:
        """Write a checkpoint of `exported_until` when due; returns the checkpointed EventId."""
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
            self._producer.send(
                self.checkpoint_topic, value=checkpoint.to_bytes(), key=CHECKPOINT_KEY, partition=0
            ).get(timeout=30)
        except kafka.errors.KafkaError as e:
            raise ExportError(f"checkpoint not acknowledged: {type(e).__name__}: {e}") from e
        self._last_checkpoint_at = now
        self.checkpointed = checkpoint.event_id
        return self.checkpointed

    def _type(self, stamped: Stamped) -> bytes:
        cls = type(stamped.event)
        name = self._type_names.get(cls)
        if name is None:
            name = self._type_names[cls] = type_name_of(cls).encode()
        return name

    def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=5)
            except Exception as e:  # a broken connection must not hide the error that made us close
                logger.debug("closing the producer: %s", e)
