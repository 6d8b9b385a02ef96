"""The contract of a rebuild, for every database (mixed into the projection suites): whatever its batch
size, a rebuild gives the live tables row for row — although it carries its rows from batch to batch
in memory and, on PostgreSQL, writes them with COPY — and it falls back on the database when its
carried rows may be stale."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy.engine import Engine

from js7es.domain.event import Stamped
from js7es.domain.order.events import OrderStdoutWritten
from js7es.projections.cockpit.batch import Batch
from js7es.projections.cockpit.carry import Rebuilding
from js7es.projections.cockpit.database import reset_controller, stored_event_id, table_digests
from js7es.projections.cockpit.projector import Projector
from js7es.projections.cockpit.rebuild import rebuild
from tests.cockpit.contract import C1, project
from tests.cockpit.support import fork_workflow, linear_workflow, stamp, with_output
from tests.domain.simulator import Simulator

# COPY's text format escapes these; JSON and the task logs must come back unchanged.
AWKWARD = "tab\there\nnew line\r\\N back\\slash 'single' \"double\" ü € 😀 \\."


def awkward_history() -> list[Stamped]:
    """Orders running side by side (so they span batches), a fork, an order id used again after its
    deletion, arguments and output that COPY must escape, and a task log over the limit."""
    sim = Simulator()
    sim.deploy(linear_workflow(steps=3), fork_workflow())
    for i in range(6):
        sim.add_order(f"o-{i}", "W", arguments={"text": f"{AWKWARD}{i}", "n": Decimal("1.25"), "list": ("a", 1)})
    sim.add_order("again", "W", delete_when_terminated=True)
    sim.add_order("fork", "F")
    sim.run()
    sim.add_order("again", "W", arguments={"second": True})
    sim.run()
    keyed = with_output(sim.log, chunk=AWKWARD + "x" * 700 + "\n", repeat=3)
    return stamp(keyed)


def rebuild_with(engine: Engine, events: list[Stamped], batch: int) -> Rebuilding:
    with engine.begin() as c:
        reset_controller(c, C1)
    projector = Projector(engine, task_log_limit=4096)
    projector.ensure_controller(C1)
    rebuilding = Rebuilding(event_id=0)
    for i in range(0, len(events), batch):
        projector.apply(C1, events[i : i + batch], rebuilding=rebuilding)
    return rebuilding


class RebuildContract:
    """Mixed into a `ProjectionContract` subclass, whose `engine` fixture it uses."""

    def test_a_rebuild_in_batches_of_any_size_equals_the_live_projection(self, engine: Engine) -> None:
        events = awkward_history()
        assert any(isinstance(s.event, OrderStdoutWritten) for s in events)
        project(engine, events, batch=5, task_log_limit=4096)
        live = table_digests(engine, C1)
        for size in (1, 3, 17, 100, len(events)):
            rebuilding = rebuild_with(engine, events, size)
            assert rebuilding.event_id == events[-1].event_id
            assert table_digests(engine, C1) == live, f"batches of {size} events"
        result = rebuild(Projector(engine, task_log_limit=4096), C1, iter(events), batch_size=13)
        assert result.events == len(events)
        assert table_digests(engine, C1) == live

    def test_a_rebuild_reads_from_the_database_again_after_another_writer(self, engine: Engine) -> None:
        events = awkward_history()
        project(engine, events, batch=len(events), task_log_limit=4096)
        live = table_digests(engine, C1)
        rebuilding = rebuild_with(engine, events[:40], 10)
        # another writer (the live path) applies the next events: the carried rows are stale
        Projector(engine, task_log_limit=4096).apply(C1, events[40:80])
        projector = Projector(engine, task_log_limit=4096)
        for i in range(80, len(events), 10):
            projector.apply(C1, events[i : i + 10], rebuilding=rebuilding)
        assert rebuilding.event_id is None and rebuilding.orders == {}
        assert table_digests(engine, C1) == live

    def test_a_rolled_back_batch_leaves_the_carried_rows_as_committed(
        self, engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        events = awkward_history()
        project(engine, events, batch=len(events), task_log_limit=4096)
        live = table_digests(engine, C1)
        rebuilding = rebuild_with(engine, events[:60], 20)
        original = Batch._write

        def crash(self: Batch) -> None:
            original(self)
            raise OSError("killed before commit")

        monkeypatch.setattr(Batch, "_write", crash)
        projector = Projector(engine, task_log_limit=4096)
        with pytest.raises(OSError):
            projector.apply(C1, events[60:90], rebuilding=rebuilding)
        monkeypatch.setattr(Batch, "_write", original)
        assert rebuilding.event_id == stored_event_id(engine, C1) == events[59].event_id
        for i in range(60, len(events), 20):
            projector.apply(C1, events[i : i + 20], rebuilding=rebuilding)
        assert rebuilding.event_id == events[-1].event_id
        assert table_digests(engine, C1) == live

    def test_the_cyclic_collector_is_off_during_a_rebuild_only(self, engine: Engine) -> None:
        events = awkward_history()
        seen: list[bool] = []

        def watched() -> Iterator[Stamped]:
            for stamped in events:
                seen.append(gc.isenabled())
                yield stamped

        assert gc.isenabled()
        rebuild(Projector(engine, task_log_limit=4096), C1, watched(), batch_size=7)
        assert seen and not any(seen) and gc.isenabled()

        def failing() -> Iterator[Stamped]:
            yield from events[:10]
            raise OSError("journal unreadable")

        with pytest.raises(OSError):
            rebuild(Projector(engine, task_log_limit=4096), C1, failing())
        assert gc.isenabled()
        gc.disable()
        try:  # a caller's choice stays
            rebuild(Projector(engine, task_log_limit=4096), C1, iter(events))
            assert not gc.isenabled()
        finally:
            gc.enable()
