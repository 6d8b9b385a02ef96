"""Accounts and roles of the identity service, for an administrator: the lists, an account's roles and
flags (force password change, disabled, blocked), a password reset, removing an account; a role's
permissions and folders per scope (JOC's default scope "" or one Controller), adding and removing a role.

Every change is one JOC API call (/iam/account/store, /iam/account/changepassword, /iam/accounts/delete,
/iam/role/store, /iam/roles/delete, /iam/permissions/store, /iam/folders/store) with the form's audit
comment, so the API checks `sos:products:joc:administration:accounts:manage`, the permission paths and the
folders; the pages only hide what the account may not do."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from js7es.domain.cockpit.permissions import PERMISSION_PATHS
from js7es.nodes.cockpit.ui.pages.dashboard import audit_log
from js7es.nodes.cockpit.ui.web import Ui, UiError, Viewer, changing, first, guarded, redirect

# JOC's permission paths, sorted: a parent before its children, for the role's form.
PERMISSIONS = sorted(PERMISSION_PATHS)
GRANTS = ("", "granted", "excluded")
EMPTY_FOLDER_ROWS = 2


def _q(text: str) -> str:
    return quote(text, safe="")


def routes(ui: Ui) -> list[Route]:
    async def services_of(request: Request, viewer: Viewer) -> list[str]:
        answer = await ui.call(request, viewer, "/iam/identityservices", {})
        return [s["identityServiceName"] for s in answer.get("identityServiceItems", [])]

    async def service_param(request: Request, viewer: Viewer, given: str) -> str:
        names = await services_of(request, viewer)
        if given:
            return given  # the API answers an unknown one (JOC-002: a 404 page)
        if not names:
            raise UiError(404, "There is no identity service.")
        return names[0]

    async def role_names(request: Request, viewer: Viewer, service: str) -> list[str]:
        answer = await ui.call(request, viewer, "/iam/roles", {"identityServiceName": service})
        return [r["roleName"] for r in answer.get("roles", [])]

    async def accounts_page(request: Request, viewer: Viewer) -> Response:
        names = await services_of(request, viewer)
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
            manage=viewer.may_joc("administration", "accounts", "manage"),
        )  # fmt: skip

    async def account_page(request: Request, viewer: Viewer) -> Response:
        name = request.query_params.get("account", "").strip()
        service = await service_param(request, viewer, request.query_params.get("service", "").strip())
        account: dict[str, Any] | None = None
        if name:
            body = {"identityServiceName": service, "accountName": name}
            account = await ui.call(request, viewer, "/iam/account", body)
        return ui.page(
            request, "account.html", viewer, "accounts", service=service, account=account,
            roles=await role_names(request, viewer, service),
            manage=viewer.may_joc("administration", "accounts", "manage"),
        )  # fmt: skip

    def account_target(service: str, name: str, notice: str) -> Response:
        return redirect(f"/account?service={_q(service)}&account={_q(name)}&notice={_q(notice)}")

    async def store_account(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
        service, name = first(form, "service"), first(form, "accountName").strip()
        if not name:
            raise UiError(400, "The account needs a name.")
        body: dict[str, Any] = {
            "identityServiceName": service,
            "accountName": name,
            "roles": [r for r in form.get("roles", []) if r],
            "forcePasswordChange": first(form, "forcePasswordChange") == "true",
            "disabled": first(form, "disabled") == "true",
            "blocked": first(form, "blocked") == "true",
            **audit_log(form),
        }
        if first(form, "new") == "true":
            password = first(form, "password")
            if not password:
                raise UiError(400, "A new account needs a password.")
            if password != first(form, "repeatedPassword"):
                raise UiError(400, "The password and the repeated password differ.")
            body["password"] = password
        await ui.call(request, viewer, "/iam/account/store", body)
        return account_target(service, name, f"Account {name} stored.")

    async def reset_password(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
        service, name = first(form, "service"), first(form, "accountName")
        body = {
            "identityServiceName": service,
            "accountName": name,
            "password": first(form, "password"),
            "repeatedPassword": first(form, "repeatedPassword"),
            "forcePasswordChange": first(form, "forcePasswordChange") == "true",
            **audit_log(form),
        }
        await ui.call(request, viewer, "/iam/account/changepassword", body)
        return account_target(service, name, f"The password of {name} was reset.")

    async def remove_account(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
        name = first(form, "accountName")
        body = {"identityServiceName": first(form, "service"), "accountNames": [name], **audit_log(form)}
        await ui.call(request, viewer, "/iam/accounts/delete", body)
        return redirect("/accounts?notice=" + _q(f"Account {name} removed."))

    async def role_page(request: Request, viewer: Viewer) -> Response:
        name = request.query_params.get("role", "").strip()
        if not name:
            raise UiError(400, "Which role? (role is missing)")
        service = await service_param(request, viewer, request.query_params.get("service", "").strip())
        scope = request.query_params.get("scope", "").strip()
        if scope and scope not in viewer.controller_ids:
            raise UiError(400, f"There is no Controller '{scope}' to give permissions for.")
        role = await ui.call(request, viewer, "/iam/role", {"identityServiceName": service, "roleName": name})
        body = {"identityServiceName": service, "roleName": name, "controllerId": scope}
        permissions = await ui.call(request, viewer, "/iam/permissions", body)
        folders = await ui.call(request, viewer, "/iam/folders", body)
        given = {
            p["permissionPath"]: "excluded" if p.get("excluded") else "granted" for p in permissions["permissions"]
        }
        return ui.page(
            request, "role.html", viewer, "accounts", service=service, role=role, scope=scope,
            permissions=[(path, given.get(path, ""), path.count(":") - 1) for path in PERMISSIONS],
            extra=sorted(set(given) - set(PERMISSIONS)), grants=GRANTS,
            folders=[*folders["folders"], *({"folder": "", "recursive": True} for _ in range(EMPTY_FOLDER_ROWS))],
            manage=viewer.may_joc("administration", "accounts", "manage"),
        )  # fmt: skip

    def role_target(service: str, name: str, scope: str, notice: str) -> Response:
        return redirect(f"/role?service={_q(service)}&role={_q(name)}&scope={_q(scope)}&notice={_q(notice)}")

    async def store_role(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
        service, name = first(form, "service"), first(form, "roleName").strip()
        if not name:
            raise UiError(400, "The role needs a name.")
        await ui.call(request, viewer, "/iam/role/store", {"identityServiceName": service, "roleName": name,
                                                           **audit_log(form)})  # fmt: skip
        return role_target(service, name, "", f"Role {name} stored.")

    async def remove_role(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
        name = first(form, "roleName")
        body = {"identityServiceName": first(form, "service"), "roleNames": [name], **audit_log(form)}
        await ui.call(request, viewer, "/iam/roles/delete", body)
        return redirect("/accounts?notice=" + _q(f"Role {name} removed."))

    async def store_permissions(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
        service, name, scope = first(form, "service"), first(form, "roleName"), first(form, "scope")
        chosen = []
        for key, values in form.items():
            if key.startswith("p:") and values and values[-1]:
                if values[-1] not in GRANTS:
                    raise UiError(400, f"'{values[-1][:40]}' is neither granted nor excluded.")
                chosen.append({"permissionPath": key[2:], "excluded": values[-1] == "excluded"})
        body = {"identityServiceName": service, "roleName": name, "controllerId": scope, "permissions": chosen,
                **audit_log(form)}  # fmt: skip
        await ui.call(request, viewer, "/iam/permissions/store", body)
        return role_target(service, name, scope, f"The permissions of {name} were stored.")

    async def store_folders(request: Request, viewer: Viewer, form: dict[str, list[str]]) -> Response:
        service, name, scope = first(form, "service"), first(form, "roleName"), first(form, "scope")
        folders = []
        for key in sorted((k for k in form if k.startswith("folder.")), key=lambda k: (len(k), k)):
            folder = first(form, key).strip()
            if folder:
                folders.append({"folder": folder, "recursive": first(form, "recursive." + key[7:]) == "true"})
        body = {"identityServiceName": service, "roleName": name, "controllerId": scope, "folders": folders,
                **audit_log(form)}  # fmt: skip
        await ui.call(request, viewer, "/iam/folders/store", body)
        return role_target(service, name, scope, f"The folders of {name} were stored.")

    return [
        Route("/accounts", guarded(ui, accounts_page), methods=["GET"]),
        Route("/account", guarded(ui, account_page), methods=["GET"]),
        Route("/account/store", changing(ui, store_account), methods=["POST"]),
        Route("/account/password", changing(ui, reset_password), methods=["POST"]),
        Route("/account/remove", changing(ui, remove_account), methods=["POST"]),
        Route("/role", guarded(ui, role_page), methods=["GET"]),
        Route("/role/store", changing(ui, store_role), methods=["POST"]),
        Route("/role/remove", changing(ui, remove_role), methods=["POST"]),
        Route("/role/permissions", changing(ui, store_permissions), methods=["POST"]),
        Route("/role/folders", changing(ui, store_folders), methods=["POST"]),
    ]
