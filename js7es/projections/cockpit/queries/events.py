"""/joc/api/events: the GUI's event snapshots, derived from what the projection committed after an EventId.

No second source of truth: the snapshots are read from the projected rows themselves —
`orders.last_event_id` (an order changed), `order_steps.step_event_id` (a task started),
`order_history`/`order_steps` `started_at`/`ended_at` (a run or task began or ended), `agents.updated_at`.
Times are compared with the EventId's milliseconds (a JS7 EventId is epoch ms * 1000 + n), with ``>=``:
a snapshot may come twice, never not at all. The Controller's `event_id` is read *first*, so that a
row committed while the query runs is at most reported again by the next call.

JOC's event types (api/documentation/event/event200.md): WorkflowStateChanged (objectType WORKFLOW,
the orders of a workflow changed), JobStateChanged (JOB: a task of the workflow started or ended),
HistoryOrderStarted/HistoryOrderTerminated (ORDERHISTORY), HistoryTaskStarted/HistoryTaskTerminated
(TASKHISTORY), AgentStateChanged (AGENT, with the Agent's name as path).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from js7es.projections.cockpit import schema
from js7es.projections.cockpit.queries.common import Db, Folders, WorkflowPaths, connected

C = schema.controllers
O = schema.orders  # noqa: E741
H = schema.order_history
S = schema.order_steps
AG = schema.agents
PATHS = {table.name: WorkflowPaths(table, table.c.workflow_path) for table in (O, H, S)}
OP, HP, SP = PATHS[O.name], PATHS[H.name], PATHS[S.name]


def stored_event_id(db: Db, controller_id: str) -> tuple[int, int | None]:
    """(the EventId the projection has committed for the Controller, the time of its last event); (0, None)
    before its first batch."""
    with connected(db) as c:
        row = c.execute(sa.select(C.c.event_id, C.c.last_event_at).where(C.c.controller_id == controller_id)).first()
    return (0, None) if row is None else (int(row.event_id), row.last_event_at)


def event_snapshots(
    db: Db, controller_id: str, after: int, *, folders: Folders | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """(the Controller's committed EventId, the snapshots of what changed after `after` inside `folders`).
    Nothing is read when the EventId has not moved past `after`."""
    since_ms = after // 1000
    with connected(db) as c:
        row = c.execute(sa.select(C.c.event_id).where(C.c.controller_id == controller_id)).first()
        event_id = 0 if row is None else int(row.event_id)
        if event_id <= after:
            return event_id, []
        inside = {name: paths.in_folders(c, folders, [controller_id]) for name, paths in PATHS.items()}
        workflows = _workflows(
            c,
            sa.select(OP.path, O.c.workflow_version)
            .select_from(OP.joined)
            .where(
                O.c.controller_id == controller_id,
                O.c.last_event_id > after,
                inside[O.name],
            ),
            sa.select(HP.path, H.c.workflow_version)
            .select_from(HP.joined)
            .where(H.c.controller_id == controller_id, H.c.ended_at >= since_ms, inside[H.name]),
        )
        jobs = _workflows(
            c,
            sa.select(SP.path, S.c.workflow_version)
            .select_from(SP.joined)
            .where(
                S.c.controller_id == controller_id,
                S.c.step_event_id > after,
                inside[S.name],
            ),
            sa.select(SP.path, S.c.workflow_version)
            .select_from(SP.joined)
            .where(S.c.controller_id == controller_id, S.c.ended_at >= since_ms, inside[S.name]),
        )
        history = {
            "HistoryOrderStarted": _exists(c, H, H.c.started_at >= since_ms, controller_id, folders, inside[H.name]),
            "HistoryOrderTerminated": _exists(c, H, H.c.ended_at >= since_ms, controller_id, folders, inside[H.name]),
            "HistoryTaskStarted": _exists(c, S, S.c.step_event_id > after, controller_id, folders, inside[S.name]),
            "HistoryTaskTerminated": _exists(c, S, S.c.ended_at >= since_ms, controller_id, folders, inside[S.name]),
        }
        agents = list(
            c.execute(
                sa.select(AG.c.agent_path)
                .where(AG.c.controller_id == controller_id, AG.c.updated_at >= since_ms)
                .order_by(AG.c.agent_path)
            ).scalars()
        )
    snapshots: list[dict[str, Any]] = []
    for event_type, object_type, found in (
        ("WorkflowStateChanged", "WORKFLOW", workflows),
        ("JobStateChanged", "JOB", jobs),
    ):
        for path, version in found:
            snapshots.append(
                {
                    "eventType": event_type,
                    "objectType": object_type,
                    "workflow": {"path": path, "versionId": version},
                    "eventId": event_id,
                }
            )
    for event_type, happened in history.items():
        if happened:
            object_type = "ORDERHISTORY" if event_type.startswith("HistoryOrder") else "TASKHISTORY"
            snapshots.append({"eventType": event_type, "objectType": object_type, "eventId": event_id})
    for agent in agents:
        snapshots.append({"eventType": "AgentStateChanged", "objectType": "AGENT", "path": agent, "eventId": event_id})
    return event_id, snapshots


def _workflows(c: sa.Connection, *queries: sa.Select[Any]) -> list[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for query in queries:
        found.update((r[0], r[1]) for r in c.execute(query.distinct()))
    return sorted(found)


def _exists(
    c: sa.Connection, table: sa.Table, changed: Any, controller_id: str, folders: Folders | None, inside: Any
) -> bool:
    query = (
        sa.select(sa.literal(1))
        .select_from(table if folders is None else PATHS[table.name].joined)
        .where(table.c.controller_id == controller_id, changed, inside)
        .limit(1)
    )
    return c.execute(query).first() is not None
