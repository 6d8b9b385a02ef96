"""Login (JOC's /authentication/login with HTTP Basic), logout, the forced password change and the
choice of the current Controller."""

from __future__ import annotations

import base64
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from js7es.nodes.cockpit.api.sessions import token_hash
from js7es.nodes.cockpit.ui.web import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Ui,
    UiError,
    Viewer,
    changing,
    check_origin,
    first,
    redirect,
    safe_next,
)

COOKIE = {"secure": True, "httponly": True, "samesite": "strict", "path": "/"}


def routes(ui: Ui) -> list[Route]:
    async def login_page(request: Request) -> Response:
        csrf = secrets.token_hex(16)
        response = ui.render(
            "login.html",
            viewer=None,
            page="login",
            csrf=csrf,
            next=safe_next(request.query_params.get("next", "/")),
            reason=request.query_params.get("reason", "")[:200],
            error="",
            account="",
        )
        response.set_cookie(LOGIN_COOKIE, csrf, max_age=3600, **COOKIE)  # type: ignore[arg-type]
        return response

    async def login(request: Request) -> Response:
        try:
            form = await ui.form(request)
            check_origin(request)
        except UiError as e:
            return ui.error(request, e.status, e.message)
        given, expected = first(form, "_csrf"), request.cookies.get(LOGIN_COOKIE, "")
        next_url = safe_next(first(form, "next", "/"))
        account, password = first(form, "account"), first(form, "password")

        def again(status: int, error: str) -> Response:
            csrf = secrets.token_hex(16)
            response = ui.render(
                "login.html", status, viewer=None, page="login", csrf=csrf, next=next_url, reason="",
                error=error, account=account,
            )  # fmt: skip
            response.set_cookie(LOGIN_COOKIE, csrf, max_age=3600, **COOKIE)  # type: ignore[arg-type]
            return response

        if not given or not expected or not hmac.compare_digest(given, expected):
            return again(403, "The login form was stale. Please try again.")
        if not account or not password:
            return again(400, "Enter the account and the password.")
        basic = base64.b64encode(f"{account}:{password}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}"}
        answer = await ui.api.call(request, "/authentication/login", token=None, headers=headers)
        if answer.status != 200:
            return again(401 if answer.status in (401, 403) else 400, "Login failed: " + answer.message)
        token = answer.headers.get("x-access-token", "")
        service = str(answer.body.get("identityService", "JOC:JOC")).partition(":")[2]
        ui.accounts[token_hash(token)] = (str(answer.body.get("account", account)), service)
        target = "/password" if answer.body.get("forcePasswordChange") else next_url
        response = redirect(target)
        response.set_cookie(SESSION_COOKIE, token, **COOKIE)  # type: ignore[arg-type]
        response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    async def logout(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
        await ui.api.call(request, "/authentication/logout", token=viewer.token)
        ui.accounts.pop(token_hash(viewer.token), None)
        response = redirect("/login")
        response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    async def logout_any(request: Request) -> Response:
        """Logout also works while the password must be changed (the viewer is not complete then)."""
        token = request.cookies.get(SESSION_COOKIE, "")
        try:
            form = await ui.form(request)
            if not token or not hmac.compare_digest(first(form, "_csrf"), ui.csrf_of(token)):
                raise UiError(403, "The form is stale (CSRF token missing or wrong). Reload the page.")
            check_origin(request)
        except UiError as e:
            return ui.error(request, e.status, e.message)
        await ui.api.call(request, "/authentication/logout", token=token)
        ui.accounts.pop(token_hash(token), None)
        response = redirect("/login")
        response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    async def password_page(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE, "")
        account, _ = ui.accounts.get(token_hash(token), ("", "")) if token else ("", "")
        if not account:
            return redirect("/login")
        csrf = ui.csrf_of(token)
        return ui.render("password.html", viewer=None, page="password", csrf=csrf, account=account, error="")

    async def change_password(request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE, "")
        account, service = ui.accounts.get(token_hash(token), ("", "")) if token else ("", "")
        if not account:
            return redirect("/login")
        try:
            form = await ui.form(request)
            if not hmac.compare_digest(first(form, "_csrf"), ui.csrf_of(token)):
                raise UiError(403, "The form is stale (CSRF token missing or wrong). Reload the page.")
            check_origin(request)
        except UiError as e:
            return ui.error(request, e.status, e.message)
        body = {
            "identityServiceName": service,
            "accountName": account,
            "oldPassword": first(form, "oldPassword"),
            "password": first(form, "password"),
            "repeatedPassword": first(form, "repeatedPassword"),
        }
        answer = await ui.api.call(request, "/iam/account/changepassword", body, token=token)
        if answer.status != 200:
            return ui.render(
                "password.html", 400, viewer=None, page="password", csrf=ui.csrf_of(token), account=account,
                error=answer.message,
            )  # fmt: skip
        return redirect("/?" + "notice=The+password+was+changed.")

    async def select_controller(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
        await ui.call(request, viewer, "/controller/switch", {"controllerId": first(form, "controllerId")})
        return redirect("/")

    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout_any, methods=["POST"]),
        Route("/password", password_page, methods=["GET"]),
        Route("/password", change_password, methods=["POST"]),
        Route("/controller/select", changing(ui, select_controller), methods=["POST"]),
    ]
