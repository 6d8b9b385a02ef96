"""Inventory (joc-cockpit.md §1.4, §3): /inventory/store, /inventory/read/configuration,
/inventory/read/folder, /inventory/remove — drafts in the Cockpit store (domain/cockpit/inventory.py).

Request and response shapes are JOC's (js7-api-schemas `inventory/configurationObject-schema.json`,
`inventory/read/request-filter-schema.json`, `inventory/common/request-folder-schema.json`,
`response-folder-schema.json`, `response-folderItem-schema.json`, `request-filters-schema.json`); JS7's
item JSON travels unchanged in `configuration`. Objects outside the account's folders are invisible
(left out of folder reads) and forbidden (JOC-419) when named.

Decisions: `id` (JOC's database id) is not given, objects are named by path and objectType; storing an
object under a name that exists at another path moves it there (JOC's rename).
"""

from __future__ import annotations

from typing import Any

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.folders import normalize_folder
from js7es.domain.cockpit.inventory import FOLDER_TYPE, OBJECT_TYPES, InventoryObject, name_of
from js7es.domain.problem import Problem
from js7es.domain.value import value_from_json, value_to_json
from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import JocError, bad_request, delivered, joc_date, not_exist, ok
from js7es.nodes.cockpit.api.models import (
    Audited,
    AuditParams,
    ControllerId,
    OkResponse,
    Request,
    Response,
    String255,
)

VIEW = "sos:products:joc:inventory:view"
MANAGE = "sos:products:joc:inventory:manage"
# response-folder-schema.json: the list of each type
FOLDER_LISTS = {
    "WORKFLOW": "workflows",
    "JOBTEMPLATE": "jobTemplates",
    "JOBCLASS": "jobClasses",
    "JOBRESOURCE": "jobResources",
    "LOCK": "locks",
    "NOTICEBOARD": "noticeBoards",
    "FILEORDERSOURCE": "fileOrderSources",
    "SCHEDULE": "schedules",
    "INCLUDESCRIPT": "includeScripts",
    "WORKINGDAYSCALENDAR": "calendars",
    "NONWORKINGDAYSCALENDAR": "calendars",
    "REPORT": "reports",
}


class ConfigurationObject(Audited):
    """inventory/configurationObject-schema.json (the request of /inventory/store)."""

    id: int | None = None
    path: String255 | None = None
    objectType: str | None = None
    name: String255 | None = None
    configuration: dict[str, Any] | None = None
    state: str | None = None
    valid: bool | None = None
    invalidMsg: str | None = None
    deleted: bool | None = None
    deployed: bool | None = None
    released: bool | None = None
    hasDeployments: bool | None = None
    hasReleases: bool | None = None
    configurationDate: str | None = None
    deliveryDate: str | None = None


class ReadFilter(Request):
    """inventory/read/request-filter-schema.json"""

    controllerId: ControllerId | None = None
    id: int | None = None
    path: String255 | None = None
    objectType: str | None = None
    commitId: String255 | None = None
    withPositions: bool | None = None
    auditLog: AuditParams | None = None


class FolderFilter(Request):
    """inventory/common/request-folder-schema.json"""

    controllerId: ControllerId | None = None
    path: String255
    recursive: bool = False
    objectTypes: list[str] | None = None
    onlyValidObjects: bool = False
    auditLog: AuditParams | None = None


class ObjectFilter(Request):
    """inventory/common/request-filter-schema.json"""

    controllerId: ControllerId | None = None
    id: int | None = None
    path: String255
    objectType: str


class ObjectFilters(Audited):
    """inventory/common/request-filters-schema.json"""

    objects: list[ObjectFilter]


class ConfigurationAnswer(Response):
    path: str
    objectType: str


class FolderAnswer(Response):
    path: str


def normal_path(path: str) -> str:
    normal = normalize_folder(path)
    if isinstance(normal, Problem):
        raise JocError("JOC-400", f"{normal.code}: {normal.message}")
    return normal


def object_type_of(text: str | None, *, folder: bool = False) -> str:
    if text in OBJECT_TYPES or (folder and text == FOLDER_TYPE):
        return str(text)
    raise bad_request(f"objectType: {text!r} is not an inventory object type")


def find(call: Call, path: str, object_type: str, *, include_deleted: bool = False) -> InventoryObject:
    """The object at `path` of `object_type`, in the account's folders (JOC-419), existing (JOC-002)."""
    path = normal_path(path)
    call.require_folder(path)
    obj = call.services.store.inventory().object(object_type, name_of(path))
    if obj is None or obj.path != path or (obj.deleted and not include_deleted):
        raise not_exist(f"No {object_type} at {path}")
    return obj


def sync_state(obj: InventoryObject) -> str:
    """JOC's itemStateEnum: whether the draft or a deployment is newer."""
    if not obj.deployments:
        return "DEPLOYMENT_NOT_EXIST"
    draft = value_to_json(obj.configuration)
    if any(value_to_json(v.configuration) == draft and v.path == obj.path for v in obj.deployments.values()):
        return "DRAFT_NOT_EXIST"
    return "DRAFT_IS_NEWER"


def deployments_json(obj: InventoryObject) -> list[dict[str, Any]]:
    """deploy/response-deployableVersion-schema.json, one per Controller."""
    return [
        {
            "commitId": version.commit_id,
            "deploymentPath": version.path,
            "deploymentOperation": "update",
            "versionDate": joc_date(version.at_ms),
            "versions": [{"controllerId": controller_id}],
        }
        for controller_id, version in sorted(obj.deployments.items())
    ]


def configuration_json(obj: InventoryObject, *, configuration: Any = None) -> dict[str, Any]:
    state = sync_state(obj)
    return {
        "path": obj.path,
        "name": obj.name,
        "objectType": obj.object_type,
        "configuration": value_to_json(obj.configuration) if configuration is None else configuration,
        "state": state,
        "valid": obj.valid,
        **({"invalidMsg": obj.invalid_msg} if obj.invalid_msg else {}),
        "deleted": obj.deleted,
        "deployed": state == "DRAFT_NOT_EXIST",
        "released": False,
        "hasDeployments": bool(obj.deployments),
        "hasReleases": False,
        "deployments": deployments_json(obj),
    }


@API.post(
    "/inventory/store",
    summary="Stores a draft (JS7's item JSON in `configuration`), or a folder",
    request=ConfigurationObject,
    response=ConfigurationAnswer,
    permission=MANAGE,
)
async def store(call: Call, body: ConfigurationObject) -> dict[str, Any]:
    if body.path is None:
        raise bad_request("path: required (objects are named by path and objectType)")
    object_type = object_type_of(body.objectType, folder=True)
    path = normal_path(body.path)
    meta = call.change_meta(body)
    if object_type == FOLDER_TYPE:
        if call.folders is not None and not call.folders.is_permitted(path):
            raise JocError("JOC-419", f"Access denied for folder: {path}")
        await call.services.execute(keys.folder(path), cmd.StoreFolder(), meta)
        return delivered({"path": path, "objectType": FOLDER_TYPE, "valid": True, "deleted": False})
    call.require_folder(path)
    if body.configuration is None:
        raise bad_request("configuration: required")
    name = name_of(path)
    await call.services.execute(
        keys.inventory(object_type, name),
        cmd.StoreInventoryObject(path=path, configuration=value_from_json(body.configuration)),  # type: ignore[arg-type]
        meta,
    )
    obj = call.services.store.inventory().object(object_type, name)
    assert obj is not None
    answer = configuration_json(obj)
    del answer["configuration"]  # JOC's store answer (store-response-example.json) has none
    return delivered(answer)


@API.post(
    "/inventory/read/configuration",
    summary="Reads an object: its draft, or the version of a commitId",
    request=ReadFilter,
    response=ConfigurationAnswer,
    permission=VIEW,
)
async def read_configuration(call: Call, body: ReadFilter) -> dict[str, Any]:
    if body.path is None:
        raise bad_request("path: required (objects are named by path and objectType)")
    obj = find(call, body.path, object_type_of(body.objectType), include_deleted=True)
    configuration = None
    if body.commitId:
        version = next((v for v in obj.deployments.values() if v.commit_id == body.commitId), None)
        if version is None:
            raise not_exist(f"No deployment {body.commitId} of {obj.path}")
        configuration = value_to_json(version.configuration)
    return delivered(configuration_json(obj, configuration=configuration))


@API.post(
    "/inventory/read/folder",
    summary="Lists a folder's objects by type",
    request=FolderFilter,
    response=FolderAnswer,
    permission=VIEW,
)
async def read_folder(call: Call, body: FolderFilter) -> dict[str, Any]:
    folder = normal_path(body.path)
    types = {object_type_of(t) for t in body.objectTypes} if body.objectTypes else set(FOLDER_LISTS)
    lists: dict[str, list[dict[str, Any]]] = {}
    for obj in sorted(call.services.store.inventory().objects.values(), key=lambda o: o.path):
        if obj.object_type not in types or obj.deleted or (body.onlyValidObjects and not obj.valid):
            continue
        inside = obj.folder == folder or (body.recursive and (folder == "/" or obj.folder.startswith(folder + "/")))
        if not inside or not call.folder_permitted(obj.path):
            continue
        state = sync_state(obj)
        lists.setdefault(FOLDER_LISTS[obj.object_type], []).append(
            {
                "name": obj.name,
                "path": obj.path,
                "objectType": obj.object_type,
                "valid": obj.valid,
                "deleted": obj.deleted,
                "deployed": state == "DRAFT_NOT_EXIST",
                "released": False,
                "hasDeployments": bool(obj.deployments),
                "hasReleases": False,
            }
        )
    return delivered({"path": folder, **lists})


@API.post(
    "/inventory/remove",
    summary="Moves objects to the trash (refused for objects deployed to a Controller: revoke them first)",
    request=ObjectFilters,
    response=OkResponse,
    permission=MANAGE,
)
async def remove(call: Call, body: ObjectFilters) -> Any:
    meta = call.change_meta(body)
    found = [
        find(call, o.path, object_type_of(o.objectType, folder=True))
        for o in body.objects
        if o.objectType != FOLDER_TYPE
    ]
    for obj in found:
        if obj.deployments:
            raise JocError(
                "JOC-400",
                f"ObjectIsDeployed: {obj.path} is deployed to {', '.join(sorted(obj.deployments))}: revoke it first",
            )
    for obj in found:
        await call.services.execute(keys.inventory(obj.object_type, obj.name), cmd.RemoveInventoryObject(), meta)
    for o in body.objects:
        if o.objectType == FOLDER_TYPE:
            path = normal_path(o.path)
            call.require_folder(path + "/x")
            await call.services.execute(keys.folder(path), cmd.RemoveFolder(), meta)
    return ok()
