"""Deployment (joc-cockpit.md §3): /inventory/deployment/deploy and /inventory/deployment/revoke, and
the reconciliation of deployments a stopped Cockpit left without outcome.

A deployment to one Controller goes: DeploymentRequested in the store (its commitId is the JS7
versionId of the item operations) → the audited Controller command (`services.controller_command`:
audit entry before, outcome after) → POST /controller/api/item (AddVersion + items, which the
Controller applies all or nothing, references to Agents and job resources checked there as a whole) →
DeploymentSucceeded with each object's deployed version, or DeploymentFailed with the Controller's
problem. A Cockpit that stops in between finds the deployment pending at its next start and asks the
Controller's state whether the version arrived (`reconcile`).

Request shapes: js7-api-schemas `publish/deploy-schema.json` (example `publish/deploy-example.json`,
whose JOC 2.0 keys `draftConfiguration`/`deployConfiguration` and `controllerIds` as objects are
accepted too) and `publish/revoke-schema.json`. One deploy call makes one deployment per Controller (and
a second one for its `delete` part): each is all or nothing at its Controller.

Test only: the environment variable JS7ES_TEST_CRASH_AT (`deploy-before-send`, `deploy-sent`) kills the
Cockpit process with SIGKILL at that point of the deploy path, for the crash tests.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from pydantic import model_validator

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.events import ChangeMeta
from js7es.domain.cockpit.inventory import DELETE, DEPLOYABLE_NOW, FOLDER_TYPE, UPDATE, Deployment, item_operations
from js7es.nodes.cockpit.api.call import Call, ChangeMetaArgs
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.inventory import find, normal_path
from js7es.nodes.cockpit.api.joc import JocError, bad_request, now_ms, ok
from js7es.nodes.cockpit.api.models import Audited, OkResponse, Request, String255
from js7es.nodes.cockpit.api.services import CockpitServices, to_change_meta
from js7es.nodes.crash import crash_point

log = logging.getLogger(__name__)
DEPLOY = "sos:products:joc:inventory:deploy"
CONTROLLER_DEPLOY = "sos:products:controller:deployment:deploy"
CATEGORY = "DEPLOYMENT"
UNKNOWN_OUTCOME = {"code": "UnknownOutcome", "message": "unknown outcome: not at the Controller"}


class Configuration(Request):
    """publish/configurationDeployables-schema.json"""

    path: String255
    objectType: str
    commitId: String255 | None = None
    recursive: bool = False


class Config(Request):
    """publish/configDeployables-schema.json; JOC 2.0's key names accepted."""

    configuration: Configuration | None = None
    draftConfiguration: Configuration | None = None
    deployConfiguration: Configuration | None = None

    @model_validator(mode="after")
    def one_configuration(self) -> Config:
        given = [c for c in (self.configuration, self.draftConfiguration, self.deployConfiguration) if c]
        if len(given) != 1:
            raise ValueError("give exactly one of configuration, draftConfiguration, deployConfiguration")
        return self

    @property
    def the(self) -> Configuration:
        found = self.configuration or self.draftConfiguration or self.deployConfiguration
        assert found is not None
        return found


class Deployables(Request):
    """publish/deployablesValidFilter-schema.json"""

    draftConfigurations: list[Config] = []
    deployConfigurations: list[Config] = []


class DeployDelete(Request):
    """publish/deployDelete-schema.json"""

    deployConfigurations: list[Config]


class ControllerIdObject(Request):
    controllerId: String255


class DeployFilter(Audited):
    """publish/deploy-schema.json"""

    controllerIds: list[String255 | ControllerIdObject]
    store: Deployables | None = None
    delete: DeployDelete | None = None
    addOrdersDateFrom: String255 | None = None
    transactionId: String255 | None = None
    includeLate: bool = False


class RevokeFilter(Audited):
    """publish/revoke-schema.json"""

    controllerIds: list[String255 | ControllerIdObject]
    deployConfigurations: list[Config]
    cancelOrdersDateFrom: String255 | None = None
    transactionId: String255 | None = None


def controller_ids(call: Call, given: list[str | ControllerIdObject]) -> list[str]:
    ids = [g if isinstance(g, str) else g.controllerId for g in given]
    if not ids:
        raise bad_request("controllerIds: at least one")
    known = call.services.controller_ids()
    for controller_id in ids:
        if controller_id not in known:
            raise JocError("JOC-002", f"unknown controllerId '{controller_id}'")
        call.require(CONTROLLER_DEPLOY, controller_id)
    return list(dict.fromkeys(ids))


def selected(call: Call, configs: list[Config]) -> list[cmd.DeploymentItem]:
    """The objects named (a FOLDER: every deployable object in it, below it too when recursive)."""
    items: dict[tuple[str, str], cmd.DeploymentItem] = {}
    inventory = call.services.store.inventory()
    for config in configs:
        c = config.the
        if c.objectType == FOLDER_TYPE:
            folder = normal_path(c.path)
            for obj in inventory.objects.values():
                inside = obj.folder == folder or (
                    c.recursive and (folder == "/" or obj.folder.startswith(folder + "/"))
                )
                if inside and not obj.deleted and obj.object_type in DEPLOYABLE_NOW and call.folder_permitted(obj.path):
                    items[(obj.object_type, obj.name)] = cmd.DeploymentItem(object_type=obj.object_type, name=obj.name)
            continue
        if c.objectType not in DEPLOYABLE_NOW:
            raise bad_request(f"{c.path}: js7es cannot deploy {c.objectType} yet")
        obj = find(call, c.path, c.objectType)
        items[(obj.object_type, obj.name)] = cmd.DeploymentItem(object_type=obj.object_type, name=obj.name)
    return list(items.values())


async def deploy_to(
    call: Call, meta: ChangeMetaArgs, controller_id: str, operation: str, items: list[cmd.DeploymentItem]
) -> None:
    """One deployment at one Controller: intent, audited command, outcome."""
    services = call.services
    commit_id = str(uuid.uuid4())
    key = keys.deployment(commit_id)
    await services.execute(
        key,
        cmd.RequestDeployment(
            controller_id=controller_id, operation=operation, account=meta.account, objects=tuple(items)
        ),
        meta,
    )
    deployment = services.store.inventory().deployments[commit_id]
    operations = item_operations(deployment)

    def send(client: Any) -> Any:
        crash_point("deploy-before-send")
        answer = client.post("/item", operations)
        crash_point("deploy-sent")
        return answer

    parameters = {
        "commitId": commit_id,
        "operation": operation,
        "objects": [f"{o.object_type}:{o.path}" for o in deployment.objects],
    }
    try:
        await services.controller_command(
            meta, controller_id=controller_id, category=CATEGORY, parameters=parameters, send=send
        )
    except JocError as e:
        if e.code == "JOC-420":  # refused by the Controller: nothing of it was applied
            await services.execute(
                key, cmd.ConcludeDeployment(succeeded=False, at_ms=now_ms(), problem={"message": e.message}), meta
            )
        else:  # no answer: ask the Controller's state (the outcome stays pending if it is away)
            await call.in_thread(reconcile_one, services, deployment)
        raise
    await services.execute(key, cmd.ConcludeDeployment(succeeded=True, at_ms=now_ms()), meta)


def reconcile_one(services: CockpitServices, deployment: Deployment, meta: ChangeMeta | None = None) -> bool:
    """Concludes a pending deployment from the Controller's state: its versionId there means the
    operations arrived (all of them: the Controller applies them all or nothing). False when the
    Controller cannot be asked now."""
    try:
        client = services.controllers.client(deployment.controller_id)
        lines = client.get_ndjson("/snapshot")
    except Exception as e:  # the Controller is away: try again later
        log.warning("cannot reconcile deployment %s with %s: %s", deployment.commit_id, deployment.controller_id, e)
        return False
    versions: list[str] = next(
        (line.get("versions", []) for line in lines if line.get("TYPE") == "ControllerMetaState"), []
    )
    arrived = deployment.commit_id in versions
    meta = meta or ChangeMeta(account="js7es", at_ms=now_ms(), request="reconciliation")
    services.store.execute(
        keys.deployment(deployment.commit_id),
        cmd.ConcludeDeployment(succeeded=arrived, at_ms=meta.at_ms, problem=None if arrived else UNKNOWN_OUTCOME),
        meta,
    )
    return True


def reconcile(services: CockpitServices, meta: ChangeMeta) -> list[str]:
    """Reconciles every pending deployment; returns the commitIds still pending (Controller away)."""
    return [
        d.commit_id for d in services.store.inventory().pending_deployments() if not reconcile_one(services, d, meta)
    ]


@API.post(
    "/inventory/deployment/deploy",
    summary="Deploys drafts to Controllers (one all-or-nothing deployment per Controller), or deletes deployed objects",
    request=DeployFilter,
    response=OkResponse,
    permission=DEPLOY,
)
async def deploy(call: Call, body: DeployFilter) -> Any:
    ids = controller_ids(call, body.controllerIds)
    stores = selected(call, [*body.store.draftConfigurations, *body.store.deployConfigurations]) if body.store else []
    deletes = selected(call, body.delete.deployConfigurations) if body.delete else []
    if not stores and not deletes:
        raise bad_request("nothing to deploy")
    for controller_id in ids:
        meta = call.change_meta(body, controller_id)
        if stores:
            await deploy_to(call, meta, controller_id, UPDATE, stores)
        if deletes:
            await deploy_to(call, meta, controller_id, DELETE, deletes)
    return ok()


@API.post(
    "/inventory/deployment/revoke",
    summary="Deletes deployed objects from Controllers (their drafts stay)",
    request=RevokeFilter,
    response=OkResponse,
    permission=DEPLOY,
)
async def revoke(call: Call, body: RevokeFilter) -> Any:
    ids = controller_ids(call, body.controllerIds)
    items = selected(call, body.deployConfigurations)
    if not items:
        raise bad_request("nothing to revoke")
    for controller_id in ids:
        await deploy_to(call, call.change_meta(body, controller_id), controller_id, DELETE, items)
    return ok()


__all__ = ["reconcile", "to_change_meta"]
