"""The `js7es` command line (``js7es`` console script, ``python -m js7es.nodes.cli``).

Each subcommand is registered by a light module of this package — argparse and the standard library
only — and imports what it runs (a node, the Cockpit, the exporter, the journal tools, a client) when
it runs: start-up time is a feature (``js7es ctl overview`` needs neither SQLAlchemy nor uvicorn).
tests/nodes/test_cli_imports.py checks it.

Every expected failure (bad input, a damaged journal, a missing directory) ends with a one-line message
on stderr and a non-zero exit: 1 when a check found a problem, 2 for bad usage or input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from js7es.domain.problem import ProblemError
from js7es.nodes.cli import certs, cluster_watch, cockpit, ctl, export, journal, nodes, schemas, standalone
from js7es.nodes.errors import CliError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return command(args)
    except (CliError, ProblemError, FileNotFoundError, NotADirectoryError, PermissionError, ValueError) as e:
        print(f"js7es: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: every subcommand registered, nothing heavy imported."""
    parser = argparse.ArgumentParser(prog="js7es", description="Workload automation in the shape of JS7.")
    sub = parser.add_subparsers(metavar="COMMAND")
    nodes.register(sub)
    standalone.register(sub)
    journal.register(sub)
    certs.register(sub)
    export.register(sub)
    schemas.register(sub)
    ctl.register(sub)
    cockpit.register(sub)
    cluster_watch.register(sub)
    return parser
