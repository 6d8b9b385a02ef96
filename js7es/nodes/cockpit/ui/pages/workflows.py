"""Workflows: the deployed ones with their order counts, and each one drawn (graph.py) with the number of
current orders at each position, redrawn when the projection commits."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from js7es.nodes.cockpit.ui.graph import workflow_svg
from js7es.nodes.cockpit.ui.web import Ui, UiError, Viewer, guarded


def routes(ui: Ui) -> list[Route]:
    async def workflows_page(request: Request, viewer: Viewer) -> Response:
        cid = viewer.controller_id
        workflows = (await ui.call(request, viewer, "/workflows", {"controllerId": cid, "compact": True}))["workflows"]
        counts: dict[str, Any] = {}
        if workflows:
            ids = [{"path": w["path"], "versionId": w["versionId"]} for w in workflows]
            answer = await ui.call(request, viewer, "/workflows/order_count", {"controllerId": cid, "workflowIds": ids})
            counts = {w["path"]: w["numOfOrders"] for w in answer["workflows"]}
        return ui.page(request, "workflows.html", viewer, "workflows", workflows=workflows, counts=counts)

    async def graph(request: Request, viewer: Viewer) -> dict[str, Any]:
        path = request.query_params.get("path", "")
        if not path:
            raise UiError(400, "Which workflow? (path is missing)")
        cid = viewer.controller_id
        found = await ui.call(request, viewer, "/workflow", {"controllerId": cid, "workflowId": {"path": path}})
        workflow = found["workflow"]
        orders = await ui.call(
            request, viewer, "/orders", {"controllerId": cid, "workflowIds": [{"path": path}], "compact": True}
        )
        at = Counter(o["positionString"] for o in orders["orders"])
        title = f"Workflow {workflow['path']}: {sum(at.values())} current order(s)"
        return {"workflow": workflow, "svg": workflow_svg(workflow, at, title=title), "at": sorted(at.items())}

    async def workflow_page(request: Request, viewer: Viewer) -> Response:
        return ui.page(request, "workflow.html", viewer, "workflows", **await graph(request, viewer))

    async def graph_fragment(request: Request, viewer: Viewer) -> Response:
        return ui.render("_workflow.html", viewer=viewer, **await graph(request, viewer))

    return [
        Route("/workflows", guarded(ui, workflows_page), methods=["GET"]),
        Route("/workflow", guarded(ui, workflow_page), methods=["GET"]),
        Route("/workflow/graph", guarded(ui, graph_fragment), methods=["GET"]),
    ]
