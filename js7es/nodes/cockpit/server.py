"""The Cockpit process: migrations, one follower per Controller (followers.py: those of the configuration
and those registered through the JOC API, joining and leaving while it runs), and a web service on uvicorn.

``GET /cockpit/api`` (overview: each Controller's stored EventId and follower state; with
``[export.kafka]``, each export's position, checkpoint and lag under ``export.kafka``),
``GET /cockpit/api/health`` (public), ``GET /metrics``, the JOC API at ``/joc/api`` (api/) and the web UI
at ``/`` (ui/).
A kill -9 at any moment loses nothing: every batch commits with its EventId, and a restart follows on
from there; the Kafka export (export.py) resumes from its topic, exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
from collections.abc import AsyncIterator, Sequence
from typing import Any

import uvicorn
from prometheus_client import Histogram
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from js7es.domain.event import Stamped
from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.cockpit.config import CockpitSettings
from js7es.nodes.cockpit.follower import ControllerFollower
from js7es.nodes.cockpit.followers import FollowerSet
from js7es.nodes.cockpit.release import KAFKA_EXPORT, PROJECTION, ReleaseGate
from js7es.nodes.export.run import ExportStatus
from js7es.nodes.export.service import KafkaExports
from js7es.nodes.http import Authenticator, NodeMetrics, NodeOverview, Users, build_app, json_response
from js7es.nodes.server import serve
from js7es.nodes.tls import TlsConfig, client_ssl_context
from js7es.projections.cockpit.database import migrate, open_database
from js7es.projections.cockpit.projector import BatchResult, Projector

log = logging.getLogger(__name__)
PREFIX = "/cockpit/api"


def cockpit_tls(settings: CockpitSettings, insecure: bool) -> TlsConfig | None:
    if settings.tls is None:
        if not insecure:
            raise ValueError(f"{settings.config_file}: no [tls] section; plain HTTP needs the explicit --insecure flag")
        return None
    if insecure:
        raise ValueError("--insecure given, but the configuration has a [tls] section: choose one")
    # Browsers reach the Cockpit without a client certificate; the Controllers see ours.
    return TlsConfig(
        cert_file=settings.tls.cert, key_file=settings.tls.key, ca_file=settings.tls.ca, require_client_cert=False
    )


def open_projector(settings: CockpitSettings) -> Projector:
    """The database, migrated to the newest schema, behind a Projector."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = open_database(settings.database_url, schema_name=settings.database_schema)
    migrate(engine, schema_name=settings.database_schema)
    return Projector(engine, task_log_limit=settings.projection.task_log_limit)


class CockpitMetrics(NodeMetrics):
    def __init__(self) -> None:
        super().__init__()
        self.event_id = self.gauge("js7es_cockpit_event_id", "The stored EventId per Controller", ("controller",))
        self.events = self.counter("js7es_cockpit_events", "Events applied to the read model", ("controller",))
        self.inapplicable = self.counter(
            "js7es_cockpit_inapplicable_events", "Events the read model could not place", ("controller",)
        )
        self.lag = Histogram(
            "js7es_cockpit_projection_lag_seconds",
            "From an event's timestamp at the Controller to the commit of its batch",
            ("controller",),
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )

    def track_exports(self, exports: KafkaExports) -> None:
        """The Kafka export's positions per Controller (read at each scrape)."""
        event_id = self.gauge(
            "js7es_cockpit_export_event_id", "The last EventId acknowledged by Kafka per Controller", ("controller",)
        )
        lag = self.gauge(
            "js7es_cockpit_export_lag_seconds",
            "How much older the last event in Kafka is than the last one read from the Controller",
            ("controller",),
        )
        for controller_id, status in exports.statuses.items():
            event_id.labels(controller=controller_id).set_function(functools.partial(getattr, status, "event_id"))
            lag.labels(controller=controller_id).set_function(functools.partial(_lag_seconds, status))

    def batch(self, controller_id: str, result: BatchResult, events: Sequence[Stamped]) -> None:
        import time

        self.event_id.labels(controller=controller_id).set(result.event_id)
        self.events.labels(controller=controller_id).inc(result.applied)
        if result.inapplicable:
            self.inapplicable.labels(controller=controller_id).inc(result.inapplicable)
        if events:
            self.lag.labels(controller=controller_id).observe(max(0.0, time.time() - events[-1].timestamp_ms / 1000))


def _lag_seconds(status: ExportStatus) -> float:
    return float(status.to_json()["lagSeconds"])


def run_cockpit(settings: CockpitSettings, *, insecure: bool = False) -> int:
    tls = cockpit_tls(settings, insecure)
    projector = open_projector(settings)
    client_context: ssl.SSLContext | None = client_ssl_context(tls) if tls is not None else None
    metrics = CockpitMetrics()
    export_settings = settings.kafka_export
    exported = export_settings.controllers if export_settings is not None else ()
    gates = {
        c.controller_id: ReleaseGate([PROJECTION, *([KAFKA_EXPORT] if c.controller_id in exported else [])])
        for c in settings.controllers
    }
    after_batch: list[Any] = [metrics.batch]  # the JOC API's BatchSignal joins when it has started

    def on_batch(controller_id: str, result: BatchResult, events: Sequence[Stamped]) -> None:
        for callback in after_batch:
            callback(controller_id, result, events)

    def make_follower(connection: ControllerConnection) -> ControllerFollower:
        return ControllerFollower(
            connection=connection,
            projector=projector,
            settings=settings.projection,
            ssl_context=client_context,
            on_batch=on_batch,
            # a registered Controller's only consumer is the projection (the Kafka export is configured)
            release_gate=gates.get(connection.controller_id),
        )

    followers = FollowerSet(make_follower)
    for connection in settings.controllers:
        followers.add(connection)
    exports: KafkaExports | None = None
    if export_settings is not None:
        connections = {c.controller_id: c for c in settings.controllers}
        releasers = {cid: gates[cid].releaser(KAFKA_EXPORT) for cid in export_settings.topics}
        exports = KafkaExports(export_settings, connections, client_context, releasers)
        metrics.track_exports(exports)
    auth = Authenticator(Users.from_config(settings.users))
    server_box: list[uvicorn.Server] = []
    from js7es.nodes.cockpit.api.service import start_joc

    joc = start_joc(settings, projector, insecure=insecure, following=followers)
    after_batch.append(joc.services.batches.notify)
    from js7es.nodes.cockpit.ui.app import ui_routes

    ui = ui_routes(joc.services, joc.routes)

    def extra() -> dict[str, Any]:
        out: dict[str, Any] = {
            "database": projector.engine.dialect.name,
            "controllers": followers.statuses(),
        }
        if exports is not None:
            out["export"] = {"kafka": exports.to_json()}
        return out

    overview = NodeOverview(id=settings.cockpit_id, extra=extra)

    async def health(request: Request) -> Response:
        return json_response({"status": "up", **extra()})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        followers.start()
        daily_plan = (
            asyncio.create_task(joc.daily_plan.run(settings.daily_plan_check_s), name="daily-plan")
            if settings.daily_plan_service
            else None
        )
        if exports is not None:
            exports.start()
        scheme = "https" if tls is not None else "http"
        exporting = f", exporting to Kafka {dict(exports.settings.topics)}" if exports is not None else ""
        print(
            f"js7es cockpit {settings.cockpit_id!r} ready at {scheme}://{settings.http.host}:{settings.http.port}"
            f"{PREFIX}, following {followers.controller_ids} into {projector.engine.url!r}{exporting}",
            flush=True,
        )
        print(f"JOC API at {scheme}://{settings.http.host}:{settings.http.port}/joc/api", flush=True)
        print(f"Cockpit UI at {scheme}://{settings.http.host}:{settings.http.port}/", flush=True)
        if joc.root_password is not None:
            print(f"Cockpit account root, password {joc.root_password} (shown once; change it)", flush=True)
        try:
            yield
        finally:
            if daily_plan is not None:
                daily_plan.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await daily_plan
            joc.close()
            if exports is not None:
                await asyncio.to_thread(exports.stop)
            await followers.stop()
            projector.engine.dispose()

    app = build_app(
        prefix=PREFIX,
        overview=overview,
        authenticator=auth,
        metrics=metrics,
        routes=[Route(f"{PREFIX}/health", health, methods=["GET"]), *joc.routes, *ui],
        lifespan=lifespan,
    )
    return serve(app, settings.http.host, settings.http.port, tls, server_box)
