"""Order history: the runs (filtered by outcome and time), one run's step timeline (its tasks and child
orders, from /order/history), and the task log viewer, which tails a running task live (live.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from js7es.nodes.cockpit.ui.web import Ui, UiError, Viewer, guarded

OUTCOMES = ("SUCCESSFUL", "INCOMPLETE", "FAILED")


def _number(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UiError(400, f"{name} must be a number, not '{text[:40]}'.") from None
    if value < 0:
        raise UiError(400, f"{name} must not be negative.")
    return value


def routes(ui: Ui) -> list[Route]:
    async def history_page(request: Request, viewer: Viewer) -> Response:
        q = {k: request.query_params.get(k, "").strip() for k in ("outcome", "workflow", "dateFrom")}
        body: dict[str, Any] = {"controllerId": viewer.controller_id, "limit": 200}
        if q["outcome"]:
            body["historyStates"] = [q["outcome"].upper()]
        if q["workflow"]:
            body["workflowPath"] = q["workflow"]
        if q["dateFrom"]:
            body["dateFrom"] = q["dateFrom"]
        runs = await ui.call(request, viewer, "/orders/history", body)
        return ui.page(request, "history.html", viewer, "history", q=q, outcomes=OUTCOMES, runs=runs["history"])

    async def run_page(request: Request, viewer: Viewer) -> Response:
        history_id = _number(request.query_params.get("historyId", ""), "historyId")
        body = {"controllerId": viewer.controller_id, "historyId": history_id}
        run = await ui.call(request, viewer, "/order/history", body)
        log = await ui.try_call(request, viewer, "/order/log", body)
        return ui.page(
            request, "run.html", viewer, "history", run=run, events=log.body.get("logEvents", []) if log.ok else []
        )

    async def log_page(request: Request, viewer: Viewer) -> Response:
        task_id = _number(request.query_params.get("taskId", ""), "taskId")
        body = {"controllerId": viewer.controller_id, "taskId": task_id, "eventId": max(task_id - 1, 0)}
        log = await ui.call(request, viewer, "/task/log/running", body)
        tasks = await ui.try_call(
            request, viewer, "/tasks/history", {"controllerId": viewer.controller_id, "taskIds": [task_id]}
        )
        task = tasks.body["history"][0] if tasks.ok and tasks.body.get("history") else None
        return ui.page(request, "log.html", viewer, "history", task_id=task_id, log=log, task=task)

    return [
        Route("/history", guarded(ui, history_page), methods=["GET"]),
        Route("/history/order", guarded(ui, run_page), methods=["GET"]),
        Route("/log", guarded(ui, log_page), methods=["GET"]),
    ]
