"""Users, passwords, sessions, HTTP Basic, client certificates and permissions: 401 versus 403."""

from __future__ import annotations

import base64
import hashlib
import logging
import time
import warnings
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from js7es.nodes.http import (
    Authenticator,
    ConfigError,
    NodeOverview,
    SessionStore,
    User,
    Users,
    build_app,
    hash_password,
    json_response,
)

with warnings.catch_warnings():  # starlette 1.10 prefers httpx2 for its TestClient; httpx works the same
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PREFIX = "/test/api"
FAST_HASH = hash_password("pbkdf2-secret", iterations=1000)
USERS = {
    "reader": {"password": "plain:reader-secret", "permissions": ["ReadState"]},
    "deployer": {"password": FAST_HASH, "permissions": ["UpdateItem", "ReadState"]},
    "js7": {"password": "sha512:" + hashlib.sha512(b"sha-secret").hexdigest(), "permissions": []},
    "agent-controller": {
        "permissions": ["AgentDirector"],
        "distinguished-names": ["CN=controller-1, O=js7es", "CN=controller-2"],
    },
    "root": {"password": "plain:root-secret", "permissions": ["SuperPermission"]},
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class InjectPeer:
    """Stands in for the TLS layer: puts the client certificate identity into the ASGI scope."""

    def __init__(self, app: ASGIApp, peer: dict[str, str] | None) -> None:
        self.app = app
        self.peer = peer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.peer is not None and scope["type"] == "http":
            scope["js7es.peer"] = self.peer
        await self.app(scope, receive, send)


def make_app(
    *, delay: float = 0.0, clock: Clock | None = None, peer: dict[str, str] | None = None, public: bool = False
) -> ASGIApp:
    sessions = SessionStore(timeout=3600, clock=clock or Clock())
    auth = Authenticator(Users.from_config(USERS), sessions=sessions, failed_login_delay=delay, public=public)

    @auth.require("UpdateItem")
    async def update(request: Request, user: User) -> Response:
        return json_response({"user": user.id})

    @auth.require(None)
    async def anyone(request: Request, user: User) -> Response:
        return json_response({"user": user.id})

    @auth.require("AgentDirector")
    async def director(request: Request, user: User) -> Response:
        return json_response({"user": user.id})

    app = build_app(
        prefix=PREFIX,
        overview=NodeOverview(id="TestNode"),
        authenticator=auth,
        routes=[
            Route(f"{PREFIX}/item", update, methods=["POST"]),
            Route(f"{PREFIX}/anyone", anyone),
            Route(f"{PREFIX}/director", director),
        ],
    )
    return InjectPeer(app, peer)


@pytest.fixture
def client() -> Any:
    with TestClient(make_app()) as c:
        yield c


def login(client: TestClient, user: str, password: str) -> Any:
    command = {"TYPE": "Login", "userAndPassword": {"userId": user, "password": password}}
    return client.post(f"{PREFIX}/session", json=command)


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def code_of(response: Any) -> str:
    return str(response.json()["code"])


# ---------------------------------------------------------------------------------------------- config


def test_password_formats() -> None:
    users = Users.from_config(USERS)
    for user_id, password in [("reader", "reader-secret"), ("deployer", "pbkdf2-secret"), ("js7", "sha-secret")]:
        user = users.get(user_id)
        assert user is not None and user.password is not None
        assert user.password.verify(password)
        assert not user.password.verify(password + "x")
        assert not user.password.verify("")
        assert password not in repr(user) + repr(user.password)
        assert user.password._secret not in repr(user) + repr(user.password)


def test_hash_password_is_salted() -> None:
    a, b = hash_password("x", iterations=1000), hash_password("x", iterations=1000)
    assert a != b and a.startswith("pbkdf2-sha256:1000:")


@pytest.mark.parametrize(
    ("config", "message"),
    [({"u": {"password": "secret"}}, "users.u.password: needs a scheme prefix"),
     ({"u": {"password": "md5:abc"}}, "unknown password scheme 'md5'"),
     ({"u": {"password": "sha512:abc"}}, "128 hex digits"),
     ({"u": {"password": "pbkdf2-sha256:0:00:00"}}, "expected pbkdf2-sha256"),
     ({"u": {"permissions": ["ReadStat"]}}, "users.u.permissions: unknown permission 'ReadStat'"),
     ({"u": {"permissions": "ReadState"}}, "users.u.permissions: must be a list"),
     ({"u": {"passwort": "plain:x"}}, "users.u: unknown key 'passwort'"),
     ({"a:b": {"password": "plain:x"}}, "must not be empty nor contain ':'"),
     ({"u": {"distinguished-names": ["CN=a"]}, "v": {"distinguished-names": ["cn=a"]}}, "already belongs to u")],
)  # fmt: skip
def test_config_errors_name_the_key_not_the_secret(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        Users.from_config(config)
    assert "secret" not in str(caught.value) or "secret" in message


# ---------------------------------------------------------------------------------------------- sessions


def test_login_use_and_logout(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        response = login(client, "deployer", "pbkdf2-secret")
        assert response.status_code == 200
        body = response.json()
        assert body["TYPE"] == "LoggedIn" and len(body["sessionToken"]) >= 43
        token = body["sessionToken"]
        headers = {"x-js7-session": token}
        assert client.post(f"{PREFIX}/item", headers=headers).json() == {"user": "deployer"}
        logout = client.post(f"{PREFIX}/session", json={"TYPE": "Logout", "sessionToken": token})
        assert logout.json() == {"TYPE": "Accepted"}
        response = client.post(f"{PREFIX}/item", headers=headers)
    assert response.status_code == 401 and code_of(response) == "InvalidSessionToken"
    assert token not in caplog.text and "pbkdf2-secret" not in caplog.text
    assert "deployer" in caplog.text  # who logged in is logged, the secrets are not


def test_session_expires_after_the_sliding_timeout() -> None:
    clock = Clock()
    with TestClient(make_app(clock=clock)) as client:
        token = login(client, "deployer", "pbkdf2-secret").json()["sessionToken"]
        headers = {"x-js7-session": token}
        clock.now += 3000
        assert client.post(f"{PREFIX}/item", headers=headers).status_code == 200  # slides the timeout
        clock.now += 3000  # 6000 s after login, 3000 s after the last use
        assert client.post(f"{PREFIX}/item", headers=headers).status_code == 200
        clock.now += 3601
        response = client.post(f"{PREFIX}/item", headers=headers)
    assert response.status_code == 401 and code_of(response) == "InvalidSessionToken"


def test_bad_password_is_delayed_and_401() -> None:
    delay = 0.2
    with TestClient(make_app(delay=delay)) as client:
        for user, password in [("deployer", "wrong"), ("nobody", "x"), ("agent-controller", "")]:
            started = time.monotonic()
            response = login(client, user, password)
            assert time.monotonic() - started >= delay
            assert response.status_code == 401 and code_of(response) == "InvalidLogin"
            assert "wrong" not in response.text
        started = time.monotonic()
        assert login(client, "reader", "reader-secret").status_code == 200
        assert time.monotonic() - started < delay


def test_default_delay_is_one_second() -> None:
    assert Authenticator(Users.from_config({})).failed_login_delay == 1.0


@pytest.mark.parametrize(
    "command",
    [{"TYPE": "Login", "userAndPassword": {"userId": "x"}},
     {"TYPE": "Login", "userAndPassword": {"userId": "x", "password": 1}},
     {"TYPE": "Login", "userAndPassword": {"userId": "x", "password": "p"}, "extra": 1},
     {"TYPE": "Logout"}, {"TYPE": "Shout"}, ["Login"]],
)  # fmt: skip
def test_malformed_session_commands_are_400(client: TestClient, command: Any) -> None:
    response = client.post(f"{PREFIX}/session", json=command)
    assert response.status_code == 400 and response.json()["TYPE"] == "Problem"


# ------------------------------------------------------------------------------------- basic, 401 vs 403


def test_basic_auth(client: TestClient) -> None:
    assert client.post(f"{PREFIX}/item", headers=basic("deployer", "pbkdf2-secret")).json() == {"user": "deployer"}
    assert client.post(f"{PREFIX}/item", headers=basic("root", "root-secret")).json() == {"user": "root"}
    response = client.post(f"{PREFIX}/item", headers=basic("deployer", "wrong"))
    assert response.status_code == 401 and code_of(response) == "InvalidLogin"
    for header in ["Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Bearer abc"]:
        response = client.post(f"{PREFIX}/item", headers={"authorization": header})
        assert response.status_code == 401 and code_of(response) == "Unauthorized"


def test_login_with_basic_credentials_instead_of_user_and_password(client: TestClient) -> None:
    response = client.post(f"{PREFIX}/session", json={"TYPE": "Login"}, headers=basic("reader", "reader-secret"))
    token = response.json()["sessionToken"]
    assert client.get(f"{PREFIX}/anyone", headers={"x-js7-session": token}).json() == {"user": "reader"}
    assert client.post(f"{PREFIX}/session", json={"TYPE": "Login"}).status_code == 401


def test_401_without_credentials_and_403_without_permission(client: TestClient) -> None:
    response = client.post(f"{PREFIX}/item")
    assert response.status_code == 401 and code_of(response) == "Unauthorized"
    assert response.headers["www-authenticate"].startswith("Basic")
    response = client.post(f"{PREFIX}/item", headers=basic("reader", "reader-secret"))
    assert response.status_code == 403 and code_of(response) == "Forbidden"
    assert response.json()["arguments"] == {"permission": "UpdateItem"}
    assert client.get(f"{PREFIX}/anyone", headers=basic("js7", "sha-secret")).json() == {"user": "js7"}


def test_public_routes_need_no_credentials(client: TestClient) -> None:
    response = client.get(PREFIX)
    assert response.status_code == 200 and response.json()["id"] == "TestNode"


def test_public_node_lets_everybody_in() -> None:
    with TestClient(make_app(public=True)) as client:
        assert client.post(f"{PREFIX}/item").json() == {"user": "Anonymous"}


# ------------------------------------------------------------------------------------ client certificates


@pytest.mark.parametrize(
    "peer",
    [{"commonName": "controller-1", "subject": "CN=controller-1,O=js7es"},
     {"commonName": "controller-1", "subject": "cn=controller-1 , o=js7es"},
     {"commonName": "controller-2", "subject": "CN=controller-2,O=elsewhere"},
     {"commonName": "controller-2"}],
)  # fmt: skip
def test_client_certificate_maps_to_its_user(peer: dict[str, str]) -> None:
    with TestClient(make_app(peer=peer)) as client:
        assert client.get(f"{PREFIX}/director").json() == {"user": "agent-controller"}
        response = client.post(f"{PREFIX}/item")
        assert response.status_code == 403 and code_of(response) == "Forbidden"


def test_unknown_client_certificate_is_401() -> None:
    with TestClient(make_app(peer={"commonName": "rogue", "subject": "CN=rogue,O=js7es"})) as client:
        response = client.get(f"{PREFIX}/director")
    assert response.status_code == 401 and code_of(response) == "Unauthorized"


def test_explicit_credentials_take_precedence_over_the_certificate() -> None:
    with TestClient(make_app(peer={"commonName": "controller-1"})) as client:
        assert client.get(f"{PREFIX}/anyone", headers=basic("reader", "reader-secret")).json() == {"user": "reader"}
        response = client.get(f"{PREFIX}/anyone", headers={"x-js7-session": "forged"})
        assert response.status_code == 401 and code_of(response) == "InvalidSessionToken"
