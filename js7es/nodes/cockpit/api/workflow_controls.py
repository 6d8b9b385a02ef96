"""The operator's controls of workflows (joc-cockpit.md §1.4 "Workflows"), each one audited Controller call:

- ``/workflows/suspend``, ``/workflows/resume`` (workflow/modifyWorkflows-schema.json): ControlWorkflowPath
  with ``suspend`` for each selected workflow; JOC's permission ``controller:orders:suspend_resume``
  (sos-components WorkflowsModifyImpl). As JOC, only the workflows not yet suspended (resumed) are sent;
  none left is JOC-002 "No unsuspended (suspended) workflows found.".
- ``/workflow/skip``, ``/workflow/unskip`` (modifyWorkflowLabels-schema.json): ControlWorkflowPath with
  ``skip: {label: true|false}``; ``/workflow/stop``, ``/workflow/unstop`` (modifyWorkflowPositions): the
  breakpoints of one workflow version, ControlWorkflow ``addBreakpoints``/``removeBreakpoints``;
  ``/workflow/transition`` (modifyWorkflow): TransferOrders, the orders of an older version go on in the
  current one. JOC's permission for these: ``controller:orders:manage_positions`` (AWorkflowModify).

Checks before the command, with JOC's messages (WorkflowLabelsModifyImpl): the workflow at the Controller, the
labels in one of its versions, a label already skipped (not skipped) for skip (unskip). A position given
as a label is the labelled instruction's position. The account's folders: a workflow named outside them is
JOC-419; a folder or `all` selection leaves such workflows out. Several workflows are one audited call of
several commands, sent in order (JOC sends one Batch, which is not all or nothing either).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from js7es.nodes.cockpit.api import selection
from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.controller_state import ControllerView, controller_view
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import bad_request, folder_denied, not_exist, ok
from js7es.nodes.cockpit.api.models import Audited, ControllerId, OkResponse, Request, String255
from js7es.nodes.cockpit.api.orders import Folder, Position

SUSPEND_RESUME = "sos:products:controller:orders:suspend_resume"
MANAGE_POSITIONS = "sos:products:controller:orders:manage_positions"
CATEGORY = "CONTROLLER"


class ModifyWorkflows(Audited):
    """workflow/modifyWorkflows-schema.json"""

    controllerId: ControllerId
    workflowPaths: list[String255] | None = None
    folders: list[Folder] | None = None
    workflowTags: list[String255] | None = None
    all: bool = False


class ModifyWorkflowLabels(Audited):
    """workflow/modifyWorkflowLabels-schema.json"""

    controllerId: ControllerId
    workflowPath: String255
    labels: Annotated[list[String255], Field(min_length=1)]


class WorkflowIdOptionalVersion(Request):
    """controller workflow/workflowId-schema.json (without versionId: the current version)"""

    path: String255
    versionId: String255 | None = None


class ModifyWorkflow(Audited):
    """workflow/modifyWorkflow-schema.json"""

    controllerId: ControllerId
    workflowId: WorkflowIdOptionalVersion


class ModifyWorkflowPositions(ModifyWorkflow):
    """workflow/modifyWorkflowPositions-schema.json"""

    positions: Annotated[list[Position | String255], Field(min_length=1)]


def name_of(path: str) -> str:
    """JOC's pathToName: the last part of a path."""
    return path.rstrip("/").rsplit("/", 1)[-1]


async def _send(call: Call, body: Audited, controller_id: str, commands: list[dict[str, Any]], what: str) -> None:
    def send(client: Any) -> None:
        for command in commands:
            client.command(command)

    await call.services.controller_command(
        call.change_meta(body, controller_id),
        controller_id=controller_id,
        category=CATEGORY,
        parameters={"command": commands[0]["TYPE"], what: [_subject(c) for c in commands], "commands": commands},
        send=send,
    )


def _subject(command: dict[str, Any]) -> Any:
    return command.get("workflowPath") or command.get("workflowId")


async def _joc_paths(call: Call, controller_id: str) -> dict[str, str]:
    return await call.in_thread(selection.current_workflows, call.services.engine, controller_id)


async def _selected_workflows(call: Call, body: ModifyWorkflows, controller_id: str, view: ControllerView) -> list[str]:
    joc_paths = await _joc_paths(call, controller_id)

    def path_of(name: str) -> str:
        return joc_paths.get(name, "/" + name)

    current = sorted(view.current_versions)
    if body.all:
        return [w for w in current if call.folder_permitted(path_of(w), controller_id)]
    if body.workflowPaths:
        names = list(dict.fromkeys(name_of(p) for p in body.workflowPaths))
        for name in names:
            if not call.folder_permitted(path_of(name), controller_id):
                raise folder_denied(path_of(name).rsplit("/", 1)[0] or "/")
        return [n for n in names if n in view.current_versions]
    if body.folders:
        return [
            w
            for w in current
            if call.folder_permitted(path_of(w), controller_id)
            and any(selection._in_folder(path_of(w), f.folder, f.recursive) for f in body.folders)
        ]
    return []


async def _suspend_or_resume(call: Call, body: ModifyWorkflows, suspend: bool) -> Any:
    if body.workflowTags:
        raise bad_request("workflowTags: js7es has no workflow tags")
    if not (body.all or body.workflowPaths or body.folders):
        raise bad_request("give workflowPaths, folders or all")
    controller_id = call.controller_id(body)
    view = await controller_view(call, controller_id)
    workflows = [
        w for w in await _selected_workflows(call, body, controller_id, view) if view.is_suspended(w) != suspend
    ]
    if not workflows:
        raise not_exist("No unsuspended workflows found." if suspend else "No suspended workflows found.")
    commands = [{"TYPE": "ControlWorkflowPath", "workflowPath": w, "suspend": suspend} for w in workflows]
    await _send(call, body, controller_id, commands, "workflowPaths")
    return ok(view.survey_ms)


@API.post(
    "/workflows/suspend",
    summary="Suspends workflows: their orders stop before the next instruction, new ones do not start",
    request=ModifyWorkflows,
    response=OkResponse,
    permission=SUSPEND_RESUME,
    controller_scoped=True,
)
async def suspend_workflows(call: Call, body: ModifyWorkflows) -> Any:
    return await _suspend_or_resume(call, body, True)


@API.post(
    "/workflows/resume",
    summary="Resumes suspended workflows",
    request=ModifyWorkflows,
    response=OkResponse,
    permission=SUSPEND_RESUME,
    controller_scoped=True,
)
async def resume_workflows(call: Call, body: ModifyWorkflows) -> Any:
    return await _suspend_or_resume(call, body, False)


async def _existing(call: Call, controller_id: str, path: str, view: ControllerView) -> str:
    name = name_of(path)
    joc_path = (await _joc_paths(call, controller_id)).get(name, "/" + name)
    call.require_folder(joc_path, controller_id)
    if name not in view.current_versions:
        raise not_exist(f"Couldn't find the Workflow '{name}'.")
    return name


async def _skip_or_unskip(call: Call, body: ModifyWorkflowLabels, skip: bool) -> Any:
    controller_id = call.controller_id(body)
    view = await controller_view(call, controller_id)
    name = await _existing(call, controller_id, body.workflowPath, view)
    known: set[str] = set()
    for version in view.versions_of(name):
        workflow = view.workflow(name, version)
        if workflow is not None:
            known |= workflow.labels.keys()
    requested = list(dict.fromkeys(body.labels))
    unknown = [label for label in requested if label not in known]
    if len(unknown) == 1:
        raise not_exist(f"Couldn't find an instruction with the label '{unknown[0]}' in the Workflow '{name}'.")
    if unknown:
        raise not_exist(f"Couldn't find instructions with the labels {unknown} in the workflow '{name}'.")
    skipped = view.skipped(name)
    labels = [label for label in requested if (label not in skipped) == skip]
    if not labels:
        raise bad_request(
            "All requested labels are already skipped." if skip else "None of the requested labels are skipped."
        )
    command = {"TYPE": "ControlWorkflowPath", "workflowPath": name, "skip": dict.fromkeys(labels, skip)}
    await _send(call, body, controller_id, [command], "workflowPaths")
    return ok(view.survey_ms)


@API.post(
    "/workflow/skip",
    summary="Skips the labelled instructions of a workflow (all its versions)",
    request=ModifyWorkflowLabels,
    response=OkResponse,
    permission=MANAGE_POSITIONS,
    controller_scoped=True,
)
async def skip_labels(call: Call, body: ModifyWorkflowLabels) -> Any:
    return await _skip_or_unskip(call, body, True)


@API.post(
    "/workflow/unskip",
    summary="Runs skipped labelled instructions again",
    request=ModifyWorkflowLabels,
    response=OkResponse,
    permission=MANAGE_POSITIONS,
    controller_scoped=True,
)
async def unskip_labels(call: Call, body: ModifyWorkflowLabels) -> Any:
    return await _skip_or_unskip(call, body, False)


async def _version(call: Call, body: ModifyWorkflow, controller_id: str, view: ControllerView) -> dict[str, str]:
    name = await _existing(call, controller_id, body.workflowId.path, view)
    version = body.workflowId.versionId or view.current_versions[name]
    if (name, version) not in view.workflows:
        raise not_exist(f"Couldn't find the Workflow '{name}' in version '{version}'.")
    return {"path": name, "versionId": version}


async def _stop_or_unstop(call: Call, body: ModifyWorkflowPositions, stop: bool) -> Any:
    controller_id = call.controller_id(body)
    view = await controller_view(call, controller_id)
    workflow_id = await _version(call, body, controller_id, view)
    workflow = view.workflow(workflow_id["path"], workflow_id["versionId"])
    assert workflow is not None
    positions: list[list[int | str]] = []
    for nr, given in enumerate(body.positions):
        if isinstance(given, str):
            if given not in workflow.labels:
                raise not_exist(
                    f"positions[{nr}]: no instruction labelled '{given}' in the Workflow '{workflow.path}'."
                )
            positions.append(list(workflow.labels[given]))
        elif not workflow.is_valid_position(tuple(given)):
            raise bad_request(f"positions[{nr}]: {given} is no position of the Workflow '{workflow.path}'")
        else:
            positions.append(list(given))
    key = "addBreakpoints" if stop else "removeBreakpoints"
    command = {"TYPE": "ControlWorkflow", "workflowId": workflow_id, key: positions}
    await _send(call, body, controller_id, [command], "workflowIds")
    return ok(view.survey_ms)


@API.post(
    "/workflow/stop",
    summary="Stops orders at positions of a workflow version (breakpoints)",
    request=ModifyWorkflowPositions,
    response=OkResponse,
    permission=MANAGE_POSITIONS,
    controller_scoped=True,
)
async def stop_positions(call: Call, body: ModifyWorkflowPositions) -> Any:
    return await _stop_or_unstop(call, body, True)


@API.post(
    "/workflow/unstop",
    summary="Removes breakpoints of a workflow version",
    request=ModifyWorkflowPositions,
    response=OkResponse,
    permission=MANAGE_POSITIONS,
    controller_scoped=True,
)
async def unstop_positions(call: Call, body: ModifyWorkflowPositions) -> Any:
    return await _stop_or_unstop(call, body, False)


@API.post(
    "/workflow/transition",
    summary="Transfers the orders of an older workflow version to the current one (TransferOrders)",
    request=ModifyWorkflow,
    response=OkResponse,
    permission=MANAGE_POSITIONS,
    controller_scoped=True,
)
async def transition(call: Call, body: ModifyWorkflow) -> Any:
    if not body.workflowId.versionId:
        raise bad_request("workflowId.versionId: the older version whose orders go to the current one")
    controller_id = call.controller_id(body)
    view = await controller_view(call, controller_id)
    workflow_id = await _version(call, body, controller_id, view)
    command = {"TYPE": "TransferOrders", "workflowId": workflow_id}
    await _send(call, body, controller_id, [command], "workflowIds")
    return ok(view.survey_ms)
