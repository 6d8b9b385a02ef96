"""How a batch's changed rows reach the database: `ExecutemanyWriter` (any database; the live path) or
`CopyWriter` (PostgreSQL, for a rebuild).

Both take whole rows (every column, keys included) and write them inside the caller's transaction, so
the choice changes speed only, never the rows nor the exactly-once commit with the stored EventId.

`CopyWriter` streams new rows with a binary COPY straight into the table, and rows written by an
earlier batch with a binary COPY into a temporary table followed by one ``UPDATE … FROM`` per table.
Against an executemany (one statement per row: an executor start and an index probe each — on a
table without statistics the probe may even go through an index on controller_id alone and filter
all of the Controller's rows — besides SQLAlchemy's parameters per row on the client) that is one
statement per table, which the server reads while the client still formats the next rows.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Connection

Row = dict[str, Any]


class RowWriter(Protocol):
    def insert(self, table: sa.Table, rows: Sequence[Row]) -> None: ...

    def update(self, table: sa.Table, rows: Sequence[Row], keys: tuple[str, ...]) -> None:
        """Rewrite the rows found by `controller_id` and `keys`, every other column from `rows`."""
        ...


class _Statistics:
    """ANALYZE a PostgreSQL table when it grew by a fifth since it was last analyzed (autovacuum's rule),
    so that the live path's per-row UPDATEs keep taking the primary key while the tables fill up, also
    on a server whose autovacuum is off or has not yet come by. Speed only: the rows are the same."""

    def __init__(self) -> None:
        self._grown: dict[tuple[int, str], tuple[int, int]] = {}  # (engine, table) -> (new rows, rows before)

    def inserted(self, connection: Connection, table: sa.Table, count: int) -> None:
        if connection.dialect.name != "postgresql":
            return
        key = (id(connection.engine), table.name)  # one engine per database and schema
        new, base = self._grown.get(key, (0, 0))
        new += count
        if new >= max(1000, base // 5):
            connection.exec_driver_sql(f'ANALYZE "{table.name}"')
            base, new = base + new, 0
        self._grown[key] = (new, base)


_statistics = _Statistics()
# (connection string with its search_path, table) whose statistics a rebuild found in pg_stats
_analyzed: set[tuple[str, str]] = set()


class ExecutemanyWriter:
    """One executemany per table and kind, through SQLAlchemy: small live batches, SQLite."""

    def __init__(self, connection: Connection, controller_id: str) -> None:
        self.connection = connection
        self.cid = controller_id

    def insert(self, table: sa.Table, rows: Sequence[Row]) -> None:
        if rows:
            self.connection.execute(table.insert(), list(rows))
            _statistics.inserted(self.connection, table, len(rows))

    def update(self, table: sa.Table, rows: Sequence[Row], keys: tuple[str, ...]) -> None:
        if not rows:
            return
        statement = table.update().where(
            table.c.controller_id == self.cid, *(table.c[k] == sa.bindparam(f"k_{k}") for k in keys)
        )
        keyed = []
        for row in rows:
            values = {k: v for k, v in row.items() if k != "controller_id" and k not in keys}
            values.update({f"k_{k}": row[k] for k in keys})
            keyed.append(values)
        self.connection.execute(statement, keyed)


class CopyWriter:
    """COPY into the tables, and into temporary tables for updates (PostgreSQL through psycopg)."""

    def __init__(self, connection: Connection, controller_id: str) -> None:
        driver = connection.connection.driver_connection
        assert driver is not None
        self.driver = driver
        self.cid = controller_id

    def insert(self, table: sa.Table, rows: Sequence[Row]) -> None:
        if rows:
            self._copy(sql.Identifier(table.name), table, rows)

    def update(self, table: sa.Table, rows: Sequence[Row], keys: tuple[str, ...]) -> None:
        if not rows:
            return
        columns = [c.name for c in table.columns]
        target, changes = sql.Identifier(table.name), sql.Identifier(f"cockpit_changed_{table.name}")
        with self.driver.cursor() as cursor:
            # LIKE copies the columns and NOT NULL, no index; dropped with the transaction (also on rollback)
            cursor.execute(sql.SQL("CREATE TEMPORARY TABLE {} (LIKE {}) ON COMMIT DROP").format(changes, target))
        self._copy(changes, table, rows)
        with self.driver.cursor() as cursor:
            # Without statistics (a table just created, autovacuum off or not yet run) the planner rates
            # every index that starts with controller_id at one row per Controller and may take
            # any of them for this join, filtering all of the Controller's rows per changed row. With
            # them (controller_id: few values; the keys: unique) it takes the primary key, or a hash
            # join on a small table. Analyzing a table the rebuild has just filled costs milliseconds.
            # Statistics once there stay (emptying a Controller's rows keeps them): asked once per table.
            analyzed = (self.driver.info.dsn, table.name)
            if analyzed not in _analyzed:
                cursor.execute(
                    "SELECT EXISTS (SELECT FROM pg_stats WHERE schemaname = current_schema() AND tablename = %s)",
                    (table.name,),
                )
                if cursor.fetchone()[0]:
                    _analyzed.add(analyzed)  # committed ones (an ANALYZE here may still roll back)
                else:
                    cursor.execute(sql.SQL("ANALYZE {}").format(target))
            cursor.execute(
                sql.SQL("UPDATE {t} AS t SET {sets} FROM {s} AS s WHERE {keys}").format(
                    t=target,
                    s=changes,
                    sets=sql.SQL(", ").join(
                        sql.SQL("{c} = s.{c}").format(c=sql.Identifier(c))
                        for c in columns
                        if c != "controller_id" and c not in keys
                    ),
                    keys=sql.SQL(" AND ").join(
                        sql.SQL("t.{c} = s.{c}").format(c=sql.Identifier(c)) for c in ("controller_id", *keys)
                    ),
                )
            )
            if cursor.rowcount != len(rows):
                raise RuntimeError(f"{table.name}: {cursor.rowcount} rows updated of {len(rows)}")

    def _copy(self, target: sql.Composable, table: sa.Table, rows: Sequence[Row]) -> None:
        columns = [c.name for c in table.columns]
        statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            target, sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        values = operator.itemgetter(*columns)  # a row's values in column order, in C
        with self.driver.cursor() as cursor, cursor.copy(statement) as copy:
            copy.set_types([_binary_type(c) for c in table.columns])
            for row in rows:
                copy.write_row(values(row))


def _binary_type(column: sa.Column[Any]) -> str:
    """The PostgreSQL type a value of `column` is sent as in a binary COPY (the column's own type)."""
    match column.type:
        case sa.BigInteger():
            return "int8"
        case sa.Integer():
            return "int4"
        case sa.Boolean():
            return "bool"
        case sa.LargeBinary():
            return "bytea"
        case sa.String():  # Text too
            return "text"
    raise TypeError(f"{column}: no binary COPY type for {column.type!r}")
