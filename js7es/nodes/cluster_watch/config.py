"""The Cluster Watch's configuration: one TOML file, parsed once into `ClusterWatchSettings`.

Every key and its default is in deploy/config/cluster-watch.toml. The Watch keeps its knowledge in
memory only, so it has no data directory. A wrong key or value is refused at start, naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from js7es.nodes.config import ConfigError, HttpSettings, TlsSettings, _Reader, read_toml

DEFAULT_PORT = 4447
_SECTIONS = {"cluster-watch", "http", "tls", "users"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterWatchSettings:
    config_file: Path
    watch_id: str = "cluster-watch"  # its name in the overview
    http: HttpSettings = field(default_factory=lambda: HttpSettings(port=DEFAULT_PORT))
    tls: TlsSettings | None = None
    users: Mapping[str, Any] = field(default_factory=dict)


def load_cluster_watch_settings(path: Path) -> ClusterWatchSettings:
    return parse_cluster_watch_settings(read_toml(path), path)


def parse_cluster_watch_settings(raw: Mapping[str, Any], path: Path) -> ClusterWatchSettings:
    reader = _Reader(path)
    reader.known_sections(raw, _SECTIONS)
    node = reader.section(raw, "cluster-watch", {"id"})
    http = reader.http(raw, DEFAULT_PORT)
    tls = reader.tls(raw)
    users = reader.users(raw)
    watch_id = reader.text(node, "cluster-watch.id", "cluster-watch")
    if not watch_id:
        raise ConfigError(f"{path}: cluster-watch.id must not be empty")
    return ClusterWatchSettings(config_file=path, watch_id=watch_id, http=http, tls=tls, users=users)
