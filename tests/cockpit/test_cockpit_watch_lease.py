"""The Cockpit's Cluster Watch gated by the member's lease on the real PostgreSQL (js7es/nodes/cockpit/
watch.py with a real ClusterActivity of cluster.py): a grant leaves only while the database says the
lease is this member's generation, unexpired — checked strictly before the answer, even when the member
has not yet noticed the takeover — and the Watch answers nothing once the lease is no longer surely its
own by its own clock (renewals stopped, as in a member paused past its lease)."""

from __future__ import annotations

import asyncio
import threading
import time

import sqlalchemy as sa

from js7es.domain.problem import Problem
from js7es.journal.cockpit.fence import Fence
from js7es.nodes.cluster_watch.logic import NodeLossConfirmation
from js7es.nodes.cluster_watch.watch import ClusterWatch
from js7es.nodes.cockpit.cluster import ClusterActivity, ClusterSettings, LeaseClient
from js7es.nodes.cockpit.watch import CockpitClusterWatch
from tests.cluster_watch.support import P, failover
from tests.cockpit.conftest import DatabaseFactory

LEASE_S = 2.0


def member(engine: sa.Engine, schema_name: str | None, name: str) -> tuple[ClusterActivity, threading.Event]:
    settings = ClusterSettings(cluster_id="joc", member_id=name, uri=f"https://{name}", lease_s=LEASE_S, renew_s=0.5,
                               poll_s=0.2)  # fmt: skip
    active = threading.Event()
    activity = ClusterActivity(
        LeaseClient(engine, settings),
        Fence("joc", schema=schema_name),
        on_active=lambda generation: active.set(),
        on_standby=active.clear,
    )
    return activity, active


def test_a_grant_leaves_only_while_the_database_says_the_lease_is_ours(postgres_database: DatabaseFactory) -> None:
    engine, _, schema_name = postgres_database()
    activity, active = member(engine, schema_name, "a")
    activity.start()
    try:
        assert active.wait(10)
        generation = activity.generation
        assert generation == 1 and activity.held_for() > 0
        hosted = CockpitClusterWatch(activity)
        hosted.start(generation)
        watch = hosted.current()
        assert isinstance(watch, ClusterWatch)
        # untaught: a person's confirmation lets the Backup's failover through
        watch.confirm("c", NodeLossConfirmation(lost_node_id=P, confirmer="Jane"))
        granted = watch.node_loss("c", failover(P))
        assert not isinstance(granted, Problem)
        assert asyncio.run(hosted.release("node-loss", granted)) is granted  # the database: still ours

        # b takes the lease over (a's expired: a paused past it), before a's lease thread notices
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE joc_cluster_lease SET expires_at = clock_timestamp()"))
        other = LeaseClient(engine, ClusterSettings(cluster_id="joc", member_id="b", lease_s=LEASE_S))
        assert other.acquire() == 2
        refused = asyncio.run(hosted.release("node-loss", granted))
        assert isinstance(refused, Problem) and refused.code == "ClusterWatchStandby", refused
        assert not hosted.running  # its knowledge is dropped: a later start is untaught
        assert isinstance(hosted.current(), Problem)
        # a refusal that a Controller does not act on needs no lease: answered as decided
        untaught = ClusterWatch().node_loss("c", failover(P))
        assert isinstance(untaught, Problem)
        assert asyncio.run(hosted.release("node-loss", untaught)) is untaught
    finally:
        activity.stop()
        activity.release()


def test_no_answer_once_the_lease_is_not_surely_ours(postgres_database: DatabaseFactory) -> None:
    engine, _, schema_name = postgres_database()
    activity, active = member(engine, schema_name, "a")
    activity.start()
    try:
        assert active.wait(10)
        hosted = CockpitClusterWatch(activity)
        hosted.start(activity.generation)
        assert isinstance(hosted.current(), ClusterWatch)
        activity.stop()  # no more renewals, as in a member stopped with SIGSTOP
        deadline = time.monotonic() + LEASE_S * 3
        while activity.held_for() > 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert activity.held_for() == 0 and activity.generation == 1  # it has not stepped down
        answer = hosted.current()
        assert isinstance(answer, Problem) and answer.code == "ClusterWatchStandby", answer
        assert "is not sure of its lease" in answer.message
    finally:
        activity.release()
