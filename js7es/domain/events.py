"""The registry of every event of js7es: its families, and the TYPE → class map the codecs decode with.

An event class registers itself with `codec.register` when its module is imported. Whoever decodes an
event stream (the journal tools, the Cockpit's follower and rebuild, the Kafka exporter, the Avro
contract) must not count on some other import having loaded every event module; it asks this module,
which names each family (JS7's KeyedEventTypedJsonCodec of the ControllerState lists them the same way):

    from js7es.domain.events import EVENTS, stamped_from_json

`EVENTS` holds exactly js7es's own event classes; tests register events of their own, which are no
part of it. A test checks that every registered event class of js7es belongs to a family listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from js7es.domain import codec, event
from js7es.domain.agent.events import AgentEvent, AgentRefEvent
from js7es.domain.agent.subagent_events import SubagentItemStateEvent
from js7es.domain.board.events import NoticeEvent
from js7es.domain.cluster import ClusterEvent
from js7es.domain.event import Event, Stamped
from js7es.domain.items import ItemEvent
from js7es.domain.order.events import OrderEvent
from js7es.domain.orderwatch.events import OrderWatchEvent

# The families, each the base class of its events (and one Avro schema file, schemas/).
# The order's notice events live in js7es.domain.board.events beside NoticeEvent (order-events all the same).
FAMILIES: tuple[type[Event], ...] = (
    OrderEvent,
    ItemEvent,
    AgentRefEvent,
    AgentEvent,
    ClusterEvent,
    NoticeEvent,
    OrderWatchEvent,  # keyed by the FileWatch's path, on the Agent and the Controller alike
    SubagentItemStateEvent,  # keyed by the SubagentId (reset by command)
)

_FAMILY_MODULES = frozenset(family.__module__ for family in FAMILIES)

# Every event class of js7es by its TYPE.
EVENTS: Mapping[str, type[Event]] = MappingProxyType(
    {
        name: cls
        for name, cls in sorted(codec.registered(Event).items())
        if cls.__module__ in _FAMILY_MODULES and issubclass(cls, FAMILIES)
    }
)


def stamped_from_json(obj: dict[str, Any]) -> Stamped:
    """JS7's Stamped JSON (one line of an event stream) as a `Stamped`, every event of js7es known."""
    return event.stamped_from_json(obj)


def registered() -> Mapping[str, type[Event]]:
    """`EVENTS`, registered with the codec: for a caller that decodes through the codec itself (the
    journal), calling it says why it imports this module."""
    return EVENTS
