"""Orders: the list (filter by state, workflow, folder, time), adding an order from its workflow's
parameters, one order with its runs and the actions cancel, suspend, resume and answer a prompt — each
through the JOC API, with the audit comment the setting may require."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from js7es.nodes.cockpit.ui.forms import arguments_of, fields_of
from js7es.nodes.cockpit.ui.pages.dashboard import audit_log
from js7es.nodes.cockpit.ui.web import Ui, UiError, Viewer, changing, first, guarded, redirect

STATES = ("PENDING", "SCHEDULED", "INPROGRESS", "RUNNING", "SUSPENDED", "PROMPTING", "WAITING", "BLOCKED", "FAILED",
          "FINISHED", "CANCELLED")  # fmt: skip
LIMIT = 500


def order_filter(request: Request, viewer: Viewer) -> tuple[dict[str, Any], dict[str, str]]:
    """The API's /orders filter from the page's query (and the query itself, to keep in the form)."""
    q = {k: request.query_params.get(k, "").strip() for k in ("state", "workflow", "folder", "dateTo")}
    body: dict[str, Any] = {"controllerId": viewer.controller_id, "limit": LIMIT, "compact": True}
    if q["state"]:
        body["states"] = [q["state"].upper()]
    if q["workflow"]:
        body["workflowIds"] = [{"path": q["workflow"]}]
    if q["folder"]:
        body["folders"] = [{"folder": q["folder"], "recursive": True}]
    if q["dateTo"]:
        body["dateTo"] = q["dateTo"]
    return body, q


def routes(ui: Ui) -> list[Route]:
    async def orders_page(request: Request, viewer: Viewer) -> Response:
        body, q = order_filter(request, viewer)
        orders = await ui.call(request, viewer, "/orders", body)
        workflows = await ui.try_call(
            request, viewer, "/workflows", {"controllerId": viewer.controller_id, "compact": True}
        )
        return ui.page(
            request, "orders.html", viewer, "orders", q=q, states=STATES, orders=orders["orders"], limit=LIMIT,
            query=urlencode({k: v for k, v in q.items() if v}),
            workflows=sorted(w["path"] for w in workflows.body.get("workflows", [])) if workflows.ok else [],
        )  # fmt: skip

    async def orders_table(request: Request, viewer: Viewer) -> Response:
        body, q = order_filter(request, viewer)
        orders = await ui.call(request, viewer, "/orders", body)
        query = urlencode({k: v for k, v in q.items() if v})
        return ui.render("_orders.html", viewer=viewer, orders=orders["orders"], limit=LIMIT, query=query)

    async def workflow_of(request: Request, viewer: Viewer, path: str) -> dict[str, Any]:
        if not path:
            raise UiError(400, "Choose a workflow.")
        body = {"controllerId": viewer.controller_id, "workflowId": {"path": path}}
        answer = await ui.call(request, viewer, "/workflow", body)
        return dict(answer["workflow"])

    async def new_order_page(request: Request, viewer: Viewer) -> Response:
        path = request.query_params.get("workflow", "")
        workflow = await workflow_of(request, viewer, path)
        return ui.page(request, "order_new.html", viewer, "orders", workflow=workflow, fields=fields_of(workflow))

    async def add_order(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
        workflow = await workflow_of(request, viewer, first(form, "workflow"))
        order: dict[str, Any] = {
            "workflowPath": workflow["path"],
            "arguments": arguments_of(fields_of(workflow), form),
        }
        if name := first(form, "orderName").strip():
            order["orderName"] = name
        if at := first(form, "scheduledFor").strip():
            order["scheduledFor"] = at
            order["timeZone"] = first(form, "timeZone").strip() or "Etc/UTC"
        body = {"controllerId": viewer.controller_id, "orders": [order], **audit_log(form)}
        answer = await ui.call(request, viewer, "/orders/add", body)
        order_id = answer["orderIds"][0]
        # added=1: the Cockpit's projection may not show the order yet; the page waits for it (live)
        return redirect(
            f"/order?orderId={quote(order_id, safe='')}&added=1&notice=" + quote(f"Order {order_id} added.")
        )

    async def order_parts(request: Request, viewer: Viewer, order_id: str) -> dict[str, Any]:
        """The order's parts; an order just added (`added=1`) that the projection does not show yet is
        `pending` (its panel reloads on the next change) instead of unknown."""
        if not order_id:
            raise UiError(400, "Which order? (orderId is missing)")
        current = await ui.try_call(
            request, viewer, "/order", {"controllerId": viewer.controller_id, "orderId": order_id}
        )
        if not current.ok and current.code != "JOC-002":
            raise UiError(403 if current.status == 403 else 400, current.message)
        runs = await ui.call(
            request, viewer, "/orders/history", {"controllerId": viewer.controller_id, "orderId": order_id, "limit": 20}
        )
        if not current.ok and not runs["history"]:
            if request.query_params.get("added") == "1":
                return {"order_id": order_id, "order": None, "runs": [], "tasks": [], "pending": True}
            raise UiError(404, f"There is no order '{order_id}'.")
        latest = runs["history"][0] if runs["history"] else None
        tasks: list[dict[str, Any]] = []
        if latest is not None:
            detail = await ui.call(
                request,
                viewer,
                "/order/history",
                {"controllerId": viewer.controller_id, "historyId": latest["historyId"]},
            )
            tasks = [c["task"] for c in detail.get("children", []) if "task" in c]
        return {
            "order_id": order_id,
            "order": current.body if current.ok else None,
            "runs": runs["history"],
            "tasks": tasks,
        }

    async def order_page(request: Request, viewer: Viewer) -> Response:
        parts = await order_parts(request, viewer, request.query_params.get("orderId", ""))
        return ui.page(request, "order.html", viewer, "orders", **parts)

    async def order_state(request: Request, viewer: Viewer) -> Response:
        parts = await order_parts(request, viewer, request.query_params.get("orderId", ""))
        return ui.render("_order.html", viewer=viewer, **parts)

    def action(path: str, done: str, **extra: Any) -> Any:
        async def act(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
            order_id = first(form, "orderId")
            if not order_id:
                raise UiError(400, "Which order? (orderId is missing)")
            body: dict[str, Any] = {"controllerId": viewer.controller_id, "orderIds": [order_id], **audit_log(form)}
            if first(form, "kill") == "true":
                body["kill"] = True
            await ui.call(request, viewer, path, {**body, **extra})
            return redirect(f"/order?orderId={quote(order_id, safe='')}&notice=" + quote(f"{done} {order_id}."))

        return changing(ui, act)

    return [
        Route("/orders", guarded(ui, orders_page), methods=["GET"]),
        Route("/orders/table", guarded(ui, orders_table), methods=["GET"]),
        Route("/orders/new", guarded(ui, new_order_page), methods=["GET"]),
        Route("/orders/new", changing(ui, add_order), methods=["POST"]),
        Route("/order", guarded(ui, order_page), methods=["GET"]),
        Route("/order/state", guarded(ui, order_state), methods=["GET"]),
        Route("/order/cancel", action("/orders/cancel", "Cancel requested for"), methods=["POST"]),
        Route("/order/suspend", action("/orders/suspend", "Suspension requested for"), methods=["POST"]),
        Route("/order/resume", action("/orders/resume", "Resumption requested for"), methods=["POST"]),
        Route("/order/confirm", action("/orders/confirm", "Answered the prompt of"), methods=["POST"]),
    ]
