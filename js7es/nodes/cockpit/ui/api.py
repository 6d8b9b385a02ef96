"""The UI's one client of the JOC API: the API's routes called in-process (httpx over ASGI, no socket),
with the browser session's token and the browser's address, so that every check the API makes — the
session, the permission, the folders, the mandatory audit comment — is made for the UI as for any client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import BaseRoute

PREFIX = "/joc/api"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: Any  # the JSON answer, or the text of a text/plain one
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def message(self) -> str:
        """What went wrong, in JOC's words."""
        if isinstance(self.body, dict):
            error = self.body.get("error")
            if isinstance(error, dict):
                return f"{error.get('code', '')}: {error.get('message', '')}".strip(": ")
            if "message" in self.body:
                return str(self.body["message"])
        return f"HTTP {self.status}"

    @property
    def code(self) -> str:
        error = self.body.get("error") if isinstance(self.body, dict) else None
        return str(error.get("code", "")) if isinstance(error, dict) else ""


class JocApi:
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.app = Starlette(routes=list(routes))

    async def call(
        self,
        request: Request,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        token: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """POST `body` to /joc/api`path` as the browser of `request` with the session's `token`."""
        client = request.client
        transport = httpx.ASGITransport(app=self.app, client=(client.host, client.port) if client else ("127.0.0.1", 0))
        sent = {"X-Access-Token": token} if token else {}
        async with httpx.AsyncClient(transport=transport, base_url="https://cockpit") as http:
            response = await http.post(PREFIX + path, json=dict(body or {}), headers={**sent, **(headers or {})})
        if response.headers.get("content-type", "").startswith("application/json"):
            answer: Any = response.json()
        else:
            answer = response.text
        return Answer(response.status_code, answer, dict(response.headers))
