"""Starting the JOC API inside the Cockpit process: the store (opened, bootstrapped, recovered), the audit
projection following it, the services and the routes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute

from js7es.domain.cockpit.events import ChangeMeta
from js7es.domain.cockpit.permissions import DEFAULT_ROLES
from js7es.nodes.client.connection import ClientTls, ControllerConnection
from js7es.nodes.client.errors import ClientError
from js7es.nodes.cockpit.api import passwords
from js7es.nodes.cockpit.api.joc import now_ms
from js7es.nodes.cockpit.api.services import (
    CockpitServices,
    ControllerDirectory,
    Following,
    NotFollowing,
    registration_connection,
)
from js7es.nodes.http.app import js7es_version
from js7es.projections.cockpit.database import READ_ONLY

if TYPE_CHECKING:
    from js7es.journal.cockpit.fence import Fence
    from js7es.journal.cockpit.store import CockpitStore
    from js7es.nodes.client.controller import ControllerClient
    from js7es.nodes.cluster_watch.client import ClusterWatchClient
    from js7es.nodes.cockpit.config import CockpitSettings
    from js7es.nodes.cockpit.daily_plan import DailyPlanService
    from js7es.projections.cockpit.audit import AuditFollower
    from js7es.projections.cockpit.projector import Projector

log = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 10.0  # asking a URL whether a Controller (or a Cluster Watch) answers there
SYSTEM = "js7es"  # the account of changes the Cockpit makes by itself (bootstrap, recovery)


@dataclass
class JocService:
    services: CockpitServices
    routes: list[BaseRoute]
    daily_plan: DailyPlanService
    projector: Projector
    settings: CockpitSettings
    audit: AuditFollower | None = None  # while active
    root_password: str | None = None  # generated on this start: to be shown once

    def activate(self) -> None:
        """What only the active Cockpit does (every Cockpit outside a cluster, at its start): bootstrap the
        store on its first start, mark the commands the last active left unanswered, conclude its pending
        deployments, and follow the store into the audit, deployed-objects and daily-plan projections."""
        from js7es.projections.cockpit.audit import AuditFollower, AuditProjector
        from js7es.projections.cockpit.daily_plan import DailyPlanProjector
        from js7es.projections.cockpit.deployed import DeployedObjectsProjector

        store = self.services.store
        if not store.iam().versions:
            password_hash = self.settings.root_password_hash
            root_password = None
            if password_hash is None:
                root_password = passwords.new_password()
                password_hash = passwords.hash_password(root_password)
            grants = {name: role.permissions.get("", ()) for name, role in DEFAULT_ROLES.items() if name != "all"}
            if store.bootstrap_root(password_hash, system_meta("bootstrap"), grants):
                self.root_password = root_password  # else another Cockpit on the same database was first
        recovered = store.recover_unanswered(system_meta("recovery"))
        if recovered:
            log.warning(
                "%d command(s) to Controllers had no answer before the last stop: marked Unknown", len(recovered)
            )
        engine = self.projector.engine
        self.audit = AuditFollower(
            AuditProjector(store, engine), DeployedObjectsProjector(store, engine), DailyPlanProjector(store, engine)
        ).start()
        start_reconciliation(self.services)

    def deactivate(self) -> None:
        if self.audit is not None:
            self.audit.stop()
            self.audit = None

    def close(self) -> None:
        self.deactivate()
        self.services.close()
        self.services.store.close()


def open_store(settings: CockpitSettings, fence: Fence | None = None) -> CockpitStore:
    from js7es.journal.cockpit.settings import StoreSettings
    from js7es.journal.cockpit.store import CockpitStore

    url = settings.store_url
    schema = settings.store_schema if url.startswith("postgresql") else None
    store_settings = StoreSettings.parse(url, schema=schema)
    if fence is not None and settings.cluster is not None:
        store_settings = replace(store_settings, idle_in_transaction_timeout_s=settings.cluster.lease_s)
    return CockpitStore.open(store_settings, fence=fence)


def system_meta(request: str) -> ChangeMeta:
    return ChangeMeta(account=SYSTEM, at_ms=now_ms(), request=request)


def start_joc(
    settings: CockpitSettings,
    projector: Projector,
    *,
    insecure: bool,
    following: Following | None = None,
    fence: Fence | None = None,
) -> JocService:
    """The JOC API over the store; `following`: the Cockpit's set of followers, which the Controllers
    registered in the store join now and later ones as they are registered. Without a `fence` (no
    cluster) the service is active at once; a cluster member's is activated when it takes the lease."""
    from js7es.nodes.client.controller import ControllerClient
    from js7es.nodes.cluster_watch.client import ClusterWatchClient
    from js7es.nodes.cockpit.api.app import joc_routes
    from js7es.nodes.cockpit.daily_plan import DailyPlanService

    store = open_store(settings, fence)
    tls = (
        ClientTls()
        if settings.tls is None or insecure
        else ClientTls(ca=settings.tls.ca, cert=settings.tls.cert, key=settings.tls.key)
    )

    def make_client(connection: ControllerConnection) -> ControllerClient:
        return ControllerClient(connection, tls, timeout_s=30.0)

    def overview(url: str) -> Mapping[str, Any]:
        with ControllerClient(ControllerConnection(uris=(url,)), tls, timeout_s=PROBE_TIMEOUT_S) as client:
            answer = client.get("")
        if not isinstance(answer, Mapping):
            raise ClientError(f"{url}: the overview is not a JSON object")
        return answer

    def make_watch_client(url: str) -> ClusterWatchClient:
        return ClusterWatchClient(ControllerConnection(uris=(url,)), tls, timeout_s=PROBE_TIMEOUT_S)

    directory = ControllerDirectory(
        make_client=make_client,
        configured={c.controller_id: c for c in settings.controllers},
        registered=lambda: store.controllers().controllers,
        configured_watches=settings.cluster_watches,
        overview=overview,
        make_watch_client=make_watch_client,
        following=following or NotFollowing(),
    )
    for controller_id in directory.ids():
        registration = directory.registration(controller_id)
        if registration is not None:
            directory.following.add(registration_connection(registration))
    for controller_id in store.controllers().controllers:
        if directory.is_configured(controller_id):
            log.warning(
                "Controller %r: configured and registered in the store; the configuration counts", controller_id
            )
    # The API only reads the projection: on SQLite as WAL readers, never waiting for the projection's writer.
    reader = projector.engine.execution_options(**{READ_ONLY: True})
    services = CockpitServices(
        store=store,
        engine=reader,
        controllers=directory,
        version=js7es_version(),
        events_wait_s=settings.events_wait_s,
    )
    services.daily_plan = DailyPlanService(services)
    joc = JocService(
        services=services,
        routes=joc_routes(services),
        daily_plan=services.daily_plan,
        projector=projector,
        settings=settings,
    )
    if fence is None:
        joc.activate()
    return joc


def start_reconciliation(services: CockpitServices, retry_s: float = 5.0) -> threading.Thread | None:
    """Concludes the deployments the last run left pending (deployment.py), in a thread that retries
    while a Controller is away."""
    from js7es.nodes.cockpit.api.deployment import reconcile

    if not services.store.inventory().pending_deployments():
        return None

    def run() -> None:
        while True:
            try:
                pending = reconcile(services, system_meta("reconciliation"))
            except Exception:
                log.exception("reconciling deployments failed")
                pending = ["?"]
            if not pending:
                return
            time.sleep(retry_s)

    thread = threading.Thread(target=run, name="deployment-reconciliation", daemon=True)
    thread.start()
    return thread
