"""Commands and what deciding one yields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from js7es.domain.event import KeyedEvent
from js7es.domain.order.context import Context
from js7es.domain.problem import Problem

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Base of the commands (JS7's ControllerCommand names)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Decided:
    """The events a command yields, and its reply (e.g. which added orders were duplicates)."""

    events: tuple[KeyedEvent, ...] = ()
    reply: dict[str, Any] = field(default_factory=dict)
    touched_orders: tuple[str, ...] = ()


Handler = Callable[["ControllerState", Any, Context], "Decided | Problem"]
HANDLERS: dict[type[Command], Handler] = {}


def handles(command_class: type[Command]) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[command_class] = handler
        return handler

    return register
