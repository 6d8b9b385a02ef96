"""Where the Cockpit's store lives, parsed once (`StoreSettings.parse`).

- ``memory:`` — the library's in-memory (POPO) recorder, for tests;
- ``sqlite:///PATH`` — an SQLite file of its own (the default is ``<data-dir>/cockpit-store.sqlite``,
  beside, not in, the projections' file: the two writers would contend for one write lock);
- ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE`` (or ``postgresql+psycopg://``) — the database of
  the projections, in tables of its own, in `schema` when given (created if missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_TABLE = "cockpit_store_events"  # the events table (notification ids are its total order)
DEFAULT_FILE_NAME = "cockpit-store.sqlite"


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreSettings:
    url: str
    schema: str | None = None  # PostgreSQL only
    table: str = DEFAULT_TABLE
    lock_timeout_s: int = 10  # how long an append waits for another writer's lock
    poll_interval_s: float = 0.5  # how often `wait` looks for other writers' events
    idle_in_transaction_timeout_s: float = 0  # PostgreSQL ends a session idle inside a transaction this long (0: never)

    @staticmethod
    def parse(url: str, *, schema: str | None = None) -> StoreSettings:
        settings = StoreSettings(url=url, schema=schema or None)
        settings.kind  # noqa: B018 - fails fast on a URL of no known kind
        if schema and settings.kind != "postgresql":
            raise ValueError("the Cockpit store's schema is for PostgreSQL only")
        if schema and not schema.replace("_", "").isalnum():
            raise ValueError(f"schema {schema!r}: letters, digits and _ only")
        return settings

    @staticmethod
    def default_sqlite(data_dir: Path) -> StoreSettings:
        return StoreSettings(url=f"sqlite:///{data_dir / DEFAULT_FILE_NAME}")

    @property
    def kind(self) -> str:
        if self.url == "memory:":
            return "memory"
        if self.url.startswith("sqlite:///"):
            return "sqlite"
        if self.url.startswith(("postgresql://", "postgresql+psycopg://")):
            return "postgresql"
        raise ValueError(f"unsupported Cockpit store URL {self.url!r}: memory:, sqlite:///FILE or postgresql://…")

    @property
    def sqlite_path(self) -> str:
        return self.url[len("sqlite:///") :]

    def postgres_params(self) -> dict[str, str | int]:
        parts = urlsplit(self.url.replace("postgresql+psycopg://", "postgresql://", 1))
        return {
            "dbname": parts.path.lstrip("/"),
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 5432,
            "user": unquote(parts.username or "postgres"),
            "password": unquote(parts.password or ""),
        }
