"""The projection contract on the real PostgreSQL server (a fresh schema per test; fails in CI without it)."""

import pytest

from tests.cockpit.conftest import DatabaseFactory
from tests.cockpit.contract import ProjectionContract


class TestPostgresProjection(ProjectionContract):
    @pytest.fixture
    def make_database(self, postgres_database: DatabaseFactory) -> DatabaseFactory:
        return postgres_database
