"""The Controller's command stream to an Agent (js7es/nodes/controller/agent_client.py, agent/api.py): the
Agent's own routes on a real uvicorn (with its WebSocket protocol), the Controller's AgentClient.

The Agent here has no Director: every command is answered with the Problem its `director()` gives, so
what is checked is the way there and back — the stream, its answers as a POST's, the fall-back to
POST, a broken stream. That the real Controller and Agent use the stream under mutual TLS (a user
known by its client certificate) is tests/e2e/test_e2e_orders.py's.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

from js7es.domain import codec
from js7es.domain.agent.commands import AgentBatch, AgentNoOperation
from js7es.domain.problem import Problem, problem
from js7es.nodes.agent.api import agent_routes
from js7es.nodes.client.http import Unreachable
from js7es.nodes.controller.agent_client import AgentClient
from js7es.nodes.http import Authenticator, Users
from js7es.nodes.http.body import MAX_BODY_BYTES
from js7es.nodes.server import server_config
from tests.nodes.serving import Counting, serving

NOT_HERE = problem("AgentNotHere", "no Director in this test")  # answered with 400

USERS = {
    "controller": {"password": "plain:secret", "permissions": ["AgentDirector"]},
    "reader": {"password": "plain:secret", "permissions": ["ReadMetrics"]},
}


@contextmanager
def agent(*, with_stream: bool = True) -> Iterator[tuple[str, Counting]]:
    routes = agent_routes(lambda: NOT_HERE, Authenticator(Users.from_config(USERS)), on_shutdown=lambda: None)
    if not with_stream:  # an Agent of an earlier js7es
        routes = [r for r in routes if not isinstance(r, WebSocketRoute)]
    app = Counting(Starlette(routes=routes))
    # the nodes' own uvicorn configuration (its WebSocket protocol, message size, no compression)
    config = server_config(Starlette(), "127.0.0.1", 0, None)
    with serving(app, ws=config.ws, ws_max_size=config.ws_max_size, ws_per_message_deflate=False) as uri:
        yield uri, app


def run(client: AgentClient, *commands: Any) -> list[Any]:
    async def scenario() -> list[Any]:
        try:
            return [await client.command(c) for c in commands]
        finally:
            await client.close()

    return asyncio.run(asyncio.wait_for(scenario(), 30))


async def post(client: AgentClient) -> Any:
    try:
        return await client._node.post("/agent/api/command", {"TYPE": "NoOperation"})
    finally:
        await client.close()


def test_commands_go_over_one_stream_and_are_answered_as_posted() -> None:
    with agent() as (uri, app):
        answers = run(AgentClient(uri, ssl_context=None, auth=("controller", "secret")), *[AgentNoOperation()] * 5)
        assert app.posts == 0 and app.streams == 1
        posted = asyncio.run(post(AgentClient(uri, ssl_context=None, auth=("controller", "secret"))))
    assert answers == [NOT_HERE] * 5  # the Problem itself, code and message, as the POST answers it
    assert posted == NOT_HERE
    batch = AgentBatch(commands=(AgentNoOperation(), AgentNoOperation()))
    with agent() as (uri, app):
        (answer,) = run(AgentClient(uri, ssl_context=None, auth=("controller", "secret")), batch)
        assert app.posts == 0
    assert isinstance(answer, list) and len(answer) == 2
    assert all(a["TYPE"] == "Problem" and a["code"] == "AgentNotHere" for a in answer)


def test_a_user_refused_on_the_stream_gets_the_posts_answer() -> None:
    with agent() as (uri, app):
        answers = run(AgentClient(uri, ssl_context=None, auth=("reader", "secret")), AgentNoOperation())
        assert app.posts == 1
    assert isinstance(answers[0], Problem) and answers[0].code == "Forbidden"
    with agent() as (uri, app):
        answers = run(AgentClient(uri, ssl_context=None, auth=("controller", "wrong")), AgentNoOperation())
    assert isinstance(answers[0], Problem) and answers[0].code == "InvalidLogin"


def test_an_agent_without_the_stream_gets_posts() -> None:
    with agent(with_stream=False) as (uri, app):
        answers = run(AgentClient(uri, ssl_context=None, auth=("controller", "secret")), *[AgentNoOperation()] * 3)
        assert app.posts == 3 and app.streams == 1  # asked once
    assert answers == [NOT_HERE] * 3


def test_a_large_command_goes_over_the_stream_and_only_one_beyond_the_agents_limit_is_posted() -> None:
    """Every command the Agent can take goes over the stream, so that its guard against stale commands
    (the newest stream only) covers all it executes; a command beyond its limit is POSTed and refused
    there as PayloadTooLarge, not executed. The large Batch's answer (a Problem per command) is larger
    than the command limit: answers have none, as a POST's."""
    large = AgentBatch(commands=(AgentNoOperation(),) * 150_000)  # about 3.6 MB as JSON, 16 MB answered
    too_large = AgentBatch(commands=(AgentNoOperation(),) * 400_000)  # about 9.6 MB
    assert 2 * 2**20 < len(json.dumps(codec.encode(large))) < MAX_BODY_BYTES < len(json.dumps(codec.encode(too_large)))
    with agent() as (uri, app):
        large_answer, too_large_answer = run(
            AgentClient(uri, ssl_context=None, auth=("controller", "secret")), large, too_large
        )
        assert app.streams == 1 and app.posts == 1
    assert isinstance(large_answer, list) and len(large_answer) == 150_000
    assert large_answer[-1]["code"] == "AgentNotHere"
    assert isinstance(too_large_answer, Problem) and too_large_answer.code == "PayloadTooLarge"


def test_a_broken_stream_is_unreachable_and_the_next_command_opens_a_new_one() -> None:
    with agent() as (uri, app):
        client = AgentClient(uri, ssl_context=None, auth=("controller", "secret"))

        async def scenario() -> None:
            try:
                assert await client.command(AgentNoOperation()) == NOT_HERE
                client._stream.transport.abort()  # the connection breaks (an Agent killed, a network cut)
                with pytest.raises(Unreachable, match="command stream"):
                    await client.command(AgentNoOperation())
                assert await client.command(AgentNoOperation()) == NOT_HERE
            finally:
                await client.close()

        asyncio.run(asyncio.wait_for(scenario(), 30))
        assert app.streams == 2 and app.posts == 0


def test_an_agent_that_does_not_answer_in_time_is_unreachable() -> None:
    async def silent(websocket: Any) -> None:  # takes the command, answers nothing
        await websocket.accept()
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    app = Counting(Starlette(routes=[WebSocketRoute("/agent/api/command", silent)]))
    with serving(app) as uri:
        client = AgentClient(uri, ssl_context=None, timeout_s=0.5)

        async def scenario() -> None:
            try:
                with pytest.raises(Unreachable, match="TimeoutError"):
                    await client.command(AgentNoOperation())
                assert client._stream is None  # out of step: closed, the next command opens a new one
            finally:
                await client.close()

        asyncio.run(asyncio.wait_for(scenario(), 30))


def test_the_uvicorn_of_every_node_serves_websockets() -> None:
    config = server_config(Starlette(), "127.0.0.1", 0, None)
    assert isinstance(config, uvicorn.Config) and config.ws not in ("none", None)


def test_bad_input_on_the_stream_is_answered_with_a_coded_problem() -> None:
    from websockets.asyncio.client import connect

    async def scenario(uri: str) -> list[str]:
        headers = {"Authorization": "Basic " + base64.b64encode(b"controller:secret").decode()}
        async with connect("ws:" + uri.split(":", 1)[1] + "/agent/api/command", additional_headers=headers) as ws:
            answers = []
            for message in ("{not json", b"", b"[1, 2]", '{"TYPE": "Batch", "commands": 7}', '{"TYPE": "Nonsense"}'):
                await ws.send(message)
                answers.append(str(await ws.recv()))
            return answers

    with agent() as (uri, _):
        answers = asyncio.run(asyncio.wait_for(scenario(uri), 30))
    codes = [(a.split(" ", 1)[0], json.loads(a.split(" ", 1)[1])["code"]) for a in answers]
    assert codes == [
        ("400", "InvalidJson"),
        ("400", "InvalidJson"),
        ("400", "InvalidRequest"),
        ("400", "InvalidRequest"),
        ("400", "UnknownCommand"),
    ]


def test_a_command_on_a_superseded_stream_is_not_executed() -> None:
    """What arrives on an older stream after a newer one opened is stale (TCP delivering it after a
    network cut healed): the Agent closes that stream and does not execute it."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async def scenario(uri: str) -> tuple[str, int | None]:
        headers = {"Authorization": "Basic " + base64.b64encode(b"controller:secret").decode()}
        url = "ws:" + uri.split(":", 1)[1] + "/agent/api/command"
        async with connect(url, additional_headers=headers) as old, connect(url, additional_headers=headers) as new:
            await new.send('{"TYPE": "NoOperation"}')
            answer = str(await new.recv())
            await old.send('{"TYPE": "NoOperation"}')
            with pytest.raises(ConnectionClosed) as closed:
                await old.recv()
            return answer, closed.value.rcvd.code if closed.value.rcvd is not None else None

    executed: list[Any] = []

    def director() -> Problem:
        executed.append(1)
        return NOT_HERE

    routes = agent_routes(director, Authenticator(Users.from_config(USERS)), on_shutdown=lambda: None)
    with serving(Starlette(routes=routes), ws_per_message_deflate=False) as uri:
        answer, code = asyncio.run(asyncio.wait_for(scenario(uri), 30))
    assert answer.startswith("400 ") and code == 4001
    assert executed == [1]  # the newer stream's command only
