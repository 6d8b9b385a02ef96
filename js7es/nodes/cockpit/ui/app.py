"""The UI's routes beside the JOC API's (kept apart from the API's table, so that the JOC OpenAPI document
stays JOC's): the pages, the live streams, the static files, and a 404 page for anything else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from js7es.nodes.cockpit.ui.web import Ui

if TYPE_CHECKING:
    from js7es.nodes.cockpit.api.services import CockpitServices

# Paths that belong to the APIs: their unknown ones are answered there, never with a page.
API_PATHS = ("/joc/", "/cockpit/", "/metrics")


def ui_routes(services: CockpitServices, joc_routes: list[BaseRoute]) -> list[BaseRoute]:
    from js7es.nodes.cockpit.ui.pages import (
        accounts,
        admin,
        auth,
        daily_plan,
        dashboard,
        history,
        live,
        orders,
        workflows,
    )

    ui = Ui(services, joc_routes)
    routes: list[BaseRoute] = [Route("/static/{version}/{name:path}", ui.assets.serve, methods=["GET"])]
    for module in (auth, dashboard, orders, history, workflows, admin, accounts, daily_plan, live):
        routes += module.routes(ui)

    async def unknown(request: Request) -> Response:
        if request.url.path.startswith(API_PATHS) or request.method != "GET":
            raise HTTPException(404)  # answered as the node's problem, as before the UI
        return ui.error(request, 404, f"There is no page {request.url.path}.")

    routes.append(Route("/{rest:path}", unknown, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]))
    return routes
