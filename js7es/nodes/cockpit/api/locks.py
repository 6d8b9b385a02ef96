"""Resource locks for the operator (joc-cockpit.md §1.4): ``/locks`` and ``/lock`` show each deployed lock
with its limit, how much of it is taken, the orders holding it and those waiting for it (in the order they
will get it), per workflow — from the Controller's state (controller_state.py), as JOC's LocksResourceImpl
reads its proxy's.

Shapes: js7-api-schemas lock/locksFilter, lockFilter, locks, lock, common/lockEntry, lockWorkflow,
lockOrder, workflowLock (type EXCLUSIVE | SHARED | UNKNOWN, count). Permission
``controller:locks:view``. An exclusive holder takes the whole limit (JS7's Exclusive); a shared one its
count. `compact` leaves the workflows out; `limit` caps the orders listed per workflow and list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict

from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.controller_state import ControllerView, controller_view, deployed_path, joc_fields
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import delivered, not_exist
from js7es.nodes.cockpit.api.models import ControllerId, Request, Response, String255
from js7es.nodes.cockpit.api.orders import Folder
from js7es.nodes.cockpit.api.selection import _in_folder
from js7es.nodes.cockpit.api.workflow_controls import name_of
from js7es.projections.cockpit.queries.states import order_state

VIEW = "sos:products:controller:locks:view"


class LocksFilter(Request):
    """lock/locksFilter-schema.json"""

    controllerId: ControllerId
    lockPaths: list[String255] | None = None
    folders: list[Folder] | None = None
    compact: bool = False
    limit: int = 10000


class LockFilter(Request):
    """lock/lockFilter-schema.json"""

    controllerId: ControllerId
    lockPath: String255
    compact: bool = False
    limit: int = 10000


class LockEntry(Request):
    """lock/common/lockEntry-schema.json"""

    model_config = ConfigDict(extra="allow")
    lock: dict[str, Any]
    acquiredLockCount: int
    ordersHoldingLocksCount: int
    ordersWaitingForLocksCount: int
    workflows: list[dict[str, Any]] | None = None


class LocksAnswer(Response):
    locks: list[LockEntry]


class LockAnswer(Response):
    lock: LockEntry


def _holders(acquired: Mapping[str, Any], limit: int) -> dict[str, tuple[str, int]]:
    """order id -> (JOC's lock type, count) of the holders."""
    match acquired.get("TYPE"):
        case "Exclusive":
            return {str(acquired["orderId"]): ("EXCLUSIVE", limit)}
        case "NonExclusive":
            return {str(o): ("SHARED", int(c)) for o, c in acquired.get("orderToCount", {}).items()}
    return {}


def _demand(view: ControllerView, order: Mapping[str, Any], lock: str) -> tuple[str, int | None]:
    """What a waiting order asks of `lock`: its Lock instruction's demand."""
    workflow_id = order.get("workflowId", {})
    workflow = view.workflow(str(workflow_id.get("path")), str(workflow_id.get("versionId")))
    instruction = workflow.instruction(tuple(order.get("position", ()))) if workflow is not None else None
    for demand in getattr(instruction, "demands", ()):
        if demand.lock_path == lock:
            return ("EXCLUSIVE", None) if demand.count is None else ("SHARED", demand.count)
    return ("UNKNOWN", None)


def _order(call: Call, view: ControllerView, controller_id: str, order_id: str) -> dict[str, Any]:
    """JOC's order_v, compact: id, workflow, position, state."""
    order = view.orders.get(order_id, {})
    workflow_id = order.get("workflowId", {})
    path = str(workflow_id.get("path", ""))
    state = order.get("state", {}).get("TYPE", "")
    return {
        "orderId": order_id,
        "workflowId": {
            "path": deployed_path(call, "WORKFLOW", path, controller_id),
            "versionId": workflow_id.get("versionId"),
        },
        "position": order.get("position"),
        "state": order_state(state, bool(order.get("isSuspended")), order.get("scheduledFor"), view.survey_ms),
    }


def lock_entry(
    call: Call, view: ControllerView, controller_id: str, name: str, *, compact: bool, limit: int
) -> dict[str, Any]:
    lock_state = view.locks[name]
    item = dict(lock_state["lock"])
    lock_limit = int(item.get("limit", 1))
    holders = _holders(lock_state.get("acquired", {}), lock_limit)
    queue = [str(o) for o in lock_state.get("queue", ())]
    entry: dict[str, Any] = {
        "lock": {
            **{k: v for k, v in item.items() if k not in ("TYPE", "itemRevision")},
            **joc_fields(call, "LOCK", name, controller_id),
            "limit": lock_limit,
            "state": {"severity": 6, "_text": "IN_SYNC"},
        },
        "acquiredLockCount": sum(c for _, c in holders.values()),
        "ordersHoldingLocksCount": len(holders),
        "ordersWaitingForLocksCount": len(queue),
    }
    if compact:
        return entry
    workflows: dict[tuple[str, str], dict[str, Any]] = {}

    def workflow_of(order_id: str) -> dict[str, Any]:
        wid = view.orders.get(order_id, {}).get("workflowId", {})
        key = (str(wid.get("path", "")), str(wid.get("versionId", "")))
        if key not in workflows:
            path = deployed_path(call, "WORKFLOW", key[0], controller_id)
            workflows[key] = {"path": path, "versionId": key[1], "ordersHoldingLocks": [], "ordersWaitingForLocks": []}
        return workflows[key]

    for order_id, (kind, count) in sorted(holders.items()):
        listed = workflow_of(order_id)["ordersHoldingLocks"]
        if limit < 0 or len(listed) < limit:
            lock = {"id": name, "type": kind, **({"count": count} if kind == "SHARED" else {})}
            listed.append({"lock": lock, "order": _order(call, view, controller_id, order_id)})
    for order_id in queue:
        listed = workflow_of(order_id)["ordersWaitingForLocks"]
        if limit < 0 or len(listed) < limit:
            kind, demanded = _demand(view, view.orders.get(order_id, {}), name)
            lock = {"id": name, "type": kind, **({"count": demanded} if demanded is not None else {})}
            listed.append({"lock": lock, "order": _order(call, view, controller_id, order_id)})
    entry["workflows"] = [workflows[k] for k in sorted(workflows)]
    return entry


@API.post(
    "/locks",
    summary="The deployed resource locks: limit, holders and waiting orders",
    request=LocksFilter,
    response=LocksAnswer,
    permission=VIEW,
    controller_scoped=True,
)
async def read_locks(call: Call, body: LocksFilter) -> Any:
    controller_id = call.controller_id(body)
    view = await controller_view(call, controller_id)
    names = list(dict.fromkeys(name_of(p) for p in body.lockPaths)) if body.lockPaths else sorted(view.locks)
    out = []
    for name in names:
        if name not in view.locks:
            continue  # JOC leaves out what the Controller lacks
        path = deployed_path(call, "LOCK", name, controller_id)
        if not call.folder_permitted(path, controller_id):
            continue
        if body.folders and not any(_in_folder(path, f.folder, f.recursive) for f in body.folders):
            continue
        out.append(lock_entry(call, view, controller_id, name, compact=body.compact, limit=body.limit))
    return delivered({"locks": out}, survey_ms=view.survey_ms)


@API.post(
    "/lock",
    summary="A deployed resource lock: limit, holders and waiting orders",
    request=LockFilter,
    response=LockAnswer,
    permission=VIEW,
    controller_scoped=True,
)
async def read_lock(call: Call, body: LockFilter) -> Any:
    controller_id = call.controller_id(body)
    view = await controller_view(call, controller_id)
    name = name_of(body.lockPath)
    if name not in view.locks:
        raise not_exist(f"Controller '{controller_id}' couldn't find the Lock '{name}'")
    call.require_folder(deployed_path(call, "LOCK", name, controller_id), controller_id)
    entry = lock_entry(call, view, controller_id, name, compact=body.compact, limit=body.limit)
    return delivered({"lock": entry}, survey_ms=view.survey_ms)
