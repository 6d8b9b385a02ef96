"""Order states, by JS7's names (Order.scala)."""

from __future__ import annotations

from dataclasses import dataclass

from js7es.domain import codec
from js7es.domain.order.cycle import CycleState
from js7es.domain.value import Value


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderState:
    """Base of the order states."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Fresh(OrderState):
    """Added, not yet started (it may wait for its scheduledFor time)."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Ready(OrderState):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Processing(OrderState):
    subagent_id: str | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Processed(OrderState):
    """A step ended; its outcome is the last historic outcome; the order moves on next."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessingKilled(OrderState):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DelayingRetry(OrderState):
    until_ms: int


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Forked(OrderState):
    children: tuple[str, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Prompting(OrderState):
    question: Value


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Sleeping(OrderState):
    until_ms: int


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class BetweenCycles(OrderState):
    """At a Cycle instruction, waiting for the next cycle (`cycle_state.next`); without a cycle state
    the cycling has ended and the order moves on (JS7's BetweenCycles)."""

    cycle_state: CycleState | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectingNotices(OrderState):
    """At an ExpectNotices or ConsumeNotices instruction, waiting for notices (JS7's NoticeIds as JSON
    arrays, see js7es.domain.board.notice)."""

    notice_ids: tuple[tuple[str, ...], ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class WaitingForLock(OrderState):
    """At a Lock instruction, in the queues of its locks (OrderLocksQueued) until it gets them all."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Failed(OrderState):
    """JS7's state `{"TYPE":"Failed"}`; the outcome Failed has the same TYPE, a field's declared type
    (OrderState or Outcome) tells them apart. Avro needs distinct record names: js7es.types.FailedState."""

    AVRO_NAME = "FailedState"


# Journals written before js7es used JS7's name hold the state as {"TYPE":"FailedState"}.
codec.register_alias("FailedState", Failed)


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class FailedInFork(OrderState):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Finished(OrderState):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Cancelled(OrderState):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Broken(OrderState):
    problem: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Stopped(OrderState):
    """Stopped by a Stop instruction or by a failure in Options(stopOnFailure), until ResumeOrder."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class StoppedWhileFresh(OrderState):
    """Stopped before it started; ResumeOrder makes it Fresh again (JS7)."""


# Used by the table test and documentation: every state class.
ALL_STATES: tuple[type[OrderState], ...] = (
    Fresh,
    Ready,
    Processing,
    Processed,
    ProcessingKilled,
    DelayingRetry,
    Forked,
    Prompting,
    Sleeping,
    BetweenCycles,
    ExpectingNotices,
    WaitingForLock,
    Failed,
    FailedInFork,
    Finished,
    Cancelled,
    Broken,
    Stopped,
    StoppedWhileFresh,
)
TERMINAL = (Finished, Cancelled)
