"""``js7es journal verify|replay|dump DIR``: offline tools for a journal directory (js7es.journal.tools)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from js7es.nodes.cli.types import Subparsers
from js7es.nodes.errors import CliError


def register(sub: Subparsers) -> None:
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
