"""The Cockpit's [export.kafka] section: the sample's commented block is every key with its default;
mistakes are refused naming the key; the release gate keeps the smaller position."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from js7es.nodes.cockpit.config import ConfigError, parse_cockpit_settings
from js7es.nodes.cockpit.release import KAFKA_EXPORT, PROJECTION, ReleaseGate
from js7es.nodes.export.settings import KAFKA_EXPORT_KEYS, KafkaExportSettings

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "config" / "cockpit.toml"
BASE = '[cockpit]\ndata-dir="d"\n[controllers.a]\nuris=["https://a:1"]\n[controllers.b]\nuris=["https://b:1"]\n'


def sample_with_export() -> str:
    """The sample configuration with its [export.kafka] block uncommented."""
    lines = SAMPLE.read_text().splitlines()
    start = lines.index("# [export.kafka]")
    out = lines[:start]
    for line in lines[start:]:
        if not line.startswith("# "):
            out.extend(lines[len(out) :])
            break
        out.append(line[2:])
    return "\n".join(out) + "\n"


def parse(toml: str, tmp_path: Path) -> KafkaExportSettings | None:
    return parse_cockpit_settings(tomllib.loads(toml), tmp_path / "cockpit.toml").kafka_export


def test_the_sample_documents_every_key_with_its_default() -> None:
    text = sample_with_export()
    settings = parse_cockpit_settings(tomllib.loads(text), SAMPLE).kafka_export
    assert settings is not None
    assert settings.bootstrap == ("127.0.0.1:9092",)
    assert dict(settings.topics) == {"js7es": "js7-events-js7es"}
    defaults = KafkaExportSettings(bootstrap=settings.bootstrap, topics=settings.topics)
    assert settings.partitions == defaults.partitions == 3
    assert settings.batch_max_events == defaults.batch_max_events == 10_000
    assert settings.client_options == {"security_protocol": "PLAINTEXT", "ssl_check_hostname": True}
    documented = set(re.findall(r"^# ([a-z-]+) = ", SAMPLE.read_text(), re.MULTILINE))
    assert documented >= KAFKA_EXPORT_KEYS
    # Without the section: no export.
    assert parse_cockpit_settings(tomllib.loads(SAMPLE.read_text()), SAMPLE).kafka_export is None


def test_one_topic_per_controller_or_the_ones_named(tmp_path: Path) -> None:
    both = parse(BASE + '[export.kafka]\nbootstrap = "k:9092"\n', tmp_path)
    assert both is not None and dict(both.topics) == {"a": "js7-events-a", "b": "js7-events-b"}
    one = parse(BASE + '[export.kafka]\nbootstrap = ["k:9092"]\ncontrollers = ["b"]\ntopic = "events"\n', tmp_path)
    assert one is not None and dict(one.topics) == {"b": "events"}
    assert one.client_options == {"security_protocol": "PLAINTEXT", "ssl_check_hostname": True}


def test_tls_and_sasl_options_reach_the_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ca.pem").write_text("x")
    monkeypatch.setenv("JS7ES_SASL_PASSWORD", "secret")
    settings = parse(
        BASE
        + '[export.kafka]\nbootstrap = ["k:9093"]\nsecurity-protocol = "SASL_SSL"\nsasl-mechanism = "SCRAM-SHA-512"\n'
        'sasl-username = "js7"\nssl-cafile = "ca.pem"\nssl-check-hostname = false\n',
        tmp_path,
    )
    assert settings is not None
    assert settings.client_options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "js7",
        "sasl_plain_password": "secret",
        "ssl_cafile": str(tmp_path / "ca.pem"),
        "ssl_check_hostname": False,
    }


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("", "export.kafka.bootstrap is required"),
        ('bootstrap = ["k"]', "'k' is not HOST:PORT"),
        ('bootstrap = ["k:1"]\ntopic = "events"', "needs {controller}: one topic per Controller"),
        ('bootstrap = ["k:1"]\ncontrollers = ["c"]', "export.kafka.controllers: ['c'] not in [controllers]"),
        ('bootstrap = ["k:1"]\ntopic = "a b {controller}"', "is not a Kafka topic name"),
        ('bootstrap = ["k:1"]\npartitions = 0', "export.kafka.partitions must be a number"),
        ('bootstrap = ["k:1"]\nbatch = 5', "unknown key(s) ['batch'] in [export.kafka]"),
        ('bootstrap = ["k:1"]\nsecurity-protocol = "TLS"', "export.kafka.security-protocol must be"),
        ('bootstrap = ["k:1"]\nsecurity-protocol = "SASL_SSL"', "needs sasl-mechanism, sasl-username"),
        ('bootstrap = ["k:1"]\nssl-cafile = "missing.pem"', "export.kafka.ssl-cafile: no such file"),
    ],
)
def test_mistakes_are_refused_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, section: str, message: str
) -> None:
    monkeypatch.delenv("JS7ES_SASL_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse(BASE + "[export.kafka]\n" + section + "\n", tmp_path)


def test_an_unknown_export_target_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("unknown key(s) ['pulsar'] in [export]")):
        parse(BASE + "[export.pulsar]\nx = 1\n", tmp_path)


def test_the_release_gate_keeps_the_smaller_position() -> None:
    gate = ReleaseGate([PROJECTION, KAFKA_EXPORT])
    assert gate.advance(PROJECTION, 500) == 0  # the export has not said anything yet
    assert gate.advance(KAFKA_EXPORT, 300) == 300
    assert gate.advance(KAFKA_EXPORT, 900) == 500
    assert gate.advance(PROJECTION, 400) == 500  # never backwards
    assert gate.positions() == {PROJECTION: 500, KAFKA_EXPORT: 900}
    assert ReleaseGate([PROJECTION]).advance(PROJECTION, 7) == 7
