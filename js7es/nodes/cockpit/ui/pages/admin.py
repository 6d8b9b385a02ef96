"""Agents and the audit log (the accounts and roles are in accounts.py)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from js7es.nodes.cockpit.ui.web import Ui, Viewer, guarded


def routes(ui: Ui) -> list[Route]:
    async def agents_page(request: Request, viewer: Viewer) -> Response:
        agents = await ui.call(request, viewer, "/agents", {"controllerId": viewer.controller_id})
        return ui.page(request, "agents.html", viewer, "agents", agents=agents["agents"])

    async def audit_page(request: Request, viewer: Viewer) -> Response:
        q = {k: request.query_params.get(k, "").strip() for k in ("account", "dateFrom", "comment")}
        body: dict[str, Any] = {"limit": 200}
        if q["account"]:
            body["account"] = q["account"]
        if q["dateFrom"]:
            body["dateFrom"] = q["dateFrom"]
        if q["comment"]:
            body["comment"] = q["comment"]
        entries = await ui.call(request, viewer, "/audit_log", body)
        return ui.page(request, "audit.html", viewer, "audit", q=q, entries=entries.get("auditLog", []))

    return [
        Route("/agents", guarded(ui, agents_page), methods=["GET"]),
        Route("/audit", guarded(ui, audit_page), methods=["GET"]),
    ]
