"""The `js7es` command line.

Every expected failure (bad input, a damaged journal, a missing directory) ends with a one-line message
on stderr and a non-zero exit: 1 when a check found a problem, 2 for bad usage or input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from js7es.domain.problem import ProblemError
from js7es.nodes.errors import CliError


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="js7es", description="Workload automation in the shape of JS7.")
    sub = parser.add_subparsers(metavar="COMMAND")

    for kind in ("controller", "agent"):
        node = sub.add_parser(kind, help=f"run a{'n' if kind == 'agent' else ''} {kind.capitalize()} node")
        node.add_argument("--config", type=Path, required=True, help="the node's TOML configuration file")
        node.add_argument("--insecure", action="store_true", help="plain HTTP without TLS (tests, demos)")
        node.set_defaults(run=_run_node, kind=kind)

    from js7es.nodes.standalone import add_standalone_command

    add_standalone_command(sub)

    journal = sub.add_parser("journal", help="offline tools for a journal directory")
    jsub = journal.add_subparsers(metavar="TOOL")
    verify = jsub.add_parser("verify", help="check hash chain, EventId order and decodability")
    verify.add_argument("directory", type=Path)
    verify.add_argument("--name", help="journal name when the directory holds several")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.add_argument(
        "--replay",
        action="store_true",
        help="also replay every event into the state (an inapplicable event is reported with its position)",
    )
    verify.set_defaults(run=_run_verify)
    replay = jsub.add_parser("replay", help="rebuild the state, print a summary and the state hash")
    replay.add_argument("directory", type=Path)
    replay.add_argument("--name")
    replay.add_argument("--no-progress", action="store_true")
    replay.set_defaults(run=_run_replay)
    dump = jsub.add_parser("dump", help="print the committed events")
    dump.add_argument("directory", type=Path)
    dump.add_argument("--name")
    dump.add_argument("--after", type=int, default=0, help="only events after this EventId")
    fmt = dump.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="fmt", action="store_const", const="json", help="JS7 Stamped JSON (default)")
    fmt.add_argument("--avro", dest="fmt", action="store_const", const="avro", help="Avro single-object, hex")
    dump.set_defaults(run=_run_dump, fmt="json")
    from js7es.nodes.certs import add_certs_command

    add_certs_command(sub)
    from js7es.nodes.exporter import add_export_command, add_schemas_command

    add_export_command(sub)
    add_schemas_command(sub)
    from js7es.nodes.ctl import add_ctl_command

    add_ctl_command(sub)
    from js7es.nodes.cockpit.command import add_cockpit_command

    add_cockpit_command(sub)
    from js7es.nodes.cluster_watch.command import add_cluster_watch_command

    add_cluster_watch_command(sub)
    return parser


def _journal_directory(path: Path) -> Path:
    if not path.is_dir():
        raise CliError(f"{path}: no such journal directory")
    from js7es.domain import events

    events.registered()  # the journal tools decode them
    return path


def _state_class(directory: Path, name: str | None) -> type[Any]:
    """The state a journal holds: the Agent's for a journal named ``agent``, else the Controller's."""
    from js7es.domain.agent.agent_state import AgentState
    from js7es.domain.state import ControllerState
    from js7es.journal.tools import journal_name

    return AgentState if journal_name(directory, name) == "agent" else ControllerState


def _run_verify(args: argparse.Namespace) -> int:
    from js7es.journal.tools import replay, verify

    directory = _journal_directory(args.directory)
    result = verify(directory, name=args.name)
    replayed = None
    if args.replay and result.ok:
        replayed = replay(directory, _state_class(directory, args.name), False, name=args.name)
    if args.json:
        print(json.dumps({**result.to_json(), **({"replay": replayed.to_json()} if replayed else {})}, indent=2))
    elif result.ok:
        tail = f"; a torn tail at byte {result.torn_tail.offset} will be cut" if result.torn_tail else ""
        print(
            f"OK: {result.segments} segment(s), {result.commits} commits, {result.events} events, "
            f"last EventId {result.last_event_id}{tail}"
        )
    if not result.ok:
        first = result.errors[0]
        print(
            f"js7es: journal damaged: {first.path} byte {first.offset} line {first.line}"
            f"{f' EventId {first.event_id}' if first.event_id is not None else ''}: {first.message}",
            file=sys.stderr,
        )
        return 1
    if replayed is not None:
        if not replayed.ok:
            print(f"js7es: journal does not replay: {replayed.problems[0]}", file=sys.stderr)
            return 1
        if not args.json:
            print(f"Replayed: {replayed.event_count} events into the state, state hash {replayed.state.state_hash()}")
    return 0


def _run_replay(args: argparse.Namespace) -> int:
    from js7es.journal.tools import replay

    directory = _journal_directory(args.directory)
    result = replay(directory, _state_class(directory, args.name), not args.no_progress, name=args.name)
    print(json.dumps(result.to_json(), indent=2))
    return 0 if result.ok else 1


def _run_dump(args: argparse.Namespace) -> int:
    from js7es.journal.tools import dump

    for line in dump(_journal_directory(args.directory), args.after, args.fmt, name=args.name):
        sys.stdout.write(line + "\n")
    return 0


def _run_node(args: argparse.Namespace) -> int:
    import logging

    from js7es.nodes.config import load_settings
    from js7es.nodes.server import run_agent, run_controller

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = load_settings(args.config, args.kind)
    run = run_controller if args.kind == "controller" else run_agent
    return run(settings, insecure=args.insecure)


if __name__ == "__main__":
    sys.exit(main())
