"""Subagents and Subagent clusters (JS7's SubagentBundles) for the Cockpit (issue 16, joc-cockpit.md
§1.4): /agents/cluster reads the deployed bundles in JOC's shape (agent/subagentClusters-schema.json);
/agents/inventory/cluster/subagents/enable|disable and /agents/inventory/cluster/subagent/reset act on
deployed Subagents through the Controller's commands (EnableSubagents/DisableSubagents, which change
the SubagentItem's `disabled` as JOC's item update does, and JS7's ResetSubagent), audited.

JOC also keeps cluster Agents, Subagents and Subagent clusters in its inventory (store, deploy,
ordering); js7es deploys them as items (`js7es ctl deploy *.subagent.json *.subagentbundle.json`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import delivered, ok
from js7es.nodes.cockpit.api.models import Audited, ControllerId, OkResponse, Request, Response, String255
from js7es.nodes.cockpit.api.order_views import survey_ms
from js7es.nodes.cockpit.api.reading import query
from js7es.projections.cockpit.queries import agents

VIEW = "sos:products:controller:agents:view"
MANAGE = "sos:products:joc:administration:controllers:manage"
CATEGORY = "CONTROLLER"


class ReadSubagentClusters(Request):
    """agent/readSubagentClusters-schema.json"""

    controllerId: ControllerId
    agentIds: list[String255] | None = None
    subagentClusterIds: list[String255] | None = None


class SubagentClusters(Response):
    """agent/subagentClusters-schema.json"""

    subagentClusters: list[dict[str, Any]]


class SubagentIds(Audited):
    """agent/subagentsCommand-schema.json"""

    controllerId: ControllerId
    subagentIds: Annotated[list[String255], Field(min_length=1)]


class ResetSubagent(Audited):
    """agent/resetSubagent-schema.json"""

    controllerId: ControllerId
    subagentId: String255
    force: bool = False


@API.post(
    "/agents/cluster",
    summary="The deployed Subagent clusters (JS7's SubagentBundles) with their Subagents' priorities",
    request=ReadSubagentClusters,
    response=SubagentClusters,
    permission=VIEW,
    controller_scoped=True,
)
async def read_subagent_clusters(call: Call, body: ReadSubagentClusters) -> Any:
    controller_id = call.controller_id(body)
    answer = await query(
        call,
        agents.list_subagent_clusters,
        controller_id,
        agent_ids=body.agentIds,
        subagent_cluster_ids=body.subagentClusterIds,
    )
    return delivered(answer, survey_ms=await survey_ms(call, controller_id))


@API.post(
    "/agents/inventory/cluster/subagents/disable",
    summary="Disables Subagents: no new job starts on them; running processes go on",
    request=SubagentIds,
    response=OkResponse,
    permission=MANAGE,
)
async def disable_subagents(call: Call, body: SubagentIds) -> Any:
    await _send(call, body, {"TYPE": "DisableSubagents", "subagentIds": list(dict.fromkeys(body.subagentIds))})
    return ok()


@API.post(
    "/agents/inventory/cluster/subagents/enable",
    summary="Enables disabled Subagents: waiting jobs may start on them",
    request=SubagentIds,
    response=OkResponse,
    permission=MANAGE,
)
async def enable_subagents(call: Call, body: SubagentIds) -> Any:
    await _send(call, body, {"TYPE": "EnableSubagents", "subagentIds": list(dict.fromkeys(body.subagentIds))})
    return ok()


@API.post(
    "/agents/inventory/cluster/subagent/reset",
    summary="Resets a Subagent: its running processes are lost and their steps run again (JS7's ResetSubagent)",
    request=ResetSubagent,
    response=OkResponse,
    permission=MANAGE,
)
async def reset_subagent(call: Call, body: ResetSubagent) -> Any:
    await _send(call, body, {"TYPE": "ResetSubagent", "subagentId": body.subagentId, "force": body.force})
    return ok()


async def _send(call: Call, body: SubagentIds | ResetSubagent, command: dict[str, Any]) -> None:
    controller_id = call.controller_id(body)
    await call.services.controller_command(
        call.change_meta(body, controller_id),
        controller_id=controller_id,
        category=CATEGORY,
        parameters={"command": command["TYPE"], "commands": [command]},
        send=lambda client: client.command(command),
    )
