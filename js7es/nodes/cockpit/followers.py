"""The Cockpit's followers, one per Controller, as a set that changes while the Cockpit runs.

The Controllers of the configuration file join at start; those registered through the JOC API
(/controller/register) join when the store recovers them and whenever one is registered, and leave
when unregistered. Leaving stops the follower only: the rows it projected stay, and registering the
Controller again resumes from the stored EventId. A changed registration (other URLs) restarts it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.cockpit.follower import ControllerFollower

log = logging.getLogger(__name__)


class FollowerSet:
    """Owns the followers and their tasks. `add` and `remove` run on the event loop's thread (the JOC
    API's handlers) or before `start`; from another thread they are passed to the loop."""

    def __init__(self, make: Callable[[ControllerConnection], ControllerFollower]) -> None:
        self._make = make
        self._followers: dict[str, ControllerFollower] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def controller_ids(self) -> list[str]:
        return list(self._followers)

    def statuses(self) -> dict[str, Any]:
        return {cid: f.status.to_json() for cid, f in list(self._followers.items())}

    def add(self, connection: ControllerConnection) -> None:
        if not self._on_loop(self.add, connection):
            return
        controller_id = connection.controller_id
        current = self._followers.get(controller_id)
        if current is not None:
            if current.connection == connection:
                return
            self._stop(controller_id)
        follower = self._followers[controller_id] = self._make(connection)
        if self._loop is not None:
            self._start(follower)
            log.info("following Controller %r at %s", controller_id, list(connection.uris))

    def remove(self, controller_id: str) -> None:
        if not self._on_loop(self.remove, controller_id):
            return
        if self._stop(controller_id):
            log.info("no longer following Controller %r", controller_id)

    def start(self) -> None:
        """Starts every follower, and those added later at once (on the running loop)."""
        self._loop = asyncio.get_running_loop()
        for follower in self._followers.values():
            self._start(follower)

    async def stop(self) -> None:
        """Stops every follower; `start` starts them again (a Cockpit cluster member's takeover), and
        those added in between join then."""
        self._loop = None
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _on_loop(self, method: Callable[[Any], None], argument: Any) -> bool:
        """True when the caller may go on here: no loop yet, or on the loop's thread."""
        if self._loop is None:
            return True
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            return True
        self._loop.call_soon_threadsafe(method, argument)
        return False

    def _start(self, follower: ControllerFollower) -> None:
        controller_id = follower.controller_id
        self._tasks[controller_id] = asyncio.create_task(follower.run(), name=f"follow {controller_id}")

    def _stop(self, controller_id: str) -> bool:
        follower = self._followers.pop(controller_id, None)
        task = self._tasks.pop(controller_id, None)
        if task is not None:
            task.cancel()
        return follower is not None
