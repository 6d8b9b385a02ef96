"""The Controller cluster's state and events (JS7's ClusterState and ClusterEvent, reference §2.3-2.4).

Two nodes, Primary and Backup. The cluster state is part of the Controller's state and journal, so
both nodes agree on it event by event: the standby replicates the cluster events like any other.

    Empty ──NodesAppointed──▶ NodesAppointed ──CouplingPrepared──▶ PreparedToBeCoupled ──Coupled──▶ Coupled
    Coupled ──PassiveLost──▶ PassiveLost          (the active lost its standby, with the Watch's consent)
    Coupled ──FailedOver──▶ FailedOver            (the standby took over, with the Watch's consent)
    Coupled ──SwitchedOver──▶ SwitchedOver        (by command: the roles change without loss)
    Coupled ──ActiveNodeShutDown──▶ ActiveShutDown (the standby must not take over)
    ActiveShutDown ──ActiveNodeRestarted──▶ PassiveLost
    any decoupled state ──CouplingPrepared──▶ PreparedToBeCoupled

While the state is `Coupled` an event is committed only when the standby acknowledged it; in every
other state the active node commits alone. Cluster events carry no key (`NO_KEY`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from js7es.domain import codec
from js7es.domain.event import Event
from js7es.domain.problem import Problem, problem

PRIMARY = "Primary"
BACKUP = "Backup"


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterTiming:
    """Durations in milliseconds (JS7: js7.journal.cluster.heartbeat, heartbeat-timeout, consent-timeout).

    The active sends a heartbeat on the replication stream and to the Cluster Watch every `heartbeat_ms`;
    a node that hears nothing from its peer for `heartbeat_timeout_ms` asks the Watch to declare the
    peer lost, waiting at most `consent_timeout_ms` for the answer.
    """

    heartbeat_ms: int = 300
    heartbeat_timeout_ms: int = 1500
    consent_timeout_ms: int = 1000


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSetting:
    id_to_uri: Mapping[str, str]
    active_id: str
    timing: ClusterTiming = ClusterTiming()

    @property
    def passive_id(self) -> str:
        return next(i for i in sorted(self.id_to_uri) if i != self.active_id)

    def uri(self, node_id: str) -> str:
        return self.id_to_uri[node_id]


# -- states -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterState:
    """Base of the cluster states; `Empty` has no nodes, every other state a `setting`."""

    @property
    def is_coupled(self) -> bool:
        return isinstance(self, Coupled)

    @property
    def active_id(self) -> str | None:
        setting = getattr(self, "setting", None)
        return None if setting is None else setting.active_id


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterEmpty(ClusterState):
    TYPE_NAME = "Empty"


@dataclass(frozen=True, slots=True, kw_only=True)
class HasNodes(ClusterState):
    setting: ClusterSetting


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class NodesAppointed(HasNodes):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedToBeCoupled(HasNodes):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class Coupled(HasNodes):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class PassiveLost(HasNodes):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class FailedOver(HasNodes):
    failed_at: int  # the EventId where the failed node's committed events end


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SwitchedOver(HasNodes):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveShutDown(HasNodes):
    pass


DECOUPLED = (NodesAppointed, PassiveLost, FailedOver, SwitchedOver, ActiveShutDown)

# -- events -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterEvent(Event):
    """Events of the Controller cluster, not keyed."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterNodesAppointed(ClusterEvent):
    setting: ClusterSetting


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterCouplingPrepared(ClusterEvent):
    active_id: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterCoupled(ClusterEvent):
    active_id: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterPassiveLost(ClusterEvent):
    id: str  # the lost passive node


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterFailedOver(ClusterEvent):
    failed_active_id: str
    activated_id: str
    failed_at: int


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSwitchedOver(ClusterEvent):
    activated_id: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterActiveNodeShutDown(ClusterEvent):
    pass


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterActiveNodeRestarted(ClusterEvent):
    pass


def apply_cluster(state: ClusterState, event: ClusterEvent) -> ClusterState | Problem:
    """The one transition function of the cluster state."""

    def inapplicable() -> Problem:
        return problem(
            "InapplicableEvent", f"{type(event).__name__} does not apply to cluster state {type(state).__name__}"
        )

    match event:
        case ClusterNodesAppointed(setting=setting):
            if not isinstance(state, ClusterEmpty) or setting.active_id not in setting.id_to_uri:
                return inapplicable()
            if len(setting.id_to_uri) != 2:
                return problem("InvalidClusterSetting", "A cluster has exactly two nodes")
            return NodesAppointed(setting=setting)
    if not isinstance(state, HasNodes):
        return inapplicable()
    setting = state.setting
    match event:
        case ClusterCouplingPrepared(active_id=active) if isinstance(state, DECOUPLED) and active == setting.active_id:
            return PreparedToBeCoupled(setting=setting)
        case ClusterCoupled(active_id=active) if isinstance(state, PreparedToBeCoupled) and active == setting.active_id:
            return Coupled(setting=setting)
        case ClusterPassiveLost(id=lost) if isinstance(state, (Coupled, PreparedToBeCoupled)) and (
            lost == setting.passive_id
        ):
            return PassiveLost(setting=setting)
        case ClusterFailedOver(failed_active_id=failed, activated_id=activated, failed_at=at) if (
            isinstance(state, Coupled) and failed == setting.active_id and activated == setting.passive_id
        ):
            return FailedOver(setting=replace(setting, active_id=activated), failed_at=at)
        case ClusterSwitchedOver(activated_id=activated) if isinstance(state, Coupled) and (
            activated == setting.passive_id
        ):
            return SwitchedOver(setting=replace(setting, active_id=activated))
        case ClusterActiveNodeShutDown() if isinstance(state, Coupled):
            return ActiveShutDown(setting=setting)
        case ClusterActiveNodeRestarted() if isinstance(state, ActiveShutDown):
            return PassiveLost(setting=setting)
    return inapplicable()


def cluster_state_to_json(state: ClusterState) -> dict[str, object]:
    """JS7's ClusterState JSON as the Cluster Watch and the API show it: `TYPE`, `setting` with
    `idToUri`, `activeId` and `timing` in seconds, and `failedAt` for FailedOver."""
    if not isinstance(state, HasNodes):
        return {"TYPE": "Empty"}
    s = state.setting
    out: dict[str, object] = {
        "TYPE": codec.type_name_of(type(state)),
        "setting": {
            "idToUri": dict(sorted(s.id_to_uri.items())),
            "activeId": s.active_id,
            "timing": {
                "heartbeat": s.timing.heartbeat_ms / 1000,
                "heartbeatTimeout": s.timing.heartbeat_timeout_ms / 1000,
                "consentTimeout": s.timing.consent_timeout_ms / 1000,
            },
        },
    }
    if isinstance(state, FailedOver):
        out["failedAt"] = state.failed_at
    return out


__all__ = [
    "BACKUP",
    "PRIMARY",
    "ActiveShutDown",
    "ClusterActiveNodeRestarted",
    "ClusterActiveNodeShutDown",
    "ClusterCoupled",
    "ClusterCouplingPrepared",
    "ClusterEmpty",
    "ClusterEvent",
    "ClusterFailedOver",
    "ClusterNodesAppointed",
    "ClusterPassiveLost",
    "ClusterSetting",
    "ClusterState",
    "ClusterSwitchedOver",
    "ClusterTiming",
    "Coupled",
    "FailedOver",
    "HasNodes",
    "NodesAppointed",
    "PassiveLost",
    "PreparedToBeCoupled",
    "SwitchedOver",
    "apply_cluster",
    "cluster_state_to_json",
]
