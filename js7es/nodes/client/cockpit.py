"""`CockpitClient`: the synchronous client of the Cockpit's JOC API (joc-cockpit.md §1.1 to §1.5), for
``js7es ctl --cockpit``, the tests and the benches.

It does what JOC's own clients do (the KB's curl flow, the PowerShell module's ``Connect-JS7``): it logs
in with HTTP Basic at ``/joc/api/authentication/login``, takes the token from the ``X-Access-Token``
header, sends it with every JSON ``POST`` and logs out on close. A session that expired (440) is
renewed once by logging in again: JOC refused the call before it ran it.

Every failure is a one-line `ClientError` naming JOC's code: a 420 as ``JOC-002: message`` (its
`problem` carries the code), a 419 with its list of errors, 401/403 with the account answer's
message, 440 as ``AUTH-440``; a transport or TLS failure as the Controller's client tells it
(http.TransportErrors). TLS: the CA of ``--ca`` (`ClientTls`), or the system's CAs. httpx is imported
when a client is made.
"""

from __future__ import annotations

import contextlib
import ssl
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from js7es.domain.problem import Problem
from js7es.domain.value import dumps
from js7es.nodes.client.connection import ClientTls
from js7es.nodes.client.errors import ClientError, usage_error
from js7es.nodes.client.http import HttpOptions, TransportErrors, json_body

if TYPE_CHECKING:
    import httpx

PREFIX = "/joc/api"
LOGIN = "/authentication/login"
LOGOUT = "/authentication/logout"
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
_ACCOUNT_STATUS = {401: "not authenticated", 403: "not permitted"}


def cockpit_url(given: str, option: str = "--cockpit") -> str:
    """``scheme://host:port`` of a Cockpit given with or without ``/joc/api``; else a usage error."""
    url = given.strip().rstrip("/").removesuffix(PREFIX).rstrip("/")
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.path:
        raise usage_error(f"{option} {given!r}: expected a URL like https://host:4446 (or …/joc/api)")
    return url


@dataclass(frozen=True, slots=True)
class TextAnswer:
    """A text answer (a task's log): its text and JOC's headers (X-Log-Complete, X-Log-Event-Id, …)."""

    text: str
    headers: Mapping[str, str]

    @property
    def complete(self) -> bool | None:
        value = self.headers.get("x-log-complete")
        return None if value is None else value.lower() == "true"


class CockpitClient:
    """One account's session at one Cockpit. `url`: ``scheme://host:port`` (``/joc/api`` is left off
    if given); `tls`: the CA that signed the Cockpit's certificate (None: the system's CAs);
    `max_connections`: the keep-alive pool (None: httpx's)."""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        tls: ClientTls | None = None,
        *,
        timeout_s: float = 30.0,
        max_connections: int | None = None,
    ) -> None:
        self.url = cockpit_url(url, "url")
        self.user = user
        self._password = password
        self.tls = tls or ClientTls()
        verify: ssl.SSLContext | bool = self.tls.ssl_context() if self.url.startswith("https:") else False
        self._http = HttpOptions(verify=verify, timeout_s=timeout_s, max_connections=max_connections).sync_client(
            self.url + PREFIX
        )
        self._token: str | None = None
        self._controller_id: str | None = None
        self.account: dict[str, Any] = {}  # the login's account answer

    def __enter__(self) -> CockpitClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._token is not None:
            with contextlib.suppress(ClientError):
                self._send(LOGOUT, b"", timeout=5)
            self._token = None
        self._http.close()

    @property
    def token(self) -> str | None:
        return self._token

    def login(self) -> dict[str, Any]:
        """Logs in (once); JOC's account answer (`account`, `role`, `sessionTimeout` in ms, …)."""
        if self._token is None:
            with self._transport():
                response = self._http.post(LOGIN, auth=(self.user, self._password), headers=JSON_HEADERS)
            body = self._answer(response)
            token = response.headers.get("x-access-token") or (body or {}).get("accessToken")
            if not token:
                raise ClientError(f"the Cockpit at {self.url} answered the login without an X-Access-Token")
            self._token = str(token)
            self.account = body if isinstance(body, dict) else {}
        return self.account

    def controller_id(self) -> str:
        """The session's current Controller (``/controller/ids``' `selected`), as ``Connect-JS7`` reads it."""
        if self._controller_id is None:
            selected = self.post("/controller/ids").get("selected")
            if not selected:
                raise ClientError(f"the Cockpit at {self.url} knows no Controller that {self.user} may see")
            self._controller_id = str(selected)
        return self._controller_id

    def post(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """The JSON answer to ``POST /joc/api<path>`` with `body` (logged in first)."""
        return self._answer(self._call(path, body))

    def post_text(self, path: str, body: Mapping[str, Any] | None = None) -> TextAnswer:
        """A text answer (``/task/log``): its text and headers; an error answer raises as `post`'s."""
        response = self._call(path, body)
        if not response.is_success:
            self._answer(response)
        return TextAnswer(response.text, dict(response.headers))

    def _call(self, path: str, body: Mapping[str, Any] | None) -> httpx.Response:
        # js7es's own JSON: httpx's json= would refuse a Decimal (or round it through float)
        content = dumps(dict(body or {})).encode()
        self.login()
        response = self._send(path, content)
        if response.status_code == 440:  # the session expired: JOC ran nothing, log in again once
            self._token = None
            self.login()
            response = self._send(path, content)
        return response

    def _send(self, path: str, content: bytes, **kwargs: Any) -> httpx.Response:
        headers = {**JSON_HEADERS, "X-Access-Token": self._token or ""}
        with self._transport():
            return self._http.post(path, content=content, headers=headers, **kwargs)

    def _transport(self) -> TransportErrors:
        return TransportErrors(self.url, "the Cockpit")

    def _answer(self, response: httpx.Response) -> Any:
        if response.is_success:
            return json_body(response.content) if response.content else {}
        raise joc_error(response.status_code, json_body(response.content), str(response.request.url), response.text)


def joc_error(status: int, body: Any, url: str, text: str = "") -> ClientError:
    """JOC's error answer as one line: ``code: message`` (420, 440), the list of a 419, the account
    answer's message of a 401 or 403; anything else names the status and the URL."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("code"):
        code, message = str(error["code"]), str(error.get("message", ""))
        return ClientError(f"{code}: {message}", problem=Problem(code=code, message=message))
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        parts = [f"{e.get('code')}: {e.get('message')}" if isinstance(e, dict) else str(e) for e in errors]
        return ClientError(f"JOC-{status}: {'; '.join(parts)}")
    if status in _ACCOUNT_STATUS and isinstance(body, dict):
        message = str(body.get("message") or ("Access denied" if status == 401 else "no permission"))
        return ClientError(f"{_ACCOUNT_STATUS[status]} (HTTP {status}): {message}")
    if status == 440:
        return ClientError("AUTH-440: Session has expired! Please log in again.")
    return ClientError(f"HTTP {status} from {url}: {text[:200].strip()}")
