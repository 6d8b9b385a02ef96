"""``js7es standalone [--data-dir DIR]``: a Controller, an Agent and the Cockpit on one data directory
(what runs: js7es/nodes/standalone/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from js7es.nodes.cli.types import Subparsers, port
from js7es.nodes.standalone.layout import DEFAULT_AGENT_PORT, DEFAULT_CONTROLLER_PORT


def register(sub: Subparsers) -> None:
    standalone = sub.add_parser("standalone", help="run a Controller and an Agent on one data directory")
    standalone.add_argument("--data-dir", type=Path, default=Path("js7es-data"), help="default: ./js7es-data")
    standalone.add_argument(
        "--controller-port",
        type=port,
        help=f"the Controller's port on the first start (default {DEFAULT_CONTROLLER_PORT})",
    )
    standalone.add_argument(
        "--agent-port", type=port, help=f"the Agent's port on the first start (default {DEFAULT_AGENT_PORT})"
    )
    standalone.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from js7es.nodes.standalone.supervisor import run_standalone

    return run_standalone(args.data_dir, controller_port=args.controller_port, agent_port=args.agent_port)
