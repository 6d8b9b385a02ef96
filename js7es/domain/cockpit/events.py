"""The Cockpit store's events, past tense with the aggregate first, and the `ChangeMeta` they travel with.

An event says only what changed. Who changed it, when, through which request and with which audit
parameters (JOC's `auditLog`: comment, timeSpent, ticketLink) is the `ChangeMeta` beside it; the key
(keys.py) says which aggregate. The store writes the three as one `CockpitRecord`.

These events are no part of the Controller's event contract (js7es/domain/events.py, the Avro
schemas): their base `CockpitEvent` is not `js7es.domain.event.Event`, and `COCKPIT_EVENTS` is their own
explicit TYPE → class registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from js7es.domain import codec
from js7es.domain.cockpit.iam import FolderGrant, PermissionGrant, frozen_map
from js7es.domain.problem import Problem, problem
from js7es.domain.value import NamedValues

codec.register(PermissionGrant)
codec.register(FolderGrant)


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeMeta:
    """Who made a change, when and how: the account, the time (epoch ms), the API request path and
    JOC's audit parameters; `controller_id` when the change concerns one Controller."""

    account: str
    at_ms: int
    request: str
    comment: str | None = None
    time_spent_s: int | None = None
    ticket_link: str | None = None
    controller_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CockpitEvent:
    """Base of the Cockpit store's events."""


# --- accounts (key account:<name>) -----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountEvent(CockpitEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AccountAdded(AccountEvent):
    password_hash: str | None = None
    roles: tuple[str, ...] = ()
    force_password_change: bool = False
    disabled: bool = False
    blocked: bool = False


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AccountChanged(AccountEvent):
    roles: tuple[str, ...]
    force_password_change: bool
    disabled: bool
    blocked: bool


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AccountPasswordChanged(AccountEvent):
    password_hash: str
    force_password_change: bool = False


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AccountRemoved(AccountEvent):
    pass


# --- roles (key role:<name>) ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleEvent(CockpitEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class RoleAdded(RoleEvent):
    ordering: int = 0


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class RoleChanged(RoleEvent):
    ordering: int


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class RoleRemoved(RoleEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class RolePermissionsStored(RoleEvent):
    """The grants of one scope, replacing those before ("" is the default scope; none: scope cleared)."""

    scope: str
    grants: tuple[PermissionGrant, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class RoleFoldersStored(RoleEvent):
    scope: str
    folders: tuple[FolderGrant, ...]


# --- identity services (key identity-service:<name>) ----------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityServiceEvent(CockpitEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityServiceStored(IdentityServiceEvent):
    type: str
    ordering: int = 0
    disabled: bool = False
    required: bool = False
    settings: NamedValues = field(default_factory=frozen_map)


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class IdentityServiceRemoved(IdentityServiceEvent):
    pass


# --- settings (key settings:<section>) ------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsEvent(CockpitEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SettingsStored(SettingsEvent):
    """A section's values (a JSON object), replacing those before."""

    values: NamedValues


# --- commands sent to Controllers (key command:<request_id>) -------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerCommandEvent(CockpitEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerCommandRequested(ControllerCommandEvent):
    """Written before the command leaves for the Controller (the audit entry comes first)."""

    controller_id: str
    request: str  # the Controller API path, e.g. /controller/api/command
    category: str  # JOC's audit category: CONTROLLER, DAILYPLAN, INVENTORY, DEPLOYMENT, …
    parameters: NamedValues


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerCommandAnswered(ControllerCommandEvent):
    accepted: bool
    problem: NamedValues | None = None  # the Controller's problem when refused


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerCommandOutcomeUnknown(ControllerCommandEvent):
    """The Cockpit stopped between the request and the answer: whether the Controller executed the
    command is not known here (written when the Cockpit starts again)."""


# --- logins (key login:<id>, one aggregate per attempt) -------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginEvent(CockpitEvent):
    account: str
    address: str  # the caller's address


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class LoginSucceeded(LoginEvent):
    identity_service: str | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class LoginFailed(LoginEvent):
    reason: str


# --- inventory objects (key inventory:<objectType>:<name>) -----------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryEvent(CockpitEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryObjectStored(InventoryEvent):
    """The draft: JS7's item JSON unchanged (`configuration`), at `path` (folder + name), validated."""

    path: str
    configuration: NamedValues
    valid: bool
    invalid_msg: str | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryObjectRemoved(InventoryEvent):
    """Moved to the trash (JOC's `deleted`); storing it again restores it."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryObjectDeployed(InventoryEvent):
    """This version (the draft of the moment) is at the Controller, since the deployment `commit_id`."""

    controller_id: str
    commit_id: str
    path: str
    configuration: NamedValues
    at_ms: int
    account: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryObjectRevoked(InventoryEvent):
    """Deleted from the Controller by the deployment `commit_id`."""

    controller_id: str
    commit_id: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryObjectReleased(InventoryEvent):
    """The draft of the moment is released (JOC's release of schedules, calendars and other objects that
    stay in the Cockpit): what the daily plan uses until the next release or a recall."""

    path: str
    configuration: NamedValues
    at_ms: int


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryObjectRecalled(InventoryEvent):
    """The released version is withdrawn (JOC's recall, or the release of a deletion)."""


# --- deployments (key deployment:<commitId>) -------------------------------------------------------


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentObject:
    """One object of a deployment: what is sent (`configuration`, None when it is deleted)."""

    object_type: str
    name: str
    path: str
    configuration: NamedValues | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentEvent(CockpitEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentRequested(DeploymentEvent):
    """Written before the item operations leave for the Controller. The commitId is the JS7 versionId
    of the operations (AddVersion), so that the Controller's state tells later whether they arrived."""

    controller_id: str
    operation: str  # "UPDATE" (add or change) | "DELETE" (revoke)
    account: str
    objects: tuple[DeploymentObject, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentSucceeded(DeploymentEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentFailed(DeploymentEvent):
    problem: NamedValues  # the Controller's problem, or why the outcome is unknown


# --- folders (key folder:<path>) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class FolderEvent(CockpitEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class FolderAdded(FolderEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class FolderRemoved(FolderEvent):
    pass


# --- registered Controllers (key controller:<controllerId>) -----------------------------------------


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class RegisteredNode:
    """One node of a registered Controller as JOC registers it (registerParam-schema.json's item):
    its URL as the Cockpit reaches it, its role (STANDALONE, or PRIMARY and BACKUP of a cluster), the
    URL the cluster's nodes use for it (`cluster_url`, None: `url`), and a title."""

    url: str
    role: str
    cluster_url: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerEvent(CockpitEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerRegistered(ControllerEvent):
    """The Cockpit follows this Controller from now on. `cluster_watch`: the URL of the Cluster Watch
    of a Controller cluster (js7es's Watch is a process of its own), for confirm_node_loss."""

    nodes: tuple[RegisteredNode, ...]
    force_failover_confirmation: bool = False
    cluster_watch: str | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerRegistrationChanged(ControllerEvent):
    """The registration after the change, whole (the nodes, the flag and the Watch replace those before)."""

    nodes: tuple[RegisteredNode, ...]
    force_failover_confirmation: bool = False
    cluster_watch: str | None = None


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerUnregistered(ControllerEvent):
    """The Cockpit no longer follows it; the rows it projected stay (see nodes/cockpit/api/registration.py)."""


# --- the daily plan (key dailyplan:<controllerId>:<date>:<schedulePath>) -----------------------------


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class PlanPeriod:
    """The period of a cyclic order: its first and last start (epoch ms) and the repeat in seconds."""

    begin_ms: int
    end_ms: int
    repeat_s: int


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class PlanOrder:
    """One order of a daily plan: JOC's order id (#date#P… or, one of a cycle, #date#C…), the workflow
    (name at the Controller, path in the inventory), the start, and the arguments of its parameterisation."""

    order_id: str
    workflow_name: str
    workflow_path: str
    order_name: str
    calendar_name: str
    planned_start_ms: int
    arguments: NamedValues = field(default_factory=dict)
    period: PlanPeriod | None = None
    cycle_nr: int = 0  # 1..cycle_size for the orders of one cyclic period, else 0
    cycle_size: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyPlanEvent(CockpitEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DailyPlanOrdersPlanned(DailyPlanEvent):
    """Orders of one schedule on one daily-plan date, planned by the submission (generation) `submission_id`;
    `revision` identifies the released schedule and calendars they were computed from."""

    submission_id: int
    revision: str
    orders: tuple[PlanOrder, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DailyPlanOrdersSubmitting(DailyPlanEvent):
    """Written before the orders are sent to the Controller (AddOrders): a stop in between leaves them
    Submitting, and the next start asks the Controller's history which of them arrived."""

    order_ids: tuple[str, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DailyPlanOrdersSubmitted(DailyPlanEvent):
    order_ids: tuple[str, ...]
    at_ms: int


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DailyPlanOrdersNotSubmitted(DailyPlanEvent):
    """The Controller refused them: planned again, with the problem."""

    order_ids: tuple[str, ...]
    problem: NamedValues


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DailyPlanOrdersCancelled(DailyPlanEvent):
    """Submitted orders cancelled at the Controller: planned again, but left for a person to submit."""

    order_ids: tuple[str, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DailyPlanOrdersRemoved(DailyPlanEvent):
    """Planned orders removed from the plan: never planned again by the service (only by an overwrite)."""

    order_ids: tuple[str, ...]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DailyPlanOrdersSkipped(DailyPlanEvent):
    """Planned orders whose start passed while they were not submitted (the Cockpit was away), left out by
    the setting `dailyplan.submit_late_orders = false`."""

    order_ids: tuple[str, ...]


FAMILIES: tuple[type[CockpitEvent], ...] = (
    AccountEvent,
    RoleEvent,
    IdentityServiceEvent,
    SettingsEvent,
    ControllerCommandEvent,
    LoginEvent,
    InventoryEvent,
    DeploymentEvent,
    FolderEvent,
    ControllerEvent,
    DailyPlanEvent,
)

# The explicit registry: every event of the Cockpit store by its TYPE (a test checks it is complete).
COCKPIT_EVENTS: Mapping[str, type[CockpitEvent]] = MappingProxyType(
    {
        codec.type_name_of(cls): cls
        for cls in (
            AccountAdded,
            AccountChanged,
            AccountPasswordChanged,
            AccountRemoved,
            RoleAdded,
            RoleChanged,
            RoleRemoved,
            RolePermissionsStored,
            RoleFoldersStored,
            IdentityServiceStored,
            IdentityServiceRemoved,
            SettingsStored,
            ControllerCommandRequested,
            ControllerCommandAnswered,
            ControllerCommandOutcomeUnknown,
            LoginSucceeded,
            LoginFailed,
            InventoryObjectStored,
            InventoryObjectRemoved,
            InventoryObjectDeployed,
            InventoryObjectRevoked,
            InventoryObjectReleased,
            InventoryObjectRecalled,
            DeploymentRequested,
            DeploymentSucceeded,
            DeploymentFailed,
            FolderAdded,
            FolderRemoved,
            ControllerRegistered,
            ControllerRegistrationChanged,
            ControllerUnregistered,
            DailyPlanOrdersPlanned,
            DailyPlanOrdersSubmitting,
            DailyPlanOrdersSubmitted,
            DailyPlanOrdersNotSubmitted,
            DailyPlanOrdersCancelled,
            DailyPlanOrdersRemoved,
            DailyPlanOrdersSkipped,
        )
    }
)


def inapplicable(key: str, event: CockpitEvent, state: object) -> Problem:
    """The problem of an event that does not apply to the aggregate `key` in `state` (None: absent)."""
    what = "absent" if state is None else type(state).__name__
    return problem(
        "InapplicableEvent",
        f"{type(event).__name__} does not apply to {key} ({what})",
        key=key,
        event=type(event).__name__,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyedCockpitEvent:
    key: str
    event: CockpitEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class CockpitRecord:
    """One stored event: its aggregate key and version (1, 2, …), the event and its ChangeMeta.
    `notification_id` is its position in the store's total order (0 before it is stored)."""

    key: str
    version: int
    event: CockpitEvent
    meta: ChangeMeta
    notification_id: int = 0


def event_to_json(event: CockpitEvent) -> dict[str, Any]:
    return codec.encode(event)


def event_from_json(obj: Mapping[str, Any]) -> CockpitEvent:
    cls = COCKPIT_EVENTS.get(obj.get("TYPE", ""))
    if cls is None:
        raise codec.CodecError(f"unknown Cockpit event TYPE {obj.get('TYPE')!r}")
    return codec.decode(obj, cls)


def record_to_json(key: str, event: CockpitEvent, meta: ChangeMeta) -> dict[str, Any]:
    """The stored JSON of an event: {"Key", "meta", "event"} (the version and position are the store's)."""
    meta_json = codec.encode(meta)
    del meta_json["TYPE"]
    return {"Key": key, "meta": meta_json, "event": event_to_json(event)}


def record_from_json(obj: Mapping[str, Any], *, version: int, notification_id: int = 0) -> CockpitRecord:
    try:
        key = obj["Key"]
        meta = codec.decode({**obj["meta"], "TYPE": "ChangeMeta"}, ChangeMeta)
        event = event_from_json(obj["event"])
    except (KeyError, TypeError) as e:
        raise codec.CodecError(f"malformed Cockpit record: {e}") from e
    if not isinstance(key, str):
        raise codec.CodecError("Key must be a string")
    return CockpitRecord(key=key, version=version, event=event, meta=meta, notification_id=notification_id)
