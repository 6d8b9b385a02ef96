"""What every query shares: connections, JOC's dates and paths, folder restrictions and globs in SQL.

Paths: the Controller knows a workflow by its path as deployed (JS7's name, e.g. ``W``, or a path
with folders, ``/a/b/W`` or ``a/b/W``); JOC shows absolute paths. `joc_path` gives the absolute form,
and `folder_clause` / `path_clause` match both stored forms, so either deployment style works.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeAlias

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

Db: TypeAlias = Connection | Engine
Folders: TypeAlias = Sequence[tuple[str, bool]]  # (folder, recursive)

ESCAPE = "\\"
# JOC's default and the meaning of -1 for `limit` (ordersFilter-schema.json, jobsFilter-schema.json)
DEFAULT_LIMIT = 10000
# JS7's "never" (JobSchedulerDate.NEVER_MILLIS, 9999-12-31T23:59:59Z): a PENDING order's scheduledFor
NEVER_MS = 253402300799000


@contextmanager
def connected(db: Db) -> Iterator[Connection]:
    """A connection for reading: `db` itself, or a new one from the Engine, closed afterwards."""
    if isinstance(db, Connection):
        yield db
        return
    with db.connect() as connection:
        yield connection


def joc_date(epoch_ms: int | None) -> str | None:
    """JOC's date: ISO 8601 in UTC with milliseconds, e.g. 2026-12-06T09:31:34.123Z."""
    if epoch_ms is None:
        return None
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def joc_path(path: str) -> str:
    """The absolute path JOC shows: ``W`` → ``/W``."""
    return path if path.startswith("/") else "/" + path


def _plain(path: str) -> str:
    return path[1:] if path.startswith("/") else path


def escape_like(text: str) -> str:
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def glob_to_like(glob: str) -> str:
    """JOC's glob (glob-schema.json: ``*`` any characters, ``?`` one) as a LIKE pattern with `ESCAPE`."""
    return escape_like(glob).replace("*", "%").replace("?", "_")


def is_glob(text: str) -> bool:
    return "*" in text or "?" in text


def text_clause(column: sa.ColumnElement[str], value: str) -> ColumnElement[bool]:
    """JOC's rule for orderId/workflowPath filters: a glob if it has ``*`` or ``?``, else equality."""
    if is_glob(value):
        return column.like(glob_to_like(value), escape=ESCAPE)
    return column == value


def path_clause(column: sa.ColumnElement[str], path_or_glob: str) -> ColumnElement[bool]:
    """A workflow path filter (absolute as JOC gives it, or a name) against both stored forms."""
    plain = _plain(path_or_glob)
    return sa.or_(text_clause(column, "/" + plain), text_clause(column, plain))


def paths_in(column: sa.ColumnElement[str], paths: Sequence[str]) -> ColumnElement[bool]:
    plain = sorted({_plain(p) for p in paths})
    return column.in_(plain + ["/" + p for p in plain])


def normal_folder(folder: str) -> str:
    stripped = "/" + folder.strip("/")
    return stripped


def folder_clause(column: sa.ColumnElement[str], folders: Folders | None) -> ColumnElement[bool]:
    """The objects whose path lies in one of `folders` (JOC's folder-schema.json: folder, recursive):
    ``/x`` recursive matches ``/x/...`` at any depth but not ``/xy``; not recursive, only what is
    directly in ``/x``. None = unrestricted; an empty list matches nothing."""
    if folders is None:
        return sa.true()
    clauses: list[ColumnElement[bool]] = []
    for folder, recursive in folders:
        name = normal_folder(folder)
        if name == "/":
            if recursive:
                return sa.true()
            clauses.append(
                sa.or_(
                    sa.not_(column.like("%/%")),
                    sa.and_(column.like("/%"), sa.not_(column.like("/%/%"))),
                )
            )
            continue
        for prefix in (escape_like(name) + "/", escape_like(name[1:]) + "/"):
            inside = column.like(prefix + "%", escape=ESCAPE)
            clauses.append(
                inside if recursive else sa.and_(inside, sa.not_(column.like(prefix + "%/%", escape=ESCAPE)))
            )
    return sa.or_(*clauses) if clauses else sa.false()


def effective_limit(limit: int | None) -> int | None:
    """JOC's `limit`: absent = 10000, -1 (any negative) = unlimited (None)."""
    if limit is None:
        return DEFAULT_LIMIT
    return None if limit < 0 else limit
