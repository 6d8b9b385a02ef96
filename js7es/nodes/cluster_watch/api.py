"""The Cluster Watch's HTTP API under ``/cluster-watch/api`` (JSON bodies, strict; problems JS7-style).

- ``POST …/report`` (Command) ``{"clusterId", "from", "eventId", "clusterState"}``: the active node's
  heartbeat and report after each cluster event. 200 ``{"TYPE": "Accepted", "clusterState": …}`` (the
  state the Watch now knows).
- ``POST …/node-loss`` (Command) ``{"clusterId", "from", "lostNodeId", "eventId", "clusterState",
  "failedAt"?}``: consent to declare the other node lost. 200 ``{"TYPE": "Accepted", "clusterState": …}``
  with the granted FailedOver or PassiveLost state.
- ``POST …/confirm-node-loss`` (Command) ``{"clusterId", "lostNodeId", "confirmer"}``: a person confirms
  that a node is down. 200 ``{"TYPE": "Accepted"}``.
- ``GET …/cluster?clusterId=ID`` (ReadState): the Watch's view of one cluster ``{"clusterId", "taught",
  "clusterState", "eventId", "lastHeartbeatAgo": {node: s}, "confirmations": [{"lostNodeId", "confirmer",
  "confirmedAgo"}]}``; without clusterId ``{"clusters": [...]}`` for every cluster it heard of.
- ``GET …/health`` (public): ``{"status": "ok", "clusters": n}``.

A refusal (see `logic`) is 409 with its code (UntaughtClusterWatch, ClusterNodeIsNotActive,
ClusterFailOverWhilePassiveLost, ClusterWatchActiveStillAlive, ClusterWatchInapplicable); a malformed or
inconsistent request is 400 (InvalidJson, UnknownField, MissingField, WrongType, InvalidClusterState,
InvalidClusterWatchRequest).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from js7es.domain.problem import Problem, problem
from js7es.nodes.cluster_watch.cluster_state import parse_cluster_state
from js7es.nodes.cluster_watch.logic import (
    INVALID,
    REFUSALS,
    Decision,
    NodeLossConfirmation,
    NodeLossRequest,
    Report,
)
from js7es.nodes.cluster_watch.watch import ClusterWatch
from js7es.nodes.http import (
    BOOLEAN,
    INTEGER,
    OBJECT,
    STRING,
    Authenticator,
    Shape,
    User,
    json_response,
    problem_response,
)
from js7es.nodes.http.body import read_json

PREFIX = "/cluster-watch/api"
MAX_BODY_BYTES = 64 * 1024  # a report is a few hundred bytes

_REPORT = Shape(
    "report",
    required={"clusterId": STRING, "from": STRING, "eventId": INTEGER, "clusterState": OBJECT},
    optional={"restarted": BOOLEAN},
)
_NODE_LOSS = Shape(
    "node-loss",
    required={"clusterId": STRING, "from": STRING, "lostNodeId": STRING, "eventId": INTEGER, "clusterState": OBJECT},
    optional={"failedAt": INTEGER},
)
_CONFIRM = Shape("confirm-node-loss", required={"clusterId": STRING, "lostNodeId": STRING, "confirmer": STRING})


async def _read(request: Request, shape: Shape) -> dict[str, Any] | Problem:
    body = shape.check(await read_json(request, max_bytes=MAX_BODY_BYTES))
    if isinstance(body, Problem):
        return body
    for name in ("clusterId", "from", "lostNodeId", "confirmer"):
        if name in body and not body[name].strip():
            return problem(INVALID, f"{shape.where}.{name} must not be empty", field=name)
    for name in ("eventId", "failedAt"):
        if name in body and body[name] < 0:
            return problem(INVALID, f"{shape.where}.{name} must not be negative", field=name)
    if "clusterState" in body:
        state = parse_cluster_state(body["clusterState"])
        if isinstance(state, Problem):
            return state
        body = {**body, "clusterState": state}
    return body


def _answer(decision: Decision, *, with_state: bool = True) -> Response:
    if isinstance(decision, Problem):
        return problem_response(decision, 409 if decision.code in REFUSALS else 400)
    result: dict[str, Any] = {"TYPE": "Accepted"}
    if with_state and decision.cluster_state is not None:
        result["clusterState"] = decision.cluster_state.to_json()
    return json_response(result)


def cluster_watch_routes(watch: ClusterWatch, auth: Authenticator) -> list[BaseRoute]:
    @auth.require("Command")
    async def post_report(request: Request, user: User) -> Response:
        body = await _read(request, _REPORT)
        if isinstance(body, Problem):
            return problem_response(body)
        report = Report(
            from_id=body["from"],
            event_id=body["eventId"],
            cluster_state=body["clusterState"],
            restarted=body.get("restarted", False),
        )
        return _answer(watch.report(body["clusterId"], report))

    @auth.require("Command")
    async def post_node_loss(request: Request, user: User) -> Response:
        body = await _read(request, _NODE_LOSS)
        if isinstance(body, Problem):
            return problem_response(body)
        node_loss = NodeLossRequest(
            from_id=body["from"],
            lost_node_id=body["lostNodeId"],
            event_id=body["eventId"],
            cluster_state=body["clusterState"],
            failed_at=body.get("failedAt"),
        )
        return _answer(watch.node_loss(body["clusterId"], node_loss))

    @auth.require("Command")
    async def post_confirm(request: Request, user: User) -> Response:
        body = await _read(request, _CONFIRM)
        if isinstance(body, Problem):
            return problem_response(body)
        confirmation = NodeLossConfirmation(lost_node_id=body["lostNodeId"], confirmer=body["confirmer"])
        return _answer(watch.confirm(body["clusterId"], confirmation), with_state=False)

    @auth.require("ReadState")
    async def get_cluster(request: Request, user: User) -> Response:
        unknown = set(request.query_params) - {"clusterId"}
        if unknown:
            name = sorted(unknown)[0]
            return problem_response(problem("UnknownParameter", f"Unknown query parameter {name!r}", parameter=name))
        cluster_id = request.query_params.get("clusterId")
        if cluster_id is not None:
            return json_response(watch.view(cluster_id))
        return json_response({"clusters": [watch.view(c) for c in watch.cluster_ids]})

    async def health(request: Request) -> Response:
        return json_response({"status": "ok", "clusters": len(watch.cluster_ids)})

    return [
        Route(f"{PREFIX}/report", post_report, methods=["POST"]),
        Route(f"{PREFIX}/node-loss", post_node_loss, methods=["POST"]),
        Route(f"{PREFIX}/confirm-node-loss", post_confirm, methods=["POST"]),
        Route(f"{PREFIX}/cluster", get_cluster, methods=["GET"]),
        Route(f"{PREFIX}/health", health, methods=["GET"]),
    ]
