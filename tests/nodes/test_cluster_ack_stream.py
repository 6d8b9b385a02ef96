"""The standby's streamed acknowledgements against a node that is not (or no longer) active: the answer
must end the standby's request. Found by the cluster tests: a standby that opened its acknowledgement
stream while its peer was still starting got 503 before its body ended, went on streaming into a
connection nobody read, and the cluster never coupled (no acknowledgement arrived, ever).

Real uvicorn and httpx on loopback, the real cluster routes and PeerClient.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from js7es.domain.problem import Problem
from js7es.nodes.controller.cluster.active import not_active_problem
from js7es.nodes.controller.cluster.clients import PeerClient
from js7es.nodes.controller.cluster.routes import cluster_routes
from js7es.nodes.http import Authenticator, NodeOverview, Users, build_app
from tests.nodes.serving import serving


class StartingNode:
    """A cluster node whose role is not decided yet (as while it recovers its journal)."""

    role: Any = None

    def active_core(self) -> Problem:
        return not_active_problem(None, None, "it is starting")

    def info(self) -> dict[str, Any]:
        return {"nodeId": "Primary", "active": False, "starting": True}


@pytest.fixture
def starting_node() -> Iterator[str]:
    users = {"backup": {"password": "plain:pw", "permissions": ["ReadState", "Command"]}}
    auth = Authenticator(Users.from_config(users))
    app = build_app(
        prefix="/controller/api",
        overview=NodeOverview(id="test"),
        authenticator=auth,
        routes=cluster_routes(StartingNode(), auth),  # type: ignore[arg-type]
    )
    with serving(app) as uri:
        yield uri


def test_an_acknowledgement_stream_to_a_node_that_is_not_active_ends(starting_node: str) -> None:
    async def run() -> None:
        peer = PeerClient(starting_node, ssl_context=None, auth=("backup", "pw"), timeout_s=2)
        sent = 0

        async def lines() -> AsyncIterator[bytes]:
            nonlocal sent
            for _ in range(10_000):  # far longer than the test waits
                sent += 1
                yield b'{"nodeId":"Backup","eventId":0}\n'
                await asyncio.sleep(0.01)

        try:
            answer = await asyncio.wait_for(peer.ack_stream(lines()), timeout=10)
        except Exception as e:  # the connection closed under the request: Unreachable is fine too
            answer = e
        finally:
            await peer.close()
        assert sent < 1_000, "the request went on long after the answer"
        if isinstance(answer, Problem):
            assert answer.code == "ClusterNodeIsNotActive"
        else:
            assert type(answer).__name__ == "Unreachable", answer

    asyncio.run(run())
