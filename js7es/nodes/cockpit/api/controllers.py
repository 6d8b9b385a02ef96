"""Controllers (joc-cockpit.md §1.4 "Controllers and agents", §7): the session's current Controller
(/controller/ids, /controller/switch, as the PowerShell module's Connect-JS7 uses them), JOC's version,
and the Controller cluster's switch-over."""

from __future__ import annotations

from typing import Any

from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import delivered, ok
from js7es.nodes.cockpit.api.models import Audited, ControllerId, Empty, OkResponse, Request, Response, String255

# The JOC API version js7es answers: clients (the PowerShell module, JS7's own tools) check it after
# login and refuse to work with an old one. js7es implements the 2.7 API shapes.
JOC_API_VERSION = "2.7.2"


class ControllerIds(Response):
    """controller/controllerIds-schema.json"""

    controllerIds: list[str]
    selected: str


class ControllerIdParam(Request):
    controllerId: ControllerId


async def _ids(call: Call, body: Empty) -> dict[str, Any]:
    ids = sorted(c for c in call.services.controller_ids() if call.permitted("sos:products:controller:view", c))
    assert call.session is not None
    selected = call.session.selected_controller
    if selected not in ids:
        selected = ids[0] if ids else ""
    return delivered({"controllerIds": ids, "selected": selected})


API.post("/controller/ids", summary="The Controllers the account may see, and the session's current one",
         response=ControllerIds, access="session")(_ids)  # fmt: skip
API.get("/controller/ids", summary="The Controllers the account may see, and the session's current one",
        response=ControllerIds, access="session")(_ids)  # fmt: skip


@API.post(
    "/controller/switch",
    summary="Makes a Controller the session's current one",
    request=ControllerIdParam,
    response=OkResponse,
    permission="sos:products:controller:view",
    controller_scoped=True,
)
async def switch(call: Call, body: ControllerIdParam) -> Any:
    controller_id = call.controller_id(body)
    assert call.session is not None
    call.services.sessions.select_controller(call.session, controller_id)
    return ok()


class Version(Response):
    """joc/version-schema.json"""

    version: str
    gitHash: str | None = None
    date: str | None = None


async def _version(call: Call, body: Empty) -> dict[str, Any]:
    return delivered({"version": JOC_API_VERSION, "js7esVersion": call.services.version})


API.post("/joc/version", summary="JOC's (API) version", response=Version, access="session")(_version)
API.get("/joc/version", summary="JOC's (API) version", response=Version, access="session")(_version)


class VersionsFilter(Request):
    """joc/versionsFilter-schema.json"""

    controllerIds: list[ControllerId] | None = None
    agentIds: list[String255] | None = None


class Versions(Response):
    jocVersion: str
    controllerVersions: list[dict[str, Any]] = []
    agentVersions: list[dict[str, Any]] = []


@API.post("/joc/versions", summary="The versions of JOC and the Controllers", request=VersionsFilter,
          response=Versions, access="session")  # fmt: skip
async def versions(call: Call, body: VersionsFilter) -> dict[str, Any]:
    ids = body.controllerIds or call.services.controller_ids()
    controllers = [
        {"controllerId": c, "version": JOC_API_VERSION, "compatibility": "COMPATIBLE"}
        for c in ids
        if c in call.services.controller_ids() and call.permitted("sos:products:controller:view", c)
    ]
    return delivered({"jocVersion": JOC_API_VERSION, "controllerVersions": controllers, "agentVersions": []})


class ClusterCommand(Audited):
    controllerId: ControllerId


@API.post(
    "/controller/cluster/switchover",
    summary="Switches the Controller cluster's active node over to the standby",
    request=ClusterCommand,
    response=OkResponse,
    permission="sos:products:controller:switch_over",
    controller_scoped=True,
)
async def switchover(call: Call, body: ClusterCommand) -> Any:
    controller_id = call.controller_id(body)
    await call.services.controller_command(
        call.change_meta(body, controller_id),
        controller_id=controller_id,
        category="CONTROLLER",
        parameters={"command": "ClusterSwitchOver"},
        send=lambda client: client.command({"TYPE": "ClusterSwitchOver"}),
    )
    return ok()


# --- /controllers and /controller: the registration (the Cockpit's configuration) with the cluster state
# the projection holds (ControllersResourceImpl, ControllerResourceImpl: sos:products:controller:view)

CONTROLLER_VIEW = "sos:products:controller:view"


class OptionalControllerId(Request):
    controllerId: ControllerId | None = None


class Controllers(Response):
    """controller/masters-schema.json"""

    controllers: list[dict[str, Any]]


class ControllerState(Response):
    """controller/jobscheduler200_v-schema.json"""

    controller: dict[str, Any]


def registrations(call: Call, controller_id: str) -> list[dict[str, Any]]:
    """One entry per registered node: STANDALONE, or PRIMARY and BACKUP with each other's URL as clusterUrl
    (a Controller of the configuration), or as registered through /controller/register."""
    registration = call.services.controllers.registration(controller_id)
    if registration is not None:
        return [
            {
                "url": n.url,
                "role": n.role,
                **({"clusterUrl": n.cluster_url or n.url} if n.role != "STANDALONE" else {}),
                **({"title": n.title} if n.title else {}),
            }
            for n in registration.nodes
        ]
    uris = list(call.services.controllers.uris(controller_id))
    if len(uris) < 2:
        return [{"url": uris[0] if uris else "", "role": "STANDALONE"}]
    return [
        {"url": uris[0], "clusterUrl": uris[0], "role": "PRIMARY"},
        {"url": uris[1], "clusterUrl": uris[0], "role": "BACKUP"},
    ]


async def _projected(call: Call, ids: list[str]) -> dict[str, dict[str, Any]]:
    from js7es.projections.cockpit.queries import controllers as q

    engine = call.services.engine
    answer = await call.in_thread(lambda: q.list_controllers(engine, ids))
    return {c["controllerId"]: c for c in answer["controllers"]}


async def _active_ids(call: Call, ids: list[str]) -> dict[str, str | None]:
    from js7es.projections.cockpit.queries import controllers as q

    engine = call.services.engine
    return await call.in_thread(lambda: q.active_node_ids(engine, ids))


def with_node_state(node: dict[str, Any], active_id: str | None) -> dict[str, Any]:
    """JOC's clusterNodeState of a PRIMARY or BACKUP node: active or inactive, as the projected cluster
    state names its active node ("Primary"/"Backup")."""
    role = node.get("role")
    if role not in ("PRIMARY", "BACKUP") or active_id is None:
        return node
    active = active_id.upper() == role
    return {**node, "clusterNodeState": {"severity": 0 if active else 1, "_text": "active" if active else "inactive"}}


@API.post("/controllers", summary="The registered Controllers with what the projection knows of them",
          request=OptionalControllerId, response=Controllers, permission=CONTROLLER_VIEW,
          access="session")  # fmt: skip
async def list_controllers(call: Call, body: OptionalControllerId) -> dict[str, Any]:
    if body.controllerId:
        ids = [call.controller_id(body)]
        call.require(CONTROLLER_VIEW, ids[0])
    else:
        ids = [c for c in sorted(call.services.controller_ids()) if call.permitted(CONTROLLER_VIEW, c)]
        if not ids:
            call.require(CONTROLLER_VIEW, None)
    projected = await _projected(call, ids)
    active = await _active_ids(call, ids)
    items = []
    for controller_id in ids:
        base = projected.get(controller_id) or {"id": 0, "controllerId": controller_id, "title": controller_id}
        base.setdefault("isCoupled", False)
        items += [with_node_state({**base, **r}, active.get(controller_id)) for r in registrations(call, controller_id)]
    return delivered({"controllers": items})


@API.post("/controller", summary="A Controller's registration and cluster state (from the projection)",
          request=OptionalControllerId, response=ControllerState, permission=CONTROLLER_VIEW,
          controller_scoped=True)  # fmt: skip
async def get_controller(call: Call, body: OptionalControllerId) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    projected = (await _projected(call, [controller_id])).get(controller_id)
    base = projected or {"id": 0, "controllerId": controller_id, "title": controller_id, "isCoupled": False}
    return delivered({"controller": {**base, **registrations(call, controller_id)[0]}})


class CockpitFilter(Request):
    """controller/jocFilter-schema.json (js7es has no API-server instances: both filters change nothing)"""

    onlyApiServer: bool = False
    onlyNonApiServer: bool = False


class Cockpits(Response):
    """controller/jocs-schema.json: the Cockpit instances, the members of a Cockpit cluster."""

    jocs: list[dict[str, Any]]


@API.post("/jocs", summary="The Cockpit instances (the members of the Cockpit cluster, which one is active)",
          request=CockpitFilter, response=Cockpits, access="session")  # fmt: skip
async def jocs(call: Call, body: CockpitFilter) -> dict[str, Any]:
    instances = [] if body.onlyApiServer else await call.in_thread(call.services.cockpit_instances)
    return delivered({"jocs": instances})
