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
    call.session.selected_controller = controller_id
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
