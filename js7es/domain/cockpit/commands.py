"""What the Cockpit's API asks its store to do. A command names no aggregate: the store executes it on
the aggregate key it is given (keys.py), e.g. `StoreAccount(...)` on ``account:alice``.

The Store… commands are JOC's "store" calls: they create the aggregate or change it, and yield no event
when nothing would change. Passwords arrive hashed (argon2id, by the API layer): the domain never hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from js7es.domain.cockpit.events import RegisteredNode
from js7es.domain.cockpit.iam import FolderGrant, PermissionGrant, frozen_map
from js7es.domain.value import NamedValues


@dataclass(frozen=True, slots=True, kw_only=True)
class CockpitCommand:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreAccount(CockpitCommand):
    """Adds the account, or changes its roles and flags; `password_hash` None keeps the password
    (a new account without one has none: it logs in through another identity service)."""

    password_hash: str | None = None
    roles: tuple[str, ...] = ()
    force_password_change: bool = False
    disabled: bool = False
    blocked: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangePassword(CockpitCommand):
    password_hash: str
    force_password_change: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveAccount(CockpitCommand):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreRole(CockpitCommand):
    ordering: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveRole(CockpitCommand):
    """Removes the role and unassigns it from every account that holds it (in the same append)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StorePermissions(CockpitCommand):
    scope: str  # "" for the default scope, else a controllerId
    grants: tuple[PermissionGrant, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreFolders(CockpitCommand):
    scope: str
    folders: tuple[FolderGrant, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreIdentityService(CockpitCommand):
    type: str
    ordering: int = 0
    disabled: bool = False
    required: bool = False
    settings: NamedValues = field(default_factory=frozen_map)


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveIdentityService(CockpitCommand):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreSettings(CockpitCommand):
    values: NamedValues


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestControllerCommand(CockpitCommand):
    controller_id: str
    request: str
    category: str
    parameters: NamedValues = field(default_factory=frozen_map)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerControllerCommand(CockpitCommand):
    accepted: bool
    problem: NamedValues | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkOutcomeUnknown(CockpitCommand):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordLogin(CockpitCommand):
    account: str
    address: str
    succeeded: bool
    reason: str = ""  # why it failed
    identity_service: str | None = None  # the service that accepted it


# --- inventory (inventory.py) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreInventoryObject(CockpitCommand):
    """Stores the draft at `path` (validated by the decision); restores it from the trash."""

    path: str
    configuration: NamedValues


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveInventoryObject(CockpitCommand):
    """To the trash; refused while the object is deployed to a Controller (revoke it first)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseInventoryObject(CockpitCommand):
    """Releases the current draft (valid, not in the trash) of a releasable object (JOC's release)."""

    at_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RecallInventoryObject(CockpitCommand):
    """Withdraws the released version (JOC's recall)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreFolder(CockpitCommand):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveFolder(CockpitCommand):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentItem:
    object_type: str
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestDeployment(CockpitCommand):
    """The intent to deploy (UPDATE) the current drafts of `objects`, or to revoke them (DELETE), at one
    Controller, on the key deployment:<commitId>."""

    controller_id: str
    operation: str
    account: str
    objects: tuple[DeploymentItem, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConcludeDeployment(CockpitCommand):
    """The outcome: succeeded (each object's deployed version recorded in the same append) or failed."""

    succeeded: bool
    at_ms: int
    problem: NamedValues | None = None


# --- registered Controllers (controllers.py) ---------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterController(CockpitCommand):
    """Registers a new Controller (refused when its id is registered already)."""

    nodes: tuple[RegisteredNode, ...]
    force_failover_confirmation: bool = False
    cluster_watch: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeControllerRegistration(CockpitCommand):
    """Replaces the registration of a registered Controller (JOC's register with a controllerId)."""

    nodes: tuple[RegisteredNode, ...]
    force_failover_confirmation: bool = False
    cluster_watch: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UnregisterController(CockpitCommand):
    pass
