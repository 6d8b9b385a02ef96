"""Users, passwords, sessions and permissions (JS7's IdToUser, GateKeeper and SessionCommand).

Users come from the node's configuration, JS7's ``js7.auth.users`` in JSON form::

    {"controller": {"password": "pbkdf2-sha256:600000:<salt hex>:<hash hex>",
                    "permissions": ["UpdateItem", "ReadState", "Command"],
                    "distinguished-names": ["CN=controller-1,O=js7es"]}}

Password formats (the prefix names the scheme):

- ``pbkdf2-sha256:<iterations>:<salt hex>:<hash hex>`` — recommended; make one with `hash_password`.
- ``sha512:<hex>`` — JS7's (unsalted) SHA-512 of the UTF-8 password; accepted for JS7 configurations.
- ``plain:<text>`` — JS7's plain text; for tests only.
- no ``password`` — the user cannot log in with a password (client certificate only).

Permissions (`PERMISSIONS`; a misspelt one is a configuration error):

- ``ReadState`` — read state and the event stream (GET routes);
- ``Command`` — execute commands, add and cancel orders;
- ``UpdateItem`` — deploy items (workflows, agents, …);
- ``ReadMetrics`` — ``GET /metrics``;
- ``AgentDirector`` — a Controller acting on an Agent Director (the Controller's user at the Agent);
- ``ClusterWatchClient`` — a Director of an Agent's Director pair reporting to the Controller, its
  Cluster Watch (the Directors' user at the Controller: ``/cluster-watch/api`` report and node-loss);
- ``SuperPermission`` — all of the above.

Authentication (`Authenticator.authenticate`), the first that the request carries decides:

1. header ``x-js7-session: <token>`` from a ``Login`` at ``POST <prefix>/session`` (sliding timeout, 1 h);
2. HTTP Basic ``Authorization``;
3. the client certificate, as put into the ASGI scope as ``scope["js7es.peer"] =
   {"commonName": …, "subject": …}`` by the TLS layer (js7es.nodes.tls), matched against the users'
   ``distinguished-names``: an entry equals the full subject (RFC 4514; attribute types compared
   case-insensitively, spaces around ``,`` and ``=`` ignored) or is ``CN=<commonName>``.

A rejected password (Login or Basic) is answered not earlier than `failed_login_delay` (1 s, as in JS7)
after the request began, which throttles guessing and hides how long the check took. Passwords, hashes
and session tokens never appear in logs, reprs or responses.

Route handlers declare what they need::

    @authenticator.require("UpdateItem")
    async def post_item(request: Request, user: User) -> Response: ...

giving 401 ``Unauthorized``/``InvalidSessionToken``/``InvalidLogin`` without valid credentials and
403 ``Forbidden`` without the permission.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route

from js7es.domain.problem import Problem, problem
from js7es.nodes.http.body import OBJECT, STRING, Shape, read_json
from js7es.nodes.http.problems import problem_response
from js7es.nodes.http.responses import json_response

logger = logging.getLogger(__name__)

PERMISSIONS = frozenset(
    {"ReadState", "Command", "UpdateItem", "ReadMetrics", "AgentDirector", "ClusterWatchClient", "SuperPermission"}
)
SUPER_PERMISSION = "SuperPermission"
SESSION_HEADER = "x-js7-session"
PEER_SCOPE_KEY = "js7es.peer"
DEFAULT_SESSION_TIMEOUT = 3600.0
DEFAULT_FAILED_LOGIN_DELAY = 1.0
PBKDF2_ITERATIONS = 600_000  # OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256


class ConfigError(ValueError):
    """The users' configuration is invalid; the message names the key (never the secret)."""


# ---------------------------------------------------------------------------------------------- passwords


@dataclass(frozen=True, slots=True)
class PasswordHash:
    """A configured password in one of the formats above; `verify` compares in constant time."""

    scheme: str
    _secret: str = field(repr=False)  # the hash (or the plain text) — never shown

    @staticmethod
    def parse(text: str, *, where: str) -> PasswordHash:
        scheme, sep, rest = text.partition(":")
        if not sep:
            raise ConfigError(f"{where}: needs a scheme prefix (pbkdf2-sha256:, sha512: or plain:)")
        if scheme == "plain":
            return PasswordHash(scheme, rest)
        if scheme == "sha512":
            if not re.fullmatch(r"[0-9a-fA-F]{128}", rest):
                raise ConfigError(f"{where}: sha512 password must be 128 hex digits")
            return PasswordHash(scheme, rest.lower())
        if scheme == "pbkdf2-sha256":
            parts = rest.split(":")
            if (
                len(parts) != 3
                or not parts[0].isdigit()
                or int(parts[0]) < 1
                or not all(re.fullmatch(r"(?:[0-9a-fA-F]{2})+", p) for p in parts[1:])
            ):
                raise ConfigError(f"{where}: expected pbkdf2-sha256:<iterations>:<salt hex>:<hash hex>")
            return PasswordHash(scheme, rest.lower())
        raise ConfigError(f"{where}: unknown password scheme {scheme!r}")

    def verify(self, password: str) -> bool:
        given = password.encode()
        if self.scheme == "plain":
            return hmac.compare_digest(given, self._secret.encode())
        if self.scheme == "sha512":
            return hmac.compare_digest(hashlib.sha512(given).hexdigest(), self._secret)
        iterations, salt, expected = self._secret.split(":")
        derived = hashlib.pbkdf2_hmac("sha256", given, bytes.fromhex(salt), int(iterations), len(expected) // 2)
        return hmac.compare_digest(derived.hex(), expected)

    @property
    def is_slow(self) -> bool:
        return self.scheme == "pbkdf2-sha256"


def hash_password(password: str, *, iterations: int = PBKDF2_ITERATIONS, salt: bytes | None = None) -> str:
    """The recommended configuration value for `password`: pbkdf2-sha256 with a random 16-byte salt."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    derived = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, 32)
    return f"pbkdf2-sha256:{iterations}:{salt.hex()}:{derived.hex()}"


# ------------------------------------------------------------------------------------------------- users


@dataclass(frozen=True, slots=True)
class User:
    id: str
    permissions: frozenset[str] = frozenset()
    password: PasswordHash | None = field(default=None, repr=False)
    distinguished_names: tuple[str, ...] = ()

    def has(self, permission: str | None) -> bool:
        """`None` asks only for an authenticated user."""
        return permission is None or permission in self.permissions or SUPER_PERMISSION in self.permissions


ANONYMOUS = User("Anonymous", frozenset({SUPER_PERMISSION}))  # only when the node is configured public


def normalize_dn(dn: str) -> str:
    """RFC 4514 subject for comparison: attribute types upper case, blanks around , and = dropped."""
    parts = []
    for rdn in re.split(r"(?<!\\),", dn):
        name, _, value = rdn.partition("=")
        parts.append(f"{name.strip().upper()}={value.strip()}")
    return ",".join(parts)


class Users:
    """The configured users, by id and by certificate distinguished name."""

    def __init__(self, users: Iterable[User]) -> None:
        self._by_id: dict[str, User] = {}
        self._by_dn: dict[str, User] = {}
        for user in users:
            if user.id in self._by_id:
                raise ConfigError(f"users.{user.id}: defined twice")
            self._by_id[user.id] = user
            for dn in user.distinguished_names:
                key = normalize_dn(dn)
                if key in self._by_dn:
                    raise ConfigError(
                        f"users.{user.id}: distinguished name {dn!r} already belongs to {self._by_dn[key].id}"
                    )
                self._by_dn[key] = user

    @staticmethod
    def from_config(mapping: Mapping[str, Any], *, known_permissions: frozenset[str] = PERMISSIONS) -> Users:
        """Parse ``{userId: {"password", "permissions", "distinguished-names"}}``; fails naming the key."""
        users = []
        for user_id, entry in mapping.items():
            where = f"users.{user_id}"
            if not isinstance(entry, Mapping):
                raise ConfigError(f"{where}: must be an object")
            if not user_id or ":" in user_id:
                raise ConfigError(f"{where}: a user id must not be empty nor contain ':' (HTTP Basic)")
            unknown = set(entry) - {"password", "permissions", "distinguished-names"}
            if unknown:
                raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
            password = entry.get("password")
            if password is not None and not isinstance(password, str):
                raise ConfigError(f"{where}.password: must be a string")
            permissions = _strings(entry.get("permissions", []), f"{where}.permissions")
            for p in permissions:
                if p not in known_permissions:
                    raise ConfigError(f"{where}.permissions: unknown permission {p!r}")
            users.append(
                User(
                    id=user_id,
                    permissions=frozenset(permissions),
                    password=PasswordHash.parse(password, where=f"{where}.password") if password else None,
                    distinguished_names=tuple(
                        _strings(entry.get("distinguished-names", []), f"{where}.distinguished-names")
                    ),
                )
            )
        return Users(users)

    def get(self, user_id: str) -> User | None:
        return self._by_id.get(user_id)

    def by_peer(self, peer: Mapping[str, Any]) -> User | None:
        subject = peer.get("subject")
        if isinstance(subject, str) and subject:
            user = self._by_dn.get(normalize_dn(subject))
            if user:
                return user
        common_name = peer.get("commonName")
        if isinstance(common_name, str) and common_name:
            return self._by_dn.get(normalize_dn(f"CN={common_name}"))
        return None


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: must be a list of strings")
    return value


# ---------------------------------------------------------------------------------------------- sessions


@dataclass(slots=True)
class _Session:
    user: User
    expires: float


class SessionStore:
    """Session tokens (256 random bits) with a sliding timeout; thread-safe."""

    def __init__(
        self, *, timeout: float = DEFAULT_SESSION_TIMEOUT, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.timeout = timeout
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}

    def login(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._sessions = {t: s for t, s in self._sessions.items() if s.expires > now}  # purge expired
            self._sessions[token] = _Session(user, now + self.timeout)
        return token

    def get(self, token: str) -> User | None:
        """The session's user, extending the session; None if unknown or expired."""
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if session.expires <= now:
                del self._sessions[token]
                return None
            session.expires = now + self.timeout
            return session.user

    def logout(self, token: str) -> bool:
        with self._lock:
            return self._sessions.pop(token, None) is not None

    def __len__(self) -> int:
        return len(self._sessions)


# ----------------------------------------------------------------------------------------- authentication

Handler = Callable[[Request, User], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def unauthorized() -> Problem:
    return problem("Unauthorized", "Authentication required")


def invalid_login() -> Problem:
    return problem("InvalidLogin", "Login: unknown user or invalid password")


def invalid_session_token() -> Problem:
    return problem("InvalidSessionToken", "Invalid or expired session token")


def forbidden(user: User, permission: str) -> Problem:
    return problem("Forbidden", f"User {user.id!r} lacks the permission {permission}", permission=permission)


class Authenticator:
    """Checks the credentials of a request (see the module docstring) and serves the session route."""

    def __init__(
        self,
        users: Users,
        *,
        sessions: SessionStore | None = None,
        failed_login_delay: float = DEFAULT_FAILED_LOGIN_DELAY,
        public: bool = False,
    ) -> None:
        self.users = users
        self.sessions = sessions if sessions is not None else SessionStore()
        self.failed_login_delay = failed_login_delay
        self.public = public  # JS7's `public = on`: everybody is a super user (tests, demos)

    async def authenticate(self, request: HTTPConnection) -> User | Problem:
        token = request.headers.get(SESSION_HEADER)
        if token is not None:
            return self.sessions.get(token) or invalid_session_token()
        authorization = request.headers.get("authorization")
        if authorization is not None:
            return await self._basic(authorization)
        peer = request.scope.get(PEER_SCOPE_KEY)
        if isinstance(peer, Mapping):
            user = self.users.by_peer(peer)
            if user is not None:
                return user
            logger.info("Client certificate %r maps to no user", peer.get("subject") or peer.get("commonName"))
        return ANONYMOUS if self.public else unauthorized()

    async def check(self, request: HTTPConnection, permission: str | None) -> User | Problem:
        user = await self.authenticate(request)
        if isinstance(user, User) and not user.has(permission):
            assert permission is not None
            return forbidden(user, permission)
        return user

    def require(self, permission: str | None) -> Callable[[Handler], Endpoint]:
        """Decorate ``handler(request, user)`` into a starlette endpoint that checks `permission` first."""

        def decorate(handler: Handler) -> Endpoint:
            @functools.wraps(handler)
            async def endpoint(request: Request) -> Response:
                user = await self.check(request, permission)
                if isinstance(user, Problem):
                    return auth_problem_response(user)
                return await handler(request, user)

            return endpoint

        return decorate

    async def verify_password(self, user_id: str, password: str) -> User | None:
        """The user if the password is right; the slow hash runs in a thread (it releases the GIL)."""
        user = self.users.get(user_id)
        if user is None or user.password is None:
            return None
        hashed = user.password
        ok = await asyncio.to_thread(hashed.verify, password) if hashed.is_slow else hashed.verify(password)
        return user if ok else None

    async def login(self, user_id: str, password: str) -> User | Problem:
        """Verify, and on failure answer not before `failed_login_delay` has passed since the start."""
        started = time.monotonic()
        user = await self.verify_password(user_id, password)
        if user is None:
            logger.info("Rejected login of user %r", user_id)
            await asyncio.sleep(max(0.0, self.failed_login_delay - (time.monotonic() - started)))
            return invalid_login()
        return user

    async def _basic(self, authorization: str) -> User | Problem:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return problem("Unauthorized", f"Unsupported authorization scheme {scheme[:20]!r}")
        try:
            user_id, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text (b64decode of a str)
            sep = ""
        if not sep:
            return problem("Unauthorized", "Malformed HTTP Basic credentials")
        return await self.login(user_id, password)

    # ------------------------------------------------------------------------------------------ session

    def session_route(self, prefix: str) -> Route:
        """``POST <prefix>/session``: JS7's Login and Logout session commands."""
        return Route(f"{prefix}/session", self._session_endpoint, methods=["POST"])

    async def _session_endpoint(self, request: Request) -> Response:
        command = await read_json(request, max_bytes=64 * 1024)
        if isinstance(command, Problem):
            return problem_response(command)
        kind = command.get("TYPE") if isinstance(command, dict) else None
        if kind == "Login":
            return await self._login_command(request, command)
        if kind == "Logout":
            checked = _LOGOUT.check(command)
            if isinstance(checked, Problem):
                return problem_response(checked)
            self.sessions.logout(checked["sessionToken"])  # an unknown token is fine: it is gone either way
            return json_response({"TYPE": "Accepted"})
        return problem_response(problem("UnknownCommand", "Expected a session command: Login or Logout"))

    async def _login_command(self, request: Request, command: dict[str, Any]) -> Response:
        checked = _LOGIN.check(command)
        if isinstance(checked, Problem):
            return problem_response(checked)
        credentials = checked.get("userAndPassword")
        if credentials is None:  # JS7: log in as whoever the request authenticates as (Basic or certificate)
            user = await self.authenticate(request)
        else:
            creds = _USER_AND_PASSWORD.check(credentials)
            if isinstance(creds, Problem):
                return problem_response(creds)
            user = await self.login(creds["userId"], creds["password"])
        if isinstance(user, Problem):
            return auth_problem_response(user)
        logger.info("User %r logged in", user.id)
        return json_response({"TYPE": "LoggedIn", "sessionToken": self.sessions.login(user)})


def auth_problem_response(p: Problem) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="js7es"'} if p.code == "Unauthorized" else None
    return problem_response(p, headers=headers)


_LOGIN = Shape("Login", optional={"userAndPassword": OBJECT, "version": STRING})
_USER_AND_PASSWORD = Shape("Login.userAndPassword", required={"userId": STRING, "password": STRING})
_LOGOUT = Shape("Logout", required={"sessionToken": STRING})
