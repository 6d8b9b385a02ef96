"""The Cockpit process: migrations, one follower per Controller (followers.py: those of the configuration
and those registered through the JOC API, joining and leaving while it runs), and a web service on uvicorn.

The Cockpit is also the Cluster Watch of its Controller clusters at ``/cluster-watch/api`` (watch.py:
only the active member answers).

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
import dataclasses
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
from js7es.journal.cockpit.fence import Fence
from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.cluster_watch.api import PREFIX as WATCH_PREFIX
from js7es.nodes.cluster_watch.api import cluster_watch_routes
from js7es.nodes.cockpit.api.service import JocService
from js7es.nodes.cockpit.cluster import ClusterActivity, LeaseClient, joc_instance
from js7es.nodes.cockpit.config import CockpitSettings
from js7es.nodes.cockpit.follower import ControllerFollower
from js7es.nodes.cockpit.followers import FollowerSet
from js7es.nodes.cockpit.release import KAFKA_EXPORT, PROJECTION, ReleaseGate
from js7es.nodes.cockpit.watch import CockpitClusterWatch
from js7es.nodes.export.run import ExportStatus
from js7es.nodes.export.service import KafkaExports
from js7es.nodes.http import Authenticator, NodeMetrics, NodeOverview, Users, build_app, json_response
from js7es.nodes.server import serve
from js7es.nodes.tls import TlsConfig, client_ssl_context
from js7es.projections.cockpit.database import fence_engine, migrate, open_database
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


def open_projector(settings: CockpitSettings, fence: Fence | None = None) -> Projector:
    """The database, migrated to the newest schema, behind a Projector; with a `fence` (a Cockpit
    cluster member) every writing transaction of the projector is fenced (cluster.py)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # a member stopped inside a transaction (SIGSTOP) must not hold the lease row's share lock for long
    idle_s = settings.cluster.lease_s if settings.cluster is not None and fence is not None else 0
    engine = open_database(
        settings.database_url, schema_name=settings.database_schema, idle_in_transaction_timeout_s=idle_s
    )
    migrate(engine, schema_name=settings.database_schema)
    if fence is not None:
        fence_engine(engine, fence)
    return Projector(engine, task_log_limit=settings.projection.task_log_limit)


class ActiveServices:
    """What only the active Cockpit runs: the followers (projections), the Kafka export, the daily plan
    service, the JOC service's active part (audit projection, recovery, reconciliation) and the Cluster
    Watch (watch.py: untaught at each start). Started at the start of a Cockpit outside a cluster; in a
    cluster on each takeover and stopped on each step-down, in order, on the event loop (`activate` and
    `deactivate` may be called from any thread)."""

    def __init__(
        self,
        settings: CockpitSettings,
        followers: FollowerSet,
        joc: JocService,
        exports: KafkaExports | None,
        *,
        joc_active: bool,
        watch: CockpitClusterWatch | None = None,
    ) -> None:
        self.settings = settings
        self.followers = followers
        self.joc = joc
        self.exports = exports
        self.watch = watch
        self._joc_active = joc_active  # outside a cluster the JOC service activated itself at its start
        self._daily_plan: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changes: asyncio.Queue[bool] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.running = False
        self.generation: int | None = None

    def attach(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._changes = asyncio.Queue()
        self._worker = asyncio.create_task(self._work(), name="cockpit-activity")

    def activate(self, generation: int) -> None:
        self.generation = generation
        self._post(True)

    def deactivate(self) -> None:
        self._post(False)

    def _post(self, active: bool) -> None:
        assert self._loop is not None and self._changes is not None
        self._loop.call_soon_threadsafe(self._changes.put_nowait, active)

    async def _work(self) -> None:
        assert self._changes is not None
        while True:
            active = await self._changes.get()
            try:
                if active and not self.running:
                    await self.start()
                elif not active and self.running:
                    await self.stop()
            except Exception:
                log.exception("changing the Cockpit's activity failed")

    async def start(self) -> None:
        self.running = True
        if not self._joc_active:
            await asyncio.to_thread(self.joc.activate)
            self._joc_active = True
            if self.joc.root_password is not None:
                print(f"Cockpit account root, password {self.joc.root_password} (shown once; change it)", flush=True)
                self.joc.root_password = None
        self.followers.start()
        if self.settings.daily_plan_service:
            self._daily_plan = asyncio.create_task(
                self.joc.daily_plan.run(self.settings.daily_plan_check_s), name="daily-plan"
            )
        if self.exports is not None:
            self.exports.start()
        if self.watch is not None:
            self.watch.start(self.generation if self.settings.cluster is not None else None)
        if self.settings.cluster is not None:
            log.warning("Cockpit %r is the active member: its services run", self.settings.cluster.member_id)

    async def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        if self.watch is not None:
            self.watch.stop()  # first: a standby must not answer as the Watch
        if self._daily_plan is not None:
            self._daily_plan.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._daily_plan
            self._daily_plan = None
        if self.settings.cluster is not None:
            await asyncio.to_thread(self.joc.deactivate)
            self._joc_active = False
        if self.exports is not None:
            await asyncio.to_thread(self.exports.stop)
        await self.followers.stop()
        if self.settings.cluster is not None:
            log.warning("Cockpit %r is a standby: its services stopped", self.settings.cluster.member_id)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        await self.stop()


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
    cluster = settings.cluster
    if cluster is not None and not cluster.uri:  # how the other members reach this one (forwarding.py)
        scheme = "https" if tls is not None else "http"
        cluster = dataclasses.replace(cluster, uri=f"{scheme}://{settings.http.host}:{settings.http.port}")
    fence = Fence(cluster.cluster_id, schema=settings.database_schema) if cluster is not None else None
    projector = open_projector(settings, fence)
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

    joc = start_joc(settings, projector, insecure=insecure, following=followers, fence=fence)
    after_batch.append(joc.services.batches.notify)
    active = ActiveServices(settings, followers, joc, exports, joc_active=fence is None)
    lease_engine = None
    activity: ClusterActivity | None = None  # None: a single Cockpit, always active
    if cluster is not None and fence is not None:
        lease_engine = open_database(settings.database_url, schema_name=settings.database_schema, pool_size=1)
        activity = ClusterActivity(
            LeaseClient(lease_engine, cluster), fence, on_active=active.activate, on_standby=active.deactivate
        )
        from js7es.nodes.cockpit.api.forwarding import Forwarder

        joc.services.cockpit_cluster = activity
        joc.services.forwarder = Forwarder(
            fence, cluster.member_id, client_context, secret=activity.lease.secret(), wait_s=cluster.lease_s + 2
        )
    watch_decisions = metrics.counter(
        "js7es_cluster_watch_decisions",
        "The Cluster Watch's answers, by request and outcome (Accepted or the problem code)",
        ("request", "outcome"),
    )
    active.watch = CockpitClusterWatch(activity, decisions=watch_decisions)
    joc.services.controllers.hosted_watch = active.watch

    version = joc.services.version
    if activity is not None and cluster is not None:
        lease = activity.lease
        member_id = cluster.member_id

        def instances() -> list[dict[str, Any]]:
            return [
                joc_instance(
                    m.member_id,
                    m.uri,
                    active=m.active,
                    current=m.member_id == member_id,
                    version=version,
                    started_at=m.started_at,
                    heartbeat_at=m.heartbeat_at,
                    ordinal=i,
                )
                for i, m in enumerate(lease.members(), 1)
            ]

        joc.services.cockpit_instances = instances
    else:
        joc.services.cockpit_instances = lambda: [
            joc_instance(settings.cockpit_id, "", active=True, current=True, version=version)
        ]

    def cluster_status() -> dict[str, Any]:
        """This Cockpit's part in its cluster: always active outside one (SQLite: single-instance)."""
        if cluster is None or fence is None or activity is None:
            return {"mode": "single", "active": True}
        return {
            "mode": "cluster",
            "clusterId": cluster.cluster_id,
            "memberId": cluster.member_id,
            "active": active.running,
            "generation": activity.generation,
            "activeMember": fence.active_member,
            "activeUri": fence.active_uri,
        }

    from js7es.nodes.cockpit.ui.app import ui_routes

    ui = ui_routes(joc.services, joc.routes)

    def extra() -> dict[str, Any]:
        out: dict[str, Any] = {
            "database": projector.engine.dialect.name,
            "controllers": followers.statuses(),
            "cluster": cluster_status(),
            "clusterWatch": {"running": active.watch is not None and active.watch.running},
        }
        if exports is not None:
            out["export"] = {"kafka": exports.to_json()}
        return out

    overview = NodeOverview(id=settings.cockpit_id, extra=extra)

    async def health(request: Request) -> Response:
        return json_response({"status": "up", **extra()})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        active.attach()
        if activity is None:
            await active.start()  # a single Cockpit: active from the start, as always
        else:
            activity.start()
        scheme = "https" if tls is not None else "http"
        exporting = f", exporting to Kafka {dict(exports.settings.topics)}" if exports is not None else ""
        print(
            f"js7es cockpit {settings.cockpit_id!r} ready at {scheme}://{settings.http.host}:{settings.http.port}"
            f"{PREFIX}, following {followers.controller_ids} into {projector.engine.url!r}{exporting}",
            flush=True,
        )
        if cluster is not None:
            print(f"member {cluster.member_id!r} of Cockpit cluster {cluster.cluster_id!r}", flush=True)
        print(f"JOC API at {scheme}://{settings.http.host}:{settings.http.port}/joc/api", flush=True)
        print(f"Cockpit UI at {scheme}://{settings.http.host}:{settings.http.port}/", flush=True)
        if joc.root_password is not None:
            print(f"Cockpit account root, password {joc.root_password} (shown once; change it)", flush=True)
        try:
            yield
        finally:
            if activity is not None:
                await asyncio.to_thread(activity.stop)
            await active.close()
            if activity is not None:
                await asyncio.to_thread(activity.release)  # after the services: a standby takes over at once
            if joc.services.forwarder is not None:
                await joc.services.forwarder.close()
            joc.close()
            projector.engine.dispose()
            if lease_engine is not None:
                lease_engine.dispose()

    app = build_app(
        prefix=PREFIX,
        overview=overview,
        authenticator=auth,
        metrics=metrics,
        routes=[
            Route(f"{PREFIX}/health", health, methods=["GET"]),
            *joc.routes,
            auth.session_route(WATCH_PREFIX),  # for `js7es ctl confirm-node-loss --watch <this Cockpit>`
            *cluster_watch_routes(active.watch, auth),
            *ui,
        ],
        lifespan=lifespan,
    )
    return serve(app, settings.http.host, settings.http.port, tls, server_box)
