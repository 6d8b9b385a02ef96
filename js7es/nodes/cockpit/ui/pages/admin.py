"""Agents, the audit log, and the accounts and roles of the identity service (for an administrator)."""

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

    async def accounts_page(request: Request, viewer: Viewer) -> Response:
        services = await ui.call(request, viewer, "/iam/identityservices", {})
        names = [s["identityServiceName"] for s in services.get("identityServiceItems", [])]
        accounts: list[dict[str, Any]] = []
        roles: list[dict[str, Any]] = []
        for name in names:
            accounts += (await ui.call(request, viewer, "/iam/accounts", {"identityServiceName": name})).get(
                "accountItems", []
            )
            roles += (await ui.call(request, viewer, "/iam/roles", {"identityServiceName": name})).get("roles", [])
        sessions = await ui.try_call(request, viewer, "/iam/sessions", {})
        return ui.page(
            request, "accounts.html", viewer, "accounts", services=names, accounts=accounts, roles=roles,
            sessions=sessions.body.get("activeSessions", []) if sessions.ok else [],
        )  # fmt: skip

    return [
        Route("/agents", guarded(ui, agents_page), methods=["GET"]),
        Route("/audit", guarded(ui, audit_page), methods=["GET"]),
        Route("/accounts", guarded(ui, accounts_page), methods=["GET"]),
    ]
