"""Registered Controllers (domain/cockpit/controllers.py): what a registration may be, register / change /
unregister, and the in-memory set the store keeps of them."""

from __future__ import annotations

import pytest

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.apply import apply
from js7es.domain.cockpit.controllers import NO_CONTROLLERS, ControllerRegistration, apply_registered
from js7es.domain.cockpit.decide import CockpitContext, decide
from js7es.domain.cockpit.iam import EMPTY_IAM
from js7es.domain.problem import Problem

KEY = keys.controller("c2")
CTX = CockpitContext(iam=EMPTY_IAM)
ALONE = (ev.RegisteredNode(url="https://c2:4443", role="STANDALONE"),)
PAIR = (
    ev.RegisteredNode(url="https://p:4443", role="PRIMARY"),
    ev.RegisteredNode(url="https://b:4443", role="BACKUP", cluster_url="https://b-intern:4443"),
)


def node(url: str = "https://c2:4443", role: str = "STANDALONE", cluster_url: str | None = None) -> ev.RegisteredNode:
    return ev.RegisteredNode(url=url, role=role, cluster_url=cluster_url)


def registered(nodes: tuple[ev.RegisteredNode, ...] = ALONE, **fields: object) -> ControllerRegistration:
    decided = decide(KEY, None, cmd.RegisterController(nodes=nodes, **fields), CTX)  # type: ignore[arg-type]
    assert not isinstance(decided, Problem), decided
    state = apply(None, KEY, decided[0].event)
    assert isinstance(state, ControllerRegistration)
    return state


def test_register_change_unregister_and_register_again() -> None:
    state = registered(PAIR, force_failover_confirmation=True, cluster_watch="https://watch:4447")
    assert state.uris == ("https://p:4443", "https://b:4443") and state.cluster_watch == "https://watch:4447"
    again = decide(KEY, state, cmd.RegisterController(nodes=ALONE), CTX)
    assert isinstance(again, Problem) and again.code == "ControllerAlreadyRegistered"
    same = cmd.ChangeControllerRegistration(
        nodes=PAIR, force_failover_confirmation=True, cluster_watch="https://watch:4447"
    )
    assert decide(KEY, state, same, CTX) == ()
    changed = decide(KEY, state, cmd.ChangeControllerRegistration(nodes=ALONE), CTX)
    assert not isinstance(changed, Problem)
    state2 = apply(state, KEY, changed[0].event)
    assert isinstance(state2, ControllerRegistration) and state2.uris == ("https://c2:4443",)
    assert state2.cluster_watch is None
    gone = decide(KEY, state2, cmd.UnregisterController(), CTX)
    assert not isinstance(gone, Problem) and apply(state2, KEY, gone[0].event) is None
    for command in (cmd.UnregisterController(), cmd.ChangeControllerRegistration(nodes=ALONE)):
        refused = decide(KEY, None, command, CTX)
        assert isinstance(refused, Problem) and refused.code == "UnknownController"
    assert registered().uris == ("https://c2:4443",)


@pytest.mark.parametrize(
    ("nodes", "watch", "message"),
    [
        ((), None, "one or two nodes"),
        ((*PAIR, node()), None, "one or two nodes"),
        ((node(role="PRIMARY"),), None, "STANDALONE"),
        ((node(role="MASTER"),), None, "none of"),
        ((PAIR[1], PAIR[0]), None, "a PRIMARY, then a BACKUP"),
        ((node(role="PRIMARY"), node(role="BACKUP")), None, "different URLs"),
        ((node(url="ftp://c2"),), None, "not an http(s) URL"),
        ((node(url="https://c2:4443/controller/api"),), None, "not an http(s) URL"),
        ((node(cluster_url="c2:4443"),), None, "clusterUrl"),
        (ALONE, "watch:4447", "Cluster Watch"),
    ],
)
def test_invalid_registrations(nodes: tuple[ev.RegisteredNode, ...], watch: str | None, message: str) -> None:
    refused = decide(KEY, None, cmd.RegisterController(nodes=nodes, cluster_watch=watch), CTX)
    assert isinstance(refused, Problem) and refused.code == "InvalidControllerRegistration"
    assert message in refused.message


def test_the_set_of_registered_controllers() -> None:
    after = apply_registered(NO_CONTROLLERS, KEY, ev.ControllerRegistered(nodes=ALONE), 1)
    assert not isinstance(after, Problem)
    assert list(after.controllers) == ["c2"] and after.versions == {KEY: 1}
    assert apply_registered(after, keys.role("x"), ev.RoleAdded(), 1) is after
    twice = apply_registered(after, KEY, ev.ControllerRegistered(nodes=ALONE), 2)
    assert isinstance(twice, Problem) and twice.code == "InapplicableEvent"
    gone = apply_registered(after, KEY, ev.ControllerUnregistered(), 2)
    assert not isinstance(gone, Problem) and gone.controllers == {} and gone.versions == {KEY: 2}
