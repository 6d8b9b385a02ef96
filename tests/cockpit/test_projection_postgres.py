"""The projection contract on the real PostgreSQL server (a fresh schema per test; fails in CI without it)."""

import pytest
from sqlalchemy.engine import Engine

from js7es.projections.cockpit.batch import Batch
from js7es.projections.cockpit.projector import Projector
from js7es.projections.cockpit.rebuild import rebuild
from js7es.projections.cockpit.writers import CopyWriter, ExecutemanyWriter
from tests.cockpit.conftest import DatabaseFactory
from tests.cockpit.contract import C1, ProjectionContract
from tests.cockpit.rebuild_contract import RebuildContract
from tests.cockpit.support import simulated_history


class TestPostgresProjection(ProjectionContract, RebuildContract):
    @pytest.fixture
    def make_database(self, postgres_database: DatabaseFactory) -> DatabaseFactory:
        return postgres_database

    def test_only_a_rebuild_copies_and_commits_asynchronously(
        self, engine: Engine, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seen: list[tuple[str, str]] = []
        backends: list[int] = []
        original = Batch._write

        def write(self: Batch) -> None:
            setting = self.connection.exec_driver_sql("SHOW synchronous_commit").scalar()
            seen.append((type(self.writer).__name__, str(setting)))
            backends.append(int(self.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() or 0))
            original(self)

        monkeypatch.setattr(Batch, "_write", write)
        events = simulated_history(3)
        half = len(events) // 2
        rebuild(Projector(engine), C1, iter(events[:half]), batch_size=40)
        rebuilt = len(seen)
        Projector(engine).apply(C1, events[half:])  # the live path, on the same pooled connection
        assert rebuilt >= 2
        assert set(seen[:rebuilt]) == {(CopyWriter.__name__, "off")}
        assert seen[rebuilt:] == [(ExecutemanyWriter.__name__, "on")]
        assert backends[-1] in backends[:rebuilt]  # SET LOCAL: gone with the rebuild's transactions
