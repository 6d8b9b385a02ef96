"""A node's command client over its command stream (js7es/nodes/http/command_stream.py): the Controller's
`AgentClient`, an Agent Director's `SubagentClient`.

Commands go over one WebSocket to the node's command path, one at a time, each answered in order as its
POST would be. A POST through the HTTP client cost the Controller about 1 ms of CPU (httpx's layers),
the larger part of its work for the shell job's orders (bench/README.md, "the command stream"). The
stream is also what guards against a stale command: the node serves only the newest stream, so a
command given up on (in doubt after a broken connection) and delivered late is not executed after its
newer copy. So every command goes over the stream, however large; only one beyond the node's limit is
POSTed, to get the POST's PayloadTooLarge. A node that refuses the upgrade (an earlier js7es, a refused
user) gets POSTs: the POST's problem (Forbidden, InvalidLogin) is then what the caller sees.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from collections.abc import Mapping
from typing import Any

from js7es.domain.problem import Problem
from js7es.domain.value import dumps
from js7es.nodes.client.http import NodeApiClient, Unreachable, decode_answer, timeouts

log = logging.getLogger(__name__)


class CommandStreamClient(NodeApiClient):
    """A node's answers are values or Problems; a node that does not answer, or answers with a 5xx
    (whatever its body), raises `Unreachable`: try again later."""

    COMMAND_PATH = ""  # the node's command route: POST, and the stream's WebSocket

    _stream: Any = None  # websockets' ClientConnection, while open
    _stream_refused = False  # the node refused the upgrade: POSTs
    _stream_lock: asyncio.Lock | None = None  # one command at a time on the stream

    async def send_command(self, body: Mapping[str, Any], *, timeout_s: float | None = None) -> Any | Problem:
        """Send an encoded command; the node's answer, or its problem. `timeout_s`: for this command."""
        if not self._stream_refused:
            from js7es.nodes.http.body import MAX_BODY_BYTES  # the server's side (starlette): not at load

            text = dumps(body)
            # One that may be too large in UTF-8 goes as bytes: its exact size decides.
            message: str | bytes = text.encode() if len(text) * 4 > MAX_BODY_BYTES else text
            if len(message) <= MAX_BODY_BYTES:  # the node's limit, as for a POST
                if self._stream_lock is None:
                    self._stream_lock = asyncio.Lock()
                async with self._stream_lock:
                    if self._stream is None and not self._stream_refused:
                        await self._open_stream()
                    if self._stream is not None:
                        return await self._over_stream(message, timeout_s or self._timeout_s)
        # The node refused the stream, or the command is too large for it (then refused as a POST too).
        kwargs = {} if timeout_s is None else {"timeout": timeouts(timeout_s)}
        return await self._node.post(self.COMMAND_PATH, body, **kwargs)

    async def _open_stream(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus

        secure = self.uri.startswith("https:")
        url = ("wss:" if secure else "ws:") + self.uri.split(":", 1)[1] + self.COMMAND_PATH
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
                max_size=None,  # an answer as large as it comes, as a POST's (a large Batch's answers)
                compression=None,  # small JSON messages: deflate would cost more CPU than it saves
            )
        except InvalidStatus as e:
            status = e.response.status_code
            log.info("%s refused the command stream (HTTP %s): commands are POSTed", self.uri, status)
            self._stream_refused = True
        except (OSError, TimeoutError, InvalidHandshake) as e:
            raise Unreachable(f"{self.uri}: command stream: {type(e).__name__}: {e}") from e

    async def _over_stream(self, message: str | bytes, timeout_s: float) -> Any | Problem:
        from websockets.exceptions import ConnectionClosed

        stream = self._stream
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for returns an answer that came in the same
            # moment as a cancellation and drops the cancellation (a stopping driver then never ended)
            async with asyncio.timeout(timeout_s):
                await stream.send(message)
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
