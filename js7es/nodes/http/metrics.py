"""Prometheus metrics per node: one `CollectorRegistry` each (never the global one), and ``GET /metrics``.

Several nodes in one process (tests, the standalone server) therefore never clash over metric names.
Standard metrics, which the engine extends with `counter` and `gauge`:

- ``js7es_http_requests_total{method,route,status}`` — answered requests, by route *template*
  (``/controller/api/order/{id}``, not the path, so that the number of series stays bounded);
- ``js7es_journal_last_event_id{journal}`` — the last committed EventId (`track_journal`).
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from js7es.domain.problem import Problem
from js7es.journal.api import Journal
from js7es.nodes.http.auth import Authenticator, auth_problem_response

UNMATCHED_ROUTE = "<unmatched>"


class NodeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = self.counter(
            "js7es_http_requests", "HTTP requests answered, by method, route template and status",
            ("method", "route", "status"),
        )  # fmt: skip
        self.journal_last_event_id = self.gauge(
            "js7es_journal_last_event_id", "The journal's last committed EventId", ("journal",)
        )

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        return Counter(name, documentation, labels, registry=self.registry)

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(name, documentation, labels, registry=self.registry)

    def track_journal(self, journal: Journal, name: str = "journal") -> None:
        """Export `journal.last_event_id` (read at each scrape)."""
        self.journal_last_event_id.labels(journal=name).set_function(lambda: journal.last_event_id)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def route(
        self, *, authenticator: Authenticator | None, permission: str = "ReadMetrics", path: str = "/metrics"
    ) -> Route:
        """``GET /metrics`` in the text exposition format; `authenticator` None makes it public."""

        async def endpoint(request: Request) -> Response:
            if authenticator is not None:
                user = await authenticator.check(request, permission)
                if isinstance(user, Problem):
                    return auth_problem_response(user)
            return Response(self.exposition(), media_type=CONTENT_TYPE_LATEST)

        return Route(path, endpoint, methods=["GET"])


class MetricsMiddleware:
    """Counts every HTTP response in `NodeMetrics.http_requests` (a streaming one when it starts)."""

    def __init__(self, app: ASGIApp, metrics: NodeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = scope.get("route")  # set by starlette's router on the shared scope
                template = getattr(route, "path", None) or UNMATCHED_ROUTE
                self.metrics.http_requests.labels(scope["method"], template, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counting_send)
