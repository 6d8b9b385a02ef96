"""Events, keyed events and stamped events (JS7's Event, KeyedEvent and Stamped).

An event carries neither its key nor its position: the key (an order id, an item key, or none for
events of the whole node such as cluster events) is added by `KeyedEvent`, the EventId and timestamp
by `Stamped`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from js7es.domain import codec

NO_KEY = ""

# EventIds: epoch_ms * 1000 + n, strictly increasing (JS7 EventId). 0 is "before the first event".
BEFORE_FIRST = 0
EVENT_ID_MAX = 2**53


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event class. Subclasses are registered with `codec.register` under their name."""


@dataclass(frozen=True, slots=True)
class KeyedEvent:
    key: str
    event: Event


@dataclass(frozen=True, slots=True)
class Stamped:
    event_id: int
    timestamp_ms: int
    key: str
    event: Event

    @property
    def keyed(self) -> KeyedEvent:
        return KeyedEvent(self.key, self.event)


_new = object.__new__
# The slots' own setters: the frozen dataclass's __init__ calls object.__setattr__ per field, which
# cost a journal twice as much for each event it stamps or reads (0.5 instead of 0.3 µs).
_set_event_id, _set_timestamp_ms, _set_key, _set_event = (
    Stamped.__dict__[name].__set__ for name in ("event_id", "timestamp_ms", "key", "event")
)


def new_stamped(event_id: int, timestamp_ms: int, key: str, event: Event) -> Stamped:
    """`Stamped(event_id, timestamp_ms, key, event)`, without the frozen dataclass's __init__."""
    stamped: Stamped = _new(Stamped)
    _set_event_id(stamped, event_id)
    _set_timestamp_ms(stamped, timestamp_ms)
    _set_key(stamped, key)
    _set_event(stamped, event)
    return stamped


def event_classes() -> dict[str, type[Event]]:
    return codec.registered(Event)


def stamped_to_json(stamped: Stamped) -> dict[str, Any]:
    """JS7's Stamped JSON: eventId, timestamp (left out when it equals eventId/1000), Key, TYPE, fields."""
    out: dict[str, Any] = {"eventId": stamped.event_id}
    if stamped.timestamp_ms != stamped.event_id // 1000:
        out["timestamp"] = stamped.timestamp_ms
    if stamped.key != NO_KEY:
        out["Key"] = stamped.key
    out.update(codec.encode(stamped.event))
    return out


def stamped_from_json(obj: dict[str, Any]) -> Stamped:
    event_id = obj["eventId"]
    if not isinstance(event_id, int) or isinstance(event_id, bool):
        raise codec.CodecError("eventId must be an integer")
    fields = {k: v for k, v in obj.items() if k not in ("eventId", "timestamp", "Key")}
    event = codec.decode(fields, Event)
    timestamp = obj.get("timestamp", event_id // 1000)
    return new_stamped(event_id, timestamp, obj.get("Key", NO_KEY), event)


def timestamp_of(event_id: int) -> int:
    return event_id // 1000


def next_event_id(last: int, now_ms: int) -> int:
    """JS7's generator: max(now*1000, last+1), so ids increase even when the clock goes back."""
    return max(now_ms * 1000, last + 1)
