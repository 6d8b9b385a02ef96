"""The API tests' databases: the Cockpit store and the projection on SQLite files, or both in a fresh
schema of the real PostgreSQL (dropped after the test). Tests that take the `backend` fixture run on
both — the same contract on each backend; in CI a missing PostgreSQL fails them."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from js7es.journal.cockpit.settings import StoreSettings
from js7es.journal.cockpit.store import CockpitStore
from js7es.projections.cockpit.database import migrate, open_database, sqlite_url
from tests.cockpit.conftest import PG_DSN, PG_URL, drop_schema, require_postgres


@dataclass
class Backend:
    kind: str
    store: CockpitStore
    engine: Engine


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    schema_name = None
    if request.param == "postgres":
        require_postgres()
        schema_name = f"joc_api_{os.getpid()}_{secrets.token_hex(4)}"
        engine = open_database(PG_URL, schema_name=schema_name)
        migrate(engine, schema_name=schema_name)
        store = CockpitStore.open(StoreSettings.parse(PG_DSN, schema=schema_name))
    else:
        engine = open_database(sqlite_url(tmp_path / "projection.sqlite"))
        migrate(engine)
        store = CockpitStore.open(StoreSettings.default_sqlite(tmp_path))
    try:
        yield Backend(request.param, store, engine)
    finally:
        store.close()
        engine.dispose()
        if schema_name is not None:
            drop_schema(schema_name)
