"""Sessions in the Cockpit's database (api/sessions.py), on SQLite and on PostgreSQL: two `Sessions` on one
database stand for two members of a Cockpit cluster (on PostgreSQL, one of them fenced as a standby)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from js7es.journal.cockpit.fence import Fence
from js7es.nodes.cockpit.api.sessions import EXPIRED_REMEMBERED_S, Sessions, token_hash
from js7es.projections.cockpit.database import fence_engine
from js7es.projections.cockpit.schema import joc_sessions
from tests.cockpit.conftest import DatabaseFactory

TIMEOUT_S = 1800.0


class Clock:
    def __init__(self) -> None:
        self.ms = 1_700_000_000_000

    def __call__(self) -> int:
        return self.ms


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Engine:
    factory: DatabaseFactory = request.getfixturevalue(f"{request.param}_database")
    return factory()[0]


def pair(engine: Engine, clock: Clock) -> tuple[Sessions, Sessions]:
    return Sessions(engine, lambda: TIMEOUT_S, wall_ms=clock), Sessions(engine, lambda: TIMEOUT_S, wall_ms=clock)


def test_a_session_opened_on_one_member_is_valid_on_the_other_and_only_its_hash_is_stored(engine: Engine) -> None:
    clock = Clock()
    a, b = pair(engine, clock)
    token, opened = a.open(account="root", identity_service="JOC", roles=("all",), caller_ip="10.0.0.1")
    found = b.get(token)
    assert not isinstance(found, str) and found is not None
    assert (found.id, found.account, found.roles, found.caller_ip) == (opened.id, "root", ("all",), "10.0.0.1")
    b.select_controller(found, "js7")
    b.password_changed(found)
    again = a.get(token)
    assert again is not None and not isinstance(again, str) and again.selected_controller == "js7"
    with engine.connect() as connection:
        ids = connection.execute(sa.select(joc_sessions.c.id)).scalars().all()
    assert ids == [token_hash(token)] and token not in ids
    assert [s.id for s in a.sessions()] == [opened.id]


def test_idle_expiry_logout_and_close_account_hold_on_every_member(engine: Engine) -> None:
    clock = Clock()
    a, b = pair(engine, clock)
    idle, _ = a.open(account="u", identity_service="JOC", roles=(), caller_ip=None)
    used, _ = a.open(account="u", identity_service="JOC", roles=(), caller_ip=None)
    other, _ = a.open(account="v", identity_service="JOC", roles=(), caller_ip=None)
    clock.ms += int(TIMEOUT_S * 1000) - 1000
    assert b.get(used) not in (None, "expired")  # touched on b: its idle time starts again
    clock.ms += 2000
    assert a.get(idle) == "expired" and b.get(idle) == "expired"  # 440
    assert a.get(used) not in (None, "expired")
    assert b.close_account("u") == 1  # the expired one is no longer open
    assert a.get(used) is None
    assert a.close(token_hash(other)) and b.get(other) is None  # a logout on a ends it on b
    clock.ms += int(EXPIRED_REMEMBERED_S * 1000) + 1000
    assert b.get(idle) is None  # forgotten after a day: 401
    assert b.sessions() == []


def test_a_fenced_standby_writes_sessions_all_the_same(postgres_database: DatabaseFactory) -> None:
    engine = postgres_database()[0]
    fence_engine(engine, Fence("joc"))  # never activated: every fenced transaction would be NotActive
    clock = Clock()
    standby = Sessions(engine, lambda: TIMEOUT_S, wall_ms=clock)
    token, _ = standby.open(account="root", identity_service="JOC", roles=(), caller_ip=None)
    clock.ms += 5000
    found = standby.get(token)
    assert found is not None and not isinstance(found, str) and found.last_ms == clock.ms
    assert standby.close(found.id)
