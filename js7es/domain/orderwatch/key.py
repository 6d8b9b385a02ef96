"""How an order refers to the file it was added for (JS7's ExternalOrderKey and Order.ExternalOrderLink)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from js7es.domain import codec


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalOrderKey:
    """A file of a FileWatch: the watch's path and the file's name in its directory (JS7's JSON has no
    TYPE)."""

    JSON_UNTYPED: ClassVar[bool] = True
    order_watch_path: str
    name: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalOrderLink:
    """The order's file; `vanished` once the file is gone (OrderExternalVanished): the order is then
    deleted as soon as it has terminated."""

    JSON_UNTYPED: ClassVar[bool] = True
    order_watch_path: str
    name: str
    vanished: bool = False

    @property
    def key(self) -> ExternalOrderKey:
        return ExternalOrderKey(order_watch_path=self.order_watch_path, name=self.name)
