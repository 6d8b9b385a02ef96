"""The Cluster Watch's decisions: a pure state machine per cluster, the clock passed in (JS7's ClusterWatch).

The Watch knows one `WatchState` per cluster id, in memory only. It starts **Untaught** (`known` is
None) and learns the cluster state from the active node's first report. It consents to the loss of a
node ("node loss") for at most one side, so that never both nodes are active (split brain):

Reports (`decide_report`), sent by the node that is active in the state it reports, every heartbeat
and after every cluster event:

- Untaught: learn the reported state, unless the node restarted with a Coupled state and has not yet
  heard from its standby (``restarted``): it may have been failed over while it was down.
- From the known active: the same state is a heartbeat; a changed state needs a newer EventId (so that
  a heartbeat the active sent before the Watch granted a node loss cannot undo the grant).
- From the other node, with a newer EventId: a SwitchedOver, or any later state but FailedOver, when
  the known state is Coupled with that node as passive (a switchover is a command, no node loss); a
  FailedOver when the known state was not made by the Watch's own consent (the node's journal proves
  a consent, given before the Watch restarted). Otherwise ``ClusterNodeIsNotActive``: the node has
  been replaced.

Node loss (`decide_node_loss`): what the sender asks for follows from its own cluster state: if
``lostNodeId`` is its active node, it wants to fail over; if it is active itself, it wants to drop its
passive (PassiveLost).

- The requester and node granted last ask again (their answer got lost): the same consent.
- Untaught, and no person confirmed the loss: ``UntaughtClusterWatch``.
- Failover: refused with ``ClusterFailOverWhilePassiveLost`` when the known state is PassiveLost with
  the lost node active (it may have committed events alone: failing over would lose them, even when a
  person confirmed the loss); ``ClusterWatchInapplicable`` unless the sender's state is Coupled with the
  lost node active and so is the known state — or a person confirmed the loss (the Watch may have
  missed a state change, say after its own restart); ``ClusterWatchActiveStillAlive`` when the
  active's last report is younger than the heartbeat timeout and no person confirmed.
  Granted: the known state becomes FailedOver with the sender active.

The active node tells the Watch a Coupled state before it writes ClusterCoupled (see the active role),
so that the Watch never lags behind a standby that may ask to fail over.
- PassiveLost: ``ClusterNodeIsNotActive`` unless the sender is the known active;
  ``ClusterWatchInapplicable`` unless the known and the sender's state are Coupled or
  PreparedToBeCoupled. Granted: the known state becomes PassiveLost.

So once a failover is granted, the old active's PassiveLost is refused (it is no longer active), and once
a PassiveLost is granted, the failover is refused (the state is no longer Coupled).

Confirmations (`decide_confirmation`): a person says that a node is really down. The next node loss
about that node is granted even when Untaught or while the active seems alive, and uses it up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from js7es.domain.problem import Problem, problem
from js7es.nodes.cluster_watch.cluster_state import (
    COUPLED,
    FAILED_OVER,
    PASSIVE_LOST,
    PREPARED_TO_BE_COUPLED,
    SWITCHED_OVER,
    ClusterState,
)

UNTAUGHT = "UntaughtClusterWatch"
NOT_ACTIVE = "ClusterNodeIsNotActive"
FAIL_OVER_WHILE_PASSIVE_LOST = "ClusterFailOverWhilePassiveLost"
ACTIVE_STILL_ALIVE = "ClusterWatchActiveStillAlive"
INAPPLICABLE = "ClusterWatchInapplicable"
INVALID = "InvalidClusterWatchRequest"

# Refusals of a well-formed request (HTTP 409); every other problem is a bad request (400).
REFUSALS = frozenset({UNTAUGHT, NOT_ACTIVE, FAIL_OVER_WHILE_PASSIVE_LOST, ACTIVE_STILL_ALIVE, INAPPLICABLE})


@dataclass(frozen=True, slots=True, kw_only=True)
class Confirmation:
    lost_node_id: str
    confirmer: str
    confirmed_at: float  # the clock's time


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """A node loss the Watch consented to; it stands while the known state is still its result."""

    requester: str
    lost_node_id: str
    cluster_state: ClusterState  # FailedOver or PassiveLost


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchState:
    cluster_id: str
    known: ClusterState | None = None  # None: Untaught
    event_id: int = 0  # of the known state
    heartbeats: tuple[tuple[str, float], ...] = ()  # node id → the clock's time of its last accepted message
    confirmations: tuple[Confirmation, ...] = ()
    grant: Grant | None = None

    @property
    def taught(self) -> bool:
        return self.known is not None

    def heartbeat_age(self, node_id: str, now: float) -> float | None:
        return next((now - at for n, at in self.heartbeats if n == node_id), None)

    def confirmation_of(self, node_id: str) -> Confirmation | None:
        return next((c for c in self.confirmations if c.lost_node_id == node_id), None)

    def with_heartbeat(self, node_id: str, now: float) -> tuple[tuple[str, float], ...]:
        return tuple(sorted({**dict(self.heartbeats), node_id: now}.items()))

    def without_confirmation(self, node_id: str) -> tuple[Confirmation, ...]:
        return tuple(c for c in self.confirmations if c.lost_node_id != node_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    from_id: str
    event_id: int
    cluster_state: ClusterState
    # The node restarted with a Coupled state in which it was active and has not yet heard from its
    # standby: it may have been failed over meanwhile, so an untaught Watch must not learn from it.
    restarted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeLossRequest:
    from_id: str
    lost_node_id: str
    event_id: int
    cluster_state: ClusterState  # the sender's, normally Coupled
    failed_at: int | None = None  # for a failover; default: event_id


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeLossConfirmation:
    lost_node_id: str
    confirmer: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    watch: WatchState  # the new state
    cluster_state: ClusterState | None  # the answer: the (granted) known state
    reason: str
    changed: bool  # the known state (or the set of confirmations) changed: worth an INFO line


Decision = Accepted | Problem


# -- reports --------------------------------------------------------------------------------------------


def decide_report(watch: WatchState, report: Report, now: float) -> Decision:
    state = report.cluster_state
    if state.setting is None:
        return problem(INVALID, f"A report needs a cluster state with nodes, not {state.kind}")
    if report.from_id != state.setting.active_id:
        return problem(
            INVALID,
            f"Only the active node reports: {report.from_id} is not the active node {state.setting.active_id} "
            f"of the reported {state.kind}",
            **{"from": report.from_id, "activeId": state.setting.active_id},
        )
    known = watch.known
    if known is None and report.restarted and state.kind == COUPLED:
        return Accepted(
            watch=watch,
            cluster_state=None,
            reason=f"not learned from {report.from_id}: it restarted and may have been failed over meanwhile",
            changed=False,
        )
    if known is None:
        return _learn(watch, report, now, f"learned {state} at EventId {report.event_id} from {report.from_id}")
    assert known.setting is not None
    newer = report.event_id > watch.event_id
    if report.from_id == known.setting.active_id:
        if state == known:
            return _learn(watch, report, now, "heartbeat")
        if not newer:
            return problem(
                INAPPLICABLE,
                f"{report.from_id} reports {state} at EventId {report.event_id}, but the Cluster Watch knows "
                f"{known} at EventId {watch.event_id}: a changed state needs a newer EventId",
                eventId=watch.event_id,
            )
        return _learn(watch, report, now, f"{report.from_id} changed {known} to {state} at EventId {report.event_id}")
    if newer and state.kind == FAILED_OVER and watch.grant is None and report.from_id in known.setting.node_ids:
        return _learn(
            watch,
            report,
            now,
            f"{report.from_id} has failed over (as its journal says) at EventId {report.event_id}, replacing {known}",
        )
    if newer and state.kind != FAILED_OVER and known.kind == COUPLED and known.setting.passive_id == report.from_id:
        return _learn(
            watch,
            report,
            now,
            f"{report.from_id} is active after a switchover: {state} at EventId {report.event_id}, replacing {known}",
        )
    if state.kind == SWITCHED_OVER and not newer:
        reason = f"its {state} at EventId {report.event_id} is not newer than {watch.event_id}"
    else:
        reason = f"the Cluster Watch knows {known} at EventId {watch.event_id}"
    return _not_active(watch, report.from_id, reason)


def _learn(watch: WatchState, report: Report, now: float, reason: str) -> Accepted:
    state = report.cluster_state
    changed = state != watch.known
    grant = watch.grant if watch.grant is not None and watch.grant.cluster_state == state else None
    updated = replace(
        watch,
        known=state,
        event_id=max(report.event_id, watch.event_id),
        heartbeats=watch.with_heartbeat(report.from_id, now),
        grant=grant,
    )
    return Accepted(watch=updated, cluster_state=state, reason=reason, changed=changed)


def _not_active(watch: WatchState, node_id: str, reason: str) -> Problem:
    assert watch.known is not None and watch.known.setting is not None
    active = watch.known.setting.active_id
    return problem(
        NOT_ACTIVE,
        f"{node_id} is not the active cluster node, {active} is: {reason}",
        nodeId=node_id,
        activeId=active,
        clusterState=watch.known.kind,
    )


# -- node loss ------------------------------------------------------------------------------------------


def decide_node_loss(watch: WatchState, request: NodeLossRequest, now: float) -> Decision:
    state = request.cluster_state
    from_id, lost_id = request.from_id, request.lost_node_id
    if state.setting is None or {from_id, lost_id} != set(state.setting.node_ids):
        return problem(
            INVALID,
            f"from ({from_id}) and lostNodeId ({lost_id}) must be the two nodes of the sender's cluster state",
            **{"from": from_id, "lostNodeId": lost_id},
        )
    failover = state.setting.active_id == lost_id
    asked = f"{from_id} asks to {'fail over from' if failover else 'drop its passive'} {lost_id}"

    grant = watch.grant
    if grant is not None and grant.requester == from_id and grant.lost_node_id == lost_id:
        updated = replace(watch, heartbeats=watch.with_heartbeat(from_id, now))
        return Accepted(
            watch=updated, cluster_state=grant.cluster_state, reason=f"{asked} again: the same consent", changed=False
        )

    confirmation = watch.confirmation_of(lost_id)
    confirmed = f" (loss confirmed by {confirmation.confirmer})" if confirmation is not None else ""
    known = watch.known
    if known is None:
        if confirmation is None:
            return problem(
                UNTAUGHT,
                f"{asked}, but the Cluster Watch is untaught (restarted, no report from the active node yet) "
                f"and no person confirmed the loss of {lost_id}",
                lostNodeId=lost_id,
            )
        inapplicable = _sender_inapplicable(state, failover, asked)
        if inapplicable is not None:
            return inapplicable
        return _grant(watch, request, failover, now, f"{asked}, while untaught{confirmed}")
    assert known.setting is not None

    if failover:
        if known.kind == PASSIVE_LOST and known.setting.active_id == lost_id:
            return problem(
                FAIL_OVER_WHILE_PASSIVE_LOST,
                f"{asked}, but {lost_id} lost its passive and may have committed events {from_id} lacks",
                lostNodeId=lost_id,
            )
        if (known.kind != COUPLED or known.setting.active_id != lost_id) and confirmation is None:
            return problem(
                INAPPLICABLE,
                f"{asked}, but the Cluster Watch knows {known}, not Coupled with {lost_id} active "
                f"(if {lost_id} is down for sure, `js7es ctl confirm-node-loss {lost_id}` lets the failover through)",
                clusterState=known.kind,
            )
        inapplicable = _sender_inapplicable(state, failover, asked)
        if inapplicable is not None:
            return inapplicable
        age = watch.heartbeat_age(lost_id, now)
        timeout = known.setting.timing.heartbeat_timeout
        if confirmation is None and age is not None and age < timeout:
            return problem(
                ACTIVE_STILL_ALIVE,
                f"{asked}, but {lost_id} reported {age:.3f} s ago (heartbeat timeout {timeout:g} s)",
                lostNodeId=lost_id,
                lastHeartbeatAgo=f"{age:.3f}",
            )
        silent = f"silent for {age:.3f} s" if age is not None else "never reported"
        return _grant(watch, request, failover, now, f"{asked}{confirmed or f', {lost_id} {silent}'}")

    if known.setting.active_id != from_id:
        return _not_active(watch, from_id, asked)
    if known.kind not in (COUPLED, PREPARED_TO_BE_COUPLED):
        return problem(
            INAPPLICABLE,
            f"{asked}, but the Cluster Watch knows {known}, not Coupled nor PreparedToBeCoupled",
            clusterState=known.kind,
        )
    inapplicable = _sender_inapplicable(state, failover, asked)
    if inapplicable is not None:
        return inapplicable
    return _grant(watch, request, failover, now, f"{asked}{confirmed}")


def _sender_inapplicable(state: ClusterState, failover: bool, asked: str) -> Problem | None:
    allowed = (COUPLED,) if failover else (COUPLED, PREPARED_TO_BE_COUPLED)
    if state.kind in allowed:
        return None
    return problem(
        INAPPLICABLE, f"{asked}, but its own cluster state is {state}, not {' nor '.join(allowed)}", TYPE=state.kind
    )


def _grant(watch: WatchState, request: NodeLossRequest, failover: bool, now: float, reason: str) -> Accepted:
    setting = request.cluster_state.setting
    assert setting is not None
    if failover:
        failed_at = request.failed_at if request.failed_at is not None else request.event_id
        granted = ClusterState(kind=FAILED_OVER, setting=setting.with_active(request.from_id), failed_at=failed_at)
        # The new active's history forks here: its later EventIds count, not the old active's.
        event_id = request.event_id
    else:
        granted = ClusterState(kind=PASSIVE_LOST, setting=setting)
        event_id = max(watch.event_id, request.event_id)
    updated = replace(
        watch,
        known=granted,
        event_id=event_id,
        heartbeats=watch.with_heartbeat(request.from_id, now),
        confirmations=watch.without_confirmation(request.lost_node_id),
        grant=Grant(requester=request.from_id, lost_node_id=request.lost_node_id, cluster_state=granted),
    )
    return Accepted(watch=updated, cluster_state=granted, reason=reason, changed=True)


# -- confirmations --------------------------------------------------------------------------------------


def decide_confirmation(watch: WatchState, confirmation: NodeLossConfirmation, now: float) -> Decision:
    lost_id = confirmation.lost_node_id
    known = watch.known
    if known is not None and known.setting is not None and lost_id not in known.setting.node_ids:
        return problem(
            INVALID,
            f"{lost_id} is not a node of cluster {watch.cluster_id} ({', '.join(known.setting.node_ids)})",
            lostNodeId=lost_id,
        )
    entry = Confirmation(lost_node_id=lost_id, confirmer=confirmation.confirmer, confirmed_at=now)
    updated = replace(watch, confirmations=(*watch.without_confirmation(lost_id), entry))
    return Accepted(
        watch=updated,
        cluster_state=known,
        reason=f"{confirmation.confirmer} confirmed the loss of {lost_id}: its next node loss will be granted",
        changed=True,
    )
