"""Internal accounts' passwords: argon2id (argon2-cffi) at its recommended cost (RFC 9106's second
recommendation, argon2-cffi's default profile: 3 passes over 64 MiB, 4 lanes).

`verify` of an unknown account still runs one argon2 verification against a fixed hash, so that the
answer's timing does not tell which account names exist.

TEST ONLY: with ``JS7ES_TEST_MODE=1`` and ``JS7ES_TEST_PASSWORD_HASHING=cheapest`` new hashes use
argon2-cffi's CHEAPEST profile (still argon2id; a hash keeps its parameters, so verifying either kind
works). The test suite logs in thousands of times; at 0.1-0.3 s per hash that was minutes of its run.
Without the test mode the variable is ignored with a warning, like the test clock.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from js7es.nodes.clock import TEST_MODE_VARIABLE

log = logging.getLogger(__name__)
TEST_HASHING_VARIABLE = "JS7ES_TEST_PASSWORD_HASHING"


def _hasher() -> PasswordHasher:
    if os.environ.get(TEST_HASHING_VARIABLE) == "cheapest":
        if os.environ.get(TEST_MODE_VARIABLE) == "1":
            return PasswordHasher.from_parameters(profiles.CHEAPEST)
        log.warning("%s is ignored without %s=1 (tests only)", TEST_HASHING_VARIABLE, TEST_MODE_VARIABLE)
    return PasswordHasher()


_HASHER = _hasher()


@functools.cache
def _dummy() -> str:
    """Made at the first login of an unknown account, not at import (the standalone's start hashes once)."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_password() -> str:
    """A random password for a new root account (printed once): 20 URL-safe characters, ~120 bits."""
    return secrets.token_urlsafe(15)
