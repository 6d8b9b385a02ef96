"""Waiting with a timeout that a cancellation always ends.

Python 3.11's `asyncio.wait_for` returns what it awaited when that arrives in the same moment as a
cancellation of the waiting task, and drops the cancellation (3.12's wait_for is `asyncio.timeout`
inside and does not). A loop that waits for its wake-up with a timeout then goes round again after it
was told to stop, and its stop never ends: the Controller's Agent driver did so under load (the command
stream, bench/README.md). Waits here use `asyncio.timeout`, which lets the cancellation through.
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout_s: float | None) -> bool:
    """True when `event` is set within `timeout_s` (None: no limit), False after it."""
    try:
        async with asyncio.timeout(timeout_s):
            await event.wait()
    except TimeoutError:
        return False
    return True
