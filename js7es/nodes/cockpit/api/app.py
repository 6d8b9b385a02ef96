"""The JOC API's routes: every endpoint of the table behind one gate (session, permission), plus the
OpenAPI document at ``GET /joc/api/openapi.json``."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from js7es.nodes.cockpit.api import families
from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API, PREFIX, Endpoint, controller_id_of, route, token_of
from js7es.nodes.cockpit.api.joc import JocError, access_denied, joc_response, session_expired, unauthenticated
from js7es.nodes.cockpit.api.openapi import openapi_document
from js7es.nodes.cockpit.api.services import CockpitServices


def joc_routes(services: CockpitServices) -> list[BaseRoute]:
    families.load()

    def authenticate(request: HttpRequest, endpoint: Endpoint) -> Call:
        call = Call(request=request, endpoint=endpoint, services=services, session=None, permissions=None, folders=None)
        if endpoint.access == "public":
            return call
        token = token_of(request)
        if token is None:
            raise unauthenticated("Access denied: no X-Access-Token")
        session = services.sessions.get(token)
        if session == "expired":
            raise session_expired()
        if session is None:
            raise unauthenticated("Access denied: unknown or closed session")
        call.session = session
        if session.force_password_change and not endpoint.before_password_change:
            raise JocError(
                "JOC-401",
                "The password of the account must be changed first (/iam/account/changepassword)",
                403,
                {"isAuthenticated": True, "account": session.account, "forcePasswordChange": True},
            )
        call.permissions, call.folders = services.permissions_of(session.account)
        return call

    def authorize(call: Call, body: BaseModel) -> None:
        endpoint = call.endpoint
        if endpoint.access != "permission":
            return
        assert endpoint.permission is not None and call.session is not None
        controller_id = None
        if endpoint.controller_scoped:
            controller_id = controller_id_of(body) or call.session.selected_controller
        if not call.permitted(endpoint.permission, controller_id):
            raise access_denied(call.session.account, endpoint.permission)

    async def forward(request: HttpRequest) -> Response | None:
        forwarder = services.forwarder  # set by the server of a Cockpit cluster member
        return None if forwarder is None else await forwarder.forward(request)

    routes: list[BaseRoute] = [route(e, authenticate, authorize, forward) for e in API.endpoints.values()]

    async def openapi(request: HttpRequest) -> Response:
        return joc_response(openapi_document(API))

    routes.append(Route(f"{PREFIX}/openapi.json", openapi, methods=["GET"]))

    async def unknown(request: HttpRequest) -> Response:
        return JocError("JOC-404", f"unknown API call {request.method} {request.url.path}", 404).response()

    routes.append(Route(f"{PREFIX}/{{rest:path}}", unknown, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]))
    return routes
