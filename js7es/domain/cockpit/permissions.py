"""JOC's permission model: the permission tree, the effective permissions of an account's roles, and
the answer of `/authentication/joc_cockpit_permissions`.

Facts, from `sos-berlin/sos-components` at commit bd6773408b (2026-08-21, JOC 2.8.x/2.9 dev) unless
said otherwise:

- The leaves: `sos-webservices-joc-global/.../auth/classes/SOSListOfPermissions.java` (31 JOC and 21
  Controller permissions) and `SOSPermissionsCreator.java`, which maps each leaf to its JSON field.
- The JSON shape and field order: `sos-webservices-json/.../model/security/configuration/permissions/`
  (`Permissions`, `JocPermissions`, `ControllerPermissions`, `joc/*`, `joc/admin/*`, `controller/*`)
  and `sos-berlin/js7-api-schemas` (commit c5054345c9) `schemas/security/securityConfiguration/
  permissions-schema.json` with its example `examples/user/permissions-example.json`.
- Evaluation: `SOSAuthCurrentAccount.getPermissionFromSubject` and `getExcludedController`, with
  `ASOSAuthSubject.isPermitted`. The permissions of all roles of an account form one set, each entry
  `path` (default scope) or `controllerId:path`, a denied one prefixed with `-`
  (`SOSAuthHelper.getPermission`). A permission is granted if it or an ancestor is in the set, by
  default or for the Controller asked about; it is excluded if it or an ancestor (down to
  `sos:products`) is denied, by default or for that Controller. Hence: a grant inherits to the
  children; a deny in any role beats a grant in any role; a per-Controller grant adds to the default;
  a per-Controller deny beats a default grant; a default deny beats every per-Controller grant.
- JOC permissions are always asked in the default scope (`haveRight(permission)` → controllerId `""`),
  so a JOC permission in a Controller's scope has no effect; `check_permission_path` refuses it.
- The answer lists under `controllers` the Controllers that the account's roles have a scope for
  (`SOSPermissionsCreator.createJocCockpitPermissionControllerObjectList`); the caller passes them
  (`EffectivePermissions.controller_scopes`), so that it can also add others it knows.

Not modelled: the four-eyes "approval requestor" role (`create4EyesJocCockpitPermissionControllerObjectList`),
and the misspelt legacy aliases `sos:products:joc:adminstration:*` that JOC still honours on reading.

The folder permissions and the default roles live in `folders` and `default_roles`; they are
re-exported here so that the API layer has one import for access control.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from js7es.domain.cockpit.default_roles import DEFAULT_ROLES
from js7es.domain.cockpit.folders import FolderPermissions, normalize_folder
from js7es.domain.cockpit.iam import Role
from js7es.domain.problem import Problem, problem

__all__ = [
    "CONTROLLER",
    "DEFAULT_ROLES",
    "DEFAULT_SCOPE",
    "JOC",
    "LEAF_PERMISSIONS",
    "PERMISSION_NODES",
    "PERMISSION_PATHS",
    "PERMISSION_TREE",
    "ROOT",
    "EffectivePermissions",
    "FolderPermissions",
    "PermissionNode",
    "check_permission_path",
    "effective",
    "normalize_folder",
]

ROOT = "sos:products"
JOC = "sos:products:joc"
CONTROLLER = "sos:products:controller"
DEFAULT_SCOPE = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PermissionNode:
    """A node of the permission tree. `json_name` is its field in JOC's answer (None above `joc` and
    `controller`, whose objects are `joc`, `controllerDefaults` and `controllers.<id>`)."""

    path: str
    json_name: str | None
    children: tuple[PermissionNode, ...] = ()

    @property
    def controller_scoped(self) -> bool:
        """Whether the permission can differ per Controller (a Controller permission)."""
        return self.path == CONTROLLER or self.path.startswith(CONTROLLER + ":")

    def walk(self) -> Iterable[PermissionNode]:
        yield self
        for child in self.children:
            yield from child.walk()


def _n(segment: str, json_name: str | None, *children: PermissionNode) -> PermissionNode:
    """A node whose path is its segment only, until `_rooted` prefixes its parent's path."""
    return PermissionNode(path=segment, json_name=json_name, children=children)


def _rooted(node: PermissionNode, parent: str = "") -> PermissionNode:
    path = f"{parent}:{node.path}" if parent else node.path
    return PermissionNode(path=path, json_name=node.json_name, children=tuple(_rooted(c, path) for c in node.children))


# Children in the order of JOC's @JsonPropertyOrder, so that the answer is built by walking the tree.
_VIEW_MANAGE = (_n("view", "view"), _n("manage", "manage"))
PERMISSION_TREE: PermissionNode = _rooted(
    _n(
        ROOT,
        None,
        _n(
            "joc",
            "joc",
            _n("get_log", "getLog"),
            _n(
                "administration",
                "administration",
                _n("accounts", "accounts", *_VIEW_MANAGE),
                _n("settings", "settings", *_VIEW_MANAGE),
                _n("controllers", "controllers", *_VIEW_MANAGE),
                _n("certificates", "certificates", *_VIEW_MANAGE),
                _n("customization", "customization", *_VIEW_MANAGE, _n("share", "share")),
            ),
            _n("cluster", "cluster", _n("manage", "manage")),
            _n("inventory", "inventory", *_VIEW_MANAGE, _n("deploy", "deploy")),
            _n("calendars", "calendars", _n("view", "view")),
            _n("documentations", "documentations", *_VIEW_MANAGE),
            _n("auditlog", "auditLog", _n("view", "view")),
            _n("dailyplan", "dailyPlan", *_VIEW_MANAGE),
            _n("filetransfer", "fileTransfer", *_VIEW_MANAGE),
            _n("notification", "notification", *_VIEW_MANAGE),
            _n("encipherment", "encipherment", _n("encrypt", "encrypt")),
            _n("reports", "reports", *_VIEW_MANAGE),
            _n("others", "others", *_VIEW_MANAGE),
        ),
        _n(
            "controller",
            "controller",
            _n("view", "view"),
            _n("restart", "restart"),
            _n("terminate", "terminate"),
            _n("get_log", "getLog"),
            _n("switch_over", "switchOver"),
            _n("deployment", "deployments", _n("view", "view"), _n("deploy", "deploy")),
            _n(
                "orders",
                "orders",
                _n("view", "view"),
                _n("create", "create"),
                _n("cancel", "cancel"),
                _n("suspend_resume", "suspendResume"),
                _n("resume_failed", "resumeFailed"),
                _n("modify", "modify"),
                _n("manage_positions", "managePositions"),
                _n("confirm", "confirm"),
            ),
            _n("agents", "agents", _n("view", "view")),
            _n("noticeboards", "noticeBoards", _n("view", "view"), _n("post", "post"), _n("delete", "delete")),
            _n("locks", "locks", _n("view", "view")),
            _n("workflows", "workflows", _n("view", "view")),
        ),
    )
)

PERMISSION_NODES: Mapping[str, PermissionNode] = {node.path: node for node in PERMISSION_TREE.walk()}
PERMISSION_PATHS: frozenset[str] = frozenset(PERMISSION_NODES)
LEAF_PERMISSIONS: tuple[str, ...] = tuple(node.path for node in PERMISSION_TREE.walk() if not node.children)


def check_permission_path(path: str, controller_id: str = DEFAULT_SCOPE) -> Problem | None:
    """Why `path` cannot be stored in a role's scope `controller_id` (`""` = default), or None."""
    if path not in PERMISSION_PATHS:
        return problem("UnknownPermission", f"Unknown permission {path!r}", permissionPath=path)
    if controller_id and (path == JOC or path.startswith(JOC + ":")):
        return problem(
            "PermissionNotControllerScoped",
            f"The JOC permission {path!r} applies to all Controllers and cannot be given for {controller_id!r}",
            permissionPath=path,
            controllerId=controller_id,
        )
    return None


def _self_and_ancestors(path: str) -> Iterable[str]:
    """`a:b:c:d` → `a:b:c:d`, `a:b:c`, `a:b` (JOC's getExcludedController stops at two segments)."""
    segments = path.split(":")
    for n in range(len(segments), 1, -1):
        yield ":".join(segments[:n])


_Scoped = Mapping[str, frozenset[str]]


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectivePermissions:
    """The merged permissions of an account's roles; build with `effective(roles)`."""

    role_names: tuple[str, ...] = ()
    granted: _Scoped = field(default_factory=dict)  # scope → granted paths
    denied: _Scoped = field(default_factory=dict)  # scope → denied paths

    @property
    def controller_scopes(self) -> tuple[str, ...]:
        """The controllerIds the roles have a scope for: JOC's keys of `controllers` in its answer."""
        return tuple(sorted({scope for scope in (*self.granted, *self.denied) if scope}))

    def _in_scopes(self, sets: _Scoped, paths: Sequence[str], controller_id: str | None) -> bool:
        scopes = (DEFAULT_SCOPE, controller_id) if controller_id else (DEFAULT_SCOPE,)
        return any(path in sets.get(scope, ()) for scope in scopes for path in paths)

    def allows(self, path: str, controller_id: str | None = None) -> bool:
        """Whether the permission `path` (a leaf or an inner node) is granted and not denied.

        For a Controller permission `controller_id` None asks about the default scope (JOC's
        `controllerDefaults`); a JOC permission ignores `controller_id`. An unknown path is a bug.
        """
        node = PERMISSION_NODES.get(path)
        if node is None:
            raise ValueError(f"Unknown permission {path!r}")
        scope = controller_id if node.controller_scoped else None
        lineage = tuple(_self_and_ancestors(path))
        return self._in_scopes(self.granted, lineage, scope) and not self._in_scopes(self.denied, lineage, scope)

    def _json(self, node: PermissionNode, controller_id: str | None) -> dict[str, object]:
        return {
            str(child.json_name): self._json(child, controller_id)
            if child.children
            else self.allows(child.path, controller_id)
            for child in node.children
        }

    def to_joc_json(self, controller_ids: Sequence[str]) -> dict[str, object]:
        """JOC's answer to `/authentication/joc_cockpit_permissions` (its `Permissions` object) with an
        entry under `controllers` for each of `controller_ids` (JOC: `controller_scopes`)."""
        return {
            "roles": list(self.role_names),
            "joc": self._json(PERMISSION_NODES[JOC], None),
            "controllerDefaults": self._json(PERMISSION_NODES[CONTROLLER], None),
            "controllers": {cid: self._json(PERMISSION_NODES[CONTROLLER], cid) for cid in controller_ids},
        }


def effective(roles: Iterable[Role]) -> EffectivePermissions:
    """The permissions of an account holding `roles`, merged as JOC merges them."""
    names: dict[str, None] = {}
    granted: dict[str, set[str]] = {}
    denied: dict[str, set[str]] = {}
    for role in roles:
        names[role.name] = None
        for scope, grants in role.permissions.items():
            for grant in grants:
                (denied if grant.excluded else granted).setdefault(scope, set()).add(grant.path)
    return EffectivePermissions(
        role_names=tuple(names),
        granted={scope: frozenset(paths) for scope, paths in granted.items()},
        denied={scope: frozenset(paths) for scope, paths in denied.items()},
    )
