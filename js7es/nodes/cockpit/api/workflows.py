"""Workflows and Agents as the projection shows them (joc-cockpit.md §1.4 "Workflows", "Controllers and
agents"): /workflows, /workflow, /workflows/order_count (`sos:products:controller:workflows:view`, as
WorkflowsResourceImpl, WorkflowResourceImpl) and /agents (`sos:products:controller:agents:view`,
AgentsResourceStateImpl). A workflow outside the account's folders is invisible in lists, JOC-419 by path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import bad_request, delivered, folder_denied, not_exist, now_ms
from js7es.nodes.cockpit.api.models import ControllerId, Request, Response, String255
from js7es.nodes.cockpit.api.order_views import parent, survey_ms
from js7es.nodes.cockpit.api.orders import Folder, WorkflowId
from js7es.nodes.cockpit.api.reading import check_regex, folder_filter, query
from js7es.projections.cockpit.queries import agents, workflows

WORKFLOWS_VIEW = "sos:products:controller:workflows:view"
AGENTS_VIEW = "sos:products:controller:agents:view"


class WorkflowsFilter(Request):
    """workflow/workflowsFilter-schema.json"""

    controllerId: ControllerId
    workflowIds: list[WorkflowId] | None = None
    compact: bool = False
    folders: list[Folder] | None = None
    workflowTags: list[String255] | None = None
    orderTags: list[String255] | None = None
    states: list[str] | None = None
    instructionStates: list[str] | None = None
    regex: String255 | None = None
    agentNames: list[Annotated[str, StringConstraints(min_length=1, max_length=255)]] | None = None


class WorkflowFilter(Request):
    """workflow/workflowFilter-schema.json"""

    controllerId: ControllerId
    workflowId: WorkflowId
    compact: bool = False


class WorkflowIdsFilter(Request):
    """workflow/workflowIdsFilter-schema.json"""

    controllerId: ControllerId
    workflowIds: Annotated[list[WorkflowId], Field(min_length=1)]


class ReadAgents(Request):
    """agent/readAgents_v-schema.json"""

    controllerId: ControllerId
    agentIds: list[Annotated[str, StringConstraints(min_length=1, max_length=255)]] | None = None
    states: list[Literal["COUPLED", "RESETTING", "INITIALISED", "COUPLINGFAILED", "SHUTDOWN", "UNKNOWN"]] | None = None
    onlyVisibleAgents: bool = False
    compact: bool = False
    flat: bool = False


class Workflows(Response):
    """workflow/workflows-schema.json"""

    workflows: list[dict[str, Any]]


class Workflow(Response):
    """workflow/workflow-schema.json"""

    workflow: dict[str, Any]


class WorkflowsOrderCount(Response):
    """workflow/workflowsOrderCount-schema.json"""

    workflows: list[dict[str, Any]]
    numOfAllOrders: dict[str, int]


class Agents(Response):
    """agent/agents_v-schema.json"""

    agents: list[dict[str, Any]]


@API.post("/workflows", summary="The deployed workflows (from the projection)", request=WorkflowsFilter,
          response=Workflows, permission=WORKFLOWS_VIEW, controller_scoped=True)  # fmt: skip
async def list_workflows(call: Call, body: WorkflowsFilter) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    for name in ("workflowTags", "orderTags", "instructionStates"):
        if getattr(body, name):
            raise bad_request(f"{name}: not supported by js7es yet")
    check_regex(body.regex)
    answer = await query(
        call,
        workflows.list_workflows,
        controller_id,
        workflow_ids=[(w.path, w.versionId) for w in body.workflowIds or []],
        folders=folder_filter(call, controller_id, body.folders),
        regex=body.regex,
        agent_names=body.agentNames,
        compact=body.compact,
    )
    if body.states:  # a projected workflow is deployed: IN_SYNC, or SUSPENDED by a WorkflowPathControl
        answer["workflows"] = [w for w in answer["workflows"] if w["state"]["_text"] in body.states]
    return delivered(answer, survey_ms=await survey_ms(call, controller_id))


@API.post("/workflow", summary="One deployed workflow", request=WorkflowFilter, response=Workflow,
          permission=WORKFLOWS_VIEW, controller_scoped=True)  # fmt: skip
async def get_workflow(call: Call, body: WorkflowFilter) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    path, version = body.workflowId.path, body.workflowId.versionId
    if not call.folder_permitted(path if path.startswith("/") else "/" + path, controller_id):
        raise folder_denied(parent(path))
    found = await query(
        call,
        workflows.get_workflow,
        controller_id,
        path,
        version,
        folders=folder_filter(call, controller_id),
        compact=body.compact,
    )
    if found is None:
        raise not_exist(f"unknown workflow '{path}'{f' version {version}' if version else ''} at '{controller_id}'")
    return delivered({"workflow": found}, survey_ms=await survey_ms(call, controller_id))


@API.post("/workflows/order_count", summary="The number of orders per state of workflows",
          request=WorkflowIdsFilter, response=WorkflowsOrderCount, permission=WORKFLOWS_VIEW,
          controller_scoped=True)  # fmt: skip
async def order_count(call: Call, body: WorkflowIdsFilter) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    answer = await query(
        call,
        workflows.workflows_order_count,
        controller_id,
        now_ms=now_ms(),
        workflow_ids=[(w.path, w.versionId) for w in body.workflowIds],
        folders=folder_filter(call, controller_id),
    )
    return delivered(answer, survey_ms=await survey_ms(call, controller_id))


@API.post("/agents", summary="The Agents and their coupling states (from the projection)", request=ReadAgents,
          response=Agents, permission=AGENTS_VIEW, controller_scoped=True)  # fmt: skip
async def list_agents(call: Call, body: ReadAgents) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    answer = await query(call, agents.list_agents, controller_id, agent_ids=body.agentIds, states=body.states)
    return delivered(answer, survey_ms=await survey_ms(call, controller_id))
