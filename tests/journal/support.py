"""Test-only events and a tiny JournaledState (a counter per key) for the journal tests."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Self

from js7es.domain import codec
from js7es.domain.event import Event, KeyedEvent, Stamped
from js7es.domain.problem import Problem, problem
from js7es.domain.value import dumps


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class TestCounted(Event):
    __test__ = False  # not a pytest test class
    delta: int


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class TestCrashWritten(Event):
    """One event of a crash-test commit: commit `seq` of writer `writer` has `size` events."""

    __test__ = False
    writer: str
    seq: int
    index: int
    size: int


@dataclass(slots=True)
class CounterState:
    """A counter per key plus the last EventId: small, but replay-sensitive to order and loss."""

    counts: dict[str, int]
    event_id: int = 0
    events: int = 0

    @classmethod
    def from_snapshot(cls, objects: Iterable[dict[str, Any]]) -> Self:
        state = cls({})
        for obj in objects:
            if obj["TYPE"] == "TestCounter":
                state.counts[obj["key"]] = obj["count"]
            elif obj["TYPE"] == "TestCounterMeta":
                state.event_id = obj["eventId"]
                state.events = obj["events"]
        return state

    def apply_stamped(self, stamped: Stamped) -> Self | Problem:
        if stamped.event_id <= self.event_id:
            return problem("InapplicableEvent", "EventId does not increase", eventId=stamped.event_id)
        counts = dict(self.counts)
        match stamped.event:
            case TestCounted(delta=delta):
                counts[stamped.key] = counts.get(stamped.key, 0) + delta
            case TestCrashWritten():
                counts[stamped.event.writer] = counts.get(stamped.event.writer, 0) + 1
            case _:
                return problem("InapplicableEvent", f"{type(stamped.event).__name__} not applicable")
        return type(self)(counts, stamped.event_id, self.events + 1)

    def snapshot_objects(self) -> Iterator[dict[str, Any]]:
        yield {"TYPE": "TestCounterMeta", "eventId": self.event_id, "events": self.events}
        for key, count in sorted(self.counts.items()):
            yield {"TYPE": "TestCounter", "key": key, "count": count}

    def state_hash(self) -> str:
        return hashlib.sha256(dumps(list(self.snapshot_objects())).encode()).hexdigest()

    def summary(self) -> dict[str, Any]:
        return {"keys": len(self.counts), "events": self.events, "eventId": self.event_id}


class LiveState:
    """A node's committed state: advanced by the journal's on_committed listener."""

    def __init__(self, state: CounterState) -> None:
        self.state = state

    def on_committed(self, stamped: list[Stamped]) -> None:
        for s in stamped:
            applied = self.state.apply_stamped(s)
            assert not isinstance(applied, Problem), applied
            self.state = applied


def recovered_state(snapshot: list[dict[str, Any]], events: Iterable[Stamped]) -> CounterState:
    state = CounterState.from_snapshot(snapshot)
    for s in events:
        applied = state.apply_stamped(s)
        assert not isinstance(applied, Problem), applied
        state = applied
    return state


def counted(key: str, delta: int = 1) -> KeyedEvent:
    return KeyedEvent(key, TestCounted(delta=delta))


class FakeClock:
    def __init__(self, now_ms: int = 1_700_000_000_000) -> None:
        self.now = now_ms

    def __call__(self) -> int:
        return self.now
