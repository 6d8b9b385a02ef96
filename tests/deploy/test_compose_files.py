"""deploy/: the Dockerfile, the compose files and the configurations they mount, checked without a Docker
engine. Each service's command must be a js7es invocation that the CLI's own parser accepts, each
configuration must load with the node's own parser once its container paths point to this machine
(so a misspelt key fails here, as it would on the node's start), and the certificates, URIs and users
of cluster.yaml must fit together: every node reaches its peers under a name in their certificates,
and each peer's certificate maps to a user with the permissions it needs.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.deploy.compose_model import (
    COMPOSE_DIR,
    COMPOSE_FILES,
    DEPLOY,
    NODE_KINDS,
    REPO,
    Compose,
    Localized,
    Service,
    js7es_parse,
    load_config,
)

CONFIG_FILES = sorted((COMPOSE_DIR / "config").glob("*.toml"))
NODE_ID = {"primary": "Primary", "backup": "Backup"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Localized:
    """cluster.yaml with its volumes here, after its init service made the certificates."""
    localized = Localized(Compose.load("cluster.yaml"), tmp_path_factory.mktemp("cluster"))
    result = localized.run_init()
    assert result.returncode == 0, result.stdout + result.stderr
    return localized


def certificate(localized: Localized, service: Service, container_path: str) -> x509.Certificate:
    path = Path(localized.text(service, container_path))
    return x509.load_pem_x509_certificate(path.read_bytes())


def common_name(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def dns_names(cert: x509.Certificate) -> list[str]:
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)


# ------------------------------------------------------------------------------------- compose files


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_file_is_complete(name: str) -> None:
    compose = Compose.load(name)
    declared_volumes = set(compose.model.get("volumes") or {})
    used_volumes = set()
    for service in compose.services.values():
        build = service.spec["build"]
        assert (compose.file.parent / build["context"]).resolve() == REPO, service.name
        assert (REPO / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile", service.name
        for mount in service.mounts:
            if mount.is_bind:
                assert (compose.file.parent / mount.source).exists(), f"{service.name}: no {mount.source}"
                assert mount.read_only, f"{service.name}: bind mount {mount.source} should be read-only"
            else:
                used_volumes.add(mount.source)
        for dependency in service.spec.get("depends_on", {}):
            assert dependency in compose.services, f"{service.name} depends on unknown {dependency}"
    assert used_volumes == declared_volumes


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_every_command_is_a_js7es_invocation(name: str) -> None:
    compose = Compose.load(name)
    for service in compose.services.values():
        argv = service.js7es_argv
        if argv is None:  # the init service runs a shell script that calls js7es: run below
            entrypoint = service.entrypoint
            assert entrypoint is not None and entrypoint[0] == "/bin/sh", service.name
            assert service.host_path(entrypoint[1]) == COMPOSE_DIR / "init-certs.sh"
            continue
        js7es_parse(argv)


def test_the_nodes_of_cluster_yaml() -> None:
    services = Compose.load("cluster.yaml").services
    kinds = {name: s.js7es_argv[0] for name, s in services.items() if s.is_node and s.js7es_argv}
    assert kinds == {
        "primary": "controller",
        "backup": "controller",
        "cluster-watch": "cluster-watch",
        "agent": "agent",
        "cockpit": "cockpit",
    }
    # The data of every node that keeps any is on a volume of its own.
    for name, service in services.items():
        if service.is_node and name != "cluster-watch":
            (data,) = [m for m in service.mounts if m.target == "/var/lib/js7es"]
            assert data.source == f"{name}-data" and not data.read_only


def test_standalone_yaml_keeps_its_data_on_a_volume() -> None:
    (service,) = Compose.load("standalone.yaml").services.values()
    assert service.js7es_argv == ["standalone", "--data-dir", "/var/lib/js7es"]
    assert [(m.source, m.target) for m in service.mounts] == [("js7es-data", "/var/lib/js7es")]
    assert service.spec["environment"]["JS7ES_DATA_DIR"] == "/var/lib/js7es"  # `exec js7es js7es ctl …`


# -------------------------------------------------------------------------------------- configurations


def node_services(localized: Localized) -> list[Service]:
    return [s for s in localized.compose.services.values() if s.config_file is not None]


def test_every_mounted_configuration_loads_with_the_nodes_parser(cluster: Localized) -> None:
    mounted = set()
    for service in node_services(cluster):
        kind = (service.js7es_argv or [""])[0]
        assert kind in NODE_KINDS
        settings = load_config(kind, cluster.config(service))
        mounted.add(service.host_path(service.config_file or ""))
        # The TLS files are the ones the init service made, in the volume this service mounts.
        assert settings.tls is not None, f"{service.name}: mutual TLS everywhere"
        for file in (settings.tls.cert, settings.tls.key, settings.tls.ca):
            assert file.is_file(), f"{service.name}: {file} was not made by the init service"
        assert common_name(x509.load_pem_x509_certificate(settings.tls.cert.read_bytes())) == service.name
        assert settings.http.host == "0.0.0.0"
        if hasattr(settings, "data_dir"):
            assert settings.data_dir == cluster.volume(f"{service.name}-data")
    assert mounted == set(CONFIG_FILES), "a configuration under config/ that no service mounts"


@pytest.mark.parametrize("config_file", CONFIG_FILES, ids=lambda p: p.name)
def test_a_misspelt_key_fails_the_check(cluster: Localized, config_file: Path, tmp_path: Path) -> None:
    """The check above is the nodes' own: a misspelt key in any of the files fails it."""
    (service,) = [s for s in node_services(cluster) if s.host_path(s.config_file or "") == config_file]
    kind = (service.js7es_argv or [""])[0]
    text = cluster.config(service).read_text()
    keys = re.findall(r"^([a-z-]+) = ", text, flags=re.MULTILINE)
    assert keys
    for key in {keys[0], keys[-1], "distinguished-names"} & set(keys):
        broken = tmp_path / f"{key}.toml"
        broken.write_text(re.sub(rf"^{key} = ", f"{key}s = ", text, count=1, flags=re.MULTILINE))
        with pytest.raises(ValueError, match=f"{key}s"):
            load_config(kind, broken)


def test_certificates_uris_and_users_fit_together(cluster: Localized) -> None:
    services = cluster.compose.services
    settings = {s.name: load_config((s.js7es_argv or [""])[0], cluster.config(s)) for s in node_services(cluster)}
    ports = {name: s.http.port for name, s in settings.items()}

    def reachable(uri: str, who: str) -> str:
        """`uri` names a service at its port, and that service's certificate names the host."""
        parts = urlsplit(uri)
        assert parts.scheme == "https", f"{who}: {uri} without TLS"
        assert parts.hostname in ports and parts.port == ports[parts.hostname], f"{who}: {uri} is no service"
        tls = settings[parts.hostname].tls
        assert tls is not None
        cert = x509.load_pem_x509_certificate(tls.cert.read_bytes())
        assert parts.hostname in dns_names(cert), f"{who}: {uri} is not in the certificate of {parts.hostname}"
        return parts.hostname

    def permissions(node: str, peer_cn: str) -> set[str]:
        from js7es.nodes.http.auth import Users

        user = Users.from_config(settings[node].users).by_peer({"commonName": peer_cn})
        return set(user.permissions) if user is not None else set()

    controllers = ("primary", "backup")
    for node in controllers:
        peer = "backup" if node == "primary" else "primary"
        cluster_settings = settings[node].cluster
        assert cluster_settings.node_id == NODE_ID[node]
        assert {reachable(u, node) for u in cluster_settings.nodes.values()} == set(controllers)
        for node_id, uri in cluster_settings.nodes.items():
            assert NODE_ID[reachable(uri, node)] == node_id
        assert [reachable(u, node) for u in cluster_settings.watches] == ["cluster-watch"]
        assert {"ReadState", "Command"} <= permissions(node, peer)
        assert {"ReadState", "Command"} <= permissions(node, "cockpit")
        assert "cockpit" in settings[node].readers
        assert {"ReadState", "Command", "UpdateItem"} <= permissions(node, "cli")
        assert permissions(node, "agent") == set()
    assert settings["primary"].controller_id == settings["backup"].controller_id
    assert settings["primary"].cluster.nodes == settings["backup"].cluster.nodes
    for node in controllers:
        assert "AgentDirector" in permissions("agent", node)
        assert "Command" in permissions("cluster-watch", node)
    assert permissions("agent", "cockpit") == set()
    (followed,) = settings["cockpit"].controllers
    assert followed.controller_id == settings["primary"].controller_id
    assert {reachable(u, "cockpit") for u in followed.uris} == set(controllers)

    # ctl follows both nodes with the certificate CN=cli; the Subagent item names the Agent's URI.
    ctl = js7es_parse(services["ctl"].js7es_argv or [])
    assert {reachable(u, "ctl") for u in ctl.controller} == set(controllers)
    assert common_name(certificate(cluster, services["ctl"], str(ctl.cert))) == "cli"
    assert Path(cluster.text(services["ctl"], str(ctl.key))).is_file()
    items = COMPOSE_DIR / "items"
    subagent = json.loads((items / "agent-director.subagent.json").read_text())
    assert reachable(subagent["uri"], "agent-director.subagent.json") == "agent"
    for workflow in items.glob("*.workflow.json"):
        jobs = json.loads(workflow.read_text())["jobs"].values()
        assert {job["agentPath"] for job in jobs} == {subagent["agentPath"]}


# ------------------------------------------------------------------------------------- the init script


def test_the_init_service_keeps_certificates_and_renews_them_with_a_new_ca(tmp_path: Path) -> None:
    # Two nodes are enough here (each `js7es certs` takes seconds); the fixture `cluster` runs all of them.
    localized = Localized(Compose.load("cluster.yaml"), tmp_path)
    names = ["cockpit", "primary"]
    assert set(names) <= set(localized.compose.init_service.command)
    first = localized.run_init(nodes=names, extra_env={"JS7ES_CERT_HOSTS": "js7es.example.org"})
    assert first.returncode == 0, first.stderr
    certs = localized.volume("certs")
    made = {n: (certs / n / "node.crt").read_bytes() for n in names}
    cert = x509.load_pem_x509_certificate(made["cockpit"])
    assert dns_names(cert) == ["cockpit", "localhost", "js7es.example.org"]
    assert not (certs / "ca" / "ca.key").exists() and (localized.volume("ca") / "ca.key").is_file()
    assert ((certs / "primary" / "node.key").stat().st_mode & 0o777) == 0o600

    again = localized.run_init(nodes=names)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("Kept the certificate") == len(names)
    assert {n: (certs / n / "node.crt").read_bytes() for n in names} == made

    (localized.volume("ca") / "ca.key").unlink()  # the CA volume was lost: everything anew
    renewed = localized.run_init(nodes=names)
    assert renewed.returncode == 0, renewed.stderr
    assert all((certs / n / "node.crt").read_bytes() != made[n] for n in names)
    assert (certs / "primary" / "ca.crt").read_bytes() == (localized.volume("ca") / "ca.crt").read_bytes()


def test_the_init_script_is_posix_sh() -> None:
    script = (COMPOSE_DIR / "init-certs.sh").read_text()
    assert script.startswith("#!/bin/sh\n")
    for bashism in ("[[", "function ", "$(( ", "local ", "source ", "<<<", "${!", "declare "):
        assert bashism not in script, bashism


# ------------------------------------------------------------------------------------------- the image


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (DEPLOY / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_the_dockerfile() -> None:
    instructions = dockerfile_instructions()
    args = {v.split("=", 1)[0]: v.split("=", 1)[1] for k, v in instructions if k == "ARG" and "=" in v}
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", args["BASE"])
    # Every stage builds on BASE: the tests pass their debootstrapped base (tests/deploy/images.py).
    assert {v.split()[0] for k, v in instructions if k == "FROM"} == {"${BASE}"}
    # Only what Docker's classic builder knows too, so that a build needs neither BuildKit nor a registry.
    assert not (DEPLOY / "Dockerfile").read_text().startswith("# syntax")
    assert not any("--mount" in v or "--chmod" in v for k, v in instructions if k in ("RUN", "COPY")), "BuildKit only"
    final = max(i for i, (k, _) in enumerate(instructions) if k == "FROM")
    stage = instructions[final:]
    values = {k: v for k, v in stage}
    assert json.loads(values["ENTRYPOINT"]) == ["js7es"]
    assert values["USER"] not in ("root", "0")
    assert values["HEALTHCHECK"].split("CMD", 1)[1].strip() == '["js7es-healthcheck"]'
    assert json.loads(values["VOLUME"]) == ["/var/lib/js7es"]
    (healthcheck,) = [v for k, v in stage if k == "COPY" and "js7es-healthcheck" in v]
    assert healthcheck.split()[-2:] == ["deploy/healthcheck.py", "/usr/local/bin/js7es-healthcheck"]
    # js7es comes from the wheels in the build context, installed without an index (no network).
    assert [v.split()[0] for k, v in instructions if k == "COPY" and "WHEELS" in v] == [
        "${WHEELS}/deps/",
        "${WHEELS}/js7es-*.whl",
    ]
    installs = [v for k, v in instructions if k == "RUN" and "pip install --no-cache-dir --no-index" in v]
    assert len(installs) == 2 and "/tmp/wheels/js7es-*.whl" in installs[-1], installs
    ignored = [p.strip() for p in (REPO / ".dockerignore").read_text().splitlines() if p.strip()[:1] not in ("", "#")]
    for source in ("deploy/healthcheck.py", args["WHEELS"]):
        assert not any(fnmatch.fnmatch(source, p.removeprefix("**/")) for p in ignored), f".dockerignore drops {source}"
    # The paths the compose files mount volumes at exist in the image, owned by its user.
    run = " ".join(v for k, v in stage if k == "RUN")
    for path in ("/var/lib/js7es", "/etc/js7es/certs", "/var/lib/js7es-ca"):
        assert re.search(rf"mkdir -p [^&]*{re.escape(path)}(\s|$)", run), path
        assert re.search(rf"chown js7es:js7es [^&]*{re.escape(path)}(\s|$)", run), path


# ---------------------------------------------------------------------------------- the health check


def healthcheck_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("js7es_healthcheck", DEPLOY / "healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_health_check_finds_the_node_in_a_command_line() -> None:
    health = healthcheck_module()
    config = ["controller", "--config", "/etc/js7es/primary.toml"]
    assert health.js7es_arguments(["/usr/local/bin/python3.11", "/usr/local/bin/js7es", *config]) == config
    assert health.js7es_arguments(["/usr/bin/python3", "-m", "js7es.nodes.cli", *config]) == config
    assert health.js7es_arguments(["/usr/local/bin/python3", "/usr/local/bin/js7es-healthcheck"]) is None
    assert health.js7es_arguments(["/sbin/docker-init", "--", "js7es", "agent"]) == ["agent"]
    assert "not a server" in health.check(["certs", "init-ca", "--dir", "x"], Path("/"))
    assert "not a server" in health.check(["cockpit", "migrate", "--config", "x"], Path("/"))
    with pytest.raises(health.Unhealthy, match=r"(?i)no such file"):
        health.check(["cluster-watch", "--config", "/nonexistent/cluster-watch.toml"], Path("/"))


def test_the_image_and_the_compose_files_agree_on_the_health_check() -> None:
    for name in COMPOSE_FILES:
        for service in Compose.load(name).services.values():
            check: Any = service.spec.get("healthcheck", {})
            if service.is_node:
                assert check["test"] == ["CMD", "js7es-healthcheck"], service.name
            else:
                assert check == {"disable": True}, service.name
