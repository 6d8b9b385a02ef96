"""`js7es ctl`: a command-line client of the Controller's HTTP API (js7es/nodes/controller/api.py).

Where the Controller is and how to log in, first match wins:

- ``--controller URL`` (env ``JS7ES_CONTROLLER``); without it, the standalone data directory
  (``--data-dir``, env ``JS7ES_DATA_DIR``, default ``./js7es-data``) tells the URL from its
  ``controller/controller.toml``. ``--controller`` twice: the two nodes of a Controller cluster; each
  request goes to the active node (a node that does not answer, or answers ClusterNodeIsNotActive, makes
  the client try the other);
- TLS: ``--ca FILE`` (the CA that signed the Controller's certificate) and the client certificate
  ``--cert FILE --key FILE``; without them, the standalone's CA and its client certificate ``cli``
  (``<data dir>/certs/``) when that directory exists;
- ``--user NAME`` with ``--password`` (env ``JS7ES_PASSWORD``, or asked for on a terminal): one
  session login (JS7's Login command) per call, logged out at the end. Without a user, the client
  certificate is the login (the Controller maps its subject to a user, ``cli`` in the standalone).

Exit codes: 0 done; 1 the Controller refused (its problem printed as ``code: message``) or could not
be reached or the TLS handshake failed; 2 bad usage or input (a missing or malformed file, a bad
argument). Every failure is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import getpass
import json
import os
import secrets
import ssl
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from js7es.nodes.errors import CliError

if TYPE_CHECKING:
    import httpx  # imported when used: every `js7es` command registers this one

PREFIX = "/controller/api"
DEFAULT_DATA_DIR = Path("js7es-data")
# A long poll of the event stream waits this long (the Controller caps it at 60 s).
FOLLOW_TIMEOUT_S = 50.0


class CtlError(CliError, ValueError):
    """A failure of `js7es ctl`, with its exit code: 1 refused or unreachable, 2 bad usage or input.

    Also a ValueError, as the Cockpit's and the standalone's errors are."""

    def __init__(self, message: str, exit_code: int = 1, *, elsewhere: bool = False) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.elsewhere = elsewhere  # another node of a Controller cluster may answer


def usage_error(message: str) -> CtlError:
    return CtlError(message, exit_code=2)


# ------------------------------------------------------------------------------------------ connection


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    """How to reach and log in at one Controller."""

    url: str  # scheme://host:port, without the API prefix
    # Every node of a Controller cluster (url first): requests go to the one that is active.
    urls: tuple[str, ...] = ()
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    user: str | None = None
    password: str | None = None
    timeout_s: float = 30.0

    def ssl_context(self) -> ssl.SSLContext | bool:
        if not self.url.startswith("https:"):
            return False
        for option, path in (("--ca", self.ca), ("--cert", self.cert), ("--key", self.key)):
            if path is not None and not path.is_file():
                raise usage_error(f"{path}: no such file ({option})")
        try:
            if self.ca is None:
                context = ssl.create_default_context()
            else:
                context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.verify_flags |= ssl.VERIFY_X509_STRICT
            if self.cert is not None:
                context.load_cert_chain(str(self.cert), str(self.key) if self.key else None)
        except (ssl.SSLError, OSError) as e:
            raise usage_error(f"cannot use the TLS files (--ca {self.ca}, --cert {self.cert}): {e}") from None
        return context


def standalone_connection(data_dir: Path) -> Connection | None:
    """The Controller of `js7es standalone` on `data_dir` with its client certificate ``cli``, or None."""
    config = data_dir / "controller" / "controller.toml"
    if not config.is_file():
        return None
    from js7es.nodes.config import ConfigError, load_settings

    try:
        settings = load_settings(config, "controller")
    except ConfigError as e:
        raise usage_error(str(e)) from None
    host = settings.http.host
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    host = f"[{host}]" if ":" in host else host
    certs = data_dir / "certs"
    scheme = "https" if settings.tls is not None else "http"
    return Connection(
        url=f"{scheme}://{host}:{settings.http.port}",
        ca=certs / "ca" / "ca.crt" if settings.tls is not None else None,
        cert=certs / "cli" / "node.crt" if settings.tls is not None else None,
        key=certs / "cli" / "node.key" if settings.tls is not None else None,
    )


def connection_from_args(args: argparse.Namespace) -> Connection:
    data_dir: Path = args.data_dir or Path(os.environ.get("JS7ES_DATA_DIR") or DEFAULT_DATA_DIR)
    controllers: list[str] = args.controller or (
        [os.environ["JS7ES_CONTROLLER"]] if os.environ.get("JS7ES_CONTROLLER") else []
    )
    standalone = None
    if not controllers or (args.ca is None and args.cert is None):
        standalone = standalone_connection(data_dir)
    urls: list[str] = []
    for given in controllers:
        candidate = given.rstrip("/").removesuffix(PREFIX)
        parsed = urllib.parse.urlsplit(candidate)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise usage_error(f"--controller {given!r}: expected a URL like https://host:4444")
        urls.append(candidate)
    if controllers:
        url = urls[0]
    elif standalone is not None:
        url = standalone.url
    else:
        raise usage_error(
            f"no Controller given: use --controller URL, or --data-dir DIR of a js7es standalone "
            f"(there is none at {data_dir})"
        )
    if args.cert is not None or args.ca is not None:
        if (args.cert is None) != (args.key is None):
            raise usage_error("--cert and --key belong together")
        ca, cert, key = args.ca, args.cert, args.key
    elif standalone is not None and standalone.ca is not None:
        ca, cert, key = standalone.ca, standalone.cert, standalone.key
    else:
        ca = cert = key = None
    password = None
    if args.user is not None:
        password = args.password if args.password is not None else os.environ.get("JS7ES_PASSWORD")
        if password is None:
            if not sys.stdin.isatty():
                raise usage_error(f"--user {args.user}: no password (--password or env JS7ES_PASSWORD)")
            password = getpass.getpass(f"Password of {args.user}: ")
    return Connection(url=url, urls=tuple(urls), ca=ca, cert=cert, key=key, user=args.user, password=password)


class ControllerClient:
    """A synchronous client of one Controller: every failure becomes a `CtlError` with a readable message."""

    def __init__(self, connection: Connection) -> None:
        import httpx

        self.connection = connection
        self._urls = list(connection.urls) or [connection.url]
        self._index = 0
        self._verify = connection.ssl_context()
        self._http = httpx.Client(base_url=self._urls[0], verify=self._verify, timeout=connection.timeout_s)
        self._session: str | None = None

    @property
    def url(self) -> str:
        return self._urls[self._index]

    def _next_node(self) -> None:
        """Go on with the next node of the cluster (a new session there, if any)."""
        import httpx

        self._http.close()
        self._index = (self._index + 1) % len(self._urls)
        self._http = httpx.Client(base_url=self.url, verify=self._verify, timeout=self.connection.timeout_s)
        if self._session is not None:
            self._session = None
            self.login()

    def _on_active(self, call: Callable[[], Any]) -> Any:
        """`call()` at the active node: a node that does not answer or is the standby
        (ClusterNodeIsNotActive) makes us try the next --controller URL, each once."""
        for attempt in range(len(self._urls)):
            try:
                return call()
            except CtlError as e:
                if not e.elsewhere or attempt == len(self._urls) - 1:
                    raise
                self._next_node()
        raise AssertionError("unreachable")

    def __enter__(self) -> ControllerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._session is not None:
            token, self._session = self._session, None
            with contextlib.suppress(CtlError):
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
        """The JSON answer to ``method PREFIX+path``; a problem or a transport failure raises CtlError."""

        def call() -> Any:
            with self._transport():
                response = self._http.request(method, PREFIX + path, headers=self._headers(), **kwargs)
            return self._answer(response)

        return self._on_active(call)

    def get_ndjson(self, path: str) -> list[Any]:
        """The lines of an ndjson answer (the snapshot), each parsed."""

        def call() -> list[Any]:
            with self._transport():
                response = self._http.get(PREFIX + path, headers=self._headers())
            if not response.is_success:
                self._answer(response)
            return [json.loads(line) for line in response.text.splitlines() if line.strip()]

        return self._on_active(call)  # type: ignore[no-any-return]

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, json=body)

    def command(self, command: dict[str, Any]) -> Any:
        return self.post("/command", command)

    def events(self, after: int, *, timeout: float = 0) -> Iterator[dict[str, Any]]:
        """The Stamped events after `after`, as they arrive during one request (up to `timeout` s)."""
        params = {"after": after, "timeout": timeout}
        for attempt in range(len(self._urls)):
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
                    for line in response.iter_lines():
                        if line.strip():
                            yielded = True
                            yield json.loads(line)
                return
            except CtlError as e:  # before the first event another cluster node may be the active one
                if yielded or not e.elsewhere or attempt == len(self._urls) - 1:
                    raise
                self._next_node()

    def _transport(self) -> _TransportErrors:
        c = self.connection
        return _TransportErrors(
            self.url, without_client_cert=self.url.startswith("https:") and c.cert is None, others=len(self._urls) > 1
        )

    def _answer(self, response: httpx.Response) -> Any:
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = None
        if response.is_success:
            return body
        if isinstance(body, dict) and body.get("TYPE") == "Problem":
            elsewhere = body.get("code") == "ClusterNodeIsNotActive" and len(self._urls) > 1
            raise CtlError(f"{body.get('code')}: {body.get('message')}", elsewhere=elsewhere)
        raise CtlError(f"HTTP {response.status_code} from {response.request.url}: {response.text[:200].strip()}")


class _TransportErrors:
    """Turns httpx's transport failures into one-line CtlErrors naming the URL and the cause."""

    def __init__(self, url: str, *, without_client_cert: bool = False, others: bool = False) -> None:
        self.url = url
        self.without_client_cert = without_client_cert
        self.others = others  # other cluster nodes may answer instead

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        import httpx

        if isinstance(error, httpx.TimeoutException):
            raise CtlError(f"the Controller at {self.url} did not answer in time", elsewhere=self.others) from None
        if isinstance(error, httpx.TransportError):
            reason = _reason(error)
            if self.without_client_cert and isinstance(error, (httpx.RemoteProtocolError, httpx.ReadError)):
                # TLS 1.3: the server checks the client certificate after the handshake and just hangs up
                reason = (
                    f"the Controller closed the connection ({reason}); it wants a client certificate: "
                    "give --cert and --key (or --data-dir of a standalone)"
                )
            raise CtlError(f"cannot talk to the Controller at {self.url}: {reason}", elsewhere=self.others) from None


def _reason(error: BaseException) -> str:
    causes = []
    seen: BaseException | None = error
    while seen is not None:
        causes.append(seen)
        seen = seen.__cause__ or seen.__context__
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS: the Controller's certificate was refused ({cause.verify_message}); is --ca its CA?"
        if isinstance(cause, ssl.SSLError):
            text = cause.reason or str(cause)
            if "CERTIFICATE_REQUIRED" in text.upper() or "BAD_CERTIFICATE" in text.upper() or "UNKNOWN_CA" in text:
                return f"TLS: the Controller refused the client certificate ({text}); give --cert/--key"
            return f"TLS: {text}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (is it running?)"
    text = str(error) or type(error).__name__
    if "certificate" in text.lower() and "required" in text.lower():
        return f"TLS: the Controller refused the connection without a client certificate ({text})"
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused (is it running?)"
    return text


# ------------------------------------------------------------------------------------------ item files

_KINDS = (  # file name suffix -> item TYPE, the key naming it
    (".workflow.json", "Workflow", "path"),
    (".agentref.json", "AgentRef", "path"),
    (".agent.json", "AgentRef", "path"),
    (".subagent.json", "SubagentItem", "id"),
    (".subagentitem.json", "SubagentItem", "id"),
    (".jobresource.json", "JobResource", "path"),
)
_KEY_OF_TYPE = {"Workflow": "path", "AgentRef": "path", "SubagentItem": "id", "JobResource": "path"}


def read_item_file(path: Path) -> dict[str, Any]:
    """An item from a JS7 item file: the TYPE and path (or id) from the file name when missing,
    as in JS7's exports (``<folder>/<name>.workflow.json``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise usage_error(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise usage_error(f"{path}: cannot read it: {e}") from None
    try:
        item = json.loads(text)
    except ValueError as e:
        raise usage_error(f"{path}: not valid JSON: {e}") from None
    if not isinstance(item, dict):
        raise usage_error(f"{path}: expected a JSON object (one item)")
    name = path.name.lower()
    kind = next(((suffix, t, key) for suffix, t, key in _KINDS if name.endswith(suffix)), None)
    type_ = item.get("TYPE")
    if kind is None:
        if type_ not in _KEY_OF_TYPE and not (type_ is None and "instructions" in item):
            raise usage_error(
                f"{path}: unknown item kind; name it *.workflow.json, *.agent.json, *.subagent.json or "
                f"*.jobresource.json, or give it a TYPE ({', '.join(_KEY_OF_TYPE)})"
            )
        suffix, type_, key = ".json", type_ or "Workflow", _KEY_OF_TYPE[type_ or "Workflow"]
    else:
        suffix, expected, key = kind
        if type_ is not None and type_ != expected:
            raise usage_error(f"{path}: the file name says {expected}, its TYPE says {type_}")
        type_ = expected
    if type_ == "Workflow" and not isinstance(item.get("instructions"), list):
        raise usage_error(f"{path}: a workflow needs a list of instructions")
    if type_ != "Workflow":
        item = {"TYPE": type_, **item}
    if key not in item:
        item[key] = path.name[: -len(suffix)]
    return item


def deploy_operations(items: Sequence[dict[str, Any]], version_id: str) -> list[dict[str, Any]]:
    """One deployment: AddVersion (when there are workflows) and an AddOrChangeSimple per item."""
    operations: list[dict[str, Any]] = []
    if any("instructions" in item for item in items):
        operations.append({"TYPE": "AddVersion", "versionId": version_id})
    operations += [{"TYPE": "AddOrChangeSimple", "item": item} for item in items]
    return operations


def new_version_id() -> str:
    return f"{datetime.datetime.now(datetime.UTC):%Y-%m-%dT%H-%M-%SZ}-{secrets.token_hex(2)}"


# ------------------------------------------------------------------------------------------ commands


def _cmd_deploy(client: ControllerClient, args: argparse.Namespace) -> int:
    items = [read_item_file(Path(f)) for f in args.files]
    keys = [f"{_type(i)}:{i.get('path', i.get('id'))}" for i in items]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise usage_error(f"the same item twice: {', '.join(duplicates)}")
    version_id = args.version_id or new_version_id()
    client.login()
    client.post("/item", deploy_operations(items, version_id))
    workflows = sum(1 for i in items if "instructions" in i)
    print(f"Deployed {len(items)} item(s): {', '.join(keys)}" + (f" (version {version_id})" if workflows else ""))
    return 0


def _type(item: dict[str, Any]) -> str:
    return str(item.get("TYPE") or "Workflow")


def parse_argument(text: str) -> tuple[str, Any]:
    """``name=value``: the value as JSON when it is JSON (3, true, "3", [1, 2]), else the text."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise usage_error(f"--arg {text!r}: expected name=value")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


def parse_at(text: str, now: Callable[[], float] = time.time) -> int:
    """``--at``: ``+SECONDS`` from now, or an ISO time (local time without a zone); epoch milliseconds."""
    if text.startswith("+"):
        try:
            seconds = float(text[1:])
        except ValueError:
            raise usage_error(f"--at {text!r}: expected +SECONDS or an ISO time like 2026-01-31T12:00:00") from None
        return int((now() + seconds) * 1000)
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise usage_error(f"--at {text!r}: expected +SECONDS or an ISO time like 2026-01-31T12:00:00") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 1000)


def new_order_id(workflow: str) -> str:
    now = datetime.datetime.now()
    return f"#{now:%Y-%m-%d}#C{now:%H%M%S}{secrets.randbelow(10000):04d}-{workflow.rsplit('/', 1)[-1]}"


def _cmd_add_order(client: ControllerClient, args: argparse.Namespace) -> int:
    order: dict[str, Any] = {"id": args.id or new_order_id(args.workflow), "workflowPath": args.workflow}
    if args.arg:
        order["arguments"] = dict(parse_argument(a) for a in args.arg)
    if args.at:
        order["scheduledFor"] = parse_at(args.at)
    client.login()
    client.post("/order", order)
    when = f", scheduled for {_time(order['scheduledFor'])}" if "scheduledFor" in order else ""
    print(f"Added order {order['id']} to workflow {args.workflow}{when}")
    return 0


def _kill_mode(kill: bool) -> dict[str, Any]:
    return {"kill": {"immediately": False}} if kill else {}


def _cmd_cancel(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    mode = {"TYPE": "FreshOrStarted", **_kill_mode(args.kill)}
    client.command({"TYPE": "CancelOrders", "orderIds": args.ids, "mode": mode})
    print(f"Cancelling {', '.join(args.ids)}")
    return 0


def _cmd_suspend(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    command: dict[str, Any] = {"TYPE": "SuspendOrders", "orderIds": args.ids}
    if args.kill:
        command["mode"] = _kill_mode(True)
    client.command(command)
    print(f"Suspending {', '.join(args.ids)}")
    return 0


def _cmd_resume(client: ControllerClient, args: argparse.Namespace) -> int:
    command: dict[str, Any] = {"TYPE": "ResumeOrder", "orderId": args.id}
    if args.position is not None:
        try:
            position = json.loads(args.position)
        except ValueError:
            raise usage_error(f'--position {args.position!r}: expected JSON like [1, "then", 0]') from None
        command["position"] = [position] if isinstance(position, int) else position
    client.login()
    client.command(command)
    print(f"Resumed {args.id}")
    return 0


def _cmd_answer(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    client.command({"TYPE": "AnswerOrderPrompt", "orderId": args.id})
    print(f"Answered the prompt of {args.id}")
    return 0


def _state_of(order: dict[str, Any]) -> str:
    state = order.get("state", {})
    return str(state.get("TYPE", "?")) if isinstance(state, dict) else str(state)


def order_row(order: dict[str, Any]) -> list[str]:
    workflow = order.get("workflowId", {})
    notes = []
    if order.get("isSuspended"):
        notes.append("suspended")
    attached = order.get("attached")
    if isinstance(attached, dict):
        notes.append(f"{str(attached.get('kind', 'Attached')).lower()} {attached.get('agentPath')}")
    if order.get("scheduledFor") is not None and _state_of(order) == "Fresh":
        notes.append(f"scheduled for {_time(order['scheduledFor'])}")
    return [
        str(order.get("id")),
        f"{workflow.get('path')}~{workflow.get('versionId')}",
        _position(order.get("position", [])),
        _state_of(order),
        ", ".join(notes),
    ]


def _position(position: Any) -> str:
    if not isinstance(position, list):
        return str(position)
    parts = []
    for i in range(0, len(position), 2):
        parts.append(str(position[i]) if i == 0 else f"{position[i - 1]}:{position[i]}")
    return "/".join(parts)


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in (header, *rows)]
    return "\n".join(lines)


def _cmd_orders(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    orders = client.get("/order").get("orders", [])
    if args.state:
        wanted = args.state.lower()
        orders = [
            o for o in orders if _state_of(o).lower() == wanted or (wanted == "suspended" and o.get("isSuspended"))
        ]
    if args.json:
        for order in orders:
            print(json.dumps(order))
        return 0
    if not orders:
        print("No orders" + (f" in state {args.state}" if args.state else ""))
        return 0
    rows = [order_row(o) for o in sorted(orders, key=lambda o: str(o.get("id")))]
    print(format_table(["ID", "WORKFLOW", "POSITION", "STATE", ""], rows))
    return 0


def _cmd_show(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    order = client.get("/order/" + urllib.parse.quote(args.id, safe=""))
    print(json.dumps(order, indent=2))
    return 0


def _time(epoch_ms: int) -> str:
    return datetime.datetime.fromtimestamp(epoch_ms / 1000).isoformat(sep=" ", timespec="milliseconds")


def format_event(event: dict[str, Any]) -> str:
    """One readable line: time, Key, TYPE and the remaining fields (an output chunk as its text)."""
    event_id = int(event.get("eventId", 0))
    rest = {k: v for k, v in event.items() if k not in ("eventId", "TYPE", "Key", "timestampMillis")}
    key = event.get("Key")
    if event.get("TYPE") in ("OrderStdoutWritten", "OrderStderrWritten") and isinstance(rest.get("chunk"), str):
        details = repr(rest["chunk"].rstrip("\n"))[:200]
    elif event.get("TYPE") in ("VersionedItemAdded", "VersionedItemChanged", "UnsignedSimpleItemAdded") and isinstance(
        rest.get("item"), dict
    ):
        item = rest["item"]
        details = f"{item.get('TYPE', 'Workflow')}:{item.get('path', item.get('id'))}"
    else:
        details = " ".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in rest.items())
        details = details if len(details) <= 300 else details[:297] + "..."
    return f"{_time(event_id // 1000)}  {event_id}  {key + '  ' if key else ''}{event.get('TYPE')}  {details}".rstrip()


def _cmd_events(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    after: int = args.after
    show: Callable[[dict[str, Any]], str] = (lambda e: json.dumps(e)) if args.json else format_event
    lost = False
    while True:
        try:
            for event in client.events(after, timeout=FOLLOW_TIMEOUT_S if args.follow else 0):
                after = int(event["eventId"])
                sys.stdout.write(show(event) + "\n")
                sys.stdout.flush()
            if lost:
                print("js7es: connected again", file=sys.stderr)
                lost = False
        except CtlError as e:
            if not args.follow or ("cannot talk" not in str(e) and "in time" not in str(e)):
                raise
            if not lost:
                print(f"js7es: {e}; retrying", file=sys.stderr)
                lost = True
            time.sleep(1)
        if not args.follow:
            return 0


def _cmd_overview(client: ControllerClient, args: argparse.Namespace) -> int:
    overview = client.get("")
    if args.json:
        print(json.dumps(overview, indent=2))
        return 0
    running = overview.get("totalRunningTime")
    print(
        f"Controller {overview.get('id')} at {client.connection.url}{PREFIX} "
        f"(js7es {overview.get('version')}, running {running} s"
        f"{', terminating' if overview.get('isTerminating') else ''})"
    )
    print(f"EventId {overview.get('eventId')}, {overview.get('orders')} order(s)")
    for path, agent in sorted((overview.get("agents") or {}).items()):
        problem = f" — {agent['problem']}" if agent.get("problem") else ""
        print(f"Agent {path}: {agent.get('coupling')}{problem}")
    return 0


def _cmd_cluster(client: ControllerClient, args: argparse.Namespace) -> int:
    info = client.request("GET", "/cluster")
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    state = info.get("clusterState") or {}
    setting = state.get("setting") or {}
    role = "active" if info.get("active") else "standby"
    print(f"Node {info.get('nodeId')} at {client.url}: {role}, EventId {info.get('eventId')}")
    print(f"Cluster {state.get('TYPE')}, active node {setting.get('activeId')}")
    for node_id, uri in sorted((setting.get("idToUri") or {}).items()):
        print(f"  {node_id}: {uri}")
    if info.get("problem"):
        print(f"PROBLEM: {info['problem']}")
    if info.get("active"):
        print(f"Failover: {_failover_possible(state.get('TYPE'), info.get('clusterWatch') or {})}")
    return 0


def _failover_possible(cluster_state: str | None, watch: dict[str, Any]) -> str:
    """Whether the standby could take over now if the active node died: only from a Coupled cluster
    that the Cluster Watch knows Coupled."""
    if cluster_state != "Coupled":
        return f"not possible now: the cluster is {cluster_state}, not Coupled"
    if watch.get("problem"):
        return f"unknown: the Cluster Watch's last answer was {watch['problem']}"
    if watch.get("failoverPossible"):
        return "possible now (the Cluster Watch knows the cluster Coupled)"
    return f"not possible now: the Cluster Watch knows {watch.get('clusterState') or 'nothing yet'}, not Coupled"


def _cmd_switch_over(client: ControllerClient, args: argparse.Namespace) -> int:
    client.command({"TYPE": "ClusterSwitchOver"})
    print("Switchover accepted: the standby becomes active, this node restarts as standby")
    return 0


# ------------------------------------------------------------------------------------------ the command


def add_ctl_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``js7es ctl``."""
    ctl = subparsers.add_parser(
        "ctl",
        help="a client of the Controller: deploy, add and control orders, show state, follow events",
        description=(
            "A client of the Controller. Without --controller it talks to the js7es standalone of "
            "--data-dir (default ./js7es-data) with its client certificate. Exit codes: 1 refused or "
            "unreachable, 2 bad usage or input."
        ),
    )
    where = ctl.add_argument_group("where and how")
    where.add_argument(
        "--controller",
        action="append",
        metavar="URL",
        help=(
            "the Controller, e.g. https://host:4444 (env JS7ES_CONTROLLER); give it twice for both nodes of a "
            "Controller cluster: requests go to the active one"
        ),
    )
    where.add_argument(
        "--data-dir", type=Path, help="a js7es standalone data directory (env JS7ES_DATA_DIR; default ./js7es-data)"
    )
    where.add_argument("--ca", type=Path, help="the CA certificate to check the Controller's certificate against")
    where.add_argument("--cert", type=Path, help="client certificate (PEM)")
    where.add_argument("--key", type=Path, help="the client certificate's private key (PEM)")
    where.add_argument("--user", help="log in as this user (password from --password or env JS7ES_PASSWORD)")
    where.add_argument("--password", help="the user's password (prefer env JS7ES_PASSWORD)")
    sub = ctl.add_subparsers(metavar="ACTION")

    deploy = sub.add_parser("deploy", help="deploy item files, all or nothing (*.workflow.json, *.agent.json, ...)")
    deploy.add_argument("files", nargs="+", metavar="FILE")
    deploy.add_argument("--version-id", help="the workflows' versionId (default: generated)")
    deploy.set_defaults(action=_cmd_deploy)

    add = sub.add_parser("add-order", help="add an order to a workflow")
    add.add_argument("workflow", metavar="WORKFLOW")
    add.add_argument("--id", help="the order id (default: generated, JS7-like)")
    add.add_argument(
        "--arg", action="append", metavar="NAME=VALUE", help='an argument; VALUE is JSON if it parses (3, true, "3")'
    )
    add.add_argument("--at", metavar="TIME", help="start at an ISO time (local without a zone) or in +SECONDS")
    add.set_defaults(action=_cmd_add_order)

    for name, function, text in (
        ("cancel", _cmd_cancel, "cancel orders"),
        ("suspend", _cmd_suspend, "suspend orders"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("ids", nargs="+", metavar="ID")
        p.add_argument("--kill", action="store_true", help="kill a running job process (SIGTERM, then SIGKILL)")
        p.set_defaults(action=function)

    resume = sub.add_parser("resume", help="resume a suspended or failed order")
    resume.add_argument("id", metavar="ID")
    resume.add_argument("--position", metavar="JSON", help='continue at this position, e.g. 2 or [1, "then", 0]')
    resume.set_defaults(action=_cmd_resume)

    answer = sub.add_parser("answer", help="answer an order's prompt")
    answer.add_argument("id", metavar="ID")
    answer.set_defaults(action=_cmd_answer)

    orders = sub.add_parser("orders", help="the orders, as a table")
    orders.add_argument(
        "--state", help="only orders in this state (Fresh, Ready, Processing, Finished, ..., suspended)"
    )
    orders.add_argument("--json", action="store_true", help="one order per line as JSON")
    orders.set_defaults(action=_cmd_orders)

    show = sub.add_parser("show", help="one order as JSON")
    show.add_argument("id", metavar="ID")
    show.set_defaults(action=_cmd_show)

    events = sub.add_parser("events", help="the event stream, one line per event")
    events.add_argument("--after", type=int, default=0, metavar="EVENTID", help="only events after this EventId")
    events.add_argument("--follow", "-f", action="store_true", help="wait for new events (Ctrl-C ends)")
    events.add_argument("--json", action="store_true", help="JS7's Stamped JSON, one event per line (ndjson)")
    events.set_defaults(action=_cmd_events)

    overview = sub.add_parser("overview", help="the Controller and its Agents")
    overview.add_argument("--json", action="store_true")
    overview.set_defaults(action=_cmd_overview)

    cluster = sub.add_parser("cluster", help="the Controller cluster: this node's role and the cluster state")
    cluster.add_argument("--json", action="store_true")
    cluster.set_defaults(action=_cmd_cluster)

    switch = sub.add_parser("switch-over", help="make the standby of a coupled Controller cluster the active node")
    switch.set_defaults(action=_cmd_switch_over)

    confirm = sub.add_parser(
        "confirm-node-loss",
        help="tell a Cluster Watch that a Controller cluster node is really down",
        description=(
            "The Cluster Watch grants the next node-loss request about the node, even when it is untaught "
            "(restarted) or the node seemed alive. Use it only when the node is down for sure: else both "
            "nodes may become active. The global --ca/--cert/--key/--user options apply."
        ),
    )
    confirm.add_argument("--watch", required=True, metavar="URL", help="the Cluster Watch, e.g. https://host:4447")
    confirm.add_argument("--cluster-id", required=True, metavar="ID", help="the cluster (its Controller id)")
    confirm.add_argument("--lost-node", required=True, metavar="NODE", help="the node that is down: Primary or Backup")
    confirm.add_argument("--confirmer", required=True, metavar="NAME", help="who confirms (logged by the Watch)")
    # Its own `run`, overriding ctl's below: it talks to the Cluster Watch, not to a Controller.
    confirm.set_defaults(run=_run_confirm_node_loss)

    ctl.set_defaults(run=lambda args: run(args, ctl))


def _run_confirm_node_loss(args: argparse.Namespace) -> int:
    from js7es.nodes.cluster_watch.client import run_confirm_node_loss

    return run_confirm_node_loss(args)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    action: Callable[[ControllerClient, argparse.Namespace], int] | None = getattr(args, "action", None)
    if action is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        with ControllerClient(connection_from_args(args)) as client:
            return action(client, args)
    except CtlError as e:
        print(f"js7es: {e}", file=sys.stderr)
        return e.exit_code
