"""One transition function per aggregate of the Cockpit store: apply(state, event) returns the next
state (None: the aggregate does not exist, or no longer), or an InapplicableEvent problem. Never raises,
never ignores silently.

A removed account, role or identity service may be added again under the same key: its events go on
(versions keep counting), its state starts afresh.
"""

from __future__ import annotations

from dataclasses import replace

from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.controllers import ControllerRegistration, apply_controller
from js7es.domain.cockpit.daily_plan import ScheduleDay, apply_daily_plan
from js7es.domain.cockpit.iam import Account, IamState, IdentityService, Role, with_entry, with_version
from js7es.domain.cockpit.inventory import (
    Deployment,
    Folder,
    InventoryObject,
    InventoryState,
    apply_deployment,
    apply_folder,
    apply_inventory,
    apply_object,
)
from js7es.domain.cockpit.state import ControllerCommand, Login, Settings
from js7es.domain.problem import Problem

AggregateState = (
    Account
    | Role
    | IdentityService
    | Settings
    | ControllerCommand
    | Login
    | InventoryObject
    | Deployment
    | Folder
    | ControllerRegistration
    | ScheduleDay
)


def apply_account(account: Account | None, name: str, event: ev.CockpitEvent) -> Account | Problem | None:
    match event:
        case ev.AccountAdded() if account is None:
            return Account(
                name=name,
                password_hash=event.password_hash,
                roles=event.roles,
                force_password_change=event.force_password_change,
                disabled=event.disabled,
                blocked=event.blocked,
            )
        case ev.AccountChanged() if account is not None:
            return replace(
                account,
                roles=event.roles,
                force_password_change=event.force_password_change,
                disabled=event.disabled,
                blocked=event.blocked,
            )
        case ev.AccountPasswordChanged() if account is not None:
            return replace(
                account, password_hash=event.password_hash, force_password_change=event.force_password_change
            )
        case ev.AccountRemoved() if account is not None:
            return None
    return ev.inapplicable(keys.account(name), event, account)


def apply_role(role: Role | None, name: str, event: ev.CockpitEvent) -> Role | Problem | None:
    match event:
        case ev.RoleAdded() if role is None:
            return Role(name=name, ordering=event.ordering)
        case ev.RoleChanged() if role is not None:
            return replace(role, ordering=event.ordering)
        case ev.RoleRemoved() if role is not None:
            return None
        case ev.RolePermissionsStored() if role is not None:
            return replace(role, permissions=with_entry(role.permissions, event.scope, event.grants or None))
        case ev.RoleFoldersStored() if role is not None:
            return replace(role, folders=with_entry(role.folders, event.scope, event.folders or None))
    return ev.inapplicable(keys.role(name), event, role)


def apply_identity_service(
    service: IdentityService | None, name: str, event: ev.CockpitEvent
) -> IdentityService | Problem | None:
    match event:
        case ev.IdentityServiceStored():
            return IdentityService(
                name=name,
                type=event.type,
                ordering=event.ordering,
                disabled=event.disabled,
                required=event.required,
                settings=event.settings,
            )
        case ev.IdentityServiceRemoved() if service is not None:
            return None
    return ev.inapplicable(keys.identity_service(name), event, service)


def apply_settings(settings: Settings | None, section: str, event: ev.CockpitEvent) -> Settings | Problem:
    match event:
        case ev.SettingsStored():
            return Settings(section=section, values=event.values)
    return ev.inapplicable(keys.settings(section), event, settings)


def apply_command(
    command: ControllerCommand | None, request_id: str, event: ev.CockpitEvent
) -> ControllerCommand | Problem:
    match event:
        case ev.ControllerCommandRequested() if command is None:
            return ControllerCommand(
                request_id=request_id,
                controller_id=event.controller_id,
                request=event.request,
                category=event.category,
                parameters=event.parameters,
            )
        case ev.ControllerCommandAnswered() if command is not None and command.outcome is None:
            return replace(command, outcome="Accepted" if event.accepted else "Refused", problem=event.problem)
        case ev.ControllerCommandOutcomeUnknown() if command is not None and command.outcome is None:
            return replace(command, outcome="Unknown")
    return ev.inapplicable(keys.command(request_id), event, command)


def apply_login(login: Login | None, login_id: str, event: ev.CockpitEvent) -> Login | Problem:
    match event:
        case ev.LoginSucceeded() if login is None:
            return Login(account=event.account, address=event.address, succeeded=True)
        case ev.LoginFailed() if login is None:
            return Login(account=event.account, address=event.address, succeeded=False)
    return ev.inapplicable(keys.login(login_id), event, login)


def apply(state: AggregateState | None, key: str, event: ev.CockpitEvent) -> AggregateState | Problem | None:
    """The next state of the aggregate `key` (its kind chooses the transition function)."""
    kind, name = keys.split(key)
    match kind:
        case keys.ACCOUNT if state is None or isinstance(state, Account):
            return apply_account(state, name, event)
        case keys.ROLE if state is None or isinstance(state, Role):
            return apply_role(state, name, event)
        case keys.IDENTITY_SERVICE if state is None or isinstance(state, IdentityService):
            return apply_identity_service(state, name, event)
        case keys.SETTINGS if state is None or isinstance(state, Settings):
            return apply_settings(state, name, event)
        case keys.COMMAND if state is None or isinstance(state, ControllerCommand):
            return apply_command(state, name, event)
        case keys.LOGIN if state is None or isinstance(state, Login):
            return apply_login(state, name, event)
        case keys.INVENTORY if state is None or isinstance(state, InventoryObject):
            result: AggregateState | Problem | None = apply_object(state, key, name, event)
            return result
        case keys.DEPLOYMENT if state is None or isinstance(state, Deployment):
            result = apply_deployment(state, key, name, event)
            return result
        case keys.FOLDER if state is None or isinstance(state, Folder):
            result = apply_folder(state, key, name, event)
            return result
        case keys.CONTROLLER if state is None or isinstance(state, ControllerRegistration):
            return apply_controller(state, key, name, event)
        case keys.DAILY_PLAN if state is None or isinstance(state, ScheduleDay):
            return apply_daily_plan(state, key, name, event)
    return ev.inapplicable(key, event, state)


def inventory_state_of(inventory: InventoryState, key: str) -> AggregateState | None:
    kind, name = keys.split(key)
    match kind:
        case keys.INVENTORY:
            return inventory.objects.get(name)
        case keys.DEPLOYMENT:
            return inventory.deployments.get(name)
        case keys.FOLDER:
            return inventory.folders.get(name)
    return None


def apply_to_inventory(
    inventory: InventoryState, key: str, event: ev.CockpitEvent, version: int
) -> InventoryState | Problem:
    """`inventory` after the event `version` of aggregate `key`; events of other kinds leave it as it is."""
    kind, name = keys.split(key)
    if kind not in keys.INVENTORY_KINDS:
        return inventory
    state = apply(inventory_state_of(inventory, key), key, event)
    if isinstance(state, Problem):
        return state
    return apply_inventory(inventory, kind, name, key, state, version)


def state_of(iam: IamState, key: str) -> AggregateState | None:
    """The state of an IAM aggregate as `iam` holds it (None for other kinds)."""
    kind, name = keys.split(key)
    match kind:
        case keys.ACCOUNT:
            return iam.accounts.get(name)
        case keys.ROLE:
            return iam.roles.get(name)
        case keys.IDENTITY_SERVICE:
            return iam.identity_services.get(name)
        case keys.SETTINGS:
            values = iam.settings.get(name)
            return None if values is None else Settings(section=name, values=values)
    return None


def apply_iam(iam: IamState, key: str, event: ev.CockpitEvent, version: int) -> IamState | Problem:
    """`iam` after the event `version` of aggregate `key`; events of other kinds leave it as it is."""
    kind, name = keys.split(key)
    if kind not in keys.IAM_KINDS:
        return iam
    state = apply(state_of(iam, key), key, event)
    if isinstance(state, Problem):
        return state
    match kind:
        case keys.ACCOUNT:
            iam = replace(iam, accounts=with_entry(iam.accounts, name, state if isinstance(state, Account) else None))
        case keys.ROLE:
            iam = replace(iam, roles=with_entry(iam.roles, name, state if isinstance(state, Role) else None))
        case keys.IDENTITY_SERVICE:
            service = state if isinstance(state, IdentityService) else None
            iam = replace(iam, identity_services=with_entry(iam.identity_services, name, service))
        case keys.SETTINGS:
            values = state.values if isinstance(state, Settings) else None
            iam = replace(iam, settings=with_entry(iam.settings, name, values))
    return with_version(iam, key, version)
