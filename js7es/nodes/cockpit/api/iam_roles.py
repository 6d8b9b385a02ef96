"""Identity and access, roles (joc-cockpit.md §2.1, §2.2): `/iam/roles`, `/iam/role`, `/iam/role/store`,
`/iam/roles/delete`, `/iam/permissions`, `/iam/permissions/store`, `/iam/folders`, `/iam/folders/store`,
`/iam/identityservices`, `/iam/identityservice/store`. Shapes: js7-api-schemas `security/roles/*`,
`security/permissions/*`, `security/folders/*`, `security/identityServices/*`.

Decisions:
- A role's permissions and folders are kept per scope: `controllerId` "" (or absent when reading) is
  JOC's default scope, for every Controller. A store replaces the scope's whole list, as JOC does.
- Permission paths must be JOC's (`check_permission_path`); a JOC permission in a Controller's scope
  is refused because JOC would never ask for it there. Folders must be normal (`normalize_folder`):
  `..`, `.` or `\\` answer 420 JOC-400, like any other invalid folder.
- A new role without `ordering` goes last; a role removed is unassigned from its accounts in the same
  append (domain/cockpit/decide.py).
- Only identity services of type JOC can be stored; other types answer 420 JOC-400 "not supported".
  A second factor is not supported either.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from starlette.responses import Response

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.iam import IDENTITY_SERVICE_TYPES, FolderGrant, PermissionGrant, Role
from js7es.domain.cockpit.permissions import check_permission_path, normalize_folder
from js7es.domain.problem import Problem
from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.iam import JOC_TYPE, MANAGE, VIEW, Name, joc_service
from js7es.nodes.cockpit.api.joc import bad_request, delivered, joc_response, not_exist, ok
from js7es.nodes.cockpit.api.models import Audited, ControllerId, OkResponse, Request, String255
from js7es.nodes.cockpit.api.models import Response as JocResponse

NonNegative = Annotated[int, Field(ge=0, le=2**31 - 1)]


def _role(call: Call, name: str) -> Role:
    role = call.services.iam().roles.get(name)
    if role is None:
        raise not_exist(f"Unknown role '{name}'")
    return role


def role_json(service: str, role: Role) -> dict[str, object]:
    scopes = sorted({s for s in (*role.permissions, *role.folders) if s})
    return {"identityServiceName": service, "roleName": role.name, "ordering": role.ordering, "controllers": scopes}


# --- roles ----------------------------------------------------------------------------------------


class RoleListFilter(Request):
    """security/roles/roleListFilter-schema.json"""

    identityServiceName: Name


class RoleItem(JocResponse):
    """security/roles/role-schema.json"""

    deliveryDate: str | None = None  # type: ignore[assignment]
    identityServiceName: str
    roleName: str
    ordering: int
    controllers: list[str]


class Roles(JocResponse):
    """security/roles/roles-schema.json"""

    identityServiceName: str
    roles: list[RoleItem]


@API.post("/iam/roles", summary="The roles", request=RoleListFilter, response=Roles, permission=VIEW)
async def roles(call: Call, body: RoleListFilter) -> Response:
    service = joc_service(call, body.identityServiceName)
    found = sorted(call.services.iam().roles.values(), key=lambda r: (r.ordering, r.name))
    return joc_response(
        delivered({"identityServiceName": service.name, "roles": [role_json(service.name, r) for r in found]})
    )


class RoleFilter(Audited):
    """security/roles/roleFilter-schema.json"""

    identityServiceName: Name
    roleName: Name


@API.post("/iam/role", summary="One role", request=RoleFilter, response=RoleItem, permission=VIEW)
async def role(call: Call, body: RoleFilter) -> Response:
    service = joc_service(call, body.identityServiceName)
    return joc_response(delivered(role_json(service.name, _role(call, body.roleName))))


class RoleStore(Audited):
    """security/roles/roleStore-schema.json"""

    identityServiceName: Name
    roleName: Name
    ordering: NonNegative | None = None


@API.post("/iam/role/store", summary="Adds or changes a role", request=RoleStore, response=OkResponse,
          permission=MANAGE)  # fmt: skip
async def role_store(call: Call, body: RoleStore) -> Response:
    joc_service(call, body.identityServiceName)
    meta = call.change_meta(body)
    existing = call.services.iam().roles
    ordering = body.ordering
    if ordering is None:
        known = existing.get(body.roleName)
        ordering = known.ordering if known else max((r.ordering for r in existing.values()), default=0) + 1
    await call.services.execute(keys.role(body.roleName), cmd.StoreRole(ordering=ordering), meta)
    return ok()


class RolesFilter(Audited):
    """security/roles/rolesFilter-schema.json"""

    identityServiceName: Name
    roleNames: Annotated[list[Name], Field(max_length=1000)]


@API.post("/iam/roles/delete", summary="Removes roles (and unassigns them)", request=RolesFilter,
          response=OkResponse, permission=MANAGE)  # fmt: skip
async def roles_delete(call: Call, body: RolesFilter) -> Response:
    joc_service(call, body.identityServiceName)
    meta = call.change_meta(body)
    for name in body.roleNames:
        _role(call, name)
    for name in dict.fromkeys(body.roleNames):
        await call.services.execute(keys.role(name), cmd.RemoveRole(), meta)
    return ok()


# --- permissions ----------------------------------------------------------------------------------


class ScopeFilter(Request):
    """security/permissions/permissionListFilter-schema.json, security/folders/folderListFilter-schema.json"""

    identityServiceName: Name
    controllerId: ControllerId | None = None
    roleName: Name


class Permission(Request):
    """security/permissions/permission-schema.json"""

    permissionPath: Name
    excluded: bool = False


class Permissions(Audited):
    """security/permissions/permissions-schema.json"""

    identityServiceName: Name
    controllerId: ControllerId
    roleName: Name
    permissions: Annotated[list[Permission], Field(max_length=1000)]


class PermissionsAnswer(JocResponse):
    """security/permissions/permissions-schema.json"""

    identityServiceName: str
    controllerId: str
    roleName: str
    permissions: list[dict[str, object]]


@API.post("/iam/permissions", summary="A role's permissions for a Controller ('' or none: the default)",
          request=ScopeFilter, response=PermissionsAnswer, permission=VIEW)  # fmt: skip
async def permissions(call: Call, body: ScopeFilter) -> Response:
    grants = _role(call, body.roleName).permissions.get(body.controllerId or "", ())
    return _scoped(call, body, "permissions", [{"permissionPath": g.path, "excluded": g.excluded} for g in grants])


@API.post("/iam/permissions/store", summary="Replaces a role's permissions for a Controller ('': the default)",
          request=Permissions, response=OkResponse, permission=MANAGE)  # fmt: skip
async def permissions_store(call: Call, body: Permissions) -> Response:
    joc_service(call, body.identityServiceName)
    _role(call, body.roleName)
    grants: dict[str, PermissionGrant] = {}
    for item in body.permissions:
        refused = check_permission_path(item.permissionPath, body.controllerId)
        if refused is not None:
            raise bad_request(refused.message)
        if item.permissionPath in grants:
            raise bad_request(f"The permission '{item.permissionPath}' is given twice")
        grants[item.permissionPath] = PermissionGrant(path=item.permissionPath, excluded=item.excluded)
    meta = call.change_meta(body, body.controllerId or None)
    command = cmd.StorePermissions(scope=body.controllerId, grants=tuple(grants.values()))
    await call.services.execute(keys.role(body.roleName), command, meta)
    return ok()


# --- folders --------------------------------------------------------------------------------------


class Folder(Request):
    """common/folder-schema.json"""

    folder: Annotated[str, Field(min_length=1, max_length=255)]
    recursive: bool = True


class Folders(Audited):
    """security/folders/folders-schema.json"""

    identityServiceName: Name
    controllerId: ControllerId
    roleName: Name
    folders: Annotated[list[Folder], Field(max_length=1000)]


class FoldersAnswer(JocResponse):
    """security/folders/folders-schema.json"""

    identityServiceName: str
    controllerId: str
    roleName: str
    folders: list[dict[str, object]]


@API.post("/iam/folders", summary="A role's folders for a Controller ('' or none: the default)",
          request=ScopeFilter, response=FoldersAnswer, permission=VIEW)  # fmt: skip
async def folders(call: Call, body: ScopeFilter) -> Response:
    grants = _role(call, body.roleName).folders.get(body.controllerId or "", ())
    return _scoped(call, body, "folders", [{"folder": g.folder, "recursive": g.recursive} for g in grants])


def _scoped(call: Call, body: ScopeFilter, name: str, items: list[dict[str, object]]) -> Response:
    """JOC's answer of a role's permissions or folders in one scope."""
    service = joc_service(call, body.identityServiceName)
    scope = {"identityServiceName": service.name, "controllerId": body.controllerId or "", "roleName": body.roleName}
    return joc_response(delivered({**scope, name: items}))


@API.post("/iam/folders/store", summary="Replaces a role's folders for a Controller ('': the default)",
          request=Folders, response=OkResponse, permission=MANAGE)  # fmt: skip
async def folders_store(call: Call, body: Folders) -> Response:
    joc_service(call, body.identityServiceName)
    _role(call, body.roleName)
    grants: dict[str, FolderGrant] = {}
    for item in body.folders:
        folder = normalize_folder(item.folder)
        if isinstance(folder, Problem):
            raise bad_request(folder.message)
        recursive = item.recursive or (folder in grants and grants[folder].recursive)
        grants[folder] = FolderGrant(folder=folder, recursive=recursive)
    meta = call.change_meta(body, body.controllerId or None)
    command = cmd.StoreFolders(scope=body.controllerId, folders=tuple(grants.values()))
    await call.services.execute(keys.role(body.roleName), command, meta)
    return ok()


# --- identity services ----------------------------------------------------------------------------

IdentityServiceType = Literal[
    "UNKNOWN", "KEYCLOAK", "KEYCLOAK-JOC", "LDAP", "LDAP-JOC", "OIDC", "OIDC-JOC", "FIDO", "JOC", "CERTIFICATE"
]  # security/identityServices/identityServiceTypes-schema.json
AuthenticationScheme = Literal["SINGLE-FACTOR", "TWO-FACTOR"]


class IdentityServiceFilter(Audited):
    """security/identityServices/identityServiceFilter-schema.json"""

    identityServiceName: String255 | None = None
    identityServiceType: IdentityServiceType | None = None
    disabled: bool | None = None
    secondFactor: bool | None = None


class IdentityServices(JocResponse):
    """security/identityServices/identityServices-schema.json"""

    identityServiceItems: list[dict[str, object]]
    identityServiceTypes: list[str]


@API.post("/iam/identityservices", summary="The identity services", request=IdentityServiceFilter,
          response=IdentityServices, permission=VIEW)  # fmt: skip
async def identity_services(call: Call, body: IdentityServiceFilter) -> Response:
    items = []
    for s in sorted(call.services.iam().identity_services.values(), key=lambda s: (s.ordering, s.name)):
        if body.identityServiceName and s.name != body.identityServiceName:
            continue
        if body.identityServiceType and s.type != body.identityServiceType:
            continue
        if body.disabled is not None and s.disabled != body.disabled:
            continue
        if body.secondFactor:
            continue
        items.append(
            {
                "identityServiceType": s.type,
                "identityServiceName": s.name,
                "serviceAuthenticationScheme": "SINGLE-FACTOR",
                "ordering": s.ordering,
                "disabled": s.disabled,
                "secondFactor": False,
                "required": s.required,
            }
        )
    return joc_response(delivered({"identityServiceItems": items, "identityServiceTypes": [JOC_TYPE]}))


class IdentityServiceStore(Audited):
    """security/identityServices/identityService-schema.json"""

    identityServiceType: IdentityServiceType = "UNKNOWN"
    identityServiceName: Name
    serviceAuthenticationScheme: AuthenticationScheme
    ordering: NonNegative | None = None
    disabled: bool = False
    secondFactor: bool = False
    secondFactorIdentityServiceName: Name | None = None
    required: bool = False


@API.post("/iam/identityservice/store", summary="Adds or changes an identity service (type JOC only)",
          request=IdentityServiceStore, response=OkResponse, permission=MANAGE)  # fmt: skip
async def identity_service_store(call: Call, body: IdentityServiceStore) -> Response:
    assert body.identityServiceType in IDENTITY_SERVICE_TYPES
    if body.identityServiceType != JOC_TYPE:
        raise bad_request(f"Identity services of type {body.identityServiceType} are not supported by js7es (only JOC)")
    if body.secondFactor or body.serviceAuthenticationScheme != "SINGLE-FACTOR" or body.secondFactorIdentityServiceName:
        raise bad_request("A second factor is not supported by js7es")
    services = call.services.iam().identity_services
    known = services.get(body.identityServiceName)
    ordering = body.ordering
    if ordering is None:
        ordering = known.ordering if known else max((s.ordering for s in services.values()), default=0) + 1
    meta = call.change_meta(body)
    command = cmd.StoreIdentityService(
        type=JOC_TYPE,
        ordering=ordering,
        disabled=body.disabled,
        required=body.required,
        settings=known.settings if known else {},
    )
    await call.services.execute(keys.identity_service(body.identityServiceName), command, meta)
    return ok()
