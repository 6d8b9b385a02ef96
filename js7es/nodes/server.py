"""Running a node as a process: the journal, the core, the web service on uvicorn, TLS, and shutdown.

`js7es controller --config FILE` and `js7es agent --config FILE` end here. The process stops cleanly on
SIGTERM/SIGINT or a ShutDown command; a kill -9 at any moment loses nothing that was committed.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from js7es.journal.file import FileJournal
from js7es.nodes.agent.api import PREFIX as AGENT_PREFIX
from js7es.nodes.agent.api import agent_routes
from js7es.nodes.agent.director import AgentDirector
from js7es.nodes.config import NodeSettings
from js7es.nodes.controller.agent_client import AgentClient
from js7es.nodes.controller.api import PREFIX as CONTROLLER_PREFIX
from js7es.nodes.controller.api import controller_routes
from js7es.nodes.controller.controller import ControllerCore
from js7es.nodes.http import Authenticator, NodeMetrics, NodeOverview, Users, build_app
from js7es.nodes.tls import TlsConfig, client_ssl_context, uvicorn_http_protocol, uvicorn_ssl_kwargs

log = logging.getLogger(__name__)


def _tls(settings: NodeSettings, insecure: bool) -> TlsConfig | None:
    if settings.tls is None:
        if not insecure:
            raise ValueError(f"{settings.config_file}: no [tls] section; plain HTTP needs the explicit --insecure flag")
        return None
    if insecure:
        raise ValueError("--insecure given, but the configuration has a [tls] section: choose one")
    return TlsConfig(cert_file=settings.tls.cert, key_file=settings.tls.key, ca_file=settings.tls.ca)


def serve(app: Starlette, host: str, port: int, tls: TlsConfig | None, server_box: list[uvicorn.Server]) -> int:
    """Run a node's app on uvicorn (mutual TLS unless `tls` is None) until SIGTERM/SIGINT or should_exit."""
    kwargs: dict[str, Any] = {}
    if tls is not None:
        kwargs.update(uvicorn_ssl_kwargs(tls))
        kwargs["http"] = uvicorn_http_protocol(tls)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
        lifespan="on",
        **kwargs,
    )
    server = uvicorn.Server(config)
    server_box.append(server)
    server.run()
    return 0


def _scheme(tls: TlsConfig | None) -> str:
    return "https" if tls is not None else "http"


def run_controller(settings: NodeSettings, *, insecure: bool = False) -> int:
    tls = _tls(settings, insecure)
    users = Users.from_config(settings.users)
    auth = Authenticator(users)
    client_context: ssl.SSLContext | None = client_ssl_context(tls) if tls is not None else None
    login = settings.agent_login

    def agent_client(uri: str) -> AgentClient:
        return AgentClient(
            uri, ssl_context=client_context, auth=(login.user, login.password) if login is not None else None
        )

    settings.journal_dir.mkdir(parents=True, exist_ok=True)
    journal = FileJournal.open(settings.journal_dir, name="controller")
    core = ControllerCore(
        journal=journal,
        controller_id=settings.controller_id,
        agent_client_factory=agent_client,
        agent_poll_timeout_s=settings.agent_poll_timeout_s,
        agent_release_period_s=settings.agent_release_period_s,
        snapshot_after_events=settings.snapshot_after_events,
    )
    core.register_readers(settings.readers)
    overview = NodeOverview(id=settings.controller_id, extra=core.overview)
    name = f"controller {settings.controller_id!r}"
    return _run_node(
        settings,
        tls,
        journal,
        core,
        overview,
        auth,
        CONTROLLER_PREFIX,
        name,
        lambda shut_down: controller_routes(core, auth, on_shutdown=shut_down),
    )


def run_agent(settings: NodeSettings, *, insecure: bool = False) -> int:
    tls = _tls(settings, insecure)
    auth = Authenticator(Users.from_config(settings.users))
    settings.journal_dir.mkdir(parents=True, exist_ok=True)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    journal = FileJournal.open(settings.journal_dir, name="agent")
    director = AgentDirector(
        journal=journal,
        work_dir=settings.work_dir,
        process_limit=settings.process_limit,
        snapshot_after_events=settings.snapshot_after_events,
    )
    overview = NodeOverview(id=director.state.agent_path or "Agent", extra=director.overview)
    return _run_node(
        settings,
        tls,
        journal,
        director,
        overview,
        auth,
        AGENT_PREFIX,
        "agent",
        lambda shut_down: agent_routes(director, auth, on_shutdown=shut_down),
    )


class _Core(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def _run_node(
    settings: NodeSettings,
    tls: TlsConfig | None,
    journal: FileJournal,
    core: _Core,
    overview: NodeOverview,
    auth: Authenticator,
    prefix: str,
    name: str,
    routes: Callable[[Callable[[], None]], list[BaseRoute]],
) -> int:
    """The web service around a node's core: start it with the server, stop it and close its journal
    after; a ShutDown command ends the server like SIGTERM does."""
    server_box: list[uvicorn.Server] = []
    metrics = NodeMetrics()
    metrics.track_journal(journal, settings.kind)

    def shut_down() -> None:
        overview.is_terminating = True
        server_box[0].should_exit = True

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await core.start()
        url = f"{_scheme(tls)}://{settings.http.host}:{settings.http.port}{prefix}"
        print(f"js7es {name} ready at {url}", flush=True)
        try:
            yield
        finally:
            await core.stop()
            journal.close()

    app = build_app(
        prefix=prefix,
        overview=overview,
        authenticator=auth,
        metrics=metrics,
        routes=routes(shut_down),
        lifespan=lifespan,
    )
    return serve(app, settings.http.host, settings.http.port, tls, server_box)
