"""``js7es export kafka``: follow a Controller's committed events and produce them to a Kafka topic (what
runs: js7es/nodes/export/command.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from js7es.nodes.cli.types import Subparsers, positive


def register(sub: Subparsers) -> None:
    export = sub.add_parser("export", help="export the Controller's events (to Kafka)")
    esub = export.add_subparsers(metavar="TARGET")
    k = esub.add_parser(
        "kafka",
        help="follow the Controller's events and produce them to a Kafka topic (Avro, exactly once)",
        description=(
            "Follows the Controller's committed events and produces them to a Kafka topic: Avro single-object "
            "values, the order id as key, headers eventId (decimal string) and type. Resumes exactly after "
            "the last event in the topic. Runs until SIGTERM/SIGINT. Exit codes: 0 stopped, 1 the Controller "
            "or the topic refused (e.g. EventSeqTorn), 2 bad usage."
        ),
    )
    k.add_argument("--controller", nargs="+", metavar="URI", help="the Controller(s), e.g. https://host:4444")
    k.add_argument("--bootstrap", required=True, metavar="HOST:PORT[,...]", help="Kafka bootstrap servers")
    k.add_argument("--topic", required=True, help="the topic (created with --partitions when missing)")
    k.add_argument("--partitions", type=positive, default=3, help="partitions of a topic created (default 3)")
    k.add_argument("--batch", type=positive, default=10_000, help="events per produce batch (default 10000)")
    k.add_argument("--data-dir", type=Path, help="a js7es standalone data directory: its Controller and cli cert")
    k.add_argument("--ca", type=Path, help="the CA certificate that signed the Controller's certificate")
    k.add_argument("--cert", type=Path, help="the exporter's client certificate")
    k.add_argument("--key", type=Path, help="the client certificate's key")
    k.add_argument("--user", help="log in with this user (password in JS7ES_PASSWORD) instead of the certificate")
    kafka_group = k.add_argument_group("Kafka client security (passed to kafka-python)")
    kafka_group.add_argument("--security-protocol", choices=["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"])
    kafka_group.add_argument("--sasl-mechanism", choices=["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"])
    kafka_group.add_argument("--sasl-username", help="the SASL user (password in JS7ES_SASL_PASSWORD)")
    kafka_group.add_argument("--ssl-cafile", help="CA file for the brokers' certificates")
    kafka_group.add_argument("--ssl-certfile", help="client certificate for the brokers")
    kafka_group.add_argument("--ssl-keyfile", help="its key")
    kafka_group.add_argument("--ssl-no-check-hostname", action="store_true", help="do not check broker host names")
    k.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from js7es.nodes.export.command import run

    return run(args)
