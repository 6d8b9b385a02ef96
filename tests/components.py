"""A test that needs a real component (PostgreSQL, the Kafka broker, a test library) and finds it
missing: in CI (CI=true) it fails, elsewhere it is skipped with the reason (house rule 2)."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)
