"""The Controller as the Cluster Watch of its Agents' Director pairs (JS7: the Controller watches its Agent
clusters; reference §3).

The same decisions and memory as ``js7es cluster-watch`` (js7es.nodes.cluster_watch: `logic`, `watch`),
served under the same routes (``/cluster-watch/api/...``) by the Controller itself through a `WatchGate`;
the Directors name the Controller's URI(s) as their Cluster Watch(es) and log in as users with the
permission ``ClusterWatchClient``.

Only an active Controller answers: a Controller cluster's standby answers the Watch's standby problem
(``ClusterWatchStandby``, 503), which a Director takes as "ask the other URI", never as a refusal. The
Watch's knowledge lives in memory and starts untaught with each new active role — after a Controller
restart or failover it refuses a Director failover until the active Director has reported (it does
every heartbeat) or a person confirmed the loss, exactly as the standalone Watch after its restart. A
decision is answered only while the role that made it is still the active one.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import BaseRoute

from js7es.domain.problem import Problem, problem
from js7es.nodes.cluster_watch.api import STANDBY, cluster_watch_routes
from js7es.nodes.cluster_watch.logic import Decision
from js7es.nodes.cluster_watch.watch import ClusterWatch
from js7es.nodes.http import Authenticator

NODES_PERMISSION = "ClusterWatchClient"


class AgentClusterWatch:
    """The gate: the Watch of the active role `role()` returns (a new, untaught one for each new role);
    `role()` returns a Problem where this Controller is not active."""

    def __init__(self, role: Callable[[], object]) -> None:
        self._role = role
        self._for: object | None = None
        self._watch = ClusterWatch()

    def current(self) -> ClusterWatch | Problem:
        role = self._role()
        if isinstance(role, Problem):
            return problem(STANDBY, f"This Controller is not the active one, not the Cluster Watch now: {role}")
        if role is not self._for:
            self._for, self._watch = role, ClusterWatch()
        return self._watch

    async def release(self, request: str, decision: Decision) -> Decision:
        if self._role() is not self._for:  # the role changed while deciding: that Watch is gone
            return problem(STANDBY, "This Controller's active role ended: ask again")
        return decision


def agent_cluster_watch_routes(role: Callable[[], object], auth: Authenticator) -> list[BaseRoute]:
    return cluster_watch_routes(AgentClusterWatch(role), auth, nodes_permission=NODES_PERMISSION)
