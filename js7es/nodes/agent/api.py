"""The Agent Director's web service, `/agent/api/...`: the Controller's commands and the event stream.

Only a user with the permission AgentDirector (the Controller, normally known by its client
certificate) may use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from js7es.domain.agent.commands import (
    AgentClusterSwitchOver,
    AgentCommand,
    AgentNoOperation,
    DedicateAgentDirector,
    ReleaseAgentEvents,
    ShutDownAgent,
)
from js7es.domain.agent.decide import ACCEPTED, NODE_COMMANDS, decode_command
from js7es.domain.problem import Problem, ProblemError, problem
from js7es.nodes.agent.director import AgentDirector
from js7es.nodes.http import (
    ARRAY,
    BOOLEAN,
    INTEGER,
    OBJECT,
    STRING,
    Authenticator,
    Shape,
    json_response,
)
from js7es.nodes.http.command_stream import command_routes, problem_answer
from js7es.nodes.http.event_stream import event_stream_route
from js7es.nodes.http.problems import problem_body, register_status

PREFIX = "/agent/api"
PERMISSION = "AgentDirector"
register_status("AgentWrongController", 403)

# The fields of each command, checked before it runs: a wrong type is refused, not converted.
_SHAPES = {
    shape.where: shape
    for shape in (
        Shape("DedicateAgentDirector", {"agentPath": STRING, "controllerId": STRING}, {"directors": ARRAY}),
        Shape("CoupleController", {"agentPath": STRING, "agentRunId": STRING, "eventId": INTEGER}),
        Shape("AttachItems", {"items": ARRAY}),
        Shape("AttachOrder", {"order": OBJECT}),
        Shape("DetachOrder", {"orderId": STRING}),
        Shape("DetachItem", {"key": STRING}),  # a deleted FileWatch
        Shape("MarkOrder", {"orderId": STRING, "mark": OBJECT}),
        Shape("ResetSubagent", {"subagentId": STRING}, {"force": BOOLEAN}),
        Shape("ReleaseEvents", {"untilEventId": INTEGER}),  # the node's commands: ReleaseEvents, ShutDown, …
        Shape("ShutDown", optional={"processSignal": STRING, "suppressSnapshot": BOOLEAN, "restart": BOOLEAN}),
        Shape("NoOperation"),
        Shape("ClusterSwitchOver"),
    )
}


def _checked(command: Mapping[str, Any]) -> Problem | None:
    shape = _SHAPES.get(command["TYPE"])
    if shape is None:
        return None  # Batch, or an unknown command: answered by the caller
    checked = shape.check(dict(command))
    if isinstance(checked, Problem):
        return checked
    for name in ("eventId", "untilEventId"):
        if isinstance(command.get(name), int) and command[name] < 0:
            return problem("InvalidRequest", f"{command['TYPE']}.{name} must be an EventId (>= 0)")
    directors = command.get("directors", [])
    if not all(isinstance(d, str) for d in directors):
        return problem("InvalidRequest", f"{command['TYPE']}.directors must be a list of strings")
    return None


def agent_routes(
    director: AgentDirector | Callable[[], AgentDirector | Problem],
    auth: Authenticator,
    *,
    on_shutdown: Callable[[], None],
    event_journal: Callable[[AgentDirector], Any] | None = None,
    on_switchover: Callable[[], Awaitable[Problem | None]] | None = None,
) -> list[BaseRoute]:
    """The Agent's API on `director`, or on the active Director of a pair that `director()` returns (a
    Problem — ClusterNodeIsNotActive, naming the active node — when this node is not it); then
    `event_journal` gives the committed view of its journal that readers may see."""

    def active() -> AgentDirector:
        found = director() if callable(director) else director
        if isinstance(found, Problem):
            raise ProblemError(found)
        return found

    def journal() -> Any:
        found = active()
        return event_journal(found) if event_journal is not None else found.journal

    def decoded(command: Any) -> AgentCommand | Problem:
        if not isinstance(command, Mapping) or not isinstance(command.get("TYPE"), str):
            return problem("InvalidRequest", "A command is a JSON object with a TYPE")
        if command["TYPE"] == "Batch" or command["TYPE"] not in _SHAPES:
            return problem("UnknownCommand", f"Unknown Agent command {command['TYPE']!r}")
        if (refused := _checked(command)) is not None:
            return refused
        return decode_command(command)

    async def one(command: Any) -> Any | Problem:
        return await execute_one(decoded(command))

    async def execute_one(decoded: AgentCommand | Problem) -> Any | Problem:
        if isinstance(decoded, Problem):
            return decoded
        try:
            director = active()
        except ProblemError as e:
            return e.problem
        if isinstance(decoded, AgentClusterSwitchOver):
            if on_switchover is None:
                return problem("ClusterNodesNotCoupled", "This Agent is not a Director pair")
            return await on_switchover() or ACCEPTED
        return await _execute(director, decoded, on_shutdown)

    async def batch(commands: list[AgentCommand | Problem]) -> list[Any]:
        """All commands of a batch apply in order, then share one commit. The Controller's batches
        (orders, marks, items) are decided in one pass (`AgentDirector.execute_batch`); a batch with a
        node command or a dedication runs each command as if alone (Engine batches per loop turn)."""
        state_commands = [c for c in commands if not isinstance(c, Problem)]
        if any(isinstance(c, (*NODE_COMMANDS, DedicateAgentDirector)) for c in state_commands):
            return list(await asyncio.gather(*(execute_one(c) for c in commands)))
        try:
            director = active()
        except ProblemError as e:
            return [c if isinstance(c, Problem) else e.problem for c in commands]
        answers = iter(await director.execute_batch(state_commands))
        return [c if isinstance(c, Problem) else next(answers) for c in commands]

    async def answer(body: Any) -> tuple[int, Any]:
        """The HTTP status and JSON body of the answer to a command (or Batch) `body`."""
        if isinstance(body, Mapping) and body.get("TYPE") == "Batch":
            commands = body.get("commands")
            if not isinstance(commands, list):
                return problem_answer(problem("InvalidRequest", "Batch.commands must be a list"))
            answers = await batch([decoded(command) for command in commands])
            return 200, [problem_body(r) if isinstance(r, Problem) else r for r in answers]
        result = await one(body)
        return problem_answer(result) if isinstance(result, Problem) else (200, result)

    async def health(request: Request) -> Response:
        try:  # a Director pair's standby is healthy too: it follows the active
            return json_response({"status": "ok", "eventId": active().journal.last_event_id})
        except ProblemError:
            return json_response({"status": "ok", "active": False})

    return [
        # POSTed, and over one WebSocket of which only the newest is served (http/command_stream.py)
        *command_routes(f"{PREFIX}/command", answer, auth, PERMISSION),
        Route(f"{PREFIX}/event", event_stream_route(journal, authenticator=auth, permission=PERMISSION)),
        Route(f"{PREFIX}/health", health, methods=["GET"]),
    ]


async def _execute(director: AgentDirector, command: AgentCommand, on_shutdown: Callable[[], None]) -> Any | Problem:
    """The node's own commands here; the others are decided on the Agent's state (`AgentDirector.execute`)."""
    match command:
        case ReleaseAgentEvents(until_event_id=until):
            return await director.release_events(until) or ACCEPTED
        case ShutDownAgent():
            on_shutdown()
            return ACCEPTED
        case AgentNoOperation():
            return ACCEPTED
    return await director.execute(command)
