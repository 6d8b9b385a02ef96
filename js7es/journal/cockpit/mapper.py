"""Our events as the `eventsourcing` library's `StoredEvent`s, and back.

The library's own Mapper names an event class by its module path and serialises `vars(event)`; ours
are slotted dataclasses with a stable TYPE, so this Mapper (the library's aggregate7/8 approach) writes
topic = the event's TYPE and state = the record's JSON ({"Key", "meta", "event"}) through our codec,
keeping the library's optional compressor and cipher.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent

from js7es.domain import codec
from js7es.domain.cockpit.events import CockpitRecord, record_from_json, record_to_json
from js7es.domain.value import dumps, loads

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://js7es/cockpit-store")


def aggregate_id(key: str) -> UUID:
    """The originator id of an aggregate key: uuid5, the same in every Cockpit."""
    return uuid.uuid5(_NAMESPACE, key)


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """A record as the library's persistence layer sees a domain event."""

    originator_id: UUID
    originator_version: int
    record: CockpitRecord


def store_event(record: CockpitRecord) -> StoreEvent:
    return StoreEvent(aggregate_id(record.key), record.version, record)


class RecordMapper(Mapper[UUID]):
    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        assert isinstance(domain_event, StoreEvent), domain_event
        record = domain_event.record
        state = dumps(record_to_json(record.key, record.event, record.meta)).encode()
        if self.compressor:
            state = self.compressor.compress(state)
        if self.cipher:
            state = self.cipher.encrypt(state)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=codec.type_name_of(type(record.event)),
            state=state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> StoreEvent:
        return self.to_store_event(stored_event, notification_id=0)

    def to_store_event(self, stored_event: StoredEvent, *, notification_id: int) -> StoreEvent:
        state = stored_event.state
        try:
            if self.cipher:
                state = self.cipher.decrypt(state)
            if self.compressor:
                state = self.compressor.decompress(state)
            record = record_from_json(
                loads(state), version=stored_event.originator_version, notification_id=notification_id
            )
        except (ValueError, codec.CodecError) as e:
            raise MapperDeserialisationError(
                f"cannot decode {stored_event.topic} of {stored_event.originator_id}"
                f" version {stored_event.originator_version}: {e}"
            ) from e
        originator_id = stored_event.originator_id
        return StoreEvent(
            originator_id if isinstance(originator_id, UUID) else UUID(originator_id),
            stored_event.originator_version,
            record,
        )
