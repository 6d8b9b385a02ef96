"""The js7es command line on real directories, as a user runs it (a subprocess each)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.commands import execute
from js7es.domain.commands.items import UpdateItems
from js7es.domain.order.context import Context
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json
from js7es.journal.file import FileJournal
from js7es.nodes.standalone.samples import sample_items


def js7es(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Controller journal with the standalone's sample items, made in-process through the domain's
    command -> event loop (`js7es standalone` itself runs the nodes: tests/nodes/test_standalone.py)."""
    directory = tmp_path_factory.mktemp("journal")
    state_dir = journal_dir(directory)
    state_dir.mkdir(parents=True)
    operations: list[dict[str, Any]] = [{"TYPE": "AddVersion", "versionId": "v1"}]
    operations += [{"TYPE": "AddOrChangeSimple", "item": item} for item in sample_items(4445)]
    decided = execute(
        ControllerState(),
        UpdateItems(operations=tuple(value_from_json(o) for o in operations)),
        Context(now_ms=int(time.time() * 1000)),
    )
    assert not isinstance(decided, Problem), decided
    journal = FileJournal.open(state_dir, name="controller")
    try:
        journal.persist_sync(list(decided.events))
    finally:
        journal.close()
    return directory


def journal_dir(data_dir: Path) -> Path:
    return data_dir / "controller" / "state"


def test_verify_replay_dump(data_dir: Path) -> None:
    verify = js7es("journal", "verify", str(journal_dir(data_dir)))
    assert verify.returncode == 0 and verify.stdout.startswith("OK: 1 segment(s)"), verify
    replay = js7es("journal", "replay", "--no-progress", str(journal_dir(data_dir)))
    assert replay.returncode == 0, replay.stderr
    result = json.loads(replay.stdout)
    assert result["ok"] and result["summary"]["workflows"] == 1 and len(result["stateHash"]) == 64
    dump = js7es("journal", "dump", str(journal_dir(data_dir)))
    lines = [json.loads(line) for line in dump.stdout.splitlines()]
    assert [e["TYPE"] for e in lines] == [
        "VersionAdded",
        "UnsignedSimpleItemAdded",
        "UnsignedSimpleItemAdded",
        "VersionedItemAdded",
    ]
    after = js7es("journal", "dump", "--after", str(lines[1]["eventId"]), str(journal_dir(data_dir)))
    assert [json.loads(x)["eventId"] for x in after.stdout.splitlines()] == [e["eventId"] for e in lines[2:]]


def test_verify_reports_a_flipped_byte_with_its_position(data_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "state"
    copy.mkdir()
    (segment,) = journal_dir(data_dir).glob("*.journal")
    data = bytearray(segment.read_bytes())
    offset = data.index(b'"VersionedItemAdded"') + 3
    data[offset] ^= 0x01
    (copy / segment.name).write_bytes(bytes(data))
    result = js7es("journal", "verify", str(copy))
    assert result.returncode == 1
    assert "journal damaged" in result.stderr and "byte" in result.stderr
    assert "Traceback" not in result.stderr
    as_json = js7es("journal", "verify", "--json", str(copy))
    error = json.loads(as_json.stdout)["errors"][0]
    line_start = data.rindex(b"\n", 0, offset) + 1
    assert error["offset"] <= line_start  # the commit holding the flipped byte, not later


@pytest.mark.parametrize(
    "args",
    [
        ("journal", "verify", "/nonexistent/dir"),
        ("journal", "replay", "/nonexistent/dir"),
        ("journal", "dump", "--after", "x", "/tmp"),
        ("journal",),
        (),
    ],
)
def test_bad_input_gets_a_message_and_a_non_zero_exit(args: tuple[str, ...]) -> None:
    result = js7es(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip()


def test_the_parser_loads_no_database_stack() -> None:
    """Every node start and every `js7es ctl` builds the whole parser: SQLAlchemy and Alembic (a third of
    a second of imports) load only when a Cockpit command runs (house rule 18)."""
    code = (
        "import sys, js7es.nodes.cli as c; c.build_parser(); print(sorted({'sqlalchemy', 'alembic'} & {*sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stdout
