"""js7es/nodes/client/http.py, the one HTTP client: problems decoded, the unreachable rule, ndjson lines
across chunk boundaries, a stream's chunks read ahead and joined while its consumer is busy, failover to
the other node on ClusterNodeIsNotActive.

Decoding against httpx's MockTransport (a real httpx transport); the failover against two real uvicorn
servers on loopback, one of them a standby.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from js7es.domain.problem import Problem
from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.client.controller import ControllerClient
from js7es.nodes.client.errors import ClientError
from js7es.nodes.client.http import (
    AsyncNodeClient,
    Failover,
    Unreachable,
    asplit_lines,
    decode,
    ndjson_lines,
    read_ahead,
    split_lines,
)
from tests.e2e.topology import free_port
from tests.nodes.serving import serving

URI = "http://node.test"


def answer(status: int, content: bytes = b"") -> httpx.Response:
    return httpx.Response(status, content=content, request=httpx.Request("GET", URI))


def test_a_success_is_its_json_value_with_exact_numbers() -> None:
    assert decode(answer(200, b'{"n": 0.1}'), URI) == {"n": __import__("decimal").Decimal("0.1")}
    assert decode(answer(200), URI) is None


def test_a_refusal_is_its_coded_problem() -> None:
    body = b'{"TYPE":"Problem","code":"UnknownOrder","message":"no such order","arguments":{"orderId":"A"}}'
    assert decode(answer(400, body), URI) == Problem(
        code="UnknownOrder", message="no such order", arguments={"orderId": "A"}
    )
    p = decode(answer(404, b"not json"), URI, refused_code="AgentRefused")
    assert isinstance(p, Problem) and p.code == "AgentRefused" and "HTTP 404" in p.message


def test_a_5xx_without_a_coded_problem_is_unreachable() -> None:
    with pytest.raises(Unreachable, match="HTTP 502"):
        decode(answer(502, b"<html>bad gateway</html>"), URI)
    with pytest.raises(Unreachable, match="HTTP 500"):
        decode(answer(500, b'{"TYPE":"Problem","code":"InternalError","message":""}'), URI)
    not_active = b'{"TYPE":"Problem","code":"ClusterNodeIsNotActive","message":"the standby"}'
    p = decode(answer(503, not_active), URI)
    assert isinstance(p, Problem) and p.code == "ClusterNodeIsNotActive"
    with pytest.raises(Unreachable):  # the Agent: any 5xx means try again later
        decode(answer(503, not_active), URI, every_5xx_unreachable=True)


def test_ndjson_lines_split_across_chunk_boundaries() -> None:
    chunks = [b'{"a":', b'1}\n{"b"', b":2}\n\n", b"\n", b'{"c":3}\n{"unfinished"']
    assert list(split_lines(chunks)) == [[], [b'{"a":1}'], [b'{"b":2}'], [], [b'{"c":3}']]

    async def stream() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async def collect() -> list[list[bytes]]:
        return [lines async for lines in asplit_lines(stream())]

    assert asyncio.run(collect()) == list(split_lines(chunks))
    assert ndjson_lines(b'{"a":1}\n\n{"b":2}') == [b'{"a":1}', b'{"b":2}']


def test_failover_tries_each_node_once() -> None:
    nodes = Failover(["https://a", "https://b"])
    tried: list[str] = []

    def call() -> str:
        tried.append(nodes.uri)
        if nodes.uri == "https://a":
            raise ClientError("ClusterNodeIsNotActive", elsewhere=True)
        return nodes.uri

    assert nodes.call(call, elsewhere=lambda e: isinstance(e, ClientError), switched=lambda: None) == "https://b"
    assert tried == ["https://a", "https://b"]
    nodes.advance()

    def down() -> str:
        raise ClientError("down", elsewhere=True)

    with pytest.raises(ClientError, match="down"):
        nodes.call(down, elsewhere=lambda e: True, switched=lambda: None)


def test_the_async_node_client_turns_transport_failures_into_unreachable() -> None:
    async def run() -> None:
        client = AsyncNodeClient(f"http://127.0.0.1:{free_port()}", ssl_context=None, timeout_s=2, connect_s=1)
        try:
            with pytest.raises(Unreachable, match="ConnectError"):
                await client.get("/anything")
        finally:
            await client.close()

    asyncio.run(run())


@pytest.fixture
def standby() -> Iterator[str]:
    async def not_active(request: Request) -> Response:
        body = {"TYPE": "Problem", "code": "ClusterNodeIsNotActive", "message": "this node is the standby"}
        return JSONResponse(body, status_code=503)

    with serving(Starlette(routes=[Route("/controller/api/{rest:path}", not_active, methods=["GET", "POST"])])) as uri:
        yield uri


@pytest.fixture
def active() -> Iterator[str]:
    async def overview(request: Request) -> Response:
        return JSONResponse({"id": "active"})

    async def events(request: Request) -> Response:
        return Response(b'{"eventId":1}\n\n{"eventId":2}\n', media_type="application/x-ndjson")

    routes = [Route("/controller/api/cluster", overview), Route("/controller/api/event", events)]
    with serving(Starlette(routes=routes)) as uri:
        yield uri


def test_the_controller_client_fails_over_to_the_active_node(standby: str, active: str) -> None:
    with ControllerClient(ControllerConnection(uris=(standby, active)), timeout_s=5) as client:
        assert client.get("/cluster") == {"id": "active"}
        assert client.url == active
    with ControllerClient(ControllerConnection(uris=(standby, active)), timeout_s=5) as client:
        assert list(client.events(0)) == [{"eventId": 1}, {"eventId": 2}]
    with (
        ControllerClient(ControllerConnection(uris=(standby,)), timeout_s=5) as client,
        pytest.raises(ClientError, match="ClusterNodeIsNotActive"),
    ):
        client.get("/cluster")


# -- read_ahead --------------------------------------------------------------------------------------


class Source:
    """An async generator of batches, each as soon as the test lets it go; remembers its closing."""

    def __init__(self) -> None:
        self.go: asyncio.Queue[list[int] | BaseException | None] = asyncio.Queue()
        self.closed = False

    async def batches(self) -> AsyncGenerator[list[int], None]:
        try:
            while (item := await self.go.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.closed = True


def test_read_ahead_joins_what_came_while_the_consumer_was_busy() -> None:
    async def run() -> None:
        source = Source()
        got: list[list[int]] = []
        source.go.put_nowait([1])
        async with contextlib.aclosing(read_ahead(source.batches())) as batches:
            async for batch in batches:
                got.append(batch)
                if batch == [1]:  # busy (a commit, say) while three more chunks come
                    for chunk in ([2], [3, 4], [5]):
                        source.go.put_nowait(chunk)
                        await asyncio.sleep(0.01)
                elif batch == [2, 3, 4, 5]:
                    source.go.put_nowait(None)  # the stream's end
        assert got == [[1], [2, 3, 4, 5]]
        assert source.closed

    asyncio.run(run())


def test_read_ahead_gives_every_batch_before_the_stream_s_error() -> None:
    async def run() -> None:
        source = Source()
        for item in ([1], [2], Unreachable("the stream broke")):
            source.go.put_nowait(item)
        got: list[int] = []
        with pytest.raises(Unreachable, match="the stream broke"):
            async for batch in read_ahead(source.batches()):
                got += batch
        assert got == [1, 2]

    asyncio.run(run())


def test_read_ahead_stops_reading_when_the_consumer_stops() -> None:
    async def run() -> None:
        source = Source()
        source.go.put_nowait([1])
        async with contextlib.aclosing(read_ahead(source.batches())) as batches:
            async for _ in batches:
                break
        assert source.closed  # and its reader task with it: nothing reads the stream on
        source.go.put_nowait([2])
        await asyncio.sleep(0.01)
        assert source.go.qsize() == 1

    asyncio.run(run())
