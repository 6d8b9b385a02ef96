"""Agents and the audit log (the accounts and roles are in accounts.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from js7es.nodes.cockpit.ui.pages.dashboard import audit_log
from js7es.nodes.cockpit.ui.web import Ui, UiError, Viewer, changing, first, guarded, redirect


def routes(ui: Ui) -> list[Route]:
    async def agents_parts(request: Request, viewer: Viewer) -> dict[str, Any]:
        agents = await ui.call(request, viewer, "/agents", {"controllerId": viewer.controller_id})
        return {"agents": agents["agents"], "manage": viewer.may_joc("administration", "controllers", "manage")}

    async def agents_page(request: Request, viewer: Viewer) -> Response:
        return ui.page(request, "agents.html", viewer, "agents", **await agents_parts(request, viewer))

    async def agents_table(request: Request, viewer: Viewer) -> Response:
        return ui.render("_agents.html", viewer=viewer, **await agents_parts(request, viewer))

    def agent_action(path: str, done: str) -> Any:
        async def act(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
            agent_id = first(form, "agentId")
            if not agent_id:
                raise UiError(400, "Which Agent? (agentId is missing)")
            body = {"controllerId": viewer.controller_id, "agentIds": [agent_id], **audit_log(form)}
            await ui.call(request, viewer, path, body)
            return redirect("/agents?notice=" + quote(f"{done} {agent_id}."))

        return changing(ui, act)

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
        Route("/agents/table", guarded(ui, agents_table), methods=["GET"]),
        Route("/agent/disable", agent_action("/agents/inventory/disable", "Disabled the Agent"), methods=["POST"]),
        Route("/agent/enable", agent_action("/agents/inventory/enable", "Enabled the Agent"), methods=["POST"]),
        Route("/audit", guarded(ui, audit_page), methods=["GET"]),
    ]
