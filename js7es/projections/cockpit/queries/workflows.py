"""/workflows, /workflow and /workflows/order_count from `workflows` (and `orders` for the counts).

A deployed workflow is IN_SYNC (SyncStateHelper.java: severity 6); `compact` leaves out the
instructions and jobs, as JOC's WorkflowsResourceImpl does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from js7es.domain.value import loads
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.queries.common import (
    Db,
    Folders,
    WorkflowPaths,
    connected,
    joc_date,
    text_clause,
)
from js7es.projections.cockpit.queries.orders import _SUMMARY_FIELDS
from js7es.projections.cockpit.queries.states import state_text_case

W = schema.workflows
C = schema.workflow_path_controls
O = schema.orders  # noqa: E741
WP = WorkflowPaths(W, W.c.path)
OP = WorkflowPaths(O, O.c.workflow_path)


def workflow_item(row: Any, *, compact: bool) -> dict[str, Any]:
    """controller/schemas/workflow/workflow-schema.json: the JS7 workflow with JOC's additions."""
    item = dict(loads(row.workflow_json))
    item.pop("TYPE", None)
    if compact:
        item.pop("instructions", None)
        item.pop("jobs", None)
    item["path"] = row.joc_path
    item["versionId"] = row.version_id
    item["isCurrentVersion"] = bool(row.is_current)
    item["versionDate"] = joc_date(row.deployed_at)
    suspended = bool(getattr(row, "suspended", False))
    # SyncStateHelper.java: IN_SYNC severity 6, SUSPENDED 11 (a WorkflowPathControl suspends the path)
    item["state"] = {"severity": 11, "_text": "SUSPENDED"} if suspended else {"severity": 6, "_text": "IN_SYNC"}
    item["suspended"] = suspended
    item["deployed"] = True
    item["valid"] = True
    return item


def _with_controls() -> Any:
    return WP.joined.outerjoin(C, sa.and_(C.c.controller_id == W.c.controller_id, C.c.path == W.c.path))


def list_workflows(
    db: Db,
    controller_id: str,
    *,
    workflow_ids: Sequence[tuple[str, str | None]] | None = None,
    folders: Folders | None = None,
    regex: str | None = None,
    agent_names: Sequence[str] | None = None,
    compact: bool = False,
) -> dict[str, Any]:
    """POST /workflows (workflow/workflowsFilter-schema.json → workflow/workflows-schema.json without
    deliveryDate): the current versions, or the asked ones, by path."""
    where: list[ColumnElement[bool]] = [W.c.controller_id == controller_id, W.c.deleted_at.is_(None)]
    if workflow_ids:
        alternatives = []
        for path, version in workflow_ids:
            clause = WP.is_any([path])
            alternatives.append(
                sa.and_(clause, W.c.version_id == version) if version else sa.and_(clause, W.c.is_current)
            )
        where.append(sa.or_(*alternatives))
    else:
        where.append(W.c.is_current)
    if regex:
        where.append(WP.path.regexp_match("(?i)" + regex.replace("%", ".*")))
    if agent_names:
        # the workflow's JSON names its Agents as "agentPath":"<name>"
        where.append(sa.or_(*(text_clause(W.c.workflow_json, "*" + f'"agentPath":"{a}"' + "*") for a in agent_names)))
    with connected(db) as c:
        where.append(WP.in_folders(c, folders, [controller_id]))
        query = sa.select(W, WP.label(), C.c.suspended).select_from(_with_controls()).where(*where)
        rows = c.execute(query.order_by(WP.path, W.c.deployed_at)).all()
    return {"workflows": [workflow_item(r, compact=compact) for r in rows]}


def get_workflow(
    db: Db,
    controller_id: str,
    path: str,
    version_id: str | None = None,
    *,
    folders: Folders | None = None,
    compact: bool = False,
) -> dict[str, Any] | None:
    """POST /workflow (workflow/workflowFilter-schema.json → workflow/workflow-schema.json's
    `workflow`): the version asked for, or the current one. None when unknown or outside `folders`."""
    where = [W.c.controller_id == controller_id, WP.is_any([path])]
    where.append(W.c.version_id == version_id if version_id else W.c.is_current)
    with connected(db) as c:
        where.append(WP.in_folders(c, folders, [controller_id]))
        query = sa.select(W, WP.label(), C.c.suspended).select_from(_with_controls()).where(*where)
        row = c.execute(query.order_by(W.c.deployed_at.desc()).limit(1)).first()
    return None if row is None else workflow_item(row, compact=compact)


def workflows_order_count(
    db: Db,
    controller_id: str,
    *,
    now_ms: int,
    workflow_ids: Sequence[tuple[str, str | None]] | None = None,
    folders: Folders | None = None,
) -> dict[str, Any]:
    """POST /workflows/order_count (→ workflow/workflowsOrderCount-schema.json without the dates):
    per workflow version the orders per JOC state (order/ordersSummary-schema.json), and the sum."""
    text = state_text_case(now_ms).label("text")
    where: list[ColumnElement[bool]] = [O.c.controller_id == controller_id]
    if workflow_ids:
        where.append(
            sa.or_(
                *(sa.and_(OP.is_any([p]), O.c.workflow_version == v) if v else OP.is_any([p]) for p, v in workflow_ids)
            )
        )
    path = OP.label()
    query = (
        sa.select(path, O.c.workflow_version, text, sa.func.count())
        .select_from(OP.joined)
        .where(*where)
        .group_by(path, O.c.workflow_version, text)
    )
    per: dict[tuple[str, str], dict[str, int]] = {}
    total = _empty_summary()
    with connected(db) as c:
        query = query.where(OP.in_folders(c, folders, [controller_id]))
        for path, version, state_text, count in c.execute(query):
            field = _SUMMARY_FIELDS.get(state_text)
            if field is None:
                continue
            per.setdefault((path, version), _empty_summary())[field] += int(count)
            total[field] += int(count)
    return {
        "workflows": [{"path": p, "versionId": v, "numOfOrders": counts} for (p, v), counts in sorted(per.items())],
        "numOfAllOrders": total,
    }


def _empty_summary() -> dict[str, int]:
    return dict.fromkeys(dict.fromkeys(_SUMMARY_FIELDS.values()), 0)
