"""/controllers and /controller (controller/masters-schema.json, controller/master-schema.json) from
the `controllers` table: what the projection knows of each Controller — its id, the last event and,
when projected, its cluster state. The URL, role, version and connection come from the Cockpit's
registration and the live connection, which the API layer adds (`registration`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from js7es.domain import codec
from js7es.domain.cluster import ClusterState
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.queries.common import Db, connected, joc_date

C = schema.controllers

# controller/clusterState-schema.json: 0=ClusterCoupled, 1=ClusterNodesAppointed, ClusterPassiveLost,
# ClusterSwitchedOver, ClusterFailOver, 2=ClusterPreparedToBeCoupled, ClusterEmpty, 3=ClusterUnknown
_CLUSTER_SEVERITY = {
    "Coupled": 0,
    "NodesAppointed": 1,
    "PassiveLost": 1,
    "SwitchedOver": 1,
    "FailedOver": 1,
    "PreparedToBeCoupled": 2,
    "Empty": 2,
}


def cluster_state(cluster_json: str | None) -> dict[str, Any]:
    """JOC's clusterState {severity, _text} from the projected cluster state (JSON with a TYPE)."""
    kind = "Unknown"
    if cluster_json:
        try:
            obj = json.loads(cluster_json)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("TYPE"), str):
            kind = obj["TYPE"]
    return {"severity": _CLUSTER_SEVERITY.get(kind, 3), "_text": "Cluster" + kind}


def active_node_id(cluster_json: str | None) -> str | None:
    """The cluster's active node ("Primary" or "Backup") in the projected cluster state; None without one."""
    try:
        obj = json.loads(cluster_json) if cluster_json else None
    except ValueError:
        return None
    setting = obj.get("setting") if isinstance(obj, dict) else None
    active = setting.get("activeId") if isinstance(setting, dict) else None
    return active if isinstance(active, str) else None


def controller_item(row: Any, registration: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """controller/master-schema.json; `registration` (id, url, role, title, …) overrides the defaults."""
    item: dict[str, Any] = {
        "id": 0,
        "controllerId": row.controller_id,
        "title": row.controller_id,
        "url": "",
        "role": "STANDALONE",
        "isCoupled": row.cluster_state is not None and cluster_state(row.cluster_state)["_text"] == "ClusterCoupled",
        "clusterState": cluster_state(row.cluster_state),
    }
    if row.last_event_at is not None:
        item["surveyDate"] = joc_date(row.last_event_at)
    item.update(registration or {})
    return item


def list_controllers(
    db: Db,
    controller_ids: Sequence[str] | None = None,
    *,
    registrations: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """POST /controllers (→ controller/masters-schema.json without deliveryDate)."""
    query = sa.select(C).order_by(C.c.controller_id)
    if controller_ids is not None:
        query = query.where(C.c.controller_id.in_(sorted(set(controller_ids))))
    with connected(db) as c:
        rows = c.execute(query).all()
    registrations = registrations or {}
    return {"controllers": [controller_item(r, registrations.get(r.controller_id)) for r in rows]}


def get_controller(
    db: Db, controller_id: str, *, registration: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """POST /controller (→ controller/jobscheduler200_v-schema.json's `controller`)."""
    with connected(db) as c:
        row = c.execute(sa.select(C).where(C.c.controller_id == controller_id)).first()
    return None if row is None else controller_item(row, registration)


def cluster_state_of(db: Db, controller_id: str) -> ClusterState | None:
    """The Controller cluster's state as last projected (None: no cluster event seen, or unreadable)."""
    with connected(db) as c:
        stored = c.execute(sa.select(C.c.cluster_state).where(C.c.controller_id == controller_id)).scalar()
    if not stored:
        return None
    try:
        state: ClusterState = codec.decode(json.loads(stored), ClusterState)
    except (ValueError, codec.CodecError):
        return None
    return state


def active_node_ids(db: Db, controller_ids: Sequence[str]) -> dict[str, str | None]:
    """Each Controller's active cluster node ("Primary"/"Backup") in the projected cluster state."""
    query = sa.select(C.c.controller_id, C.c.cluster_state).where(C.c.controller_id.in_(sorted(set(controller_ids))))
    with connected(db) as c:
        return {r.controller_id: active_node_id(r.cluster_state) for r in c.execute(query)}
