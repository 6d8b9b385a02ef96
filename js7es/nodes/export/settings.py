"""``[export.kafka]`` of the Cockpit's configuration (deploy/config/cockpit.toml documents every key):
the Kafka export run inside the Cockpit (service.py)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from js7es.nodes.config import ConfigError, _Reader


@dataclass(frozen=True, slots=True, kw_only=True)
class KafkaExportSettings:
    """[export.kafka]: the Kafka exporter of `js7es export kafka`, run inside the Cockpit for each
    Controller in `controllers`, each to its own topic."""

    bootstrap: tuple[str, ...]
    topics: Mapping[str, str]  # Controller id → topic
    partitions: int = 3  # partitions of a topic the exporter creates
    batch_max_events: int = 10_000  # events per produce batch at most
    client_options: Mapping[str, Any] = field(default_factory=dict)  # kafka-python's TLS/SASL options

    @property
    def controllers(self) -> tuple[str, ...]:
        return tuple(self.topics)


KAFKA_EXPORT_KEYS = {
    "bootstrap",
    "topic",
    "controllers",
    "partitions",
    "batch-max-events",
    "security-protocol",
    "sasl-mechanism",
    "sasl-username",
    "sasl-password",
    "ssl-cafile",
    "ssl-certfile",
    "ssl-keyfile",
    "ssl-check-hostname",
}
_TOPIC_CHARACTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
SASL_PASSWORD_ENVIRONMENT = "JS7ES_SASL_PASSWORD"


def parse_kafka_export(
    reader: _Reader, export: Mapping[str, Any], controller_ids: list[str], base: Path
) -> KafkaExportSettings:
    file = reader.file
    k = reader.section({"export.kafka": export["kafka"]}, "export.kafka", KAFKA_EXPORT_KEYS)
    bootstrap = k.get("bootstrap")
    if isinstance(bootstrap, str):
        bootstrap = [bootstrap]
    if not isinstance(bootstrap, list) or not bootstrap or not all(isinstance(b, str) for b in bootstrap):
        raise ConfigError(f'{file}: export.kafka.bootstrap is required: a list of "HOST:PORT"')
    for server in bootstrap:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{file}: export.kafka.bootstrap: {server!r} is not HOST:PORT")
    named = k.get("controllers", [])
    if not isinstance(named, list) or not all(isinstance(c, str) for c in named):
        raise ConfigError(f"{file}: export.kafka.controllers must be a list of Controller ids")
    unknown = [c for c in named if c not in controller_ids]
    if unknown:
        raise ConfigError(f"{file}: export.kafka.controllers: {unknown} not in [controllers] {controller_ids}")
    exported = named or controller_ids
    template = reader.text(k, "export.kafka.topic", "js7-events-{controller}")
    if len(exported) > 1 and "{controller}" not in template:
        raise ConfigError(
            f"{file}: export.kafka.topic {template!r} needs {{controller}}: one topic per Controller "
            "(a topic has one exporter)"
        )
    topics = {}
    for controller_id in exported:
        topic = template.replace("{controller}", controller_id)
        if not 0 < len(topic) <= 200 or not set(topic) <= _TOPIC_CHARACTERS:
            raise ConfigError(
                f"{file}: export.kafka.topic {topic!r} (for {controller_id!r}) is not a Kafka topic name "
                "(letters, digits, '.', '_', '-')"
            )
        topics[controller_id] = topic
    options: dict[str, Any] = {}
    protocol = reader.text(k, "export.kafka.security-protocol", "PLAINTEXT")
    if protocol not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
        raise ConfigError(f"{file}: export.kafka.security-protocol must be PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
    options["security_protocol"] = protocol
    mechanism = reader.text(k, "export.kafka.sasl-mechanism", "")
    if mechanism not in ("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        raise ConfigError(f"{file}: export.kafka.sasl-mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
    username = reader.text(k, "export.kafka.sasl-username", "")
    password = reader.text(k, "export.kafka.sasl-password", "") or os.environ.get(SASL_PASSWORD_ENVIRONMENT, "")
    if protocol.startswith("SASL_") and not (mechanism and username and password):
        raise ConfigError(
            f"{file}: export.kafka.security-protocol {protocol} needs sasl-mechanism, sasl-username and "
            f"sasl-password (or the environment variable {SASL_PASSWORD_ENVIRONMENT})"
        )
    if mechanism:
        options.update(sasl_mechanism=mechanism, sasl_plain_username=username, sasl_plain_password=password)
    for key in ("ssl-cafile", "ssl-certfile", "ssl-keyfile"):
        if reader.text(k, f"export.kafka.{key}", "") == "":
            continue
        file_path = reader.path(k, f"export.kafka.{key}", base, required=True)
        if file_path is not None:
            if not file_path.is_file():
                raise ConfigError(f"{file}: export.kafka.{key}: no such file {file_path}")
            options[key.replace("-", "_")] = str(file_path)
    check_hostname = k.get("ssl-check-hostname", True)
    if not isinstance(check_hostname, bool):
        raise ConfigError(f"{file}: export.kafka.ssl-check-hostname must be true or false")
    options["ssl_check_hostname"] = check_hostname
    return KafkaExportSettings(
        bootstrap=tuple(bootstrap),
        topics=topics,
        partitions=reader.number(k, "export.kafka.partitions", 3, 1, 10_000),
        batch_max_events=reader.number(k, "export.kafka.batch-max-events", 10_000, 1, 1_000_000),
        client_options=options,
    )
