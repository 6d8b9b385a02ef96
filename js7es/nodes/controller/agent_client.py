"""The Controller's HTTP client for one Agent Director (`/agent/api/...`), on js7es/nodes/client/http.py."""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from collections.abc import AsyncGenerator
from typing import Any

from js7es.domain import codec
from js7es.domain.agent.commands import AgentCommand
from js7es.domain.event import Stamped
from js7es.domain.problem import Problem
from js7es.domain.value import dumps
from js7es.journal.format import decode_lines
from js7es.nodes.client.http import NodeApiClient, Unreachable, decode_answer, read_ahead, timeouts
from js7es.nodes.http.body import MAX_BODY_BYTES

log = logging.getLogger(__name__)

COMMAND_PATH = "/agent/api/command"


class AgentClient(NodeApiClient):
    """An Agent's answers are values or Problems; an Agent that does not answer, or answers with a 5xx
    (whatever its body), raises `Unreachable`: try again later.

    Commands go over one WebSocket to `/agent/api/command` (the command stream, agent/api.py), one at a
    time, each answered in order as its POST would be. A POST through the HTTP client cost the Controller
    about 1 ms of CPU (httpx's layers), the larger part of its work for the shell job's orders
    (bench/README.md, "the command stream"). An Agent that refuses the upgrade (an earlier js7es, a user
    refused) gets POSTs, as does a command too large for one message.
    """

    REFUSED_CODE = "AgentRefused"

    _stream: Any = None  # websockets' ClientConnection, while open
    _stream_refused = False  # the Agent refused the upgrade: POSTs
    _stream_lock: asyncio.Lock | None = None  # one command at a time on the stream

    async def command(self, command: AgentCommand) -> Any | Problem:
        """Send a typed command (encoded by the codec); the Agent's reply, or its problem."""
        body = codec.encode(command)
        if not self._stream_refused:
            text = dumps(body)
            if len(text) < MAX_BODY_BYTES // 4:  # surely within the Agent's message limit, in UTF-8 too
                if self._stream_lock is None:
                    self._stream_lock = asyncio.Lock()
                async with self._stream_lock:
                    if self._stream is None and not self._stream_refused:
                        await self._open_stream()
                    if self._stream is not None:
                        return await self._over_stream(text)
        return await self._node.post(COMMAND_PATH, body)

    async def _open_stream(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus

        secure = self.uri.startswith("https:")
        url = ("wss:" if secure else "ws:") + self.uri.split(":", 1)[1] + COMMAND_PATH
        headers = {}
        if self._auth is not None:
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(self._auth).encode()).decode()
        context = self._ssl_context
        if secure and context is None:  # as the HTTP client without a context: unverified
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            self._stream = await connect(
                url,
                ssl=context if secure else None,
                additional_headers=headers,
                open_timeout=3.0,
                close_timeout=1.0,
                max_size=MAX_BODY_BYTES,
                compression=None,  # small JSON messages: deflate would cost more CPU than it saves
            )
        except InvalidStatus as e:
            status = e.response.status_code
            log.info("Agent %s refused the command stream (HTTP %s): commands are POSTed", self.uri, status)
            self._stream_refused = True
        except (OSError, TimeoutError, InvalidHandshake) as e:
            raise Unreachable(f"{self.uri}: command stream: {type(e).__name__}: {e}") from e

    async def _over_stream(self, text: str) -> Any | Problem:
        from websockets.exceptions import ConnectionClosed

        stream = self._stream
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for returns an answer that came in the same
            # moment as a cancellation and drops the cancellation (a stopping driver then never ended)
            async with asyncio.timeout(self._timeout_s):
                await stream.send(text)
                answer = await stream.recv()
        except (ConnectionClosed, OSError, TimeoutError) as e:
            await self._close_stream()
            raise Unreachable(f"{self.uri}: command stream: {type(e).__name__}: {e}") from e
        except BaseException:  # cancelled while its answer is due: the stream is out of step
            await asyncio.shield(self._close_stream())
            raise
        if isinstance(answer, bytes):
            answer = answer.decode()
        status, _, content = answer.partition(" ")
        return decode_answer(
            int(status), content.encode(), self.uri, refused_code=self.REFUSED_CODE, every_5xx_unreachable=True
        )

    async def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                await stream.close()
            except Exception as e:  # closing a broken one: nothing to keep
                log.debug("Closing the command stream to %s: %s", self.uri, e)

    async def close(self) -> None:
        await self._close_stream()
        await super().close()

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
