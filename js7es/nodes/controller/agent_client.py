"""The Controller's client for one Agent Director (`/agent/api/...`): its commands over the command stream
(js7es/nodes/client/command_stream.py), its events over HTTP (js7es/nodes/client/http.py)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from js7es.domain import codec
from js7es.domain.agent.commands import AgentCommand
from js7es.domain.event import Stamped
from js7es.domain.problem import Problem
from js7es.journal.format import decode_lines
from js7es.nodes.client.command_stream import CommandStreamClient
from js7es.nodes.client.http import read_ahead, timeouts


class AgentClient(CommandStreamClient):
    """An Agent's answers are values or Problems; an Agent that does not answer, or answers with a 5xx
    (whatever its body), raises `Unreachable`: try again later. Commands go over the Agent's command
    stream (client/command_stream.py)."""

    REFUSED_CODE = "AgentRefused"
    COMMAND_PATH = "/agent/api/command"

    async def command(self, command: AgentCommand) -> Any | Problem:
        """Send a typed command (encoded by the codec); the Agent's reply, or its problem."""
        return await self.send_command(codec.encode(command))

    async def events(
        self, after: int, *, timeout_s: float, limit: int
    ) -> AsyncGenerator[list[Stamped], None] | Problem:
        """The Agent's events after `after` as they come (a long-poll stream of JS7's ndjson), in batches
        of what arrived together; or the Problem (e.g. EventSeqTorn) the Agent answered with."""
        # delay: after the first new event the Agent waits a moment to send more in one chunk.
        params = {"after": str(after), "timeout": str(timeout_s), "limit": str(limit), "delay": "0.005"}
        response = await self._node.open_stream(
            "/agent/api/event", params, timeout=timeouts(timeout_s + 10, connect_s=3.0)
        )
        if isinstance(response, Problem):
            return response
        # Read on while the Controller commits what came (and, in a cluster, awaits its standby).
        return read_ahead(self._batches(response))

    async def _batches(self, response: Any) -> AsyncGenerator[list[Stamped], None]:
        async for lines in self._node.lines(response):
            if lines:  # one parse per chunk, not per line (node_bench's profile: 5 % of the Controller)
                yield decode_lines(lines)
