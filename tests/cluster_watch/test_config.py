"""The Cluster Watch's configuration: the documented sample parses; wrong keys are named."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from js7es.nodes.cluster_watch.config import (
    DEFAULT_PORT,
    load_cluster_watch_settings,
    parse_cluster_watch_settings,
)
from js7es.nodes.cluster_watch.server import run_cluster_watch
from js7es.nodes.config import ConfigError
from js7es.nodes.http import Users

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "config" / "cluster-watch.toml"


def test_the_sample_configuration() -> None:
    settings = load_cluster_watch_settings(SAMPLE)
    assert settings.watch_id == "cluster-watch"
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", DEFAULT_PORT)
    assert (
        settings.tls is not None and settings.tls.ca == (SAMPLE.parent / "../../js7es-data/certs/ca/ca.crt").resolve()
    )
    users = Users.from_config(settings.users)
    primary = users.by_peer({"commonName": "primary"})
    assert primary is not None and primary.has("Command") and not primary.has("ReadState")


def test_defaults() -> None:
    settings = parse_cluster_watch_settings({}, Path("/etc/js7es/cluster-watch.toml"))
    assert (settings.watch_id, settings.http.port, settings.tls, dict(settings.users)) == (
        "cluster-watch",
        DEFAULT_PORT,
        None,
        {},
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"cluster-watch": {"data-dir": "x"}}, "unknown key(s) ['data-dir'] in [cluster-watch]"),
        ({"cluster-watch": {"id": ""}}, "cluster-watch.id must not be empty"),
        ({"watch": {}}, "unknown section(s) ['watch']"),
        ({"http": {"port": "4447"}}, "http.port must be a number"),
        ({"tls": {"cert": "a.crt"}}, "tls.key is required"),
        ({"users": []}, "[users] must be a table"),
    ],
)
def test_wrong_keys_are_named(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_cluster_watch_settings(raw, Path("/etc/js7es/cluster-watch.toml"))


def test_tls_or_insecure_explicitly() -> None:
    path = Path("/etc/js7es/cluster-watch.toml")
    with pytest.raises(ValueError, match="plain HTTP"):
        run_cluster_watch(parse_cluster_watch_settings({}, path))
    with_tls = parse_cluster_watch_settings({"tls": {"cert": "a", "key": "b", "ca": "c"}}, path)
    with pytest.raises(ValueError, match="choose one"):
        run_cluster_watch(with_tls, insecure=True)
