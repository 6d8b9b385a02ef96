"""Node configuration: one TOML file per node, parsed once into a frozen settings object.

Every key and its default is documented in the sample configurations under deploy/config/. A wrong
key or value is refused at start with a message naming it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 4444


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsSettings:
    cert: Path
    key: Path
    ca: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientLogin:
    """How this node logs in at another when no client certificate is used (insecure mode)."""

    user: str
    password: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSettings:
    """[cluster] of a Controller: two nodes with each other's URIs and the Cluster Watch(es)."""

    node_id: str  # "Primary" or "Backup": the Primary is the active node when the cluster starts
    nodes: Mapping[str, str]  # node id -> URI of its Controller web service
    # The Cluster Watch's URIs: one `js7es cluster-watch`, or the members of one Cockpit cluster (the
    # active member answers as the Watch)
    watches: tuple[str, ...]
    heartbeat_s: float = 0.3
    heartbeat_timeout_s: float = 1.5
    consent_timeout_s: float = 1.0

    @property
    def peer_id(self) -> str:
        return next(n for n in sorted(self.nodes) if n != self.node_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeSettings:
    kind: str  # "controller", "agent" or "subagent"
    config_file: Path
    data_dir: Path
    http: HttpSettings
    tls: TlsSettings | None
    users: Mapping[str, Any] = field(default_factory=dict)
    controller_id: str = "js7es"
    process_limit: int | None = None  # Agent: processes at once, over all jobs
    agent_login: ClientLogin | None = None  # Controller: login at the Agents without TLS
    agent_poll_timeout_s: float = 10.0
    agent_release_period_s: float = 5.0
    snapshot_after_events: int = 100_000  # a new journal segment with a snapshot after so many events
    readers: tuple[str, ...] = ()  # users whose ReleaseEvents old journal segments wait for
    cluster: ClusterSettings | None = None  # Controller: a cluster of two nodes; Agent: a Director pair
    agent_id: str | None = None  # Agent: its AgentPath ([agent] id; required for a Director pair)
    peer_login: ClientLogin | None = None  # Controller cluster: login at the peer and the Watch without TLS
    subagent_login: ClientLogin | None = None  # Agent: login at its remote Subagents without TLS
    subagent_id: str | None = None  # Subagent: the id it answers to (None: the one its Director gives)

    @property
    def journal_dir(self) -> Path:
        return self.data_dir / "state"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"


_SECTIONS = {
    "controller": {"controller", "http", "tls", "users", "agent-login", "timing", "journal", "cluster"},
    "agent": {"agent", "http", "tls", "users", "journal", "cluster", "subagent-login"},
    "subagent": {"subagent", "http", "tls", "users"},
}
_NODE_KEYS = {
    "controller": {"id", "data-dir"},
    "agent": {"id", "data-dir", "process-limit"},
    "subagent": {"id", "data-dir"},
}
_DEFAULT_PORTS = {"controller": 4444, "agent": 4445, "subagent": 4446}


def load_settings(path: Path, kind: str) -> NodeSettings:
    return parse_settings(read_toml(path), path, kind)


def parse_settings(raw: Mapping[str, Any], path: Path, kind: str) -> NodeSettings:
    reader = _Reader(path)
    reader.known_sections(raw, _SECTIONS[kind])
    node = reader.section(
        raw, kind, {"id", "data-dir"} if kind == "controller" else {"id", "data-dir", "process-limit"}
    )
    node = reader.section(raw, kind, _NODE_KEYS[kind])
    base = path.parent
    data_dir = reader.path(node, f"{kind}.data-dir", base, required=True)
    assert data_dir is not None
    http = reader.http(raw, _DEFAULT_PORTS[kind])
    tls = reader.tls(raw)
    users = reader.users(raw)
    settings: dict[str, Any] = {}
    journal = reader.section(raw, "journal", {"snapshot-after-events", "readers"})
    readers = journal.get("readers", [])
    if not isinstance(readers, list) or not all(isinstance(r, str) and r for r in readers):
        raise ConfigError(f"{path}: journal.readers must be a list of user ids")
    settings["readers"] = tuple(readers)
    settings["snapshot_after_events"] = reader.number(
        journal, "journal.snapshot-after-events", 100_000, 10, 1_000_000_000
    )
    if kind == "controller":
        settings["controller_id"] = reader.text(node, "controller.id", "js7es")
        login = reader.section(raw, "agent-login", {"user", "password"})
        if login:
            settings["agent_login"] = ClientLogin(
                user=reader.text(login, "agent-login.user", ""), password=reader.text(login, "agent-login.password", "")
            )
        timing = reader.section(raw, "timing", {"agent-poll-timeout", "agent-release-period"})
        settings["agent_poll_timeout_s"] = reader.seconds(timing, "timing.agent-poll-timeout", 10.0)
        settings["agent_release_period_s"] = reader.seconds(timing, "timing.agent-release-period", 5.0)
        cluster = reader.section(
            raw,
            "cluster",
            {"node-id", "nodes", "watches", "heartbeat", "heartbeat-timeout", "consent-timeout", "peer-login"},
        )
        if cluster:
            settings["cluster"], settings["peer_login"] = _cluster_settings(reader, cluster)
    elif kind == "subagent":
        subagent_id = node.get("id")
        if subagent_id is not None and (not isinstance(subagent_id, str) or not subagent_id):
            raise ConfigError(f"{path}: subagent.id must be a non-empty string")
        settings["subagent_id"] = subagent_id
    else:
        login = reader.section(raw, "subagent-login", {"user", "password"})
        if login:
            settings["subagent_login"] = ClientLogin(
                user=reader.text(login, "subagent-login.user", ""),
                password=reader.text(login, "subagent-login.password", ""),
            )
        limit = node.get("process-limit")
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise ConfigError(f"{path}: agent.process-limit must be a number >= 1")
        settings["process_limit"] = limit
        agent_id = node.get("id")
        if agent_id is not None and (not isinstance(agent_id, str) or not agent_id):
            raise ConfigError(f"{path}: agent.id must be the Agent's path")
        settings["agent_id"] = agent_id
        cluster = reader.section(
            raw,
            "cluster",
            {"node-id", "nodes", "watches", "heartbeat", "heartbeat-timeout", "consent-timeout", "peer-login"},
        )
        if cluster:
            if agent_id is None:
                raise ConfigError(f"{path}: a Director pair ([cluster]) needs agent.id, the Agent's path")
            settings["cluster"], settings["peer_login"] = _cluster_settings(reader, cluster)
    return NodeSettings(kind=kind, config_file=path, data_dir=data_dir, http=http, tls=tls, users=users, **settings)


def _cluster_settings(reader: _Reader, cluster: Mapping[str, Any]) -> tuple[ClusterSettings, ClientLogin | None]:
    file = reader.file
    nodes = cluster.get("nodes")
    if (
        not isinstance(nodes, Mapping)
        or set(nodes) != {"Primary", "Backup"}
        or not all(isinstance(u, str) and u.startswith(("http://", "https://")) for u in nodes.values())
    ):
        raise ConfigError(f'{file}: cluster.nodes must be {{ Primary = "https://…", Backup = "https://…" }}')
    node_id = reader.text(cluster, "cluster.node-id", "")
    if node_id not in nodes:
        raise ConfigError(f'{file}: cluster.node-id must be "Primary" or "Backup"')
    watches = cluster.get("watches", [])
    if (
        not isinstance(watches, list)
        or not watches
        or len(set(watches)) != len(watches)
        or not all(isinstance(w, str) and w.startswith(("http://", "https://")) for w in watches)
    ):
        # Two Watches could each consent to a different side: one Watch per cluster (as JS7). Several URIs
        # are the members of one Cockpit cluster, of which only the active member answers as the Watch.
        raise ConfigError(
            f"{file}: cluster.watches must be a list of the Cluster Watch's URIs: one `js7es cluster-watch`, "
            "or the members of one Cockpit cluster"
        )
    heartbeat = reader.seconds(cluster, "cluster.heartbeat", 0.3)
    heartbeat_timeout = reader.seconds(cluster, "cluster.heartbeat-timeout", 1.5)
    consent_timeout = reader.seconds(cluster, "cluster.consent-timeout", 1.0)
    if not heartbeat < heartbeat_timeout or not consent_timeout < heartbeat_timeout:
        raise ConfigError(f"{file}: cluster.heartbeat and cluster.consent-timeout must be below heartbeat-timeout")
    login = cluster.get("peer-login")
    peer_login = None
    if login is not None:
        if not isinstance(login, Mapping) or set(login) != {"user", "password"}:
            raise ConfigError(f'{file}: cluster.peer-login must be {{ user = "…", password = "…" }}')
        peer_login = ClientLogin(user=str(login["user"]), password=str(login["password"]))
    settings = ClusterSettings(
        node_id=node_id,
        nodes={k: str(v).rstrip("/") for k, v in nodes.items()},
        watches=tuple(w.rstrip("/") for w in watches),
        heartbeat_s=heartbeat,
        heartbeat_timeout_s=heartbeat_timeout,
        consent_timeout_s=consent_timeout,
    )
    return settings, peer_login


def read_toml(path: Path) -> Mapping[str, Any]:
    """A configuration file's TOML; a missing or malformed file is a ConfigError naming it."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


class _Reader:
    def __init__(self, path: Path) -> None:
        self.file = path

    def known_sections(self, raw: Mapping[str, Any], sections: set[str]) -> None:
        unknown = set(raw) - sections
        if unknown:
            raise ConfigError(f"{self.file}: unknown section(s) {sorted(unknown)}; known: {sorted(sections)}")

    def http(self, raw: Mapping[str, Any], default_port: int) -> HttpSettings:
        """``[http] host, port``."""
        section = self.section(raw, "http", {"host", "port"})
        return HttpSettings(
            host=self.text(section, "http.host", "127.0.0.1"),
            port=self.number(section, "http.port", default_port, 0, 65535),
        )

    def tls(self, raw: Mapping[str, Any]) -> TlsSettings | None:
        """``[tls] cert, key, ca`` (paths relative to the file), all three or no section."""
        section = self.section(raw, "tls", {"cert", "key", "ca"})
        if not section:
            return None
        base = self.file.parent
        cert = self.path(section, "tls.cert", base, required=True)
        key = self.path(section, "tls.key", base, required=True)
        ca = self.path(section, "tls.ca", base, required=True)
        assert cert is not None and key is not None and ca is not None
        return TlsSettings(cert=cert, key=key, ca=ca)

    def users(self, raw: Mapping[str, Any]) -> Mapping[str, Any]:
        users = raw.get("users", {})
        if not isinstance(users, Mapping):
            raise ConfigError(f"{self.file}: [users] must be a table of users")
        return users

    def section(self, raw: Mapping[str, Any], name: str, keys: set[str]) -> Mapping[str, Any]:
        section = raw.get(name, {})
        if not isinstance(section, Mapping):
            raise ConfigError(f"{self.file}: [{name}] must be a table")
        unknown = set(section) - keys
        if unknown:
            raise ConfigError(f"{self.file}: unknown key(s) {sorted(unknown)} in [{name}]; known: {sorted(keys)}")
        return section

    def text(self, section: Mapping[str, Any], key: str, default: str) -> str:
        value = section.get(key.rpartition(".")[2], default)
        if not isinstance(value, str):
            raise ConfigError(f"{self.file}: {key} must be a string")
        return value

    def number(self, section: Mapping[str, Any], key: str, default: int, lo: int, hi: int) -> int:
        value = section.get(key.rpartition(".")[2], default)
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise ConfigError(f"{self.file}: {key} must be a number from {lo} to {hi}")
        return value

    def boolean(self, section: Mapping[str, Any], key: str, default: bool) -> bool:
        value = section.get(key.rpartition(".")[2], default)
        if not isinstance(value, bool):
            raise ConfigError(f"{self.file}: {key} must be true or false")
        return value

    def seconds(self, section: Mapping[str, Any], key: str, default: float) -> float:
        value = section.get(key.rpartition(".")[2], default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{self.file}: {key} must be a positive number of seconds")
        return float(value)

    def path(self, section: Mapping[str, Any], key: str, base: Path, *, required: bool) -> Path | None:
        value = section.get(key.rpartition(".")[2])
        if value is None:
            if required:
                raise ConfigError(f"{self.file}: {key} is required")
            return None
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{self.file}: {key} must be a path")
        return (base / value).resolve()
