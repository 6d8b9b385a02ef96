"""The Cluster Watch process: `js7es cluster-watch --config FILE [--insecure]`, on the nodes' one `serve`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import uvicorn
from starlette.applications import Starlette

from js7es.nodes.cluster_watch.api import PREFIX, cluster_watch_routes
from js7es.nodes.cluster_watch.config import ClusterWatchSettings
from js7es.nodes.cluster_watch.watch import ClusterWatch
from js7es.nodes.http import Authenticator, NodeMetrics, NodeOverview, Users, build_app
from js7es.nodes.server import serve
from js7es.nodes.tls import TlsConfig, require_tls_or_insecure

log = logging.getLogger(__name__)


def cluster_watch_app(settings: ClusterWatchSettings, watch: ClusterWatch, metrics: NodeMetrics) -> Starlette:
    auth = Authenticator(Users.from_config(settings.users))
    overview = NodeOverview(id=settings.watch_id, extra=lambda: {"clusters": watch.cluster_ids})
    scheme = "https" if settings.tls is not None else "http"

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        url = f"{scheme}://{settings.http.host}:{settings.http.port}{PREFIX}"
        print(f"js7es cluster-watch {settings.watch_id!r} ready at {url} (untaught)", flush=True)
        yield

    return build_app(
        prefix=PREFIX,
        overview=overview,
        authenticator=auth,
        metrics=metrics,
        routes=cluster_watch_routes(watch, auth),
        lifespan=lifespan,
    )


def run_cluster_watch(settings: ClusterWatchSettings, *, insecure: bool = False) -> int:
    tls = require_tls_or_insecure(
        None
        if settings.tls is None
        else TlsConfig(cert_file=settings.tls.cert, key_file=settings.tls.key, ca_file=settings.tls.ca),
        insecure,
    )
    metrics = NodeMetrics()
    decisions = metrics.counter(
        "js7es_cluster_watch_decisions",
        "The Cluster Watch's answers, by request and outcome (Accepted or the problem code)",
        ("request", "outcome"),
    )
    watch = ClusterWatch(decisions=decisions)
    app = cluster_watch_app(settings, watch, metrics)
    server_box: list[uvicorn.Server] = []
    return serve(app, settings.http.host, settings.http.port, tls, server_box)
