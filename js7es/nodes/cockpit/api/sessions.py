"""Cockpit sessions: JOC's access tokens, idle timeout, and the throttle of failed logins.

A token is 128 random bits written as a UUID (JOC's tokens look like UUIDs; clients treat them as
opaque). Only its SHA-256 is held (and never logged), so that a leaked session table gives no token —
the Cockpit cluster will keep this table in the database. A session idle for longer than the timeout
(the identity-service setting `idle_session_timeout`, default 30 min) is expired: its token answers
440 (JOC's "Login Timeout") for a day after, then 401 like an unknown one.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

EXPIRED_REMEMBERED_S = 24 * 3600.0


def new_token() -> str:
    return str(uuid.UUID(bytes=secrets.token_bytes(16)))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(slots=True, kw_only=True)
class Session:
    id: str  # the token's hash: also the session's id in /iam/sessions
    account: str
    identity_service: str
    roles: tuple[str, ...]
    created_ms: int
    last_ms: int  # wall clock of the last request (for /iam/sessions)
    last_monotonic: float
    caller_ip: str | None = None
    force_password_change: bool = False
    selected_controller: str | None = None


class Sessions:
    """The open sessions of this Cockpit (thread-safe: handlers run some work in threads)."""

    def __init__(
        self,
        idle_timeout_s: Callable[[], float],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self._idle_timeout_s = idle_timeout_s
        self._monotonic = monotonic
        self._wall_ms = wall_ms
        self._open: dict[str, Session] = {}
        self._expired: dict[str, float] = {}
        self._lock = threading.Lock()

    def idle_timeout_s(self) -> float:
        return self._idle_timeout_s()

    def open(
        self,
        *,
        account: str,
        identity_service: str,
        roles: Iterable[str],
        caller_ip: str | None,
        force_password_change: bool = False,
    ) -> tuple[str, Session]:
        token = new_token()
        now = self._wall_ms()
        session = Session(
            id=token_hash(token),
            account=account,
            identity_service=identity_service,
            roles=tuple(roles),
            created_ms=now,
            last_ms=now,
            last_monotonic=self._monotonic(),
            caller_ip=caller_ip,
            force_password_change=force_password_change,
        )
        with self._lock:
            self._open[session.id] = session
        return token, session

    def get(self, token: str) -> Session | Literal["expired"] | None:
        """The session of `token`, touched; "expired" when it timed out; None when unknown."""
        key = token_hash(token)
        now = self._monotonic()
        with self._lock:
            self._sweep(now)
            if key in self._expired:
                return "expired"
            session = self._open.get(key)
            if session is None:
                return None
            session.last_monotonic = now
            session.last_ms = self._wall_ms()
            return session

    def close(self, session_id: str) -> bool:
        with self._lock:
            return self._open.pop(session_id, None) is not None

    def close_account(self, account: str) -> int:
        """Ends every session of `account` (removed, disabled, blocked, or its password changed by another)."""
        with self._lock:
            ids = [s.id for s in self._open.values() if s.account == account]
            for i in ids:
                del self._open[i]
            return len(ids)

    def sessions(self) -> list[Session]:
        with self._lock:
            self._sweep(self._monotonic())
            return list(self._open.values())

    def _sweep(self, now: float) -> None:
        timeout = self._idle_timeout_s()
        for key in [k for k, s in self._open.items() if now - s.last_monotonic > timeout]:
            del self._open[key]
            self._expired[key] = now
        for key in [k for k, at in self._expired.items() if now - at > EXPIRED_REMEMBERED_S]:
            del self._expired[key]


@dataclass(slots=True)
class _Failures:
    times: deque[float] = field(default_factory=deque)


class LoginThrottle:
    """Failed logins per account and per address within a window: each failure answers later
    (`delay_s`, doubling up to `max_delay_s`), and past `max_failures` the key is locked out for the
    rest of the window — also for the right password, so that guessing is slow either way."""

    def __init__(
        self,
        *,
        window_s: float = 900.0,
        max_failures_per_account: int = 10,
        max_failures_per_address: int = 30,
        first_delay_s: float = 0.25,
        max_delay_s: float = 4.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.max_failures = {"account": max_failures_per_account, "address": max_failures_per_address}
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self._monotonic = monotonic
        self._failures: dict[tuple[str, str], _Failures] = {}
        self._lock = threading.Lock()

    def _count(self, kind: str, key: str, now: float) -> int:
        entry = self._failures.get((kind, key))
        if entry is None:
            return 0
        while entry.times and now - entry.times[0] > self.window_s:
            entry.times.popleft()
        if not entry.times:
            del self._failures[(kind, key)]
            return 0
        return len(entry.times)

    def locked_out(self, account: str, address: str) -> bool:
        now = self._monotonic()
        with self._lock:
            return (
                self._count("account", account, now) >= self.max_failures["account"]
                or self._count("address", address, now) >= self.max_failures["address"]
            )

    def failed(self, account: str, address: str) -> float:
        """Records a failure; the delay to wait before answering it."""
        now = self._monotonic()
        with self._lock:
            for kind, key in (("account", account), ("address", address)):
                self._failures.setdefault((kind, key), _Failures()).times.append(now)
            n = max(self._count("account", account, now), self._count("address", address, now))
        return float(min(self.max_delay_s, self.first_delay_s * 2 ** (n - 1)))

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(("account", account), None)
