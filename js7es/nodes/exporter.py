"""`js7es export kafka`: follows a Controller's committed events and exports them to Kafka.

The Kafka side — record format, exactly-once resume, checkpoints — is js7es/projections/kafka_export.py.
This module is the Controller side and the loop:

- a reader thread follows ``GET /controller/api/event?after=…&timeout=…&heartbeat=…`` (mutual TLS with
  the exporter's client certificate) into a bounded queue, reconnecting (to the next ``--controller``
  URI in turn) when the Controller is lost; the heartbeat lines tell a silent stream from a dead one;
- the main loop takes what is queued (up to ``--batch`` events) and sends it to the broker; while the
  broker acknowledges that batch, it takes and sends the next one, then collects the older batch's
  acknowledgement (at most two batches in flight); a checkpoint follows what is acknowledged, and
  ``ReleaseEvents(untilEventId)`` to the Controller what is checkpointed;
- a broker failure closes the producer and starts over from `KafkaExporter.open()` (which re-reads
  the topic, so nothing is lost or duplicated), after a growing pause (up to 10 s);
- ``EventSeqTorn`` (the Controller released events the topic does not have) and ``UnknownEventId``
  (the topic is ahead of this Controller: another history) end the exporter with exit 1.

`run_export` is the whole loop; the Cockpit runs the same function in a thread per Controller
(js7es/nodes/cockpit/export.py), with its own `ReleaseTarget` and an `ExportStatus` for its overview.

The exporter's user must have the permissions ReadState and Command and be listed in the Controller's
``[journal] readers`` (js7es/nodes/config.py): then the Controller keeps journal segments until the
exporter has released them. A user not listed gets ``UnknownJournalReader``: the export goes on, with
a warning, but the Controller may release events before they are exported.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import queue
import signal
import ssl
import sys
import threading
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from js7es.domain.event import Stamped, timestamp_of
from js7es.domain.events import stamped_from_json
from js7es.domain.value import loads
from js7es.nodes.errors import CliError

logger = logging.getLogger("js7es.exporter")

PREFIX = "/controller/api"
STREAM_TIMEOUT_S = 55.0  # the Controller ends every stream after at most 60 s; we simply ask again
HEARTBEAT_S = 2.0
READ_TIMEOUT_S = 10.0  # no line (not even a heartbeat) for this long: the connection is dead
MAX_BACKOFF_S = 10.0
FATAL_PROBLEMS = frozenset({"EventSeqTorn", "UnknownEventId"})


class ExporterCliError(CliError, ValueError):
    """Bad usage or input: one line, exit 2."""


class ControllerProblem(Exception):
    """The Controller refused the stream for good (EventSeqTorn, UnknownEventId, unauthorized)."""


@dataclass(frozen=True, slots=True)
class ControllerConnection:
    uris: tuple[str, ...]
    ssl_context: ssl.SSLContext | None
    auth: tuple[str, str] | None = None

    def client(self, uri: str, read_timeout: float) -> Any:
        import httpx

        return httpx.Client(
            base_url=uri.rstrip("/"),
            verify=self.ssl_context if self.ssl_context is not None else False,
            auth=self.auth,
            timeout=httpx.Timeout(read_timeout, connect=5.0),
        )


class EventSource:
    """A thread following the Controller's events after `after` into a queue (Stamped lists, or an
    exception to raise in the consumer's thread)."""

    def __init__(self, connection: ControllerConnection, after: int, *, max_queued: int = 50_000) -> None:
        self.connection = connection
        self.after = after
        self.queue: queue.Queue[list[Stamped] | BaseException] = queue.Queue(maxsize=max(1, max_queued // 100))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="controller-events", daemon=True)

    def start(self) -> EventSource:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self.queue.get_nowait()  # unblock a full queue
        self._thread.join(timeout=READ_TIMEOUT_S + 5)

    def take(self, max_events: int, timeout: float) -> list[Stamped]:
        """Up to about `max_events` queued events, waiting up to `timeout` for the first ones."""
        out: list[Stamped] = []
        try:
            item = self.queue.get(timeout=timeout)
            while True:
                if isinstance(item, BaseException):
                    if out:  # deliver what came before the failure first
                        self.queue.queue.appendleft(item)
                        return out
                    raise item
                out.extend(item)
                if len(out) >= max_events:
                    return out
                item = self.queue.get_nowait()
        except queue.Empty:
            return out

    def _put(self, item: list[Stamped] | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self.queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        import httpx

        failures = 0
        index = 0
        uris = self.connection.uris
        while not self._stop.is_set():
            uri = uris[index % len(uris)]
            try:
                with self.connection.client(uri, READ_TIMEOUT_S) as client:
                    self._follow(client)
                failures = 0
            except ControllerProblem as e:
                self._put(e)
                return
            except (httpx.HTTPError, OSError, ValueError) as e:
                failures += 1
                index += 1
                pause = min(MAX_BACKOFF_S, 0.2 * 2 ** min(failures, 6))
                logger.warning("Controller %s: %s: %s; next try in %.1f s", uri, type(e).__name__, e, pause)
                self._stop.wait(pause)

    def _follow(self, client: Any) -> None:
        params = {"after": str(self.after), "timeout": str(STREAM_TIMEOUT_S), "heartbeat": str(HEARTBEAT_S)}
        with client.stream("GET", f"{PREFIX}/event", params=params) as response:
            if response.status_code != 200:
                response.read()
                raise _problem_of(response)
            rest = b""
            for chunk in response.iter_raw():
                if self._stop.is_set():
                    return
                lines = (rest + chunk).split(b"\n")
                rest = lines.pop()
                batch = decode_event_lines(lines)
                if batch:
                    self.after = batch[-1].event_id
                    self._put(batch)


_json_decoder = json.JSONDecoder(parse_float=Decimal)  # as js7es.domain.value.loads


def decode_event_lines(lines: Sequence[bytes]) -> list[Stamped]:
    """The events of ndjson lines (empty lines are heartbeats): one JSON parse for all of them, as an
    array, instead of one parse per line; a bad line is reported as `loads` reports it."""
    texts = [line for line in lines if line.strip()]
    if not texts:
        return []
    try:
        objects = _json_decoder.decode("[" + b",".join(texts).decode() + "]")
    except ValueError:
        objects = None
    if not isinstance(objects, list) or len(objects) != len(texts):
        objects = [loads(text) for text in texts]  # raises for the first bad line
    return [stamped_from_json(obj) for obj in objects]


def _problem_of(response: Any) -> Exception:
    import httpx

    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else response.text[:200]
    if code in FATAL_PROBLEMS or response.status_code in (401, 403):
        return ControllerProblem(f"{code or f'HTTP {response.status_code}'}: {message}")
    return httpx.HTTPStatusError(f"HTTP {response.status_code}: {code}: {message}", request=None, response=response)  # type: ignore[arg-type]


class ReleaseTarget(Protocol):
    """Where the exporter says how far the topic holds the Controller's events (checkpointed)."""

    def release(self, until: int, *, force: bool = False) -> None: ...


class Releaser:
    """Sends ReleaseEvents(until) to the Controller, at most every `interval_s`, never backwards."""

    def __init__(self, connection: ControllerConnection, interval_s: float = 1.0) -> None:
        self.connection = connection
        self.interval_s = interval_s
        self.released = 0
        self._at = float("-inf")
        self._warned: set[str] = set()
        self._index = 0
        self._client: Any = None  # kept open: no TLS handshake per release

    def release(self, until: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if until <= self.released or (not force and now - self._at < self.interval_s):
            return
        self._at = now
        uri = self.connection.uris[self._index % len(self.connection.uris)]
        try:
            if self._client is None:
                self._client = self.connection.client(uri, 10.0)
            response = self._client.post(f"{PREFIX}/command", json={"TYPE": "ReleaseEvents", "untilEventId": until})
        except Exception as e:
            self.close()
            self._index += 1
            logger.warning("ReleaseEvents(%d) to %s: %s: %s", until, uri, type(e).__name__, e)
            return
        if response.status_code == 200:
            self.released = until
            return
        try:
            code = response.json().get("code", "")
        except ValueError:
            code = ""
        if code not in self._warned:
            self._warned.add(code)
            logger.warning(
                "ReleaseEvents(%d) refused: HTTP %d %s (list the exporter's user in the Controller's "
                "[journal] readers so that it keeps events until they are exported)",
                until,
                response.status_code,
                response.text[:300],
            )
        if response.status_code >= 500:  # e.g. a passive cluster node: try the other one next time
            self.close()
            self._index += 1

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()


@dataclass(slots=True)
class ExportStatus:
    """What the exporter is doing, for an overview (the Cockpit's GET /cockpit/api); written by the
    export loop's thread, read by others (each field on its own)."""

    topic: str
    state: str = "Starting"  # Starting | Exporting | Retrying | Stopped | Failed
    event_id: int = 0  # every event up to this one is acknowledged by the broker
    checkpointed_event_id: int = 0  # ... and a checkpoint saying so too (what may be released)
    controller_event_id: int = 0  # the last event read from the Controller
    events_exported: int = 0  # since this process started (a batch resent after a crash counts again)
    restarts: int = 0
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        behind = self.controller_event_id > self.event_id
        lag_ms = timestamp_of(self.controller_event_id) - timestamp_of(self.event_id) if behind else 0
        out: dict[str, Any] = {
            "state": self.state,
            "topic": self.topic,
            "eventId": self.event_id,
            "checkpointedEventId": self.checkpointed_event_id,
            "controllerEventId": self.controller_event_id,
            # how much older the last acknowledged event is than the last one read from the Controller
            "lagSeconds": lag_ms / 1000,
            "eventsExported": self.events_exported,
            "restarts": self.restarts,
        }
        if self.problem:
            out["problem"] = self.problem
        return out


def run_export(
    connection: ControllerConnection,
    bootstrap: Sequence[str],
    topic: str,
    *,
    options: dict[str, Any],
    partitions: int = 3,
    batch: int = 10_000,
    stop: threading.Event | None = None,
    releaser: ReleaseTarget | None = None,
    status: ExportStatus | None = None,
) -> int:
    """The exporter's loop until `stop` is set; returns 0 then, or 1 on a problem a restart does not
    cure (the Controller refused the stream, the topic's layout changed: `status.problem` says which).
    Broker failures are retried from `KafkaExporter.open()`, after a growing pause."""
    from js7es.projections.kafka_export import ExportConfigError, ExportError, KafkaExporter

    stop = stop or threading.Event()
    status = status or ExportStatus(topic)
    exporter = KafkaExporter(bootstrap, topic, options=options, partitions=partitions)
    own_releaser = Releaser(connection) if releaser is None else None
    release = releaser or own_releaser
    assert release is not None
    failures = 0
    try:
        while not stop.is_set():
            source: EventSource | None = None
            try:
                point = exporter.open()
                status.event_id = status.checkpointed_event_id = point.watermark
                release.release(point.watermark, force=True)
                source = EventSource(connection, point.after).start()
                status.state = "Exporting"
                status.problem = None
                failures = 0
                while not stop.is_set():
                    # While the broker acknowledges one batch, the next one is taken and sent.
                    events = source.take(batch, timeout=0.5 if not exporter.in_flight else 0.005)
                    exporter.send(events)
                    status.events_exported += len(events)
                    status.event_id = exporter.collect(keep=1 if events else 0)
                    status.controller_event_id = source.after
                    status.checkpointed_event_id = exporter.checkpoint(wait=False)
                    release.release(status.checkpointed_event_id)
                status.event_id = exporter.collect()
                status.checkpointed_event_id = exporter.checkpoint(force=True)
                release.release(status.checkpointed_event_id, force=True)
            except ControllerProblem as e:
                status.state, status.problem = "Failed", f"the Controller refused the event stream: {e}"
                logger.error("%s", status.problem)
                return 1
            except ExportConfigError as e:
                status.state, status.problem = "Failed", str(e)
                logger.error("%s", e)
                return 1
            except ExportError as e:
                failures += 1
                status.restarts += 1
                pause = min(MAX_BACKOFF_S, 0.5 * 2 ** min(failures, 5))
                status.state, status.problem = "Retrying", str(e)
                logger.warning("%s; starting over in %.1f s", e, pause)
                exporter.close()
                stop.wait(pause)
            finally:
                if source is not None:
                    source.stop()
        status.state = "Stopped"
        return 0
    finally:
        exporter.close()
        if own_releaser is not None:
            own_releaser.close()


# ----------------------------------------------------------------------------------------------- CLI


def _connection(args: argparse.Namespace) -> ControllerConnection:
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
    auth = None
    if args.user:
        password = os.environ.get("JS7ES_PASSWORD")
        if password is None:
            raise ExporterCliError("--user needs the password in the environment variable JS7ES_PASSWORD")
        auth = (args.user, password)
    return ControllerConnection(tuple(uris), context, auth)


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


def _run_export_kafka(args: argparse.Namespace) -> int:
    connection = _connection(args)
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


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def add_export_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = subparsers.add_parser("export", help="export the Controller's events (to Kafka)")
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
    k.add_argument("--partitions", type=_positive, default=3, help="partitions of a topic created (default 3)")
    k.add_argument("--batch", type=_positive, default=10_000, help="events per produce batch (default 10000)")
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
    k.set_defaults(run=_run_export_kafka)
