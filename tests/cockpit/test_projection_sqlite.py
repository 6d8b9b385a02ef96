"""The projection contract on an SQLite file."""

import pytest

from tests.cockpit.conftest import DatabaseFactory
from tests.cockpit.contract import ProjectionContract
from tests.cockpit.rebuild_contract import RebuildContract


class TestSqliteProjection(ProjectionContract, RebuildContract):
    @pytest.fixture
    def make_database(self, sqlite_database: DatabaseFactory) -> DatabaseFactory:
        return sqlite_database
