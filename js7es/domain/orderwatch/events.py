"""JS7's OrderWatchEvent: what the Agent saw in a FileWatch's directory, keyed by the FileWatch's path.

The Agent journals them; the Controller adopts them as they are (js7es.domain.agent.translate) and adds
the orders (OrderAdded with the externalOrderKey) or marks them OrderExternalVanished. JS7 wrote
ExternalOrderArised before 2.7.3; that name still decodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from js7es.domain import codec
from js7es.domain.event import Event
from js7es.domain.value import NamedValues


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderWatchEvent(Event):
    """Keyed by the FileWatch's path."""

    external_order_name: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalOrderAppeared(OrderWatchEvent):
    """A file appeared (and stayed unchanged for the FileWatch's delay): the Controller adds its order.
    `arguments`: the order's arguments ({"file": the full path})."""

    arguments: NamedValues = field(default_factory=dict)
    order_id: str | None = None  # JS7 up to 2.7.3: the order id decided by the Agent


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalOrderRejected(OrderWatchEvent):
    """The Controller could not add an order for the file (a bad order id, refused arguments)."""

    problem: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalOrderVanished(OrderWatchEvent):
    """The file is gone: its order (if any) is deleted once it has terminated."""


codec.register_alias("ExternalOrderArised", ExternalOrderAppeared)
