"""The wake-up of /joc/api/events' long polls: the projector's batch commit signals, the waiting calls wake.

`notify()` may be called from any thread (the follower calls it in the Cockpit's event loop after each
committed batch; tests from theirs); a waiter sleeps at most `timeout_s` and then looks at the projection
itself, so a batch committed by another process (a standby, a rebuild) is seen within that time too.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from js7es.nodes.waiting import wait_event


class BatchSignal:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self, *_: object) -> None:
        """A batch was committed (the arguments of the follower's on_batch are accepted and ignored)."""
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is closed: its waiter is gone
                loop.call_soon_threadsafe(event.set)

    def waiter(self) -> Waiter:
        return Waiter(self)

    def _add(self, entry: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            self._waiters.add(entry)

    def _remove(self, entry: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            self._waiters.discard(entry)


class Waiter:
    """Registered before the caller looks at the projection, so that no signal falls between the look
    and the wait: `with signal.waiter() as w: …look…; await w.wait(timeout)`."""

    def __init__(self, signal: BatchSignal) -> None:
        self._signal = signal
        self._entry = (asyncio.get_running_loop(), asyncio.Event())

    def __enter__(self) -> Waiter:
        self._signal._add(self._entry)
        return self

    def __exit__(self, *_: object) -> None:
        self._signal._remove(self._entry)

    async def wait(self, timeout_s: float) -> bool:
        """True when signalled (and re-armed), False after `timeout_s`."""
        event = self._entry[1]
        if not await wait_event(event, timeout_s):
            return False
        event.clear()
        return True
