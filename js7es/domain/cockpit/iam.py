"""Identity and access: the state that logins, permission checks (permissions.py) and the IAM API read.

Mappings inside these frozen dataclasses are read-only views (`types.MappingProxyType`, made by
`frozen_map`): a state is shared between threads and must not be changed behind the store's back. Their
values are tuples. Equality compares contents, so a state equals one built from plain dicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TypeVar

from js7es.domain.value import NamedValues

V = TypeVar("V")

DEFAULT_SCOPE = ""  # the permissions of a role that hold for every Controller (JOC's default scope)

# JOC's identity service types (identityServiceTypes-schema.json).
IDENTITY_SERVICE_TYPES = frozenset(
    {"UNKNOWN", "KEYCLOAK", "KEYCLOAK-JOC", "LDAP", "LDAP-JOC", "OIDC", "OIDC-JOC", "FIDO", "JOC", "CERTIFICATE"}
)


def frozen_map(mapping: Mapping[str, V] | None = None) -> Mapping[str, V]:
    """A read-only copy of `mapping`."""
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True, kw_only=True)
class PermissionGrant:
    """JOC's {permissionPath, excluded}: excluded=True means denied (and a deny beats a grant)."""

    path: str  # e.g. "sos:products:controller:orders:create"
    excluded: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderGrant:
    """JOC's {folder, recursive}: a role limited to folders sees only these (and, if recursive, below)."""

    folder: str
    recursive: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    name: str
    ordering: int = 0
    # scope -> grants; the scope DEFAULT_SCOPE ("") holds for all Controllers, else a controllerId.
    # A scope with no grants is absent.
    permissions: Mapping[str, tuple[PermissionGrant, ...]] = field(default_factory=frozen_map)
    # scope -> folders; no folders in a scope means every folder.
    folders: Mapping[str, tuple[FolderGrant, ...]] = field(default_factory=frozen_map)


@dataclass(frozen=True, slots=True, kw_only=True)
class Account:
    name: str
    password_hash: str | None  # argon2id, made by the API layer; None: no password (other services)
    roles: tuple[str, ...] = ()
    force_password_change: bool = False
    disabled: bool = False
    blocked: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityService:
    name: str
    type: str  # one of IDENTITY_SERVICE_TYPES
    ordering: int = 0
    disabled: bool = False
    required: bool = False
    settings: NamedValues = field(default_factory=frozen_map)


@dataclass(frozen=True, slots=True, kw_only=True)
class IamState:
    """Everything IAM and settings of one Cockpit: small, so the store keeps it whole in memory.

    `versions` holds the store's version (the number of events) of each aggregate it contains, so that a
    decision on this state can be appended under optimistic concurrency for aggregates it did not load.
    """

    accounts: Mapping[str, Account] = field(default_factory=frozen_map)
    roles: Mapping[str, Role] = field(default_factory=frozen_map)
    identity_services: Mapping[str, IdentityService] = field(default_factory=frozen_map)
    settings: Mapping[str, NamedValues] = field(default_factory=frozen_map)
    versions: Mapping[str, int] = field(default_factory=frozen_map)

    def accounts_with_role(self, role: str) -> tuple[Account, ...]:
        return tuple(a for _, a in sorted(self.accounts.items()) if role in a.roles)


EMPTY_IAM = IamState()


def with_entry(mapping: Mapping[str, V], name: str, value: V | None) -> Mapping[str, V]:
    """A copy of `mapping` with `name` set to `value`, or removed when `value` is None."""
    copy = dict(mapping)
    if value is None:
        copy.pop(name, None)
    else:
        copy[name] = value
    return MappingProxyType(copy)


def with_version(iam: IamState, aggregate_key: str, version: int) -> IamState:
    return replace(iam, versions=with_entry(iam.versions, aggregate_key, version))
