"""Internal accounts' passwords: argon2id at its recommended cost, the cheap profile only in test mode."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from js7es.nodes.cockpit.api import passwords

HASH_IN_A_FRESH_PROCESS = "from js7es.nodes.cockpit.api.passwords import hash_password; print(hash_password('pw'))"


def _hash_with(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("JS7ES_TEST_MODE", "JS7ES_TEST_PASSWORD_HASHING")}
    done = subprocess.run(
        [sys.executable, "-c", HASH_IN_A_FRESH_PROCESS],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    "env",
    [{}, {"JS7ES_TEST_PASSWORD_HASHING": "cheapest"}, {"JS7ES_TEST_MODE": "1", "JS7ES_TEST_PASSWORD_HASHING": "x"}],
    ids=["plain", "cheap-without-test-mode", "other-value"],
)
def test_a_deployment_hashes_at_the_recommended_cost(env: dict[str, str]) -> None:
    assert _hash_with(**env).startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_the_test_mode_hashes_cheaply_and_either_kind_verifies() -> None:
    cheap = _hash_with(JS7ES_TEST_MODE="1", JS7ES_TEST_PASSWORD_HASHING="cheapest")
    assert cheap.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    recommended = _hash_with()
    assert passwords.verify(cheap, "pw") and passwords.verify(recommended, "pw")
    assert not passwords.verify(cheap, "other") and not passwords.verify(recommended, "other")
