"""/agents from `agents` and the running tasks counted in `orders`; /agents/cluster (JOC's Subagent
clusters, JS7's SubagentBundles) from `subagent_bundles`.

An Agent's `subagents` are its SubagentItems (JOC's subagentV shape: isDirector PRIMARY_DIRECTOR,
SECONDARY_DIRECTOR or NO_DIRECTOR by the AgentRef's `directors`; runningTasks: its steps not ended).

An Agent's URL is its AgentRef's or else its Director's SubagentItem's; it is disabled when that
SubagentItem is (the Cockpit's /agents/inventory/disable).
JOC (AgentsResourceStateImpl.java) shows the Agent's coupling state: Coupled → COUPLED (severity 0),
Reset → INITIALISED (1, reason FRESH), and a coupling problem keeps the text and takes the connection
state's severity: 8 for a missing heartbeat (WITH_TEMPORARY_ERROR), else 2 (WITH_PERMANENT_ERROR),
with the problem as errorMessage. The request's state filter COUPLINGFAILED selects the Agents whose
coupling failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from js7es.domain.value import loads
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.queries.common import Db, connected

AG = schema.agents
SA = schema.subagents
SB = schema.subagent_bundles
ST = schema.order_steps
O = schema.orders  # noqa: E741

_FILTER: dict[str, ColumnElement[bool]] = {
    "COUPLED": AG.c.coupling == "Coupled",
    "INITIALISED": AG.c.coupling == "Reset",
    "COUPLINGFAILED": AG.c.coupling == "CouplingFailed",
    "RESETTING": sa.false(),
    "SHUTDOWN": sa.false(),
    "UNKNOWN": AG.c.coupling.not_in(["Coupled", "Reset", "CouplingFailed"]),
}


def agent_state(coupling: str, problem: str | None) -> dict[str, Any]:
    """agent/agentState-schema.json"""
    match coupling:
        case "Coupled":
            return {"severity": 0, "_text": "COUPLED"}
        case "Reset":
            return {"severity": 1, "_text": "INITIALISED", "_reason": "FRESH"}
        case "CouplingFailed":
            severity = 8 if problem and "missing heartbeat" in problem.lower() else 2
            return {"severity": severity, "_text": "COUPLED"}
    return {"severity": 4, "_text": "UNKNOWN"}


def list_agents(
    db: Db,
    controller_id: str,
    *,
    agent_ids: Sequence[str] | None = None,
    states: Sequence[str] | None = None,
) -> dict[str, Any]:
    """POST /agents (agent/readAgents_v-schema.json → agent/agents_v-schema.json without the dates)."""
    running = (
        sa.select(O.c.agent_path, sa.func.count().label("n"))
        .where(O.c.controller_id == controller_id, O.c.state == "Processing")
        .group_by(O.c.agent_path)
        .subquery()
    )
    where: list[ColumnElement[bool]] = [AG.c.controller_id == controller_id, sa.not_(AG.c.deleted)]
    if agent_ids:
        where.append(AG.c.agent_path.in_(sorted(set(agent_ids))))
    if states:
        where.append(sa.or_(*(_FILTER[s] for s in sorted(set(states)) if s in _FILTER)))
    query = (
        sa.select(AG, sa.func.coalesce(running.c.n, 0).label("running_tasks"))
        .select_from(AG.outerjoin(running, running.c.agent_path == AG.c.agent_path))
        .where(*where)
        .order_by(AG.c.agent_path)
    )
    agents = []
    with connected(db) as c:
        subagents = {
            r.subagent_id: r
            for r in c.execute(
                sa.select(SA.c.subagent_id, SA.c.agent_path, SA.c.uri, SA.c.disabled)
                .where(SA.c.controller_id == controller_id, sa.not_(SA.c.deleted))
                .order_by(SA.c.subagent_id)
            )
        }
        steps = {
            r.subagent_id: int(r.n)
            for r in c.execute(
                sa.select(ST.c.subagent_id, sa.func.count().label("n"))
                .where(ST.c.controller_id == controller_id, ST.c.ended_at.is_(None), ST.c.subagent_id.is_not(None))
                .group_by(ST.c.subagent_id)
            )
        }
        for row in c.execute(query):
            directors = loads(row.directors) if row.directors else []
            director = subagents.get(directors[0] if directors else row.agent_path)
            agent: dict[str, Any] = {
                "controllerId": controller_id,
                "agentId": row.agent_path,
                "agentName": row.agent_path,
                "url": row.uri or (director.uri if director is not None else ""),
                "state": agent_state(row.coupling, row.last_problem),
                "runningTasks": int(row.running_tasks),
                "disabled": director is not None and bool(director.disabled),
            }
            if row.process_limit is not None:
                agent["processLimit"] = row.process_limit
            if row.coupling == "CouplingFailed" and row.last_problem:
                agent["errorMessage"] = row.last_problem
            if directors:
                agent["subagents"] = [
                    _subagent(sub, directors, steps.get(sub.subagent_id, 0), agent["state"])
                    for sub in subagents.values()
                    if sub.agent_path == row.agent_path
                ]
            agents.append(agent)
    return {"agents": agents}


def _subagent(row: Any, directors: list[str], running: int, agent_state: dict[str, Any]) -> dict[str, Any]:
    """agent/subagentV-schema.json (a Subagent's own coupling is the Director's, not projected: a
    Director shows its Agent's state)"""
    role = ("PRIMARY_DIRECTOR", "SECONDARY_DIRECTOR")
    is_director = role[directors.index(row.subagent_id)] if row.subagent_id in directors[:2] else "NO_DIRECTOR"
    subagent: dict[str, Any] = {
        "agentId": row.agent_path,
        "subagentId": row.subagent_id,
        "url": row.uri,
        "isDirector": is_director,
        "disabled": bool(row.disabled),
        "runningTasks": running,
    }
    if is_director != "NO_DIRECTOR":
        subagent["state"] = agent_state
    return subagent


def list_subagent_clusters(
    db: Db,
    controller_id: str,
    *,
    agent_ids: Sequence[str] | None = None,
    subagent_cluster_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """POST /agents/cluster (agent/readSubagentClusters-schema.json → agent/subagentClusters-schema.json):
    each bundle with the Agent of its Subagents and each Subagent's priority (a number or an expression)."""
    with connected(db) as c:
        owner = {
            r.subagent_id: r.agent_path
            for r in c.execute(
                sa.select(SA.c.subagent_id, SA.c.agent_path).where(
                    SA.c.controller_id == controller_id, sa.not_(SA.c.deleted)
                )
            )
        }
        where: list[ColumnElement[bool]] = [SB.c.controller_id == controller_id, sa.not_(SB.c.deleted)]
        if subagent_cluster_ids:
            where.append(SB.c.bundle_id.in_(sorted(set(subagent_cluster_ids))))
        rows = list(c.execute(sa.select(SB).where(*where).order_by(SB.c.bundle_id)))
    clusters = []
    wanted = set(agent_ids or ())
    for ordering, row in enumerate(rows):
        priorities: dict[str, Any] = loads(row.priorities)
        agent_id = next((owner[i] for i in priorities if i in owner), None)
        if wanted and agent_id not in wanted:
            continue
        clusters.append(
            {
                "controllerId": controller_id,
                "agentId": agent_id,
                "subagentClusterId": row.bundle_id,
                "deployed": True,
                "ordering": ordering,
                "subagentIds": [{"subagentId": i, "priority": str(p)} for i, p in priorities.items()],
            }
        )
    return {"subagentClusters": clusters}
