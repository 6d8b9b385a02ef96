"""The fence of a Cockpit cluster member: which generation of the lease it holds (None: standby), and the
statement that every write transaction of the member runs first.

The statement calls ``joc_cluster_fence(cluster_id, generation)`` (migration 0009 of the Cockpit's
database): it share-locks the lease row while the generation is still ours and raises SQLSTATE JSF01
otherwise, so the database refuses the write inside its own transaction (nothing of it is applied). The
share lock is held to the commit: a takeover, which updates the row, waits for the writes in flight and
every later write sees the new generation. There is no window between a check and the write.

The Cockpit store (backends.py) and the projection's engine (projections/cockpit/database.py) run the
statement; `refused` turns the database's error into `Fenced` and tells the member to step down.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

FENCE_SQLSTATE = "JSF01"


class NotActive(Exception):
    """This Cockpit is a standby of its cluster: it writes nothing (the active member does)."""

    def __init__(self, message: str, *, active: str = "", active_uri: str = "") -> None:
        super().__init__(message)
        self.active = active
        self.active_uri = active_uri


class Fenced(NotActive):
    """The database refused a write: another member took the lease over (a higher generation)."""


class Fence:
    """Shared by the member's writers (any thread); `activate` and `deactivate` come from the lease."""

    def __init__(self, cluster_id: str, *, schema: str | None = None) -> None:
        self.cluster_id = cluster_id
        self._function = f'"{schema}".joc_cluster_fence' if schema else "joc_cluster_fence"
        self._lock = threading.Lock()
        self._generation: int | None = None
        self._on_fenced: list[Callable[[int], None]] = []
        self.active_member = ""  # the active member as last seen (for a standby's answers)
        self.active_uri = ""

    @property
    def generation(self) -> int | None:
        return self._generation

    def activate(self, generation: int) -> None:
        with self._lock:
            self._generation = generation

    def deactivate(self) -> None:
        with self._lock:
            self._generation = None

    def on_fenced(self, callback: Callable[[int], None]) -> None:
        self._on_fenced.append(callback)

    def statement(self) -> tuple[str, tuple[str, int]]:
        """The fence's SQL (psycopg's %s style) with its parameters; NotActive on a standby."""
        generation = self._generation
        if generation is None:
            raise self.not_active()
        return f"SELECT {self._function}(%s, %s)", (self.cluster_id, generation)

    def not_active(self) -> NotActive:
        return NotActive(
            f"this Cockpit is a standby of cluster {self.cluster_id!r}",
            active=self.active_member,
            active_uri=self.active_uri,
        )

    def refused(self, error: BaseException, generation: int | None) -> Fenced | None:
        """A `Fenced` when `error` (or its cause) is the fence's refusal, after telling the listeners to
        step down; None for any other error."""
        if not is_fence_error(error):
            return None
        with self._lock:
            if generation is not None and self._generation == generation:
                self._generation = None
        for callback in list(self._on_fenced):
            callback(generation or 0)
        return Fenced(f"the database refused a write of generation {generation}: another member is active")


def is_fence_error(error: BaseException | None) -> bool:
    seen = 0
    while error is not None and seen < 10:
        if getattr(error, "sqlstate", None) == FENCE_SQLSTATE or FENCE_SQLSTATE in str(getattr(error, "pgcode", "")):
            return True
        error = error.__cause__ or error.__context__ or getattr(error, "orig", None)
        seen += 1
    return False
