"""The Cockpit store's contract on the library's in-memory recorder, an SQLite file, and the real
PostgreSQL server (a fresh schema per test, holding the store's table and the projections' tables,
dropped afterwards; CI=true fails without PostgreSQL)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.popo import POPOApplicationRecorder
from sqlalchemy.engine import Engine

from js7es.journal.cockpit.settings import StoreSettings
from js7es.journal.cockpit.store import CockpitStore
from js7es.projections.cockpit.database import migrate, open_database, sqlite_url
from tests.cockpit.conftest import PG_DSN, PG_URL, drop_schema, require_postgres
from tests.cockpit.store_contract import StoreContract, StoreFactory


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
