"""Cockpit sessions: JOC's access tokens, idle timeout, and the throttle of failed logins.

A token is 128 random bits written as a UUID (JOC's tokens look like UUIDs; clients treat them as
opaque). Sessions live in the Cockpit's database (table joc_sessions, migration 0010), keyed by the
token's SHA-256: the token itself is neither stored nor logged, so that a leaked session table gives no
token. In a Cockpit cluster every member reads and writes the same rows (unfenced: database.UNFENCED),
so a token from a login on one member works on the others and after a takeover; a logout on any
member ends it everywhere. A session idle for longer than the timeout (the identity-service setting
`idle_session_timeout`, default 30 min; on the wall clock of the members) is expired: its token answers
440 (JOC's "Login Timeout") for a day after, then 401 like an unknown one. A request writes the session's
last use at most once per `TOUCH_WRITE_MS` (the idle time is that much less precise).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from js7es.projections.cockpit.database import READ_ONLY, UNFENCED
from js7es.projections.cockpit.schema import joc_sessions

EXPIRED_REMEMBERED_S = 24 * 3600.0
TOUCH_WRITE_MS = 1000


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
    last_ms: int  # wall clock of the last request (for /iam/sessions and the idle timeout)
    caller_ip: str | None = None
    force_password_change: bool = False
    selected_controller: str | None = None


def _session(row: Any) -> Session:
    return Session(
        id=row.id,
        account=row.account,
        identity_service=row.identity_service,
        roles=tuple(json.loads(row.roles)),
        created_ms=int(row.created_ms),
        last_ms=int(row.last_ms),
        caller_ip=row.caller_ip,
        force_password_change=bool(row.force_password_change),
        selected_controller=row.selected_controller,
    )


class Sessions:
    """The open sessions of this Cockpit (of every member of its cluster), in the database of `engine`."""

    def __init__(
        self,
        engine: Engine,
        idle_timeout_s: Callable[[], float],
        *,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self._reader = engine.execution_options(**{READ_ONLY: True})
        self._writer = engine.execution_options(**{READ_ONLY: False, UNFENCED: True})
        self._idle_timeout_s = idle_timeout_s
        self._wall_ms = wall_ms
        self._swept_ms = 0
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
        selected_controller: str | None = None,
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
            caller_ip=caller_ip,
            force_password_change=force_password_change,
            selected_controller=selected_controller,
        )
        self._sweep(now)
        with self._writer.begin() as connection:
            connection.execute(
                joc_sessions.insert().values(
                    id=session.id,
                    account=account,
                    identity_service=identity_service,
                    roles=json.dumps(list(session.roles)),
                    created_ms=now,
                    last_ms=now,
                    caller_ip=caller_ip,
                    force_password_change=force_password_change,
                    selected_controller=selected_controller,
                    expired_ms=None,
                )
            )
        return token, session

    def get(self, token: str) -> Session | Literal["expired"] | None:
        """The session of `token`, touched; "expired" when it timed out; None when unknown."""
        key = token_hash(token)
        now = self._wall_ms()
        with self._reader.connect() as connection:
            row = connection.execute(sa.select(joc_sessions).where(joc_sessions.c.id == key)).one_or_none()
        if row is None:
            return None
        if row.expired_ms is not None:
            return "expired" if now - row.expired_ms <= EXPIRED_REMEMBERED_S * 1000 else None
        if now - row.last_ms > self._idle_timeout_s() * 1000:
            self._expire(key, now)
            return "expired"
        session = _session(row)
        if now - session.last_ms >= TOUCH_WRITE_MS:
            with self._writer.begin() as connection:
                connection.execute(
                    joc_sessions.update()
                    .where(joc_sessions.c.id == key, joc_sessions.c.expired_ms.is_(None))
                    .values(last_ms=now)
                )
            session.last_ms = now
        return session

    def select_controller(self, session: Session, controller_id: str | None) -> None:
        """The session's current Controller (JOC's /controller/switch), on every member."""
        session.selected_controller = controller_id
        with self._writer.begin() as connection:
            connection.execute(
                joc_sessions.update().where(joc_sessions.c.id == session.id).values(selected_controller=controller_id)
            )

    def password_changed(self, session: Session) -> None:
        """The account changed its own password: the session may call every endpoint again."""
        session.force_password_change = False
        with self._writer.begin() as connection:
            connection.execute(
                joc_sessions.update().where(joc_sessions.c.id == session.id).values(force_password_change=False)
            )

    def close(self, session_id: str) -> bool:
        with self._writer.begin() as connection:
            count = connection.execute(
                joc_sessions.delete().where(joc_sessions.c.id == session_id, joc_sessions.c.expired_ms.is_(None))
            ).rowcount
        return bool(count)

    def close_account(self, account: str) -> int:
        """Ends every session of `account` (removed, disabled, blocked, or its password changed by another)."""
        with self._writer.begin() as connection:
            count = connection.execute(
                joc_sessions.delete().where(joc_sessions.c.account == account, joc_sessions.c.expired_ms.is_(None))
            ).rowcount
        return int(count)

    def sessions(self) -> list[Session]:
        now = self._wall_ms()
        self._sweep(now, force=True)
        with self._reader.connect() as connection:
            rows = connection.execute(sa.select(joc_sessions).where(joc_sessions.c.expired_ms.is_(None))).all()
        return [_session(r) for r in rows]

    def _expire(self, key: str, now: int) -> None:
        with self._writer.begin() as connection:
            connection.execute(
                joc_sessions.update()
                .where(joc_sessions.c.id == key, joc_sessions.c.expired_ms.is_(None))
                .values(expired_ms=now)
            )

    def _sweep(self, now: int, *, force: bool = False) -> None:
        """Marks the idle sessions expired and forgets those expired a day ago (at most once a minute)."""
        with self._lock:
            if not force and now - self._swept_ms < 60_000:
                return
            self._swept_ms = now
        idle_before = now - int(self._idle_timeout_s() * 1000)
        with self._writer.begin() as connection:
            connection.execute(
                joc_sessions.update()
                .where(joc_sessions.c.expired_ms.is_(None), joc_sessions.c.last_ms < idle_before)
                .values(expired_ms=now)
            )
            connection.execute(
                joc_sessions.delete().where(joc_sessions.c.expired_ms < now - int(EXPIRED_REMEMBERED_S * 1000))
            )


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
