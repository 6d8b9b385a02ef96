"""Authentication (joc-cockpit.md §1.2): login with HTTP Basic, logout, touch, the account's permissions.

Login answers JOC's account answer with the token in the header ``X-Access-Token`` (and the body's
`accessToken`) and `sessionTimeout` in milliseconds. A failed login answers 401 only after a delay that
grows with the failures of the account and of the address (sessions.LoginThrottle), is recorded in the
store (`/audit_log/login_history`), and past a limit even the right password is refused for a while.
Only internal accounts (identity services of type JOC) are implemented; the others are refused as such.
"""

from __future__ import annotations

import base64
import binascii

import anyio
from pydantic import BaseModel
from starlette.responses import Response

from js7es.nodes.cockpit.api import passwords
from js7es.nodes.cockpit.api.call import Call, ChangeMetaArgs
from js7es.nodes.cockpit.api.endpoint import API, token_of
from js7es.nodes.cockpit.api.joc import (
    account_answer,
    bad_request,
    delivered,
    joc_response,
    now_ms,
    ok,
    unauthenticated,
)
from js7es.nodes.cockpit.api.models import Empty, OkResponse, Request
from js7es.nodes.cockpit.api.models import Response as JocResponse
from js7es.nodes.cockpit.api.services import to_change_meta
from js7es.nodes.cockpit.api.sessions import token_hash

LOGIN = "/authentication/login"


class AccountAnswer(JocResponse):
    """SOSAuthCurrentAccountAnswer (login's answer)."""

    deliveryDate: str | None = None  # type: ignore[assignment]  # JOC's login answer has none
    account: str
    accessToken: str | None = None
    isAuthenticated: bool
    sessionTimeout: int | None = None


def _credentials(call: Call) -> tuple[str, str]:
    header = call.request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise unauthenticated("Access denied: malformed Basic authorization") from None
        account, sep, password = decoded.partition(":")
        if sep:
            return account, password
    query_account = call.request.query_params.get("account")
    query_password = call.request.query_params.get("pwd")
    if query_account is not None and query_password is not None:
        return query_account, query_password
    raise unauthenticated("Access denied: no credentials (Authorization: Basic …)")


def _identity_service(call: Call) -> str:
    iam = call.services.iam()
    wanted = call.request.headers.get("x-identity-service")
    internal = sorted(
        (s for s in iam.identity_services.values() if s.type == "JOC" and not s.disabled), key=lambda s: s.ordering
    )
    if wanted:
        service = iam.identity_services.get(wanted)
        if service is None:
            raise unauthenticated(f"Access denied: unknown identity service '{wanted}'")
        if service.type != "JOC":
            raise unauthenticated(f"Access denied: identity services of type {service.type} are not supported")
        return service.name
    if not internal:
        raise unauthenticated("Access denied: no enabled identity service of type JOC")
    return internal[0].name


async def _record_login(call: Call, account: str, *, succeeded: bool, reason: str, service: str | None) -> None:
    meta = to_change_meta(
        ChangeMetaArgs(
            account=account,
            at_ms=now_ms(),
            request=call.endpoint.url,
            comment=None,
            time_spent=None,
            ticket_link=None,
            controller_id=None,
        )
    )
    store = call.services.store
    await call.in_thread(
        lambda: store.record_login(
            account, call.caller_ip or "", succeeded=succeeded, meta=meta, reason=reason, identity_service=service
        )
    )


@API.post(
    LOGIN,
    summary="Log in with HTTP Basic; the token comes in X-Access-Token",
    response=AccountAnswer,
    access="public",
    writes=True,  # the login history (the Cockpit store)
)
async def login(call: Call, body: Empty) -> Response:
    services = call.services
    name, password = _credentials(call)
    address = call.caller_ip or ""
    if services.throttle.locked_out(name, address):
        await _record_login(call, name, succeeded=False, reason="too many failed logins", service=None)
        raise unauthenticated("Access denied: too many failed logins; try again later")
    service = _identity_service(call)
    account = services.account(name)
    verified = await call.in_thread(passwords.verify, account.password_hash if account else None, password)
    reason = ""
    if not verified or account is None:
        reason = "wrong account or password"
    elif account.disabled:
        reason = "the account is disabled"
    elif account.blocked:
        reason = "the account is blocked"
    if reason:
        delay = services.throttle.failed(name, address)
        await _record_login(call, name, succeeded=False, reason=reason, service=service)
        await anyio.sleep(delay)
        raise unauthenticated("Access denied")
    assert account is not None
    services.throttle.succeeded(name)
    await _record_login(call, name, succeeded=True, reason="", service=service)
    ids = services.controller_ids()
    token, _ = services.sessions.open(
        account=name,
        identity_service=service,
        roles=account.roles,
        caller_ip=call.caller_ip,
        force_password_change=account.force_password_change,
        selected_controller=ids[0] if len(ids) == 1 else None,
    )
    timeout_ms = int(services.idle_timeout_s() * 1000)
    answer = account_answer(
        "",
        account=name,
        accessToken=token,
        isAuthenticated=True,
        hasRole=bool(account.roles),
        role=", ".join(account.roles),
        forcePasswordChange=account.force_password_change,
        sessionTimeout=timeout_ms,
        callerIpAddress=call.caller_ip,
        callerHostName=call.caller_ip,
        identityService=f"JOC:{service}",
    )
    return joc_response(answer, headers={"X-Access-Token": token, "X-JOC-Timeout": str(timeout_ms)})


@API.post(
    "/authentication/logout",
    summary="Ends the session",
    response=OkResponse,
    access="session",
    before_password_change=True,
)
async def logout(call: Call, body: Empty) -> Response:
    token = token_of(call.request)
    assert token is not None
    call.services.sessions.close(token_hash(token))
    return ok()


@API.post(
    "/touch", summary="Keeps the session alive", response=OkResponse, access="session", before_password_change=True
)
async def touch(call: Call, body: Empty) -> Response:
    return ok()


@API.get(
    "/touch", summary="Keeps the session alive", response=OkResponse, access="session", before_password_change=True
)
async def touch_get(call: Call, body: Empty) -> Response:
    return ok()


class PermissionsAnswer(JocResponse):
    pass


@API.post(
    "/authentication/joc_cockpit_permissions",
    summary="The permissions of the current account (JOC's permission tree)",
    response=PermissionsAnswer,
    access="session",
    before_password_change=True,
)
async def joc_cockpit_permissions(call: Call, body: Empty) -> Response:
    assert call.permissions is not None
    return joc_response(delivered(call.permissions.to_joc_json(call.services.controller_ids())))


class RoleQuery(Request):
    role: str


class PermissionQuery(Request):
    permission: str
    controllerId: str | None = None


class HasAnswer(BaseModel):
    isAuthenticated: bool
    hasRole: bool | None = None
    isPermitted: bool | None = None


@API.get(
    "/authentication/role",
    summary="Whether the account has a role",
    request=RoleQuery,
    response=HasAnswer,
    access="session",
)
async def has_role(call: Call, body: RoleQuery) -> Response:
    assert call.session is not None
    return joc_response(
        account_answer("", account=call.account, isAuthenticated=True, hasRole=body.role in call.session.roles)
    )


@API.get(
    "/authentication/permission",
    summary="Whether the account has a permission",
    request=PermissionQuery,
    response=HasAnswer,
    access="session",
)
async def has_permission(call: Call, body: PermissionQuery) -> Response:
    if not body.permission.startswith("sos:products"):
        raise bad_request(f"unknown permission '{body.permission}'")
    permitted = call.permitted(body.permission, body.controllerId)
    return joc_response(
        account_answer(
            "", account=call.account, isAuthenticated=True, isPermitted=permitted, permission=body.permission
        )
    )
