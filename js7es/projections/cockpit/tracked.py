"""Projections of the Cockpit store: a `TrackedProjector` reads the store's notifications after the position
it tracks in `store_tracking` (one row per projector, its `follower` key) and writes, in ONE transaction per
batch, its rows and the new position. A crash anywhere leaves the old rows with the old position or the new
rows with the new one, so a projector that starts again neither loses nor repeats a row. Several projectors
of the same key on one database (several Cockpits) take turns on the tracking row's lock.

`StoreFollower` runs projectors in one thread: it catches each up, then waits for the store's next
notification (at once for appends through the same store handle, by polling for other writers').
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from js7es.domain.cockpit import events as ev
from js7es.journal.cockpit.store import CockpitStore
from js7es.projections.cockpit import schema

log = logging.getLogger(__name__)


class TrackedProjector:
    """Subclasses give `follower` (the tracking key) and `_project` (the rows of one notification)."""

    follower = ""

    def __init__(self, store: CockpitStore, engine: Engine, *, batch_size: int = 200, follower: str | None = None):
        self.store = store
        self.engine = engine
        self.batch_size = batch_size
        if follower is not None:
            self.follower = follower
        self._tracking_ready = False

    def position(self) -> int:
        """The last store notification id whose rows are committed."""
        with self.engine.connect() as connection:
            value = connection.execute(self._tracked()).scalar()
        return int(value or 0)

    def catch_up(self) -> int:
        """Projects every notification after the tracked position, batch by batch; returns how many."""
        total = 0
        while True:
            done = self.project_batch()
            total += done
            if done < self.batch_size:
                return total

    def project_batch(self) -> int:
        """One batch in one transaction: rows and the new position, or nothing."""
        self._ensure_tracking()
        with self.engine.begin() as connection:
            # The row lock keeps a second projector (another Cockpit) out until this batch is committed.
            position = int(connection.execute(self._tracked().with_for_update()).scalar() or 0)
            records = self.store.notifications(position, self.batch_size)
            for record in records:
                self._project(connection, record)
            if records:
                self._store_position(connection, records[-1].notification_id)
        return len(records)

    def _project(self, connection: Connection, record: ev.CockpitRecord) -> None:
        raise NotImplementedError

    def _tracked(self) -> sa.Select[Any]:
        table = schema.store_tracking
        return sa.select(table.c.notification_id).where(table.c.follower == self.follower)

    def _store_position(self, connection: Connection, notification_id: int) -> None:
        table = schema.store_tracking
        connection.execute(
            table.update().where(table.c.follower == self.follower).values(notification_id=notification_id)
        )

    def _ensure_tracking(self) -> None:
        if self._tracking_ready:
            return
        try:
            with self.engine.begin() as connection:
                if connection.execute(self._tracked()).first() is None:
                    connection.execute(schema.store_tracking.insert().values(follower=self.follower, notification_id=0))
        except IntegrityError:
            pass  # another projector inserted it meanwhile
        self._tracking_ready = True


class StoreFollower:
    """Keeps its projectors up to date in a daemon thread until `stop()`."""

    def __init__(
        self, projector: TrackedProjector, *more: TrackedProjector, idle_wait_s: float = 5.0, coalesce_s: float = 0.02
    ) -> None:
        self.projector = projector
        self.projectors = (projector, *more)
        self.idle_wait_s = idle_wait_s
        # After a wake-up, wait this long for more: one transaction (one fsync) per projector for the
        # audit entry and the outcome of a command, instead of one each.
        self.coalesce_s = coalesce_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-follower", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        self._thread.join(timeout_s)

    def _position(self) -> int:
        return min(p.position() for p in self.projectors)

    def _run(self) -> None:
        position = self._position()
        while not self._stopping.is_set():
            try:
                for projector in self.projectors:
                    projector.catch_up()
                position = self._position()
            except Exception:  # the database may be away for a while: try again later
                log.exception("projection of the Cockpit store failed; retrying")
                self._stopping.wait(self.idle_wait_s)
                continue
            # Short waits, so that stop() is prompt; the store wakes it at once on a local append.
            while not self._stopping.is_set() and not self.projector.store.wait(position, min(self.idle_wait_s, 0.5)):
                pass
            self._stopping.wait(self.coalesce_s)
