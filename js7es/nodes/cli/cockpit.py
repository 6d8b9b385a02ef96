"""``js7es cockpit``: run the Cockpit, migrate its database, rebuild its read model, print table digests
(what runs: js7es/nodes/cockpit/command.py).

    js7es cockpit --config FILE [--insecure]
    js7es cockpit migrate --config FILE
    js7es cockpit rebuild --config FILE [--controller ID] [--journal DIR] [--no-progress]
    js7es cockpit digest --config FILE [--controller ID]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from js7es.nodes.cli.types import Subparsers


def register(sub: Subparsers) -> None:
    cockpit = sub.add_parser("cockpit", help="run the Cockpit (read side), or migrate/rebuild its database")
    cockpit.add_argument("--config", type=Path, help="the Cockpit's TOML configuration file")
    cockpit.add_argument("--insecure", action="store_true", help="plain HTTP without TLS (tests, demos)")
    cockpit.set_defaults(run=_run)
    tools = cockpit.add_subparsers(metavar="TOOL")
    migrate = tools.add_parser("migrate", help="apply the database migrations, print the revision")
    migrate.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    migrate.set_defaults(run=_migrate)
    rebuild = tools.add_parser("rebuild", help="drop a Controller's read model and replay it from the start")
    rebuild.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    rebuild.add_argument("--controller", help="the Controller id (default: the only one configured)")
    rebuild.add_argument("--journal", type=Path, help="replay this journal directory instead of the event stream")
    rebuild.add_argument("--insecure", action="store_true", default=argparse.SUPPRESS)
    rebuild.add_argument("--no-progress", action="store_true")
    rebuild.set_defaults(run=_rebuild)
    digest = tools.add_parser("digest", help="print a digest of every table of a Controller's read model")
    digest.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    digest.add_argument("--controller")
    digest.set_defaults(run=_digest)


def _run(args: argparse.Namespace) -> int:
    from js7es.nodes.cockpit.command import run

    return run(args)


def _migrate(args: argparse.Namespace) -> int:
    from js7es.nodes.cockpit.command import run_migrate

    return run_migrate(args)


def _rebuild(args: argparse.Namespace) -> int:
    from js7es.nodes.cockpit.command import run_rebuild

    return run_rebuild(args)


def _digest(args: argparse.Namespace) -> int:
    from js7es.nodes.cockpit.command import run_digest

    return run_digest(args)
