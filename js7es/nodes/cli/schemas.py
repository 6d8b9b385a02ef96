"""``js7es schemas check [--root DIR]``: whether schemas/ still equals what the event classes generate
and every version reads its predecessor's data (js7es.journal.avro.check); exit 1 if not."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from js7es.nodes.cli.types import Subparsers
from js7es.nodes.errors import CliError


def register(sub: Subparsers) -> None:
    schemas = sub.add_parser("schemas", help="the Avro event schemas (schemas/)")
    ssub = schemas.add_subparsers(metavar="TOOL")
    check = ssub.add_parser(
        "check",
        help="exit 1 when the schemas differ from the code or a version cannot read its predecessor's data",
        description="The same check as `python -m js7es.journal.avro --check`.",
    )
    check.add_argument("--root", type=Path, help="the schemas directory (default: the one of this js7es)")
    check.set_defaults(run=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    from js7es.journal.avro import SCHEMAS_DIR, check

    root: Path = args.root or SCHEMAS_DIR
    if not root.is_dir():
        raise CliError(f"{root}: no such schemas directory")
    problems = check(root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{root}: up to date, every version reads its predecessor's data")
    return 1 if problems else 0
