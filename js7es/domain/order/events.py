"""Order events, by JS7's names (OrderEvent.scala). Keyed by the order id."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import ClassVar

from js7es.domain import codec
from js7es.domain.event import Event
from js7es.domain.lock import LockDemand
from js7es.domain.order.cycle import CycleState
from js7es.domain.order.order import CancellationMode, Cancelling, Going, Order, OrderMark, Resuming, Suspending
from js7es.domain.order.outcome import Outcome
from js7es.domain.orderwatch.key import ExternalOrderKey
from js7es.domain.value import NamedValues, Value
from js7es.domain.workflow.position import Position, PositionOrLabel
from js7es.domain.workflow.workflow import WorkflowId


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent(Event):
    """Base of the order events."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAdded(OrderEvent):
    workflow_id: WorkflowId
    arguments: NamedValues = field(default_factory=dict)
    scheduled_for: int | None = None
    delete_when_terminated: bool = False
    start_position: Position | None = None
    force_admission: bool = False
    external_order_key: ExternalOrderKey | None = None  # added for a file (js7es.domain.orderwatch)
    priority: int | Decimal | None = None  # JS7 2.7's order priority, a BigDecimal (None: 0)
    stop_positions: tuple[PositionOrLabel, ...] | None = None  # JS7's stopPositions, labels kept as labels


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAttachable(OrderEvent):
    agent_path: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAttachedToAgent(OrderEvent):
    """Written by the Agent when it takes an order over: the whole order as the Controller sent it."""

    order: Order


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAttached(OrderEvent):
    agent_path: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDetachable(OrderEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDetached(OrderEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStarted(OrderEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderProcessingStarted(OrderEvent):
    """The job's process starts on `subagent_id`, chosen through `subagent_bundle_id` when that is a
    bundle (not the Subagent itself); `stick`: this Subagent becomes the order's StickySubagent (the
    first job of the block; JS7 writes it only when true)."""

    subagent_id: str | None = None
    subagent_bundle_id: str | None = None
    stick: bool | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStdoutWritten(OrderEvent):
    chunk: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStderrWritten(OrderEvent):
    chunk: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderProcessed(OrderEvent):
    outcome: Outcome


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderProcessingKilled(OrderEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderMoved(OrderEvent):
    to: Position
    reason: str | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ForkedChild:
    """A child of OrderForked: a Fork's names its branch; a ForkList's has none (all run the block
    "fork") and brings the arguments that childToArguments gave it (JS7's OrderForked.Child)."""

    order_id: str
    branch_id: str | None = None
    arguments: NamedValues | None = None  # None when empty, left out of the JSON as JS7 does


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderForked(OrderEvent):
    children: tuple[ForkedChild, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderJoined(OrderEvent):
    outcome: Outcome


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderOutcomeAdded(OrderEvent):
    outcome: Outcome


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFailed(OrderEvent):
    moved_to: Position | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFailedInFork(OrderEvent):
    moved_to: Position | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCaught(OrderEvent):
    moved_to: Position


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRetrying(OrderEvent):
    moved_to: Position
    delayed_until: int | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAwoke(OrderEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderBroken(OrderEvent):
    problem: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFinished(OrderEvent):
    outcome: Outcome | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancellationMarked(OrderEvent):
    mode: CancellationMode = "FreshOrStarted"
    kill: bool = False
    kill_immediately: bool = False


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancellationMarkedOnAgent(OrderEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(OrderEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDeletionMarked(OrderEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDeleted(OrderEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderExternalVanished(OrderEvent):
    """The order's file is gone (js7es.domain.orderwatch): the order is deleted once it has terminated."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSuspensionMarked(OrderEvent):
    kill: bool = False
    kill_immediately: bool = False
    reset_state: bool = False


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSuspensionMarkedOnAgent(OrderEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSuspended(OrderEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderResumptionMarked(OrderEvent):
    position: Position | None = None
    as_succeeded: bool = False
    restart_killed_job: bool = False


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderResumed(OrderEvent):
    """`restart_killed_job`: the last outcome, Killed, is dropped and the job runs again (JS7); without
    it, a killed order resumed `as_succeeded` moves past the killed job."""

    position: Position | None = None
    as_succeeded: bool = False
    restart_killed_job: bool = False


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderGoMarked(OrderEvent):
    """GoOrder for an order on an Agent: the Agent lets it go on (OrderGoes) where it waits at `position`."""

    position: Position


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderGoes(OrderEvent):
    """GoOrder: the order waiting for a time (scheduled, a retry's delay, a sleep, the next cycle) goes
    on now; the event that ends its wait follows (JS7's IsGoCommandable.go)."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowPosition:
    """JS7's WorkflowPosition: a workflow version and a position in it (its JSON has no TYPE)."""

    JSON_UNTYPED: ClassVar[bool] = True
    workflow_id: WorkflowId
    position: Position


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderTransferred(OrderEvent):
    """TransferOrders: the order continues in another version of its workflow (the current one)."""

    workflow_position: WorkflowPosition


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStateReset(OrderEvent):
    """JS7's event of a suspension with resetState: an order waiting (retry delay, prompt, sleep) is
    Ready again at its position, without a mark; OrderSuspended follows in the same commit."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPrompted(OrderEvent):
    question: Value


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPromptAnswered(OrderEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSleeping(OrderEvent):
    until: int  # epoch milliseconds


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCyclingPrepared(OrderEvent):
    """The order waits for the next cycle of a Cycle instruction: BetweenCycles(cycle_state)."""

    cycle_state: CycleState


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCycleStarted(OrderEvent):
    """The order enters the cycle's block. `skipped` (seconds, JS7's FiniteDuration): only for a
    Ticking scheme whose ticks were missed, a multiple of the interval added to the state's `next`."""

    skipped: float | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCycleFinished(OrderEvent):
    """The cycle's block ended (or a Break left it): back at the Cycle, waiting for the next cycle, or
    without a cycle state moving on."""

    cycle_state: CycleState | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLocksQueued(OrderEvent):
    """The order waits for the locks of its Lock instruction: WaitingForLock, in each lock's queue."""

    demands: tuple[LockDemand, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLocksAcquired(OrderEvent):
    """The order holds the locks and enters the Lock instruction's block (position lock/0)."""

    demands: tuple[LockDemand, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderLocksReleased(OrderEvent):
    """The order gives the locks back and leaves the Lock instruction's block (to the instruction after
    it; a failure's OrderFailed or OrderCaught that follows moves it on from there)."""

    lock_paths: tuple[str, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPriorityChanged(OrderEvent):
    """ChangeOrder(priority): higher goes first where orders wait for the same lock (JS7 2.7)."""

    priority: int | Decimal


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStopped(OrderEvent):
    """A Stop instruction, or a failure within Options(stopOnFailure): the order stays, Stopped (or
    StoppedWhileFresh), until ResumeOrder (JS7's OrderStopped, on the Controller only)."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStickySubagentEntered(OrderEvent):
    """The order enters a StickySubagent's block (position stickySubagent/0)."""

    agent_path: str
    subagent_bundle_id: str | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderStickySubagentLeaved(OrderEvent):
    """The order leaves a StickySubagent's block, to the instruction after it (JS7's name)."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderOrderAdded(OrderEvent):
    """An AddOrder instruction added the order `order_id` (JS7's OrderOrderAdded): keyed by the adding
    order, it brings the new order into being, Fresh, as OrderAdded does (which the new order does not
    get, as in JS7)."""

    order_id: str
    workflow_id: WorkflowId
    arguments: NamedValues = field(default_factory=dict)
    delete_when_terminated: bool = False
    force_admission: bool = False
    start_position: Position | None = None
    stop_positions: tuple[PositionOrLabel, ...] | None = None


def mark_event(mark: OrderMark) -> OrderEvent:
    """The event that sets `mark` (on the Agent, when the Controller passes a mark on)."""
    match mark:
        case Cancelling(mode=mode, kill=kill, kill_immediately=immediately):
            return OrderCancellationMarked(mode=mode, kill=kill, kill_immediately=immediately)
        case Suspending(kill=kill, kill_immediately=immediately, reset_state=reset_state):
            return OrderSuspensionMarked(kill=kill, kill_immediately=immediately, reset_state=reset_state)
        case Resuming(position=position, as_succeeded=as_succeeded, restart_killed_job=restart):
            return OrderResumptionMarked(position=position, as_succeeded=as_succeeded, restart_killed_job=restart)
        case Going(position=position):
            return OrderGoMarked(position=position)
    raise TypeError(f"Unknown mark {type(mark).__name__}")
