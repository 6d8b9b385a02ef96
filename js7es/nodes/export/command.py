"""What ``js7es export kafka`` runs (registered by js7es/nodes/cli/export.py): the options checked, the
exporter's loop (run.py) until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import ssl
import sys
import threading
import tomllib
from pathlib import Path
from typing import Any

from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.errors import CliError
from js7es.nodes.export.run import ExportStatus, run_export


class ExporterCliError(CliError, ValueError):
    """Bad usage or input: one line, exit 2."""


def _connection(args: argparse.Namespace) -> tuple[ControllerConnection, ssl.SSLContext | None]:
    """The Controller and the exporter's TLS context (its client certificate)."""
    from js7es.nodes.tls import TlsConfig, client_ssl_context

    uris: list[str] = list(args.controller or [])
    ca, cert, key = args.ca, args.cert, args.key
    if args.data_dir is not None:
        config_file = args.data_dir / "controller" / "controller.toml"
        if not config_file.is_file():
            raise ExporterCliError(f"{args.data_dir}: not a js7es standalone data directory (no {config_file})")
        if not uris:
            try:
                http = tomllib.loads(config_file.read_text())["http"]
                uris = [f"https://{http.get('host', '127.0.0.1')}:{int(http['port'])}"]
            except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as e:
                raise ExporterCliError(f"{config_file}: no [http] port ({e})") from e
        certs = args.data_dir / "certs"
        ca = ca or certs / "ca" / "ca.crt"
        cert = cert or certs / "cli" / "node.crt"
        key = key or certs / "cli" / "node.key"
    if not uris:
        raise ExporterCliError("no Controller given: use --controller URI (or --data-dir of a js7es standalone)")
    for uri in uris:
        if not uri.startswith(("https://", "http://")) or len(uri.split("//", 1)[1]) == 0:
            raise ExporterCliError(f"--controller {uri!r}: expected https://HOST:PORT")
    context = None
    if any(u.startswith("https://") for u in uris):
        if not (ca and cert and key):
            raise ExporterCliError("an https Controller needs --ca, --cert and --key (or --data-dir)")
        missing = [str(p) for p in (ca, cert, key) if not Path(p).is_file()]
        if missing:
            raise ExporterCliError(f"missing TLS file(s): {', '.join(missing)}")
        try:
            context = client_ssl_context(TlsConfig(cert_file=Path(cert), key_file=Path(key), ca_file=Path(ca)))
        except (ssl.SSLError, OSError) as e:
            raise ExporterCliError(f"TLS files {cert}, {key}, {ca}: {e}") from e
    password = None
    if args.user:
        password = os.environ.get("JS7ES_PASSWORD")
        if password is None:
            raise ExporterCliError("--user needs the password in the environment variable JS7ES_PASSWORD")
    return ControllerConnection(uris=tuple(uris), user=args.user or None, password=password), context


def _bootstrap(text: str) -> list[str]:
    servers = [s.strip() for s in text.split(",") if s.strip()]
    for server in servers:
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ExporterCliError(f"--bootstrap {server!r}: expected HOST:PORT")
    if not servers:
        raise ExporterCliError("--bootstrap: expected HOST:PORT[,HOST:PORT...]")
    return servers


def _kafka_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {
        "security_protocol": args.security_protocol,
        "sasl_mechanism": args.sasl_mechanism,
        "sasl_plain_username": args.sasl_username,
        "sasl_plain_password": os.environ.get("JS7ES_SASL_PASSWORD") if args.sasl_username else None,
        "ssl_cafile": args.ssl_cafile,
        "ssl_certfile": args.ssl_certfile,
        "ssl_keyfile": args.ssl_keyfile,
        "ssl_check_hostname": False if args.ssl_no_check_hostname else None,
    }
    if args.sasl_username and options["sasl_plain_password"] is None:
        raise ExporterCliError("--sasl-username needs the password in the environment variable JS7ES_SASL_PASSWORD")
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        if options[name] is not None and not Path(options[name]).is_file():
            raise ExporterCliError(f"--{name.replace('_', '-')} {options[name]}: no such file")
    return {k: v for k, v in options.items() if v is not None}


def run(args: argparse.Namespace) -> int:
    connection, ssl_context = _connection(args)
    bootstrap = _bootstrap(args.bootstrap)
    if not args.topic or any(c in args.topic for c in " /\\") or len(args.topic) > 200:
        raise ExporterCliError(f"--topic {args.topic!r}: not a valid topic name")
    options = _kafka_options(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING if noisy != "kafka" else logging.ERROR)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    status = ExportStatus(args.topic)
    code = run_export(
        connection,
        ssl_context,
        bootstrap,
        args.topic,
        options=options,
        partitions=args.partitions,
        batch=args.batch,
        stop=stop,
        status=status,
    )
    if code != 0:
        print(f"js7es: {status.problem}", file=sys.stderr)
    return code
