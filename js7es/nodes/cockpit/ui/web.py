"""What every page of the UI shares: the session cookie and the CSRF token, the security headers, the
viewer (account, permissions, Controller) read through the API, rendering, and the error pages.

The session cookie holds the JOC session's token (`Secure`, `HttpOnly`, `SameSite=Strict`); the CSRF
token of a session is an HMAC of that token under a key of this process (of the Cockpit cluster, in one:
forwarding.Forwarder.cluster_key), sent back by every state change
in the form field ``_csrf`` or the header ``X-CSRF-Token`` (htmx sends the header, see base.html). The
login form has its own: a random value in a short-lived cookie and the form (double submit).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from js7es.nodes.cockpit.api.sessions import token_hash
from js7es.nodes.cockpit.ui.api import Answer, JocApi
from js7es.nodes.cockpit.ui.assets import Assets
from js7es.projections.cockpit.queries.events import stored_event_id

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from js7es.nodes.cockpit.api.services import CockpitServices

HERE = Path(__file__).parent
SESSION_COOKIE = "js7es_session"
LOGIN_COOKIE = "js7es_login"
MAX_FORM_BYTES = 64 * 1024
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class UiError(Exception):
    """An expected failure shown as a page (or, to htmx, as a message) with a 4xx/5xx status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LoginNeeded(Exception):
    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


class PasswordChangeNeeded(Exception):
    pass


@dataclass
class Viewer:
    """The logged-in browser: its token, account, JOC permission tree and current Controller."""

    token: str
    account: str
    csrf: str
    permissions: Mapping[str, Any]
    controller_id: str
    controller_ids: list[str]
    comment_required: bool
    roles: list[str] = field(default_factory=list)
    # The projection's EventId before the page read anything: its live stream starts there, so that a
    # commit between the page's reads and the stream's start still refreshes it.
    event_id: int = 0

    def may(self, *path: str) -> bool:
        """A Controller permission of the current Controller, by JOC's names: may("orders", "cancel")."""
        node: Any = self.permissions.get("controllers", {}).get(self.controller_id)
        if node is None:
            node = self.permissions.get("controllerDefaults", {})
        return _walk(node, path)

    def may_joc(self, *path: str) -> bool:
        """A JOC permission: may_joc("auditLog", "view")."""
        return _walk(self.permissions.get("joc", {}), path)


def _walk(node: Any, path: tuple[str, ...]) -> bool:
    for name in path:
        if not isinstance(node, Mapping):
            return False
        node = node.get(name)
    return node is True


def status_of(answer: Answer) -> int:
    """The UI's status for a refusal by the API: JOC's 420 becomes what its code means."""
    if answer.status != 420:
        return answer.status if answer.status >= 400 else 500
    return {"JOC-002": 404, "JOC-419": 403, "JOC-420": 409, "JOC-503": 503}.get(answer.code, 400)


class Ui:
    def __init__(self, services: CockpitServices, joc_routes: list[BaseRoute]) -> None:
        self.services = services
        self.api = JocApi(joc_routes)
        self.assets = Assets(HERE / "static")
        self.accounts: dict[str, tuple[str, str]] = {}  # token hash -> (account, identity service), at login
        # in a Cockpit cluster every member's: a page rendered by one member posts to another after a takeover
        forwarder = services.forwarder
        self._key = (forwarder.cluster_key("ui-csrf") if forwarder else None) or secrets.token_bytes(32)
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals.update(asset=self.assets.url, sri=self.assets.integrity, urlencode=urlencode)

    # --- sessions and CSRF

    def csrf_of(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    async def viewer(self, request: Request) -> Viewer:
        """The session of the request's cookie, checked by the API (a stale one leads to the login page)."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise LoginNeeded()
        permissions = await self.api.call(request, "/authentication/joc_cockpit_permissions", token=token)
        if permissions.status == 440:
            raise LoginNeeded("Your session has expired. Please log in again.")
        if permissions.status != 200:
            raise LoginNeeded()
        ids = await self.api.call(request, "/controller/ids", token=token)
        if ids.status == 403 and isinstance(ids.body, dict) and ids.body.get("forcePasswordChange"):
            raise PasswordChangeNeeded()
        if ids.status != 200:
            raise LoginNeeded()
        controller_ids = [str(c) for c in ids.body.get("controllerIds", [])]
        wanted = request.query_params.get("controllerId")
        current = wanted if wanted in controller_ids else ids.body.get("selected") or ""
        if not current and controller_ids:
            current = controller_ids[0]
        event_id, _ = await asyncio.to_thread(stored_event_id, self.services.engine, str(current))
        return Viewer(
            event_id=event_id,
            token=token,
            account=self.accounts.get(token_hash(token), ("", ""))[0] or await self._account_of(token),
            csrf=self.csrf_of(token),
            permissions=permissions.body,
            controller_id=str(current),
            controller_ids=controller_ids,
            comment_required=self.services.comment_required(),
            roles=list(permissions.body.get("roles", [])),
        )

    async def _account_of(self, token: str) -> str:
        """The account of a session opened on another member of the Cockpit cluster (or before a restart)."""
        session = await asyncio.to_thread(self.services.sessions.get, token)
        return "" if session is None or isinstance(session, str) else session.account

    async def form(self, request: Request) -> dict[str, list[str]]:
        """The urlencoded form of a POST (multipart is not used by the UI)."""
        data = await request.body()
        if len(data) > MAX_FORM_BYTES:
            raise UiError(413, "The form is too large.")
        try:
            return parse_qs(data.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise UiError(400, "The form is not UTF-8.") from None

    def check_csrf(self, request: Request, viewer: Viewer, form: Mapping[str, list[str]]) -> None:
        given = request.headers.get("x-csrf-token") or first(form, "_csrf")
        if not given or not hmac.compare_digest(given, viewer.csrf):
            raise UiError(403, "The form is stale or not from this page (CSRF token missing or wrong). Reload it.")
        check_origin(request)

    async def call(self, request: Request, viewer: Viewer, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """The API's JSON answer; a refusal raises UiError with JOC's message (or leads to the login)."""
        answer = await self.api.call(request, path, body, token=viewer.token)
        if answer.status in (401, 440):
            raise LoginNeeded("Your session has expired. Please log in again." if answer.status == 440 else "")
        if answer.status != 200:
            raise UiError(status_of(answer), answer.message)
        return answer.body

    async def try_call(self, request: Request, viewer: Viewer, path: str, body: Mapping[str, Any]) -> Answer:
        return await self.api.call(request, path, body, token=viewer.token)

    # --- rendering

    def render(self, template: str, status_code: int = 200, **context: Any) -> Response:
        html = self.templates.get_template(template).render(**{"viewer": None, "page": "", "notice": "", **context})
        return HTMLResponse(html, status_code, headers=SECURITY_HEADERS)

    def page(self, request: Request, template: str, viewer: Viewer, page: str, **context: Any) -> Response:
        """A whole page for `viewer`, with the notice of a redirect after a change (`?notice=`)."""
        notice = request.query_params.get("notice", "")[:300]
        return self.render(template, viewer=viewer, page=page, notice=notice, **context)

    def error(self, request: Request, status: int, message: str, viewer: Viewer | None = None) -> Response:
        if request.headers.get("hx-request"):
            return self.render("_message.html", status, kind="error", message=message)
        return self.render("error.html", status, viewer=viewer, status=status, message=message, page="error")


def first(form: Mapping[str, list[str]], name: str, default: str = "") -> str:
    values = form.get(name)
    return values[0] if values else default


def check_origin(request: Request) -> None:
    """A state change from another site is refused even with a token (defence in depth)."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise UiError(403, "The request comes from another site.")


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def safe_next(url: str) -> str:
    """Only a path of this site (never //host or a scheme) is followed after the login."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url


Page = Callable[[Request], Awaitable[Response]]


def guarded(ui: Ui, handler: Callable[[Request, Viewer], Awaitable[Response]]) -> Page:
    """A page for a logged-in browser: expected failures become 4xx pages, never a traceback."""

    async def page(request: Request) -> Response:
        viewer: Viewer | None = None
        try:
            viewer = await ui.viewer(request)
            return await handler(request, viewer)
        except LoginNeeded as e:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target = "/login?" + urlencode({"next": here, **({"reason": e.reason} if e.reason else {})})
            if request.headers.get("hx-request"):
                return Response(status_code=204, headers={"HX-Redirect": target})
            return redirect(target)
        except PasswordChangeNeeded:
            return redirect("/password")
        except UiError as e:
            return ui.error(request, e.status, e.message, viewer)

    return page


def changing(ui: Ui, handler: Callable[[Request, Viewer, dict[str, list[str]]], Awaitable[Response]]) -> Page:
    """A POST that changes something: the CSRF token is checked before anything else happens."""

    async def with_form(request: Request, viewer: Viewer) -> Response:
        form = await ui.form(request)
        ui.check_csrf(request, viewer, form)
        return await handler(request, viewer, form)

    return guarded(ui, with_form)
