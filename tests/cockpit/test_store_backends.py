"""The Cockpit store's contract on the library's in-memory recorder, an SQLite file, and the real
PostgreSQL server (a fresh schema per test, holding the store's table and the projections' tables,
dropped afterwards; CI=true fails without PostgreSQL)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.popo import POPOApplicationRecorder
from sqlalchemy.engine import Engine

from js7es.journal.cockpit.settings import StoreSettings
from js7es.journal.cockpit.store import CockpitStore
from js7es.projections.cockpit.audit import AuditProjector
from js7es.projections.cockpit.database import migrate, open_database, sqlite_url
from tests.cockpit.conftest import PG_DSN, PG_URL, drop_schema, require_postgres
from tests.cockpit.store_contract import META, StoreContract, StoreFactory, audit_rows

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def opened() -> Iterator[list[CockpitStore]]:
    stores: list[CockpitStore] = []
    yield stores
    for store in stores:
        store.close()


@pytest.fixture
def sqlite_projection(tmp_path: Path) -> Iterator[Engine]:
    engine = open_database(sqlite_url(tmp_path / "cockpit.sqlite"))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_schema() -> Iterator[str]:
    require_postgres()
    name = f"cockpit_store_test_{os.getpid()}_{secrets.token_hex(4)}"
    yield name
    drop_schema(name)


def keep(opened: list[CockpitStore], store: CockpitStore) -> CockpitStore:
    opened.append(store)
    return store


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def make_store(self, opened: list[CockpitStore]) -> StoreFactory:
        recorder = POPOApplicationRecorder()
        return lambda: keep(opened, CockpitStore(recorder, poll_interval_s=0.05))

    @pytest.fixture
    def projection_engine(self, sqlite_projection: Engine) -> Engine:
        return sqlite_projection


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def make_store(self, opened: list[CockpitStore], tmp_path: Path) -> StoreFactory:
        return lambda: keep(opened, CockpitStore.open(StoreSettings.default_sqlite(tmp_path)))

    @pytest.fixture
    def projection_engine(self, sqlite_projection: Engine) -> Engine:
        return sqlite_projection


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def make_store(self, pg_schema: str, opened: list[CockpitStore]) -> StoreFactory:
        return lambda: keep(opened, CockpitStore.open(StoreSettings.parse(PG_DSN, schema=pg_schema)))

    @pytest.fixture
    def projection_engine(self, pg_schema: str) -> Iterator[Engine]:
        engine = open_database(PG_URL, schema_name=pg_schema)
        migrate(engine, schema_name=pg_schema)
        yield engine
        engine.dispose()


KILLED_PROJECTOR = """
import os, signal, sys
from js7es.journal.cockpit.settings import StoreSettings
from js7es.journal.cockpit.store import CockpitStore
from js7es.projections.cockpit.audit import AuditProjector
from js7es.projections.cockpit.database import open_database

store_url, schema, projection_url = sys.argv[1], sys.argv[2] or None, sys.argv[3]
store = CockpitStore.open(StoreSettings.parse(store_url, schema=schema))
engine = open_database(projection_url, schema_name=schema)
original = AuditProjector._project
projected = 0

def project(self, connection, record):
    global projected
    original(self, connection, record)
    projected += 1
    if projected == 7:  # inside the third batch, its rows written, nothing committed
        os.kill(os.getpid(), signal.SIGKILL)

AuditProjector._project = project
AuditProjector(store, engine, batch_size=3).catch_up()
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_projector_killed_mid_batch_loses_and_repeats_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        schema, store_url, projection_url = (
            "",
            f"sqlite:///{tmp_path / 'store.sqlite'}",
            sqlite_url(tmp_path / "p.sqlite"),
        )
    else:
        schema, store_url, projection_url = request.getfixturevalue("pg_schema"), PG_DSN, PG_URL
    store = CockpitStore.open(StoreSettings.parse(store_url, schema=schema or None))
    engine = open_database(projection_url, schema_name=schema or None)
    try:
        migrate(engine, schema_name=schema or None)
        assert store.bootstrap_root("hash", META)
        total = store.last_notification_id()
        assert total > 9
        done = subprocess.run(
            [sys.executable, "-c", KILLED_PROJECTOR, store_url, schema, projection_url],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert done.returncode == -signal.SIGKILL, done.stderr
        projector = AuditProjector(store, engine, batch_size=3)
        assert projector.position() == 6 and len(audit_rows(engine)) == 6
        assert projector.catch_up() == total - 6
        assert sorted(r["store_notification_id"] for r in audit_rows(engine)) == list(range(1, total + 1))
    finally:
        store.close()
        engine.dispose()
