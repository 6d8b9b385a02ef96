"""The active Cockpit as the Cluster Watch of its Controller clusters (issue 19, Must 3; JOC's ClusterWatch
service, joc-cockpit.md §6): the standalone Watch's decisions and memory (cluster_watch/logic.py and
watch.py) under its routes (``/cluster-watch/api``, cluster_watch/api.py), served by the Cockpit.

- It runs only on the active member (ActiveServices starts it on each takeover, stops it on step-down)
  and starts with a new memory each time: **untaught**, exactly as ``js7es cluster-watch`` after a
  restart. It refuses every node loss until the active Controller has reported, or a person confirmed
  the loss (``/joc/api/controller/cluster/confirm_node_loss``, registration.py).
- A standby, or an active member whose lease is no longer surely its own by its own clock (it was paused
  past it), answers 503 ``ClusterWatchStandby`` naming the active member: a Controller given the URIs of
  both Cockpits (``[cluster] watches``) takes the other one's answer (controller/cluster/clients.py).
- A decision a Controller acts on — a granted node loss, and the refusal ``ClusterNodeIsNotActive`` (on
  which a Controller gives up its role) — leaves only after the database said, in a statement strictly
  before the answer, that the lease is still this member's generation and not expired (``_HOLDS``). A
  takeover needs an expired lease, so no other member can be the Watch before that answer's lease runs
  out; and a stale member continued after SIGSTOP grants nothing: it finds a higher generation and
  steps down its Watch at once. The new active starts untaught, so neither can it undo what the old one
  granted: it learns from the Controller that was granted the loss.

A single Cockpit (no [cluster], SQLite) is the Watch from its start, as the standalone one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import sqlalchemy as sa
from prometheus_client import Counter

from js7es.domain.problem import Problem, problem
from js7es.nodes.cluster_watch.api import STANDBY
from js7es.nodes.cluster_watch.logic import NOT_ACTIVE, Decision
from js7es.nodes.cluster_watch.watch import ClusterWatch

if TYPE_CHECKING:
    from js7es.nodes.cockpit.cluster import ClusterActivity

log = logging.getLogger(__name__)

_HOLDS = sa.text(
    """
    SELECT 1 FROM joc_cluster_lease
    WHERE cluster_id = :cluster AND holder = :member AND generation = :generation
      AND expires_at > clock_timestamp()
    """
)


class CockpitClusterWatch:
    """The Cockpit's Cluster Watch, a `WatchGate` of cluster_watch/api.py. `start` and `stop` run on the
    event loop (ActiveServices), as do the decisions."""

    def __init__(self, activity: ClusterActivity | None, *, decisions: Counter | None = None) -> None:
        self._activity = activity  # None: a single Cockpit, always active
        self._decisions = decisions
        self._watch: ClusterWatch | None = None
        self._generation: int | None = None

    @property
    def running(self) -> bool:
        return self._watch is not None

    def start(self, generation: int | None) -> None:
        self._watch = ClusterWatch(decisions=self._decisions)
        self._generation = generation
        where = "" if generation is None else f" (lease generation {generation})"
        log.warning("This Cockpit is the Cluster Watch of its Controller clusters%s: untaught", where)

    def stop(self) -> None:
        if self._watch is not None:
            self._watch = None
            log.warning("This Cockpit is no longer the Cluster Watch: its knowledge is dropped")

    # -- WatchGate -----------------------------------------------------------------------------------

    def current(self) -> ClusterWatch | Problem:
        watch = self._watch
        activity = self._activity
        if watch is None:
            return self._standby("is a standby")
        if activity is not None and (activity.generation != self._generation or activity.held_for() <= 0):
            return self._standby("is not sure of its lease")
        return watch

    async def release(self, request: str, decision: Decision) -> Decision:
        activity = self._activity
        acted_on = (request == "node-loss" and not isinstance(decision, Problem)) or (
            isinstance(decision, Problem) and decision.code == NOT_ACTIVE
        )
        if activity is None or not acted_on:
            return decision
        generation = self._generation
        holds = await asyncio.to_thread(self._holds, activity, generation)
        if holds:
            return decision
        if holds is False and self._generation == generation:
            self.stop()  # stale: another member took the lease over
        log.warning("Cluster Watch: %s not answered, the lease is not ours (generation %s)", request, generation)
        return self._standby("does not hold the lease")

    def _holds(self, activity: ClusterActivity, generation: int | None) -> bool | None:
        """Whether the database says the lease is still ours; None when it could not say."""
        if generation is None:
            return False
        s = activity.settings
        try:
            with activity.lease.engine.connect() as connection:
                row = connection.execute(
                    _HOLDS, {"cluster": s.cluster_id, "member": s.member_id, "generation": generation}
                ).first()
        except sa.exc.SQLAlchemyError as e:
            log.warning("Cluster Watch: the lease check failed: %s", str(e).splitlines()[0])
            return None
        return row is not None

    def _standby(self, why: str) -> Problem:
        activity = self._activity
        if activity is None:
            return problem(STANDBY, "this Cockpit's Cluster Watch is not running")
        member, uri = activity.fence.active_member, activity.fence.active_uri
        if member == activity.settings.member_id:
            member = uri = ""  # as far as this member knew; it is not sure any more
        return problem(
            STANDBY,
            f"Cockpit {activity.settings.member_id!r} {why} in Cockpit cluster {activity.settings.cluster_id!r}"
            + (f"; the active member is {member!r}" + (f" at {uri}" if uri else "") if member else "")
            + ": ask the active member",
            activeMember=member,
            activeUri=uri,
        )
