"""The Cockpit's configuration: the sample with every key parses to the documented defaults; mistakes
are refused naming the key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from js7es.nodes.cockpit.config import CockpitSettings, ConfigError, ProjectionSettings, parse_cockpit_settings
from js7es.nodes.cockpit.config import load_cockpit_settings as load

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "config" / "cockpit.toml"


def test_the_sample_configuration_has_every_default() -> None:
    settings = load(SAMPLE)
    assert isinstance(settings, CockpitSettings)
    assert settings.projection == ProjectionSettings()
    assert settings.database_url == f"sqlite:///{settings.data_dir / 'cockpit.sqlite'}"
    assert settings.database_schema is None
    assert settings.http.port == 4446
    assert [c.controller_id for c in settings.controllers] == ["js7es"]
    assert settings.controllers[0].uris == ("https://127.0.0.1:4444",)
    assert settings.cluster_watches == {}
    assert settings.cluster is None  # a single Cockpit, always active


def test_a_cockpit_cluster_member(tmp_path: Path) -> None:
    from js7es.nodes.cockpit.cluster import ClusterSettings

    toml = (
        '[cockpit]\ndata-dir="d"\n[controllers.c]\nuris=["u"]\n[database]\nurl="postgresql://p@h/db"\n'
        '[cluster]\nmember-id="a"\nuri="https://a:1/"\n'
    )
    settings = parse_cockpit_settings(tomllib.loads(toml), tmp_path / "c.toml")
    assert settings.cluster == ClusterSettings(cluster_id="joc", member_id="a", uri="https://a:1")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[cockpit]\ndata-dir="d"\n', "[controllers.<id>] with uris"),
        ('[cockpit]\ndata-dir="d"\n[controllers.c]\nuris=[]\n', "controllers.c.uris must be a list"),
        ('[cockpit]\ndata-dir="d"\n[controllers.c]\nuris=["u"]\nuser="x"\n', "user and password go together"),
        ('[cockpit]\ndata-dir="d"\n[controllers.c]\nuris=["u"]\n[projection]\ntask-log-limit=5\n', "task-log-limit"),
        ('[cockpit]\ndata-dir="d"\n[controllers.c]\nuris=["u"]\n[database]\nport=1\n', "unknown key(s) ['port']"),
        ('[cockpit]\ndata-dir="d"\n[controllers.c]\nuris=["u"]\n[extra]\n', "unknown section(s) ['extra']"),
        ('[cockpit]\ndata-dir="d"\n[controllers.c]\nuris=["u"]\ncluster-watch="w:1"\n', "controllers.c.cluster-watch"),
        (
            '[cockpit]\ndata-dir="d"\n[controllers.c]\nuris=["u"]\n[cluster]\nmember-id="a"\n',
            "SQLite is single-instance",
        ),
        (
            '[cockpit]\ndata-dir="d"\n[controllers.c]\nuris=["u"]\n[database]\nurl="postgresql://p@h/db"\n[cluster]\n',
            "cluster.member-id is required",
        ),
    ],
)
def test_mistakes_are_refused_naming_the_key(tmp_path: Path, toml: str, message: str) -> None:
    import tomllib

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        parse_cockpit_settings(tomllib.loads(toml), tmp_path / "c.toml")


def test_a_relative_sqlite_url_is_relative_to_the_file(tmp_path: Path) -> None:
    import tomllib

    raw = tomllib.loads(
        '[cockpit]\ndata-dir="d"\n[database]\nurl="sqlite:///db/x.sqlite"\n[controllers.c]\nuris=["u"]\n'
    )
    settings = parse_cockpit_settings(raw, tmp_path / "c.toml")
    assert settings.database_url == f"sqlite:///{tmp_path / 'db' / 'x.sqlite'}"


def test_the_store_is_its_own_sqlite_file_or_the_postgresql_database(tmp_path: Path) -> None:
    base = {"cockpit": {"data-dir": "data"}, "controllers": {"c": {"uris": ["https://h:1"]}}}
    settings = parse_cockpit_settings(base, tmp_path / "c.toml")
    assert settings.store_url == f"sqlite:///{tmp_path / 'data' / 'cockpit-store.sqlite'}"
    pg = {**base, "database": {"url": "postgresql+psycopg://u@h/db", "schema": "s"}}
    settings = parse_cockpit_settings(pg, tmp_path / "c.toml")
    assert (settings.store_url, settings.store_schema) == ("postgresql+psycopg://u@h/db", "s")


def test_the_root_password_hash_must_be_argon2id(tmp_path: Path) -> None:
    base = {"cockpit": {"data-dir": "data"}, "controllers": {"c": {"uris": ["https://h:1"]}}}
    with pytest.raises(ConfigError, match="argon2id"):
        parse_cockpit_settings({**base, "joc": {"root-password-hash": "plain:x"}}, tmp_path / "c.toml")
    with pytest.raises(ConfigError, match="unknown key"):
        parse_cockpit_settings({**base, "joc": {"root-password": "x"}}, tmp_path / "c.toml")


def test_a_controller_cluster_s_watch(tmp_path: Path) -> None:
    import tomllib

    raw = tomllib.loads(
        '[cockpit]\ndata-dir="d"\n[controllers.c]\nuris=["u", "v"]\ncluster-watch="https://watch:4447/"\n'
        '[controllers.d]\nuris=["w"]\n'
    )
    settings = parse_cockpit_settings(raw, tmp_path / "c.toml")
    assert settings.cluster_watches == {"c": "https://watch:4447"}


def test_the_events_long_poll_wait_is_a_setting(tmp_path: Path) -> None:
    base = {"cockpit": {"data-dir": "data"}, "controllers": {"c": {"uris": ["https://h:1"]}}}
    assert parse_cockpit_settings(base, tmp_path / "c.toml").events_wait_s == 60.0
    assert parse_cockpit_settings({**base, "joc": {"events-wait": 2}}, tmp_path / "c.toml").events_wait_s == 2.0
    with pytest.raises(ConfigError, match="events-wait"):
        parse_cockpit_settings({**base, "joc": {"events-wait": 0}}, tmp_path / "c.toml")
