"""A node's command stream: its commands over one WebSocket beside their POST route (the Controller's to
an Agent, an Agent Director's to a remote Subagent; the client is js7es/nodes/client/command_stream.py).

Each text (or binary) message is one command or Batch as POSTed; each answer is one text message,
"STATUS JSON", in order, the status and body its POST would have had.

Only the newest stream is served: a client opens a new one when the old one failed (or a new active node
does), and what still arrives on an older one is stale — a command the client gave up on and sent again,
which TCP may deliver after a network cut heals, long after its newer copy and what followed it (an
AttachOrder after the order's DetachOrder, a StartOrderProcess after the step's outcome was released,
would run the step a second time). Such a stream is closed, its command not executed. Every command the
client can send goes over the stream, so this guard covers all the node executes (only a command beyond
the POST's size limit is POSTed, and refused there).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from js7es.domain.problem import Problem
from js7es.domain.value import dumps
from js7es.nodes.http.auth import Authenticator
from js7es.nodes.http.body import decode_json, read_json
from js7es.nodes.http.problems import problem_body, problem_response, status_of
from js7es.nodes.http.responses import json_response

WS_POLICY_VIOLATION = 1008  # RFC 6455: the close code of a refused user
WS_SUPERSEDED = 4001  # a command stream closed because a newer one was opened (RFC 6455: 4000-4999 are private)

Answer = Callable[[Any], Awaitable[tuple[int, Any]]]


def command_routes(path: str, answer: Answer, auth: Authenticator, permission: str) -> list[BaseRoute]:
    """`POST path` and the command stream at `path`: `answer(body)` gives a command's (or Batch's) HTTP
    status and JSON body for both."""

    @auth.require(permission)
    async def post_command(request: Request, user: Any) -> Response:
        body = await read_json(request)
        if isinstance(body, Problem):
            return problem_response(body)
        status, answer_body = await answer(body)
        return json_response(answer_body, status=status)

    return [Route(path, post_command, methods=["POST"]), command_stream_route(path, answer, auth, permission)]


def command_stream_route(path: str, answer: Answer, auth: Authenticator, permission: str) -> WebSocketRoute:
    """The stream at `path`; `answer(body)` gives a command's (or Batch's) HTTP status and JSON body."""
    streams = [0]  # the number of the newest stream

    async def command_stream(websocket: WebSocket) -> None:
        user = await auth.check(websocket, permission)
        if isinstance(user, Problem):
            await websocket.close(code=WS_POLICY_VIOLATION, reason=user.message[:120])
            return
        await websocket.accept()
        streams[0] += 1
        mine = streams[0]
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if mine != streams[0]:
                    await websocket.close(code=WS_SUPERSEDED, reason="superseded by a newer command stream")
                    return
                data = message.get("bytes")  # a large command comes as bytes
                if data is None:
                    data = (message.get("text") or "").encode()
                body = decode_json(data)
                status, answer_body = problem_answer(body) if isinstance(body, Problem) else await answer(body)
                await websocket.send_text(f"{status} {dumps(answer_body)}")

    return WebSocketRoute(path, command_stream)


def problem_answer(p: Problem) -> tuple[int, Any]:
    """A Problem's HTTP status and JSON body, as its POST answers it."""
    return status_of(p), problem_body(p)
