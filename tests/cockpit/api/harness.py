"""The JOC API in-process: a Starlette app over an in-memory Cockpit store and a SQLite projection, with
`root`/`secret` bootstrapped; Controllers are whatever `make_client` gives (none by default)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.testclient import TestClient

from js7es.domain.cockpit.events import ChangeMeta
from js7es.domain.cockpit.permissions import DEFAULT_ROLES
from js7es.journal.cockpit.store import CockpitStore
from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.cockpit.api.app import joc_routes
from js7es.nodes.cockpit.api.passwords import hash_password
from js7es.nodes.cockpit.api.services import CockpitServices, ControllerDirectory
from js7es.projections.cockpit.audit import AuditProjector
from js7es.projections.cockpit.database import READ_ONLY, migrate, open_database, sqlite_url
from js7es.projections.cockpit.deployed import DeployedObjectsProjector

ROOT_PASSWORD = "secret"
_ROOT_HASH = hash_password(ROOT_PASSWORD)


def basic(account: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{account}:{password}".encode()).decode()}


@dataclass
class Joc:
    client: TestClient
    services: CockpitServices
    store: CockpitStore

    def login(self, account: str = "root", password: str = ROOT_PASSWORD) -> str:
        r = self.client.post("/joc/api/authentication/login", headers=basic(account, password))
        assert r.status_code == 200, r.text
        token = r.headers["X-Access-Token"]
        assert token
        return token

    def audited(self) -> None:
        """Brings the audit projection and the deployed objects up to date (the AuditFollower thread does it
        in a Cockpit)."""
        AuditProjector(self.store, self.services.engine).catch_up()
        DeployedObjectsProjector(self.store, self.services.engine).catch_up()

    def post(self, path: str, body: Any = None, *, token: str | None) -> Any:
        headers = {"X-Access-Token": token} if token else {}
        return self.client.post(f"/joc/api{path}", json=body if body is not None else {}, headers=headers)


def default_grants() -> dict[str, Any]:
    return {name: role.permissions.get("", ()) for name, role in DEFAULT_ROLES.items() if name != "all"}


@contextmanager
def running_joc(
    tmp_path: Path,
    *,
    controller_ids: tuple[str, ...] = ("js7es",),
    make_client: Callable[[str], Any] | None = None,
    store: CockpitStore | None = None,
    engine: Any = None,
    directory: dict[str, Any] | None = None,  # more fields of the ControllerDirectory (overview, …)
) -> Iterator[Joc]:
    if engine is None:
        engine = open_database(sqlite_url(tmp_path / "projection.sqlite"))
        migrate(engine)
    own_store = store is None
    store = store or CockpitStore.open("memory:")
    store.bootstrap_root(_ROOT_HASH, ChangeMeta(account="js7es", at_ms=0, request="bootstrap"), default_grants())

    def no_client(controller_id: str) -> Any:
        raise AssertionError(f"no Controller client in this test ({controller_id})")

    def client_of(connection: ControllerConnection) -> Any:
        return (make_client or no_client)(connection.controller_id)

    assert store is not None
    registered = store.controllers
    services = CockpitServices(
        store=store,
        engine=engine.execution_options(**{READ_ONLY: True}),  # as the Cockpit: the API only reads it
        controllers=ControllerDirectory(
            make_client=client_of,
            configured={c: ControllerConnection(controller_id=c, uris=(f"https://{c}:4443",)) for c in controller_ids},
            registered=lambda: registered().controllers,
            **(directory or {}),
        ),
        version="test",
        events_wait_s=0.5,  # /events answers after this long without news (JOC: a minute)
    )
    app = Starlette(routes=joc_routes(services))
    try:
        with TestClient(app, client=("192.0.2.7", 50000)) as client:
            yield Joc(client=client, services=services, store=store)
    finally:
        services.close()
        if own_store:
            store.close()
