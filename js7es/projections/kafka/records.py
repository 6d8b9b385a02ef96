"""The Kafka record of one Controller event (ARCHITECTURE §8, issue 6), and the exporter's checkpoint.

- **value**: the `AvroCodec` bytes, Avro single-object encoding (C3 01, the writer schema's 8-byte
  CRC-64-AVRO fingerprint, the `js7es.Stamped` record) — see schemas/README.md; written fast by
  `EnvelopeEncoder` (encoder.py);
- **key**: the Stamped key (order id, item key, agent path) in UTF-8; events of the whole node
  (key "") get the key ``controller`` (`NODE_RECORD_KEY`);
- **partition**: chosen here, explicitly, as Kafka's default partitioner does (murmur2 of the key,
  positive, modulo the partition count), so that the resume logic knows where every event belongs
  and one key's events stay in order on one partition;
- **headers**: ``eventId`` = the EventId as a **decimal string** in ASCII (e.g. ``1732521600000001``;
  chosen over 8 binary bytes because every tool shows it as it is — kcat prints header values as C
  strings, and a big-endian long starts with a zero byte) and ``type`` = the event's JS7 TYPE in UTF-8
  (e.g. ``OrderMoved``), so that consumers can route and filter without decoding Avro.

The checkpoint (`Checkpoint`, one record in ``<topic>.js7es-checkpoint``) says how far the topic holds
every event; exporter.py tells how it is used.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from js7es.domain.codec import type_name_of
from js7es.domain.event import NO_KEY, Stamped

with warnings.catch_warnings():  # kafka-python 3.0 reads its protocol files with deprecated importlib calls
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka.partitioner.default import murmur2

HEADER_EVENT_ID = "eventId"
HEADER_TYPE = "type"
NODE_RECORD_KEY = "controller"
CHECKPOINT_SUFFIX = ".js7es-checkpoint"
CHECKPOINT_KEY = b"checkpoint"


def record_key(stamped: Stamped) -> bytes:
    return (stamped.key if stamped.key != NO_KEY else NODE_RECORD_KEY).encode()


@lru_cache(maxsize=65536)
def key_hash(key: bytes) -> int:
    """murmur2 of the key, positive (Kafka's default partitioner before the modulo)."""
    return int(murmur2(key)) & 0x7FFFFFFF


def partition_of(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner (murmur2 of the key bytes, made positive, modulo the count)."""
    return key_hash(key) % partitions


def event_id_header(event_id: int) -> bytes:
    return str(event_id).encode("ascii")


def event_id_of_headers(headers: Iterable[tuple[str, bytes]] | None) -> int | None:
    for name, value in headers or ():
        if name == HEADER_EVENT_ID and value and value.isdigit():
            return int(value)
    return None


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
