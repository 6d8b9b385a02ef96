"""Rebuild one Controller's read model from scratch: delete its rows, then replay its events from the
beginning in large batches through the same `Projector` the live follower uses — so the result is the
live tables, row for row (`database.table_digests` compares them). Only faster: each batch still
commits with its stored EventId, but finds the rows it needs in memory, where the previous batches
left them (`carry.Rebuilding`), and on PostgreSQL writes them with COPY and commits asynchronously.

The events come from a journal directory (`journal_events`, offline, js7es.journal.tools) or from any
iterable, e.g. the Controller's event stream from EventId 0 (js7es.nodes.cockpit.stream).
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from js7es.domain import events as domain_events
from js7es.domain.event import Stamped
from js7es.journal.format import journal_names, list_segments
from js7es.journal.tools import committed_events
from js7es.projections.cockpit.carry import Rebuilding
from js7es.projections.cockpit.database import reset_controller
from js7es.projections.cockpit.projector import Projector

REBUILD_BATCH = 20_000  # events per transaction (bench/README.md: fewer round trips and rows rewritten than 5,000)


class IncompleteHistory(ValueError):
    """The journal no longer holds the Controller's first events: a rebuild would lose history."""


@dataclass(frozen=True, slots=True)
class RebuildResult:
    events: int
    event_id: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def journal_events(directory: Path, *, name: str | None = None) -> Iterator[Stamped]:
    """The committed events of a Controller's journal directory from the first one. Refuses a journal
    whose oldest segment starts after EventId 0: its history before that was released."""
    domain_events.registered()  # the journal decodes them
    if name is None:
        names = journal_names(directory)
        name = "controller" if "controller" in names else (names[0] if len(names) == 1 else None)
        if name is None:
            raise ValueError(f"{directory}: no single journal found ({names or 'none'})")
    segments = list_segments(directory, name)
    if not segments:
        raise ValueError(f"{directory}: no journal segments of {name!r}")
    oldest = segments[0][0]
    if oldest != 0:
        raise IncompleteHistory(
            f"{directory}: the oldest kept segment starts after EventId {oldest}; the events before it "
            "were released, so a rebuild from this journal would lose history"
        )
    return committed_events(directory, name=name)


def rebuild(
    projector: Projector,
    controller_id: str,
    events: Iterable[Stamped],
    *,
    batch_size: int = REBUILD_BATCH,
    progress: bool = False,
    total: int | None = None,
) -> RebuildResult:
    started = time.perf_counter()
    # The batch a rebuild holds and the rows it carries live long enough to reach the cyclic garbage
    # collector's oldest generation, and each full collection scanned them all again, with everything
    # else the process holds: a third of the rebuild's CPU in the cockpit bench. Reference counting
    # frees what a rebuild drops (it makes no cycles: none were left after the bench's 23,882 events
    # with the collector off), so the collector is off for the rebuild and each batch ends with a
    # collection of the young generations only (what that batch allocated), should a cycle be made.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _rebuild(projector, controller_id, events, batch_size, progress, total, started)
    finally:
        if collecting:
            gc.enable()


def _rebuild(
    projector: Projector,
    controller_id: str,
    events: Iterable[Stamped],
    batch_size: int,
    progress: bool,
    total: int | None,
    started: float,
) -> RebuildResult:
    with projector.engine.begin() as connection:
        reset_controller(connection, controller_id)
    projector.ensure_controller(controller_id)
    rebuilding = Rebuilding(event_id=0)  # the read model is empty at EventId 0
    show = progress and sys.stderr.isatty()
    bar = tqdm(total=total, unit=" events", disable=not show, file=sys.stderr, mininterval=0.5, desc=controller_id)
    count = 0
    event_id = 0
    batch: list[Stamped] = []
    try:
        for stamped in events:
            batch.append(stamped)
            if len(batch) >= batch_size:
                event_id = projector.apply(controller_id, batch, rebuilding=rebuilding).event_id
                count += len(batch)
                bar.update(len(batch))
                batch = []
                gc.collect(1)
        if batch:
            event_id = projector.apply(controller_id, batch, rebuilding=rebuilding).event_id
            count += len(batch)
            bar.update(len(batch))
    finally:
        bar.close()
    return RebuildResult(events=count, event_id=event_id, seconds=time.perf_counter() - started)
