"""The durable recorders of the Cockpit store: the library's SQLite and PostgreSQL application recorders,
on a table of ours (settings.table), created when missing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteConnection, SQLiteConnectionPool, SQLiteDatastore

from js7es.journal.cockpit.fence import Fence
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


def open_postgres(
    settings: StoreSettings, fence: Fence | None = None
) -> tuple[ApplicationRecorder, Callable[[], None]]:
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
        # a member stopped inside a transaction (SIGSTOP) must not hold the lease row's share lock for long
        idle_in_transaction_session_timeout=settings.idle_in_transaction_timeout_s,
    )
    if settings.schema:
        with datastore.transaction(commit=True) as cursor:
            cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{settings.schema}"')
    if fence is None:
        recorder = PostgresApplicationRecorder(datastore, events_table_name=settings.table)
    else:
        recorder = _fenced_recorder(PostgresApplicationRecorder)(datastore, events_table_name=settings.table)
        recorder.fence = fence
    recorder.create_table()
    return recorder, datastore.close


def _fenced_recorder(base: Any) -> Any:
    """The library's PostgreSQL recorder, whose appends run the fence's statement first, in their own
    transaction (fence.py): a standby appends nothing (NotActive), a stale member's append is refused by
    the database (Fenced), with none of its events stored."""

    class FencedPostgresApplicationRecorder(base):  # type: ignore[misc]
        fence: Fence

        def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
            statement = self.fence.statement()
            try:
                return super().insert_events(stored_events, js7es_fence=statement, **kwargs)  # type: ignore[no-any-return]
            except Exception as e:
                refused = self.fence.refused(e, statement[1][1])
                if refused is not None:
                    raise refused from e
                raise

        def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
            statement = kwargs.get("js7es_fence")
            if statement is not None:
                curs.execute(statement[0], statement[1])
                # Its result now: in the library's pipeline mode the fence's refusal would otherwise come
                # back only as "pipeline aborted" at the pipeline's end, without its SQLSTATE (found by the
                # suite under load); fetching syncs the pipeline and raises the database's own error.
                curs.fetchall()
            super()._insert_events(curs, stored_events, **kwargs)

    return FencedPostgresApplicationRecorder
