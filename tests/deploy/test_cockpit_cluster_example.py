"""deploy/compose/cockpit-cluster.yaml (issue 19, Must 5): a Controller cluster whose Cluster Watch is a
Cockpit cluster of two on PostgreSQL. Checked without Docker, with the nodes' own parsers: every js7es
command is accepted by the CLI, every mounted configuration loads (a misspelt key fails), and the URIs,
certificates, users and the Cockpits' cluster fit together: both Controller nodes name both Cockpits as
their Watch, both Cockpits let the Controller nodes report (Command), share one database and cluster id
under different member ids, and follow both Controller nodes, which let both Cockpits read as one
journal reader. (The same scenario on processes: tests/cockpit/test_cockpit_watch_e2e.py.)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from js7es.nodes.http.auth import Users
from tests.deploy.compose_model import COMPOSE_DIR, Compose, Localized, Service, js7es_parse, load_config

NAME = "cockpit-cluster.yaml"
CONFIG_DIR = COMPOSE_DIR / "cockpit-cluster"
NODE_ID = {"primary": "Primary", "backup": "Backup"}
COCKPITS = ("joc-1", "joc-2")


@pytest.fixture(scope="module")
def localized(tmp_path_factory: pytest.TempPathFactory) -> Localized:
    return Localized(Compose.load(NAME), tmp_path_factory.mktemp("cockpit-cluster"))


def nodes(localized: Localized) -> dict[str, Service]:
    return {n: s for n, s in localized.compose.services.items() if s.is_node}


def kind(service: Service) -> str:
    return (service.js7es_argv or [""])[0]


def test_the_services_and_their_commands() -> None:
    compose = Compose.load(NAME)
    services = compose.services
    kinds = {name: kind(s) for name, s in services.items() if s.is_node}
    assert kinds == {"primary": "controller", "backup": "controller", "agent": "agent", "joc-1": "cockpit",
                     "joc-2": "cockpit"}  # fmt: skip
    for service in services.values():
        if service.js7es_argv:
            js7es_parse(service.js7es_argv)
        for mount in service.mounts:
            if mount.is_bind:
                assert (compose.file.parent / mount.source).exists(), f"{service.name}: no {mount.source}"
                assert mount.read_only, service.name
    assert services["postgres"].spec["image"].endswith("postgres:16-bookworm}")
    assert set(services["certs"].command) == {*kinds, "cli"}  # a certificate for every node and ctl
    for controller in NODE_ID:  # the Controllers start when both Cockpits (their Watch) answer
        depends = services[controller].spec["depends_on"]
        assert {c: depends[c]["condition"] for c in COCKPITS} == dict.fromkeys(COCKPITS, "service_healthy")
    assert services["joc-2"].spec["depends_on"]["joc-1"]["condition"] == "service_healthy"  # one migration
    declared = set(compose.model["volumes"])
    used = {m.source for s in services.values() for m in s.mounts if not m.is_bind}
    assert used == declared


def test_every_configuration_loads_and_a_misspelt_key_fails(localized: Localized, tmp_path: Path) -> None:
    mounted = set()
    for service in nodes(localized).values():
        path = localized.config(service)
        settings = load_config(kind(service), path)
        assert settings.tls is not None and settings.http.host == "0.0.0.0"
        mounted.add(service.host_path(service.config_file or ""))
        text = path.read_text()
        key = re.findall(r"^([a-z-]+) = ", text, flags=re.MULTILINE)[-1]
        broken = tmp_path / f"{service.name}.toml"
        broken.write_text(re.sub(rf"^{key} = ", f"{key}s = ", text, count=1, flags=re.MULTILINE))
        with pytest.raises(ValueError, match=f"{key}s"):
            load_config(kind(service), broken)
    assert set(CONFIG_DIR.glob("*.toml")) <= mounted, "a configuration that no service mounts"


def test_the_controllers_watch_is_the_cockpit_pair(localized: Localized) -> None:
    services = nodes(localized)
    settings: dict[str, Any] = {n: load_config(kind(s), localized.config(s)) for n, s in services.items()}
    ports = {n: s.http.port for n, s in settings.items()}

    def service_at(uri: str) -> str:
        parts = urlsplit(uri)
        assert parts.scheme == "https" and parts.hostname in ports and parts.port == ports[parts.hostname], uri
        return parts.hostname

    def permissions(node: str, cn: str) -> set[str]:
        user = Users.from_config(settings[node].users).by_peer({"commonName": cn})
        return set(user.permissions) if user is not None else set()

    for node, node_id in NODE_ID.items():
        cluster = settings[node].cluster
        assert cluster.node_id == node_id
        assert [service_at(u) for u in cluster.watches] == list(COCKPITS)
        assert {service_at(u) for u in cluster.nodes.values()} == set(NODE_ID)
        for cockpit in COCKPITS:
            assert "Command" in permissions(cockpit, node)  # reports and node losses
            assert {"ReadState", "Command"} <= permissions(node, cockpit)  # following, releasing
        assert list(settings[node].readers) == ["cockpit"]
        assert settings[node].controller_id == "js7es"
    members = {c: settings[c].cluster for c in COCKPITS}
    assert {m.cluster_id for m in members.values()} == {"joc"}
    assert {c: m.member_id for c, m in members.items()} == {c: c for c in COCKPITS}
    assert {c: service_at(m.uri) for c, m in members.items()} == {c: c for c in COCKPITS}
    (url,) = {settings[c].database_url for c in COCKPITS}
    assert url.startswith("postgresql+psycopg://") and "@postgres:5432/" in url
    for cockpit in COCKPITS:
        (followed,) = settings[cockpit].controllers
        assert followed.controller_id == "js7es" and {service_at(u) for u in followed.uris} == set(NODE_ID)
        assert settings[cockpit].cluster_watches == {}  # the Cockpit's own Watch confirms node losses
        assert "Command" in permissions(cockpit, "cli")  # js7es ctl confirm-node-loss --watch …
    for node in NODE_ID:
        assert "AgentDirector" in permissions("agent", node)
