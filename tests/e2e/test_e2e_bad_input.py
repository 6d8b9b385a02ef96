"""Bad input against real Controller and Agent processes over mutual TLS.

Every refusal must be a coded problem body ``{"TYPE":"Problem","code","message","arguments"}`` with a
4xx status (or, without an acceptable client certificate, a refused TLS handshake), must change
nothing, and must leave both nodes healthy: at the end a normal order still runs to OrderFinished,
no response of the whole module was a 5xx (the nodes' own request metrics) and no log has a traceback.

One Topology serves the whole module (starting processes is the slow part); the tests that change
state (adding orders) use ids of their own.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from js7es.nodes.certs import create_ca, create_node_certificate
from js7es.nodes.tls import TlsConfig, client_ssl_context
from tests.e2e.topology import ADMIN, HOST, Topology

C = "/controller/api"
A = "/agent/api"
EIGHT_MIB = 8 * 1024 * 1024
READER = ("reader", "reader-secret")  # ReadState only
METRICS = ("metrics", "metrics-secret")  # ReadMetrics only

HELLO = {
    "path": "hello",
    "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
    "jobs": {"J": {"agentPath": "agent", "executable": {"TYPE": "ShellScriptExecutable", "script": "exit 0\n"}}},
}


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    topology = Topology(
        tmp_path_factory.mktemp("bad-input"),
        extra_certificates=("stranger", "reader"),
        extra_users={
            "controller": {
                "reader": {
                    "password": f"plain:{READER[1]}",
                    "permissions": ["ReadState"],
                    "distinguished-names": ["CN=reader"],
                },
                "metrics": {"password": f"plain:{METRICS[1]}", "permissions": ["ReadMetrics"]},
            },
            "agent": {
                # The "client" certificate is known at the Agent, but without the permission AgentDirector.
                "client": {"permissions": ["ReadMetrics"], "distinguished-names": ["CN=client"]},
                "rival": {"permissions": ["AgentDirector"], "distinguished-names": ["CN=rival"]},
            },
        },
    )
    topology.start_all()
    try:
        response = topology.deploy(HELLO, version="1")
        assert response.status_code == 200, response.text
        topology.wait_for(lambda es: any(e["TYPE"] == "AgentCoupled" for e in es))
        yield topology
    finally:
        topology.stop_all()


@pytest.fixture(scope="module")
def controller(topo: Topology) -> Iterator[httpx.Client]:
    with topo.controller() as client:
        yield client


@pytest.fixture(scope="module")
def agent(topo: Topology) -> Iterator[httpx.Client]:
    """The Agent as its Controller sees it: with the certificate of the Controller (AgentDirector)."""
    with topo.client("agent", certificate="controller") as client:
        yield client


# -- helpers ---------------------------------------------------------------------------------------


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """A coded problem body with the expected 4xx status; never a traceback."""
    assert "Traceback" not in response.text
    assert response.status_code == status, f"{response.status_code} {response.text[:500]}"
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert body["TYPE"] == "Problem", body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["arguments"], dict), body
    return dict(body)


def raw(client: httpx.Client, path: str, content: bytes, content_type: str = "application/json") -> httpx.Response:
    return client.post(path, content=content, headers={"Content-Type": content_type})


def quiet(topo: Topology, still: float = 0.7, timeout: float = 20) -> int:
    """The Controller's last EventId once no event has come for `still` seconds."""
    deadline = time.monotonic() + timeout
    after = topo.events(0)[-1]["eventId"]
    while time.monotonic() < deadline:
        more = topo.events(after, timeout=still)
        if not more:
            return int(after)
        after = more[-1]["eventId"]
    raise AssertionError("the Controller does not become quiet")


def state_of(controller: httpx.Client) -> list[Any]:
    response = controller.get(f"{C}/snapshot")
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


def assert_unchanged(topo: Topology, controller: httpx.Client, event_id: int, snapshot: list[Any]) -> None:
    assert topo.events(event_id, timeout=0.5) == []
    assert state_of(controller) == snapshot


def handshake_refused(port: int, context: ssl.SSLContext) -> str:
    """How the server refused the TLS connection; fails if it answered an HTTP request on it.

    With TLS 1.3 the client's handshake may complete before the server has checked the client's
    certificate: the refusal (an alert, or the closed connection) then arrives on the first read.
    """
    with socket.create_connection((HOST, port), timeout=10) as sock:
        try:
            with context.wrap_socket(sock, server_hostname=HOST) as tls:
                tls.sendall(f"GET {C}/health HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
                data = tls.recv(4096)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as e:
            return f"{type(e).__name__}: {e}"
    assert data == b"", f"the server answered on a refused connection: {data[:200]!r}"
    return "closed"


def no_certificate_context(topo: Topology) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(topo.root / "certs" / "ca" / "ca.crt"))
    return context


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def streamed(size: int, chunk: int = 256 * 1024) -> Iterator[bytes]:
    yield b'{"id": "big", "workflowPath": "hello", "arguments": {"x": "'
    sent = 0
    while sent < size:
        yield b"x" * chunk
        sent += chunk
    yield b'"}}'


# -- malformed bodies ------------------------------------------------------------------------------

CONTROLLER_POSTS = [f"{C}/order", f"{C}/item", f"{C}/command", f"{C}/session"]


@pytest.mark.parametrize("path", CONTROLLER_POSTS)
@pytest.mark.parametrize(
    "body",
    [b"{", b'{"id": "x",}', b"[1, 2", b"\xff\xfe{}", b'{"a": 1, "a": 2}', b'{"a": NaN}', b"[" * 30_000, b""],
    ids=["truncated", "trailing-comma", "open-array", "bad-utf8", "duplicate-key", "nan", "deep", "empty"],
)
def test_malformed_json_is_invalid_json(controller: httpx.Client, path: str, body: bytes) -> None:
    assert_problem(raw(controller, path, body), 400, "InvalidJson")


@pytest.mark.parametrize("path", [f"{C}/order", f"{C}/item"])
def test_malformed_ndjson_names_the_line(controller: httpx.Client, path: str) -> None:
    body = b'{"TYPE": "AddVersion", "versionId": "x"}\n{oops\n'
    problem = assert_problem(raw(controller, path, body, "application/x-ndjson"), 400, "InvalidJson")
    assert problem["arguments"]["line"] == "2"


@pytest.mark.parametrize("path", CONTROLLER_POSTS)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/json; charset=latin-1", "", "multipart/form-data"]
)
def test_wrong_content_type_is_415(controller: httpx.Client, path: str, content_type: str) -> None:
    assert_problem(raw(controller, path, b"{}", content_type), 415, "UnsupportedMediaType")


@pytest.mark.parametrize("path", CONTROLLER_POSTS)
def test_oversize_streamed_body_is_413(controller: httpx.Client, path: str) -> None:
    response = controller.post(path, content=streamed(EIGHT_MIB + 1), headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers  # chunked: the server cannot know in advance
    assert_problem(response, 413, "PayloadTooLarge")


@pytest.mark.parametrize("path", CONTROLLER_POSTS)
def test_oversize_declared_body_is_413(controller: httpx.Client, path: str) -> None:
    body = b'{"x": "' + b"x" * (EIGHT_MIB + 1) + b'"}'
    assert_problem(raw(controller, path, body), 413, "PayloadTooLarge")


def test_invalid_content_length_is_400(topo: Topology) -> None:
    port = topo.nodes["controller"].port
    context = client_ssl_context(topo.client_tls)
    with (
        socket.create_connection((HOST, port), timeout=10) as sock,
        context.wrap_socket(sock, server_hostname=HOST) as tls,
    ):
        tls.sendall(
            f"POST {C}/order HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            "Content-Length: -5\r\nConnection: close\r\n\r\n".encode()
        )
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 4"), answer[:300]
    assert b"Traceback" not in answer


# -- orders ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "code"),
    [
        ({"id": "o", "workflowPath": "hello", "priorty": 1}, "UnknownField"),
        ({"id": "o", "workflowPath": "hello", "priority": "1.5"}, "InvalidRequest"),
        ({"id": "o", "wokflowPath": "hello"}, "UnknownField"),
        ({"id": "o"}, "MissingField"),
        ({"id": 7, "workflowPath": "hello"}, "InvalidRequest"),
        ({"id": "o", "workflowPath": ["hello"]}, "InvalidRequest"),
        ({"id": "o", "workflowPath": "hello", "arguments": [1]}, "InvalidRequest"),
        ({"id": "o", "workflowPath": "hello", "scheduledFor": "tomorrow"}, "InvalidRequest"),
        ({"id": "o", "workflowPath": "hello", "scheduledFor": True}, "InvalidRequest"),
        ({"id": "o", "workflowPath": "hello", "scheduledFor": 1.5}, "InvalidRequest"),
        ({"id": "o", "workflowPath": "hello", "scheduledFor": -5}, "InvalidRequest"),
        ({"id": "o", "workflowPath": "hello", "scheduledFor": 10**20}, "InvalidRequest"),
        ({"id": "o", "workflowPath": "hello", "deleteWhenTerminated": "yes"}, "InvalidRequest"),
        ({"id": "o", "workflowPath": "hello", "startPosition": "NO-SUCH-LABEL"}, "UnknownKey"),
        ({"id": "o", "workflowPath": "hello", "stopPositions": ["NO-SUCH-LABEL"]}, "UnknownKey"),
        ({"id": "o", "workflowPath": "hello", "stopPositions": [[99]]}, "InvalidPosition"),
        ({"id": "o", "workflowPath": "hello", "stopPositions": [1]}, "InvalidPosition"),
        ({"id": "o", "workflowPath": "hello", "planId": ["DailyPlan", "2025-01-31"]}, "UnsupportedPlanId"),
        ({"id": "o", "workflowPath": "hello", "startPosition": [0, "then"]}, "InvalidPosition"),
        ({"id": "a|b", "workflowPath": "hello"}, "InvalidOrderId"),
        ({"id": "", "workflowPath": "hello"}, "InvalidOrderId"),
        ({"id": "bell\x07", "workflowPath": "hello"}, "InvalidOrderId"),
        ({"id": "new\nline", "workflowPath": "hello"}, "InvalidOrderId"),
        ({"id": "o", "workflowPath": "no-such-workflow"}, "UnknownItem"),
        ({"id": "o", "workflowPath": "hello", "startPosition": [99]}, "InvalidPosition"),
        ("just a string", "InvalidRequest"),
        (42, "InvalidRequest"),
        ([[]], "InvalidRequest"),
        ([{"id": "o"}], "MissingField"),
    ],
)
def test_bad_fresh_order_is_refused(topo: Topology, controller: httpx.Client, order: Any, code: str) -> None:
    response = controller.post(f"{C}/order", json=order)
    assert_problem(response, 400, code)
    assert controller.get(f"{C}/order", params={"id": "o"}).json()["orders"] == []


def test_a_bad_order_in_an_array_refuses_the_whole_array(controller: httpx.Client) -> None:
    orders = [{"id": "array-good", "workflowPath": "hello"}, {"id": "array|bad", "workflowPath": "hello"}]
    assert_problem(controller.post(f"{C}/order", json=orders), 400, "InvalidOrderId")
    orders = [{"id": "array-good", "workflowPath": "hello"}, {"id": "x", "workflowPath": "hello", "extra": 1}]
    assert_problem(controller.post(f"{C}/order", json=orders), 400, "UnknownField")
    assert controller.get(f"{C}/order", params={"id": "array-good"}).json()["orders"] == []


def test_duplicate_order(topo: Topology, controller: httpx.Client) -> None:
    later = int(time.time() * 1000) + 3_600_000  # stays waiting: this test is about ids, not runs
    order = {"id": "dup", "workflowPath": "hello", "scheduledFor": later}
    assert controller.post(f"{C}/order", json=order).status_code == 201
    assert_problem(controller.post(f"{C}/order", json=order), 409, "DuplicateOrder")
    array = [order, {**order, "id": "dup-new"}, {**order, "id": "dup-new"}]
    response = controller.post(f"{C}/order", json=array)
    assert response.status_code == 200, response.text
    assert response.json()["ignoredBecauseDuplicate"] == ["dup", "dup-new"]
    events = topo.wait_for(lambda es: sum(1 for e in es if e["TYPE"] == "OrderAdded" and "dup" in e["Key"]) >= 2)
    added = [e["Key"] for e in events if e["TYPE"] == "OrderAdded" and e["Key"].startswith("dup")]
    assert sorted(added) == ["dup", "dup-new"]  # each once
    cancelled = topo.command({"TYPE": "CancelOrders", "orderIds": ["dup", "dup-new"]})
    assert cancelled.status_code == 200, cancelled.text


@pytest.mark.parametrize("order_id", [" ", "a/b?c#d%20", "\u00e4 b", "x" * 200])
def test_any_valid_order_id_gets_a_usable_location(controller: httpx.Client, order_id: str) -> None:
    """The Location header is percent-encoded: a blank or a non-ASCII id must not break the response
    (the order would be added, but the client would see a dropped connection)."""
    later = int(time.time() * 1000) + 3_600_000
    response = controller.post(f"{C}/order", json={"id": order_id, "workflowPath": "hello", "scheduledFor": later})
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    assert location.isascii() and " " not in location
    found = controller.get(location)
    assert found.status_code == 200, found.text
    assert found.json()["id"] == order_id
    cancelled = controller.post(f"{C}/command", json={"TYPE": "CancelOrders", "orderIds": [order_id]})
    assert cancelled.status_code == 200, cancelled.text


@pytest.mark.parametrize("order_id", ["unknown", "a|b", "%00", "%FF%FE", "x" * 2000])
def test_get_unknown_order_is_404(controller: httpx.Client, order_id: str) -> None:
    assert_problem(controller.get(f"{C}/order/{order_id}"), 404, "UnknownOrder")


# -- items -----------------------------------------------------------------------------------------


def _workflow(path: str, **more: Any) -> dict[str, Any]:
    return {**HELLO, "path": path, **more}


AGENT_REF = {"TYPE": "AgentRef", "path": "agent-2", "directors": ["agent-director"]}
BAD_WORKFLOW = _workflow(
    "bad-expr",
    instructions=[
        {"TYPE": "Execute.Named", "jobName": "J"},
        {"TYPE": "If", "ifThens": [{"predicate": "$x >", "then": {"instructions": []}}]},
    ],
)
SHELL = {"TYPE": "ShellScriptExecutable", "script": "exit 0\n"}
V = {"TYPE": "AddVersion", "versionId": "bad"}

# (id, operations, code): each refused as a whole, with the code.
BAD_ITEM_OPERATIONS: list[tuple[str, list[Any], str]] = [
    ("unknown-operation", [V, {"TYPE": "Frobnicate"}], "InvalidItemOperation"),
    ("operation-without-type", [V, {"item": AGENT_REF}], "InvalidItemOperation"),
    ("unknown-item-type", [V, {"TYPE": "AddOrChangeSimple", "item": {"TYPE": "Gadget"}}], "UnknownItemType"),
    ("unknown-field-in-operation", [{**V, "versionID": "x"}], "UnknownField"),
    (
        "unknown-field-in-AddOrChangeSimple",
        [{"TYPE": "AddOrChangeSimple", "item": AGENT_REF, "color": 1}],
        "UnknownField",
    ),
    ("misspelt-item", [{"TYPE": "AddOrChangeSimple", "itme": AGENT_REF}], "UnknownField"),
    (
        "unknown-field-in-signedString",
        [V, {"TYPE": "AddOrChangeSigned", "signedString": {"string": json.dumps(HELLO), "sig": "x"}}],
        "UnknownField",
    ),
    (
        "signed-string-no-json",
        [V, {"TYPE": "AddOrChangeSigned", "signedString": {"string": "{"}}],
        "InvalidItemOperation",
    ),
    ("bad-expression", [V, {"TYPE": "AddOrChangeSimple", "item": BAD_WORKFLOW}], "InvalidExpression"),
    (
        "bad-expression-signed",
        [V, {"TYPE": "AddOrChangeSigned", "signedString": {"string": json.dumps(BAD_WORKFLOW)}}],
        "InvalidExpression",
    ),
    (
        "unknown-agent",
        [
            V,
            {
                "TYPE": "AddOrChangeSimple",
                "item": _workflow("w", jobs={"J": {"agentPath": "nowhere", "executable": SHELL}}),
            },
        ],
        "UnknownItem",
    ),
    (
        "half-good-deployment",
        [
            V,
            {"TYPE": "AddOrChangeSimple", "item": AGENT_REF},
            {"TYPE": "AddOrChangeSimple", "item": _workflow("good-one")},
            {
                "TYPE": "AddOrChangeSimple",
                "item": _workflow("bad-one", jobs={"J": {"agentPath": "x", "executable": SHELL}}),
            },
        ],
        "UnknownItem",
    ),
    (
        "agent-ref-without-directors",
        [{"TYPE": "AddOrChangeSimple", "item": {**AGENT_REF, "directors": []}}],
        "InvalidItem",
    ),
    ("delete-unknown", [{"TYPE": "DeleteSimple", "path": "AgentRef:nowhere"}], "UnknownItem"),
    ("remove-unknown", [V, {"TYPE": "RemoveVersioned", "path": "Workflow:nowhere"}], "UnknownItem"),
    (
        "version-exists",
        [{"TYPE": "AddVersion", "versionId": "1"}, {"TYPE": "AddOrChangeSimple", "item": HELLO}],
        "DuplicateVersion",
    ),
    ("two-versions", [V, {"TYPE": "AddVersion", "versionId": "bad2"}], "InvalidItemOperation"),
    ("not-an-object", [V, 42], "InvalidItemOperation"),
    ("a-string", ["AddVersion"], "InvalidItemOperation"),
    ("wrong-type", [{"TYPE": "AddVersion", "versionId": 7}], "InvalidVersionId"),
    ("bad-version-id", [{"TYPE": "AddVersion", "versionId": "a~b"}], "InvalidVersionId"),
]


@pytest.mark.parametrize(
    ("operations", "code"),
    [(ops, code) for _, ops, code in BAD_ITEM_OPERATIONS],
    ids=[i for i, _, _ in BAD_ITEM_OPERATIONS],
)
def test_bad_item_operation_changes_nothing(
    topo: Topology, controller: httpx.Client, operations: list[Any], code: str
) -> None:
    event_id = quiet(topo)
    before = state_of(controller)
    assert_problem(controller.post(f"{C}/item", json=operations), 400, code)
    ndjson = "".join(json.dumps(o) + "\n" for o in operations).encode()
    assert_problem(raw(controller, f"{C}/item", ndjson, "application/x-ndjson"), 400, code)
    assert_unchanged(topo, controller, event_id, before)


def test_bad_expression_names_the_position(topo: Topology, controller: httpx.Client) -> None:
    event_id = quiet(topo)
    before = state_of(controller)
    inner = {"TYPE": "If", "ifThens": [{"predicate": "$x ==", "then": {"instructions": []}}]}
    workflow = _workflow(
        "bad-deep",
        instructions=[
            {"TYPE": "Execute.Named", "jobName": "J"},
            {
                "TYPE": "If",
                "ifThens": [{"predicate": "true", "then": {"instructions": [HELLO["instructions"][0], inner]}}],
            },
        ],
    )
    operations = [{"TYPE": "AddVersion", "versionId": "deep"}, {"TYPE": "AddOrChangeSimple", "item": workflow}]
    problem = assert_problem(controller.post(f"{C}/item", json=operations), 400, "InvalidExpression")
    assert problem["arguments"]["position"] == "1/then:1", problem
    assert problem["arguments"]["workflow"] == "bad-deep", problem
    assert "1/then:1" in problem["message"], problem
    assert_unchanged(topo, controller, event_id, before)


# -- commands --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ({"TYPE": "Frobnicate"}, "UnknownCommand"),
        ({"TYPE": "cancelorders", "orderIds": []}, "UnknownCommand"),
        ({"orderIds": ["x"]}, "InvalidRequest"),
        ({"TYPE": 7}, "InvalidRequest"),
        ([{"TYPE": "NoOperation"}], "InvalidRequest"),
        ("CancelOrders", "InvalidRequest"),
        ({"TYPE": "CancelOrders", "orderIDs": ["x"]}, "UnknownField"),
        ({"TYPE": "CancelOrders", "orderIds": ["x"], "mode": {"TYPE": "FreshOnly", "force": True}}, "UnknownField"),
        ({"TYPE": "CancelOrders", "orderIds": ["x"], "mode": {"TYPE": "Always"}}, "InvalidRequest"),
        ({"TYPE": "CancelOrders", "orderIds": ["x"], "mode": {"kill": {"signal": "KILL"}}}, "UnknownField"),
        ({"TYPE": "CancelOrders"}, "MissingField"),
        ({"TYPE": "CancelOrders", "orderIds": "x"}, "InvalidRequest"),
        ({"TYPE": "CancelOrders", "orderIds": [1, 2]}, "InvalidRequest"),
        ({"TYPE": "CancelOrders", "orderIds": ["no-such-order"]}, "UnknownOrder"),
        ({"TYPE": "SuspendOrders", "orderIds": ["x"], "mode": "now"}, "InvalidRequest"),
        ({"TYPE": "ResumeOrder", "orderId": "x", "position": "end"}, "InvalidPosition"),
        ({"TYPE": "ResumeOrder", "orderId": "x", "asSucceeded": 1}, "InvalidRequest"),
        ({"TYPE": "AnswerOrderPrompt", "orderId": ["x"]}, "InvalidRequest"),
        ({"TYPE": "DeleteOrdersWhenTerminated", "orderIds": ["x"], "please": True}, "UnknownField"),
        ({"TYPE": "TakeSnapshot", "now": True}, "UnknownField"),
        ({"TYPE": "ShutDown", "force": True}, "UnknownField"),
        ({"TYPE": "NoOperation", "x": 1}, "UnknownField"),
    ],
)
def test_bad_command_is_refused(controller: httpx.Client, command: Any, code: str) -> None:
    status = 404 if code == "UnknownOrder" else 400
    problem = assert_problem(controller.post(f"{C}/command", json=command), status, code)
    assert problem["code"] == code


def test_unknown_order_in_a_command_changes_nothing(topo: Topology, controller: httpx.Client) -> None:
    event_id = quiet(topo)
    before = state_of(controller)
    response = controller.post(f"{C}/command", json={"TYPE": "SuspendOrders", "orderIds": ["nope", "nope2"]})
    assert 400 <= response.status_code < 500
    assert_problem(response, response.status_code, response.json()["code"])
    assert_unchanged(topo, controller, event_id, before)


# -- event stream, snapshot, session, routes -------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"after": "abc"}, "InvalidParameter"),
        ({"after": "-1"}, "InvalidParameter"),
        ({"after": "1e3"}, "InvalidParameter"),
        ({"after": "9" * 18}, "UnknownEventId"),
        ({"after": str(10**30)}, "InvalidParameter"),
        ({"timeout": "soon"}, "InvalidParameter"),
        ({"timeout": "-1"}, "InvalidParameter"),
        ({"timeout": "nan"}, "InvalidParameter"),
        ({"limit": "0"}, "InvalidParameter"),
        ({"limit": "x"}, "InvalidParameter"),
        ({"heartbeat": "0"}, "InvalidParameter"),
        ({"return": "OrderAdded"}, "InvalidParameter"),
        ({"bogus": "1"}, "InvalidParameter"),
    ],
)
@pytest.mark.parametrize("node", ["controller", "agent"])
def test_bad_event_stream_parameters(
    controller: httpx.Client, agent: httpx.Client, node: str, params: dict[str, str], code: str
) -> None:
    client, prefix = (controller, C) if node == "controller" else (agent, A)
    assert_problem(client.get(f"{prefix}/event", params=params), 400, code)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"{C}/snapshot"),
        ("POST", f"{C}/event"),
        ("GET", f"{C}/command"),
        ("GET", f"{C}/item"),
        ("GET", f"{C}/session"),
        ("DELETE", f"{C}/order"),
        ("PUT", f"{C}/order/x"),
        ("POST", f"{C}/health"),
    ],
)
def test_wrong_method_is_405(controller: httpx.Client, method: str, path: str) -> None:
    assert_problem(controller.request(method, path, json={}), 405, "MethodNotAllowed")


@pytest.mark.parametrize("path", [f"{C}/orders", f"{C}/nothing/here", "/", "/controller", f"{A}/command"])
def test_unknown_route_is_404(controller: httpx.Client, path: str) -> None:
    assert_problem(controller.get(path), 404, "UnknownRoute")


@pytest.mark.parametrize(
    ("command", "status", "code"),
    [
        ({"TYPE": "Lgin"}, 400, "UnknownCommand"),
        ({}, 400, "UnknownCommand"),
        ([], 400, "UnknownCommand"),
        ({"TYPE": "Login", "userAndPassword": {"userId": "admin"}}, 400, "MissingField"),
        ({"TYPE": "Login", "userAndPassword": {"userId": "admin", "password": 1}}, 400, "WrongType"),
        ({"TYPE": "Login", "userAndPassword": {"userId": "admin", "password": "x", "otp": 1}}, 400, "UnknownField"),
        ({"TYPE": "Login", "userAndPassword": "admin:admin-secret"}, 400, "WrongType"),
        ({"TYPE": "Login", "remember": True}, 400, "UnknownField"),
        ({"TYPE": "Logout"}, 400, "MissingField"),
        ({"TYPE": "Logout", "sessionToken": 1}, 400, "WrongType"),
    ],
)
def test_bad_session_command(controller: httpx.Client, command: Any, status: int, code: str) -> None:
    assert_problem(controller.post(f"{C}/session", json=command), status, code)


# -- credentials -----------------------------------------------------------------------------------

GUARDED = [
    ("POST", f"{C}/order", {"id": "guarded", "workflowPath": "hello"}),
    ("POST", f"{C}/item", [{"TYPE": "AddVersion", "versionId": "guarded"}]),
    ("POST", f"{C}/command", {"TYPE": "NoOperation"}),
    ("GET", f"{C}/event", None),
    ("GET", f"{C}/snapshot", None),
    ("GET", f"{C}/order", None),
    ("GET", f"{C}/order/guarded", None),
    ("GET", "/metrics", None),
]


def _send(client: httpx.Client, method: str, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    return client.request(method, path, **({"json": body} if body is not None else {}), **kwargs)


@pytest.mark.parametrize("node", ["controller", "agent"])
def test_no_client_certificate_refuses_the_handshake(topo: Topology, node: str) -> None:
    port = topo.nodes[node].port
    refusal = handshake_refused(port, no_certificate_context(topo))
    assert refusal, refusal
    with (
        httpx.Client(base_url=f"https://{HOST}:{port}", verify=no_certificate_context(topo)) as client,
        pytest.raises(httpx.TransportError),
    ):
        client.post(
            f"{C}/session", json={"TYPE": "Login", "userAndPassword": {"userId": ADMIN[0], "password": ADMIN[1]}}
        )


@pytest.mark.parametrize("node", ["controller", "agent"])
def test_certificate_of_another_ca_refuses_the_handshake(topo: Topology, tmp_path: Path, node: str) -> None:
    create_ca(tmp_path / "rogue-ca", name="rogue CA")
    create_node_certificate(tmp_path / "rogue-ca", tmp_path / "rogue", "client", [HOST])  # a forged "client"
    rogue = TlsConfig(
        cert_file=tmp_path / "rogue" / "node.crt",
        key_file=tmp_path / "rogue" / "node.key",
        ca_file=topo.root / "certs" / "ca" / "ca.crt",  # it trusts our server; our server must not trust it
    )
    port = topo.nodes[node].port
    handshake_refused(port, client_ssl_context(rogue))
    with (
        httpx.Client(base_url=f"https://{HOST}:{port}", verify=client_ssl_context(rogue)) as client,
        pytest.raises(httpx.TransportError),
    ):
        client.get(f"{C}/order")


@pytest.mark.parametrize(("method", "path", "body"), GUARDED)
def test_certificate_of_no_user_is_401(topo: Topology, method: str, path: str, body: Any) -> None:
    with topo.client("controller", certificate="stranger") as stranger:
        response = _send(stranger, method, path, body)
    assert_problem(response, 401, "Unauthorized")
    assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(("method", "path", "body"), [g for g in GUARDED if g[0] == "POST"] + [GUARDED[-1]])
def test_user_without_permission_is_403(topo: Topology, method: str, path: str, body: Any) -> None:
    with topo.client("controller", certificate="reader") as reader:
        assert_problem(_send(reader, method, path, body), 403, "Forbidden")
    with topo.client("controller", certificate="stranger") as stranger:  # the same user by password
        assert_problem(_send(stranger, method, path, body, headers=basic(*READER)), 403, "Forbidden")


def test_reader_may_read(topo: Topology) -> None:
    with topo.client("controller", certificate="reader") as reader:
        assert reader.get(f"{C}/order").status_code == 200
        assert reader.get(f"{C}/event", params={"timeout": 0}).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), GUARDED)
@pytest.mark.parametrize("token", ["bogus", "", "x" * 5000, "\u00e9t\u00e9"])
def test_bogus_session_token_is_401(controller: httpx.Client, method: str, path: str, body: Any, token: str) -> None:
    headers = {"x-js7-session": token.encode()}
    assert_problem(_send(controller, method, path, body, headers=headers), 401, "InvalidSessionToken")


def test_session_token_after_logout_is_401(controller: httpx.Client) -> None:
    login = {"TYPE": "Login", "userAndPassword": {"userId": ADMIN[0], "password": ADMIN[1]}}
    token = controller.post(f"{C}/session", json=login).json()["sessionToken"]
    assert controller.get(f"{C}/order", headers={"x-js7-session": token}).status_code == 200
    assert controller.post(f"{C}/session", json={"TYPE": "Logout", "sessionToken": token}).status_code == 200
    assert_problem(controller.get(f"{C}/order", headers={"x-js7-session": token}), 401, "InvalidSessionToken")


@pytest.mark.parametrize("user", [ADMIN[0], "nobody"])
def test_basic_with_wrong_password_is_401_after_the_delay(controller: httpx.Client, user: str) -> None:
    started = time.monotonic()
    response = controller.get(f"{C}/order", headers=basic(user, "wrong"))
    assert time.monotonic() - started >= 0.9
    assert_problem(response, 401, "InvalidLogin")
    assert "wrong" not in response.text


def test_login_with_wrong_password_is_401_after_the_delay(controller: httpx.Client) -> None:
    started = time.monotonic()
    login = {"TYPE": "Login", "userAndPassword": {"userId": ADMIN[0], "password": "wrong"}}
    response = controller.post(f"{C}/session", json=login)
    assert time.monotonic() - started >= 0.9
    assert_problem(response, 401, "InvalidLogin")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer abc", "Basic", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(), "Basic \xff"],
)
def test_malformed_authorization_is_401(controller: httpx.Client, authorization: str) -> None:
    headers = {"Authorization": authorization.encode()}
    assert_problem(controller.get(f"{C}/order", headers=headers), 401, "Unauthorized")


# -- the Agent -------------------------------------------------------------------------------------

AGENT_COMMAND = f"{A}/command"


@pytest.mark.parametrize("body", [b"{", b"\xff", b'{"TYPE": "NoOperation", "TYPE": "x"}', b"[" * 30_000, b""], ids=str)
def test_agent_malformed_json(agent: httpx.Client, body: bytes) -> None:
    assert_problem(raw(agent, AGENT_COMMAND, body), 400, "InvalidJson")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-ndjson", ""])
def test_agent_wrong_content_type(agent: httpx.Client, content_type: str) -> None:
    assert_problem(raw(agent, AGENT_COMMAND, b'{"TYPE": "NoOperation"}', content_type), 415, "UnsupportedMediaType")


def test_agent_oversize_bodies(agent: httpx.Client) -> None:
    response = agent.post(AGENT_COMMAND, content=streamed(EIGHT_MIB + 1), headers={"Content-Type": "application/json"})
    assert_problem(response, 413, "PayloadTooLarge")
    assert_problem(raw(agent, AGENT_COMMAND, b" " * (EIGHT_MIB + 1)), 413, "PayloadTooLarge")


@pytest.mark.parametrize(
    ("command", "code"),
    [
        ({"TYPE": "Frobnicate"}, "UnknownCommand"),
        ({"orderId": "x"}, "InvalidRequest"),
        ("NoOperation", "InvalidRequest"),
        ({"TYPE": "Batch", "commands": "NoOperation"}, "InvalidRequest"),
        ({"TYPE": "ReleaseEvents"}, "MissingField"),
        ({"TYPE": "ReleaseEvents", "untilEventId": "soon"}, "WrongType"),
        ({"TYPE": "ReleaseEvents", "untilEventId": True}, "WrongType"),
        ({"TYPE": "ReleaseEvents", "untilEventId": 1.5}, "WrongType"),
        ({"TYPE": "ReleaseEvents", "untilEventId": -1}, "InvalidRequest"),
        ({"TYPE": "ReleaseEvents", "untilEventId": 10**19}, "UnknownEventId"),
        ({"TYPE": "ReleaseEvents", "untilEventID": 0}, "UnknownField"),
        ({"TYPE": "NoOperation", "please": True}, "UnknownField"),
        ({"TYPE": "DetachOrder", "orderId": {"id": "x"}}, "WrongType"),
        ({"TYPE": "CoupleController", "agentPath": "agent", "agentRunId": "x", "eventId": "abc"}, "WrongType"),
        ({"TYPE": "CoupleController", "agentPath": "agent", "agentRunId": "x", "eventId": -1}, "InvalidRequest"),
        (
            {"TYPE": "DedicateAgentDirector", "agentPath": "agent", "controllerId": "js7es-test", "directors": 5},
            "WrongType",
        ),
        (
            {"TYPE": "DedicateAgentDirector", "agentPath": "agent", "controllerId": "js7es-test", "directors": [5]},
            "InvalidRequest",
        ),
        ({"TYPE": "DedicateAgentDirector", "agentPath": "agent", "controllerId": ["js7es-test"]}, "WrongType"),
        ({"TYPE": "AttachItems", "items": "all"}, "WrongType"),
        ({"TYPE": "AttachItems", "items": [{"TYPE": "Gadget"}]}, "UnknownItemType"),
        ({"TYPE": "AttachOrder", "order": {"id": "x"}}, "InvalidOrder"),
        ({"TYPE": "AttachOrder", "order": "x"}, "WrongType"),
        ({"TYPE": "MarkOrder", "orderId": "x", "mark": 5}, "WrongType"),
        ({"TYPE": "MarkOrder", "orderId": "x", "mark": {"TYPE": "Exploding"}}, "InvalidRequest"),
        (
            {"TYPE": "CoupleController", "agentPath": "agent", "agentRunId": "not-this-one", "eventId": 0},
            "AgentRunIdMismatch",
        ),
        ({"TYPE": "CoupleController", "agentPath": "other", "agentRunId": "x", "eventId": 0}, "AgentPathMismatch"),
        ({"TYPE": "DedicateAgentDirector", "agentPath": "agent"}, "MissingField"),
        ({"TYPE": "DedicateAgentDirector", "agentPath": "other", "controllerId": "js7es-test"}, "AgentPathMismatch"),
    ],
)
def test_agent_bad_command(agent: httpx.Client, command: Any, code: str) -> None:
    assert_problem(agent.post(AGENT_COMMAND, json=command), 400, code)


def test_agent_batch_answers_each_command(agent: httpx.Client) -> None:
    batch = {"TYPE": "Batch", "commands": [{"TYPE": "NoOperation"}, {"TYPE": "Frobnicate"}, 7]}
    response = agent.post(AGENT_COMMAND, json=batch)
    assert response.status_code == 200, response.text
    ok, unknown, invalid = response.json()
    assert ok == {"TYPE": "Accepted"}
    assert unknown["TYPE"] == "Problem" and unknown["code"] == "UnknownCommand"
    assert invalid["TYPE"] == "Problem" and invalid["code"] == "InvalidRequest"


def test_agent_used_by_the_client_user_is_403(topo: Topology) -> None:
    with topo.client("agent") as client:  # "client" is known at the Agent, without AgentDirector
        assert_problem(client.post(AGENT_COMMAND, json={"TYPE": "NoOperation"}), 403, "Forbidden")
        assert_problem(client.get(f"{A}/event"), 403, "Forbidden")
        assert client.get("/metrics").status_code == 200  # what it may do
    with topo.client("agent", certificate="stranger") as stranger:
        assert_problem(stranger.post(AGENT_COMMAND, json={"TYPE": "NoOperation"}), 401, "Unauthorized")
        assert_problem(stranger.get(f"{A}/event"), 401, "Unauthorized")
        assert_problem(stranger.get(f"{A}/event", headers={"x-js7-session": "bogus"}), 401, "InvalidSessionToken")
        assert_problem(
            stranger.post(AGENT_COMMAND, json={"TYPE": "NoOperation"}, headers=basic("controller", "x")),
            401,
            "InvalidLogin",
        )


def test_another_controller_id_is_refused_by_a_dedicated_agent(agent: httpx.Client) -> None:
    command = {"TYPE": "DedicateAgentDirector", "agentPath": "agent", "directors": [], "controllerId": "intruder"}
    problem = assert_problem(agent.post(AGENT_COMMAND, json=command), 403, "AgentWrongController")
    assert "intruder" in problem["message"]


def test_a_second_controller_cannot_take_the_agent(topo: Topology) -> None:
    topo.add_controller("rival", "rival-controller")
    topo.start("rival")
    try:
        with topo.client("rival") as rival:
            operations = [{"TYPE": "AddOrChangeSimple", "item": item} for item in topo.agent_items()]
            assert rival.post(f"{C}/item", json=operations).status_code == 200
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                agents = rival.get(C).json()["agents"]
                if "AgentWrongController" in agents.get("agent", {}).get("problem", ""):
                    break
                time.sleep(0.2)
            else:
                raise AssertionError(f"the rival Controller was not refused: {agents}")
            assert agents["agent"]["coupling"] != "Coupled", agents
    finally:
        topo.kill("rival")
    with topo.client("agent", certificate="controller") as agent:
        overview = agent.get(A).json()
    assert overview["controllerId"] == topo.controller_id


# -- metrics ---------------------------------------------------------------------------------------


def test_metrics_need_read_metrics(topo: Topology) -> None:
    with topo.client("controller", certificate="stranger") as stranger:
        response = stranger.get("/metrics", headers=basic(*METRICS))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        assert "js7es_journal_last_event_id" in response.text
        assert "# TYPE js7es_http_requests_total counter" in response.text
        assert_problem(stranger.get("/metrics"), 401, "Unauthorized")
        assert_problem(stranger.get("/metrics", headers=basic(*READER)), 403, "Forbidden")
    with topo.client("controller", certificate="reader") as reader:
        assert_problem(reader.get("/metrics"), 403, "Forbidden")


# -- and after all of it ---------------------------------------------------------------------------


def _server_errors(metrics: str) -> list[str]:
    return [
        line
        for line in metrics.splitlines()
        if line.startswith("js7es_http_requests_total{") and 'status="5' in line and not line.endswith(" 0.0")
    ]


def test_after_all_of_it_the_nodes_are_healthy_and_run_orders(
    topo: Topology, controller: httpx.Client, agent: httpx.Client
) -> None:
    assert controller.get(f"{C}/health").status_code == 200
    assert agent.get(f"{A}/health").status_code == 200
    response = topo.add_order("after-all", "hello")
    assert response.status_code == 201, response.text
    events = topo.wait_for(lambda es: topo.terminated(es, "after-all"))
    assert topo.order_events(events, "after-all")[-1] == "OrderFinished"
    assert controller.get(C).json()["agents"]["agent"]["coupling"] == "Coupled"
    assert _server_errors(controller.get("/metrics").text) == []
    with topo.client("agent") as client:
        assert _server_errors(client.get("/metrics").text) == []
    for name in ("controller", "agent"):
        assert "Traceback" not in topo.nodes[name].log_file.read_text(), topo.log(name)
