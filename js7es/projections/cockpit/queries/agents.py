"""/agents from `agents` and the running tasks counted in `orders`.

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
                sa.select(SA.c.subagent_id, SA.c.uri, SA.c.disabled).where(
                    SA.c.controller_id == controller_id, sa.not_(SA.c.deleted)
                )
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
                agent["subagents"] = []  # the Subagents' own states are not projected yet
            agents.append(agent)
    return {"agents": agents}
