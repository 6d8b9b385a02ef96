"""argparse types and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from typing import TypeAlias

# What `add_subparsers` returns: every subcommand module registers itself on it.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def port(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {number}")
    return number


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def usage(parser: argparse.ArgumentParser) -> int:
    """For a command given without its subcommand: the help, exit 2."""
    parser.print_help(sys.stderr)
    return 2
