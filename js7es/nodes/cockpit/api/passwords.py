"""Internal accounts' passwords: argon2id (argon2-cffi) at its recommended cost (RFC 9106's second
recommendation, argon2-cffi's default profile: 3 passes over 64 MiB, 4 lanes).

`verify` of an unknown account still runs one argon2 verification against a fixed hash, so that the
answer's timing does not tell which account names exist.
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()


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
