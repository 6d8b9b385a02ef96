"""The one HTTP client of js7es: every conversation of a node or a client with a node goes through it —
`js7es ctl` (controller.py, cockpit.py), the Controller's Agent client, the cluster's peer and Watch clients, the
Cockpit's follower and rebuild, the Kafka exporter's event stream and the standalone's health checks.

It owns what they have in common:

- `HttpOptions`: the process's TLS context, timeouts and connection limits, making sync and
  asyncio httpx clients;
- `decode`: a response as its JSON value or its coded `Problem`, with the rule that a 5xx without a
  coded problem (or with InternalError) means the other side is `Unreachable`;
- `Unreachable`: the other side did not answer, try again later (or another node);
- `TransportErrors`: a synchronous client's transport failures as one-line `ClientError`s;
- `split_lines` / `asplit_lines`: ndjson chunks as their complete lines, in the chunks they came in
  (`ndjson_lines`: the lines of a whole body); `read_ahead`: a stream's chunks joined while its
  consumer is busy;
- `Failover`: the URIs of a cluster's nodes, going on with the next one when a node is not the active
  one (ClusterNodeIsNotActive) or does not answer;
- `AsyncNodeClient`: JSON requests and ndjson streams of one node, every failure an `Unreachable` or a
  `Problem` (the Agent, the peer and the Cluster Watch).

Session login (JS7's Login command) is `ControllerClient`'s, the only client that logs in with a
session. httpx is imported when a client is made, so the command line stays light (STYLE habit 18).
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from js7es.domain.problem import Problem, problem
from js7es.domain.value import dumps, loads
from js7es.nodes.client.errors import ClientError

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

JSON_HEADERS = {"Content-Type": "application/json"}
NDJSON_HEADERS = {"Content-Type": "application/x-ndjson"}
NOT_ACTIVE = "ClusterNodeIsNotActive"


class Unreachable(Exception):
    """The other side did not answer (connection refused or reset, timeout, a 5xx without a problem)."""


def unreachable(uri: str, error: BaseException) -> Unreachable:
    return Unreachable(f"{uri}: {type(error).__name__}: {error}")


def timeouts(timeout_s: float | None, *, connect_s: float | None = None, read_s: float | None = None) -> httpx.Timeout:
    """`timeout_s` for each step of a request (None: none), the connection and the reads apart if given."""
    import httpx

    kwargs: dict[str, float | None] = {}
    if connect_s is not None:
        kwargs["connect"] = connect_s
    if read_s is not None:
        kwargs["read"] = read_s
    return httpx.Timeout(timeout_s, **kwargs)


def _limits(max_connections: int | None) -> httpx.Limits:
    import httpx

    if max_connections is None:
        return httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's defaults
    return httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpOptions:
    """How to reach a node: `verify` the process's TLS context (True: the system's CAs, False: plain
    HTTP), Basic `auth`, the timeout of each step of a request (the connection and the reads apart if
    given), `max_connections` (None: httpx's limits) for the pool and its keep-alive."""

    verify: ssl.SSLContext | bool
    auth: tuple[str, str] | None = None
    timeout_s: float | None
    connect_s: float | None = None
    read_s: float | None = None
    max_connections: int | None = None

    def _options(self, base_url: str) -> dict[str, Any]:
        return {
            "base_url": base_url.rstrip("/"),
            "verify": self.verify,
            "auth": self.auth,
            "timeout": timeouts(self.timeout_s, connect_s=self.connect_s, read_s=self.read_s),
            "limits": _limits(self.max_connections),
        }

    def sync_client(self, base_url: str = "") -> httpx.Client:
        import httpx

        return httpx.Client(**self._options(base_url))

    def async_client(self, base_url: str) -> httpx.AsyncClient:
        import httpx

        return httpx.AsyncClient(**self._options(base_url))


def problem_of(body: Any, status: int, uri: str, *, refused_code: str = "UnexpectedResponse") -> Problem:
    """The coded problem of an answer's body; without one, `refused_code` naming the status."""
    if isinstance(body, dict) and "code" in body:
        return Problem(
            code=str(body["code"]),
            message=str(body.get("message", "")),
            arguments={str(k): str(v) for k, v in (body.get("arguments") or {}).items()},
        )
    return problem(refused_code, f"{uri}: HTTP {status}")


def json_body(content: bytes) -> Any:
    """The JSON of a body, numbers exact (None when empty or not JSON)."""
    try:
        return loads(content) if content else None
    except ValueError:
        return None


def decode(
    response: httpx.Response, uri: str, *, refused_code: str = "UnexpectedResponse", every_5xx_unreachable: bool = False
) -> Any | Problem:
    """The JSON value of a success, else the answer's coded Problem. A 5xx without a coded problem (or
    with InternalError) raises Unreachable; `every_5xx_unreachable` (the Agent: try again later) any 5xx."""
    return decode_answer(
        response.status_code,
        response.content,
        uri,
        refused_code=refused_code,
        every_5xx_unreachable=every_5xx_unreachable,
    )


def decode_answer(
    status: int,
    content: bytes,
    uri: str,
    *,
    refused_code: str = "UnexpectedResponse",
    every_5xx_unreachable: bool = False,
) -> Any | Problem:
    """`decode` of an answer's HTTP status and body, however it came."""
    if every_5xx_unreachable and status >= 500:
        raise Unreachable(f"{uri}: HTTP {status}")
    body = json_body(content)
    if status >= 400:
        p = problem_of(body, status, uri, refused_code=refused_code)
        if status >= 500 and p.code in (refused_code, "UnexpectedResponse", "InternalError"):
            raise Unreachable(f"{uri}: HTTP {status}")
        return p
    return body


def split_lines(chunks: Iterable[bytes]) -> Iterator[list[bytes]]:
    """Per chunk, the ndjson lines it completes, blank lines (heartbeats) left out: an empty list tells
    the caller that the stream is alive. An unfinished last line is dropped."""
    rest = b""
    for chunk in chunks:
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield [line for line in lines if line.strip()]


def ndjson_lines(content: bytes) -> list[bytes]:
    """The non-blank lines of a whole ndjson body (the last one may lack its newline)."""
    return [line for line in content.split(b"\n") if line.strip()]


async def asplit_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[bytes]]:
    """`split_lines` of an asynchronous stream."""
    rest = b""
    async for chunk in chunks:
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        yield [line for line in lines if line.strip()]


async def read_ahead(batches: AsyncGenerator[list[T], None]) -> AsyncGenerator[list[T], None]:
    """The items of `batches`, read on by a task while the consumer is busy with the last batch: all
    that arrived meanwhile comes as one batch. A consumer that awaits a commit per batch (the
    Controller reading an Agent's events) then keeps up with a stream that comes in many small chunks,
    one commit per wait instead of one per chunk. The stream's end, or its error, comes after every
    batch before it. `batches` is closed when this generator is (`contextlib.aclosing`)."""
    import asyncio

    queue: asyncio.Queue[list[T] | BaseException | None] = asyncio.Queue()

    async def read() -> None:
        try:
            async for batch in batches:
                queue.put_nowait(batch)
        except Exception as e:
            queue.put_nowait(e)
        else:
            queue.put_nowait(None)

    reader = asyncio.get_running_loop().create_task(read())
    try:
        while True:
            items = [await queue.get()]
            while not queue.empty():
                items.append(queue.get_nowait())
            # The end or the error is the reader's last item: after every batch it read.
            joined = [x for item in items if isinstance(item, list) for x in item]
            if joined:
                yield joined
            if items[-1] is None:
                return
            if isinstance(items[-1], BaseException):
                raise items[-1]
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        with contextlib.suppress(Exception):
            await batches.aclose()


class TransportErrors:
    """Turns httpx's transport failures into one-line ClientErrors naming the node (`node`: "the
    Controller", "the Cockpit"), its URL and the cause. `without_client_cert`: a server closing the
    connection is told as one that wants a client certificate; `others`: another node may answer."""

    def __init__(self, url: str, node: str, *, without_client_cert: bool = False, others: bool = False) -> None:
        self.url = url
        self.node = node
        self.without_client_cert = without_client_cert
        self.others = others

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        import httpx

        if isinstance(error, httpx.TimeoutException):
            raise ClientError(
                f"{self.node} at {self.url} did not answer in time",
                elsewhere=self.others,
                in_doubt=not isinstance(error, httpx.ConnectTimeout),  # a connect timeout: nothing was sent
            ) from None
        if isinstance(error, httpx.TransportError):
            reason = transport_reason(error, self.node)
            if self.without_client_cert and isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError)):
                # TLS 1.3: the server checks the client certificate after the handshake and just hangs up
                reason = (
                    f"{self.node} closed the connection ({reason}); it wants a client certificate: "
                    "give --cert and --key (or --data-dir of a standalone)"
                )
            raise ClientError(f"cannot talk to {self.node} at {self.url}: {reason}", elsewhere=self.others) from None


def transport_reason(error: BaseException, node: str) -> str:
    """The cause of a transport failure in a few words: a refused certificate, a refused connection, …"""
    causes = []
    seen: BaseException | None = error
    while seen is not None:
        causes.append(seen)
        seen = seen.__cause__ or seen.__context__
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS: {node}'s certificate was refused ({cause.verify_message}); is --ca its CA?"
        if isinstance(cause, ssl.SSLError):
            text = cause.reason or str(cause)
            if "CERTIFICATE_REQUIRED" in text.upper() or "BAD_CERTIFICATE" in text.upper() or "UNKNOWN_CA" in text:
                return f"TLS: {node} refused the client certificate ({text}); give --cert/--key"
            return f"TLS: {text}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (is it running?)"
    text = str(error) or type(error).__name__
    if "certificate" in text.lower() and "required" in text.lower():
        return f"TLS: {node} refused the connection without a client certificate ({text})"
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused (is it running?)"
    return text


class Failover:
    """The URIs of a Controller cluster's nodes, tried in this order; `uri` is the one in use."""

    def __init__(self, uris: Iterable[str]) -> None:
        self.uris = tuple(uris)
        if not self.uris:
            raise ValueError("no URI")
        self.index = 0

    @property
    def uri(self) -> str:
        return self.uris[self.index]

    @property
    def others(self) -> bool:
        """Whether another node may answer instead."""
        return len(self.uris) > 1

    def advance(self) -> str:
        """Go on with the next node; its URI."""
        self.index = (self.index + 1) % len(self.uris)
        return self.uri

    def call(self, call: Callable[[], T], *, elsewhere: Callable[[Exception], bool], switched: Callable[[], None]) -> T:
        """`call()` at the active node: an error for which `elsewhere` holds (the node is not the active
        one, or did not answer) makes it try the next node, each once; `switched()` after each switch."""
        for attempt in range(len(self.uris)):
            try:
                return call()
            except Exception as e:
                if not elsewhere(e) or attempt == len(self.uris) - 1:
                    raise
                self.advance()
                switched()
        raise AssertionError("unreachable")


class AsyncNodeClient:
    """One node's HTTP API over asyncio: every transport failure raises Unreachable, every answer is
    `decode`d (a value or a Problem)."""

    def __init__(
        self,
        uri: str,
        *,
        ssl_context: ssl.SSLContext | None,
        auth: tuple[str, str] | None = None,
        timeout_s: float,
        connect_s: float,
        refused_code: str = "UnexpectedResponse",
        every_5xx_unreachable: bool = False,
    ) -> None:
        self.uri = uri.rstrip("/")
        self._refused_code = refused_code
        self._every_5xx_unreachable = every_5xx_unreachable
        self._client = HttpOptions(
            verify=ssl_context if ssl_context is not None else False,
            auth=auth,
            timeout_s=timeout_s,
            connect_s=connect_s,
            max_connections=4,
        ).async_client(self.uri)

    async def close(self) -> None:
        await self._client.aclose()

    def decode(self, response: httpx.Response) -> Any | Problem:
        return decode(
            response, self.uri, refused_code=self._refused_code, every_5xx_unreachable=self._every_5xx_unreachable
        )

    async def request(self, method: str, path: str, *, timeout: Any = None, **kwargs: Any) -> httpx.Response:
        """The response, whatever its status; a transport failure raises Unreachable."""
        import httpx

        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            return await self._client.request(method, path, **kwargs)
        except httpx.HTTPError as e:
            raise unreachable(self.uri, e) from e

    async def get(self, path: str, **kwargs: Any) -> Any | Problem:
        return self.decode(await self.request("GET", path, **kwargs))

    async def post(self, path: str, body: Mapping[str, Any], **kwargs: Any) -> Any | Problem:
        """POST `body` written by js7es's own JSON (exact numbers, as JS7's)."""
        content = dumps(dict(body)).encode()
        return self.decode(await self.request("POST", path, content=content, headers=JSON_HEADERS, **kwargs))

    async def post_lines(self, path: str, lines: AsyncIterator[bytes], *, timeout: Any) -> Any | Problem:
        """POST ndjson `lines` as one streamed body; returns (or raises) as soon as the server answers,
        even before the body ends."""
        return self.decode(await self.request("POST", path, content=lines, headers=NDJSON_HEADERS, timeout=timeout))

    async def open_stream(self, path: str, params: Mapping[str, str], *, timeout: Any) -> httpx.Response | Problem:
        """A streamed GET: the open response of a 200, else the answer's Problem (a 5xx without one
        raises Unreachable)."""
        import httpx

        request = self._client.build_request("GET", path, params=params, timeout=timeout)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as e:
            raise unreachable(self.uri, e) from e
        if response.status_code != 200:
            await response.aread()
            await response.aclose()
            result = self.decode(response)
            return result if isinstance(result, Problem) else problem("UnexpectedResponse", str(result))
        return response

    async def lines(self, response: httpx.Response) -> AsyncIterator[list[bytes]]:
        """The ndjson lines of an open stream, per chunk (`asplit_lines`); a broken stream raises
        Unreachable. Closes the response."""
        import httpx

        try:
            async for lines in asplit_lines(response.aiter_raw()):
                yield lines
        except httpx.HTTPError as e:
            raise unreachable(self.uri, e) from e
        finally:
            await response.aclose()


class NodeApiClient:
    """Base of a node's command client (the Controller's `AgentClient`, the Director's `SubagentClient`):
    `AsyncNodeClient` with every 5xx `Unreachable` (try again later) and the subclass's REFUSED_CODE for
    answers that are not the API's."""

    REFUSED_CODE = "UnexpectedResponse"

    def __init__(
        self,
        uri: str,
        *,
        ssl_context: ssl.SSLContext | None,
        auth: tuple[str, str] | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._ssl_context = ssl_context
        self._auth = auth
        self._timeout_s = timeout_s
        self._node = AsyncNodeClient(
            uri,
            ssl_context=ssl_context,
            auth=auth,
            timeout_s=timeout_s,
            connect_s=3.0,
            refused_code=self.REFUSED_CODE,
            every_5xx_unreachable=True,
        )
        self.uri = self._node.uri

    async def close(self) -> None:
        await self._node.close()
