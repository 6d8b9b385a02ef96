"""Exactly-once projection of a Controller's events into the Cockpit's tables.

`Projector.apply(controller_id, events)` runs ONE transaction: it locks the Controller's row and reads
its stored EventId, drops every event at or below it (a redelivered batch, a duplicate stream), applies
the rest and stores the last EventId — all or nothing. A crash at any point leaves either the old rows
with the old EventId or the new rows with the new one; the follower then asks again from the stored one.

Inside the transaction the batch is applied in memory (`batch.Batch`): the rows the batch touches are
read once, the domain's own `apply_order` moves each order, and the changed rows are written back with
one executemany per table and kind. A rebuild (thousands of events per transaction) also keeps its
rows in memory from batch to batch instead of reading them again (`carry.Rebuilding`) and, on
PostgreSQL, writes them with COPY (`writers.CopyWriter`) — the same rows, without a second
implementation of the order state machine.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from js7es.domain import codec
from js7es.domain.cluster import ClusterEmpty, ClusterEvent, ClusterState, apply_cluster
from js7es.domain.event import Stamped
from js7es.domain.problem import Problem
from js7es.domain.value import Value, loads, value_to_json
from js7es.domain.workflow.parse import parse_workflow
from js7es.domain.workflow.workflow import Workflow, WorkflowId
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.batch import Batch
from js7es.projections.cockpit.carry import Rebuilding
from js7es.projections.cockpit.writers import CopyWriter, ExecutemanyWriter

log = logging.getLogger(__name__)

DEFAULT_TASK_LOG_LIMIT = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class BatchResult:
    applied: int  # events applied now
    skipped: int  # events at or below the stored EventId (already applied)
    event_id: int  # the stored EventId after the transaction
    inapplicable: int = 0  # events the read model could not place (counted in controllers)


class Projector:
    """Writes the read model of any number of Controllers into one database (rows keyed by Controller)."""

    def __init__(self, engine: Engine, *, task_log_limit: int = DEFAULT_TASK_LOG_LIMIT) -> None:
        if task_log_limit < 1024:
            raise ValueError("the task log limit must be at least 1024 bytes")
        self.engine = engine
        self.task_log_limit = task_log_limit
        # Workflow versions never change once deployed, so a parsed one may be kept for good (also
        # across a rolled-back transaction: the redelivered event deploys the same version again).
        self._workflows: dict[tuple[str, str, str], Workflow | None] = {}

    def ensure_controller(self, controller_id: str) -> None:
        """The Controller's row with EventId 0, unless it exists (the row the batches lock)."""
        values = {
            "controller_id": controller_id,
            "event_id": 0,
            "event_count": 0,
            "inapplicable_events": 0,
        }
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(schema.controllers)
        with self.engine.begin() as connection:
            connection.execute(insert.values(**values).on_conflict_do_nothing())

    def apply(
        self, controller_id: str, events: Sequence[Stamped], *, rebuilding: Rebuilding | None = None
    ) -> BatchResult:
        """Apply `events` in one transaction with the stored EventId.

        `rebuilding` is for a rebuild (large batches into a read model that nothing else writes): the
        batch reads the rows it needs from there instead of the database, on PostgreSQL it writes them
        with COPY and commits without waiting for the WAL flush. The rows and the transaction are the
        same as without it."""
        table = schema.controllers
        with self.engine.begin() as connection:
            bulk = rebuilding is not None and connection.dialect.name == "postgresql"
            if bulk:
                # For this transaction only. A server crash may lose the last such commits, never part
                # of one (the rows and their stored EventId go together), and a rebuild that did not
                # finish is run again from the start.
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO off")
            row = connection.execute(
                sa.select(table.c.event_id, table.c.event_count, table.c.inapplicable_events, table.c.cluster_state)
                .where(table.c.controller_id == controller_id)
                .with_for_update()
            ).one_or_none()
            if row is None:
                raise LookupError(f"Controller {controller_id!r} is not registered in the database")
            stored, count, inapplicable_before = int(row[0]), int(row[1]), int(row[2])
            cluster_json: str | None = row[3]
            if rebuilding is not None and not rebuilding.usable_at(stored):
                log.warning("%s: the rebuild's rows changed underneath; reading them from the database", controller_id)
                rebuilding = None
            fresh: list[Stamped] = []
            last = stored
            for stamped in events:
                if stamped.event_id > last:  # also drops a duplicate or out-of-order event inside the batch
                    fresh.append(stamped)
                    last = stamped.event_id
            if not fresh:
                return BatchResult(applied=0, skipped=len(events), event_id=stored)
            writer = (CopyWriter if bulk else ExecutemanyWriter)(connection, controller_id)
            batch = Batch(connection, controller_id, self, writer, rebuilding)
            batch.run(fresh)
            cluster_json, cluster_inapplicable = _cluster_state(cluster_json, fresh)
            connection.execute(
                table.update()
                .where(table.c.controller_id == controller_id, table.c.event_id == stored)
                .values(
                    event_id=last,
                    event_count=count + len(fresh),
                    last_event_at=fresh[-1].timestamp_ms,
                    inapplicable_events=inapplicable_before + batch.inapplicable + cluster_inapplicable,
                    cluster_state=cluster_json,
                )
            )
        if rebuilding is not None:
            batch.carry(last)
        if batch.inapplicable:
            log.warning("%s: %d event(s) did not fit the read model", controller_id, batch.inapplicable)
        return BatchResult(
            applied=len(fresh), skipped=len(events) - len(fresh), event_id=last, inapplicable=batch.inapplicable
        )

    def workflow(self, connection: Connection, controller_id: str, workflow_id: WorkflowId) -> Workflow | None:
        key = (controller_id, workflow_id.path, workflow_id.version_id)
        if key not in self._workflows:
            table = schema.workflows
            text = connection.execute(
                sa.select(table.c.workflow_json).where(
                    table.c.controller_id == controller_id,
                    table.c.path == workflow_id.path,
                    table.c.version_id == workflow_id.version_id,
                )
            ).scalar()
            if text is None:
                return None
            self.remember_workflow(controller_id, loads(text))
        return self._workflows.get(key)

    def remember_workflow(self, controller_id: str, item: Value) -> None:
        parsed = parse_workflow(value_to_json(item), committed=True)
        if isinstance(parsed, Problem):
            log.warning("%s: a deployed workflow does not parse: %s", controller_id, parsed)
            return
        self._workflows[(controller_id, parsed.id.path, parsed.id.version_id)] = parsed


def _cluster_state(stored: str | None, events: Sequence[Stamped]) -> tuple[str | None, int]:
    """The Controller cluster's state after `events` (JS7's ClusterState JSON, None without a cluster),
    and how many cluster events did not apply."""
    cluster_events = [s.event for s in events if isinstance(s.event, ClusterEvent)]
    if not cluster_events:
        return stored, 0
    state: ClusterState = codec.decode(json.loads(stored), ClusterState) if stored else ClusterEmpty()
    inapplicable = 0
    for event in cluster_events:
        applied = apply_cluster(state, event)
        if isinstance(applied, Problem):
            inapplicable += 1
        else:
            state = applied
    return json.dumps(codec.encode(state), separators=(",", ":")), inapplicable
