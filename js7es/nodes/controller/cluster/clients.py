"""HTTP clients of a cluster node: for its peer (replication, acknowledgements) and for the Cluster Watch,
on js7es/nodes/client/http.py."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from js7es.domain.problem import Problem, problem
from js7es.domain.value import loads
from js7es.nodes.client.http import AsyncNodeClient, Unreachable, ndjson_lines, timeouts
from js7es.nodes.cluster_watch.api import STANDBY
from js7es.nodes.controller.cluster.replication import CommitDecoder

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
    """The other node of the cluster (`{prefix}/cluster/...`: `/controller/api` for a Controller,
    `/agent/api` for an Agent Director)."""

    def __init__(
        self,
        uri: str,
        *,
        ssl_context: ssl.SSLContext | None,
        auth: tuple[str, str] | None,
        timeout_s: float,
        prefix: str = "/controller/api",
    ) -> None:
        super().__init__(uri, ssl_context=ssl_context, auth=auth, timeout_s=timeout_s)
        self.prefix = prefix

    async def info(self) -> dict[str, Any] | Problem:
        """`{"nodeId", "active", "clusterState", "eventId"}` of the peer."""
        result = await self._node.get(f"{self.prefix}/cluster")
        return result if isinstance(result, (dict, Problem)) else problem("UnexpectedResponse", str(result))

    async def ack(self, node_id: str, event_id: int) -> Any | Problem:
        return await self._node.post(f"{self.prefix}/cluster/ack", {"nodeId": node_id, "eventId": event_id})

    async def ack_stream(self, lines: AsyncIterator[bytes]) -> Any | Problem:
        """POST the acknowledgement lines as one streamed body; returns when the active answers."""
        return await self._node.post_lines(f"{self.prefix}/cluster/acks", lines, timeout=_STREAMING)

    async def journal(self, after: int, *, node_id: str, heartbeat_s: float) -> AsyncIterator[Any] | Problem:
        """The active's commits after `after` (see `replication`): the header, then per group of commits
        that arrived together a `list[ReplicatedCommit]`, and `None` for each heartbeat. Raises
        Unreachable when the stream cannot be opened or breaks, ReplicationStreamError when it holds
        what the framing does not allow."""
        params = {"after": str(after), "heartbeat": str(heartbeat_s), "nodeId": node_id}
        response = await self._node.open_stream(f"{self.prefix}/cluster/journal", params, timeout=_STREAMING)
        if isinstance(response, Problem):
            return response
        return self._commits(response)

    async def _commits(self, response: Any) -> AsyncIterator[Any]:
        decoder = CommitDecoder()
        async for lines in self._node.lines(response):
            for item in decoder.feed(lines):
                yield item

    async def snapshot(self) -> tuple[dict[str, Any], list[dict[str, Any]]] | Problem:
        """The active's state as snapshot objects: (header with journalId and eventId, objects)."""
        response = await self._node.request("GET", f"{self.prefix}/cluster/snapshot", timeout=120)
        if response.status_code != 200:
            result = self._node.decode(response)
            return result if isinstance(result, Problem) else problem("UnexpectedResponse", str(result))
        lines = [loads(line) for line in ndjson_lines(response.content)]
        return lines[0], lines[1:]


class WatchClient:
    """The Cluster Watch (`/cluster-watch/api/...`): reports and requests for consent to a node loss.

    Given several URIs (the members of a Cockpit cluster, whose active member is the Watch), it asks
    them all at once and takes the first answer that is not a standby's (``ClusterWatchStandby``) nor a
    transport failure; the other requests run on in the background, so that the Watch, wherever it is,
    hears every report. When none answers as the Watch: the last standby's problem, else Unreachable.
    With one URI (``js7es cluster-watch``) it is that Watch's client, as before."""

    def __init__(
        self,
        uris: str | Sequence[str],
        *,
        ssl_context: ssl.SSLContext | None,
        auth: tuple[str, str] | None,
        timeout_s: float,
    ) -> None:
        self.uris = (uris,) if isinstance(uris, str) else tuple(uris)
        if not self.uris:
            raise ValueError("a Cluster Watch needs a URI")
        self._watches = [
            _ClusterClient(uri, ssl_context=ssl_context, auth=auth, timeout_s=timeout_s) for uri in self.uris
        ]
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def uri(self) -> str:
        return self.uris[0]

    async def report(self, body: Mapping[str, Any]) -> Any | Problem:
        return await self._ask("/cluster-watch/api/report", body)

    async def node_loss(self, body: Mapping[str, Any]) -> Any | Problem:
        return await self._ask("/cluster-watch/api/node-loss", body)

    async def _ask(self, path: str, body: Mapping[str, Any]) -> Any | Problem:
        if len(self._watches) == 1:
            return await self._watches[0]._node.post(path, body)
        pending = {asyncio.ensure_future(w._node.post(path, body)) for w in self._watches}
        standby: Problem | None = None
        failures: list[str] = []
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    error = task.exception()
                    if isinstance(error, Unreachable):
                        failures.append(str(error))
                    elif error is not None:
                        raise error
                    elif isinstance(answer := task.result(), Problem) and answer.code == STANDBY:
                        standby = answer
                    else:
                        return answer
        finally:
            for task in pending:  # the others finish on their own (a report still teaches an active Watch)
                self._background.add(task)
                task.add_done_callback(self._finished)
        if standby is not None:
            return standby
        raise Unreachable("; ".join(failures))

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a late failure of a request nobody waits for is no news

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        for watch in self._watches:
            await watch.close()
