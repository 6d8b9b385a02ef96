"""js7es/nodes/waiting.py: a wait with a timeout that a cancellation always ends, also when what it
waits for comes in the same moment (where Python 3.11's asyncio.wait_for returns and drops it)."""

from __future__ import annotations

import asyncio

import pytest

from js7es.nodes.waiting import wait_event


def test_set_in_time_or_timed_out() -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        event = asyncio.Event()
        asyncio.get_running_loop().call_later(0.01, event.set)
        first = await wait_event(event, 5.0)
        event.clear()
        second = await wait_event(event, 0.01)
        event.set()
        return first, second, await wait_event(event, None)

    assert asyncio.run(scenario()) == (True, False, True)


def test_a_cancellation_in_the_moment_the_event_is_set_ends_the_wait() -> None:
    """A stopping loop: its wake-up and its cancellation in one turn of the event loop. The waiting task
    must end cancelled, not go round again (with 3.11's wait_for it returned True and the loop waited on)."""

    async def scenario() -> int:
        event = asyncio.Event()
        rounds = 0

        async def service() -> None:
            nonlocal rounds
            while True:
                await wait_event(event, 5.0)
                event.clear()
                rounds += 1

        task = asyncio.ensure_future(service())
        await asyncio.sleep(0)  # it waits
        await asyncio.sleep(0)
        event.set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 2.0)
        return rounds

    assert asyncio.run(scenario()) <= 1
