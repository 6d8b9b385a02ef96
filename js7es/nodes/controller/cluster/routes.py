"""The cluster's web service on each Controller node, and what readers of a cluster may see.

- ``GET /controller/api/cluster``: this node's role and cluster state (``nodeId``, ``active``,
  ``clusterState`` in JS7's JSON, ``eventId``);
- ``GET /controller/api/cluster/journal?after=&heartbeat=&nodeId=`` (active only): the replication
  stream for the standby. ndjson: a header ``{"TYPE":"ClusterJournalHeader","journalId",...}``, then
  each commit of the active's journal as its event lines followed by a frame line
  ``{"TYPE":"Commit","eventId","count"}`` (`replication`), and ``{"TYPE":"Heartbeat"}`` after each
  `heartbeat` seconds without commits. `after` must be a commit boundary (``NotACommitBoundary``) and
  still kept (``EventSeqTorn``: the standby then starts from the snapshot);
- ``POST /controller/api/cluster/ack`` ``{"nodeId","eventId"}`` (active only): the standby has made the
  events up to `eventId` durable; sent at least every heartbeat;
- ``GET /controller/api/cluster/snapshot`` (active only): a header with ``journalId`` and ``eventId``,
  then the state's snapshot objects at that EventId, as ndjson.

`CommittedView` is what the event stream of a cluster node serves: only events that are committed,
i.e. acknowledged by the standby while Coupled, never what is merely durable on the active.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from js7es.domain.event import Stamped
from js7es.domain.problem import Problem, ProblemError, problem
from js7es.domain.value import dumps, loads
from js7es.journal.api import CommitListener, Lines
from js7es.nodes.controller.api import PREFIX
from js7es.nodes.controller.cluster.active import ActiveRole, ClusterCore, not_active_problem
from js7es.nodes.controller.cluster.node import ClusterNode
from js7es.nodes.controller.cluster.replication import HEARTBEAT, encode_commits
from js7es.nodes.http import Authenticator, json_response, problem_response, read_json
from js7es.nodes.http.event_stream import commit_signal
from js7es.nodes.http.problems import register_status
from js7es.nodes.http.responses import NDJSON

register_status("ClusterNodeIsNotActive", 503)
register_status("ClusterNodesNotCoupled", 409)
register_status("ClusterSwitchOverInProgress", 409)
register_status("NotACommitBoundary", 400)
register_status("UnknownClusterNode", 403)

COMMITS_PER_CHUNK = 500


class CommittedView:
    """A core's journal as readers may see it: up to the last committed EventId of the engine."""

    def __init__(self, core: ClusterCore) -> None:
        self._core = core
        self._journal = core.journal
        self._listeners: list[CommitListener] = []
        self._lock = threading.Lock()
        core.engine.on_commit(self._committed)

    @property
    def last_event_id(self) -> int:
        return int(self._core.state.last_event_id)

    def _committed(self, stamped: Any) -> None:
        for listener in list(self._listeners):
            listener(list(stamped))

    def on_committed(self, listener: CommitListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def read(self, after: int, *, limit: int | None = None) -> Iterator[Stamped] | Problem:
        cap = self.last_event_id
        events = self._journal.read(after, limit=limit)
        if isinstance(events, Problem):
            return events
        return itertools.takewhile(lambda s: s.event_id <= cap, events)

    def read_lines(self, after: int, *, limit: int) -> Lines | Problem:
        return self._journal.read_lines(after, limit=limit, until=self.last_event_id)

    def cached_lines(self, after: int, *, limit: int) -> Lines | Problem | None:
        return self._journal.cached_lines(after, limit=limit, until=self.last_event_id)


def committed_view(core: ClusterCore) -> CommittedView:
    view = getattr(core, "_committed_view", None)
    if view is None:
        view = CommittedView(core)
        core._committed_view = view  # type: ignore[attr-defined]
    return view


def cluster_routes(node: ClusterNode, auth: Authenticator, *, prefix: str = PREFIX) -> list[BaseRoute]:
    """The cluster's routes under `prefix` (the Controller's API, or an Agent Director's `/agent/api`)."""

    def active_role() -> ActiveRole:
        role = node.role
        if not isinstance(role, ActiveRole) or role.engine.role_lost:
            got = node.active_core()
            assert isinstance(got, Problem)
            raise ProblemError(got)
        return role

    @auth.require("ReadState")
    async def get_cluster(request: Request, user: Any) -> Response:
        return json_response(node.info())

    @auth.require("Command")
    async def post_ack(request: Request, user: Any) -> Response:
        body = await read_json(request)
        if isinstance(body, Problem):
            return problem_response(body)
        node_id, event_id = (body.get("nodeId"), body.get("eventId")) if isinstance(body, dict) else (None, None)
        if not isinstance(node_id, str) or not isinstance(event_id, int) or isinstance(event_id, bool):
            return problem_response(problem("InvalidRequest", 'Expected {"nodeId": "…", "eventId": EventId}'))
        if set(body) - {"nodeId", "eventId"}:
            return problem_response(
                problem("InvalidRequest", f"Unknown fields {sorted(set(body) - {'nodeId', 'eventId'})}")
            )
        refused = active_role().acknowledged(node_id, event_id)
        if refused is not None:
            return problem_response(refused)
        return json_response({"TYPE": "Accepted"})

    @auth.require("Command")
    async def post_acks(request: Request, user: Any) -> Response:
        """The standby's acknowledgements as one streamed body, a line ``{"nodeId","eventId"}`` each:
        no HTTP request per acknowledgement (each one ends a commit's wait while Coupled).

        Every answer closes the connection: an answer that comes before the body ended (this node is
        not active, or stopped being active) must end the standby's request, which otherwise goes on
        sending into a connection nobody reads — and no acknowledgement would ever arrive again."""
        close = {"Connection": "close"}
        try:
            role = active_role()
        except ProblemError as e:
            return problem_response(e.problem, headers=close)
        rest = b""
        async for chunk in request.stream():
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                if not line.strip():
                    continue
                try:
                    obj = loads(line)
                    node_id, event_id = obj["nodeId"], obj["eventId"]
                    if not isinstance(node_id, str) or not isinstance(event_id, int) or isinstance(event_id, bool):
                        raise ValueError
                except (ValueError, KeyError, TypeError):
                    expected = problem("InvalidRequest", 'Expected lines {"nodeId": "…", "eventId": N}')
                    return problem_response(expected, headers=close)
                refused = role.acknowledged(node_id, event_id)
                if refused is not None:
                    return problem_response(refused, headers=close)
            if role.engine.role_lost:
                return problem_response(not_active_problem(None, None, "role lost"), headers=close)
        return json_response({"TYPE": "Accepted"}, headers=close)

    @auth.require("ReadState")
    async def get_journal(request: Request, user: Any) -> Response:
        role = active_role()
        query = dict(request.query_params)
        unknown = set(query) - {"after", "heartbeat", "nodeId"}
        try:
            after = int(query["after"])
            heartbeat = float(query.get("heartbeat", "1"))
            if unknown or not 0.01 <= heartbeat <= 60 or after < 0:
                raise ValueError
        except (KeyError, ValueError):
            return problem_response(problem("InvalidRequest", "Expected after=EventId&heartbeat=seconds[&nodeId=…]"))
        journal = role.journal
        if after > journal.last_event_id:
            return problem_response(
                problem("UnknownEventId", f"EventId {after} is not in the active node's journal", eventId=after)
            )
        first = journal.read_commit_lines(after, limit=COMMITS_PER_CHUNK)
        if isinstance(first, Problem):
            return problem_response(first)
        role.standby_reads(after)
        first_commits = list(first)
        header = {
            "TYPE": "ClusterJournalHeader",
            "journalId": journal.journal_id,
            "activeId": role.node_id,
            "eventId": journal.last_event_id,
        }
        signal = commit_signal(journal)

        async def stream() -> Any:
            yield (dumps(header) + "\n").encode()
            position = after
            commits = first_commits
            while not role.engine.role_lost:
                if commits:
                    yield encode_commits(commits)  # the journal's bytes, as its writer wrote them
                    position = commits[-1].last_event_id
                at_head = len(commits) < COMMITS_PER_CHUNK
                if at_head:
                    woke = await signal.wait(journal, position, heartbeat)
                    if not woke:
                        yield HEARTBEAT
                read = journal.read_commit_lines(position, limit=COMMITS_PER_CHUNK)
                if isinstance(read, Problem):
                    return
                # At the head the journal serves from memory: no thread hand-off on the commit's path.
                commits = list(read) if at_head else await asyncio.to_thread(list, read)

        return StreamingResponse(stream(), media_type=NDJSON, headers={"Cache-Control": "no-store"})

    @auth.require("ReadState")
    async def get_snapshot(request: Request, user: Any) -> Response:
        role = active_role()
        core = role.core
        # Exactly the state at its EventId: never one holding applied but uncommitted events.
        async with core.engine.quiesced() as state:
            header = {
                "TYPE": "ClusterSnapshotHeader",
                "journalId": role.journal.journal_id,
                "eventId": state.last_event_id,
            }
            objects = [header, *state.snapshot_objects()]
            role.standby_reads(state.last_event_id)  # it will read the journal after the snapshot

        async def lines() -> Any:
            for obj in objects:
                yield dumps(obj) + "\n"

        return StreamingResponse(lines(), media_type=NDJSON)

    return [
        Route(f"{prefix}/cluster", get_cluster, methods=["GET"]),
        Route(f"{prefix}/cluster/ack", post_ack, methods=["POST"]),
        Route(f"{prefix}/cluster/acks", post_acks, methods=["POST"]),
        Route(f"{prefix}/cluster/journal", get_journal, methods=["GET"]),
        Route(f"{prefix}/cluster/snapshot", get_snapshot, methods=["GET"]),
    ]


def switchover(node: ClusterNode) -> Callable[[], Any]:
    async def switch() -> Problem | None:
        role = node.role
        refused = node.active_core()  # only a ready active node that is not handing over switches over
        if isinstance(refused, Problem):
            return refused
        assert isinstance(role, ActiveRole)
        return await role.switch_over()

    return switch
