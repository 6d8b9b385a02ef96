"""Controllers registered through the API (JOC's /controller/register), an aggregate per Controller:
``controller:<controllerId>``.

The Controllers of the Cockpit's configuration file are not here: they are fixed at start, and the API
refuses to register or unregister one of them (nodes/cockpit/api/registration.py). A registered one is
followed by the running Cockpit from its registration on.

Decisions:
- one node is STANDALONE; two are a cluster's PRIMARY and BACKUP, at different URLs;
- URLs (a node's, its cluster URL, the Cluster Watch's) are http(s) URLs without a path;
- registering an id registered already is refused (ControllerAlreadyRegistered): a change is
  ChangeControllerRegistration, refused for an unknown id, and yields nothing when nothing changes;
- an unregistered id may be registered again (its events go on, its state starts afresh).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.iam import frozen_map, with_entry
from js7es.domain.problem import Problem, problem

if TYPE_CHECKING:
    from js7es.domain.cockpit.decide import CockpitContext, Decision

STANDALONE: Final = "STANDALONE"
PRIMARY: Final = "PRIMARY"
BACKUP: Final = "BACKUP"
ROLES: Final = (STANDALONE, PRIMARY, BACKUP)
_URL = re.compile(r"https?://[^/\s?#]+/?")


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerRegistration:
    controller_id: str
    nodes: tuple[ev.RegisteredNode, ...]  # the STANDALONE one, or the PRIMARY then the BACKUP
    force_failover_confirmation: bool = False
    cluster_watch: str | None = None

    @property
    def uris(self) -> tuple[str, ...]:
        """The nodes' URLs as the Cockpit reaches them: the primary's first."""
        return tuple(n.url for n in self.nodes)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisteredControllers:
    """Every registered Controller, and the version of each aggregate (as the store knows it)."""

    controllers: Mapping[str, ControllerRegistration] = field(default_factory=frozen_map)
    versions: Mapping[str, int] = field(default_factory=frozen_map)


NO_CONTROLLERS = RegisteredControllers()


def apply_controller(
    registration: ControllerRegistration | None, key: str, controller_id: str, event: ev.CockpitEvent
) -> ControllerRegistration | Problem | None:
    match event:
        case ev.ControllerRegistered() if registration is None:
            return ControllerRegistration(
                controller_id=controller_id,
                nodes=event.nodes,
                force_failover_confirmation=event.force_failover_confirmation,
                cluster_watch=event.cluster_watch,
            )
        case ev.ControllerRegistrationChanged() if registration is not None:
            return replace(
                registration,
                nodes=event.nodes,
                force_failover_confirmation=event.force_failover_confirmation,
                cluster_watch=event.cluster_watch,
            )
        case ev.ControllerUnregistered() if registration is not None:
            return None
    return ev.inapplicable(key, event, registration)


def apply_registered(
    registered: RegisteredControllers, key: str, event: ev.CockpitEvent, version: int
) -> RegisteredControllers | Problem:
    """`registered` after the event `version` of aggregate `key`; events of other kinds leave it as it is."""
    kind, controller_id = keys.split(key)
    if kind != keys.CONTROLLER:
        return registered
    state = apply_controller(registered.controllers.get(controller_id), key, controller_id, event)
    if isinstance(state, Problem):
        return state
    return RegisteredControllers(
        controllers=with_entry(registered.controllers, controller_id, state),
        versions=with_entry(registered.versions, key, version),
    )


# --- decisions ---------------------------------------------------------------------------------------


def _invalid(key: str, message: str) -> Problem:
    return problem("InvalidControllerRegistration", message, key=key)


def check_registration(key: str, nodes: tuple[ev.RegisteredNode, ...], cluster_watch: str | None) -> Problem | None:
    if not 1 <= len(nodes) <= 2:
        return _invalid(key, f"a Controller has one or two nodes, not {len(nodes)}")
    for i, node in enumerate(nodes):
        if node.role not in ROLES:
            return _invalid(key, f"nodes[{i}].role {node.role!r} is none of {', '.join(ROLES)}")
        for name, url in (("url", node.url), ("clusterUrl", node.cluster_url)):
            if url is not None and not _URL.fullmatch(url):
                return _invalid(key, f"nodes[{i}].{name} {url!r} is not an http(s) URL without a path")
    roles = tuple(n.role for n in nodes)
    if len(nodes) == 1 and roles != (STANDALONE,):
        return _invalid(key, "a single Controller is STANDALONE")
    if len(nodes) == 2:
        if roles != (PRIMARY, BACKUP):
            return _invalid(key, "the members of a Controller cluster are a PRIMARY, then a BACKUP")
        if nodes[0].url == nodes[1].url:
            return _invalid(key, "the members of a Controller cluster must have different URLs")
    if cluster_watch is not None and not _URL.fullmatch(cluster_watch):
        return _invalid(key, f"the Cluster Watch {cluster_watch!r} is not an http(s) URL without a path")
    return None


def _on(key: str, event: ev.CockpitEvent) -> tuple[ev.KeyedCockpitEvent, ...]:
    return (ev.KeyedCockpitEvent(key=key, event=event),)


def _register(key: str, name: str, state: Any, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.RegisterController = c
    if isinstance(state, ControllerRegistration):
        return problem("ControllerAlreadyRegistered", f"Controller '{name}' is registered already", key=key)
    invalid = check_registration(key, command.nodes, command.cluster_watch)
    if invalid is not None:
        return invalid
    return _on(
        key,
        ev.ControllerRegistered(
            nodes=command.nodes,
            force_failover_confirmation=command.force_failover_confirmation,
            cluster_watch=command.cluster_watch,
        ),
    )


def _change(key: str, name: str, state: Any, c: Any, ctx: CockpitContext) -> Decision:
    command: cmd.ChangeControllerRegistration = c
    if not isinstance(state, ControllerRegistration):
        return problem("UnknownController", f"Controller '{name}' is not registered", key=key)
    invalid = check_registration(key, command.nodes, command.cluster_watch)
    if invalid is not None:
        return invalid
    if (state.nodes, state.force_failover_confirmation, state.cluster_watch) == (
        command.nodes,
        command.force_failover_confirmation,
        command.cluster_watch,
    ):
        return ()
    return _on(
        key,
        ev.ControllerRegistrationChanged(
            nodes=command.nodes,
            force_failover_confirmation=command.force_failover_confirmation,
            cluster_watch=command.cluster_watch,
        ),
    )


def _unregister(key: str, name: str, state: Any, c: Any, ctx: CockpitContext) -> Decision:
    if not isinstance(state, ControllerRegistration):
        return problem("UnknownController", f"Controller '{name}' is not registered", key=key)
    return _on(key, ev.ControllerUnregistered())


_Decider = Callable[[str, str, Any, Any, "CockpitContext"], "Decision"]
CONTROLLER_DECIDERS: dict[type[cmd.CockpitCommand], _Decider] = {
    cmd.RegisterController: _register,
    cmd.ChangeControllerRegistration: _change,
    cmd.UnregisterController: _unregister,
}
CONTROLLER_KINDS: dict[type[cmd.CockpitCommand], str] = dict.fromkeys(CONTROLLER_DECIDERS, keys.CONTROLLER)
