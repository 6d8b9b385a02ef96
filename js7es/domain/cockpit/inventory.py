"""The Cockpit's inventory: objects (drafts and what is deployed where), deployments, folders.

An object is keyed by its JOC ConfigurationType and its name (JS7 names are unique per type, whatever
the folder): ``inventory:WORKFLOW:my``. It holds its path (folder + name), the draft (JS7's item JSON
unchanged), whether the draft is valid, whether it is in the trash, and per Controller the version
deployed there (commitId, JSON, date, account). A deployment (``deployment:<commitId>``) is the intent
of one deploy or revoke at one Controller, then its outcome; the commitId is the JS7 versionId of the
item operations, so that a Cockpit that stopped in between can ask the Controller whether it arrived.

Facts from JOC (sos-components `ConfigurationType`, `JocInventory`, `ControllerObjectFileExtension`,
`ConfigurationObjectFileExtension`): the types and their archive file extensions. js7es deploys
WORKFLOW, JOBRESOURCE, NOTICEBOARD (JOC's boardType GLOBAL or PLANNABLE: a GlobalBoard or a PlannableBoard),
LOCK (a Lock) and FILEORDERSOURCE (a FileWatch; both mapped in controller_items.py)
(and Agents, type AGENT here: JOC keeps them apart, in INV_AGENT_INSTANCES);
the other types are kept as drafts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from js7es.domain.calendar.model import CalendarType
from js7es.domain.calendar.parse import parse_calendar
from js7es.domain.calendar.schedule import parse_schedule
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit.controller_items import InvalidDraft, file_watch_item, lock_item
from js7es.domain.cockpit.iam import frozen_map, with_entry
from js7es.domain.items import parse_simple_item
from js7es.domain.problem import Problem
from js7es.domain.value import NamedValues, value_to_json
from js7es.domain.workflow.parse import parse_workflow

FOLDER_TYPE: Final = "FOLDER"
AGENT: Final = "AGENT"  # a standalone Agent (AgentRef + its director SubagentItem), not a JOC type
DEPLOYABLE_NOW: Final = frozenset({"WORKFLOW", "JOBRESOURCE", AGENT, "NOTICEBOARD", "LOCK", "FILEORDERSOURCE"})
# ConfigurationType -> the file extension in JOC's export archives.
EXTENSIONS: Final[Mapping[str, str]] = {
    "WORKFLOW": ".workflow.json",
    "JOBRESOURCE": ".jobresource.json",
    "LOCK": ".lock.json",
    "NOTICEBOARD": ".noticeboard.json",
    "JOBCLASS": ".jobclass.json",
    "FILEORDERSOURCE": ".fileordersource.json",
    "SCHEDULE": ".schedule.json",
    "WORKINGDAYSCALENDAR": ".calendar.json",
    "NONWORKINGDAYSCALENDAR": ".calendar.json",
    "INCLUDESCRIPT": ".script.json",
    "JOBTEMPLATE": ".jobtemplate.json",
    "REPORT": ".report.json",
}
OBJECT_TYPES: Final = frozenset(EXTENSIONS)
# Objects that stay in the Cockpit: released (JOC's /inventory/release), not deployed.
RELEASABLE: Final = frozenset(
    {"SCHEDULE", "WORKINGDAYSCALENDAR", "NONWORKINGDAYSCALENDAR", "INCLUDESCRIPT", "JOBTEMPLATE", "REPORT"}
)
CALENDAR_TYPES: Final = frozenset({"WORKINGDAYSCALENDAR", "NONWORKINGDAYSCALENDAR"})
# The item key's prefix at the Controller (JS7's ItemPath companions: a FileWatch's is OrderWatch).
JS7_TYPES: Final[Mapping[str, str]] = {
    "WORKFLOW": "Workflow",
    "JOBRESOURCE": "JobResource",
    "NOTICEBOARD": "Board",
    "LOCK": "Lock",
    "FILEORDERSOURCE": "OrderWatch",
}
ITEM_MAPPINGS: Final = {"LOCK": lock_item, "FILEORDERSOURCE": file_watch_item}
UPDATE: Final = "UPDATE"
DELETE: Final = "DELETE"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployedVersion:
    commit_id: str
    path: str
    configuration: NamedValues
    at_ms: int
    account: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleasedVersion:
    path: str
    configuration: NamedValues
    at_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryObject:
    object_type: str
    name: str
    path: str
    configuration: NamedValues
    valid: bool
    invalid_msg: str | None = None
    deleted: bool = False
    deployments: Mapping[str, DeployedVersion] = field(default_factory=frozen_map)  # per controllerId
    released: ReleasedVersion | None = None  # RELEASABLE types: the version the daily plan uses

    @property
    def folder(self) -> str:
        return self.path.rsplit("/", 1)[0] or "/"


@dataclass(frozen=True, slots=True, kw_only=True)
class Deployment:
    commit_id: str
    controller_id: str
    operation: str
    account: str
    objects: tuple[ev.DeploymentObject, ...]
    outcome: str | None = None  # None while pending, "Succeeded" | "Failed"
    problem: NamedValues | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Folder:
    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryState:
    """Every inventory object, deployment and stored folder, kept whole in memory by the store (as the
    IAM state); `versions` as IamState's, for appends to aggregates a decision did not load."""

    objects: Mapping[str, InventoryObject] = field(default_factory=frozen_map)  # "<TYPE>:<name>"
    deployments: Mapping[str, Deployment] = field(default_factory=frozen_map)
    folders: Mapping[str, Folder] = field(default_factory=frozen_map)
    versions: Mapping[str, int] = field(default_factory=frozen_map)

    def object(self, object_type: str, name: str) -> InventoryObject | None:
        return self.objects.get(f"{object_type}:{name}")

    def pending_deployments(self) -> tuple[Deployment, ...]:
        return tuple(d for _, d in sorted(self.deployments.items()) if d.outcome is None)


EMPTY_INVENTORY = InventoryState()


def name_of(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def validate(object_type: str, configuration: Mapping[str, Any]) -> str | None:
    """Why the draft cannot be deployed (JOC's invalidMsg), or None. Workflows go through js7es's own
    workflow decoder, so that what is valid here is what the Controller accepts."""
    if object_type == "WORKFLOW":
        workflow = parse_workflow(value_to_json(configuration), path="draft", version_id="draft")
        return workflow.message if isinstance(workflow, Problem) else None
    if object_type == "SCHEDULE":
        schedule = parse_schedule(value_to_json(configuration))
        return schedule.message if isinstance(schedule, Problem) else None
    if object_type in CALENDAR_TYPES:
        kind = CalendarType(object_type)  # its values are the inventory types
        calendar = parse_calendar(value_to_json(configuration), type=kind)
        return calendar.message if isinstance(calendar, Problem) else None
    if object_type == "NOTICEBOARD":
        board = parse_simple_item({**board_item(configuration), "path": "draft"})
        return board.message if isinstance(board, Problem) else None
    if object_type in ITEM_MAPPINGS:
        try:
            ITEM_MAPPINGS[object_type]("draft", configuration)
        except InvalidDraft as e:
            return str(e)
    if object_type == "JOBRESOURCE":
        for name in ("variables", "env"):
            value = configuration.get(name)
            if value is not None and not isinstance(value, Mapping):
                return f"JobResource: {name} must be an object"
    return None


def controller_items(obj: InventoryObject | ev.DeploymentObject) -> list[dict[str, Any]]:
    """The JS7 items an object is at the Controller (the draft's JSON with its TYPE and path)."""
    assert obj.configuration is not None
    config = value_to_json(obj.configuration)
    if obj.object_type == AGENT:
        return [
            {"TYPE": "AgentRef", "path": obj.name, "directors": [obj.name]},
            {
                "TYPE": "SubagentItem",
                "id": obj.name,
                "agentPath": obj.name,
                "uri": config["url"],
                **({"disabled": True} if config.get("disabled") else {}),
            },
        ]
    item = {k: v for k, v in config.items() if k not in ("TYPE", "path", "versionId", "version")}
    if obj.object_type == "WORKFLOW":
        return [{"path": obj.name, **item}]
    if obj.object_type == "NOTICEBOARD":
        return [{**board_item(item), "path": obj.name}]
    if obj.object_type in ITEM_MAPPINGS:
        return [ITEM_MAPPINGS[obj.object_type](obj.name, config)]
    return [{"TYPE": JS7_TYPES[obj.object_type], "path": obj.name, **item}]


def board_item(configuration: Mapping[str, Any]) -> dict[str, Any]:
    """JOC's notice board draft (boardType GLOBAL | PLANNABLE) as the Controller's board item."""
    config = {k: v for k, v in value_to_json(configuration).items() if k not in ("TYPE", "boardType")}
    plannable = configuration.get("boardType") == "PLANNABLE" or configuration.get("TYPE") == "PlannableBoard"
    return {"TYPE": "PlannableBoard" if plannable else "GlobalBoard", **config}


def delete_operations(obj: ev.DeploymentObject) -> list[dict[str, Any]]:
    if obj.object_type == "WORKFLOW":
        return [{"TYPE": "RemoveVersioned", "path": obj.name}]
    if obj.object_type == AGENT:
        return [
            {"TYPE": "DeleteSimple", "path": f"SubagentItem:{obj.name}"},
            {"TYPE": "DeleteSimple", "path": f"AgentRef:{obj.name}"},
        ]
    return [{"TYPE": "DeleteSimple", "path": f"{JS7_TYPES[obj.object_type]}:{obj.name}"}]


def item_operations(deployment: Deployment) -> list[dict[str, Any]]:
    """The Controller's item operations of a deployment: AddVersion(commitId) always (so that the
    Controller's state records that this deployment arrived), then the items, all or nothing."""
    operations: list[dict[str, Any]] = [{"TYPE": "AddVersion", "versionId": deployment.commit_id}]
    for obj in deployment.objects:
        if deployment.operation == DELETE:
            operations += delete_operations(obj)
        else:
            operations += [{"TYPE": "AddOrChangeSimple", "item": item} for item in controller_items(obj)]
    return operations


# --- transitions ------------------------------------------------------------------------------------


def apply_object(obj: InventoryObject | None, key: str, type_and_name: str, event: ev.CockpitEvent) -> Any:
    object_type, _, name = type_and_name.partition(":")
    match event:
        case ev.InventoryObjectStored():
            if obj is None:
                return InventoryObject(
                    object_type=object_type,
                    name=name,
                    path=event.path,
                    configuration=event.configuration,
                    valid=event.valid,
                    invalid_msg=event.invalid_msg,
                )
            return replace(
                obj,
                path=event.path,
                configuration=event.configuration,
                valid=event.valid,
                invalid_msg=event.invalid_msg,
                deleted=False,
            )
        case ev.InventoryObjectRemoved() if obj is not None and not obj.deleted:
            return replace(obj, deleted=True)
        case ev.InventoryObjectDeployed() if obj is not None:
            version = DeployedVersion(
                commit_id=event.commit_id,
                path=event.path,
                configuration=event.configuration,
                at_ms=event.at_ms,
                account=event.account,
            )
            return replace(obj, deployments=with_entry(obj.deployments, event.controller_id, version))
        case ev.InventoryObjectRevoked() if obj is not None and event.controller_id in obj.deployments:
            return replace(obj, deployments=with_entry(obj.deployments, event.controller_id, None))
        case ev.InventoryObjectReleased() if obj is not None and not obj.deleted:
            released = ReleasedVersion(path=event.path, configuration=event.configuration, at_ms=event.at_ms)
            return replace(obj, released=released)
        case ev.InventoryObjectRecalled() if obj is not None and obj.released is not None:
            return replace(obj, released=None)
    return ev.inapplicable(key, event, obj)


def apply_deployment(deployment: Deployment | None, key: str, commit_id: str, event: ev.CockpitEvent) -> Any:
    match event:
        case ev.DeploymentRequested() if deployment is None:
            return Deployment(
                commit_id=commit_id,
                controller_id=event.controller_id,
                operation=event.operation,
                account=event.account,
                objects=event.objects,
            )
        case ev.DeploymentSucceeded() if deployment is not None and deployment.outcome is None:
            return replace(deployment, outcome="Succeeded")
        case ev.DeploymentFailed() if deployment is not None and deployment.outcome is None:
            return replace(deployment, outcome="Failed", problem=event.problem)
    return ev.inapplicable(key, event, deployment)


def apply_folder(folder: Folder | None, key: str, path: str, event: ev.CockpitEvent) -> Any:
    match event:
        case ev.FolderAdded() if folder is None:
            return Folder(path=path)
        case ev.FolderRemoved() if folder is not None:
            return None
    return ev.inapplicable(key, event, folder)


def apply_inventory(
    inventory: InventoryState, kind: str, name: str, key: str, state: Any, version: int
) -> InventoryState:
    """`inventory` with the new `state` of aggregate `key` (None: gone) at `version`."""
    match kind:
        case "inventory":
            inventory = replace(inventory, objects=with_entry(inventory.objects, name, state))
        case "deployment":
            inventory = replace(inventory, deployments=with_entry(inventory.deployments, name, state))
        case "folder":
            inventory = replace(inventory, folders=with_entry(inventory.folders, name, state))
    return replace(inventory, versions=with_entry(inventory.versions, key, version))
