"""Decisions on the inventory's aggregates (inventory.py): storing and removing drafts and folders, the
intent of a deployment and its outcome.

Decisions:
- an object's path must be normal (folders.normalize_folder) and end in the object's name; a name is
  unique per type (the key), so storing it at another path moves it (JOC's rename);
- a draft is validated when stored (`valid`, `invalidMsg`), invalid drafts are kept but not deployed;
- removing a deployed object is refused: revoke it first, so that the trash never hides what runs;
- a deployment takes the current drafts (valid, not in the trash) of its objects; its conclusion writes
  each object's deployed version (or its revocation) in the same append as the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.folders import normalize_folder
from js7es.domain.cockpit.inventory import (
    AGENT,
    DELETE,
    DEPLOYABLE_NOW,
    OBJECT_TYPES,
    RELEASABLE,
    UPDATE,
    Deployment,
    Folder,
    InventoryObject,
    name_of,
    validate,
)
from js7es.domain.problem import Problem, problem
from js7es.domain.value import value_to_json

if TYPE_CHECKING:
    from js7es.domain.cockpit.decide import CockpitContext, Decision


def _on(key: str, *events: ev.CockpitEvent) -> tuple[ev.KeyedCockpitEvent, ...]:
    return tuple(ev.KeyedCockpitEvent(key=key, event=e) for e in events)


def _store_object(key: str, name: str, state: Any, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.StoreInventoryObject = c
    object_type, _, object_name = name.partition(":")
    if object_type not in OBJECT_TYPES and object_type != AGENT:
        return problem("UnknownObjectType", f"unknown inventory object type {object_type!r}", key=key)
    path = normalize_folder(command.path)
    if isinstance(path, Problem):
        return path
    if path == "/" or name_of(path) != object_name:
        return problem("InvalidPath", f"the path {command.path!r} does not end in the name {object_name!r}", key=key)
    invalid = validate(object_type, command.configuration)
    stored = ev.InventoryObjectStored(
        path=path, configuration=command.configuration, valid=invalid is None, invalid_msg=invalid
    )
    if (
        isinstance(state, InventoryObject)
        and not state.deleted
        and (state.path, state.valid) == (path, invalid is None)
        and value_to_json(state.configuration) == value_to_json(command.configuration)
    ):
        return ()
    return _on(key, stored)


def _remove_object(key: str, name: str, state: Any, c: Any, ctx: CockpitContext) -> Decision:
    if not isinstance(state, InventoryObject) or state.deleted:
        return problem("UnknownInventoryObject", f"{key} does not exist", key=key)
    if state.deployments:
        controllers = ", ".join(sorted(state.deployments))
        return problem(
            "ObjectIsDeployed", f"{state.path} is deployed to {controllers}: revoke it first", key=key, path=state.path
        )
    recall = (ev.InventoryObjectRecalled(),) if state.released is not None else ()
    return _on(key, *recall, ev.InventoryObjectRemoved())


def _release_object(key: str, name: str, state: Any, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.ReleaseInventoryObject = c
    if not isinstance(state, InventoryObject) or state.deleted:
        return problem("UnknownInventoryObject", f"{key} does not exist", key=key)
    if state.object_type not in RELEASABLE:
        return problem("NotReleasable", f"{state.path} ({state.object_type}) is deployed, not released", key=key)
    if not state.valid:
        return problem("InvalidObject", f"{state.path} is not valid: {state.invalid_msg}", key=key, path=state.path)
    released = state.released
    if (
        released is not None
        and released.path == state.path
        and value_to_json(released.configuration) == value_to_json(state.configuration)
    ):
        return ()
    return _on(key, ev.InventoryObjectReleased(path=state.path, configuration=state.configuration, at_ms=command.at_ms))


def _recall_object(key: str, name: str, state: Any, c: Any, ctx: CockpitContext) -> Decision:
    if not isinstance(state, InventoryObject) or state.released is None:
        return problem("NotReleased", f"{key} is not released", key=key)
    return _on(key, ev.InventoryObjectRecalled())


def _store_folder(key: str, name: str, state: Any, c: Any, ctx: CockpitContext) -> Decision:
    path = normalize_folder(name)
    if isinstance(path, Problem):
        return path
    if isinstance(state, Folder) or path == "/":
        return ()
    return _on(key, ev.FolderAdded())


def _remove_folder(key: str, name: str, state: Any, c: Any, ctx: CockpitContext) -> Decision:
    prefix = name.rstrip("/") + "/"
    inside = [o for o in ctx.inventory.objects.values() if not o.deleted and o.path.startswith(prefix)]
    if inside:
        return problem("FolderNotEmpty", f"the folder {name} holds {inside[0].path}", key=key)
    nested = [f for f in ctx.inventory.folders if f.startswith(prefix)]
    events = [ev.KeyedCockpitEvent(key=keys.folder(f), event=ev.FolderRemoved()) for f in sorted(nested)]
    if isinstance(state, Folder):
        events.append(ev.KeyedCockpitEvent(key=key, event=ev.FolderRemoved()))
    return tuple(events)


def _request_deployment(key: str, name: str, state: Any, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.RequestDeployment = c
    if state is not None:
        return problem("DuplicateCommitId", f"{key} has been requested already", key=key)
    if command.operation not in (UPDATE, DELETE):
        return problem("InvalidOperation", f"unknown deployment operation {command.operation!r}", key=key)
    if not command.objects:
        return problem("NothingToDeploy", "a deployment needs objects", key=key)
    objects = []
    for item in command.objects:
        obj = ctx.inventory.object(item.object_type, item.name)
        what = f"{item.object_type} {item.name}"
        if obj is None or (obj.deleted and command.operation == UPDATE):
            return problem("UnknownInventoryObject", f"no {what} in the inventory", key=key, object=what)
        if obj.object_type not in DEPLOYABLE_NOW:
            return problem("NotDeployable", f"{obj.path}: js7es cannot deploy {obj.object_type} yet", key=key)
        if command.operation == UPDATE:
            if not obj.valid:
                return problem("InvalidObject", f"{obj.path} is not valid: {obj.invalid_msg}", key=key, path=obj.path)
            configuration = obj.configuration
        else:
            if command.controller_id not in obj.deployments:
                return problem("NotDeployed", f"{obj.path} is not deployed to {command.controller_id}", key=key)
            configuration = None
        objects.append(
            ev.DeploymentObject(object_type=obj.object_type, name=obj.name, path=obj.path, configuration=configuration)
        )
    if len({(o.object_type, o.name) for o in objects}) != len(objects):
        return problem("DuplicateObject", "an object is named twice in one deployment", key=key)
    return _on(
        key,
        ev.DeploymentRequested(
            controller_id=command.controller_id,
            operation=command.operation,
            account=command.account,
            objects=tuple(objects),
        ),
    )


def _conclude_deployment(key: str, name: str, state: Any, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.ConcludeDeployment = c
    if not isinstance(state, Deployment):
        return problem("UnknownDeployment", f"{key} does not exist", key=key)
    if state.outcome is not None:
        return problem("DeploymentConcluded", f"{key} has its outcome already: {state.outcome}", key=key)
    if not command.succeeded:
        return _on(key, ev.DeploymentFailed(problem=command.problem or {}))
    events: list[ev.KeyedCockpitEvent] = [ev.KeyedCockpitEvent(key=key, event=ev.DeploymentSucceeded())]
    for obj in state.objects:
        object_key = keys.inventory(obj.object_type, obj.name)
        current = ctx.inventory.object(obj.object_type, obj.name)
        change: ev.CockpitEvent
        if state.operation == DELETE:
            if current is None or state.controller_id not in current.deployments:
                continue
            change = ev.InventoryObjectRevoked(controller_id=state.controller_id, commit_id=name)
        else:
            if current is None:
                continue
            assert obj.configuration is not None
            change = ev.InventoryObjectDeployed(
                controller_id=state.controller_id,
                commit_id=name,
                path=obj.path,
                configuration=obj.configuration,
                at_ms=command.at_ms,
                account=state.account,
            )
        events.append(ev.KeyedCockpitEvent(key=object_key, event=change))
    return tuple(events)


_Decider = Callable[[str, str, Any, Any, "CockpitContext"], "Decision"]
INVENTORY_DECIDERS: dict[type[cmd.CockpitCommand], _Decider] = {
    cmd.StoreInventoryObject: _store_object,
    cmd.RemoveInventoryObject: _remove_object,
    cmd.ReleaseInventoryObject: _release_object,
    cmd.RecallInventoryObject: _recall_object,
    cmd.StoreFolder: _store_folder,
    cmd.RemoveFolder: _remove_folder,
    cmd.RequestDeployment: _request_deployment,
    cmd.ConcludeDeployment: _conclude_deployment,
}
INVENTORY_KINDS: dict[type[cmd.CockpitCommand], str] = {
    cmd.StoreInventoryObject: keys.INVENTORY,
    cmd.RemoveInventoryObject: keys.INVENTORY,
    cmd.ReleaseInventoryObject: keys.INVENTORY,
    cmd.RecallInventoryObject: keys.INVENTORY,
    cmd.StoreFolder: keys.FOLDER,
    cmd.RemoveFolder: keys.FOLDER,
    cmd.RequestDeployment: keys.DEPLOYMENT,
    cmd.ConcludeDeployment: keys.DEPLOYMENT,
}
