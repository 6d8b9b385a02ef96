"""The Subagent's web service, `/subagent/api/...`: its Director's commands and its event stream.

Only a user with the permission AgentDirector (the Director, normally known by its client certificate)
may use it. The event stream is JS7's (`js7es.nodes.http.event_stream`) on the current run's events;
with ``heartbeat`` the Director tells a silent Subagent from a dead one.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from js7es.domain import codec
from js7es.domain.problem import Problem, problem
from js7es.domain.subagent.commands import SubagentCommand
from js7es.nodes.http import (
    BOOLEAN,
    INTEGER,
    NUMBER,
    OBJECT,
    STRING,
    Authenticator,
    Shape,
    json_response,
)
from js7es.nodes.http.command_stream import command_routes, problem_answer
from js7es.nodes.http.event_stream import event_stream_route
from js7es.nodes.http.problems import problem_body, register_status
from js7es.nodes.subagent.node import SubagentNode

PREFIX = "/subagent/api"
PERMISSION = "AgentDirector"
for _code in ("SubagentAlreadyDedicated", "SubagentIdMismatch"):
    register_status(_code, 409)
for _code in ("SubagentNotDedicated", "SubagentRunIdMismatch"):
    register_status(_code, 400)

_SHAPES = {
    shape.where: shape
    for shape in (
        Shape(
            "DedicateSubagent",
            {"subagentId": STRING, "agentPath": STRING, "agentRunId": STRING, "controllerId": STRING},
        ),
        Shape("CoupleDirector", {"subagentId": STRING, "subagentRunId": STRING, "eventId": INTEGER}),
        Shape(
            "StartOrderProcess",
            {"orderId": STRING, "executable": OBJECT},
            {
                "jobName": (str, type(None)),
                "workflowPath": (str, type(None)),
                "env": OBJECT,
                "arguments": OBJECT,
                "timeout": (int, Decimal, float, type(None)),
                "sigkillDelay": NUMBER,
                "failOnErrWritten": BOOLEAN,
                "step": (str, type(None)),
            },
        ),
        Shape("KillProcess", {"orderId": STRING}, {"signal": STRING}),
        Shape("ReleaseEvents", {"untilEventId": INTEGER}),
        Shape("ShutDown", optional={"processSignal": (str, type(None)), "restart": BOOLEAN}),
        Shape("NoOperation"),
    )
}


def decode_command(body: Any) -> SubagentCommand | Problem:
    """A command from its JSON: its fields and their JSON types checked first, then decoded."""
    if not isinstance(body, Mapping) or not isinstance(body.get("TYPE"), str):
        return problem("InvalidRequest", "A command is a JSON object with a TYPE")
    shape = _SHAPES.get(body["TYPE"])
    if shape is None:
        return problem("UnknownCommand", f"Unknown Subagent command {body['TYPE']!r}")
    checked = shape.check(dict(body))
    if isinstance(checked, Problem):
        return checked
    for name in ("eventId", "untilEventId"):
        if isinstance(body.get(name), int) and body[name] < 0:
            return problem("InvalidRequest", f"{body['TYPE']}.{name} must be an EventId (>= 0)")
    env = body.get("env", {})
    if not all(isinstance(v, str) for v in env.values()):
        return problem("InvalidRequest", "StartOrderProcess.env must map names to strings")
    try:
        return codec.decode(body, SubagentCommand)
    except codec.CodecError as e:
        return problem("InvalidRequest", f"{body['TYPE']}: {e}")


def subagent_routes(node: SubagentNode, auth: Authenticator) -> list[BaseRoute]:
    async def answer(body: Any) -> tuple[int, Any]:
        """The HTTP status and JSON body of the answer to a command (or Batch) `body`."""
        if isinstance(body, Mapping) and body.get("TYPE") == "Batch":  # executed in order, one reply each
            commands = body.get("commands")
            if not isinstance(commands, list) or set(body) != {"TYPE", "commands"}:
                return problem_answer(problem("InvalidRequest", "A Batch is {TYPE, commands: [...]}"))
            replies = []
            for one in commands:
                command = decode_command(one)
                result = command if isinstance(command, Problem) else await node.execute(command)
                replies.append(problem_body(result) if isinstance(result, Problem) else result)
            return 200, replies
        command = decode_command(body)
        if isinstance(command, Problem):
            return problem_answer(command)
        result = await node.execute(command)
        return problem_answer(result) if isinstance(result, Problem) else (200, result)

    async def health(request: Request) -> Response:
        return json_response({"status": "ok", "isDedicated": node.dedication is not None})

    return [
        # POSTed, and over one WebSocket of which only the newest is served (http/command_stream.py)
        *command_routes(f"{PREFIX}/command", answer, auth, PERMISSION),
        Route(f"{PREFIX}/event", event_stream_route(lambda: node.journal, authenticator=auth, permission=PERMISSION)),
        Route(f"{PREFIX}/health", health, methods=["GET"]),
    ]
