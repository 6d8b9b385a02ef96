"""Node configuration files: the samples in deploy/config parse; a wrong key or value is refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from js7es.nodes.config import ConfigError, load_settings
from js7es.nodes.http import Users

SAMPLES = Path(__file__).resolve().parent.parent.parent / "deploy" / "config"


@pytest.mark.parametrize("kind", ["controller", "agent", "subagent"])
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


def test_a_subagent_and_the_agent_s_login_at_its_subagents(tmp_path: Path) -> None:
    path = tmp_path / "subagent.toml"
    path.write_text('[subagent]\ndata-dir = "d"\nid = "sub-1"\n')
    settings = load_settings(path, "subagent")
    assert (settings.subagent_id, settings.http.port, settings.work_dir) == ("sub-1", 4446, tmp_path / "d" / "work")
    for text, message in (
        ('[subagent]\ndata-dir = "d"\nid = 1\n', "subagent.id must be a non-empty string"),
        ('[subagent]\ndata-dir = "d"\n[journal]\n', "unknown section"),
    ):
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_settings(path, "subagent")
    agent = tmp_path / "agent.toml"
    agent.write_text('[agent]\ndata-dir = "d"\n[subagent-login]\nuser = "director"\npassword = "pw"\n')
    login = load_settings(agent, "agent").subagent_login
    assert login is not None and (login.user, login.password) == ("director", "pw")


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


def test_a_cluster_node_whose_watch_is_a_cockpit_cluster(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        CLUSTER.replace('watches = ["https://w:3"]', 'watches = ["https://joc-1:4446", "https://joc-2:4446"]')
    )
    cluster = load_settings(path, "controller").cluster
    assert cluster is not None and cluster.watches == ("https://joc-1:4446", "https://joc-2:4446")


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
        (('watches = ["https://w:3"]', 'watches = ["https://w:3", "https://w:3"]'), "cluster.watches"),
        (('watches = ["https://w:3"]', "watches = []"), "cluster.watches"),
        (('watches = ["https://w:3"]', 'watches = ["w:3"]'), "cluster.watches"),
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


def test_the_director_pair_sample_parses(tmp_path: Path) -> None:
    """deploy/config/agent.toml's commented Director pair, uncommented, is a valid Director's configuration."""
    text = (SAMPLES / "agent.toml").read_text()
    pair = text.replace('# id = "agent-1"', 'id = "agent-1"')
    head, _, tail = pair.partition("# [cluster]")
    tail = "\n".join(line.removeprefix("# ") if not line.startswith("# ") or "=" in line or "[" in line else line
                     for line in ("# [cluster]" + tail).splitlines())  # fmt: skip
    path = tmp_path / "agent.toml"
    path.write_text(head.replace('"../../', f'"{SAMPLES.parent.parent}/') + tail)
    settings = load_settings(path, "agent")
    assert settings.agent_id == "agent-1"
    assert settings.cluster is not None and settings.cluster.node_id == "Primary"
    assert settings.cluster.watches == ("https://controller:4444",)
    Users.from_config(settings.users)


def test_a_director_pair_needs_the_agent_path(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    cluster = CLUSTER.replace("[controller]", "[agent]")
    path.write_text(cluster)
    with pytest.raises(ConfigError, match=r"a Director pair \(\[cluster\]\) needs agent.id"):
        load_settings(path, "agent")
    path.write_text(cluster.replace('data-dir = "d"', 'data-dir = "d"\nid = "a"'))
    assert load_settings(path, "agent").agent_id == "a"
