"""The Controller's HTTP client for one Agent Director (`/agent/api/...`)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import httpx

from js7es.domain import codec
from js7es.domain.agent.commands import AgentCommand
from js7es.domain.event import Stamped, stamped_from_json
from js7es.domain.problem import Problem, problem
from js7es.domain.value import dumps, loads

JSON_HEADERS = {"Content-Type": "application/json"}


class AgentUnreachable(Exception):
    """The Agent did not answer (connection refused, reset, timeout, 5xx): try again later."""


class AgentClient:
    def __init__(
        self,
        uri: str,
        *,
        ssl_context: ssl.SSLContext | None,
        auth: tuple[str, str] | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.uri = uri.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.uri,
            verify=ssl_context if ssl_context is not None else False,
            auth=auth,
            timeout=httpx.Timeout(timeout_s, connect=3.0),
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def command(self, command: AgentCommand) -> Any | Problem:
        """Send a typed command (encoded by the codec); the Agent's reply, or its problem."""
        try:
            response = await self._client.post(
                "/agent/api/command",
                content=dumps(codec.encode(command)).encode(),
                headers={"Content-Type": "application/json"},
            )
        except httpx.HTTPError as e:
            raise AgentUnreachable(f"{self.uri}: {type(e).__name__}: {e}") from e
        return _result(response, self.uri)

    async def events(self, after: int, *, timeout_s: float, limit: int) -> AsyncIterator[list[Stamped]] | Problem:
        """The Agent's events after `after` as they come (a long-poll stream of JS7's ndjson), in batches
        of what arrived together; or the Problem (e.g. EventSeqTorn) the Agent answered with."""
        # delay: after the first new event the Agent waits a moment to send more in one chunk.
        params = {"after": str(after), "timeout": str(timeout_s), "limit": str(limit), "delay": "0.005"}
        request = self._client.build_request(
            "GET", "/agent/api/event", params=params, timeout=httpx.Timeout(timeout_s + 10, connect=3.0)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as e:
            raise AgentUnreachable(f"{self.uri}: {type(e).__name__}: {e}") from e
        if response.status_code != 200:
            await response.aread()
            await response.aclose()
            result = _result(response, self.uri)
            return result if isinstance(result, Problem) else problem("UnexpectedResponse", str(result))
        return self._batches(response)

    async def _batches(self, response: httpx.Response) -> AsyncIterator[list[Stamped]]:
        rest = b""
        try:
            async for chunk in response.aiter_raw():
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                batch = [stamped_from_json(loads(line)) for line in lines if line.strip()]
                if batch:
                    yield batch
        except httpx.HTTPError as e:
            raise AgentUnreachable(f"{self.uri}: {type(e).__name__}: {e}") from e
        finally:
            await response.aclose()


def _result(response: httpx.Response, uri: str) -> Any | Problem:
    if response.status_code >= 500:
        raise AgentUnreachable(f"{uri}: HTTP {response.status_code}")
    try:
        body = loads(response.content) if response.content else None
    except ValueError:
        body = None
    if response.status_code >= 400:
        if isinstance(body, dict) and "code" in body:
            return Problem(
                code=str(body["code"]),
                message=str(body.get("message", "")),
                arguments={str(k): str(v) for k, v in (body.get("arguments") or {}).items()},
            )
        return problem("AgentRefused", f"{uri}: HTTP {response.status_code}")
    return body
