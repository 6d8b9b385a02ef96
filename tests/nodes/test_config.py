"""Node configuration files: the samples in deploy/config parse; a wrong key or value is refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from js7es.nodes.config import ConfigError, load_settings
from js7es.nodes.http import Users

SAMPLES = Path(__file__).resolve().parent.parent.parent / "deploy" / "config"


@pytest.mark.parametrize("kind", ["controller", "agent"])
def test_the_sample_configurations_parse(kind: str) -> None:
    settings = load_settings(SAMPLES / f"{kind}.toml", kind)
    assert settings.kind == kind
    assert settings.tls is not None and settings.tls.cert.name == "node.crt"
    assert settings.snapshot_after_events == 100_000
    assert settings.journal_dir == settings.data_dir / "state"
    Users.from_config(settings.users)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[agent]\n", "agent.data-dir is required"),
        ('[agent]\ndata-dir = "d"\nprocess-limit = 0\n', "agent.process-limit"),
        ('[agent]\ndata-dir = "d"\ncolour = "red"\n', "unknown key(s) ['colour'] in [agent]"),
        ('[agent]\ndata-dir = "d"\n[htp]\n', "unknown section(s) ['htp']"),
        ('[agent]\ndata-dir = "d"\n[http]\nport = 70000\n', "http.port must be a number from 0 to 65535"),
        ('[agent]\ndata-dir = "d"\n[tls]\ncert = "c"\n', "tls.key is required"),
        ("[agent\n", "not valid TOML"),
    ],
)
def test_bad_configurations_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")
    ):
        load_settings(path, "agent")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_settings(tmp_path / "none.toml", "controller")


CLUSTER = """[controller]
data-dir = "d"
[cluster]
node-id = "Backup"
nodes = { Primary = "https://a:1", Backup = "https://b:2" }
watches = ["https://w:3"]
heartbeat = 0.2
"""


def test_a_cluster_node(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CLUSTER)
    cluster = load_settings(path, "controller").cluster
    assert cluster is not None
    assert (cluster.node_id, cluster.peer_id, cluster.watches) == ("Backup", "Primary", ("https://w:3",))
    assert (cluster.heartbeat_s, cluster.heartbeat_timeout_s, cluster.consent_timeout_s) == (0.2, 1.5, 1.0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('node-id = "Backup"', 'node-id = "Third"'), "cluster.node-id"),
        (('Backup = "https://b:2"', 'Other = "https://b:2"'), "cluster.nodes"),
        (('Backup = "https://b:2"', 'Backup = "b:2"'), "cluster.nodes"),
        (('watches = ["https://w:3"]', 'watches = ["https://w:3", "https://w:4"]'), "exactly one"),
        (('watches = ["https://w:3"]', "watches = []"), "exactly one"),
        (("heartbeat = 0.2", "heartbeat = 2"), "below heartbeat-timeout"),
        (("heartbeat = 0.2", "heartbeat = -1"), "cluster.heartbeat"),
        (("heartbeat = 0.2", "hearbeat = 0.2"), "unknown key"),
    ],
)
def test_bad_cluster_configurations_name_the_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(CLUSTER.replace(*change))
    with pytest.raises(ConfigError, match=message):
        load_settings(path, "controller")
