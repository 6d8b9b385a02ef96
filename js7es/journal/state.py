"""The little that the journal's offline tools need to know about a state: `JournaledState`.

ControllerState (and the Agent's state) implement it; the journal itself never looks inside events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol, Self

from js7es.domain.event import Stamped
from js7es.domain.problem import Problem

JsonObject = dict[str, Any]


class JournaledState(Protocol):
    @classmethod
    def from_snapshot(cls, objects: Iterable[JsonObject]) -> Self:
        """The state a snapshot describes ([] is the empty state of a new journal)."""
        ...

    def apply_stamped(self, stamped: Stamped) -> Self | Problem:
        """The state after the event, or an 'inapplicable event' problem (a bug, never ignored)."""
        ...

    def snapshot_objects(self) -> Iterator[JsonObject]:
        """The JSON objects of a snapshot of this state (the inverse of `from_snapshot`)."""
        ...

    def state_hash(self) -> str:
        """A digest of the whole state, equal for equal states (compares replayed with live state)."""
        ...

    def summary(self) -> JsonObject:
        """A few numbers for people (counts of orders, items, …)."""
        ...
