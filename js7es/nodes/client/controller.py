"""`ControllerClient`: a synchronous client of the Controller's HTTP API, for `js7es ctl`, the standalone
and (subclassed) the Cluster Watch's client.

It follows the active node of a Controller cluster (a node that does not answer, or answers
ClusterNodeIsNotActive, makes it try the next URI, each once), logs in with a session (JS7's Login
command) when the connection has a user, and turns every failure — a problem, a refused TLS
handshake, an unreachable node — into a one-line `ClientError`. httpx is imported when a client is made.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from js7es.domain.problem import Problem
from js7es.domain.value import dumps, loads
from js7es.nodes.client.connection import ClientTls, ControllerConnection
from js7es.nodes.client.errors import ClientError
from js7es.nodes.client.http import (
    NOT_ACTIVE,
    Failover,
    HttpOptions,
    TransportErrors,
    json_body,
    ndjson_lines,
    split_lines,
)

if TYPE_CHECKING:
    import httpx

PREFIX = "/controller/api"


class ControllerClient:
    """A synchronous client of one Controller: every failure becomes a `ClientError` with a readable message.

    `tls`: the CA and the client certificate for an https Controller (None: the system's CAs, no
    client certificate)."""

    def __init__(
        self, connection: ControllerConnection, tls: ClientTls | None = None, *, timeout_s: float = 30.0
    ) -> None:
        self.connection = connection
        self.tls = tls or ClientTls()
        self.timeout_s = timeout_s
        if not connection.uris:
            raise ValueError("a ControllerConnection without a URI")
        self._nodes = Failover(connection.uris)
        verify: ssl.SSLContext | bool = self.tls.ssl_context() if self.url.startswith("https:") else False
        self._options = HttpOptions(verify=verify, timeout_s=timeout_s)
        self._http = self._options.sync_client(self.url)
        self._session: str | None = None

    @property
    def url(self) -> str:
        return self._nodes.uri

    def _switched(self) -> None:
        """Go on with the node `_nodes` switched to (a new session there, if any)."""
        self._http.close()
        self._http = self._options.sync_client(self.url)
        if self._session is not None:
            self._session = None
            self.login()

    def _on_active(self, call: Callable[[], Any]) -> Any:
        """`call()` at the active node: a node that does not answer or is the standby
        (ClusterNodeIsNotActive) makes us try the next --controller URL, each once."""
        return self._nodes.call(call, elsewhere=_elsewhere, switched=self._switched)

    def __enter__(self) -> ControllerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._session is not None:
            token, self._session = self._session, None
            with contextlib.suppress(ClientError):
                self.request("POST", "/session", json={"TYPE": "Logout", "sessionToken": token}, timeout=5)
        self._http.close()

    def login(self) -> None:
        c = self.connection
        if c.user is None or self._session is not None:
            return
        body = self.request(
            "POST", "/session", json={"TYPE": "Login", "userAndPassword": {"userId": c.user, "password": c.password}}
        )
        self._session = str(body["sessionToken"])

    def _headers(self) -> dict[str, str]:
        return {"x-js7-session": self._session} if self._session else {}

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer to ``method PREFIX+path``; a problem or a transport failure raises ClientError."""

        extra_headers = kwargs.pop("headers", {})

        def call() -> Any:
            with self._transport():
                headers = {**self._headers(), **extra_headers}
                response = self._http.request(method, PREFIX + path, headers=headers, **kwargs)
            return self._answer(response)

        return self._on_active(call)

    def cluster_info(self) -> Any:
        """``GET /cluster``, from the active node when one answers: a standby answers it too, with what
        its own journal says — which lags, and right after its restart is its view from before (a node
        killed while active says "Coupled, I am active" until it has caught up). So each node is asked
        until one says it is active; none: the first answer."""
        answers: list[Any] = []
        error: ClientError | None = None
        for _ in range(len(self._nodes.uris)):
            try:
                info = self.request("GET", "/cluster")
            except ClientError as e:
                error = e
            else:
                if not isinstance(info, dict) or info.get("active") is not False:
                    return info
                answers.append(info)
            if not self._nodes.others:
                break
            self._nodes.advance()
            self._switched()
        if answers:
            return answers[0]
        assert error is not None
        raise error

    def get_ndjson(self, path: str) -> list[Any]:
        """The lines of an ndjson answer (the snapshot), each parsed."""

        def call() -> list[Any]:
            with self._transport():
                response = self._http.get(PREFIX + path, headers=self._headers())
            if not response.is_success:
                self._answer(response)
            return [loads(line) for line in ndjson_lines(response.content)]

        return self._on_active(call)  # type: ignore[no-any-return]

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> Any:
        # Written by js7es's own JSON: httpx's json= would refuse a Decimal (or round it through float).
        return self.request("POST", path, content=dumps(body).encode(), headers={"content-type": "application/json"})

    def command(self, command: dict[str, Any]) -> Any:
        return self.post("/command", command)

    def events(self, after: int, *, timeout: float = 0) -> Iterator[dict[str, Any]]:
        """The Stamped events after `after`, as they arrive during one request (up to `timeout` s)."""
        params = {"after": after, "timeout": timeout}
        for attempt in range(len(self._nodes.uris)):
            yielded = False
            try:
                with (
                    self._transport(),
                    self._http.stream(
                        "GET", f"{PREFIX}/event", params=params, headers=self._headers(), timeout=timeout + 30
                    ) as response,
                ):
                    if response.status_code != 200:
                        response.read()
                        self._answer(response)
                    for lines in split_lines(response.iter_raw()):
                        for line in lines:
                            yielded = True
                            yield loads(line)
                return
            except ClientError as e:  # before the first event another cluster node may be the active one
                if yielded or not e.elsewhere or attempt == len(self._nodes.uris) - 1:
                    raise
                self._nodes.advance()
                self._switched()

    def _transport(self) -> TransportErrors:
        return TransportErrors(
            self.url,
            "the Controller",
            without_client_cert=self.url.startswith("https:") and self.tls.cert is None,
            others=self._nodes.others,
        )

    def _answer(self, response: httpx.Response) -> Any:
        if response.is_success:
            return json_body(response.content) if response.content else {}
        body = json_body(response.content)
        if isinstance(body, dict) and body.get("TYPE") == "Problem":
            elsewhere = body.get("code") == NOT_ACTIVE and self._nodes.others
            coded = Problem(
                code=str(body.get("code")),
                message=str(body.get("message")),
                arguments={str(k): str(v) for k, v in (body.get("arguments") or {}).items()},
            )
            raise ClientError(f"{body.get('code')}: {body.get('message')}", elsewhere=elsewhere, problem=coded)
        raise ClientError(f"HTTP {response.status_code} from {response.request.url}: {response.text[:200].strip()}")


def _elsewhere(error: Exception) -> bool:
    return isinstance(error, ClientError) and error.elsewhere
