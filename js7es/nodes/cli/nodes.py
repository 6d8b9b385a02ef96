"""``js7es controller --config FILE``, ``js7es agent --config FILE`` and ``js7es subagent --config FILE``:
run a node."""

from __future__ import annotations

import argparse
from pathlib import Path

from js7es.nodes.cli.types import Subparsers


def register(sub: Subparsers) -> None:
    for kind in ("controller", "agent", "subagent"):
        node = sub.add_parser(kind, help=f"run a{'n' if kind == 'agent' else ''} {kind.capitalize()} node")
        node.add_argument("--config", type=Path, required=True, help="the node's TOML configuration file")
        node.add_argument("--insecure", action="store_true", help="plain HTTP without TLS (tests, demos)")
        node.set_defaults(run=_run_node, kind=kind)


def _run_node(args: argparse.Namespace) -> int:
    import logging

    from js7es.nodes.config import load_settings
    from js7es.nodes.server import run_agent, run_controller, run_subagent

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = load_settings(args.config, args.kind)
    run = {"controller": run_controller, "agent": run_agent, "subagent": run_subagent}[args.kind]
    return run(settings, insecure=args.insecure)
