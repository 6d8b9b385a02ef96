"""One node's command → event → journal loop (ARCHITECTURE §3), on the asyncio loop thread.

Deciding and applying happen synchronously on the loop thread, so every decision sees every earlier
one; the events are handed to the journal in the same order, and nothing observable (a reply, a process
start, a command to another node) happens before the journal has made them durable. If the journal
fails, the node halts: its state is ahead of what is durable and must not be acted on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from js7es.domain import commands
from js7es.domain.commands import Command, Decided
from js7es.domain.event import KeyedEvent, Stamped
from js7es.domain.order.context import Context
from js7es.domain.order.event_source import InapplicableEventError, follow_up
from js7es.domain.order.order import Order
from js7es.domain.order.states import BetweenCycles, DelayingRetry, Fresh, Sleeping
from js7es.domain.orderwatch.decide import order_watch_follow_up
from js7es.domain.problem import Problem, ProblemError
from js7es.domain.state import ControllerState
from js7es.journal.api import Journal
from js7es.nodes.clock import Clock, clock_from_environment

log = logging.getLogger(__name__)

CommitListener = Callable[[Sequence[Stamped]], Awaitable[None] | None]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def halt(reason: str) -> None:
    """Stop the process at once: the state is ahead of the journal (JS7 halts the JVM likewise)."""
    log.critical("HALT: %s", reason)
    logging.shutdown()
    os._exit(70)


class RoleLost(ProblemError):
    """This node is no longer the active node of its cluster: nothing more is committed here.

    Raised by a commit gate (and then by every later `persist`); answered as its problem (503), the
    node's cluster role then starts over as standby.
    """


CommitGate = Callable[[int], Awaitable[None]]


class _SnapshotRefusedError(Exception):
    pass


@dataclass(slots=True)
class _Batch:
    """Events persisted within one turn of the event loop: one commit."""

    done: asyncio.Future[list[Stamped]]
    events: list[KeyedEvent] = field(default_factory=list)
    orders: dict[str, Order | None] = field(default_factory=dict)  # its events' orders as the commit leaves them


class Engine:
    def __init__(
        self,
        *,
        state: ControllerState,
        journal: Journal,
        here: str | None,
        controller_id: str,
        clock: Callable[[], int] | None = None,
        on_halt: Callable[[str], None] = halt,
        snapshot_after_events: int = 100_000,
    ) -> None:
        self.state = state
        self.journal = journal
        self.here = here
        self.controller_id = controller_id
        # The node's wall clock (js7es.nodes.clock: the real one, or a test clock from the environment)
        self.clock: Callable[[], int] = clock if clock is not None else clock_from_environment()
        self._wake_time_hooks: list[Callable[[Order], int | None]] = []
        self._wake_listeners: list[Callable[[str], None]] = []
        self._on_halt = on_halt
        self._listeners: list[CommitListener] = []
        self._timers: dict[str, tuple[int, asyncio.TimerHandle]] = {}
        self._halted = False
        self._in_flight = 0
        self._pending: _Batch | None = None
        self._before_commit: list[Callable[[Sequence[KeyedEvent]], list[KeyedEvent]]] = []
        self._last_batch: asyncio.Future[Any] | None = None
        self.snapshot_after_events = snapshot_after_events
        self._events_since_snapshot = len(journal.recovered.events)
        self._snapshotting = False
        self._idle = asyncio.Event()
        self._idle.set()
        # Awaited with each commit's last EventId after it is durable here and before it counts as
        # committed: a coupled cluster waits there for the standby's acknowledgement.
        self.commit_gate: CommitGate | None = None
        self._role_lost: RoleLost | None = None
        self._frozen: RoleLost | None = None
        # While set, new decisions wait: the state is being read at a commit boundary (`quiesced`).
        self._barrier: asyncio.Future[None] | None = None
        # While a commit's listeners run: its events' orders as that commit leaves them (`committed_order`).
        self._committed_orders: dict[str, Order | None] = {}

    def ctx(self) -> Context:
        return Context(now_ms=self.clock(), here=self.here, controller_id=self.controller_id)

    def before_commit(self, hook: Callable[[Sequence[KeyedEvent]], list[KeyedEvent]]) -> None:
        """`hook(events)` may add events (applied with `apply_now`) to the commit being written."""
        self._before_commit.append(hook)

    def apply_now(self, events: Iterable[KeyedEvent]) -> None:
        """Apply events to the state (they are persisted by the caller, or by a before_commit hook)."""
        for keyed in events:
            problem = self.state.apply_event(keyed.key, keyed.event)
            if problem is not None:
                self._halt(f"{problem}")
                raise InapplicableEventError(str(problem))

    def on_commit(self, listener: CommitListener) -> None:
        """Called on the loop thread after each commit, in order, with its stamped events. The state may
        be ahead of the commit then (events of the commits still in flight are applied): a listener that
        acts on an order takes it from `committed_order`."""
        self._listeners.append(listener)

    def committed_order(self, key: str) -> Order | None:
        """In a commit listener: the order `key` (one of the commit's events' keys) as the commit leaves it,
        None if it has gone or is no order (and outside a listener). Acting on the live state instead would
        act on events not yet committed (an Agent told of a mark that a crash then loses)."""
        return self._committed_orders.get(key)

    # -- writing ----------------------------------------------------------------------------------

    async def execute(self, command: Command) -> Decided | Problem:
        """Decide a command, apply it and what the orders do next, persist it all in one commit.

        A refusal, or a reply without events of its own (say, every order a duplicate), is returned only
        once the commits in flight when it was decided are committed: it may rest on their events, and
        nothing is observable before its commit (a duplicate must never be reported for an order that
        then never gets committed).
        """
        await self.admission()
        try:
            decided = commands.execute(self.state, command, self.ctx())
        except InapplicableEventError as e:
            self._halt(f"{e}")
            raise
        if isinstance(decided, Problem) or not decided.events:
            await self.settle()
            return decided
        await self.persist(list(decided.events))
        return decided

    async def emit(
        self, keyed_events: Iterable[KeyedEvent], *, follow: Iterable[str] = (), final: bool = False
    ) -> list[Stamped]:
        """Apply events the node produced (a process started or ended, an Agent's events arrived),
        then let the touched orders (and `follow`) go on; persist all in one commit.

        The events are applied before the first await: callers decide them from the state just before
        (no other decision may come between). Callers that keep emitting (an Agent's event stream)
        should `await admission()` before they decide, so that a snapshot's barrier is not starved."""
        return await self.persist(self.apply_and_follow(keyed_events, follow=follow), final=final)

    def apply_and_follow(self, keyed_events: Iterable[KeyedEvent], *, follow: Iterable[str] = ()) -> list[KeyedEvent]:
        """`emit`'s deciding part: apply the events, then what the touched orders (and `follow`) do next;
        returns them all, to be persisted by the caller in the same loop turn (`persist`)."""
        events = list(keyed_events)
        touched = list(dict.fromkeys(k.key for k in events if k.key))
        try:
            for keyed in events:
                problem = self.state.apply_event(keyed.key, keyed.event)
                if problem is not None:
                    raise InapplicableEventError(f"{problem}")
            events.extend(follow_up(self.state, [*touched, *follow], self.ctx()))
            if self.here is None:  # only the Controller adds file orders and deletes workflow versions
                events.extend(order_watch_follow_up(self.state, self.ctx()))
                events.extend(commands.obsolete_item_events(self.state))
        except InapplicableEventError as e:
            self._halt(str(e))
            raise
        return events

    async def persist(self, events: list[KeyedEvent], *, final: bool = False) -> list[Stamped]:
        """Persist events that are applied already; returns them stamped, after listeners ran.

        Everything persisted within one turn of the event loop goes into ONE commit (one fsync): a
        batch of Agent commands, the processes that ended meanwhile, the output of many jobs.
        """
        if self._role_lost is not None:
            raise self._role_lost
        if self._frozen is not None and not final:
            raise self._frozen
        if self._halted:
            raise RuntimeError("the node is halting")
        if not events:
            await self.settle()  # what the caller decided rests on the commits in flight: let them commit
            return []
        batch = self._pending
        if batch is None:
            batch = self._pending = _Batch(asyncio.get_running_loop().create_future())
            self._in_flight += 1
            self._idle.clear()
            asyncio.get_running_loop().call_soon(self._flush)
        start = len(batch.events)
        batch.events.extend(events)
        stamped = await asyncio.shield(batch.done)
        return stamped[start : start + len(events)]

    def _flush(self) -> None:
        batch, self._pending = self._pending, None
        assert batch is not None
        previous, self._last_batch = self._last_batch, batch.done
        try:
            for hook in self._before_commit:
                batch.events.extend(hook(list(batch.events)))
            # Everything applied so far is in this commit or an earlier one: the state is this commit's.
            orders = self.state.orders
            batch.orders = {k.key: orders.get(k.key) for k in batch.events}
            journal_future = self.journal.persist(batch.events)
        except Exception as e:
            self._finish_failed(batch, e)
            return
        asyncio.get_running_loop().create_task(self._complete(batch, journal_future, previous))

    def _finish_failed(self, batch: _Batch, error: BaseException) -> None:
        self._halt(f"journal failed: {error!r}")
        self._in_flight -= 1
        if not batch.done.done():
            batch.done.set_exception(error)

    async def _complete(
        self,
        batch: _Batch,
        journal_future: concurrent.futures.Future[list[Stamped]],
        previous: asyncio.Future[Any] | None,
    ) -> None:
        try:
            stamped = await asyncio.wrap_future(journal_future)
        except Exception as e:
            self._finish_failed(batch, e)
            return
        if previous is not None:  # what follows a commit happens in commit order
            with contextlib.suppress(Exception):
                await asyncio.shield(previous)
        if self.commit_gate is not None and self._role_lost is None:
            try:
                await self.commit_gate(stamped[-1].event_id)
            except RoleLost as e:
                self._role_lost = e
        if self._role_lost is not None:  # durable here, but never committed: the state is void
            self._in_flight -= 1
            batch.done.set_exception(self._role_lost)
            return
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()
        self.state.last_event_id = stamped[-1].event_id
        self._schedule_timers({s.key for s in stamped})
        self._events_since_snapshot += len(stamped)
        if self._events_since_snapshot >= self.snapshot_after_events and not self._snapshotting:
            self._snapshotting = True
            asyncio.get_running_loop().create_task(self._snapshot_and_release())
        self._committed_orders = batch.orders
        for listener in self._listeners:
            try:
                result = listener(stamped)
                if result is not None:
                    await result
            except Exception:
                log.exception("commit listener failed")
        self._committed_orders = {}
        batch.done.set_result(stamped)

    async def admission(self) -> None:
        """Until no snapshot's barrier stands (see `quiesced`): await it before deciding from the state."""
        while self._barrier is not None:
            await asyncio.shield(self._barrier)

    async def settle(self) -> int:
        """Until every commit in flight now is committed: an answer computed from the state before this
        call then rests on committed events only. Returns the EventId the answer rests on (the last
        of those commits); raises RoleLost (or the journal's error) if they never will be committed."""
        at = self.state.last_event_id
        latest = self._pending.done if self._pending is not None else self._last_batch
        if latest is not None:
            stamped = await asyncio.shield(latest)
            at = max(at, stamped[-1].event_id)
        if self._role_lost is not None:
            raise self._role_lost
        return at

    @contextlib.asynccontextmanager
    async def quiesced(self) -> AsyncIterator[ControllerState]:
        """The state exactly at a commit boundary: entered once no commit is in flight; new decisions
        that pass `admission` (commands, an Agent's events, timers) wait until the block ends, so that
        the commits in flight drain. Read the state before the block's first await: `emit` still
        applies what a caller decided without admission."""
        while self._barrier is not None:
            await asyncio.shield(self._barrier)
        barrier: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._barrier = barrier
        try:
            while self._in_flight:
                await self._idle.wait()
            if self._role_lost is not None:
                raise self._role_lost
            yield self.state
        finally:
            self._barrier = None
            barrier.set_result(None)

    async def take_snapshot(self) -> int | Problem:
        """Start a new journal segment with a snapshot of the committed state.

        The objects are taken at a commit boundary (`quiesced`), and the snapshot is queued on the
        journal's writer before any later commit: exactly the state at its EventId.
        """
        async with self.quiesced() as state:
            at = state.last_event_id
            objects = list(state.snapshot_objects())
            refused: list[Problem] = []

            def source() -> list[Any]:
                if self.journal.last_event_id != at:  # a bug: something committed past the barrier
                    refused.append(Problem(code="SnapshotRefused", message=f"The journal moved past {at}"))
                    raise _SnapshotRefusedError
                return objects

            future = self.journal.snapshot_async(source)
        try:
            return await asyncio.wrap_future(future)
        except _SnapshotRefusedError:
            return refused[0]

    async def _snapshot_and_release(self) -> None:
        """A new segment starting with a snapshot keeps recovery short; older segments go once every
        registered reader has read past them (ARCHITECTURE §4)."""
        try:
            taken = await self.take_snapshot()
            if isinstance(taken, Problem):
                log.warning("Snapshot not taken: %s", taken)
            else:
                self._events_since_snapshot = 0
                released = await asyncio.to_thread(self.journal.release_events)
                if released:
                    log.info("Released %d journal segment(s)", len(released))
        except Exception:
            log.exception("Snapshot failed")
        finally:
            self._snapshotting = False

    def freeze(self, error: RoleLost) -> None:
        """Refuse new events (with `error`) but the `final` ones: the last commit of an active role."""
        self._frozen = error

    def lose_role(self, error: RoleLost) -> None:
        """Commit nothing more: commits in flight and later `persist` calls fail with `error`."""
        if self._role_lost is None:
            self._role_lost = error
        self.cancel_timers()

    @property
    def role_lost(self) -> bool:
        return self._role_lost is not None

    def _halt(self, reason: str) -> None:
        self._halted = True
        self._on_halt(reason)

    # -- timers: scheduledFor, retry delays, sleeps, admission times ----------------------------------

    def add_wake_time(self, hook: Callable[[Order], int | None]) -> None:
        """`hook(order)`: another instant at which the order must be looked at again (e.g. the Agent's
        next admission start of its job), or None."""
        self._wake_time_hooks.append(hook)

    def on_wake(self, listener: Callable[[str], None]) -> None:
        """`listener(order_id)` runs after a timer woke the order and its follow-up events are committed."""
        self._wake_listeners.append(listener)

    def rearm(self, order_ids: Iterable[str]) -> None:
        """(Re)arm the timers of the orders, e.g. after a hook's answer changed without a commit."""
        self._schedule_timers(order_ids)

    def _real_seconds(self, wall_ms: int) -> float:
        clock = self.clock
        return clock.real_seconds(wall_ms) if isinstance(clock, Clock) else max(0.0, wall_ms / 1000)

    def start(self) -> None:
        """After recovery: wake every order that is due and arm the timers of the others."""
        self._schedule_timers(self.state.orders)
        asyncio.get_running_loop().create_task(self.emit([], follow=list(self.state.orders)))

    def _schedule_timers(self, order_ids: Iterable[str]) -> None:
        loop = asyncio.get_running_loop()
        for order_id in order_ids:
            order = self.state.orders.get(order_id)
            when = self._wake_time(order) if order is not None else None
            existing = self._timers.get(order_id)
            if existing is not None and (when is None or existing[0] != when):
                existing[1].cancel()
                del self._timers[order_id]
                existing = None
            if when is not None and existing is None:
                delay = self._real_seconds(when - self.clock())
                handle = loop.call_later(delay, self._wake, order_id)
                self._timers[order_id] = (when, handle)

    def _wake_time(self, order: Order) -> int | None:
        match order.state:
            case Fresh() if order.scheduled_for is not None:
                return order.scheduled_for
            case DelayingRetry(until_ms=until) | Sleeping(until_ms=until):
                return until
            case BetweenCycles(cycle_state=cycle_state) if cycle_state is not None and cycle_state.next > 0:
                return cycle_state.next  # 0: at once, no timer (the follow-up has started it)
        for hook in self._wake_time_hooks:
            when = hook(order)
            if when is not None:
                return when
        return None

    def _wake(self, order_id: str) -> None:
        self._timers.pop(order_id, None)
        order = self.state.orders.get(order_id)
        if order is not None and (when := self._wake_time(order)) is not None and when > self.clock():
            self._schedule_timers([order_id])  # the clock is behind the timer's: try again
            return
        asyncio.get_running_loop().create_task(self._wake_order(order_id))

    async def _wake_order(self, order_id: str) -> None:
        try:
            await self.admission()
            await self.emit([], follow=[order_id])
            for listener in self._wake_listeners:
                listener(order_id)
        except Exception:
            log.exception("waking order %s failed", order_id)

    def cancel_timers(self) -> None:
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()


class JournalDoesNotApplyError(RuntimeError):
    """Recovery found an event that does not apply to the state before it (a bug, or a bad snapshot)."""


def recover_state(journal: Journal, state_class: type[Any]) -> Any:
    """The state from the journal's newest snapshot and the events after it."""
    recovered = journal.recovered
    state = state_class.from_snapshot(recovered.snapshot)
    for stamped in recovered.events:
        applied = state.apply_stamped(stamped)
        if isinstance(applied, Problem):
            raise JournalDoesNotApplyError(f"Journal does not apply at EventId {stamped.event_id}: {applied}")
    return state
