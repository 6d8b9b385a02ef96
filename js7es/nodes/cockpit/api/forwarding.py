"""A standby Cockpit's changes go to the active member (issue 19, Must 2): forwarded, not refused.

The decision: every endpoint that changes something (`Endpoint.changes`: a permission that is not a
``…:view`` one, plus login and the own password change, which write the Cockpit store) is forwarded by a
standby, whole, to the active member of its cluster — the URI of the lease row — with the caller's
token and headers, over the Cockpit's TLS client (its certificate, its CA); the active's answer goes
back unchanged, with the header ``X-JS7ES-Forwarded-To: <member>``. JOC lets users manage and deploy
from standby instances, and so the UI and scripts need not know which member is active. Reads are
served by the standby itself, from the shared database (the projection the active writes, the store's
events, the sessions); sessions are the members' shared, unfenced state (sessions.py), so a token from
a login forwarded to the active works on the standby. A read endpoint that nevertheless tried to write
(the fence said NotActive) is forwarded too, and logged as misdeclared.

When no member is active (the active was killed and its lease has not expired yet), a change waits up
to `wait_s` for one, retrying only requests that never reached the old active (connection refused);
after that, or when the active failed to answer, the answer is JOC's problem naming the active
member (JOC-420, HTTP 503: endpoint.standby_error). A request forwarded once is never forwarded again
(header ``X-JS7ES-Forwarded-By``): a member that lost the lease meanwhile answers the problem itself.
The caller's address goes along (``X-JS7ES-Forwarded-For``), vouched for with an HMAC under the cluster's
key in the database (cluster.LeaseClient.secret): the active member believes it only then, so that the
login throttle and the login history see the real caller, and nobody else can claim an address.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import ssl
import time
from collections.abc import Mapping

import httpx
from starlette.requests import Request as HttpRequest
from starlette.responses import Response

from js7es.journal.cockpit.fence import Fence
from js7es.nodes.cockpit.api.endpoint import standby_error

log = logging.getLogger(__name__)

FORWARDED_BY = "x-js7es-forwarded-by"
FORWARDED_FOR = "x-js7es-forwarded-for"
FORWARDED_PROOF = "x-js7es-forwarded-proof"
FORWARDED_TO = "X-JS7ES-Forwarded-To"
# Request headers not passed on (hop-by-hop, or the standby's own connection's).
_DROPPED = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade", "te", "trailer"}
# Answer headers passed back.
_KEPT = {"content-type", "content-disposition", "x-access-token", "x-joc-timeout", "cache-control"}
TIMEOUT = httpx.Timeout(120.0, connect=2.0)


class Forwarder:
    """Forwards the changes of a standby member to the active one (`forward` answers None when this
    member is active itself: the request is served here)."""

    def __init__(
        self,
        fence: Fence,
        member_id: str,
        ssl_context: ssl.SSLContext | None,
        *,
        secret: bytes = b"",
        wait_s: float = 10.0,
    ) -> None:
        self.fence = fence
        self.member_id = member_id
        self.wait_s = wait_s
        self._secret = secret
        self._ssl_context = ssl_context
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(verify=self._ssl_context or True, timeout=TIMEOUT, trust_env=False)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def proof(self, by: str, caller: str, method: str, path: str) -> str:
        """The HMAC with which member `by` vouches for the caller's address of a request it forwards."""
        message = f"{by}\n{caller}\n{method}\n{path}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def cluster_key(self, purpose: str) -> bytes | None:
        """A key every member of the cluster derives alike (the UI's CSRF key: a page from one member
        posts to another); None without the cluster's key."""
        if not self._secret:
            return None
        return hmac.new(self._secret, purpose.encode(), hashlib.sha256).digest()

    def vouched_caller(self, request: HttpRequest) -> str | None:
        """The caller's address of a request another member forwarded, when its proof holds."""
        caller, proof = request.headers.get(FORWARDED_FOR), request.headers.get(FORWARDED_PROOF)
        by = request.headers.get(FORWARDED_BY, "")
        if not caller or not proof or not self._secret:
            return None
        expected = self.proof(by, caller, request.method, request.url.path)
        return caller if hmac.compare_digest(proof, expected) else None

    def standby(self) -> bool:
        return self.fence.generation is None

    async def forward(self, request: HttpRequest) -> Response | None:
        if not self.standby() or request.headers.get(FORWARDED_BY):
            return None
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED}
        headers[FORWARDED_BY] = self.member_id
        caller = request.client.host if request.client else ""
        if caller and self._secret:
            headers[FORWARDED_FOR] = caller
            headers[FORWARDED_PROOF] = self.proof(self.member_id, caller, request.method, request.url.path)
        else:
            headers.pop(FORWARDED_FOR, None)
            headers.pop(FORWARDED_PROOF, None)
        deadline = time.monotonic() + self.wait_s
        while True:
            if not self.standby():
                return None  # this member took over meanwhile
            active, uri = self.fence.active_member, self.fence.active_uri
            if active and uri and active != self.member_id:
                url = uri + request.url.path + (f"?{request.url.query}" if request.url.query else "")
                try:
                    answer = await self._http().request(request.method, url, content=body, headers=headers)
                except (httpx.ConnectError, httpx.ConnectTimeout) as e:
                    reason = f"{active!r} at {uri} does not answer: {e}"
                except httpx.HTTPError as e:  # it may have got the request: not sent again
                    log.warning("forwarding %s to %r failed: %s", request.url.path, active, e)
                    return _problem(self.fence, f"forwarding to {active!r} at {uri} failed: {e}")
                else:
                    return _relayed(answer, active)
            else:
                reason = "no member is active"
            if time.monotonic() >= deadline:
                return _problem(self.fence, reason)
            await asyncio.sleep(0.25)


def _relayed(answer: httpx.Response, active: str) -> Response:
    headers: Mapping[str, str] = {k: v for k, v in answer.headers.items() if k.lower() in _KEPT}
    response = Response(answer.content, status_code=answer.status_code, headers=dict(headers))
    response.headers[FORWARDED_TO] = active
    return response


def _problem(fence: Fence, reason: str) -> Response:
    error = fence.not_active()
    error.args = (f"{error}; {reason}",)
    return standby_error(error).response()
