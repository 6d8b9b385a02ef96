"""What every query shares: connections, JOC's dates and paths, folder restrictions and globs in SQL.

Paths: the Controller knows a workflow by its name (JS7's, e.g. ``W``; a Controller fed otherwise may
also hold a path with folders, ``/a/b/W`` or ``a/b/W``), and the projected rows carry what it knows. The
folder is the Cockpit inventory's knowledge: `deployed_objects` (projections/cockpit/deployed.py) says
where a workflow deployed through the inventory lives. `WorkflowPaths` LEFT JOINs it to a table on
(controller_id, "WORKFLOW", name) and gives the JOC path in SQL: the deployed path, or without a row the
stored name made absolute (``W`` → ``/W``, as `joc_path` does in Python). Path filters work on that
expression beside the name column; a folder restriction first looks up the workflows deployed in the
folders and filters the name column by them (`WorkflowPaths.in_folders`). The join is one primary-key
lookup per row read, so the paging queries stay index range scans on their own table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeAlias

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from js7es.projections.cockpit import schema

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


WORKFLOW = "WORKFLOW"


class WorkflowPaths:
    """The JOC path of the workflow a row of `table` names (`name`, the Controller's workflow path column):
    `joined` is the table LEFT JOINed with its deployed_objects row, `path` the JOC path as SQL."""

    def __init__(self, table: sa.Table, name: sa.ColumnElement[str]) -> None:
        deployed = schema.deployed_objects.alias(f"deployed_{table.name}")
        self.deployed = deployed
        self.table = table
        self.name = name
        self.joined = table.outerjoin(
            deployed,
            sa.and_(
                deployed.c.controller_id == table.c.controller_id,
                deployed.c.object_type == sa.literal_column(f"'{WORKFLOW}'", sa.String),
                deployed.c.name == name,
            ),
        )
        # without bound parameters, so that the same expression may be grouped by on PostgreSQL
        slash = sa.literal_column("'/'", sa.String)
        absolute = sa.case((name.like(sa.literal_column("'/%'", sa.String)), name), else_=slash + name)
        self.path: ColumnElement[str] = sa.func.coalesce(deployed.c.path, absolute, type_=sa.String)

    def label(self) -> sa.Label[str]:
        return self.path.label("joc_path")

    def in_folders(
        self, c: Connection, folders: Folders | None, controller_ids: Sequence[str] | None = None
    ) -> ColumnElement[bool]:
        """The rows whose workflow lies in `folders` (`folder_clause`'s rules on the JOC path).

        Not a filter on the joined path expression: the planner cannot estimate that one (PostgreSQL took
        it for very selective and left the paging index for a sequential scan). The workflows deployed in
        the folders are looked up first (deployed_objects is small), so that the filter is the stored name
        IN a list, which the column's statistics measure. A name of deployed_objects never holds a "/", so
        a stored path with folders (a Controller fed otherwise) has no row and is matched as it is, and a
        bare name without a row lies in "/"."""
        if folders is None:
            return sa.true()
        if any(normal_folder(f) == "/" and recursive for f, recursive in folders):
            return sa.true()
        d = schema.deployed_objects
        query = sa.select(d.c.controller_id, d.c.name).where(
            d.c.object_type == WORKFLOW, folder_clause(d.c.path, folders)
        )
        if controller_ids is not None:
            query = query.where(d.c.controller_id.in_(sorted(set(controller_ids))))
        names: dict[str, list[str]] = {}
        for controller_id, name in c.execute(query.order_by(d.c.controller_id, d.c.name)):
            names.setdefault(controller_id, []).append(name)
        clauses = [
            sa.and_(self.table.c.controller_id == controller_id, self.name.in_(deployed))
            for controller_id, deployed in names.items()
        ]
        elsewhere = [(f, r) for f, r in folders if normal_folder(f) != "/"]
        if elsewhere:
            clauses.append(folder_clause(self.name, elsewhere))
        if len(elsewhere) < len(folders):  # "/" itself: the names without a row
            root = folder_clause(self.name, [("/", False)])
            clauses.append(sa.and_(root, self.deployed.c.path.is_(None)))
        return sa.or_(*clauses) if clauses else sa.false()

    def is_any(self, paths: Sequence[str]) -> ColumnElement[bool]:
        """The workflows `paths` name: a path with folders (``/a/b/W``) must be the JOC path, a bare name
        (``W`` or ``/W``) is the Controller's name, whatever its folder (JS7 names are unique). The
        condition on the name column comes first, so that an index on it serves."""
        bare: set[str] = set()
        clauses: list[ColumnElement[bool]] = []
        for p in sorted(set(paths)):
            plain = _plain(p)
            if "/" in plain:
                candidates = [plain.rsplit("/", 1)[-1], plain, "/" + plain]
                clauses.append(sa.and_(self.name.in_(candidates), self.path == "/" + plain))
            else:
                bare.update((plain, "/" + plain))
        if bare:
            clauses.insert(0, self.name.in_(sorted(bare)))
        return sa.or_(*clauses) if clauses else sa.false()

    def matches(self, path_or_glob: str) -> ColumnElement[bool]:
        """JOC's workflowPath filter: a path or glob with folders matches the JOC path; without a ``/``
        inside, the name (either stored form)."""
        plain = _plain(path_or_glob)
        if "/" in plain:
            if not is_glob(plain):
                return self.is_any([plain])
            return text_clause(self.path, "/" + plain)
        return sa.or_(text_clause(self.name, "/" + plain), text_clause(self.name, plain))


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
