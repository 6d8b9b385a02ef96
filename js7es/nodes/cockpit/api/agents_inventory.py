"""Standalone Agents in the inventory (joc-cockpit.md §1.4): /agents/inventory (read), /agents/inventory/store,
/agents/inventory/deploy and /agents/inventory/disable|enable, with JOC's shapes (js7-api-schemas
`agent/storeAgents-schema.json`, example `api/examples/agent/store-example.json`; `agent/deployAgents-schema.json`,
`agent/readAgents-schema.json`, `agent/singleAgents-schema.json`) and JOC's permission (sos-components
AgentsStoreImpl, AgentsStandaloneDeployImpl: administration:controllers:manage; reading: :view).

An Agent is an inventory object of type AGENT keyed by its agentId (its configuration is JOC's agent
JSON with the controllerId); deploying it sends an AgentRef and its director SubagentItem (the
subagentId is the agentId, as JOC does for a standalone Agent), through the same audited, reconciled
deployment as workflows.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.inventory import AGENT, UPDATE
from js7es.domain.value import value_from_json, value_to_json
from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.deployment import deploy_to
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import bad_request, delivered, not_exist, ok
from js7es.nodes.cockpit.api.models import Audited, ControllerId, OkResponse, Request, Response, String255

MANAGE = "sos:products:joc:administration:controllers:manage"
VIEW = "sos:products:joc:administration:controllers:view"


class Agent(Request):
    """agent/agent-schema.json (the fields of a standalone Agent)"""

    agentId: String255
    agentName: String255
    url: Annotated[str, Field(min_length=1, max_length=255)]
    title: String255 | None = None
    processLimit: int | None = None
    disabled: bool = False
    hidden: bool = False
    agentNameAliases: list[String255] | None = None
    deployed: bool | None = None
    syncState: Any = None
    ordering: int | None = None
    version: String255 | None = None


class StoreAgents(Audited):
    """agent/storeAgents-schema.json"""

    controllerId: ControllerId
    agents: list[Agent]
    update: bool = False


class DeployAgents(Audited):
    """agent/deployAgents-schema.json"""

    controllerId: ControllerId
    agentIds: Annotated[list[String255], Field(min_length=1)]


class ReadInventoryAgents(Request):
    """agent/readAgents-schema.json"""

    controllerId: ControllerId | None = None
    agentIds: list[String255] | None = None
    onlyVisibleAgents: bool = False


class InventoryAgents(Response):
    """agent/singleAgents-schema.json"""

    deliveryDate: str
    agents: list[Agent] = []


@API.post(
    "/agents/inventory",
    summary="The standalone Agents of the inventory as stored (disabled, hidden, deployed)",
    request=ReadInventoryAgents,
    response=InventoryAgents,
    permission=VIEW,
)
async def read_agents(call: Call, body: ReadInventoryAgents) -> Any:
    wanted = set(body.agentIds or ())
    agents = []
    for obj in sorted(call.services.store.inventory().objects.values(), key=lambda o: o.name):
        configuration = value_to_json(obj.configuration) if obj.configuration is not None else {}
        controller_id = configuration.get("controllerId")
        if obj.object_type != AGENT or obj.deleted or (wanted and obj.name not in wanted):
            continue
        if (body.controllerId and controller_id != body.controllerId) or (
            body.onlyVisibleAgents and configuration.get("hidden")
        ):
            continue
        agents.append(
            {
                **{k: v for k, v in configuration.items() if k in Agent.model_fields},
                "controllerId": controller_id,
                "disabled": bool(configuration.get("disabled", False)),
                "hidden": bool(configuration.get("hidden", False)),
                "deployed": controller_id in obj.deployments,
            }
        )
    return delivered({"agents": agents})


@API.post(
    "/agents/inventory/store",
    summary="Stores standalone Agents for a Controller (not deployed yet)",
    request=StoreAgents,
    response=OkResponse,
    permission=MANAGE,
)
async def store_agents(call: Call, body: StoreAgents) -> Any:
    controller_id = call.controller_id(body)
    ids = [a.agentId for a in body.agents]
    if len(set(ids)) != len(ids) or len({a.url for a in body.agents}) != len(ids):
        raise bad_request("agentIds and urls must be unique")
    inventory = call.services.store.inventory()
    for agent in body.agents:
        known = inventory.object(AGENT, agent.agentId)
        if known is not None and known.configuration.get("controllerId") != controller_id:
            raise bad_request(
                f"Agent '{agent.agentId}' is assigned to Controller '{known.configuration.get('controllerId')}'"
            )
    meta = call.change_meta(body, controller_id)
    for agent in body.agents:
        configuration = {
            "controllerId": controller_id,
            **agent.model_dump(exclude_none=True, exclude={"deployed", "syncState"}),
        }
        await call.services.execute(
            keys.inventory(AGENT, agent.agentId),
            cmd.StoreInventoryObject(path=f"/{agent.agentId}", configuration=value_from_json(configuration)),  # type: ignore[arg-type]
            meta,
        )
    return ok()


@API.post(
    "/agents/inventory/deploy",
    summary="Deploys standalone Agents to their Controller (AgentRef + director SubagentItem)",
    request=DeployAgents,
    response=OkResponse,
    permission=MANAGE,
)
async def deploy_agents(call: Call, body: DeployAgents) -> Any:
    controller_id = call.controller_id(body)
    inventory = call.services.store.inventory()
    missing = [
        a
        for a in body.agentIds
        if (o := inventory.object(AGENT, a)) is None or o.configuration.get("controllerId") != controller_id
    ]
    if missing:
        raise not_exist(f"The Agents {missing} are not assigned to Controller '{controller_id}'")
    items = [cmd.DeploymentItem(object_type=AGENT, name=a) for a in dict.fromkeys(body.agentIds)]
    await deploy_to(call, call.change_meta(body, controller_id), controller_id, UPDATE, items)
    return ok()


@API.post(
    "/agents/inventory/disable",
    summary="Disables standalone Agents at their Controller: their jobs do not start until enabled again",
    request=DeployAgents,
    response=OkResponse,
    permission=MANAGE,
)
async def disable_agents(call: Call, body: DeployAgents) -> Any:
    await _set_disabled(call, body, disabled=True)
    return ok()


@API.post(
    "/agents/inventory/enable",
    summary="Enables disabled standalone Agents at their Controller: their waiting jobs start",
    request=DeployAgents,
    response=OkResponse,
    permission=MANAGE,
)
async def enable_agents(call: Call, body: DeployAgents) -> Any:
    await _set_disabled(call, body, disabled=False)
    return ok()


async def _set_disabled(call: Call, body: DeployAgents, *, disabled: bool) -> None:
    """The inventory's `disabled` of each Agent, then — for the Agents deployed to the Controller — its
    director SubagentItem with that flag, in one deployment (all or nothing at the Controller). An Agent
    that is not deployed yet keeps the flag for its first deployment. Sent again when the flag is
    already set, so that a request repeated after a failed deployment brings the Controller in line."""
    controller_id = call.controller_id(body)
    agent_ids = list(dict.fromkeys(body.agentIds))
    inventory = call.services.store.inventory()
    objects = {a: inventory.object(AGENT, a) for a in agent_ids}
    missing = [a for a, o in objects.items() if o is None or o.configuration.get("controllerId") != controller_id]
    if missing:
        raise not_exist(f"The Agents {missing} are not assigned to Controller '{controller_id}'")
    meta = call.change_meta(body, controller_id)
    deployed = []
    for agent_id, obj in objects.items():
        assert obj is not None  # checked above
        configuration = value_to_json(obj.configuration)
        if bool(configuration.get("disabled", False)) != disabled:
            await call.services.execute(
                keys.inventory(AGENT, agent_id),
                cmd.StoreInventoryObject(
                    path=obj.path,
                    configuration=value_from_json({**configuration, "disabled": disabled}),  # type: ignore[arg-type]
                ),
                meta,
            )
        if controller_id in obj.deployments:
            deployed.append(cmd.DeploymentItem(object_type=AGENT, name=agent_id))
    if deployed:
        await deploy_to(call, meta, controller_id, UPDATE, deployed)
