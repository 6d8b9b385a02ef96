"""Cluster state x cluster event: every transition JS7 allows, and a problem for every other pair."""

from __future__ import annotations

from dataclasses import replace

import pytest

from js7es.domain import codec
from js7es.domain.cluster import (
    ActiveShutDown,
    ClusterActiveNodeRestarted,
    ClusterActiveNodeShutDown,
    ClusterCoupled,
    ClusterCouplingPrepared,
    ClusterEmpty,
    ClusterEvent,
    ClusterFailedOver,
    ClusterNodesAppointed,
    ClusterPassiveLost,
    ClusterSetting,
    ClusterState,
    ClusterSwitchedOver,
    Coupled,
    FailedOver,
    NodesAppointed,
    PassiveLost,
    PreparedToBeCoupled,
    SwitchedOver,
    apply_cluster,
    cluster_state_to_json,
)
from js7es.domain.event import NO_KEY, Stamped
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState

SETTING = ClusterSetting(id_to_uri={"Primary": "https://a:1", "Backup": "https://b:2"}, active_id="Primary")
BACKUP_ACTIVE = replace(SETTING, active_id="Backup")

STATES: dict[str, ClusterState] = {
    "Empty": ClusterEmpty(),
    "NodesAppointed": NodesAppointed(setting=SETTING),
    "PreparedToBeCoupled": PreparedToBeCoupled(setting=SETTING),
    "Coupled": Coupled(setting=SETTING),
    "PassiveLost": PassiveLost(setting=SETTING),
    "FailedOver": FailedOver(setting=BACKUP_ACTIVE, failed_at=7),
    "SwitchedOver": SwitchedOver(setting=BACKUP_ACTIVE),
    "ActiveShutDown": ActiveShutDown(setting=SETTING),
}

EVENTS: dict[str, ClusterEvent] = {
    "ClusterNodesAppointed": ClusterNodesAppointed(setting=SETTING),
    "ClusterCouplingPrepared": ClusterCouplingPrepared(active_id="Primary"),
    "ClusterCoupled": ClusterCoupled(active_id="Primary"),
    "ClusterPassiveLost": ClusterPassiveLost(id="Backup"),
    "ClusterFailedOver": ClusterFailedOver(failed_active_id="Primary", activated_id="Backup", failed_at=9),
    "ClusterSwitchedOver": ClusterSwitchedOver(activated_id="Backup"),
    "ClusterActiveNodeShutDown": ClusterActiveNodeShutDown(),
    "ClusterActiveNodeRestarted": ClusterActiveNodeRestarted(),
}

# (state, event) -> resulting state; every pair not listed must be refused.
ALLOWED: dict[tuple[str, str], ClusterState] = {
    ("Empty", "ClusterNodesAppointed"): NodesAppointed(setting=SETTING),
    ("NodesAppointed", "ClusterCouplingPrepared"): PreparedToBeCoupled(setting=SETTING),
    ("PassiveLost", "ClusterCouplingPrepared"): PreparedToBeCoupled(setting=SETTING),
    ("ActiveShutDown", "ClusterCouplingPrepared"): PreparedToBeCoupled(setting=SETTING),
    ("PreparedToBeCoupled", "ClusterCoupled"): Coupled(setting=SETTING),
    ("Coupled", "ClusterPassiveLost"): PassiveLost(setting=SETTING),
    ("PreparedToBeCoupled", "ClusterPassiveLost"): PassiveLost(setting=SETTING),
    ("Coupled", "ClusterFailedOver"): FailedOver(setting=BACKUP_ACTIVE, failed_at=9),
    ("Coupled", "ClusterSwitchedOver"): SwitchedOver(setting=BACKUP_ACTIVE),
    ("Coupled", "ClusterActiveNodeShutDown"): ActiveShutDown(setting=SETTING),
    ("ActiveShutDown", "ClusterActiveNodeRestarted"): PassiveLost(setting=SETTING),
}


def test_the_table_covers_every_cluster_event_and_state() -> None:
    assert set(EVENTS) == set(codec.registered(ClusterEvent))
    assert {type(s).__name__ for s in STATES.values()} == {c.__name__ for c in codec.registered(ClusterState).values()}


@pytest.mark.parametrize("state_name", sorted(STATES))
@pytest.mark.parametrize("event_name", sorted(EVENTS))
def test_state_times_event(state_name: str, event_name: str) -> None:
    result = apply_cluster(STATES[state_name], EVENTS[event_name])
    expected = ALLOWED.get((state_name, event_name))
    if expected is None:
        assert isinstance(result, Problem), f"{state_name} x {event_name} must be refused"
    else:
        assert result == expected


def test_after_a_failover_or_switchover_the_new_active_can_prepare_coupling() -> None:
    for state in (STATES["FailedOver"], STATES["SwitchedOver"]):
        assert apply_cluster(state, ClusterCouplingPrepared(active_id="Backup")) == PreparedToBeCoupled(
            setting=BACKUP_ACTIVE
        )
        assert isinstance(apply_cluster(state, ClusterCouplingPrepared(active_id="Primary")), Problem)


def test_only_the_passive_may_fail_over_and_only_from_coupled() -> None:
    wrong = ClusterFailedOver(failed_active_id="Backup", activated_id="Primary", failed_at=1)
    assert isinstance(apply_cluster(STATES["Coupled"], wrong), Problem)
    assert isinstance(apply_cluster(STATES["PassiveLost"], EVENTS["ClusterFailedOver"]), Problem)


def test_a_cluster_has_two_nodes() -> None:
    one = ClusterSetting(id_to_uri={"Primary": "https://a:1"}, active_id="Primary")
    assert isinstance(apply_cluster(ClusterEmpty(), ClusterNodesAppointed(setting=one)), Problem)


def test_controller_state_applies_journals_and_snapshots_the_cluster_state() -> None:
    state = ControllerState()
    for n, event in enumerate(
        [EVENTS["ClusterNodesAppointed"], EVENTS["ClusterCouplingPrepared"], EVENTS["ClusterCoupled"]], 1
    ):
        assert state.apply_stamped(Stamped(n, 0, NO_KEY, event)) is state
    assert state.cluster == Coupled(setting=SETTING)
    restored = ControllerState.from_snapshot(state.snapshot_objects())
    assert restored.cluster == state.cluster
    assert restored == state
    keyed = state.apply_event("x", EVENTS["ClusterPassiveLost"])
    assert isinstance(keyed, Problem)


def test_cluster_state_json_is_js7s_shape() -> None:
    assert cluster_state_to_json(STATES["FailedOver"]) == {
        "TYPE": "FailedOver",
        "setting": {
            "idToUri": {"Backup": "https://b:2", "Primary": "https://a:1"},
            "activeId": "Backup",
            "timing": {"heartbeat": 0.3, "heartbeatTimeout": 1.5, "consentTimeout": 1.0},
        },
        "failedAt": 7,
    }
    assert cluster_state_to_json(ClusterEmpty()) == {"TYPE": "Empty"}
