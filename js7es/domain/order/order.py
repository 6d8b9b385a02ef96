"""The Order aggregate (JS7's Order.scala, reduced to what js7es runs)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, Literal

from js7es.domain import codec
from js7es.domain.order.outcome import Outcome
from js7es.domain.order.states import (
    TERMINAL,
    BetweenCycles,
    Broken,
    DelayingRetry,
    Failed,
    Fresh,
    OrderState,
    Processing,
    Ready,
    Sleeping,
)
from js7es.domain.orderwatch.key import ExternalOrderLink
from js7es.domain.value import NamedValues
from js7es.domain.workflow.position import Position, PositionOrLabel
from js7es.domain.workflow.workflow import WorkflowId

codec.register(WorkflowId)

AttachedKind = Literal["Attaching", "Attached", "Detaching"]
CancellationMode = Literal["FreshOnly", "FreshOrStarted"]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class HistoricOutcome:
    position: Position
    outcome: Outcome


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    kind: AttachedKind
    agent_path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderMark:
    """A command waiting for the order to reach a point where it can be carried out."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Cancelling(OrderMark):
    mode: CancellationMode = "FreshOrStarted"
    kill: bool = False
    kill_immediately: bool = False  # JS7's kill.immediately: SIGKILL at once, not SIGTERM first


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Suspending(OrderMark):
    kill: bool = False
    kill_immediately: bool = False
    reset_state: bool = False  # JS7's resetState: a waiting order (retry delay, prompt, sleep) is reset


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Resuming(OrderMark):
    position: Position | None = None
    as_succeeded: bool = False
    restart_killed_job: bool = False


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Going(OrderMark):
    """GoOrder for an order on an Agent (JS7's OrderMark.Go): it goes on where it waits at `position`."""

    position: Position


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class StickySubagent:
    """The StickySubagent block an order is in on `agent_path` (JS7's Order.StickySubagent): the
    first job in it that starts records its Subagent (`stuck_subagent_id`), and the block's later jobs
    on that Agent run there (js7es.domain.agent.selection)."""

    agent_path: str
    subagent_bundle_id: str | None = None
    stuck_subagent_id: str | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    id: str
    workflow_id: WorkflowId
    position: Position
    state: OrderState = Fresh()
    arguments: NamedValues = field(default_factory=dict)
    scheduled_for: int | None = None  # epoch milliseconds
    historic_outcomes: tuple[HistoricOutcome, ...] = ()
    attached: Attachment | None = None
    parent: str | None = None
    mark: OrderMark | None = None
    is_suspended: bool = False
    delete_when_terminated: bool = False
    mark_on_agent: bool = False  # the mark has been passed to the Agent
    force_admission: bool = False  # JS7's forceAdmission: the jobs' admission times do not hold for it
    # JS7 2.7's priority, a BigDecimal (an int when whole; None: the default 0): higher goes first at a
    # lock and for a job's process slot
    priority: int | Decimal | None = None
    is_resumed: bool = False  # JS7's isResumed: resumed here, it passes a breakpoint once (until it moves)
    external_order: ExternalOrderLink | None = None  # the file a FileWatch added it for (js7es.domain.orderwatch)
    # JS7's stopPositions, as given (a label stays a label): the order finishes when it reaches one
    stop_positions: tuple[PositionOrLabel, ...] | None = None
    # JS7's stickySubagents, innermost first (None when empty, as JS7 leaves it out)
    sticky_subagents: tuple[StickySubagent, ...] | None = None

    @property
    def is_terminal(self) -> bool:
        return isinstance(self.state, TERMINAL)

    @property
    def effective_priority(self) -> int | Decimal:
        return self.priority or 0

    @property
    def is_detached(self) -> bool:
        return self.attached is None

    def sticky_subagent_on(self, agent_path: str) -> StickySubagent | None:
        """JS7's agentToStickySubagent."""
        return next((s for s in self.sticky_subagents or () if s.agent_path == agent_path), None)

    def is_attached_to(self, agent_path: str) -> bool:
        attached = self.attached
        return attached is not None and attached.kind == "Attached" and attached.agent_path == agent_path

    def is_go_commandable(self, position: Position | None = None) -> bool:
        """JS7's isGoCommandable: waiting for a time (a scheduled Fresh order, a retry's delay, a sleep,
        the next cycle), at `position` when given."""
        on_the_way = self.attached is not None and self.attached.kind != "Attached"
        waiting = isinstance(self.state, (DelayingRetry, Sleeping)) or (
            isinstance(self.state, BetweenCycles) and self.state.cycle_state is not None
        )
        fresh_scheduled = isinstance(self.state, Fresh) and self.scheduled_for is not None
        return not on_the_way and (waiting or fresh_scheduled) and (position is None or self.position == position)

    @property
    def is_started(self) -> bool:
        return not isinstance(self.state, Fresh)

    @property
    def is_processing(self) -> bool:
        return isinstance(self.state, Processing)

    @property
    def is_failed(self) -> bool:
        return isinstance(self.state, (Failed, Broken))

    @property
    def last_outcome(self) -> Outcome | None:
        return self.historic_outcomes[-1].outcome if self.historic_outcomes else None

    def updated(self, **changes: Any) -> Order:
        """A copy with some fields changed: `dataclasses.replace` without its per-call overhead,
        because every order event makes one (the hottest spot of the domain in bench/domain_bench.py,
        and 8-10 % of each node's loop thread in bench/node_bench.py's profile)."""
        new = _copy_order(self)
        for name, value in changes.items():
            setter = _ORDER_SETTERS.get(name)
            if setter is None:
                raise TypeError(f"Order has no field {name!r}")
            setter(new, value)
        return new

    def with_outcome(self, outcome: Outcome) -> Order:
        return self.updated(
            historic_outcomes=(
                *self.historic_outcomes,
                HistoricOutcome(position=self.position, outcome=outcome),
            ),
        )


_ORDER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Order))
# The slots' own setters: a frozen dataclass refuses setattr, and object.__setattr__ per field cost twice as much
_ORDER_SETTERS: dict[str, Callable[[Order, Any], None]] = {name: Order.__dict__[name].__set__ for name in _ORDER_FIELDS}


def _order_copier() -> Callable[[Order], Order]:
    """A field-by-field copy of an order, generated once (as dataclasses generate __init__): no loop and
    no lookup per field."""
    namespace: dict[str, Any] = {"new": object.__new__, "Order": Order}
    lines = ["def copy_order(self):", "    order = new(Order)"]
    for name in _ORDER_FIELDS:
        namespace[f"set_{name}"] = _ORDER_SETTERS[name]
        lines.append(f"    set_{name}(order, self.{name})")
    lines.append("    return order")
    exec("\n".join(lines), namespace)  # generated from the dataclass's own field names
    copier: Callable[[Order], Order] = namespace["copy_order"]
    return copier


_copy_order = _order_copier()


def is_valid_order_id(order_id: object) -> bool:
    """JS7: non-empty and without '|' (which separates parent and child ids in forks)."""
    return isinstance(order_id, str) and 0 < len(order_id) <= 512 and "|" not in order_id and order_id.isprintable()


def child_order_id(parent_id: str, branch_id: str) -> str:
    return f"{parent_id}|{branch_id}"


def forked_child(parent: Order, child_id: str, branch_id: str | None, arguments: NamedValues | None = None) -> Order:
    """A child order as OrderForked creates it (JS7's Order.newForkedOrders): Ready at the start of its
    branch, with the parent's arguments, outcomes and attachment — forked on an Agent, it is there too."""
    return parent.updated(
        id=child_id,
        position=(*parent.position, "fork" if branch_id is None else f"fork+{branch_id}", 0),
        arguments={**parent.arguments, **arguments} if arguments else parent.arguments,
        state=Ready(),
        parent=parent.id,
        mark=None,
        mark_on_agent=False,
        delete_when_terminated=False,
        scheduled_for=None,
        is_resumed=False,
        external_order=None,
        stop_positions=None,  # JS7: a child order has no stop positions of its own
    )
