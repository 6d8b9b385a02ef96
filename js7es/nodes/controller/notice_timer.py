"""The end of life of notices: a timer on the Controller at the earliest endOfLife of its notices.

When it fires, the notices whose end of life has come are deleted (NoticeDeleted, JS7's behaviour).
The timer is derived from the committed state after every commit and at start, so that it survives a
restart or a failover: a notice whose end passed while the Controller was down is deleted at start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from js7es.domain.board.events import NoticePosted, OrderNoticePosted
from js7es.domain.commands.notices import end_of_life_events
from js7es.domain.event import Stamped
from js7es.nodes.clock import Clock
from js7es.nodes.engine import Engine

log = logging.getLogger(__name__)

_POSTING = (NoticePosted, OrderNoticePosted)


class NoticeTimer:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._handle: asyncio.TimerHandle | None = None
        self._when: int | None = None
        self._stopped = False
        engine.on_commit(self._on_commit)

    def start(self) -> None:
        self._stopped = False
        self.rearm()

    def stop(self) -> None:
        self._stopped = True
        self._cancel()

    def _on_commit(self, stamped: Sequence[Stamped]) -> None:
        # Only a posted notice can bring the earliest end of life forward; a deleted one can only put it
        # off, and then the timer fires early, finds nothing and rearms. (Not after every commit: the
        # earliest end is a scan over all notices.)
        if any(isinstance(s.event, _POSTING) for s in stamped):
            self.rearm()

    def _cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._when = None

    def rearm(self) -> None:
        if self._stopped:
            return
        when = self._engine.state.boards.next_end_of_life()
        if when == self._when and self._handle is not None:
            return
        self._cancel()
        if when is None:
            return
        clock = self._engine.clock
        wall_ms = when - clock()
        delay = clock.real_seconds(wall_ms) if isinstance(clock, Clock) else max(0.0, wall_ms / 1000)
        self._when = when
        self._handle = asyncio.get_running_loop().call_later(delay, self._fire)

    def _fire(self) -> None:
        self._handle = self._when = None
        asyncio.get_running_loop().create_task(self._delete_ended())

    async def _delete_ended(self) -> None:
        try:
            await self._engine.admission()
            events = end_of_life_events(self._engine.state, self._engine.clock())
            if events:
                await self._engine.emit(events)
            self.rearm()  # the next end of life (or the same again: the clock was behind the timer's)
        except Exception:
            log.exception("deleting notices at their end of life failed")
