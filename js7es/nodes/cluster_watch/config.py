"""The Cluster Watch's configuration: one TOML file, parsed once into `ClusterWatchSettings`.

Every key and its default is in deploy/config/cluster-watch.toml. The Watch keeps its knowledge in
memory only, so it has no data directory. A wrong key or value is refused at start, naming it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from js7es.nodes.config import ConfigError, HttpSettings, TlsSettings, _Reader

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
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return parse_cluster_watch_settings(raw, path)


def parse_cluster_watch_settings(raw: Mapping[str, Any], path: Path) -> ClusterWatchSettings:
    reader = _Reader(path)
    unknown = set(raw) - _SECTIONS
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {sorted(unknown)}; known: {sorted(_SECTIONS)}")
    base = path.parent
    node = reader.section(raw, "cluster-watch", {"id"})
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
    users = raw.get("users", {})
    if not isinstance(users, Mapping):
        raise ConfigError(f"{path}: [users] must be a table of users")
    watch_id = reader.text(node, "cluster-watch.id", "cluster-watch")
    if not watch_id:
        raise ConfigError(f"{path}: cluster-watch.id must not be empty")
    return ClusterWatchSettings(config_file=path, watch_id=watch_id, http=http, tls=tls, users=users)
