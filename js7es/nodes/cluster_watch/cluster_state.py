"""The cluster state as the Controller nodes report it to the Cluster Watch (JS7's ClusterState JSON)::

    {"TYPE": "Coupled",
     "setting": {"idToUri": {"Primary": "https://…", "Backup": "https://…"}, "activeId": "Primary",
                 "timing": {"heartbeat": 0.5, "heartbeatTimeout": 2.0, "consentTimeout": 1.0}}}

``FailedOver`` also has ``failedAt``, the EventId where the failed node's commits end; ``{"TYPE": "Empty"}``
(no cluster) has nothing else. Durations are seconds. `activeId` names the active node of that state
(after FailedOver and SwitchedOver the newly activated one).

The Watch needs only these few facts, so it keeps this small value, parsed strictly (an unknown or
missing field is a problem, as everywhere in the HTTP API), and writes it back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from js7es.domain.problem import Problem, problem
from js7es.nodes.http.body import INTEGER, NUMBER, OBJECT, STRING, Shape, wrong_type

EMPTY = "Empty"
NODES_APPOINTED = "NodesAppointed"
PREPARED_TO_BE_COUPLED = "PreparedToBeCoupled"
COUPLED = "Coupled"
PASSIVE_LOST = "PassiveLost"
SWITCHED_OVER = "SwitchedOver"
ACTIVE_SHUT_DOWN = "ActiveShutDown"
FAILED_OVER = "FailedOver"
KINDS = (
    EMPTY,
    NODES_APPOINTED,
    PREPARED_TO_BE_COUPLED,
    COUPLED,
    PASSIVE_LOST,
    SWITCHED_OVER,
    ACTIVE_SHUT_DOWN,
    FAILED_OVER,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """Seconds: the active's heartbeat period, how long silence means loss, how long to wait for consent."""

    heartbeat: float
    heartbeat_timeout: float
    consent_timeout: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Setting:
    id_to_uri: tuple[tuple[str, str], ...]  # exactly two nodes, sorted by id
    active_id: str
    timing: Timing

    @property
    def node_ids(self) -> tuple[str, ...]:
        return tuple(node_id for node_id, _ in self.id_to_uri)

    @property
    def passive_id(self) -> str:
        return next(node_id for node_id in self.node_ids if node_id != self.active_id)

    def with_active(self, node_id: str) -> Setting:
        return replace(self, active_id=node_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterState:
    kind: str  # one of KINDS, the JSON's TYPE
    setting: Setting | None = None  # None only for Empty
    failed_at: int | None = None  # only for FailedOver

    @property
    def active_id(self) -> str | None:
        return None if self.setting is None else self.setting.active_id

    def to_json(self) -> dict[str, Any]:
        if self.setting is None:
            return {"TYPE": self.kind}
        s = self.setting
        result: dict[str, Any] = {
            "TYPE": self.kind,
            "setting": {
                "idToUri": dict(s.id_to_uri),
                "activeId": s.active_id,
                "timing": {
                    "heartbeat": s.timing.heartbeat,
                    "heartbeatTimeout": s.timing.heartbeat_timeout,
                    "consentTimeout": s.timing.consent_timeout,
                },
            },
        }
        if self.failed_at is not None:
            result["failedAt"] = self.failed_at
        return result

    def __str__(self) -> str:
        return self.kind if self.setting is None else f"{self.kind}(active {self.setting.active_id})"


_STATE = Shape("clusterState", required={"setting": OBJECT})
_FAILED_OVER = Shape("clusterState", required={"setting": OBJECT, "failedAt": INTEGER})
_SETTING = Shape("clusterState.setting", required={"idToUri": OBJECT, "activeId": STRING, "timing": OBJECT})
_TIMING = Shape(
    "clusterState.setting.timing", required={"heartbeat": NUMBER, "heartbeatTimeout": NUMBER, "consentTimeout": NUMBER}
)


def _invalid(message: str, **arguments: object) -> Problem:
    return problem("InvalidClusterState", message, **arguments)


def parse_cluster_state(obj: Any) -> ClusterState | Problem:
    """The value of a request's ``clusterState`` field, or a problem naming what is wrong."""
    if not isinstance(obj, dict):
        return wrong_type("clusterState", obj, OBJECT)
    kind = obj.get("TYPE")
    if kind not in KINDS:
        return _invalid(f"clusterState.TYPE must be one of {', '.join(KINDS)}, not {kind!r}", TYPE=kind)
    if kind == EMPTY:
        checked = Shape("clusterState").check(obj)
        return checked if isinstance(checked, Problem) else ClusterState(kind=EMPTY)
    checked = (_FAILED_OVER if kind == FAILED_OVER else _STATE).check(obj)
    if isinstance(checked, Problem):
        return checked
    setting = _parse_setting(checked["setting"])
    if isinstance(setting, Problem):
        return setting
    failed_at = checked.get("failedAt")
    if failed_at is not None and failed_at < 0:
        return _invalid("clusterState.failedAt must not be negative")
    return ClusterState(kind=kind, setting=setting, failed_at=failed_at)


def _parse_setting(obj: dict[str, Any]) -> Setting | Problem:
    checked = _SETTING.check(obj)
    if isinstance(checked, Problem):
        return checked
    id_to_uri = checked["idToUri"]
    if len(id_to_uri) != 2 or not all(
        isinstance(node_id, str) and node_id and isinstance(uri, str) and uri for node_id, uri in id_to_uri.items()
    ):
        return _invalid("clusterState.setting.idToUri must map exactly two node ids to URIs")
    active_id = checked["activeId"]
    if active_id not in id_to_uri:
        return _invalid(f"clusterState.setting.activeId {active_id!r} is not a node of idToUri", activeId=active_id)
    timing = _TIMING.check(checked["timing"])
    if isinstance(timing, Problem):
        return timing
    seconds = {name: float(timing[name]) for name in ("heartbeat", "heartbeatTimeout", "consentTimeout")}
    for name, value in seconds.items():
        if not 0 < value < 86400:
            return _invalid(f"clusterState.setting.timing.{name} must be a positive number of seconds", field=name)
    return Setting(
        id_to_uri=tuple(sorted(id_to_uri.items())),
        active_id=active_id,
        timing=Timing(
            heartbeat=seconds["heartbeat"],
            heartbeat_timeout=seconds["heartbeatTimeout"],
            consent_timeout=seconds["consentTimeout"],
        ),
    )
