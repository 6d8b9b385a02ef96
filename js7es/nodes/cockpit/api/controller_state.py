"""The Controller's state as the operator calls read it (locks, notice boards, workflow controls): its
snapshot (``GET /controller/api/snapshot``), read at the call — where JOC reads its proxy's copy of the
Controller's state (`Proxy.of(controllerId).currentState()`), not its database.

Decision: the projection has no tables for locks, boards and notices; the snapshot is the Controller's
committed state, whole, so that a read view and the check before a command see the same moment. It costs
one state transfer per call: fine for an operator's clicks, not for polling at a high rate.

The objects of the answer are read as JS7's snapshot writes them (`ControllerState.snapshot_objects`):
``LockState``, ``SimpleItem`` (boards, workflow path controls), ``Notice``, ``NoticePlace``,
``WorkflowItem``, ``WorkflowControl``, ``Order``, ``ControllerMetaState``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from js7es.domain.board.item import BOARD_TYPES
from js7es.domain.cockpit.inventory import DeployedVersion
from js7es.domain.problem import Problem
from js7es.domain.workflow.parse import parse_workflow
from js7es.domain.workflow.workflow import Workflow
from js7es.nodes.client.errors import ClientError
from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.joc import controller_refused, controller_unavailable, joc_date, now_ms

NoticeIdJson = tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerView:
    survey_ms: int
    locks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # path -> LockState
    boards: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # path -> GlobalBoard | PlannableBoard
    notices: Mapping[NoticeIdJson, Mapping[str, Any]] = field(default_factory=dict)  # posted: id -> Notice
    places: Mapping[NoticeIdJson, Mapping[str, Any]] = field(default_factory=dict)  # announced / in consumption
    orders: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    workflows: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)  # (path, version) -> item
    current_versions: Mapping[str, str] = field(default_factory=dict)  # path -> versionId
    path_controls: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # WorkflowPathControl by path

    def workflow(self, path: str, version_id: str | None = None) -> Workflow | None:
        """A workflow version (the current one when `version_id` is None), parsed."""
        version = version_id or self.current_versions.get(path)
        raw = self.workflows.get((path, version or ""))
        if raw is None:
            return None
        parsed = parse_workflow(dict(raw), path=path, version_id=version, committed=True)
        return None if isinstance(parsed, Problem) else parsed

    def versions_of(self, path: str) -> list[str]:
        return sorted(v for p, v in self.workflows if p == path)

    def is_suspended(self, path: str) -> bool:
        return bool(self.path_controls.get(path, {}).get("suspended"))

    def skipped(self, path: str) -> set[str]:
        return set(self.path_controls.get(path, {}).get("skip", ()))

    def expecting(self) -> Iterator[tuple[NoticeIdJson, str]]:
        """(noticeId, orderId) of every order waiting in ExpectingNotices for a notice not posted."""
        for order_id, order in sorted(self.orders.items()):
            state = order.get("state", {})
            if state.get("TYPE") == "ExpectingNotices":
                for notice_id in state.get("noticeIds", ()):
                    if tuple(notice_id) not in self.notices:
                        yield tuple(notice_id), order_id


def view_of(lines: list[Any], survey_ms: int) -> ControllerView:
    locks: dict[str, Mapping[str, Any]] = {}
    boards: dict[str, Mapping[str, Any]] = {}
    notices: dict[NoticeIdJson, Mapping[str, Any]] = {}
    places: dict[NoticeIdJson, Mapping[str, Any]] = {}
    orders: dict[str, Mapping[str, Any]] = {}
    workflows: dict[tuple[str, str], Mapping[str, Any]] = {}
    controls: dict[str, Mapping[str, Any]] = {}
    current: dict[str, str] = {}
    for line in lines:
        if not isinstance(line, Mapping):
            continue
        match line.get("TYPE"):
            case "LockState":
                locks[str(line["lock"]["path"])] = line
            case "SimpleItem":
                item = line.get("item", {})
                if item.get("TYPE") in BOARD_TYPES:
                    boards[str(item["path"])] = item
                elif item.get("TYPE") == "WorkflowPathControl":
                    controls[str(item["path"])] = item
            case "Notice":
                notices[tuple(line["id"])] = line
            case "NoticePlace":
                places[tuple(line["noticeId"])] = line
            case "Order":
                orders[str(line["id"])] = line
            case "WorkflowItem":
                item = line.get("item", {})
                workflows[(str(item.get("path")), str(item.get("versionId")))] = item
            case "ControllerMetaState":
                current = dict(line.get("currentVersions", {}))
    return ControllerView(
        survey_ms=survey_ms,
        locks=locks,
        boards=boards,
        notices=notices,
        places=places,
        orders=orders,
        workflows=workflows,
        current_versions=current,
        path_controls=controls,
    )


async def controller_view(call: Call, controller_id: str) -> ControllerView:
    """The Controller's state now (JOC-503 when it does not answer, JOC-420 with its problem)."""

    def read() -> list[Any]:
        lines: list[Any] = call.services.controllers.client(controller_id).get_ndjson("/snapshot")
        return lines

    try:
        lines = await call.in_thread(read)
    except ClientError as e:
        if e.problem is not None:
            raise controller_refused(e.problem.code, e.problem.message) from None
        raise controller_unavailable(controller_id, str(e)) from None
    return view_of(lines, now_ms())


def deployed_version(call: Call, object_type: str, name: str, controller_id: str) -> DeployedVersion | None:
    """What the Cockpit's inventory deployed of an item to that Controller (None: deployed otherwise)."""
    obj = call.services.store.inventory().object(object_type, name)
    return None if obj is None else obj.deployments.get(controller_id)


def deployed_path(call: Call, object_type: str, name: str, controller_id: str) -> str:
    """An item's JOC path: its folder in the inventory (as deployed to that Controller), else "/"."""
    version = deployed_version(call, object_type, name, controller_id)
    return "/" + name if version is None else version.path


def joc_fields(call: Call, object_type: str, name: str, controller_id: str) -> dict[str, Any]:
    """JOC's fields of a deployed item's view: path, versionDate and the title the Controller lacks."""
    version = deployed_version(call, object_type, name, controller_id)
    if version is None:
        return {"path": "/" + name}
    title = version.configuration.get("title")
    return {
        "path": version.path,
        "versionDate": joc_date(version.at_ms),
        **({"title": title} if isinstance(title, str) and title else {}),
    }
