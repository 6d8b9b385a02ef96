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

The Watch answers through a `WatchGate`: the standalone Watch (`js7es cluster-watch`) always, an active
Cockpit that hosts it (js7es/nodes/cockpit/watch.py) only while it is active: a standby Cockpit answers
503 ``ClusterWatchStandby`` (naming the active member), so that a Controller given the URIs of both
Cockpits asks the other one; and the gate checks the Cockpit's lease before it lets a decision out that
a Controller acts on (see `WatchGate.release`).

A refusal (see `logic`) is 409 with its code (UntaughtClusterWatch, ClusterNodeIsNotActive,
ClusterFailOverWhilePassiveLost, ClusterWatchActiveStillAlive, ClusterWatchInapplicable); a malformed or
inconsistent request is 400 (InvalidJson, UnknownField, MissingField, WrongType, InvalidClusterState,
InvalidClusterWatchRequest).
"""

from __future__ import annotations

from typing import Any, Protocol

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
STANDBY = "ClusterWatchStandby"  # 503: ask another URI of the Watch (a Cockpit cluster's active member)
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


async def _released(gate: WatchGate, request: str, decision: Decision) -> Response:
    released = await gate.release(request, decision)
    if isinstance(released, Problem) and released.code == STANDBY:
        return problem_response(released, 503)
    return _answer(released, with_state=request != "confirm-node-loss")


def _answer(decision: Decision, *, with_state: bool = True) -> Response:
    if isinstance(decision, Problem):
        return problem_response(decision, 409 if decision.code in REFUSALS else 400)
    result: dict[str, Any] = {"TYPE": "Accepted"}
    if with_state and decision.cluster_state is not None:
        result["clusterState"] = decision.cluster_state.to_json()
    return json_response(result)


class WatchGate(Protocol):
    """Who answers as the Watch: `current` is the Watch's memory while this process may answer, else the
    STANDBY problem; `release` is the decision to answer, or the STANDBY problem when this process may
    no longer answer it (checked after the decision, strictly before the answer leaves)."""

    def current(self) -> ClusterWatch | Problem: ...

    async def release(self, request: str, decision: Decision) -> Decision: ...


class AlwaysWatch:
    """The standalone Watch's gate: always the same memory, every decision answered."""

    def __init__(self, watch: ClusterWatch) -> None:
        self.watch = watch

    def current(self) -> ClusterWatch:
        return self.watch

    async def release(self, request: str, decision: Decision) -> Decision:
        return decision


def cluster_watch_routes(
    watch_or_gate: ClusterWatch | WatchGate, auth: Authenticator, *, nodes_permission: str = "Command"
) -> list[BaseRoute]:
    """`nodes_permission`: what the cluster nodes need to report and ask for consent (a Controller as
    the Watch of its Agents' Director pairs: ClusterWatchClient, so a Director cannot add orders)."""
    gate = AlwaysWatch(watch_or_gate) if isinstance(watch_or_gate, ClusterWatch) else watch_or_gate

    def standby(problem: Problem) -> Response:
        return problem_response(problem, 503)

    @auth.require(nodes_permission)
    async def post_report(request: Request, user: User) -> Response:
        body = await _read(request, _REPORT)
        if isinstance(body, Problem):
            return problem_response(body)
        watch = gate.current()
        if isinstance(watch, Problem):
            return standby(watch)
        report = Report(
            from_id=body["from"],
            event_id=body["eventId"],
            cluster_state=body["clusterState"],
            restarted=body.get("restarted", False),
        )
        return await _released(gate, "report", watch.report(body["clusterId"], report))

    @auth.require(nodes_permission)
    async def post_node_loss(request: Request, user: User) -> Response:
        body = await _read(request, _NODE_LOSS)
        if isinstance(body, Problem):
            return problem_response(body)
        watch = gate.current()
        if isinstance(watch, Problem):
            return standby(watch)
        node_loss = NodeLossRequest(
            from_id=body["from"],
            lost_node_id=body["lostNodeId"],
            event_id=body["eventId"],
            cluster_state=body["clusterState"],
            failed_at=body.get("failedAt"),
        )
        return await _released(gate, "node-loss", watch.node_loss(body["clusterId"], node_loss))

    @auth.require("Command")
    async def post_confirm(request: Request, user: User) -> Response:
        body = await _read(request, _CONFIRM)
        if isinstance(body, Problem):
            return problem_response(body)
        watch = gate.current()
        if isinstance(watch, Problem):
            return standby(watch)
        confirmation = NodeLossConfirmation(lost_node_id=body["lostNodeId"], confirmer=body["confirmer"])
        return await _released(gate, "confirm-node-loss", watch.confirm(body["clusterId"], confirmation))

    @auth.require("ReadState")
    async def get_cluster(request: Request, user: User) -> Response:
        unknown = set(request.query_params) - {"clusterId"}
        if unknown:
            name = sorted(unknown)[0]
            return problem_response(problem("UnknownParameter", f"Unknown query parameter {name!r}", parameter=name))
        watch = gate.current()
        if isinstance(watch, Problem):
            return standby(watch)
        cluster_id = request.query_params.get("clusterId")
        if cluster_id is not None:
            return json_response(watch.view(cluster_id))
        return json_response({"clusters": [watch.view(c) for c in watch.cluster_ids]})

    async def health(request: Request) -> Response:
        watch = gate.current()
        if isinstance(watch, Problem):
            return standby(watch)
        return json_response({"status": "ok", "clusters": len(watch.cluster_ids)})

    return [
        Route(f"{PREFIX}/report", post_report, methods=["POST"]),
        Route(f"{PREFIX}/node-loss", post_node_loss, methods=["POST"]),
        Route(f"{PREFIX}/confirm-node-loss", post_confirm, methods=["POST"]),
        Route(f"{PREFIX}/cluster", get_cluster, methods=["GET"]),
        Route(f"{PREFIX}/health", health, methods=["GET"]),
    ]
