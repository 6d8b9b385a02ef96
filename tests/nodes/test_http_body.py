"""Problem bodies and statuses, strict request bodies: every bad input is a coded 4xx, never a 500."""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from decimal import Decimal
from typing import Any

import pytest
from starlette.exceptions import HTTPException, StarletteDeprecationWarning
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from js7es.domain.problem import Problem, ProblemError, problem
from js7es.nodes.http import (
    ARRAY,
    INTEGER,
    NUMBER,
    OBJECT,
    STRING,
    Authenticator,
    NodeOverview,
    Shape,
    Users,
    build_app,
    check_fields,
    json_response,
    problem_body,
    problem_response,
    read_json,
    read_ndjson,
)
from js7es.nodes.http.problems import status_of

with warnings.catch_warnings():  # starlette 1.10 prefers httpx2 for its TestClient; httpx works the same
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

ADD_ORDER = Shape(
    "AddOrder",
    required={"id": STRING, "workflowPath": STRING},
    optional={"arguments": OBJECT, "priority": INTEGER, "weight": NUMBER, "tags": ARRAY},
)
SMALL_LIMIT = 1000


async def add_order(request: Request) -> Response:
    obj = ADD_ORDER.check(await read_json(request, max_bytes=SMALL_LIMIT))
    if isinstance(obj, Problem):
        return problem_response(obj)
    return json_response({"TYPE": "Accepted", "echo": obj})


async def add_orders(request: Request) -> Response:
    values = await read_ndjson(request)
    if isinstance(values, Problem):
        return problem_response(values)
    for value in values:
        checked = ADD_ORDER.check(value)
        if isinstance(checked, Problem):
            return problem_response(checked)
    return json_response({"count": len(values)})


async def raw(request: Request) -> Response:
    return json_response({"size": len(await request.body())})


async def boom(request: Request) -> Response:
    raise RuntimeError("secret internal detail /etc/passwd")


async def problem_error(request: Request) -> Response:
    raise ProblemError(problem("UnknownKey", "Unknown OrderId 'x'", orderId="x"))


async def http_exception(request: Request) -> Response:
    raise HTTPException(409, "Already there")


def make_app(max_body_bytes: int = 8 * 1024 * 1024) -> Any:
    return build_app(
        prefix="/test/api",
        overview=NodeOverview(id="TestNode"),
        authenticator=Authenticator(Users.from_config({}), failed_login_delay=0),
        max_body_bytes=max_body_bytes,
        routes=[
            Route("/test/api/order", add_order, methods=["POST"]),
            Route("/test/api/orders", add_orders, methods=["POST"]),
            Route("/test/api/raw", raw, methods=["POST"]),
            Route("/test/api/boom", boom),
            Route("/test/api/problem-error", problem_error),
            Route("/test/api/http-exception", http_exception),
        ],
    )


@pytest.fixture
def client() -> Any:
    with TestClient(make_app()) as c:
        yield c


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["TYPE"] == "Problem"
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["arguments"], dict)
    return body  # type: ignore[no-any-return]


def post_json(client: TestClient, path: str, content: bytes | str, content_type: str = "application/json") -> Any:
    return client.post(path, content=content, headers={"content-type": content_type})


# ------------------------------------------------------------------------------------------------ problems


def test_problem_body_has_type_code_message_and_arguments() -> None:
    assert problem_body(problem("UnknownOrder", "no", orderId="x")) == {
        "TYPE": "Problem", "code": "UnknownOrder", "message": "no", "arguments": {"orderId": "x"}
    }  # fmt: skip
    assert problem_body(problem("X", "y"))["arguments"] == {}


@pytest.mark.parametrize(
    ("code", "status"),
    [("InvalidRequest", 400), ("UnknownItem", 400), ("EventSeqTorn", 400), ("InvalidJson", 400),
     ("Unauthorized", 401), ("InvalidSessionToken", 401), ("Forbidden", 403), ("DuplicateOrder", 409),
     ("PayloadTooLarge", 413), ("UnsupportedMediaType", 415), ("InternalError", 500)],
)  # fmt: skip
def test_status_by_code(code: str, status: int) -> None:
    assert status_of(problem(code, "m")) == status


def test_an_explicit_status_wins() -> None:
    assert problem_response(problem("UnknownOrder", "m"), 404).status_code == 404


def test_unexpected_exception_is_a_logged_500_without_internals(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = client.get("/test/api/boom")
    body = assert_problem(response, 500, "InternalError")
    assert "secret" not in response.text and "Traceback" not in response.text and body["arguments"] == {}
    assert "secret internal detail" in caplog.text  # the log has it, for the operator


def test_problem_error_and_http_exception_become_problems(client: TestClient) -> None:
    body = assert_problem(client.get("/test/api/problem-error"), 400, "UnknownKey")
    assert body["arguments"] == {"orderId": "x"}
    assert_problem(client.get("/test/api/http-exception"), 409, "Conflict")


def test_unknown_route_and_wrong_method(client: TestClient) -> None:
    assert_problem(client.get("/test/api/nowhere"), 404, "UnknownRoute")
    response = client.delete("/test/api/order")
    assert_problem(response, 405, "MethodNotAllowed")
    assert "POST" in response.headers["allow"]


# ---------------------------------------------------------------------------------------------- bodies


def test_valid_body_is_accepted_with_exact_numbers(client: TestClient) -> None:
    response = post_json(client, "/test/api/order", '{"TYPE":"AddOrder","id":"a","workflowPath":"w","weight":0.1}')
    assert response.status_code == 200
    assert response.json()["echo"]["weight"] == 0.1
    response = post_json(client, "/test/api/order", '{"id":"a","workflowPath":"w"}', "Application/JSON; charset=utf-8")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("content_type", "status", "code"),
    [(None, 415, "UnsupportedMediaType"), ("text/plain", 415, "UnsupportedMediaType"),
     ("application/json; charset=latin-1", 415, "UnsupportedMediaType"),
     ("application/x-ndjson", 415, "UnsupportedMediaType")],
)  # fmt: skip
def test_wrong_content_type(client: TestClient, content_type: str | None, status: int, code: str) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/test/api/order", content=b'{"id":"a","workflowPath":"w"}', headers=headers)
    assert_problem(response, status, code)


@pytest.mark.parametrize(
    ("content", "argument"),
    [(b'{"id": "a",', {"position": "11", "line": "1", "column": "12"}),
     (b'{"id":"a"}\n  x', {"position": "13", "line": "2", "column": "3"}),
     (b'{"id":"\xff"}', {"position": "7"}),
     (b"", {"position": "0"}),
     (b'{"id":"a","id":"b"}', {}),
     (b'{"weight":NaN}', {})],
)  # fmt: skip
def test_invalid_json_is_a_coded_400(client: TestClient, content: bytes, argument: dict[str, str]) -> None:
    body = assert_problem(post_json(client, "/test/api/order", content), 400, "InvalidJson")
    assert argument.items() <= body["arguments"].items()


def test_deep_nesting_is_refused_not_crashed(client: TestClient) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with TestClient(make_app(max_body_bytes=1_000_000)) as c:
        response = c.post("/test/api/orders", content=deep, headers={"content-type": "application/x-ndjson"})
    assert_problem(response, 400, "InvalidJson")


@pytest.mark.parametrize(
    ("obj", "code", "arguments"),
    [({"id": "a", "workflowPath": "w", "foo": 1}, "UnknownField", {"field": "foo", "where": "AddOrder"}),
     ({"id": "a"}, "MissingField", {"field": "workflowPath"}),
     ({"id": 7, "workflowPath": "w"}, "WrongType", {"where": "AddOrder.id", "expected": "string"}),
     ({"id": "a", "workflowPath": "w", "priority": True}, "WrongType", {"expected": "integer"}),
     ({"id": "a", "workflowPath": "w", "priority": 1.5}, "WrongType", {"expected": "integer"}),
     ({"id": "a", "workflowPath": "w", "weight": "1"}, "WrongType", {"expected": "integer or number"}),
     ([1, 2], "WrongType", {"where": "AddOrder", "expected": "object"})],
)  # fmt: skip
def test_strict_fields(client: TestClient, obj: Any, code: str, arguments: dict[str, str]) -> None:
    body = assert_problem(post_json(client, "/test/api/order", json.dumps(obj)), 400, code)
    assert arguments.items() <= body["arguments"].items()
    if code == "UnknownField":
        assert body["message"] == "UnknownField: 'foo' in AddOrder"


def test_check_fields_with_plain_sets() -> None:
    assert check_fields({"a": 1, "TYPE": "X"}, required={"a"}, optional={"b"}, where="X") is None
    refused = check_fields({"a": 1, "c": 2}, required={"a"}, where="X")
    assert refused is not None and refused.code == "UnknownField"
    assert check_fields({"a": Decimal("1.5")}, required={"a": NUMBER}, where="X") is None


def test_ndjson(client: TestClient) -> None:
    lines = '{"id":"a","workflowPath":"w"}\n\n{"id":"b","workflowPath":"w"}\n'
    response = post_json(client, "/test/api/orders", lines, "application/x-ndjson")
    assert response.json() == {"count": 2}
    body = assert_problem(
        post_json(client, "/test/api/orders", '{"id":"a"}\n{oops}\n', "application/x-ndjson"), 400, "InvalidJson"
    )
    assert "line 2" in body["message"] and body["arguments"]["line"] == "2"
    assert_problem(post_json(client, "/test/api/orders", lines, "application/json"), 415, "UnsupportedMediaType")


def test_oversize_body_by_content_length(client: TestClient) -> None:
    assert_problem(post_json(client, "/test/api/order", b" " * (SMALL_LIMIT + 1)), 413, "PayloadTooLarge")
    with TestClient(make_app(max_body_bytes=100)) as small:  # the app-wide guard, for any route
        assert_problem(small.post("/test/api/raw", content=b"x" * 101), 413, "PayloadTooLarge")
        assert small.post("/test/api/raw", content=b"x" * 100).json() == {"size": 100}


def drive(app: Any, path: str, chunk: bytes, chunks: int, headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """Send a body of `chunks` chunks to the ASGI app; the status and how many chunks the app pulled."""
    pulled = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": [(b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80), "state": {},
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    return status, pulled


def test_oversize_chunked_body_is_refused_without_reading_it_all() -> None:
    app = make_app(max_body_bytes=10 * 1024 * 1024)
    kib = b" " * 1024
    # read_json's own limit (1000 bytes): stops after the first chunk that passes it
    assert drive(app, "/test/api/order", kib[:100], 1000, []) == (413, 11)
    # the app-wide guard, for a route reading the body itself
    assert drive(app, "/test/api/raw", kib * 1024, 1000, []) == (413, 11)
    # a too large Content-Length is refused before reading anything
    assert drive(app, "/test/api/raw", kib, 1000, [(b"content-length", b"999999999")]) == (413, 0)
