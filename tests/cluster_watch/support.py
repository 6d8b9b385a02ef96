"""Cluster states and Watch states for the Cluster Watch's tests, in a few words."""

from __future__ import annotations

from typing import Any

from js7es.nodes.cluster_watch.cluster_state import FAILED_OVER, ClusterState, Setting, Timing
from js7es.nodes.cluster_watch.logic import Confirmation, NodeLossRequest, Report, WatchState

P, B = "Primary", "Backup"
URIS = {P: "https://primary:4444", B: "https://backup:4444"}
TIMING = Timing(heartbeat=0.5, heartbeat_timeout=2.0, consent_timeout=1.0)


def state(kind: str, active: str = P, *, failed_at: int = 90) -> ClusterState:
    setting = Setting(id_to_uri=tuple(sorted(URIS.items())), active_id=active, timing=TIMING)
    return ClusterState(kind=kind, setting=setting, failed_at=failed_at if kind == FAILED_OVER else None)


def other(node_id: str) -> str:
    return B if node_id == P else P


def watch(
    kind: str | None = None,
    active: str = P,
    *,
    event_id: int = 100,
    heard: float | None = 0.0,
    confirmed: tuple[str, ...] = (),
) -> WatchState:
    """Untaught without `kind`; else knowing `kind` with `active`, last heard from it at `heard`."""
    confirmations = tuple(Confirmation(lost_node_id=n, confirmer="Jane", confirmed_at=0.0) for n in confirmed)
    if kind is None:
        return WatchState(cluster_id="js7es", confirmations=confirmations)
    return WatchState(
        cluster_id="js7es",
        known=state(kind, active),
        event_id=event_id,
        heartbeats=((active, heard),) if heard is not None else (),
        confirmations=confirmations,
    )


def report(kind: str, active: str = P, *, event_id: int = 100, sender: str | None = None) -> Report:
    return Report(from_id=sender or active, event_id=event_id, cluster_state=state(kind, active))


def failover(
    lost: str = P, *, sender_kind: str = "Coupled", event_id: int = 100, failed_at: int | None = None
) -> NodeLossRequest:
    """The passive asks to replace its active `lost`."""
    return NodeLossRequest(
        from_id=other(lost),
        lost_node_id=lost,
        event_id=event_id,
        cluster_state=state(sender_kind, lost),
        failed_at=failed_at,
    )


def passive_lost(active: str = P, *, sender_kind: str = "Coupled", event_id: int = 100) -> NodeLossRequest:
    """The active `active` asks to drop its passive."""
    return NodeLossRequest(
        from_id=active, lost_node_id=other(active), event_id=event_id, cluster_state=state(sender_kind, active)
    )


def state_json(kind: str, active: str = P, **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "TYPE": kind,
        "setting": {
            "idToUri": dict(URIS),
            "activeId": active,
            "timing": {"heartbeat": 0.5, "heartbeatTimeout": 2.0, "consentTimeout": 1.0},
        },
    }
    return {**result, **extra}
