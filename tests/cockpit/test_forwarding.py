"""A standby's forwarding (api/forwarding.py) where no active member answers, and the rules around it:
the problem names the active member, a forwarded request is never forwarded again, and an active member
serves everything itself. (Forwarding to a live active member: test_joc_standby_e2e.py.)"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from js7es.journal.cockpit.fence import Fence
from js7es.nodes.cockpit.api.forwarding import FORWARDED_BY, FORWARDED_FOR, FORWARDED_PROOF, Forwarder
from tests.ports import free_port


def app(forwarder: Forwarder) -> Starlette:
    async def change(request: Request) -> Response:
        forwarded = await forwarder.forward(request)
        return forwarded if forwarded is not None else PlainTextResponse("served here")

    return Starlette(routes=[Route("/joc/api/orders/add", change, methods=["POST"])])


def standby_of(active: str, uri: str) -> Fence:
    fence = Fence("joc")  # never activated: a standby
    fence.active_member, fence.active_uri = active, uri
    return fence


def test_no_active_member_answers_the_problem_naming_it_after_waiting() -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    forwarder = Forwarder(standby_of("a", dead), "b", None, wait_s=0.6)
    with TestClient(app(forwarder)) as client:
        answer = client.post("/joc/api/orders/add", json={"controllerId": "js7"})
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "JOC-420"
    assert "JocClusterStandby" in error["message"] and f"'a' at {dead}" in error["message"]
    assert "does not answer" in error["message"]


def test_with_no_member_active_the_problem_says_so() -> None:
    forwarder = Forwarder(standby_of("", ""), "b", None, wait_s=0.3)
    with TestClient(app(forwarder)) as client:
        answer = client.post("/joc/api/orders/add", json={})
    assert answer.status_code == 503 and "no member is active" in answer.json()["error"]["message"]


def test_a_forwarded_request_and_an_active_member_are_served_here() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    forwarder = Forwarder(standby_of("a", dead), "b", None, wait_s=5)
    with TestClient(app(forwarder)) as client:
        again = client.post("/joc/api/orders/add", json={}, headers={FORWARDED_BY: "c"})
    assert again.text == "served here"  # never forwarded twice (the member answers NotActive itself)
    active = Fence("joc")
    active.activate(3)
    with TestClient(app(Forwarder(active, "b", None))) as client:
        assert client.post("/joc/api/orders/add", json={}).text == "served here"


def test_the_active_believes_a_forwarded_callers_address_only_with_a_members_proof() -> None:
    secret = bytes(range(32))
    active_fence = Fence("joc")
    active_fence.activate(1)
    active = Forwarder(active_fence, "a", None, secret=secret)
    standby = Forwarder(standby_of("a", ""), "b", None, secret=secret)
    outsider = Forwarder(standby_of("a", ""), "b", None, secret=bytes(32))

    async def echo(request: Request) -> Response:
        return PlainTextResponse(active.vouched_caller(request) or "-")

    path = "/joc/api/authentication/login"
    with TestClient(Starlette(routes=[Route(path, echo, methods=["POST"])])) as client:

        def caller(proof: str, by: str = "b", claimed: str = "10.1.2.3") -> str:
            headers = {FORWARDED_BY: by, FORWARDED_FOR: claimed, FORWARDED_PROOF: proof}
            return client.post(path, headers=headers).text

        assert caller(standby.proof("b", "10.1.2.3", "POST", path)) == "10.1.2.3"
        assert caller(standby.proof("b", "10.1.2.3", "POST", path), claimed="10.9.9.9") == "-"
        assert caller(standby.proof("b", "10.1.2.3", "POST", path), by="c") == "-"
        assert caller(standby.proof("b", "10.1.2.3", "POST", "/joc/api/other")) == "-"
        assert caller(outsider.proof("b", "10.1.2.3", "POST", path)) == "-"  # not the cluster's key
        assert client.post(path).text == "-"
