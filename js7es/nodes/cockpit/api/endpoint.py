"""The JOC API's one table of endpoints: path, permission, request and response models, handler.

Each endpoint family (controllers.py, orders.py, …) declares its endpoints with `api.post(...)`; the
routes (`routes()`), the permission check, the OpenAPI document (openapi.py) and the roles x endpoints
test all read this one table, so that no endpoint can be served without a declared permission.

A call goes: read the token (header ``X-Access-Token`` or query ``accessToken``) → the session (401 when
unknown, 440 when expired) → the body (JSON, with or without a Content-Type; 420 JOC-400 when it is
not JSON or breaks the model) → the permission, for the request's `controllerId` when the endpoint is
Controller-scoped (403) → the handler. A handler raises `JocError` for expected failures.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError
from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.routing import Route

from js7es.domain.problem import ProblemError
from js7es.domain.value import loads
from js7es.journal.cockpit.fence import NotActive
from js7es.nodes.cockpit.api.joc import (
    JocError,
    bad_request,
    delivered,
    joc_response,
)
from js7es.nodes.cockpit.api.models import Empty

if TYPE_CHECKING:
    from js7es.nodes.cockpit.api.call import Call

log = logging.getLogger(__name__)

PREFIX = "/joc/api"
Handler = Callable[["Call", Any], Awaitable[Response | Mapping[str, Any]]]
Access = Literal["public", "session", "permission"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    path: str  # below /joc/api
    method: Literal["POST", "GET"]
    summary: str
    handler: Handler
    request: type[BaseModel]
    response: type[BaseModel] | None  # None: not JSON (text/plain, an archive)
    produces: str = "application/json"
    # None with access="session": any logged-in account; a JOC permission path otherwise.
    permission: str | None = None
    access: Access = "permission"
    # The permission is checked for the request's controllerId (or the session's current Controller).
    controller_scoped: bool = False
    # Allowed while the account must change its password (logout, changepassword, …).
    before_password_change: bool = False
    # "raw": the body is not JSON (an upload); the handler reads `call.request` itself.
    body: Literal["json", "raw"] = "json"
    # Whether the endpoint changes something (a standby forwards it to the active: forwarding.py); None:
    # as its permission says (any but a …:view one changes; session-only endpoints read).
    writes: bool | None = None

    @property
    def url(self) -> str:
        return PREFIX + self.path

    @property
    def changes(self) -> bool:
        if self.writes is not None:
            return self.writes
        return self.access == "permission" and self.permission is not None and not self.permission.endswith(":view")


@dataclass
class Api:
    """The table of endpoints (one instance, `API`, filled at import of the family modules)."""

    endpoints: dict[tuple[str, str], Endpoint] = field(default_factory=dict)

    def add(self, endpoint: Endpoint) -> None:
        key = (endpoint.method, endpoint.path)
        if key in self.endpoints:
            raise ValueError(f"endpoint {key} declared twice")
        if endpoint.access == "permission" and not endpoint.permission:
            raise ValueError(f"endpoint {key}: no permission declared")
        self.endpoints[key] = endpoint

    def post(
        self,
        path: str,
        *,
        summary: str,
        request: type[BaseModel] = Empty,
        response: type[BaseModel] | None,
        permission: str | None = None,
        access: Access = "permission",
        controller_scoped: bool = False,
        produces: str = "application/json",
        before_password_change: bool = False,
        method: Literal["POST", "GET"] = "POST",
        body: Literal["json", "raw"] = "json",
        writes: bool | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(
                Endpoint(
                    path=path,
                    method=method,
                    summary=summary,
                    handler=handler,
                    request=request,
                    response=response,
                    produces=produces,
                    permission=permission,
                    access=access,
                    controller_scoped=controller_scoped,
                    before_password_change=before_password_change,
                    body=body,
                    writes=writes,
                )
            )
            return handler

        return register

    def get(self, path: str, **kwargs: Any) -> Callable[[Handler], Handler]:
        return self.post(path, method="GET", **kwargs)


API = Api()


def token_of(request: HttpRequest) -> str | None:
    return request.headers.get("x-access-token") or request.query_params.get("accessToken") or None


async def read_body(request: HttpRequest, model: type[BaseModel]) -> BaseModel:
    """The body as `model`. JOC's clients send JSON with or without a Content-Type; an empty body is {}.
    A GET takes its fields from the query string."""
    if request.method == "GET":
        raw: Any = dict(request.query_params)
        raw.pop("accessToken", None)
    else:
        data = await request.body()
        if not data.strip():
            raw = {}
        else:
            try:
                raw = loads(data)
            except (ValueError, UnicodeDecodeError) as e:
                raise bad_request(f"the body is not JSON: {e}") from None
    if not isinstance(raw, dict):
        raise bad_request("the body must be a JSON object")
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        raise bad_request(validation_message(e)) from None


def validation_message(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False)[:10]:
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item["loc"])
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def controller_id_of(body: BaseModel) -> str | None:
    value = getattr(body, "controllerId", None)
    return value if isinstance(value, str) and value else None


def standby_error(e: NotActive) -> JocError:
    """JOC's problem for a write sent to a standby Cockpit: it names the active member (and its URI)."""
    where = f" at {e.active_uri}" if e.active_uri else ""
    active = f"; the active member is {e.active!r}{where}" if e.active else "; no member is active"
    return JocError("JOC-420", f"JocClusterStandby: {e}{active}: send changes there", status=503)


Forward = Callable[[HttpRequest], Awaitable[Response | None]]


async def _served_here(request: HttpRequest) -> Response | None:
    return None


def route(
    endpoint: Endpoint,
    authenticate: Callable[[HttpRequest, Endpoint], Call],
    authorize: Callable[[Call, BaseModel], None],
    forward: Forward = _served_here,
) -> Route:
    """The endpoint's route: the session first (401/440 whatever the body), then the body (420 JOC-400),
    then the permission for it (403: JOC, too, validates the body before it checks permissions). On a
    standby of a Cockpit cluster `forward` sends a change to the active member (forwarding.py) first."""

    async def serve(request: HttpRequest) -> Response:
        if endpoint.changes:
            forwarded = await forward(request)
            if forwarded is not None:
                return forwarded
        try:
            call = authenticate(request, endpoint)
            body = await read_body(request, endpoint.request) if endpoint.body == "json" else Empty()
            authorize(call, body)
            answer = await endpoint.handler(call, body)
        except JocError as e:
            return e.response()
        except ProblemError as e:
            return JocError("JOC-420", f"{e.problem.code}: {e.problem.message}").response()
        except NotActive as e:  # a standby of a Cockpit cluster (or a fenced member): the active one writes
            if not endpoint.changes:
                log.warning("%s %s is declared reading but wrote: forwarded", endpoint.method, endpoint.path)
                forwarded = await forward(request)
                if forwarded is not None:
                    return forwarded
            return standby_error(e).response()
        if isinstance(answer, Response):
            return answer
        return joc_response(answer if "deliveryDate" in answer else delivered(answer))

    return Route(endpoint.url, serve, methods=[endpoint.method], name=f"{endpoint.method} {endpoint.path}")
