"""HTTP clients of a cluster node: for its peer (replication, acknowledgements) and for the Cluster Watch,
on js7es/nodes/client/http.py."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

from js7es.domain.event import stamped_from_json
from js7es.domain.problem import Problem, problem
from js7es.domain.value import loads
from js7es.nodes.client.http import AsyncNodeClient, Unreachable, ndjson_lines, timeouts

__all__ = ["PeerClient", "Unreachable", "WatchClient"]

# Streams and acknowledgements last as long as the cluster is coupled: no timeout but the connection's.
_STREAMING = timeouts(None, connect_s=2.0)


class _ClusterClient:
    """A client of a cluster's other node or of its Cluster Watch: connecting takes 2 s at the most."""

    def __init__(
        self, uri: str, *, ssl_context: ssl.SSLContext | None, auth: tuple[str, str] | None, timeout_s: float
    ) -> None:
        self.uri = uri
        self._node = AsyncNodeClient(
            uri, ssl_context=ssl_context, auth=auth, timeout_s=timeout_s, connect_s=min(timeout_s, 2.0)
        )

    async def close(self) -> None:
        await self._node.close()


class PeerClient(_ClusterClient):
    """The other Controller node of the cluster (`/controller/api/cluster/...`)."""

    async def info(self) -> dict[str, Any] | Problem:
        """`{"nodeId", "active", "clusterState", "eventId"}` of the peer."""
        result = await self._node.get("/controller/api/cluster")
        return result if isinstance(result, (dict, Problem)) else problem("UnexpectedResponse", str(result))

    async def ack(self, node_id: str, event_id: int) -> Any | Problem:
        return await self._node.post("/controller/api/cluster/ack", {"nodeId": node_id, "eventId": event_id})

    async def ack_stream(self, lines: AsyncIterator[bytes]) -> Any | Problem:
        """POST the acknowledgement lines as one streamed body; returns when the active answers."""
        return await self._node.post_lines("/controller/api/cluster/acks", lines, timeout=_STREAMING)

    async def journal(self, after: int, *, node_id: str, heartbeat_s: float) -> AsyncIterator[Any] | Problem:
        """The active's commits after `after`: the header, then `list[Stamped]` per commit, and `None` for
        each heartbeat. Raises Unreachable when the stream cannot be opened or breaks."""
        params = {"after": str(after), "heartbeat": str(heartbeat_s), "nodeId": node_id}
        response = await self._node.open_stream("/controller/api/cluster/journal", params, timeout=_STREAMING)
        if isinstance(response, Problem):
            return response
        return self._commits(response)

    async def _commits(self, response: Any) -> AsyncIterator[Any]:
        async for lines in self._node.lines(response):
            for line in lines:
                obj = loads(line)
                if isinstance(obj, list):
                    yield [stamped_from_json(s) for s in obj]
                elif obj.get("TYPE") == "Heartbeat":
                    yield None
                else:
                    yield obj

    async def snapshot(self) -> tuple[dict[str, Any], list[dict[str, Any]]] | Problem:
        """The active's state as snapshot objects: (header with journalId and eventId, objects)."""
        response = await self._node.request("GET", "/controller/api/cluster/snapshot", timeout=120)
        if response.status_code != 200:
            result = self._node.decode(response)
            return result if isinstance(result, Problem) else problem("UnexpectedResponse", str(result))
        lines = [loads(line) for line in ndjson_lines(response.content)]
        return lines[0], lines[1:]


class WatchClient(_ClusterClient):
    """The Cluster Watch (`/cluster-watch/api/...`): reports and requests for consent to a node loss."""

    async def report(self, body: Mapping[str, Any]) -> Any | Problem:
        return await self._node.post("/cluster-watch/api/report", body)

    async def node_loss(self, body: Mapping[str, Any]) -> Any | Problem:
        return await self._node.post("/cluster-watch/api/node-loss", body)
