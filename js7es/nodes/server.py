"""Running a node as a process: the journal, the core, the web service on uvicorn, TLS, and shutdown.

`js7es controller --config FILE` and `js7es agent --config FILE` end here. The process stops cleanly on
SIGTERM/SIGINT or a ShutDown command; a kill -9 at any moment loses nothing that was committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from types import FrameType
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from js7es.journal.file import FileJournal
from js7es.nodes.agent.api import PREFIX as AGENT_PREFIX
from js7es.nodes.agent.api import agent_routes
from js7es.nodes.agent.director import AgentDirector
from js7es.nodes.clock import clock_from_environment
from js7es.nodes.config import NodeSettings
from js7es.nodes.controller.agent_client import AgentClient
from js7es.nodes.controller.agent_cluster_watch import agent_cluster_watch_routes
from js7es.nodes.controller.api import PREFIX as CONTROLLER_PREFIX
from js7es.nodes.controller.api import controller_routes
from js7es.nodes.controller.controller import ControllerCore
from js7es.nodes.http import Authenticator, NodeMetrics, NodeOverview, Users, build_app
from js7es.nodes.http.body import MAX_BODY_BYTES
from js7es.nodes.tls import (
    TlsConfig,
    client_ssl_context,
    uvicorn_http_protocol,
    uvicorn_ssl_kwargs,
    uvicorn_ws_protocol,
)

log = logging.getLogger(__name__)


def _tls(settings: NodeSettings, insecure: bool) -> TlsConfig | None:
    if settings.tls is None:
        if not insecure:
            raise ValueError(f"{settings.config_file}: no [tls] section; plain HTTP needs the explicit --insecure flag")
        return None
    if insecure:
        raise ValueError("--insecure given, but the configuration has a [tls] section: choose one")
    return TlsConfig(cert_file=settings.tls.cert, key_file=settings.tls.key, ca_file=settings.tls.ca)


class _Server(uvicorn.Server):
    """uvicorn's server, running `before_exit()` on SIGTERM/SIGINT (or `begin_exit`) while it still
    serves: a cluster's active node commits ActiveShutDown, which its standby must still receive."""

    def __init__(self, config: uvicorn.Config, before_exit: Callable[[], Awaitable[None]] | None) -> None:
        super().__init__(config)
        self._before_exit = before_exit
        self._exiting = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._before_exit is None or self._exiting:
            super().handle_exit(sig, frame)
            return
        self._captured_signals.append(sig)  # re-raised after the shutdown, as uvicorn does
        self.begin_exit()

    def begin_exit(self) -> None:
        if self._before_exit is None:
            self.should_exit = True
            return
        if self._exiting:
            return
        self._exiting = True
        before_exit = self._before_exit

        async def run() -> None:
            try:
                await asyncio.wait_for(before_exit(), 10)
            except Exception:
                log.exception("preparing the shutdown failed")
            finally:
                self.should_exit = True

        asyncio.get_event_loop().create_task(run())


def server_config(app: Starlette, host: str, port: int, tls: TlsConfig | None) -> uvicorn.Config:
    """uvicorn's configuration of every node. The event loop and the HTTP protocol are chosen here, not
    by what happens to be installed (uvicorn's "auto" takes uvloop and httptools when they are): the
    nodes are built and tested on asyncio's loop and h11 — under uvloop the shell jobs of an Agent did
    not finish (bench/README.md, issue 18)."""
    kwargs: dict[str, Any] = uvicorn_ssl_kwargs(tls) if tls is not None else {}
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="asyncio",
        http=uvicorn_http_protocol(tls),
        ws=uvicorn_ws_protocol(tls),  # the Agent's command stream (agent/api.py)
        ws_max_size=MAX_BODY_BYTES,  # as a POSTed command
        ws_per_message_deflate=False,  # small JSON messages on loopback or a LAN: compression costs CPU
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
        lifespan="on",
        **kwargs,
    )


def serve(
    app: Starlette,
    host: str,
    port: int,
    tls: TlsConfig | None,
    server_box: list[uvicorn.Server],
    before_exit: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Run a node's app on uvicorn (mutual TLS unless `tls` is None) until SIGTERM/SIGINT or should_exit."""
    server = _Server(server_config(app, host, port, tls), before_exit)
    server_box.append(server)
    server.run()
    return 0


# Young objects allocated between two collections of the youngest generation (CPython's default: 700).
GC_THRESHOLD = 20_000


def tune_garbage_collector() -> None:
    """Once the node has started (modules loaded, state recovered): what exists now is moved out of the
    collector's sight (`gc.freeze`), and the youngest generation is collected after 20,000 allocations
    instead of 700. node_bench's profile with C frames (py-spy --native) found the cyclic collector
    in 15 % of the Agent's samples and 11 % of the Controller's: every young collection traverses
    what is alive in the young generations (the events and orders of the commits in flight), and
    every full one everything the process holds. The node's data are acyclic (its state is dicts of
    frozen records): reference counting frees it, and what cycles there are (asyncio's futures and
    their exceptions) are still collected, only later."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 10, 10)


def _scheme(tls: TlsConfig | None) -> str:
    return "https" if tls is not None else "http"


def run_controller(settings: NodeSettings, *, insecure: bool = False) -> int:
    clock_from_environment()  # a malformed test clock refuses to start (a ValueError, reported by the CLI)
    tls = _tls(settings, insecure)
    users = Users.from_config(settings.users)
    auth = Authenticator(users)
    client_context: ssl.SSLContext | None = client_ssl_context(tls) if tls is not None else None
    login = settings.agent_login

    def agent_client(uri: str) -> AgentClient:
        return AgentClient(
            uri, ssl_context=client_context, auth=(login.user, login.password) if login is not None else None
        )

    if settings.cluster is not None:
        return _run_cluster_node(settings, tls, auth, client_context, agent_client)
    settings.journal_dir.mkdir(parents=True, exist_ok=True)
    journal = FileJournal.open(settings.journal_dir, name="controller", clock=clock_from_environment())
    core = _controller_core(settings, agent_client, journal)
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
        lambda shut_down: [
            *controller_routes(core, auth, on_shutdown=shut_down),
            *agent_cluster_watch_routes(lambda: core, auth),
        ],
    )


def _controller_core(
    settings: NodeSettings, agent_client: Callable[[str], AgentClient], journal: FileJournal, state: Any = None
) -> ControllerCore:
    """The Controller over `journal` (its state recovered from it, or `state` when the caller has it),
    with its journal readers registered."""
    core = ControllerCore(
        journal=journal,
        state=state,
        controller_id=settings.controller_id,
        agent_client_factory=agent_client,
        agent_poll_timeout_s=settings.agent_poll_timeout_s,
        agent_release_period_s=settings.agent_release_period_s,
        snapshot_after_events=settings.snapshot_after_events,
    )
    core.register_readers(settings.readers)
    return core


def _run_cluster_node(
    settings: NodeSettings,
    tls: TlsConfig | None,
    auth: Authenticator,
    client_context: ssl.SSLContext | None,
    agent_client: Callable[[str], AgentClient],
) -> int:
    """A Controller that is one node of a cluster: its role (active or standby) changes beneath the
    web service, which runs all the time (see js7es.nodes.controller.cluster)."""
    from js7es.nodes.controller.cluster.clients import PeerClient, WatchClient
    from js7es.nodes.controller.cluster.node import ClusterNode
    from js7es.nodes.controller.cluster.routes import cluster_routes, committed_view, switchover

    cluster = settings.cluster
    assert cluster is not None
    login = settings.peer_login
    peer_auth = (login.user, login.password) if login is not None else None
    timeout = cluster.consent_timeout_s

    def controller_core(journal: FileJournal, state: Any) -> ControllerCore:
        return _controller_core(settings, agent_client, journal, state)

    node = ClusterNode(
        settings,
        core_factory=controller_core,
        peer_client=PeerClient(
            cluster.nodes[cluster.peer_id], ssl_context=client_context, auth=peer_auth, timeout_s=max(timeout, 2.0)
        ),
        watch_client=WatchClient(cluster.watches, ssl_context=client_context, auth=peer_auth, timeout_s=timeout),
    )

    def extra() -> dict[str, Any]:
        core = node.active_core()
        return {"cluster": node.info(), **(core.overview() if isinstance(core, ControllerCore) else {})}

    overview = NodeOverview(id=settings.controller_id, extra=extra)
    name = f"controller {settings.controller_id!r} cluster node {cluster.node_id}"

    def cluster_metrics(metrics: NodeMetrics) -> None:
        def info_value(compute: Callable[[dict[str, Any]], Any]) -> Callable[[], float]:
            return lambda: float(bool(compute(node.info())))

        gauges = {
            "js7es_cluster_node_active": (
                "1 while this node is the ready active node",
                lambda i: i.get("active") and i.get("ready"),
            ),
            "js7es_cluster_standby_problem": (
                "1 while this standby's state does not follow the replicated journal (it does not acknowledge)",
                lambda i: i.get("problem"),
            ),
            "js7es_cluster_failover_possible": (
                "1 while the Cluster Watch knows the cluster Coupled (a failover can be granted)",
                lambda i: (i.get("clusterWatch") or {}).get("failoverPossible"),
            ),
        }
        for metric, (documentation, compute) in gauges.items():
            metrics.gauge(metric, documentation).set_function(info_value(compute))
        metrics.gauge(
            "js7es_cluster_standby_applier_failures",
            "Times this node's standby role found its state not following the journal",
        ).set_function(lambda: float(node.applier_failures))

    return _run_node(
        settings,
        tls,
        _LiveJournal(node),
        node,
        overview,
        auth,
        CONTROLLER_PREFIX,
        name,
        lambda shut_down: [
            *cluster_routes(node, auth),
            *agent_cluster_watch_routes(node.active_core, auth),
            *controller_routes(
                node.active_core,
                auth,
                on_shutdown=shut_down,
                on_switchover=switchover(node),
                event_journal=committed_view,
            ),
        ],
        cluster_metrics,
    )


class _LiveJournal:
    """The journal a cluster node has open at the moment (it changes with the role), for the metrics."""

    def __init__(self, node: Any) -> None:
        self._node = node

    @property
    def last_event_id(self) -> int:
        journal = self._node.journal
        return journal.last_event_id if journal is not None else 0

    def close(self) -> None:
        pass  # the node closes its journal itself


def run_agent(settings: NodeSettings, *, insecure: bool = False) -> int:
    tls = _tls(settings, insecure)
    auth = Authenticator(Users.from_config(settings.users))
    settings.journal_dir.mkdir(parents=True, exist_ok=True)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    subagent_client = _subagent_client_factory(settings, tls)
    if settings.cluster is not None:
        return _run_director_pair_node(settings, tls, auth, subagent_client)
    journal = FileJournal.open(settings.journal_dir, name="agent", clock=clock_from_environment())
    director = AgentDirector(
        journal=journal,
        work_dir=settings.work_dir,
        process_limit=settings.process_limit,
        snapshot_after_events=settings.snapshot_after_events,
        subagent_client_factory=subagent_client,
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


def _subagent_client_factory(settings: NodeSettings, tls: TlsConfig | None) -> Callable[[str], Any]:
    """A Director's client of a remote Subagent's URI: this node's certificate, or [subagent-login]."""
    client_context = client_ssl_context(tls) if tls is not None else None
    login = settings.subagent_login

    def subagent_client(uri: str) -> Any:
        from js7es.nodes.agent.remote_subagent import SubagentClient

        return SubagentClient(
            uri, ssl_context=client_context, auth=(login.user, login.password) if login is not None else None
        )

    return subagent_client


def _run_director_pair_node(
    settings: NodeSettings, tls: TlsConfig | None, auth: Authenticator, subagent_client: Callable[[str], Any]
) -> int:
    """An Agent Director that is one node of a Director pair: the Controller cluster's machinery (the
    journal replicated to the standby, a Cluster Watch consenting to a failover) around an AgentDirector;
    the Agent's API answers on the active node only (ClusterNodeIsNotActive names it elsewhere)."""
    from js7es.domain.agent.agent_state import AgentState
    from js7es.nodes.controller.cluster.clients import PeerClient, WatchClient
    from js7es.nodes.controller.cluster.node import ClusterNode
    from js7es.nodes.controller.cluster.routes import cluster_routes, committed_view, switchover

    cluster = settings.cluster
    assert cluster is not None and settings.agent_id is not None
    client_context: ssl.SSLContext | None = client_ssl_context(tls) if tls is not None else None
    login = settings.peer_login
    peer_auth = (login.user, login.password) if login is not None else None
    timeout = cluster.consent_timeout_s

    def director_core(journal: FileJournal, state: Any) -> AgentDirector:
        state.local_director = 0 if cluster.node_id == "Primary" else 1  # its own Subagent of the AgentRef's two
        return AgentDirector(
            journal=journal,
            state=state,
            work_dir=settings.work_dir,
            process_limit=settings.process_limit,
            snapshot_after_events=settings.snapshot_after_events,
            agent_path=settings.agent_id,
            subagent_client_factory=subagent_client,
        )

    node = ClusterNode(
        settings,
        core_factory=director_core,
        cluster_id=settings.agent_id,
        state_type=AgentState,
        journal_name="agent",
        peer_client=PeerClient(
            cluster.nodes[cluster.peer_id],
            ssl_context=client_context,
            auth=peer_auth,
            timeout_s=max(timeout, 2.0),
            prefix=AGENT_PREFIX,
        ),
        watch_client=WatchClient(cluster.watches, ssl_context=client_context, auth=peer_auth, timeout_s=timeout),
    )

    def extra() -> dict[str, Any]:
        director = node.active_core()
        return {"cluster": node.info(), **(director.overview() if isinstance(director, AgentDirector) else {})}

    overview = NodeOverview(id=settings.agent_id, extra=extra)
    return _run_node(
        settings,
        tls,
        _LiveJournal(node),
        node,
        overview,
        auth,
        AGENT_PREFIX,
        f"agent {settings.agent_id!r} Director {cluster.node_id}",
        lambda shut_down: [
            *cluster_routes(node, auth, prefix=AGENT_PREFIX),
            *agent_routes(
                node.active_core,
                auth,
                on_shutdown=shut_down,
                event_journal=committed_view,
                on_switchover=switchover(node),
            ),
        ],
    )


def run_subagent(settings: NodeSettings, *, insecure: bool = False) -> int:
    """A Subagent: runs the jobs of the Director that dedicates it; keeps no journal."""
    from js7es.nodes.subagent.api import PREFIX as SUBAGENT_PREFIX
    from js7es.nodes.subagent.api import subagent_routes
    from js7es.nodes.subagent.node import SubagentNode

    tls = _tls(settings, insecure)
    auth = Authenticator(Users.from_config(settings.users))
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    node = SubagentNode(work_dir=settings.work_dir, subagent_id=settings.subagent_id)
    overview = NodeOverview(id=settings.subagent_id or "Subagent", extra=node.overview)

    def routes(shut_down: Callable[[], None]) -> list[BaseRoute]:
        node.on_shutdown = shut_down
        return subagent_routes(node, auth)

    return _run_node(settings, tls, _SubagentEvents(node), node, overview, auth, SUBAGENT_PREFIX, "subagent", routes)


class _SubagentEvents:
    """The Subagent's events of its current run, for the metrics (it changes with each run)."""

    def __init__(self, node: Any) -> None:
        self._node = node

    @property
    def last_event_id(self) -> int:
        return int(self._node.journal.last_event_id)

    def close(self) -> None:
        pass


class _Core(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def _run_node(
    settings: NodeSettings,
    tls: TlsConfig | None,
    journal: Any,
    core: _Core,
    overview: NodeOverview,
    auth: Authenticator,
    prefix: str,
    name: str,
    routes: Callable[[Callable[[], None]], list[BaseRoute]],
    more_metrics: Callable[[NodeMetrics], None] | None = None,
) -> int:
    """The web service around a node's core: start it with the server, stop it and close its journal
    after; a ShutDown command ends the server like SIGTERM does."""
    server_box: list[uvicorn.Server] = []
    metrics = NodeMetrics()
    metrics.track_journal(journal, settings.kind)
    if more_metrics is not None:
        more_metrics(metrics)

    def shut_down() -> None:
        overview.is_terminating = True
        server = server_box[0]
        if isinstance(server, _Server):
            server.begin_exit()
        else:
            server.should_exit = True

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
    tune_garbage_collector()
    return serve(app, settings.http.host, settings.http.port, tls, server_box, getattr(core, "before_exit", None))
