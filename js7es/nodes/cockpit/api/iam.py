"""Identity and access, accounts and sessions (joc-cockpit.md §2.1): `/iam/accounts`, `/iam/account`,
`/iam/account/store`, `/iam/accounts/delete`, `/iam/account/changepassword`, `/iam/account/permissions`,
`/iam/sessions`, `/iam/sessions/cancel`. Roles, permissions, folders and identity services are in
iam_roles.py. Shapes: js7-api-schemas `security/accounts/*`, `security/sessions/*`.

Decisions:
- Only identity services of type JOC hold accounts here; a request naming another type is refused with
  420 JOC-400 saying that the type is not supported, one naming an unknown service with JOC-002.
- Accounts are one set for all JOC-type services (js7es's store keys them by name only).
- A password is hashed (argon2id) in a worker thread before it reaches the store; the audit projection
  drops the hash from the parameters, and no request field with a password is ever stored.
- `minimum_password_length` (identity-service setting, JOC's default 1) applies to every new password.
- An account removed, disabled or blocked loses its sessions at once; so does an account whose password
  an administrator changed. An account that changes its own password keeps its session and its forced
  password change is lifted.
- `/iam/sessions` answers JOC's `id` (the SHA-256 of the token, never the token), `timeout` (the idle
  timeout in ms, as JOC's Shiro session) and, as js7es additions, `lastAccess` and `loginDate`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints
from starlette.responses import Response

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.iam import Account, IdentityService
from js7es.nodes.cockpit.api import passwords
from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import JocError, bad_request, delivered, joc_date, joc_response, not_exist, ok
from js7es.nodes.cockpit.api.models import Audited, OkResponse, Request, String255
from js7es.nodes.cockpit.api.models import Response as JocResponse
from js7es.nodes.cockpit.api.services import IDENTITY_SETTINGS

VIEW = "sos:products:joc:administration:accounts:view"
MANAGE = "sos:products:joc:administration:accounts:manage"
JOC_TYPE = "JOC"
DEFAULT_MINIMUM_PASSWORD_LENGTH = 1  # JOC's ConfigurationGlobalsIdentityService default

# common/string255required-schema.json
Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
# A password is a plain string in JOC's schema; the bound keeps argon2 from hashing megabytes.
Password = Annotated[str, StringConstraints(max_length=1024)]


def joc_service(call: Call, name: str) -> IdentityService:
    """The identity service `name`, which must exist and be of type JOC."""
    service = call.services.iam().identity_services.get(name)
    if service is None:
        raise not_exist(f"Unknown identity service '{name}'")
    if service.type != JOC_TYPE:
        raise bad_request(f"Identity services of type {service.type} are not supported by js7es (only JOC)")
    return service


def _account(call: Call, name: str) -> Account:
    account = call.services.account(name)
    if account is None:
        raise not_exist(f"Unknown account '{name}'")
    return account


def minimum_password_length(call: Call) -> int:
    value = call.services.setting(IDENTITY_SETTINGS, "minimum_password_length", DEFAULT_MINIMUM_PASSWORD_LENGTH)
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return DEFAULT_MINIMUM_PASSWORD_LENGTH


async def _hashed(call: Call, password: str) -> str:
    minimum = minimum_password_length(call)
    if len(password) < max(1, minimum):
        raise bad_request(f"The password is shorter than the minimum length of {minimum} (minimum_password_length)")
    return await call.in_thread(passwords.hash_password, password)


def account_json(service: str, account: Account) -> dict[str, object]:
    return {
        "identityServiceName": service,
        "accountName": account.name,
        "forcePasswordChange": account.force_password_change,
        "disabled": account.disabled,
        "blocked": account.blocked,
        "roles": list(account.roles),
    }


# --- reading accounts -----------------------------------------------------------------------------


class AccountListFilter(Request):
    """security/accounts/accountListFilter-schema.json"""

    identityServiceName: Name
    accountName: String255 | None = None
    enabled: bool = False
    disabled: bool = False


class AccountItem(JocResponse):
    """security/accounts/account-schema.json (without password and auditLog)"""

    deliveryDate: str | None = None  # type: ignore[assignment]
    identityServiceName: str
    accountName: str
    forcePasswordChange: bool
    disabled: bool
    blocked: bool
    roles: list[str]


class Accounts(JocResponse):
    """security/accounts/accounts-schema.json"""

    identityServiceName: str
    accountItems: list[AccountItem]


@API.post("/iam/accounts", summary="The accounts of an identity service", request=AccountListFilter,
          response=Accounts, permission=VIEW)  # fmt: skip
async def accounts(call: Call, body: AccountListFilter) -> Response:
    service = joc_service(call, body.identityServiceName)
    items = []
    for name, account in sorted(call.services.iam().accounts.items()):
        if body.accountName and name != body.accountName:
            continue
        if body.enabled and not body.disabled and account.disabled:
            continue
        if body.disabled and not body.enabled and not account.disabled:
            continue
        items.append(account_json(service.name, account))
    return joc_response(delivered({"identityServiceName": service.name, "accountItems": items}))


class AccountFilter(Audited):
    """security/accounts/accountFilter-schema.json"""

    identityServiceName: Name
    accountName: Name


@API.post("/iam/account", summary="One account", request=AccountFilter, response=AccountItem, permission=VIEW)
async def account(call: Call, body: AccountFilter) -> Response:
    service = joc_service(call, body.identityServiceName)
    return joc_response(delivered(account_json(service.name, _account(call, body.accountName))))


class PermissionsAnswer(JocResponse):
    """security/securityConfiguration/permissions-schema.json"""


@API.post("/iam/account/permissions", summary="The permissions the account would have after a login",
          request=AccountFilter, response=PermissionsAnswer, permission=VIEW)  # fmt: skip
async def account_permissions(call: Call, body: AccountFilter) -> Response:
    joc_service(call, body.identityServiceName)
    _account(call, body.accountName)
    permissions, _ = call.services.permissions_of(body.accountName)
    return joc_response(delivered(permissions.to_joc_json(call.services.controller_ids())))


# --- changing accounts ----------------------------------------------------------------------------


class AccountStore(Audited):
    """security/accounts/account-schema.json"""

    identityServiceName: Name
    accountName: Name
    email: String255 | None = None
    password: Password | None = None
    forcePasswordChange: bool = False
    disabled: bool = False
    blocked: bool = False
    roles: Annotated[list[String255], Field(max_length=1000)] = []


@API.post("/iam/account/store", summary="Adds or changes an account", request=AccountStore, response=OkResponse,
          permission=MANAGE)  # fmt: skip
async def account_store(call: Call, body: AccountStore) -> Response:
    joc_service(call, body.identityServiceName)
    meta = call.change_meta(body)
    password_hash = await _hashed(call, body.password) if body.password else None
    command = cmd.StoreAccount(
        password_hash=password_hash,
        roles=tuple(body.roles),
        force_password_change=body.forcePasswordChange,
        disabled=body.disabled,
        blocked=body.blocked,
    )
    await call.services.execute(keys.account(body.accountName), command, meta)
    if body.disabled or body.blocked or (password_hash is not None and body.accountName != call.account):
        call.services.sessions.close_account(body.accountName)
    return ok()


class AccountsFilter(Audited):
    """security/accounts/accountsFilter-schema.json"""

    identityServiceName: Name
    accountNames: Annotated[list[String255], Field(max_length=1000)]
    enabled: bool = False
    disabled: bool = False


@API.post("/iam/accounts/delete", summary="Removes accounts (their sessions end)", request=AccountsFilter,
          response=OkResponse, permission=MANAGE)  # fmt: skip
async def accounts_delete(call: Call, body: AccountsFilter) -> Response:
    joc_service(call, body.identityServiceName)
    meta = call.change_meta(body)
    for name in body.accountNames:
        _account(call, name)
    for name in dict.fromkeys(body.accountNames):
        await call.services.execute(keys.account(name), cmd.RemoveAccount(), meta)
        call.services.sessions.close_account(name)
    return ok()


class AccountChangePassword(Audited):
    """security/accounts/accountChangePassword-schema.json"""

    identityServiceName: Name
    accountName: Name
    password: Password | None = None
    repeatedPassword: Password | None = None
    oldPassword: Password | None = None
    forcePasswordChange: bool = False


@API.post(
    "/iam/account/changepassword",
    summary="Changes an account's password: one's own (oldPassword), or another's with accounts:manage",
    request=AccountChangePassword,
    response=OkResponse,
    access="session",
    before_password_change=True,
    writes=True,
)
async def change_password(call: Call, body: AccountChangePassword) -> Response:
    joc_service(call, body.identityServiceName)
    own = body.accountName == call.account
    if not own:
        call.require(MANAGE)
    account = _account(call, body.accountName)
    if not body.password:
        raise bad_request("The new password is missing ('password')")
    if body.repeatedPassword is not None and body.repeatedPassword != body.password:
        raise bad_request("The password and the repeated password differ")
    if own:
        if body.repeatedPassword is None:
            raise bad_request("The repeated password is missing ('repeatedPassword')")
        verified = await call.in_thread(passwords.verify, account.password_hash, body.oldPassword or "")
        if not verified:
            raise bad_request("The old password is wrong")
        if body.oldPassword == body.password:
            raise bad_request("The new password must differ from the old one")
    meta = call.change_meta(body)
    password_hash = await _hashed(call, body.password)
    force = body.forcePasswordChange and not own
    await call.services.execute(
        keys.account(body.accountName),
        cmd.ChangePassword(password_hash=password_hash, force_password_change=force),
        meta,
    )
    if own:
        assert call.session is not None
        call.services.sessions.password_changed(call.session)
    else:
        call.services.sessions.close_account(body.accountName)
    return ok()


# --- sessions -------------------------------------------------------------------------------------


class SessionsFilter(Request):
    """security/sessions/sessionsFilter-schema.json"""

    accountName: String255 | None = None
    limit: int = 10000


class ActiveSession(JocResponse):
    """security/sessions/session-schema.json, plus js7es's lastAccess and loginDate"""

    deliveryDate: str | None = None  # type: ignore[assignment]
    id: str
    accountName: str
    identityService: str
    timeout: int
    lastAccess: str | None = None
    loginDate: str | None = None


class ActiveSessions(JocResponse):
    """security/sessions/sessions-schema.json"""

    activeSessions: list[ActiveSession]


@API.post("/iam/sessions", summary="The active sessions (never their tokens)", request=SessionsFilter,
          response=ActiveSessions, permission=VIEW)  # fmt: skip
async def sessions(call: Call, body: SessionsFilter) -> Response:
    timeout_ms = int(call.services.idle_timeout_s() * 1000)
    found = sorted(call.services.sessions.sessions(), key=lambda s: (s.account, s.created_ms, s.id))
    if body.accountName is not None:
        found = [s for s in found if s.account == body.accountName]
    if body.limit >= 0:
        found = found[: body.limit]
    items = [
        {
            "id": s.id,
            "accountName": s.account,
            "identityService": f"{JOC_TYPE}:{s.identity_service}",
            "timeout": timeout_ms,
            "lastAccess": joc_date(s.last_ms),
            "loginDate": joc_date(s.created_ms),
        }
        for s in found
    ]
    return joc_response(delivered({"activeSessions": items}))


class SessionsCancelFilter(Audited):
    """security/sessions/sessionsCancelFilter-schema.json"""

    accountNames: Annotated[list[String255], Field(max_length=1000)] | None = None
    ids: Annotated[list[String255], Field(max_length=1000)] | None = None


@API.post("/iam/sessions/cancel", summary="Ends sessions by account or id", request=SessionsCancelFilter,
          response=OkResponse, permission=MANAGE)  # fmt: skip
async def sessions_cancel(call: Call, body: SessionsCancelFilter) -> Response:
    call.change_meta(body)  # the audit comment rule holds here too
    for name in body.accountNames or ():
        call.services.sessions.close_account(name)
    for session_id in body.ids or ():
        call.services.sessions.close(session_id)
    return ok()


__all__ = ["MANAGE", "VIEW", "JocError", "joc_service"]
