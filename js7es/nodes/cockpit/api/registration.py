"""Registering Controllers while the Cockpit runs (joc-cockpit.md §1.4 "Controllers and agents", §7) and
confirming a Controller cluster's node loss to its Cluster Watch (§6). JOC's ControllerEditResourceImpl
and ControllerResourceModifyClusterImpl, the shapes of registerParam-, urlParam- and testParam-schema.json.

- ``/controller/register``: each URL must answer as a Controller (its overview, ``GET /controller/api``,
  asked with the Cockpit's client certificate as the followers connect) of the request's controllerId —
  or, when that is empty, the id the first node reports is taken — before anything is stored. Without
  a controllerId it registers a new Controller (refused for a known id, JOC-171); with one it changes
  that registration (JOC-002 when there is none), as JOC does. The Cockpit follows it at once.
- ``/controller/unregister``: the Cockpit stops following it. The rows it projected (orders, history,
  logs) stay in the database — the API no longer lists them, as they belong to no known Controller —
  until a rebuild or a cleanup; registering the same id again resumes from the stored EventId.
- Controllers of the configuration file are fixed: registering or unregistering one is refused (420).
- ``/controller/test``: whether a URL answers as a Controller, JOC's ``{controller: {url, controllerId,
  connectionState}}`` (no error when it does not answer: ``unreachable``).
- ``/controller/cluster/confirm_node_loss``: tells the Controller's Cluster Watch (``[controllers.<id>]
  cluster-watch``, or the registration's ``clusterWatchUrl``; without either, the Cockpit's own Watch,
  cockpit/watch.py, on the active member) that a node is really down, so that the Watch lets the
  failover (or the loss of the passive node) through. The lost node is the request's
  ``lostNodeId`` (a js7es addition), else the active node of the cluster state the projection holds:
  with forceFailoverConfirmation the loss to confirm is the active node's, which the standby wants to
  take over from. Audited as a command to the Controller: the entry before, the outcome after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, StringConstraints

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.controllers import BACKUP, PRIMARY, STANDALONE, check_registration
from js7es.domain.problem import Problem
from js7es.nodes.client.errors import ClientError
from js7es.nodes.cluster_watch.logic import Decision, NodeLossConfirmation
from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import JocError, bad_request, delivered, joc_response, not_exist
from js7es.nodes.cockpit.api.models import Audited, ControllerId, OkResponse, Request, Response, String255
from js7es.nodes.cockpit.api.services import registration_connection

if TYPE_CHECKING:
    from js7es.nodes.cluster_watch.api import WatchGate
    from js7es.nodes.cluster_watch.client import ClusterWatchClient

MANAGE = "sos:products:joc:administration:controllers:manage"
VIEW = "sos:products:joc:administration:controllers:view"
SWITCH_OVER = "sos:products:controller:switch_over"  # what JOC checks for confirm_node_loss


class RegisterNode(Request):
    """registerParam-schema.json's item (`id`, JOC's database id, is accepted and not used)."""

    id: Annotated[int, Field(ge=0)] | None = None
    title: Annotated[str, StringConstraints(pattern=r"^[^<>]*$", max_length=30)] | None = None
    url: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    clusterUrl: String255 | None = None
    role: Literal["STANDALONE", "PRIMARY", "BACKUP"]


class RegisterParam(Audited):
    """controller/registerParam-schema.json, and the Cluster Watch of a Controller cluster (js7es)."""

    controllerId: ControllerId | None = None
    controllers: Annotated[list[RegisterNode], Field(min_length=1, max_length=2)]
    forceFailoverConfirmation: bool = False
    clusterWatchUrl: String255 | None = Field(
        default=None, description="js7es: the URL of the Controller cluster's Cluster Watch (confirm_node_loss)"
    )


class UrlParam(Audited):
    """controller/urlParam-schema.json"""

    controllerId: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r'^[^/\\<>?!&:;()"|*^]*$')]
    url: String255 | None = None
    withSwitchover: bool = True


class ConfirmNodeLossParam(UrlParam):
    lostNodeId: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        default=None, description="js7es: the lost node (default: the active node of the projected cluster state)"
    )


class TestParam(Request):
    """controller/testParam-schema.json"""

    controllerId: ControllerId | None = None
    url: Annotated[str, StringConstraints(min_length=1, max_length=255)]


class TestAnswer(Response):
    """controller/jobscheduler200-schema.json: `controller` with url, controllerId and connectionState."""

    controller: dict[str, Any]


def _url(text: str) -> str:
    return text.strip().rstrip("/")


def _configured_refusal(call: Call, controller_id: str, what: str) -> JocError:
    return JocError(
        "JOC-400",
        f"Controller '{controller_id}' comes from the Cockpit's configuration file ([controllers.{controller_id}]) "
        f"and cannot be {what} through the API: change the configuration and restart the Cockpit",
    )


async def _overview(call: Call, url: str) -> Mapping[str, Any]:
    overview = call.services.controllers.overview
    try:
        return await call.in_thread(overview, url)
    except ClientError as e:
        raise JocError("JOC-503", f"no Controller answers at {url}: {e}") from None


@API.post(
    "/controller/register",
    summary="Registers a Controller (or changes its registration); the Cockpit follows it at once",
    request=RegisterParam,
    response=OkResponse,
    permission=MANAGE,
)
async def register(call: Call, body: RegisterParam) -> Any:
    directory = call.services.controllers
    given = body.controllerId or ""
    nodes = [
        ev.RegisteredNode(
            url=_url(n.url),
            role=STANDALONE if len(body.controllers) == 1 else n.role,  # JOC: one node is standalone
            cluster_url=_url(n.clusterUrl) if n.clusterUrl and n.clusterUrl.strip() else None,
            title=n.title or None,
        )
        for n in body.controllers
    ]
    if len(nodes) == 2 and {n.role for n in nodes} == {PRIMARY, BACKUP}:
        nodes.sort(key=lambda n: n.role != PRIMARY)
    watch = _url(body.clusterWatchUrl) if body.clusterWatchUrl and body.clusterWatchUrl.strip() else None
    invalid = check_registration(keys.controller(given or "?"), tuple(nodes), watch)
    if invalid is not None:
        raise bad_request(invalid.message)
    if given and directory.is_configured(given):
        raise _configured_refusal(call, given, "registered")
    controller_id = given
    for node in nodes:  # before anything is stored: each URL answers as a Controller of that id
        reported = (await _overview(call, node.url)).get("id")
        if not isinstance(reported, str) or not reported:
            raise JocError("JOC-400", f"{node.url} answers, but not as a Controller (no id in its overview)")
        if not controller_id:
            controller_id = reported
        elif reported != controller_id:
            raise JocError(
                "JOC-400",
                f"Connection was successful but Controller ID '{reported}' of URL '{node.url}' is not the "
                f"expected Controller ID '{controller_id}'",
            )
    if directory.is_configured(controller_id):
        raise _configured_refusal(call, controller_id, "registered")
    fields: dict[str, Any] = {
        "nodes": tuple(nodes),
        "force_failover_confirmation": body.forceFailoverConfirmation,
        "cluster_watch": watch,
    }
    command = cmd.ChangeControllerRegistration(**fields) if given else cmd.RegisterController(**fields)
    meta = call.change_meta(body, controller_id)
    try:
        await call.services.execute(keys.controller(controller_id), command, meta)
    except JocError as e:
        if e.code == "JOC-002":
            raise not_exist(
                f"Couldn't find Controller(s) with ID '{controller_id}'. Don't specify the \"controllerId\" in "
                "the request for a new registration."
            ) from None
        raise
    registration = directory.registration(controller_id)
    assert registration is not None
    directory.forget(controller_id)  # a client made for the old URLs
    directory.following.add(registration_connection(registration))
    return joc_response(delivered({"ok": True, "controllerId": controller_id}))


@API.post(
    "/controller/unregister",
    summary="Unregisters a registered Controller: the Cockpit stops following it (its projected rows stay)",
    request=UrlParam,
    response=OkResponse,
    permission=MANAGE,
)
async def unregister(call: Call, body: UrlParam) -> Any:
    directory = call.services.controllers
    controller_id = body.controllerId
    if directory.is_configured(controller_id):
        raise _configured_refusal(call, controller_id, "unregistered")
    meta = call.change_meta(body, controller_id)
    await call.services.execute(keys.controller(controller_id), cmd.UnregisterController(), meta)
    directory.following.remove(controller_id)
    directory.forget(controller_id)
    if call.session is not None and call.session.selected_controller == controller_id:
        call.services.sessions.select_controller(call.session, None)
    return joc_response(delivered({"ok": True}))


@API.post(
    "/controller/test",
    summary="Whether a Controller answers at a URL (and its id)",
    request=TestParam,
    response=TestAnswer,
    permission=VIEW,
)
async def test_connection(call: Call, body: TestParam) -> dict[str, Any]:
    url = _url(body.url)
    invalid = check_registration("controller:?", (ev.RegisteredNode(url=url, role=STANDALONE),), None)
    if invalid is not None:
        raise bad_request(f"$.url: {invalid.message}")
    controller: dict[str, Any] = {"url": url, "isCoupled": None}
    try:
        overview = await call.in_thread(call.services.controllers.overview, url)
    except ClientError:
        controller["connectionState"] = {"_text": "unreachable", "severity": 2}
        return delivered({"controller": controller})
    reported = overview.get("id")
    if body.controllerId and reported != body.controllerId:
        raise JocError(
            "JOC-400",
            f"Connection was successful but Controller ID '{reported}' of URL '{url}' is not the expected "
            f"Controller ID '{body.controllerId}'",
        )
    controller["controllerId"] = reported
    controller["connectionState"] = {"_text": "established", "severity": 0}
    return delivered({"controller": controller})


@API.post(
    "/controller/cluster/confirm_node_loss",
    summary="Confirms to the Controller cluster's Cluster Watch that a node is really down",
    request=ConfirmNodeLossParam,
    response=OkResponse,
    permission=SWITCH_OVER,
    controller_scoped=True,
)
async def confirm_node_loss(call: Call, body: ConfirmNodeLossParam) -> Any:
    from js7es.projections.cockpit.queries.controllers import cluster_state_of

    directory = call.services.controllers
    controller_id = call.controller_id(body)
    watch = directory.cluster_watch(controller_id)
    hosted = directory.hosted_watch if watch is None else None
    if watch is None and hosted is None:
        raise JocError(
            "JOC-400",
            f"No Cluster Watch is known for Controller '{controller_id}': set cluster-watch in "
            f"[controllers.{controller_id}] of the Cockpit's configuration, or register the Controller with "
            "its clusterWatchUrl",
        )
    engine = call.services.engine
    state = await call.in_thread(cluster_state_of, engine, controller_id)
    setting = getattr(state, "setting", None)
    lost = body.lostNodeId or (setting.active_id if setting is not None else None)
    if lost is None:
        raise JocError(
            "JOC-400",
            f"The cluster state of Controller '{controller_id}' is not known to the Cockpit: name the lost node "
            "(lostNodeId)",
        )
    if setting is not None and lost not in setting.id_to_uri:
        raise bad_request(
            f"'{lost}' is no node of the Controller cluster '{controller_id}': {sorted(setting.id_to_uri)}"
        )
    if hosted is not None:
        watch = "this Cockpit"
        send = _confirm_here(hosted, controller_id, lost, call.account)
    else:
        assert watch is not None
        send = _confirm_at(directory.make_watch_client, watch, controller_id, lost, call.account)

    await call.services.audited_call(
        call.change_meta(body, controller_id),
        controller_id=controller_id,
        category="CONTROLLER",
        parameters={"command": "ConfirmClusterNodeLoss", "lostNodeId": lost, "clusterWatch": watch},
        send=send,
        unavailable=lambda reason: JocError(
            "JOC-503", f"The Cluster Watch of Controller '{controller_id}' at {watch} is not available: {reason}"
        ),
    )
    return joc_response(delivered({"ok": True, "lostNodeId": lost}))


def _confirm_at(
    make_watch_client: Callable[[str], ClusterWatchClient] | None, watch: str, cluster_id: str, lost: str, account: str
) -> Callable[[], Any]:
    """The confirmation to a Cluster Watch process at `watch` (called in a thread)."""
    if make_watch_client is None:
        raise JocError("JOC-503", "this Cockpit cannot reach Cluster Watches")
    confirmation = {"clusterId": cluster_id, "lostNodeId": lost, "confirmer": account}

    def send() -> Any:
        with make_watch_client(watch) as client:
            client.login()
            return client.post("/confirm-node-loss", confirmation)

    return send


def _confirm_here(hosted: WatchGate, cluster_id: str, lost: str, account: str) -> Callable[[], Any]:
    """The confirmation to this Cockpit's own Cluster Watch: decided on the event loop, as every decision
    of the Watch (`send` is called in a thread); a standby's or the Watch's refusal is a ClientError."""
    loop = asyncio.get_running_loop()

    async def confirm() -> Decision:
        watch = hosted.current()
        if isinstance(watch, Problem):
            return watch
        decision = watch.confirm(cluster_id, NodeLossConfirmation(lost_node_id=lost, confirmer=account))
        return await hosted.release("confirm-node-loss", decision)

    def send() -> Any:
        decision = asyncio.run_coroutine_threadsafe(confirm(), loop).result(timeout=60)
        if isinstance(decision, Problem):
            raise ClientError(str(decision), problem=decision)
        return {"TYPE": "Accepted"}

    return send
