"""``js7es cluster-watch --config FILE [--insecure]``: run the Cluster Watch."""

from __future__ import annotations

import argparse
from pathlib import Path

from js7es.nodes.cli.types import Subparsers


def register(sub: Subparsers) -> None:
    watch = sub.add_parser(
        "cluster-watch", help="run the Cluster Watch, the arbiter of a Controller cluster's node losses"
    )
    watch.add_argument("--config", type=Path, required=True, help="the Cluster Watch's TOML configuration file")
    watch.add_argument("--insecure", action="store_true", help="plain HTTP without TLS (tests, demos)")
    watch.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    import logging

    from js7es.nodes.cluster_watch.config import load_cluster_watch_settings
    from js7es.nodes.cluster_watch.server import run_cluster_watch

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_cluster_watch(load_cluster_watch_settings(args.config), insecure=args.insecure)
