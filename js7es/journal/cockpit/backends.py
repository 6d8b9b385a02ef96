"""The durable recorders of the Cockpit store: the library's SQLite and PostgreSQL application recorders,
on a table of ours (settings.table), created when missing."""

from __future__ import annotations

from collections.abc import Callable

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteConnection, SQLiteConnectionPool, SQLiteDatastore

from js7es.journal.cockpit.settings import StoreSettings


class _DurableSQLitePool(SQLiteConnectionPool):
    """The library leaves SQLite's WAL at synchronous=NORMAL (a power loss may lose the last commits);
    an audit trail is kept as the journals are: synchronous=FULL."""

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=FULL")
        return connection


def open_sqlite(settings: StoreSettings) -> tuple[ApplicationRecorder, Callable[[], None]]:
    path = settings.sqlite_path
    datastore = SQLiteDatastore(path, lock_timeout=settings.lock_timeout_s)
    datastore.pool.close()
    datastore.pool = _DurableSQLitePool(db_name=path, lock_timeout=settings.lock_timeout_s)
    recorder = SQLiteApplicationRecorder(datastore, events_table_name=settings.table)
    recorder.create_table()
    return recorder, datastore.close


def open_postgres(settings: StoreSettings) -> tuple[ApplicationRecorder, Callable[[], None]]:
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    params = settings.postgres_params()
    datastore = PostgresDatastore(
        str(params["dbname"]),
        str(params["host"]),
        int(params["port"]),
        str(params["user"]),
        str(params["password"]),
        schema=settings.schema or "",
        lock_timeout=settings.lock_timeout_s,
        pool_size=2,
        max_overflow=4,
    )
    if settings.schema:
        with datastore.transaction(commit=True) as cursor:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{settings.schema}"')
    recorder = PostgresApplicationRecorder(datastore, events_table_name=settings.table)
    recorder.create_table()
    return recorder, datastore.close
