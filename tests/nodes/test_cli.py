"""The js7es command line on real directories, as a user runs it (a subprocess each)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def js7es(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("standalone")
    first = js7es("standalone", "--data-dir", str(directory))
    assert first.returncode == 0, first.stderr
    assert "Deployed the sample workflow 'hello'" in first.stdout
    return directory


def journal_dir(data_dir: Path) -> Path:
    return data_dir / "controller" / "state"


def test_standalone_resumes_where_it_was(data_dir: Path) -> None:
    again = js7es("standalone", "--data-dir", str(data_dir))
    assert again.returncode == 0, again.stderr
    assert "Deployed" not in again.stdout
    assert '"workflows": 1' in again.stdout


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
