"""The first start of a Cockpit: what JOC's installation creates (joc-cockpit.md §2.1, §2.2).

- the identity service ``JOC-INITIAL`` (type JOC),
- the role ``all``, granted ``sos:products`` in the default scope,
- JOC's default roles (administrator, api_user, …) with the grants given (the permission module's
  DEFAULT_ROLES; a role given no grants is created empty),
- the account ``root`` holding ``all``, with the given password hash, not forced to change it (the
  caller made a random password and shows it once).

The decisions are folded over one IAM state, so the result is every event of a fresh store, for the store
to append in one go (all or nothing: a second Cockpit starting at the same moment conflicts and finds
the store bootstrapped).
"""

from __future__ import annotations

from collections.abc import Mapping

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.apply import apply_iam, state_of
from js7es.domain.cockpit.decide import CockpitContext, decide
from js7es.domain.cockpit.events import KeyedCockpitEvent
from js7es.domain.cockpit.iam import DEFAULT_SCOPE, EMPTY_IAM, IamState, PermissionGrant
from js7es.domain.problem import Problem

INITIAL_IDENTITY_SERVICE = "JOC-INITIAL"
ROOT = "root"
ALL_ROLE = "all"
DEFAULT_ROLE_NAMES = (
    "administrator",
    "api_user",
    "application_manager",
    "business_user",
    "incident_manager",
    "it_operator",
)


def bootstrap(
    root_password_hash: str, default_roles: Mapping[str, tuple[PermissionGrant, ...]] | None = None
) -> tuple[KeyedCockpitEvent, ...] | Problem:
    """The events of a fresh Cockpit; `default_roles` maps a role name to its default-scope grants
    (JOC's six default roles are created in any case, empty unless given)."""
    roles: dict[str, tuple[PermissionGrant, ...]] = dict.fromkeys(DEFAULT_ROLE_NAMES, ())
    roles.update(default_roles or {})
    steps: list[tuple[str, cmd.CockpitCommand]] = [
        (keys.identity_service(INITIAL_IDENTITY_SERVICE), cmd.StoreIdentityService(type="JOC", ordering=0)),
        (keys.role(ALL_ROLE), cmd.StoreRole(ordering=0)),
        (
            keys.role(ALL_ROLE),
            cmd.StorePermissions(scope=DEFAULT_SCOPE, grants=(PermissionGrant(path="sos:products"),)),
        ),
    ]
    for ordering, (name, grants) in enumerate(roles.items(), start=1):
        steps.append((keys.role(name), cmd.StoreRole(ordering=ordering)))
        if grants:
            steps.append((keys.role(name), cmd.StorePermissions(scope=DEFAULT_SCOPE, grants=grants)))
    steps.append((keys.account(ROOT), cmd.StoreAccount(password_hash=root_password_hash, roles=(ALL_ROLE,))))
    iam: IamState = EMPTY_IAM
    result: list[KeyedCockpitEvent] = []
    for key, command in steps:
        decided = decide(key, state_of(iam, key), command, CockpitContext(iam=iam))
        if isinstance(decided, Problem):
            return decided
        for keyed in decided:
            applied = apply_iam(iam, keyed.key, keyed.event, iam.versions.get(keyed.key, 0) + 1)
            if isinstance(applied, Problem):
                return applied
            iam = applied
        result.extend(decided)
    return tuple(result)
