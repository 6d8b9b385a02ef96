"""The contract of the Cockpit's projection, one abstract suite for every database: subclasses give
`make_database` (a one-line fixture) and run every test on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from js7es.domain import codec
from js7es.domain.event import KeyedEvent, Stamped
from js7es.domain.order.events import OrderProcessingStarted, OrderStdoutWritten
from js7es.domain.order.order import Order
from js7es.domain.value import loads
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.batch import Batch
from js7es.projections.cockpit.database import (
    count_orders_by_state,
    current_revision,
    head_revision,
    migrate,
    read_task_log,
    reset_controller,
    stored_event_id,
    table_digests,
)
from js7es.projections.cockpit.projector import Projector
from js7es.projections.cockpit.rebuild import rebuild
from tests.cockpit.conftest import DatabaseFactory
from tests.cockpit.support import T0, linear_workflow, simulated_history, stamp
from tests.domain.simulator import Simulator

C1 = "controller-1"
PI = "3.14159265358979323846264338327950288"


def project(engine: Engine, events: list[Stamped], *, batch: int, controller: str = C1, **kw: Any) -> Projector:
    projector = Projector(engine, **kw)
    projector.ensure_controller(controller)
    for i in range(0, len(events), batch):
        projector.apply(controller, events[i : i + batch])
    return projector


def rows(engine: Engine, table: sa.Table, controller: str = C1) -> list[dict[str, Any]]:
    with engine.connect() as c:
        query = sa.select(table).where(table.c.controller_id == controller).order_by(*table.primary_key.columns)
        return [dict(r) for r in c.execute(query).mappings()]


class ProjectionContract:
    @pytest.fixture
    def make_database(self) -> DatabaseFactory:
        raise NotImplementedError

    @pytest.fixture
    def engine(self, make_database: DatabaseFactory) -> Engine:
        return make_database()[0]

    def test_migrations_create_exactly_the_schema_and_run_again_harmlessly(self, engine: Engine) -> None:
        assert current_revision(engine) == head_revision()
        with engine.connect() as c:
            differences = compare_metadata(MigrationContext.configure(c), schema.metadata)
        assert differences == []
        assert migrate(engine) == head_revision()

    def test_orders_history_steps_and_agents(self, engine: Engine) -> None:
        events = simulated_history(5)
        result = project(engine, events, batch=len(events)).apply(C1, [])
        assert result.applied == 0
        assert stored_event_id(engine, C1) == events[-1].event_id
        assert count_orders_by_state(engine, C1) == {"Failed": 1, "Finished": 6}
        history = {(r["order_id"]): r for r in rows(engine, schema.order_history)}
        assert history["o-0"]["state"] == "Finished" and history["o-0"]["ended_at"] is not None
        assert history["o-fail"]["state"] == "Failed" and history["o-fail"]["error_message"] == "boom"
        assert history["o-fork|a"]["parent_order_id"] == "o-fork"
        assert history["o-fork|a"]["state"] == "Finished"
        steps = rows(engine, schema.order_steps)
        assert {s["job_name"] for s in steps} == {"J0", "J1", "A", "B", "C"}
        assert all(s["outcome"] == "Succeeded" and s["return_code"] == 0 for s in steps)
        assert all(s["agent_path"] == "AGENT" and s["subagent_id"] == "AGENT-subagent" for s in steps)
        (agent,) = rows(engine, schema.agents)
        assert agent["agent_path"] == "AGENT" and agent["coupling"] == "Reset"
        assert {(w["path"], w["is_current"]) for w in rows(engine, schema.workflows)} == {
            ("W", True),
            ("F", True),
            ("X", True),
        }
        (controller,) = rows(engine, schema.controllers)
        assert controller["inapplicable_events"] == 0 and controller["event_count"] == len(events)

    def test_any_batching_redelivery_and_duplicates_give_the_same_tables(self, make_database: DatabaseFactory) -> None:
        events = simulated_history(8)
        reference, _, _ = make_database()
        project(reference, events, batch=len(events))
        expected = table_digests(reference, C1)
        other, _, _ = make_database()
        projector = project(other, events, batch=7)
        # a redelivered stream, overlapping batches, duplicates and disorder inside one batch
        projector.apply(C1, events)
        projector.apply(C1, events[10:40] + events[5:50] + events[::-1])
        assert table_digests(other, C1) == expected
        assert stored_event_id(other, C1) == events[-1].event_id

    def test_a_crash_inside_the_transaction_leaves_nothing_and_the_retry_applies_once(
        self, make_database: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        engine, _, _ = make_database()
        events = simulated_history(4)
        projector = project(engine, events[:100], batch=100)
        before = table_digests(engine, C1)
        original = Batch._write

        def crash(self: Batch) -> None:
            original(self)  # the rows are written inside the transaction …
            raise OSError("killed before commit")  # … which never commits

        monkeypatch.setattr(Batch, "_write", crash)
        with pytest.raises(OSError):
            projector.apply(C1, events[50:200])
        assert table_digests(engine, C1) == before
        monkeypatch.setattr(Batch, "_write", original)
        projector.apply(C1, events[50:])
        reference, _, _ = make_database()
        project(reference, events, batch=len(events))
        assert table_digests(engine, C1) == table_digests(reference, C1)

    def test_concurrent_writers_apply_each_event_once(self, make_database: DatabaseFactory) -> None:
        events = simulated_history(10)
        engine, _, _ = make_database()
        reference, _, _ = make_database()
        project(reference, events, batch=len(events))
        projectors = [Projector(engine), Projector(engine)]
        projectors[0].ensure_controller(C1)
        errors: list[BaseException] = []

        def write(projector: Projector) -> None:
            try:
                for i in range(0, len(events), 13):
                    projector.apply(C1, events[i : i + 13])
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=write, args=(p,)) for p in projectors]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert table_digests(engine, C1) == table_digests(reference, C1)

    def test_two_controllers_in_one_database_do_not_mix(self, engine: Engine) -> None:
        first = simulated_history(3, seed_ids="o")
        second = simulated_history(5, seed_ids="o")  # the same order ids in the other Controller
        project(engine, first, batch=50, controller="A")
        project(engine, second, batch=50, controller="B")
        assert count_orders_by_state(engine, "A") == {"Failed": 1, "Finished": 4}
        assert count_orders_by_state(engine, "B") == {"Failed": 1, "Finished": 6}
        with engine.begin() as c:
            reset_controller(c, "A")
        assert count_orders_by_state(engine, "A") == {}
        assert count_orders_by_state(engine, "B") == {"Failed": 1, "Finished": 6}

    def test_rebuild_equals_the_live_projection(self, engine: Engine) -> None:
        events = simulated_history(12)
        project(engine, events, batch=3)
        live = table_digests(engine, C1)
        result = rebuild(Projector(engine), C1, iter(events), batch_size=1000)
        assert result.events == len(events)
        assert table_digests(engine, C1) == live

    def test_task_logs_compressed_readable_while_running_and_truncated_at_the_limit(self, engine: Engine) -> None:
        sim = Simulator()
        sim.deploy(linear_workflow(steps=1))
        sim.add_order("big", "W")
        sim.run()
        start = next(i for i, k in enumerate(sim.log) if isinstance(k.event, OrderProcessingStarted))
        head = stamp(sim.log[: start + 1])
        chunk = "ü" * 400 + "\n"  # 801 bytes, characters of two bytes
        running = stamp(
            [KeyedEvent("big", OrderStdoutWritten(chunk=chunk)) for _ in range(10)],
            start=head[-1].event_id + 1000,
        )
        projector = project(engine, head + running, batch=4, task_log_limit=4096)
        (step,) = rows(engine, schema.order_steps)
        assert step["ended_at"] is None
        text = "".join(t for _, t in read_task_log(engine, C1, step["step_event_id"]))
        assert text.startswith(chunk * 5)
        assert "task log truncated at the limit of 4096 bytes" in text
        assert step["log_truncated"] and step["log_bytes"] <= 4096
        assert step["log_bytes"] + step["log_dropped_bytes"] == len(chunk.encode()) * 10
        stored = rows(engine, schema.task_logs)
        assert len(stored) == 6  # five whole chunks, the cut one with the marker; the rest dropped
        assert all(len(r["data"]) < r["size"] for r in stored[:5])  # compressed
        rest = stamp(sim.log[start + 1 :], start=running[-1].event_id + 1000)
        projector.apply(C1, rest)
        (step,) = rows(engine, schema.order_steps)
        assert step["outcome"] == "Succeeded"
        assert count_orders_by_state(engine, C1) == {"Finished": 1}

    def test_an_order_id_used_again_after_deletion_is_a_new_run(self, engine: Engine) -> None:
        sim = Simulator()
        sim.deploy(linear_workflow(steps=1))
        sim.add_order("again", "W", delete_when_terminated=True)
        sim.run()
        sim.add_order("again", "W")
        sim.run()
        events = stamp(sim.log, start=T0 * 1000)
        project(engine, events, batch=len(events))
        runs = rows(engine, schema.order_history)
        assert [r["state"] for r in runs] == ["Finished", "Finished"]
        assert len(rows(engine, schema.orders)) == 1
        assert len(rows(engine, schema.order_steps)) == 2

    def test_numbers_keep_every_digit(self, engine: Engine) -> None:
        """JS7's numbers are BigDecimals: the tables hold them exactly, never rounded through float."""
        sim = Simulator()
        sim.deploy(linear_workflow(steps=1))
        sim.add_order("pi", "W", arguments={"pi": Decimal(PI), "tiny": Decimal("-1E-30")})
        sim.run()
        events = stamp(sim.log, start=T0 * 1000)
        project(engine, events, batch=len(events))
        expected = {"pi": Decimal(PI), "tiny": Decimal("-1E-30")}
        [order] = rows(engine, schema.orders)
        [run] = rows(engine, schema.order_history)
        assert PI in order["arguments"] and PI in run["arguments"] and PI in order["order_json"]
        assert loads(order["arguments"]) == loads(run["arguments"]) == expected
        assert codec.decode(loads(order["order_json"]), Order).arguments == expected
