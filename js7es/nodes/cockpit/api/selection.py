"""Which objects a request means: the Controller's current workflows (name → JOC path) and the orders a
modifying call selects — read from the Cockpit's projection (the Cockpit's only source of Controller data).

A workflow's JOC path is its folder in the inventory plus its name, as `deployed_objects` has it (the path of
its deployment to that Controller); a workflow deployed without the Cockpit's inventory (e.g. by
`js7es ctl`) lives in the root folder "/".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from js7es.projections.cockpit import schema as t
from js7es.projections.cockpit.database import READ_ONLY
from js7es.projections.cockpit.queries.common import WorkflowPaths

_CURRENT = WorkflowPaths(t.workflows, t.workflows.c.path)
_ORDERS = WorkflowPaths(t.orders, t.orders.c.workflow_path)


@dataclass(frozen=True, slots=True)
class Denied:
    folder: str


def workflow_path(name: str, folders: dict[str, str] | None = None) -> str:
    """The JOC path of the workflow `name` given its folder (`folders`: name → folder; "/" when absent)."""
    folder = (folders or {}).get(name, "/")
    return f"{folder.rstrip('/')}/{name}"


def current_workflows(engine: Engine, controller_id: str) -> dict[str, str]:
    """name → JOC path of the workflows the Controller holds now. Read without SQLite's write lock: each
    /orders/add asks, and would wait for the projection's commit of the previous request's orders."""
    with engine.connect().execution_options(**{READ_ONLY: True}) as c:
        rows = c.execute(
            select(t.workflows.c.path, _CURRENT.label())
            .select_from(_CURRENT.joined)
            .where(
                t.workflows.c.controller_id == controller_id,
                t.workflows.c.is_current.is_(True),
                t.workflows.c.deleted_at.is_(None),
            )
        ).all()
    return {r.path: r.joc_path for r in rows}


def _in_folder(path: str, folder: str, recursive: bool) -> bool:
    parent = path.rsplit("/", 1)[0] or "/"
    if parent == folder.rstrip("/") or (folder == "/" and parent == "/"):
        return True
    return recursive and (folder == "/" or parent.startswith(folder.rstrip("/") + "/"))


def select_order_ids(
    engine: Engine,
    controller_id: str,
    *,
    order_ids: Sequence[str] | None,
    workflow_paths: Sequence[str],
    states: Sequence[str] | None,
    folders: Sequence[tuple[str, bool]],
    permitted: Callable[[str], bool],
    date_from: str | None = None,
    date_to: str | None = None,
    time_zone: str | None = None,
) -> list[str] | Denied:
    """The ids of the current orders the selectors name (all of them must match), in the account's folders.

    An order named in `order_ids` but outside the account's folders is Denied; others outside are left out.
    """
    from js7es.projections.cockpit.queries import orders as order_queries

    with engine.connect() as c:
        o = t.orders.c
        query = (
            select(o.order_id, o.state, o.is_suspended, o.scheduled_for, o.order_json, _ORDERS.label())
            .select_from(_ORDERS.joined)
            .where(o.controller_id == controller_id)
        )
        if order_ids:
            query = query.where(t.orders.c.order_id.in_(list(order_ids)))
        if workflow_paths:
            query = query.where(_ORDERS.is_any(list(workflow_paths)))
        rows = c.execute(query.order_by(t.orders.c.order_id)).all()
    wanted_states = set(states or ())
    out: list[str] = []
    for row in rows:
        path = row.joc_path
        if not permitted(path):
            if order_ids:
                return Denied(path.rsplit("/", 1)[0] or "/")
            continue
        if folders and not any(_in_folder(path, f, r) for f, r in folders):
            continue
        if wanted_states and order_queries.joc_state_of_row(row) not in wanted_states:
            continue
        if (date_from or date_to) and not order_queries.scheduled_within(row, date_from, date_to, time_zone):
            continue
        out.append(row.order_id)
    return out
