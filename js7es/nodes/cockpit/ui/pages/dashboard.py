"""The dashboard: orders by state, running tasks, Agents, the Controller cluster with its switchover,
recent failures, and the throughput of the last hour as a sparkline (js7es's /orders/overview/throughput:
sixty counts, where reading the hour's runs through /orders/history carried up to 10,000 of them) — each
panel from one API call, refreshed when the projection commits (sse:changed)."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from js7es.nodes.cockpit.ui.svg import bar, sparkline
from js7es.nodes.cockpit.ui.web import Ui, Viewer, changing, first, guarded, redirect

STATES = ("pending", "scheduled", "inProgress", "running", "suspended", "prompting", "waiting", "blocked", "failed")
MINUTES = 60


async def panels(ui: Ui, request: Request, viewer: Viewer) -> dict[str, Any]:
    cid = {"controllerId": viewer.controller_id}
    # The panels' calls are independent: together, one's database read overlaps another's Python work.
    snapshot, running, agents, controllers, failures, ended = await asyncio.gather(
        ui.try_call(request, viewer, "/orders/overview/snapshot", cid),
        ui.try_call(request, viewer, "/orders", {**cid, "states": ["RUNNING"], "limit": 20, "compact": True}),
        ui.try_call(request, viewer, "/agents", cid),
        ui.try_call(request, viewer, "/controllers", cid),
        ui.try_call(
            request, viewer, "/orders/history", {**cid, "historyStates": ["FAILED"], "limit": 8, "compact": True}
        ),
        ui.try_call(request, viewer, "/orders/overview/throughput", {**cid, "minutes": MINUTES}),
    )
    counts = snapshot.body.get("orders", {}) if snapshot.ok else {}
    total = sum(int(counts.get(s, 0)) for s in STATES)
    throughput = [int(n) for n in ended.body.get("ended", [])] if ended.ok else []
    nodes = controllers.body.get("controllers", []) if controllers.ok else []
    return {
        "snapshot": snapshot,
        "states": [(s, int(counts.get(s, 0)), bar(int(counts.get(s, 0)), total)) for s in STATES],
        "running": running,
        "agents": agents,
        "controllers": controllers,
        "nodes": nodes,
        "cluster": len(nodes) > 1,
        "coupled": any(n.get("isCoupled") for n in nodes),
        "failures": failures,
        "ended": ended,
        "throughput_total": sum(throughput),
        "sparkline": sparkline(throughput, label=f"Orders ended per minute in the last hour: {sum(throughput)} in all")
        if ended.ok
        else "",
    }


def routes(ui: Ui) -> list[Route]:
    async def dashboard(request: Request, viewer: Viewer) -> Response:
        return ui.page(request, "dashboard.html", viewer, "dashboard", **await panels(ui, request, viewer))

    async def fragment(request: Request, viewer: Viewer) -> Response:
        return ui.render("_dashboard.html", viewer=viewer, **await panels(ui, request, viewer))

    async def switchover(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
        body = {"controllerId": viewer.controller_id, **audit_log(form)}
        await ui.call(request, viewer, "/controller/cluster/switchover", body)
        return redirect("/?notice=" + "Switchover+requested.")

    return [
        Route("/", guarded(ui, dashboard), methods=["GET"]),
        Route("/dashboard/panels", guarded(ui, fragment), methods=["GET"]),
        Route("/controller/switchover", changing(ui, switchover), methods=["POST"]),
    ]


def audit_log(form: dict[str, list[str]]) -> dict[str, Any]:
    """JOC's auditLog object from a form's comment (and ticket link), when given."""
    comment, ticket = first(form, "comment").strip(), first(form, "ticketLink").strip()
    audit = {**({"comment": comment} if comment else {}), **({"ticketLink": ticket} if ticket else {})}
    return {"auditLog": audit} if audit else {}
