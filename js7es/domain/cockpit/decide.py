"""decide(key, state, command, ctx) -> the keyed events a command yields, or the Problem why not.

`state` is the aggregate's own state, loaded from its events; `ctx.iam` is the IAM state for what a
decision must know of other aggregates (which roles exist; who holds a role being removed). The store
appends the events of every aggregate they touch under optimistic concurrency, so a decision on a stale
view is retried, never half-applied.

Decisions:
- an account may only name roles that exist (UnknownRole); a role list is kept in the given order,
  duplicates dropped;
- removing a role that accounts still hold is allowed: the same decision unassigns it from each of them
  (AccountChanged, appended with the RoleRemoved), so a role later added under the same name grants
  nothing to former holders;
- Store… commands that would change nothing yield no event (and so no audit entry).

Known limit: the roles an account names are checked against the IAM state read just before deciding.
A role removed by another writer in that instant is not an aggregate the account's append touches, so
the account may keep naming it; permission checks must therefore ignore roles that do not exist.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.apply import AggregateState, apply
from js7es.domain.cockpit.controllers import CONTROLLER_DECIDERS, CONTROLLER_KINDS
from js7es.domain.cockpit.iam import (
    IDENTITY_SERVICE_TYPES,
    Account,
    IamState,
    IdentityService,
    Role,
)
from js7es.domain.cockpit.inventory import EMPTY_INVENTORY, InventoryState
from js7es.domain.cockpit.inventory_decide import INVENTORY_DECIDERS, INVENTORY_KINDS
from js7es.domain.cockpit.state import ControllerCommand, Login, Settings
from js7es.domain.problem import Problem, problem

Decision = tuple[ev.KeyedCockpitEvent, ...] | Problem

_PERMISSION = re.compile(r"sos:products(:[a-z][a-z0-9_]*)*")


@dataclass(frozen=True, slots=True, kw_only=True)
class CockpitContext:
    iam: IamState
    inventory: InventoryState = EMPTY_INVENTORY


# The aggregate kind each command is for.
COMMAND_KINDS: dict[type[cmd.CockpitCommand], str] = {
    cmd.StoreAccount: keys.ACCOUNT,
    cmd.ChangePassword: keys.ACCOUNT,
    cmd.RemoveAccount: keys.ACCOUNT,
    cmd.StoreRole: keys.ROLE,
    cmd.RemoveRole: keys.ROLE,
    cmd.StorePermissions: keys.ROLE,
    cmd.StoreFolders: keys.ROLE,
    cmd.StoreIdentityService: keys.IDENTITY_SERVICE,
    cmd.RemoveIdentityService: keys.IDENTITY_SERVICE,
    cmd.StoreSettings: keys.SETTINGS,
    cmd.RequestControllerCommand: keys.COMMAND,
    cmd.AnswerControllerCommand: keys.COMMAND,
    cmd.MarkOutcomeUnknown: keys.COMMAND,
    cmd.RecordLogin: keys.LOGIN,
    **INVENTORY_KINDS,
    **CONTROLLER_KINDS,
}


def decide(key: str, state: AggregateState | None, command: cmd.CockpitCommand, ctx: CockpitContext) -> Decision:
    kind, name = keys.split(key)
    expected = COMMAND_KINDS.get(type(command))
    if expected is None or kind != expected:
        return problem(
            "WrongAggregate",
            f"{type(command).__name__} cannot be executed on {key!r}",
            key=key,
            command=type(command).__name__,
        )
    if len(name) > 1024 or any(ord(c) < 32 for c in name):
        return problem("InvalidName", f"invalid name {name!r}", key=key)
    decision = _DECIDERS[type(command)](key, name, state, command, ctx)
    if isinstance(decision, Problem):
        return decision
    return _checked(key, state, decision)


def _checked(key: str, state: AggregateState | None, decision: tuple[ev.KeyedCockpitEvent, ...]) -> Decision:
    """A decision's own events must apply to its aggregate (a bug otherwise, reported as a Problem)."""
    for keyed in decision:
        if keyed.key == key:
            result = apply(state, key, keyed.event)
            if isinstance(result, Problem):
                return result
            state = result
    return decision


def _on(key: str, *events: ev.CockpitEvent) -> tuple[ev.KeyedCockpitEvent, ...]:
    return tuple(ev.KeyedCockpitEvent(key=key, event=e) for e in events)


def _unknown(what: str, key: str) -> Problem:
    return problem(f"Unknown{what}", f"{key} does not exist", key=key)


# --- accounts ---------------------------------------------------------------------------------------


def _store_account(key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.StoreAccount = c
    roles = tuple(dict.fromkeys(command.roles))
    unknown = [r for r in roles if r not in ctx.iam.roles]
    if unknown:
        return problem("UnknownRole", f"unknown role {unknown[0]!r}", key=key, role=unknown[0])
    if command.password_hash == "":
        return problem("InvalidPassword", "an empty password hash", key=key)
    if not isinstance(state, Account):
        return _on(
            key,
            ev.AccountAdded(
                password_hash=command.password_hash,
                roles=roles,
                force_password_change=command.force_password_change,
                disabled=command.disabled,
                blocked=command.blocked,
            ),
        )
    changed = ev.AccountChanged(
        roles=roles,
        force_password_change=command.force_password_change,
        disabled=command.disabled,
        blocked=command.blocked,
    )
    events: list[ev.CockpitEvent] = []
    if (state.roles, state.force_password_change, state.disabled, state.blocked) != (
        roles,
        command.force_password_change,
        command.disabled,
        command.blocked,
    ):
        events.append(changed)
    if command.password_hash is not None and command.password_hash != state.password_hash:
        events.append(
            ev.AccountPasswordChanged(
                password_hash=command.password_hash, force_password_change=command.force_password_change
            )
        )
    return _on(key, *events)


def _change_password(key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.ChangePassword = c
    if not isinstance(state, Account):
        return _unknown("Account", key)
    if not command.password_hash:
        return problem("InvalidPassword", "an empty password hash", key=key)
    return _on(
        key,
        ev.AccountPasswordChanged(
            password_hash=command.password_hash, force_password_change=command.force_password_change
        ),
    )


def _remove_account(key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext) -> Decision:
    if not isinstance(state, Account):
        return _unknown("Account", key)
    return _on(key, ev.AccountRemoved())


# --- roles ------------------------------------------------------------------------------------------


def _store_role(key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.StoreRole = c
    if not isinstance(state, Role):
        return _on(key, ev.RoleAdded(ordering=command.ordering))
    if state.ordering == command.ordering:
        return ()
    return _on(key, ev.RoleChanged(ordering=command.ordering))


def _remove_role(key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext) -> Decision:
    if not isinstance(state, Role):
        return _unknown("Role", key)
    unassigned = tuple(
        ev.KeyedCockpitEvent(
            key=keys.account(account.name),
            event=ev.AccountChanged(
                roles=tuple(r for r in account.roles if r != name),
                force_password_change=account.force_password_change,
                disabled=account.disabled,
                blocked=account.blocked,
            ),
        )
        for account in ctx.iam.accounts_with_role(name)
    )
    return (*_on(key, ev.RoleRemoved()), *unassigned)


def _store_permissions(key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.StorePermissions = c
    if not isinstance(state, Role):
        return _unknown("Role", key)
    paths = [g.path for g in command.grants]
    for path in paths:
        if not _PERMISSION.fullmatch(path):
            return problem("InvalidPermission", f"not a permission path: {path!r}", key=key, permission=path)
    if len(set(paths)) != len(paths):
        return problem("DuplicatePermission", "a permission path is given twice", key=key)
    if tuple(state.permissions.get(command.scope, ())) == command.grants:
        return ()
    return _on(key, ev.RolePermissionsStored(scope=command.scope, grants=command.grants))


def _store_folders(key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.StoreFolders = c
    if not isinstance(state, Role):
        return _unknown("Role", key)
    for grant in command.folders:
        if not grant.folder.startswith("/") or (grant.folder != "/" and grant.folder.endswith("/")):
            return problem("InvalidFolder", f"not a folder: {grant.folder!r}", key=key, folder=grant.folder)
    if tuple(state.folders.get(command.scope, ())) == command.folders:
        return ()
    return _on(key, ev.RoleFoldersStored(scope=command.scope, folders=command.folders))


# --- identity services and settings ---------------------------------------------------------------


def _store_identity_service(key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.StoreIdentityService = c
    if command.type not in IDENTITY_SERVICE_TYPES:
        return problem("UnknownIdentityServiceType", f"unknown identity service type {command.type!r}", key=key)
    stored = ev.IdentityServiceStored(
        type=command.type,
        ordering=command.ordering,
        disabled=command.disabled,
        required=command.required,
        settings=command.settings,
    )
    if isinstance(state, IdentityService) and apply(state, key, stored) == state:
        return ()
    return _on(key, stored)


def _remove_identity_service(
    key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext
) -> Decision:
    if not isinstance(state, IdentityService):
        return _unknown("IdentityService", key)
    return _on(key, ev.IdentityServiceRemoved())


def _store_settings(key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.StoreSettings = c
    if isinstance(state, Settings) and state.values == command.values:
        return ()
    return _on(key, ev.SettingsStored(values=command.values))


# --- commands sent to Controllers and logins ------------------------------------------------------


def _request(key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.RequestControllerCommand = c
    if state is not None:
        return problem("DuplicateRequestId", f"{key} has been requested already", key=key)
    return _on(
        key,
        ev.ControllerCommandRequested(
            controller_id=command.controller_id,
            request=command.request,
            category=command.category,
            parameters=command.parameters,
        ),
    )


def _pending(key: str, state: AggregateState | None) -> Problem | None:
    if not isinstance(state, ControllerCommand):
        return _unknown("Request", key)
    if state.outcome is not None:
        return problem("RequestAnsweredAlready", f"{key} has its outcome already: {state.outcome}", key=key)
    return None


def _answer(key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.AnswerControllerCommand = c
    refused = _pending(key, state)
    if refused is not None:
        return refused
    return _on(key, ev.ControllerCommandAnswered(accepted=command.accepted, problem=command.problem))


def _unknown_outcome(key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext) -> Decision:
    refused = _pending(key, state)
    if refused is not None:
        return refused
    return _on(key, ev.ControllerCommandOutcomeUnknown())


def _record_login(key: str, name: str, state: AggregateState | None, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.RecordLogin = c
    if isinstance(state, Login):
        return problem("DuplicateLoginId", f"{key} is recorded already", key=key)
    if command.succeeded:
        return _on(
            key,
            ev.LoginSucceeded(
                account=command.account, address=command.address, identity_service=command.identity_service
            ),
        )
    return _on(key, ev.LoginFailed(account=command.account, address=command.address, reason=command.reason))


_Decider = Callable[[str, str, AggregateState | None, Any, CockpitContext], Decision]
_DECIDERS: dict[type[cmd.CockpitCommand], _Decider] = {
    cmd.StoreAccount: _store_account,
    cmd.ChangePassword: _change_password,
    cmd.RemoveAccount: _remove_account,
    cmd.StoreRole: _store_role,
    cmd.RemoveRole: _remove_role,
    cmd.StorePermissions: _store_permissions,
    cmd.StoreFolders: _store_folders,
    cmd.StoreIdentityService: _store_identity_service,
    cmd.RemoveIdentityService: _remove_identity_service,
    cmd.StoreSettings: _store_settings,
    cmd.RequestControllerCommand: _request,
    cmd.AnswerControllerCommand: _answer,
    cmd.MarkOutcomeUnknown: _unknown_outcome,
    cmd.RecordLogin: _record_login,
    **INVENTORY_DECIDERS,
    **CONTROLLER_DECIDERS,
}
assert set(_DECIDERS) == set(COMMAND_KINDS)
