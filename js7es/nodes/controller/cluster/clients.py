"""HTTP clients of a cluster node: for its peer (replication, acknowledgements) and for the Cluster Watch."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from js7es.domain.event import stamped_from_json
from js7es.domain.problem import Problem, problem
from js7es.domain.value import dumps, loads

JSON_HEADERS = {"Content-Type": "application/json"}


class Unreachable(Exception):
    """The other side did not answer (connection refused or reset, timeout, a 5xx without a problem)."""


def _client(uri: str, ssl_context: ssl.SSLContext | None, auth: tuple[str, str] | None, timeout_s: float) -> Any:
    return httpx.AsyncClient(
        base_url=uri,
        verify=ssl_context if ssl_context is not None else False,
        auth=auth,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0)),
        limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
    )


def _problem_of(body: Any, status: int, uri: str) -> Problem:
    if isinstance(body, dict) and "code" in body:
        return Problem(
            code=str(body["code"]),
            message=str(body.get("message", "")),
            arguments={str(k): str(v) for k, v in (body.get("arguments") or {}).items()},
        )
    return problem("UnexpectedResponse", f"{uri}: HTTP {status}")


def _result(response: httpx.Response, uri: str) -> Any | Problem:
    try:
        body = loads(response.content) if response.content else None
    except ValueError:
        body = None
    if response.status_code >= 400:
        p = _problem_of(body, response.status_code, uri)
        if response.status_code >= 500 and p.code in ("UnexpectedResponse", "InternalError"):
            raise Unreachable(f"{uri}: HTTP {response.status_code}")
        return p
    return body


async def _post(client: Any, uri: str, path: str, body: Mapping[str, Any]) -> Any | Problem:
    try:
        response = await client.post(path, content=dumps(dict(body)).encode(), headers=JSON_HEADERS)
    except httpx.HTTPError as e:
        raise Unreachable(f"{uri}: {type(e).__name__}: {e}") from e
    return _result(response, uri)


class PeerClient:
    """The other Controller node of the cluster (`/controller/api/cluster/...`)."""

    def __init__(
        self, uri: str, *, ssl_context: ssl.SSLContext | None, auth: tuple[str, str] | None, timeout_s: float
    ) -> None:
        self.uri = uri
        self._timeout_s = timeout_s
        self._client = _client(uri, ssl_context, auth, timeout_s)

    async def close(self) -> None:
        await self._client.aclose()

    async def info(self) -> dict[str, Any] | Problem:
        """`{"nodeId", "active", "clusterState", "eventId"}` of the peer."""
        try:
            response = await self._client.get("/controller/api/cluster")
        except httpx.HTTPError as e:
            raise Unreachable(f"{self.uri}: {type(e).__name__}: {e}") from e
        result = _result(response, self.uri)
        return result if isinstance(result, (dict, Problem)) else problem("UnexpectedResponse", str(result))

    async def ack(self, node_id: str, event_id: int) -> Any | Problem:
        return await _post(
            self._client, self.uri, "/controller/api/cluster/ack", {"nodeId": node_id, "eventId": event_id}
        )

    async def ack_stream(self, lines: AsyncIterator[bytes]) -> Any | Problem:
        """POST the acknowledgement lines as one streamed body; returns when the active answers."""
        try:
            response = await self._client.post(
                "/controller/api/cluster/acks",
                content=lines,
                headers={"Content-Type": "application/x-ndjson"},
                timeout=httpx.Timeout(None, connect=2.0),
            )
        except httpx.HTTPError as e:
            raise Unreachable(f"{self.uri}: {type(e).__name__}: {e}") from e
        return _result(response, self.uri)

    async def journal(self, after: int, *, node_id: str, heartbeat_s: float) -> AsyncIterator[Any] | Problem:
        """The active's commits after `after`: the header, then `list[Stamped]` per commit, and `None` for
        each heartbeat. Raises Unreachable when the stream cannot be opened or breaks."""
        params = {"after": str(after), "heartbeat": str(heartbeat_s), "nodeId": node_id}
        request = self._client.build_request(
            "GET", "/controller/api/cluster/journal", params=params, timeout=httpx.Timeout(None, connect=2.0)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as e:
            raise Unreachable(f"{self.uri}: {type(e).__name__}: {e}") from e
        if response.status_code != 200:
            await response.aread()
            await response.aclose()
            result = _result(response, self.uri)
            return result if isinstance(result, Problem) else problem("UnexpectedResponse", str(result))
        return self._lines(response)

    async def _lines(self, response: httpx.Response) -> AsyncIterator[Any]:
        rest = b""
        try:
            async for chunk in response.aiter_raw():
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                for line in lines:
                    if not line:
                        continue
                    obj = loads(line)
                    if isinstance(obj, list):
                        yield [stamped_from_json(s) for s in obj]
                    elif obj.get("TYPE") == "Heartbeat":
                        yield None
                    else:
                        yield obj
        except httpx.HTTPError as e:
            raise Unreachable(f"{self.uri}: {type(e).__name__}: {e}") from e
        finally:
            await response.aclose()

    async def snapshot(self) -> tuple[dict[str, Any], list[dict[str, Any]]] | Problem:
        """The active's state as snapshot objects: (header with journalId and eventId, objects)."""
        try:
            response = await self._client.get("/controller/api/cluster/snapshot", timeout=120)
        except httpx.HTTPError as e:
            raise Unreachable(f"{self.uri}: {type(e).__name__}: {e}") from e
        if response.status_code != 200:
            result = _result(response, self.uri)
            return result if isinstance(result, Problem) else problem("UnexpectedResponse", str(result))
        lines = [loads(line) for line in response.content.split(b"\n") if line]
        return lines[0], lines[1:]


class WatchClient:
    """The Cluster Watch (`/cluster-watch/api/...`): reports and requests for consent to a node loss."""

    def __init__(
        self, uri: str, *, ssl_context: ssl.SSLContext | None, auth: tuple[str, str] | None, timeout_s: float
    ) -> None:
        self.uri = uri
        self._client = _client(uri, ssl_context, auth, timeout_s)

    async def close(self) -> None:
        await self._client.aclose()

    async def report(self, body: Mapping[str, Any]) -> Any | Problem:
        return await _post(self._client, self.uri, "/cluster-watch/api/report", body)

    async def node_loss(self, body: Mapping[str, Any]) -> Any | Problem:
        return await _post(self._client, self.uri, "/cluster-watch/api/node-loss", body)
