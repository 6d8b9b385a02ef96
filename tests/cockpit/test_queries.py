"""The queries' contract on an SQLite file and on the real PostgreSQL server."""

import pytest

from tests.cockpit.conftest import DatabaseFactory
from tests.cockpit.queries_contract import QueriesContract


class TestSqliteQueries(QueriesContract):
    @pytest.fixture
    def make_database(self, sqlite_database: DatabaseFactory) -> DatabaseFactory:
        return sqlite_database


class TestPostgresQueries(QueriesContract):
    @pytest.fixture
    def make_database(self, postgres_database: DatabaseFactory) -> DatabaseFactory:
        return postgres_database
