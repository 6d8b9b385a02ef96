"""How a Controller standby applies the replicated events: the short-lived orders are held back.

A standby must hold the active's state when it takes over, but not a moment before: its journal,
written and acknowledged before anything is applied, is what makes a commit durable. Most orders of a
busy scheduler live for a fraction of a second — added, attached, processed, detached, finished and
deleted — and applying each of those events costs the standby as much as it cost the active.

`HoldingApplier` therefore holds back the events of an order added within the last `limit` events, as
long as each of its events touches nothing but the order itself (`HOLDABLE`). When the order's
OrderDeleted comes while it is held, its events are dropped unapplied: the order would have been added
to the state and removed again, with nothing else touched. Any other event of a held order first
applies the order's held events (`release`). The events of other orders are applied at once: they
read and change their own order, its locks, notices and children, never a held order. Any other event
(items, the cluster, order watches, …) first applies all held events (`release_all`).
Held events touch only their own order's entry (and the count of orders per workflow, +1 and -1), so
applying them later, order by order, gives the state that applying them in the journal's order gives.

The state is complete only after `release_all`: call it before a snapshot, before the standby takes
over, and before anything reads the orders. At most `limit` events are held (the oldest held orders
are applied when more come), so that taking over has at most that many events left to apply.
"""

from __future__ import annotations

from js7es.domain.agent.events import AgentCoupled, AgentCouplingFailed, AgentEventsObserved
from js7es.domain.board.events import NoticeDeleted, NoticePosted
from js7es.domain.event import Stamped
from js7es.domain.order.events import (
    OrderAdded,
    OrderAttachable,
    OrderAttached,
    OrderDeleted,
    OrderDeletionMarked,
    OrderDetachable,
    OrderDetached,
    OrderEvent,
    OrderFinished,
    OrderMoved,
    OrderProcessed,
    OrderProcessingStarted,
    OrderStarted,
    OrderStderrWritten,
    OrderStdoutWritten,
)
from js7es.domain.problem import Problem, problem
from js7es.domain.state import ControllerState

# Order events that ControllerState applies to the order alone (`apply_order`): no lock, notice,
# child order, board or order watch is touched. A held order is never WaitingForLock (it would have
# needed OrderLocksQueued, which is not holdable), so none of these has a lock effect for it.
HOLDABLE: frozenset[type] = frozenset(
    {
        OrderAttachable,
        OrderAttached,
        OrderStarted,
        OrderProcessingStarted,
        OrderStdoutWritten,
        OrderStderrWritten,
        OrderProcessed,
        OrderMoved,
        OrderDetachable,
        OrderDetached,
        OrderFinished,
        OrderDeletionMarked,
    }
)

# Events of no order that neither read nor change what held orders touch: applied at once, holding
# stays. The Agent's events touch its AgentRefState; a notice posted or deleted touches its board
# only (a held order expects no notice). Every other event of no order (items, the cluster, order
# watches, ...) applies the held events first.
_COMMUTING: frozenset[type] = frozenset(
    {AgentEventsObserved, AgentCoupled, AgentCouplingFailed, NoticePosted, NoticeDeleted}
)

DEFAULT_LIMIT = 10_000


class HoldingApplier:
    """Applies replicated events to `state` (in place), holding back the short-lived orders."""

    def __init__(self, state: ControllerState, *, limit: int = DEFAULT_LIMIT) -> None:
        self.state = state
        # Only ControllerState's own transitions are known to touch nothing but the order for HOLDABLE
        # (an Agent's state, say, removes the order at OrderDetached): a subclass that changes them
        # holds nothing.
        self.limit = limit if type(state).apply_event is ControllerState.apply_event else 0
        self._held: dict[str, list[Stamped]] = {}  # order id -> its events, oldest first; in order of addition
        self._held_events = 0
        self.dropped_orders = 0  # added and deleted while held: never applied
        self.dropped_events = 0

    @property
    def held_events(self) -> int:
        return self._held_events

    @property
    def held_orders(self) -> int:
        return len(self._held)

    def apply(self, stamped: Stamped) -> Problem | None:
        """Apply (or hold) a committed event; a Problem when it does not apply (nothing changed then,
        except held events that were applied first)."""
        state = self.state
        if stamped.event_id <= state.last_event_id:
            return problem(
                "EventIdNotIncreasing",
                f"EventId {stamped.event_id} is not after {state.last_event_id}",
                eventId=stamped.event_id,
            )
        key, event = stamped.key, stamped.event
        kind = type(event)
        held = self._held.get(key) if self._held else None
        if held is not None:
            if kind in HOLDABLE:
                return self._hold(held, stamped)
            if kind is OrderDeleted:
                del self._held[key]
                self._held_events -= len(held)
                self.dropped_orders += 1
                self.dropped_events += len(held) + 1
                state.last_event_id = stamped.event_id
                return None
            released = self.release(key)
            if released is not None:
                return released
        elif (
            isinstance(event, OrderAdded)
            and event.external_order_key is None
            and self.limit
            and key not in state.orders
        ):
            self._held[key] = held = []
            return self._hold(held, stamped)
        elif self._held and kind not in _COMMUTING and not isinstance(event, OrderEvent):
            # An event of another order reads and changes that order, its locks, notices, child
            # orders, never a held order: a held order waits for no lock or notice, has no children,
            # and its id is taken in the active's state, which every event was decided on.
            released = self.release_all()
            if released is not None:
                return released
        applied = state.apply_stamped(stamped)
        return applied if isinstance(applied, Problem) else None

    def release(self, order_id: str) -> Problem | None:
        """Apply the held events of one order (it is held no more)."""
        held = self._held.pop(order_id, None)
        if held is None:
            return None
        self._held_events -= len(held)
        return self._apply_held(held)

    def release_all(self) -> Problem | None:
        """Apply every held event: the state is complete afterwards."""
        while self._held:
            released = self.release(next(iter(self._held)))
            if released is not None:
                return released
        return None

    def _hold(self, held: list[Stamped], stamped: Stamped) -> Problem | None:
        held.append(stamped)
        self._held_events += 1
        self.state.last_event_id = stamped.event_id
        while self._held_events > self.limit:  # the oldest orders are the likeliest to live on
            released = self.release(next(iter(self._held)))
            if released is not None:
                return released
        return None

    def _apply_held(self, held: list[Stamped]) -> Problem | None:
        apply_event = self.state.apply_event
        for s in held:
            applied = apply_event(s.key, s.event)
            if applied is not None:
                return problem(
                    "InapplicableEvent",
                    f"held event {s.event_id} ({type(s.event).__name__} of {s.key}) does not apply: {applied}",
                    eventId=s.event_id,
                )
        return None


__all__ = ["DEFAULT_LIMIT", "HOLDABLE", "HoldingApplier"]
