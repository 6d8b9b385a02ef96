"""Databases for the Cockpit tests: an SQLite file per test, and a fresh schema per test on the real
PostgreSQL server of this machine (127.0.0.1:5432, user postgres, database test), dropped afterwards.

Without a reachable PostgreSQL the PostgreSQL tests skip with the reason, except in CI (CI=true),
where they fail: CI must prove both backends.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine

from js7es.projections.cockpit.database import migrate, open_database, sqlite_url
from tests.components import missing

PG_DSN = os.environ.get("JS7ES_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
PG_URL = PG_DSN.replace("postgresql://", "postgresql+psycopg://", 1)


def postgres_unreachable() -> str | None:
    try:
        with psycopg.connect(PG_DSN, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as e:
        return f"PostgreSQL at {PG_DSN} unreachable ({str(e).strip().splitlines()[0]}); start it (scripts/test does)"
    return None


def require_postgres() -> None:
    reason = postgres_unreachable()
    if reason is None:
        return
    missing(f"CI needs PostgreSQL: {reason}" if os.environ.get("CI") == "true" else reason)


def drop_schema(name: str) -> None:
    with psycopg.connect(PG_DSN, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


# A database factory: (kind) -> (engine, url, schema); every engine is migrated and disposed of after the test.
DatabaseFactory = Callable[[], tuple[Engine, str, str | None]]


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[DatabaseFactory]:
    engines: list[Engine] = []

    def make() -> tuple[Engine, str, str | None]:
        url = sqlite_url(tmp_path / f"cockpit-{len(engines)}.sqlite")
        engine = open_database(url)
        migrate(engine)
        engines.append(engine)
        return engine, url, None

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def postgres_database() -> Iterator[DatabaseFactory]:
    require_postgres()
    created: list[tuple[Engine, str]] = []

    def make() -> tuple[Engine, str, str | None]:
        name = f"cockpit_test_{os.getpid()}_{secrets.token_hex(4)}"
        engine = open_database(PG_URL, schema_name=name)
        migrate(engine, schema_name=name)
        created.append((engine, name))
        return engine, PG_URL, name

    yield make
    for engine, name in created:
        engine.dispose()
        drop_schema(name)
