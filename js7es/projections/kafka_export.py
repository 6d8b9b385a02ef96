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

**Pipelining** (`send` / `collect`): the exporter sends the next batch while the broker acknowledges
the previous one. Acknowledged batches are taken in sending order, and only a batch whose every
record is acknowledged advances `exported_until`, the per-partition positions and so the checkpoint;
nothing else depends on the acknowledgement. The checkpoint record itself is sent without waiting;
`checkpointed` (what may be released) advances when the broker has acknowledged it.

**Encoding**: `EnvelopeEncoder` writes the same bytes as `AvroCodec.encode` (a test compares them for
every event class) at about a third of the cost: one small, self-contained fastavro schema per event
class — the envelope with the event's own record instead of the union of every event, the union branch
index as a plain field before it — so that fastavro's writer neither searches the union's 60 branches
nor copies the envelope's 90 named types on every call; and for the classes whose equal events have
equal bytes (most order events), the event's part is written once per distinct event and reused.

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

import dataclasses
import io
import json
import logging
import time
import types
import typing
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import fastavro

from js7es.domain.codec import type_name_of
from js7es.domain.event import NO_KEY, Stamped
from js7es.journal.avro import SINGLE_OBJECT_MARKER, AvroCodec, Schema

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


_NAMED = ("record", "enum", "fixed")


def _named_definitions(schema: Schema, out: dict[str, Any]) -> dict[str, Any]:
    """Every named type of `schema` by full name: its (first, complete) definition."""
    if isinstance(schema, list):
        for branch in schema:
            _named_definitions(branch, out)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in _NAMED:
            out.setdefault(schema["name"], schema)
            for f in schema.get("fields", ()):
                _named_definitions(f["type"], out)
        elif kind == "array":
            _named_definitions(schema["items"], out)
        elif kind == "map":
            _named_definitions(schema["values"], out)
        elif isinstance(kind, (dict, list)):
            _named_definitions(kind, out)
    return out


def _self_contained(schema: Schema, definitions: Mapping[str, Any], defined: set[str]) -> Schema:
    """`schema` with each reference to a named type not yet defined in it replaced by its definition."""
    if isinstance(schema, str):
        if schema in definitions and schema not in defined:
            return _self_contained(definitions[schema], definitions, defined)
        return schema
    if isinstance(schema, list):
        return [_self_contained(branch, definitions, defined) for branch in schema]
    kind = schema.get("type")
    if kind in _NAMED:
        defined.add(schema["name"])
        if "fields" not in schema:
            return schema
        fields = [{**f, "type": _self_contained(f["type"], definitions, defined)} for f in schema["fields"]]
        return {**schema, "fields": fields}
    if kind == "array":
        return {**schema, "items": _self_contained(schema["items"], definitions, defined)}
    if kind == "map":
        return {**schema, "values": _self_contained(schema["values"], definitions, defined)}
    if isinstance(kind, (dict, list)):
        return {**schema, "type": _self_contained(kind, definitions, defined)}
    return schema


def _equal_means_same_bytes(cls: type[Any]) -> bool:
    """Whether two equal events of `cls` always have the same Avro bytes: its fields hold only strings,
    ints, None, Literals and tuples of those (where ``True == 1`` is harmless: Avro writes a long
    either way). Not so for JS7 values (``1 == Decimal(1)``, but their JSON differs) or nested records."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:
        return False
    return all(_plain(hints.get(f.name)) for f in dataclasses.fields(cls))


def _plain(hint: Any) -> bool:
    if hint in (str, int, type(None)):
        return True
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Literal:
        return all(isinstance(a, (str, int)) and not isinstance(a, bool) for a in args)
    if origin in (typing.Union, types.UnionType):
        return all(a in (str, int, type(None)) or (typing.get_origin(a) is tuple and _plain(a)) for a in args)
    if origin is tuple:
        items = [a for a in args if a is not Ellipsis]
        return all(
            a in (str, int) or (typing.get_origin(a) in (typing.Union, types.UnionType) and _plain(a)) for a in items
        )
    return False


class EnvelopeEncoder:
    """`AvroCodec.encode`'s bytes, several times faster (see the module's doc). Avro's binary encoding
    of a record is the concatenation of its fields', and a union value is its branch index (a long)
    followed by the branch's value. So the envelope of an event of class C is written either

    - by the schema {eventId, timestamp, key, unionBranch: long, event: C}, or
    - for the classes whose equal events have equal bytes (`_equal_means_same_bytes`: most order
      events, e.g. OrderMoved, OrderAttached, OrderDetachable), as the bytes of {eventId, timestamp,
      key} followed by the event's branch index and record, kept per distinct event: one order's
      OrderMoved(to=[1]) is written once and reused for the next orders."""

    CACHED_EVENTS = 50_000

    def __init__(self, codec: AvroCodec) -> None:
        self.codec = codec
        self.header = SINGLE_OBJECT_MARKER + codec.fingerprint
        envelope = codec.schema
        fields = {f["name"]: f for f in envelope["fields"]}
        if list(fields) != ["eventId", "timestamp", "key", "event"] or not isinstance(fields["event"]["type"], list):
            raise ValueError(f"unexpected envelope schema fields {list(fields)}")
        # The timestamp is a plain long here: its logical type only changes what fastavro accepts.
        prefix = [fields["eventId"], {"name": "timestamp", "type": "long"}, fields["key"]]
        self._prefix = fastavro.parse_schema({"type": "record", "name": "js7es.kafka.StampedPrefix", "fields": prefix})
        definitions = _named_definitions(envelope, {})
        self._writers: dict[str, tuple[int, Any, Any]] = {}
        for index, branch in enumerate(fields["event"]["type"]):
            name = branch if isinstance(branch, str) else branch["name"]
            event = _self_contained(definitions[name], definitions, set())
            whole = {
                "type": "record",
                "name": "js7es.kafka.StampedOfOneEventClass",
                "fields": [*prefix, {"name": "unionBranch", "type": "long"}, {"name": "event", "type": event}],
            }
            one = {"type": "record", "name": "js7es.kafka.UnionBranch", "fields": whole["fields"][3:]}
            self._writers[name] = (index, fastavro.parse_schema(whole), fastavro.parse_schema(one))
        self._cacheable: dict[type[Any], bool] = {}
        self._bodies: dict[Any, bytes] = {}

    def encode(self, stamped: Stamped) -> bytes:
        event = stamped.event
        cls = type(event)
        cacheable = self._cacheable.get(cls)
        if cacheable is None:
            cacheable = self._cacheable[cls] = _equal_means_same_bytes(cls)
        if cacheable:
            body = self._bodies.get(event)
            if body is None:
                body = self._body(stamped)
                if body is None:
                    return self.codec.encode(stamped)
                if len(self._bodies) >= self.CACHED_EVENTS:
                    self._bodies.clear()
                self._bodies[event] = body
            out = io.BytesIO(self.header)
            out.seek(len(self.header))
            fastavro.schemaless_writer(
                out, self._prefix, {"eventId": stamped.event_id, "timestamp": stamped.timestamp_ms, "key": stamped.key}
            )
            out.write(body)
            return out.getvalue()
        record = self.codec.to_record(stamped)
        name, event_record = record["event"]
        found = self._writers.get(name)
        if found is None:  # not a branch of the event union: let the codec say why
            return self.codec.encode(stamped)
        record["unionBranch"] = found[0]
        record["event"] = event_record
        out = io.BytesIO(self.header)
        out.seek(len(self.header))
        fastavro.schemaless_writer(out, found[1], record)
        return out.getvalue()

    def _body(self, stamped: Stamped) -> bytes | None:
        """The event's union branch index and record."""
        name, event_record = self.codec.to_record(stamped)["event"]
        found = self._writers.get(name)
        if found is None:
            return None
        out = io.BytesIO()
        fastavro.schemaless_writer(out, found[2], {"unionBranch": found[0], "event": event_record})
        return out.getvalue()


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


# One event ready to send: (EventId, record key, record value, type header).
EventRecord = tuple[int, bytes, bytes, bytes]


_type_headers: dict[type[Any], bytes] = {}


def type_header(cls: type[Any]) -> bytes:
    """The ``type`` header of an event class: its JS7 TYPE."""
    name = _type_headers.get(cls)
    if name is None:
        name = _type_headers[cls] = type_name_of(cls).encode()
    return name


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
                partition = _hash(key) % count
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
