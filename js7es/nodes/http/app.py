"""Assembling a node's Starlette app: the standard routes, middleware and problem handling."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from js7es.domain.problem import ProblemError, problem
from js7es.nodes.http.auth import Authenticator
from js7es.nodes.http.body import MAX_BODY_BYTES, too_large
from js7es.nodes.http.metrics import MetricsMiddleware, NodeMetrics
from js7es.nodes.http.problems import CatchAllMiddleware, exception_handlers, problem_response
from js7es.nodes.http.responses import json_response


def js7es_version() -> str:
    try:
        return version("js7es")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0"


@dataclass(slots=True)
class NodeOverview:
    """JS7's overview (``GET /controller/api``): who the node is; `extra()` adds node-specific fields.

    The node sets `is_terminating` when it begins to shut down, so clients and load balancers can tell.
    """

    id: str
    started_at_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    build_id: str = ""
    is_terminating: bool = False
    extra: Callable[[], Mapping[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        now_ms = int(time.time() * 1000)
        result: dict[str, Any] = {
            "id": self.id,
            "version": js7es_version(),
            "buildId": self.build_id or js7es_version(),
            "startedAt": self.started_at_ms,
            "totalRunningTime": max(0, now_ms - self.started_at_ms) / 1000,
            "isTerminating": self.is_terminating,
            "system": {"hostname": socket.gethostname()},
        }
        if self.extra is not None:
            result.update(self.extra())
        return result


class BodySizeLimitMiddleware:
    """Refuse request bodies over `max_bytes` for every route: by Content-Length before the route runs,
    and for a chunked body as soon as the route has read past the limit (PayloadTooLarge, 413).

    Routes that read with `body.read_json` have their own (maybe smaller) limit; this guard covers
    routes that read the body any other way.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit():
                    await problem_response(problem("BadRequest", "Invalid Content-Length"))(scope, receive, send)
                    return
                if int(value) > self.max_bytes:
                    await problem_response(too_large(self.max_bytes))(scope, receive, send)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise ProblemError(too_large(self.max_bytes))  # answered by the exception handler
            return message

        await self.app(scope, limited_receive, send)


def build_app(
    *,
    prefix: str,
    overview: NodeOverview,
    authenticator: Authenticator,
    routes: Sequence[BaseRoute] = (),
    metrics: NodeMetrics | None = None,
    public_metrics: bool = False,
    max_body_bytes: int = MAX_BODY_BYTES,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    """A node's app: ``GET <prefix>`` (overview, public), ``POST <prefix>/session``, ``GET /metrics``
    (if `metrics`; permission ReadMetrics unless `public_metrics`), then `routes`.

    Every error is a problem body; bodies over `max_body_bytes` are refused; `metrics` counts requests.
    """

    async def overview_endpoint(request: Request) -> Response:
        return json_response(overview.to_json())

    standard: list[BaseRoute] = [
        Route(prefix or "/", overview_endpoint, methods=["GET"]),
        authenticator.session_route(prefix),
    ]
    if metrics is not None:
        standard.append(metrics.route(authenticator=None if public_metrics else authenticator))
    # Metrics outermost: they count also the 500 that CatchAllMiddleware answers for an escaped exception.
    middleware = [Middleware(MetricsMiddleware, metrics=metrics)] if metrics is not None else []
    middleware.append(Middleware(CatchAllMiddleware))
    middleware.append(Middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes))
    return Starlette(
        routes=[*standard, *routes],
        middleware=middleware,
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
