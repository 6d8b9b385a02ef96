"""The Cockpit's configuration: one TOML file, parsed once into `CockpitSettings`.

Every key and its default is in deploy/config/cockpit.toml. A wrong key or value is refused at start
with a message naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.config import ConfigError, HttpSettings, TlsSettings, _Reader, read_toml
from js7es.nodes.export.settings import KafkaExportSettings, parse_kafka_export

if TYPE_CHECKING:
    from js7es.nodes.cockpit.cluster import ClusterSettings

DEFAULT_PORT = 4446


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectionSettings:
    batch_max_events: int = 1000  # events per transaction at most (the live follower)
    rebuild_batch_events: int = 20_000  # events per transaction in a rebuild
    task_log_limit: int = 10 * 1024 * 1024  # bytes of stdout+stderr kept per task; the rest is dropped, marked
    release_period_s: float = 5.0  # ReleaseEvents to the Controller at most this often
    poll_timeout_s: float = 50.0  # how long one event request waits for new events
    retry_delay_s: float = 2.0  # after an error, wait this long before following again


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
    store_url: str = ""  # the Cockpit store (IAM, settings, audit trail): "" = <data-dir>/cockpit-store.sqlite
    store_schema: str | None = None
    root_password_hash: str | None = None  # [joc] root-password-hash: root's password on the store's first start
    events_wait_s: float = 60.0  # [joc] events-wait: how long /joc/api/events waits for news before it answers
    # [daily-plan] service: whether this Cockpit runs the daily plan service (JOC: the active Cockpit does)
    daily_plan_service: bool = True
    # [daily-plan] check-interval: how often the service plans, submits and looks for late orders (JOC: 60 s)
    daily_plan_check_s: float = 60.0
    # [controllers.<id>] cluster-watch: the Cluster Watch of a Controller cluster, per Controller id
    cluster_watches: Mapping[str, str] = field(default_factory=dict)
    # [cluster]: this Cockpit is a member of a Cockpit cluster on one PostgreSQL database (cluster.py);
    # None: a single Cockpit, always active (the only choice on SQLite)
    cluster: ClusterSettings | None = None

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


_SECTIONS = {
    "cockpit",
    "http",
    "tls",
    "database",
    "projection",
    "controllers",
    "users",
    "export",
    "store",
    "joc",
    "daily-plan",
    "cluster",
}


def load_cockpit_settings(path: Path) -> CockpitSettings:
    return parse_cockpit_settings(read_toml(path), path)


def parse_cockpit_settings(raw: Mapping[str, Any], path: Path) -> CockpitSettings:
    reader = _Reader(path)
    reader.known_sections(raw, _SECTIONS)
    base = path.parent
    node = reader.section(raw, "cockpit", {"id", "data-dir"})
    data_dir = reader.path(node, "cockpit.data-dir", base, required=True)
    assert data_dir is not None
    http = reader.http(raw, DEFAULT_PORT)
    tls = reader.tls(raw)
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
        rebuild_batch_events=reader.number(p, "projection.rebuild-batch-events", 20_000, 1, 1_000_000),
        task_log_limit=reader.number(p, "projection.task-log-limit", 10 * 1024 * 1024, 1024, 2**40),
        release_period_s=reader.seconds(p, "projection.release-period", 5.0),
        poll_timeout_s=reader.seconds(p, "projection.poll-timeout", 50.0),
        retry_delay_s=reader.seconds(p, "projection.retry-delay", 2.0),
    )
    controllers_raw = raw.get("controllers", {})
    if not isinstance(controllers_raw, Mapping) or not controllers_raw:
        raise ConfigError(f"{path}: [controllers.<id>] with uris = [...] is required (one per Controller)")
    controllers = []
    cluster_watches = {}
    for controller_id in controllers_raw:
        section = reader.section(controllers_raw, controller_id, {"uris", "user", "password", "cluster-watch"})
        uris = section.get("uris")
        if not isinstance(uris, list) or not 1 <= len(uris) <= 2 or not all(isinstance(u, str) and u for u in uris):
            raise ConfigError(f"{path}: controllers.{controller_id}.uris must be a list of one or two URIs")
        user = section.get("user")
        password = section.get("password")
        if (user is None) != (password is None) or not all(v is None or isinstance(v, str) for v in (user, password)):
            raise ConfigError(f"{path}: controllers.{controller_id}: user and password go together, as strings")
        watch = reader.text(section, f"controllers.{controller_id}.cluster-watch", "").rstrip("/")
        if watch:
            if not watch.startswith(("https://", "http://")):
                raise ConfigError(f"{path}: controllers.{controller_id}.cluster-watch must be an http(s) URL")
            cluster_watches[controller_id] = watch
        controllers.append(
            ControllerConnection(
                controller_id=controller_id, uris=tuple(u.rstrip("/") for u in uris), user=user, password=password
            )
        )
    users = reader.users(raw)
    store = reader.section(raw, "store", {"url", "schema"})
    store_url = reader.text(store, "store.url", "")
    if not store_url and url.startswith("postgresql"):
        store_url = url  # the store's tables beside the projection's, in the same database
    if store_url.startswith("sqlite:///") and not store_url.startswith("sqlite:////"):
        store_url = sqlite_url((base / store_url[len("sqlite:///") :]).resolve())
    joc = reader.section(raw, "joc", {"root-password-hash", "events-wait"})
    events_wait_s = reader.seconds(joc, "joc.events-wait", 60.0)
    daily_plan = reader.section(raw, "daily-plan", {"service", "check-interval"})
    daily_plan_check_s = reader.seconds(daily_plan, "daily-plan.check-interval", 60.0)
    daily_plan_service = reader.boolean(daily_plan, "daily-plan.service", True)
    root_password_hash = reader.text(joc, "joc.root-password-hash", "") or None
    if root_password_hash is not None and not root_password_hash.startswith("$argon2id$"):
        raise ConfigError(f"{path}: joc.root-password-hash must be an argon2id hash ($argon2id$…)")
    cluster = _cluster_settings(reader, raw, path, url, store_url or url)
    export = reader.section(raw, "export", {"kafka"})
    kafka_export = None
    if "kafka" in export:
        kafka_export = parse_kafka_export(reader, export, [c.controller_id for c in controllers], base)
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
        store_url=store_url or sqlite_url(data_dir / "cockpit-store.sqlite"),
        store_schema=(reader.text(store, "store.schema", "") or schema_name),
        root_password_hash=root_password_hash,
        cluster_watches=cluster_watches,
        events_wait_s=events_wait_s,
        daily_plan_service=daily_plan_service,
        daily_plan_check_s=daily_plan_check_s,
        cluster=cluster,
    )


def _cluster_settings(
    reader: _Reader, raw: Mapping[str, Any], path: Path, url: str, store_url: str
) -> ClusterSettings | None:
    if "cluster" not in raw:
        return None
    from js7es.nodes.cockpit.cluster import ClusterSettings

    section = reader.section(raw, "cluster", {"id", "member-id", "uri", "lease", "renew-interval", "poll-interval"})
    if not url.startswith("postgresql"):
        raise ConfigError(
            f"{path}: [cluster] needs database.url on PostgreSQL (a Cockpit on SQLite is single-instance)"
        )
    if store_url != url:
        raise ConfigError(f"{path}: [cluster] keeps the Cockpit store in the database: leave store.url out")
    member_id = reader.text(section, "cluster.member-id", "")
    if not member_id:
        raise ConfigError(f"{path}: cluster.member-id is required (unique among the Cockpits of the cluster)")
    defaults = ClusterSettings(cluster_id="", member_id="")
    lease_s = reader.seconds(section, "cluster.lease", defaults.lease_s)
    renew_s = reader.seconds(section, "cluster.renew-interval", defaults.renew_s)
    if renew_s * 2 > lease_s:
        raise ConfigError(f"{path}: cluster.renew-interval must be at most half of cluster.lease")
    return ClusterSettings(
        cluster_id=reader.text(section, "cluster.id", "joc"),
        member_id=member_id,
        uri=reader.text(section, "cluster.uri", "").rstrip("/"),
        lease_s=lease_s,
        renew_s=renew_s,
        poll_s=reader.seconds(section, "cluster.poll-interval", defaults.poll_s),
    )
