"""The Cockpit's database: an SQLite file (the embedded default) or PostgreSQL through psycopg.

`open_database(url, schema=)` gives an Engine set up for the projection's write pattern:

- SQLite: WAL, ``synchronous=FULL`` (a commit survives power loss, as the journal's do), and every
  transaction begins with ``BEGIN IMMEDIATE``: the writer holds the lock from its first read of the
  stored EventId, so two writers cannot both apply the same batch; a connection with the execution
  option `READ_ONLY` begins a deferred (reading) transaction instead, which does not wait for the writer;
- PostgreSQL: ``postgresql+psycopg://`` URLs; an optional schema (created by `migrate`) is put on the
  search_path of every connection, so tests and tenants can share one database.

`migrate` applies the Alembic revisions (migrations/versions) up to the newest one.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from js7es.journal.cockpit.fence import Fence
from js7es.projections.cockpit import schema

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def open_database(
    url: str, *, schema_name: str | None = None, pool_size: int = 4, idle_in_transaction_timeout_s: float = 0
) -> Engine:
    """An Engine for `url` (``sqlite:///FILE`` or ``postgresql+psycopg://user@host:port/db``);
    `idle_in_transaction_timeout_s` (PostgreSQL): the server ends a session idle inside a transaction
    that long (a Cockpit cluster member stopped mid-transaction must not hold the lease's share lock)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        if schema_name:
            raise ValueError("database.schema is for PostgreSQL only")
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        _sqlite_setup(engine)
        return engine
    if not url.startswith("postgresql+psycopg://"):
        raise ValueError(f"unsupported database URL {url!r}: use sqlite:///FILE or postgresql+psycopg://…")
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    options = []
    if schema_name:
        if not schema_name.replace("_", "").isalnum():
            raise ValueError(f"database.schema {schema_name!r}: letters, digits and _ only")
        options.append(f"-c search_path={schema_name}")
    if idle_in_transaction_timeout_s:
        options.append(f"-c idle_in_transaction_session_timeout={int(idle_in_transaction_timeout_s * 1000)}")
    if options:
        connect_args["options"] = " ".join(options)
    return sa.create_engine(url, connect_args=connect_args, pool_size=pool_size, pool_pre_ping=True)


# A connection's execution option: its transactions only read (SQLite: a deferred BEGIN, no write lock).
READ_ONLY = "js7es_read_only"
# A connection's execution option: its writes are shared by every member of a Cockpit cluster (the sessions),
# not the active's alone: no fence (fence_engine).
UNFENCED = "js7es_unfenced"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we begin transactions ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")  # a WAL reader: its snapshot, not waiting for the writer
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def fence_engine(engine: Engine, fence: Fence) -> None:
    """Every transaction on `engine` that is neither READ_ONLY nor UNFENCED runs the fence's statement first
    (fence.py): on a standby it fails with NotActive before touching the database, and a stale member's
    transaction is refused by the database (Fenced) before any of its writes. PostgreSQL only."""
    if is_sqlite(engine):
        raise ValueError("a Cockpit cluster needs PostgreSQL: SQLite is single-instance")

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(READ_ONLY) or options.get(UNFENCED):
            return
        sql, parameters = fence.statement()
        try:
            connection.exec_driver_sql(sql, parameters)
        except sa.exc.DBAPIError as e:
            refused = fence.refused(e, parameters[1])
            if refused is not None:
                raise refused from e
            raise


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine, *, schema_name: str | None = None) -> str:
    """Apply every migration not yet applied; returns the revision the database is at."""
    with engine.begin() as connection:
        if schema_name and not is_sqlite(engine):
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema_name}"')
        command.upgrade(_alembic_config(connection), "head")
    return current_revision(engine) or ""


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None
    return head


def reset_controller(connection: Connection, controller_id: str) -> None:
    """Delete one Controller's read model (for a rebuild); other Controllers' rows stay."""
    for table in schema.PROJECTED_TABLES:
        connection.execute(table.delete().where(table.c.controller_id == controller_id))


def drop_everything(engine: Engine) -> None:
    """Drop every table, the audit log and Alembic's version table included (tests and `--drop`)."""
    with engine.begin() as connection:
        schema.metadata.drop_all(connection)
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        if not is_sqlite(connection):
            connection.exec_driver_sql("DROP FUNCTION IF EXISTS joc_cluster_fence(text, bigint)")


# ---------------------------------------------------------------------------------------------------
# reading


def stored_event_id(engine: Engine, controller_id: str) -> int:
    with engine.connect() as connection:
        value = connection.execute(
            sa.select(schema.controllers.c.event_id).where(schema.controllers.c.controller_id == controller_id)
        ).scalar()
    return int(value or 0)


def _canonical(value: Any) -> Any:
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, bool):
        return int(value)
    return value


def table_rows(connection: Connection, table: sa.Table, controller_id: str) -> Iterator[tuple[Any, ...]]:
    primary = list(table.primary_key.columns)
    query = sa.select(*table.columns).where(table.c.controller_id == controller_id).order_by(*primary)
    for row in connection.execute(query):
        yield tuple(_canonical(v) for v in row)


def table_digests(engine: Engine, controller_id: str) -> dict[str, str]:
    """SHA-256 of every projected table's rows of one Controller, in primary key order, plus the count:
    equal digests mean equal tables (the live projection against a rebuild)."""
    result: dict[str, str] = {}
    with engine.connect() as connection:
        for table in schema.PROJECTED_TABLES:
            digest = hashlib.sha256()
            count = 0
            for row in table_rows(connection, table, controller_id):
                digest.update(json.dumps(row, separators=(",", ":"), default=str).encode())
                digest.update(b"\n")
                count += 1
            result[table.name] = f"{count}:{digest.hexdigest()}"
    return result


def read_task_log(engine: Engine, controller_id: str, step_event_id: int) -> Iterator[tuple[str, str]]:
    """(stream, text) pieces of a task's log in order, decompressed one chunk at a time; works while the
    task still runs (what is committed so far)."""
    table = schema.task_logs
    query = (
        sa.select(table.c.stream, table.c.data)
        .where(table.c.controller_id == controller_id, table.c.step_event_id == step_event_id)
        .order_by(table.c.event_id)
    )
    with engine.connect() as connection:
        for stream, data in connection.execute(query).yield_per(100):
            yield stream, zlib.decompress(data).decode("utf-8", errors="replace")


def count_orders_by_state(engine: Engine, controller_id: str) -> dict[str, int]:
    table = schema.orders
    query = (
        sa.select(table.c.state, sa.func.count())
        .where(table.c.controller_id == controller_id)
        .group_by(table.c.state)
        .order_by(table.c.state)
    )
    with engine.connect() as connection:
        return {str(state): int(n) for state, n in connection.execute(query)}
