"""The Cockpit's configuration: one TOML file, parsed once into `CockpitSettings`.

Every key and its default is in deploy/config/cockpit.toml. A wrong key or value is refused at start
with a message naming it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from js7es.nodes.config import ConfigError, HttpSettings, TlsSettings, _Reader

DEFAULT_PORT = 4446


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerConnection:
    """A Controller the Cockpit follows: its id, and its URI (a cluster's two URIs, with issue 4)."""

    controller_id: str
    uris: tuple[str, ...]
    user: str | None = None  # Basic login instead of the client certificate (insecure mode only)
    password: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectionSettings:
    batch_max_events: int = 1000  # events per transaction at most (the live follower)
    rebuild_batch_events: int = 5000  # events per transaction in a rebuild
    task_log_limit: int = 10 * 1024 * 1024  # bytes of stdout+stderr kept per task; the rest is dropped, marked
    release_period_s: float = 5.0  # ReleaseEvents to the Controller at most this often
    poll_timeout_s: float = 50.0  # how long one event request waits for new events
    retry_delay_s: float = 2.0  # after an error, wait this long before following again


@dataclass(frozen=True, slots=True, kw_only=True)
class KafkaExportSettings:
    """[export.kafka]: the Kafka exporter of `js7es export kafka`, run inside the Cockpit for each
    Controller in `controllers`, each to its own topic."""

    bootstrap: tuple[str, ...]
    topics: Mapping[str, str]  # Controller id → topic
    partitions: int = 3  # partitions of a topic the exporter creates
    batch_max_events: int = 10_000  # events per produce batch at most
    client_options: Mapping[str, Any] = field(default_factory=dict)  # kafka-python's TLS/SASL options

    @property
    def controllers(self) -> tuple[str, ...]:
        return tuple(self.topics)


@dataclass(frozen=True, slots=True, kw_only=True)
class CockpitSettings:
    config_file: Path
    cockpit_id: str
    data_dir: Path
    http: HttpSettings
    tls: TlsSettings | None
    database_url: str
    database_schema: str | None
    controllers: tuple[ControllerConnection, ...]
    projection: ProjectionSettings = field(default_factory=ProjectionSettings)
    users: Mapping[str, Any] = field(default_factory=dict)
    kafka_export: KafkaExportSettings | None = None

    def controller(self, controller_id: str | None) -> ControllerConnection:
        if controller_id is None:
            if len(self.controllers) != 1:
                ids = [c.controller_id for c in self.controllers]
                raise ConfigError(f"{self.config_file}: several Controllers {ids}: name one with --controller")
            return self.controllers[0]
        for connection in self.controllers:
            if connection.controller_id == controller_id:
                return connection
        raise ConfigError(f"{self.config_file}: no Controller {controller_id!r} in [controllers]")


_SECTIONS = {"cockpit", "http", "tls", "database", "projection", "controllers", "users", "export"}


def load_cockpit_settings(path: Path) -> CockpitSettings:
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return parse_cockpit_settings(raw, path)


def parse_cockpit_settings(raw: Mapping[str, Any], path: Path) -> CockpitSettings:
    reader = _Reader(path)
    unknown = set(raw) - _SECTIONS
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {sorted(unknown)}; known: {sorted(_SECTIONS)}")
    base = path.parent
    node = reader.section(raw, "cockpit", {"id", "data-dir"})
    data_dir = reader.path(node, "cockpit.data-dir", base, required=True)
    assert data_dir is not None
    http_section = reader.section(raw, "http", {"host", "port"})
    http = HttpSettings(
        host=reader.text(http_section, "http.host", "127.0.0.1"),
        port=reader.number(http_section, "http.port", DEFAULT_PORT, 0, 65535),
    )
    tls_section = reader.section(raw, "tls", {"cert", "key", "ca"})
    tls = None
    if tls_section:
        cert = reader.path(tls_section, "tls.cert", base, required=True)
        key = reader.path(tls_section, "tls.key", base, required=True)
        ca = reader.path(tls_section, "tls.ca", base, required=True)
        assert cert is not None and key is not None and ca is not None
        tls = TlsSettings(cert=cert, key=key, ca=ca)
    # Imported here, not at the top: every `js7es` command registers `cockpit` (this module), and
    # SQLAlchemy with Alembic would add a third of a second to each start of a node or of `js7es ctl`.
    from js7es.projections.cockpit.database import sqlite_url

    database = reader.section(raw, "database", {"url", "schema"})
    url = reader.text(database, "database.url", "")
    if not url:
        url = sqlite_url(data_dir / "cockpit.sqlite")
    elif url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = sqlite_url((base / url[len("sqlite:///") :]).resolve())  # relative to the configuration file
    schema_name = reader.text(database, "database.schema", "") or None
    p = reader.section(
        raw,
        "projection",
        {"batch-max-events", "rebuild-batch-events", "task-log-limit", "release-period", "poll-timeout", "retry-delay"},
    )
    projection = ProjectionSettings(
        batch_max_events=reader.number(p, "projection.batch-max-events", 1000, 1, 100_000),
        rebuild_batch_events=reader.number(p, "projection.rebuild-batch-events", 5000, 1, 1_000_000),
        task_log_limit=reader.number(p, "projection.task-log-limit", 10 * 1024 * 1024, 1024, 2**40),
        release_period_s=reader.seconds(p, "projection.release-period", 5.0),
        poll_timeout_s=reader.seconds(p, "projection.poll-timeout", 50.0),
        retry_delay_s=reader.seconds(p, "projection.retry-delay", 2.0),
    )
    controllers_raw = raw.get("controllers", {})
    if not isinstance(controllers_raw, Mapping) or not controllers_raw:
        raise ConfigError(f"{path}: [controllers.<id>] with uris = [...] is required (one per Controller)")
    controllers = []
    for controller_id in controllers_raw:
        section = reader.section(controllers_raw, controller_id, {"uris", "user", "password"})
        uris = section.get("uris")
        if not isinstance(uris, list) or not 1 <= len(uris) <= 2 or not all(isinstance(u, str) and u for u in uris):
            raise ConfigError(f"{path}: controllers.{controller_id}.uris must be a list of one or two URIs")
        user = section.get("user")
        password = section.get("password")
        if (user is None) != (password is None) or not all(v is None or isinstance(v, str) for v in (user, password)):
            raise ConfigError(f"{path}: controllers.{controller_id}: user and password go together, as strings")
        controllers.append(
            ControllerConnection(
                controller_id=controller_id, uris=tuple(u.rstrip("/") for u in uris), user=user, password=password
            )
        )
    users = raw.get("users", {})
    if not isinstance(users, Mapping):
        raise ConfigError(f"{path}: [users] must be a table of users")
    export = reader.section(raw, "export", {"kafka"})
    kafka_export = None
    if "kafka" in export:
        kafka_export = _kafka_export(reader, export, [c.controller_id for c in controllers], base)
    return CockpitSettings(
        config_file=path,
        cockpit_id=reader.text(node, "cockpit.id", "cockpit"),
        data_dir=data_dir,
        http=http,
        tls=tls,
        database_url=url,
        database_schema=schema_name,
        controllers=tuple(controllers),
        projection=projection,
        users=users,
        kafka_export=kafka_export,
    )


KAFKA_EXPORT_KEYS = {
    "bootstrap",
    "topic",
    "controllers",
    "partitions",
    "batch-max-events",
    "security-protocol",
    "sasl-mechanism",
    "sasl-username",
    "sasl-password",
    "ssl-cafile",
    "ssl-certfile",
    "ssl-keyfile",
    "ssl-check-hostname",
}
_TOPIC_CHARACTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
SASL_PASSWORD_ENVIRONMENT = "JS7ES_SASL_PASSWORD"


def _kafka_export(
    reader: _Reader, export: Mapping[str, Any], controller_ids: list[str], base: Path
) -> KafkaExportSettings:
    file = reader.file
    k = reader.section({"export.kafka": export["kafka"]}, "export.kafka", KAFKA_EXPORT_KEYS)
    bootstrap = k.get("bootstrap")
    if isinstance(bootstrap, str):
        bootstrap = [bootstrap]
    if not isinstance(bootstrap, list) or not bootstrap or not all(isinstance(b, str) for b in bootstrap):
        raise ConfigError(f'{file}: export.kafka.bootstrap is required: a list of "HOST:PORT"')
    for server in bootstrap:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{file}: export.kafka.bootstrap: {server!r} is not HOST:PORT")
    named = k.get("controllers", [])
    if not isinstance(named, list) or not all(isinstance(c, str) for c in named):
        raise ConfigError(f"{file}: export.kafka.controllers must be a list of Controller ids")
    unknown = [c for c in named if c not in controller_ids]
    if unknown:
        raise ConfigError(f"{file}: export.kafka.controllers: {unknown} not in [controllers] {controller_ids}")
    exported = named or controller_ids
    template = reader.text(k, "export.kafka.topic", "js7-events-{controller}")
    if len(exported) > 1 and "{controller}" not in template:
        raise ConfigError(
            f"{file}: export.kafka.topic {template!r} needs {{controller}}: one topic per Controller "
            "(a topic has one exporter)"
        )
    topics = {}
    for controller_id in exported:
        topic = template.replace("{controller}", controller_id)
        if not 0 < len(topic) <= 200 or not set(topic) <= _TOPIC_CHARACTERS:
            raise ConfigError(
                f"{file}: export.kafka.topic {topic!r} (for {controller_id!r}) is not a Kafka topic name "
                "(letters, digits, '.', '_', '-')"
            )
        topics[controller_id] = topic
    options: dict[str, Any] = {}
    protocol = reader.text(k, "export.kafka.security-protocol", "PLAINTEXT")
    if protocol not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
        raise ConfigError(f"{file}: export.kafka.security-protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
    options["security_protocol"] = protocol
    mechanism = reader.text(k, "export.kafka.sasl-mechanism", "")
    if mechanism not in ("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        raise ConfigError(f"{file}: export.kafka.sasl-mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
    username = reader.text(k, "export.kafka.sasl-username", "")
    password = reader.text(k, "export.kafka.sasl-password", "") or os.environ.get(SASL_PASSWORD_ENVIRONMENT, "")
    if protocol.startswith("SASL_") and not (mechanism and username and password):
        raise ConfigError(
            f"{file}: export.kafka.security-protocol {protocol} needs sasl-mechanism, sasl-username and "
            f"sasl-password (or the environment variable {SASL_PASSWORD_ENVIRONMENT})"
        )
    if mechanism:
        options.update(sasl_mechanism=mechanism, sasl_plain_username=username, sasl_plain_password=password)
    for key in ("ssl-cafile", "ssl-certfile", "ssl-keyfile"):
        if reader.text(k, f"export.kafka.{key}", "") == "":
            continue
        file_path = reader.path(k, f"export.kafka.{key}", base, required=True)
        if file_path is not None:
            if not file_path.is_file():
                raise ConfigError(f"{file}: export.kafka.{key}: no such file {file_path}")
            options[key.replace("-", "_")] = str(file_path)
    check_hostname = k.get("ssl-check-hostname", True)
    if not isinstance(check_hostname, bool):
        raise ConfigError(f"{file}: export.kafka.ssl-check-hostname must be true or false")
    options["ssl_check_hostname"] = check_hostname
    return KafkaExportSettings(
        bootstrap=tuple(bootstrap),
        topics=topics,
        partitions=reader.number(k, "export.kafka.partitions", 3, 1, 10_000),
        batch_max_events=reader.number(k, "export.kafka.batch-max-events", 10_000, 1, 1_000_000),
        client_options=options,
    )
