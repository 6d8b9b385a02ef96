"""The Cockpit cluster's lease and fence on the real PostgreSQL (js7es/nodes/cockpit/cluster.py,
journal/cockpit/fence.py): one active member at a time, takeover of an expired or released lease with
the next generation, and the database refusing a stale generation's write inside its own transaction
(projection batch and store append: nothing of it applied)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.events import ChangeMeta
from js7es.journal.cockpit.fence import Fence, Fenced, NotActive
from js7es.journal.cockpit.settings import StoreSettings
from js7es.journal.cockpit.store import CockpitStore
from js7es.nodes.cockpit.cluster import ClusterSettings, LeaseClient
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.database import fence_engine, open_database
from js7es.projections.cockpit.projector import Projector
from tests.cockpit.conftest import DatabaseFactory


def lease(engine: sa.Engine, member: str, lease_s: float = 8.0) -> LeaseClient:
    return LeaseClient(
        engine, ClusterSettings(cluster_id="joc", member_id=member, uri=f"https://{member}", lease_s=lease_s)
    )


def test_one_active_member_expiry_and_release(postgres_database: DatabaseFactory) -> None:
    engine, _, _ = postgres_database()
    a, b = lease(engine, "a", lease_s=1.0), lease(engine, "b", lease_s=1.0)
    assert a.acquire() == 1
    assert b.acquire() is None  # held and not expired
    assert a.renew(1)
    row = b.read()
    assert row is not None and (row.holder, row.generation, row.expired) == ("a", 1, False)
    deadline = time.monotonic() + 10
    taken = None
    while taken is None and time.monotonic() < deadline:  # a stops renewing: the lease expires on the db clock
        time.sleep(0.2)
        taken = b.acquire()
    assert taken == 2
    assert not a.renew(1)  # a has lost it
    assert a.acquire() is None
    assert b.release(2)  # a clean stop: free at once, not after the lease
    assert a.acquire() == 3
    assert not b.release(2)


def test_a_hand_over_goes_to_the_named_member_alone_until_the_lease_would_expire(
    postgres_database: DatabaseFactory,
) -> None:
    engine, _, _ = postgres_database()
    a, b, c = (lease(engine, m, lease_s=1.0) for m in "abc")
    assert a.acquire() == 1
    assert not b.hand_over(1, "c")  # only the holder hands over
    assert a.hand_over(1, "b")  # switch_member: released to b
    assert not a.renew(1)
    assert a.acquire() is None and c.acquire() is None  # neither the old active nor a third takes it
    row = c.read()
    assert row is not None and (row.holder, row.generation) == ("", 1)
    assert b.acquire() == 2
    assert b.hand_over(2, "c")
    deadline = time.monotonic() + 10
    taken = None
    while taken is None and time.monotonic() < deadline:  # c never comes: after the lease anyone takes it
        time.sleep(0.2)
        taken = a.acquire()
    assert taken == 3
    assert a.release(3) and b.acquire() == 4  # a plain release is for anyone


def test_a_stale_generation_writes_nothing(postgres_database: DatabaseFactory) -> None:
    engine, url, schema_name = postgres_database()
    a, b = lease(engine, "a"), lease(engine, "b")
    fence_a = Fence("joc", schema=schema_name)
    fenced: list[int] = []
    fence_a.on_fenced(fenced.append)
    writer = open_database(url, schema_name=schema_name)
    fence_engine(writer, fence_a)
    store = CockpitStore.open(StoreSettings.parse(url, schema=schema_name), fence=fence_a)
    meta = ChangeMeta(account="t", at_ms=1, request="t")
    try:
        projector = Projector(writer)
        with pytest.raises(NotActive):  # a standby: refused before the database
            projector.ensure_controller("c1")
        fence_a.activate(a.acquire() or 0)
        projector.ensure_controller("c1")  # the active writes
        assert store.record_login("root", "1.2.3.4", succeeded=True, meta=meta) != []
        # a paused past its lease: b takes over (a released-looking lease stands for an expired one)
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE joc_cluster_lease SET expires_at = clock_timestamp()"))
        assert b.acquire() == 2
        with pytest.raises(Fenced):
            projector.ensure_controller("c2")
        assert fenced == [1]
        fence_a.activate(1)  # as if it had not noticed: the database still refuses
        before = store.last_notification_id()
        with pytest.raises(Fenced):
            store.execute(keys.login("x"), cmd.RecordLogin(account="x", address="a", succeeded=True), meta)
        assert store.last_notification_id() == before
        with engine.connect() as connection:
            ids = connection.execute(sa.select(schema.controllers.c.controller_id)).scalars().all()
        assert ids == ["c1"]
    finally:
        store.close()
        writer.dispose()


def test_a_takeover_waits_for_the_write_in_flight(postgres_database: DatabaseFactory) -> None:
    """The fence's share lock is held to the commit: the takeover cannot slip in between."""
    engine, url, schema_name = postgres_database()
    a, b = lease(engine, "a", lease_s=0.5), lease(engine, "b", lease_s=0.5)
    fence_a = Fence("joc", schema=schema_name)
    fence_a.activate(a.acquire() or 0)
    writer = open_database(url, schema_name=schema_name)
    fence_engine(writer, fence_a)
    try:
        with writer.begin() as connection:
            time.sleep(0.8)  # the lease expires while the transaction is open
            with pytest.raises(sa.exc.OperationalError):  # the takeover waits on the lock (here: its timeout)
                b.acquire()
            connection.execute(
                schema.controllers.insert().values(controller_id="c1", event_id=0, event_count=0, inapplicable_events=0)
            )
        assert b.acquire() == 2
    finally:
        writer.dispose()
