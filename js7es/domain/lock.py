"""Locks (JS7's Lock, LockState, Acquired and LockRefusal): the item and who holds or waits for it.

A `Lock {path, limit=1}` is an unsigned simple item. A demand without a count takes it exclusively;
a demand with a count takes that share of the limit (JS7's NonExclusive: the counts of all holders sum
to at most `limit`). The queue holds the orders waiting for the lock (OrderLocksQueued) in the order
they go (`Rank`): orders holding other locks first, then higher priority first, first come first within
a priority (an order whose priority changes while it waits goes behind the others of its new rank).

An order that holds no lock yet takes one only when no waiting order ranks before it in that lock's
queue (JS7 lets any woken order take a lock that happens to be free): so an order needing a large
share, or several locks, is never starved by a stream of small ones. Orders that hold locks already
(in a Lock's block, or a forked child of one) rank first and take what is free as in JS7, without
regard to the queue: they would otherwise wait for an order that waits for them (a nested Lock, a
fork's children), which is a deadlock. Every order enters the queues of all its locks with one event,
so two orders rank alike in every queue: the orders holding nothing wait for each other without a
cycle, and nothing that holds a lock waits for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from js7es.domain import codec
from js7es.domain.problem import Problem, problem


@dataclass(frozen=True, slots=True, kw_only=True)
class Lock:
    path: str
    limit: int = 1
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"Lock:{self.path}"


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class LockDemand:
    """A Lock instruction's demand: no count = exclusive; a count = that share (JS7's LockDemand; its
    JSON has no TYPE)."""

    JSON_UNTYPED: ClassVar[bool] = True
    lock_path: str
    count: int | None = None


# -- who holds a lock (JS7's Acquired) -------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Acquired:
    """Base of Available, Exclusive and NonExclusive."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Available(Acquired):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Exclusive(Acquired):
    order_id: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class NonExclusive(Acquired):
    order_to_count: Mapping[str, int]


AVAILABLE = Available()


def lock_count(acquired: Acquired) -> int:
    match acquired:
        case Exclusive():
            return 1
        case NonExclusive(order_to_count=counts):
            return sum(counts.values())
    return 0


def holders(acquired: Acquired) -> tuple[str, ...]:
    match acquired:
        case Exclusive(order_id=order_id):
            return (order_id,)
        case NonExclusive(order_to_count=counts):
            return tuple(counts)
    return ()


def is_acquired_by(acquired: Acquired, order_id: str) -> bool:
    match acquired:
        case Exclusive(order_id=holder):
            return holder == order_id
        case NonExclusive(order_to_count=counts):
            return order_id in counts
    return False


# -- refusals (JS7's LockRefusal), as coded problems -----------------------------------------------


def is_in_use(path: str) -> Problem:
    return problem("LockIsInUse", f"Lock:{path} is in use", lockPath=path)


def limit_reached(path: str, limit: int, count: int, already: int) -> Problem:
    return problem(
        "LockLimitReached",
        f"Lock:{path}: count={count} plus alreadyAcquired={already} would exceed limit={limit}",
        lockPath=path,
        limit=limit,
        count=count,
        alreadyAcquired=already,
    )


def already_acquired_by_this_order(path: str) -> Problem:
    return problem(
        "LockAlreadyAcquiredByThisOrder", f"Lock:{path} has already been acquired by this order", lockPath=path
    )


def invalid_count(path: str, count: int) -> Problem:
    return problem("LockInvalidCount", f"Lock:{path}: Invalid count={count} requested", lockPath=path, count=count)


def not_acquired(path: str, order_id: str) -> Problem:
    return problem(
        "LockNotAcquired", f"Lock:{path} has not been acquired by order {order_id!r}", lockPath=path, orderId=order_id
    )


# The rank of a waiting order: those holding locks already first, then by priority; within one rank,
# first come first (the queue's order).
Rank = tuple[bool, int | Decimal]  # JS7 2.7's priority is a BigDecimal

# A refusal that only means "not now": the order queues (JS7's LockRefusal.NotAvailable).
NOT_AVAILABLE = frozenset({"LockIsInUse", "LockLimitReached"})


@dataclass(frozen=True, slots=True, kw_only=True)
class LockState:
    lock: Lock
    acquired: Acquired = AVAILABLE
    queue: tuple[str, ...] = ()  # order ids, in the order they queued

    @property
    def path(self) -> str:
        return self.lock.path

    def check_acquire(self, order_id: str, count: int | None) -> Problem | None:
        """None when the order may take the lock now (JS7's tryAcquire), else the refusal."""
        path = self.path
        if is_acquired_by(self.acquired, order_id):
            return already_acquired_by_this_order(path)
        if count is not None and count < 1:
            return invalid_count(path, count)
        if count is None:
            return None if isinstance(self.acquired, Available) else is_in_use(path)
        if isinstance(self.acquired, Exclusive):
            return is_in_use(path)
        already = lock_count(self.acquired)
        if already + count > self.lock.limit:
            return limit_reached(path, self.lock.limit, count, already)
        return None

    def check_enqueue(self, order_id: str, count: int | None) -> Problem | None:
        """None when the order may wait for the lock (JS7's LockState.enqueue), else why it never can."""
        path = self.path
        if count is not None and count > self.lock.limit:
            return problem(
                "LockLimitReached",
                f"Cannot fulfill lock count={count} with Lock:{path} limit={self.lock.limit}",
                lockPath=path,
                limit=self.lock.limit,
                count=count,
            )
        if is_acquired_by(self.acquired, order_id):
            return already_acquired_by_this_order(path)
        if order_id in self.queue:
            return problem("LockAlreadyQueued", f"Order {order_id!r} already queues for Lock:{path}", lockPath=path)
        for parent in ancestors(order_id):
            if is_acquired_by(self.acquired, parent):
                return problem(
                    "LockAcquiredByParent",
                    f"Lock:{path} has already been acquired by parent Order:{parent}",
                    lockPath=path,
                    parent=parent,
                )
        return None

    def acquire(self, order_id: str, count: int | None) -> LockState | Problem:
        refused = self.check_acquire(order_id, count)
        if refused is not None:
            return refused
        if count is None:
            acquired: Acquired = Exclusive(order_id=order_id)
        else:
            counts = dict(self.acquired.order_to_count) if isinstance(self.acquired, NonExclusive) else {}
            counts[order_id] = count
            acquired = NonExclusive(order_to_count=counts)
        return LockState(lock=self.lock, acquired=acquired, queue=self.dequeued(order_id))

    def release(self, order_id: str) -> LockState | Problem:
        if not is_acquired_by(self.acquired, order_id):
            return not_acquired(self.path, order_id)
        acquired: Acquired = AVAILABLE
        if isinstance(self.acquired, NonExclusive) and len(self.acquired.order_to_count) > 1:
            acquired = NonExclusive(
                order_to_count={o: n for o, n in self.acquired.order_to_count.items() if o != order_id}
            )
        return LockState(lock=self.lock, acquired=acquired, queue=self.queue)

    def enqueue(self, order_id: str, rank: Rank, rank_of: Callable[[str], Rank]) -> LockState:
        """The queue is kept in rank order: behind every order of the same or a higher rank."""
        queue = self.queue
        i = len(queue)
        while i > 0 and rank_of(queue[i - 1]) < rank:
            i -= 1
        return LockState(lock=self.lock, acquired=self.acquired, queue=(*queue[:i], order_id, *queue[i:]))

    def requeued(self, order_id: str, rank: Rank, rank_of: Callable[[str], Rank]) -> LockState:
        """After a priority change: the order's place is that of an order of its new rank arriving now."""
        dequeued = LockState(lock=self.lock, acquired=self.acquired, queue=self.dequeued(order_id))
        return dequeued.enqueue(order_id, rank, rank_of) if order_id in self.queue else dequeued

    def dequeued(self, order_id: str) -> tuple[str, ...]:
        queue = self.queue
        if queue and queue[0] == order_id:
            return queue[1:]
        if order_id not in queue:
            return queue
        i = queue.index(order_id)
        return (*queue[:i], *queue[i + 1 :])

    def to_wake(self, rank_of: Callable[[str], Rank]) -> list[str]:
        """The waiting orders that may take the lock now that it changed: those holding other locks
        (at the queue's front; each takes what is free) and the first of the others."""
        woken = []
        for order_id in self.queue:
            woken.append(order_id)
            if not rank_of(order_id)[0]:
                break
        return woken

    def ranks_first(self, order_id: str, rank: Rank, rank_of: Callable[[str], Rank]) -> bool:
        """Whether no other waiting order ranks before `order_id` (queued, or about to queue) here."""
        queue = self.queue
        if not queue or queue[0] == order_id:
            return True
        if order_id in queue:
            return False
        return rank_of(queue[0]) < rank


def holds_locks(position: tuple[int | str, ...]) -> bool:
    """Whether an order at this position holds locks: its own blocks', or a parent's (a forked child's
    position runs through its parent's blocks)."""
    return "lock" in position[1::2]


def ancestors(order_id: str) -> list[str]:
    """The parent, grandparent, ... of a forked child order ("A|b|c" -> ["A|b", "A"])."""
    parts = order_id.split("|")
    return ["|".join(parts[:n]) for n in range(len(parts) - 1, 0, -1)]


def parse_lock(obj: Mapping[str, Any], path: str) -> Lock | Problem:
    limit = obj.get("limit", 1)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        return problem("InvalidItem", f"Lock {path}: limit must be an integer >= 0", key=f"Lock:{path}")
    return Lock(path=path, limit=limit, raw=dict(obj))


def lock_state_to_json(state: LockState) -> dict[str, Any]:
    """JS7's snapshot object of a LockState: the item, who holds it, who waits."""
    return {
        "TYPE": "LockState",
        "lock": dict(state.lock.raw),
        "acquired": codec.encode(state.acquired),
        "queue": list(state.queue),
    }
