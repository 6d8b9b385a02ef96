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
