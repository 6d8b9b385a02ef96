"""What ``js7es cockpit`` runs (registered by js7es/nodes/cli/cockpit.py): the Cockpit, the migration of
its database, the rebuild of a Controller's read model, the digest of its tables."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Iterator
from typing import Any

from js7es.domain.event import Stamped
from js7es.domain.events import stamped_from_json
from js7es.domain.value import loads
from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.client.http import HttpOptions, ndjson_lines
from js7es.nodes.cockpit.config import CockpitSettings, load_cockpit_settings
from js7es.nodes.errors import CliError
from js7es.nodes.tls import client_ssl_context


def _settings(args: argparse.Namespace) -> CockpitSettings:
    if getattr(args, "config", None) is None:
        raise CliError("--config FILE is required")
    return load_cockpit_settings(args.config)


def run(args: argparse.Namespace) -> int:
    from js7es.nodes.cockpit.server import run_cockpit

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("kafka").setLevel(logging.ERROR)  # [export.kafka]: kafka-python logs every reconnect
    return run_cockpit(_settings(args), insecure=args.insecure)


def run_migrate(args: argparse.Namespace) -> int:
    from js7es.nodes.cockpit.server import open_projector

    projector = open_projector(_settings(args))
    from js7es.projections.cockpit.database import current_revision

    print(json.dumps({"database": projector.engine.dialect.name, "revision": current_revision(projector.engine)}))
    projector.engine.dispose()
    return 0


def run_rebuild(args: argparse.Namespace) -> int:
    from js7es.nodes.cockpit.server import cockpit_tls, open_projector
    from js7es.projections.cockpit.rebuild import journal_events, rebuild

    settings = _settings(args)
    connection = settings.controller(args.controller)
    projector = open_projector(settings)
    events: Iterator[Stamped]
    if args.journal is not None:
        if not args.journal.is_dir():
            raise CliError(f"{args.journal}: no such journal directory")
        events = journal_events(args.journal)
        source = str(args.journal)
    else:
        tls = cockpit_tls(settings, getattr(args, "insecure", False))
        events = stream_events(connection, client_ssl_context(tls) if tls is not None else None)
        source = connection.uris[0]
    result = rebuild(
        projector,
        connection.controller_id,
        events,
        batch_size=settings.projection.rebuild_batch_events,
        progress=not args.no_progress,
    )
    print(
        json.dumps(
            {
                "controller": connection.controller_id,
                "source": source,
                "events": result.events,
                "eventId": result.event_id,
                "seconds": round(result.seconds, 3),
                "eventsPerSecond": round(result.events_per_second),
            }
        )
    )
    projector.engine.dispose()
    return 0


def stream_events(connection: ControllerConnection, ssl_context: Any, *, chunk: int = 10_000) -> Iterator[Stamped]:
    """The Controller's events from the first one up to the last committed one, in chunks."""
    auth = connection.basic_auth if connection.user and connection.password else None
    after = 0
    with HttpOptions(verify=ssl_context or True, auth=auth, timeout_s=60).sync_client(connection.uris[0]) as client:
        while True:
            response = client.get("/controller/api/event", params={"after": after, "timeout": 0, "limit": chunk})
            if response.status_code != 200:
                answer = f"{response.status_code}: {response.text[:500]}"
                raise CliError(f"{connection.uris[0]}: the event stream answered {answer}")
            got = 0
            for line in ndjson_lines(response.content):
                stamped = stamped_from_json(loads(line))
                after = stamped.event_id
                got += 1
                yield stamped
            if got == 0:
                return


def run_digest(args: argparse.Namespace) -> int:
    from js7es.nodes.cockpit.server import open_projector
    from js7es.projections.cockpit.database import table_digests

    settings = _settings(args)
    connection = settings.controller(args.controller)
    projector = open_projector(settings)
    print(json.dumps(table_digests(projector.engine, connection.controller_id), indent=2))
    projector.engine.dispose()
    return 0
