"""FileJournal specifics: the exact bytes, torn tails, corruption, I/O failure, reading from files."""

from __future__ import annotations

import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from js7es.domain.event import KeyedEvent, Stamped, stamped_to_json
from js7es.domain.problem import Problem
from js7es.domain.value import dumps as value_dumps
from js7es.journal import FileJournal, JournalCorruptError, JournalError
from js7es.journal import file as file_module
from js7es.journal.format import chain, event_body, event_line, list_segments
from js7es.journal.tools import verify
from tests.journal import support
from tests.journal.support import FakeClock, counted


def open_journal(directory: Path, **kwargs: object) -> FileJournal:
    return FileJournal.open(directory, clock=FakeClock(), **kwargs)  # type: ignore[arg-type]


def only_segment(directory: Path) -> Path:
    [(_, path)] = list_segments(directory, "controller")
    return path


@pytest.mark.parametrize(("timestamp", "key"), [(1_700_000_000_000, "order:1"), (1_700_000_000_001, ""), (5, 'ä"\\')])
def test_event_line_equals_stamped_json(timestamp: int, key: str) -> None:
    stamped = Stamped(1_700_000_000_000_007, timestamp, key, support.TestCounted(delta=-3))
    line = event_line(stamped.event_id, stamped.timestamp_ms, stamped.key, event_body(stamped.event))
    assert line == value_dumps(stamped_to_json(stamped)) + "\n"


def test_file_layout(tmp_path: Path) -> None:
    with open_journal(tmp_path) as journal:
        journal.persist_sync([counted("a"), counted("b")])
        journal.persist_sync([counted("c")])
    lines = only_segment(tmp_path).read_bytes().decode().splitlines()
    assert lines[0].startswith('{"TYPE":"JS7.Journal","typeName":"controller","journalId":')
    assert lines[1:3] == ['"-------SNAPSHOT-------"', '"-------END OF SNAPSHOT-------"']
    assert lines[3].startswith('{"TYPE":"SnapshotCommit","eventId":0,"count":0,"hash":')
    assert lines[4] == '"-------EVENTS-------"'
    assert [line[:16] for line in lines[5:]] == ['{"eventId":17000'] * 2 + ['{"TYPE":"Commit"'] + [
        '{"eventId":17000',
        '{"TYPE":"Commit"',
    ]
    assert '"count":2' in lines[7] and '"count":1' in lines[9]


def test_decimal_values_round_trip(tmp_path: Path) -> None:
    with open_journal(tmp_path) as journal:
        journal.persist_sync([KeyedEvent("k", support.TestCounted(delta=1))])
        journal.take_snapshot([{"TYPE": "X", "n": Decimal("1.5")}], at_event_id=journal.last_event_id)
    with open_journal(tmp_path) as journal:
        assert journal.recovered.snapshot == [{"TYPE": "X", "n": Decimal("1.5")}]


def _write_commits(directory: Path, n: int) -> list[list[Stamped]]:
    with open_journal(directory) as journal:
        return [journal.persist_sync([counted(f"k{i}", j) for j in range(1 + i % 3)]) for i in range(n)]


def test_torn_tail_at_every_byte_of_the_last_commits(tmp_path: Path) -> None:
    original = tmp_path / "original"
    commits = _write_commits(original, 6)
    data = only_segment(original).read_bytes()
    # the byte offsets where commits end: after each commit line
    ends = [i + 1 for i in range(len(data)) if data[i : i + 1] == b"\n"]
    commit_ends = [e for e in ends if data[: e - 1].rsplit(b"\n", 1)[-1].startswith(b'{"TYPE":"Commit"')]
    assert len(commit_ends) == 6
    work = tmp_path / "work"
    for cut in range(commit_ends[3], len(data)):  # every byte of the last two commits
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        (work / only_segment(original).name).write_bytes(data[:cut])
        complete = sum(1 for e in commit_ends if e <= cut)
        with open_journal(work) as journal:
            expected = [s for c in commits[:complete] for s in c]
            assert journal.recovered.events == expected
            good_end = commit_ends[complete - 1]
            assert journal.recovered.truncated_bytes == cut - good_end
            assert only_segment(work).stat().st_size == good_end
            more = journal.persist_sync([counted("after-cut")])
        with open_journal(work) as journal:
            assert journal.recovered.events == expected + more
        assert verify(work).ok


def test_garbage_tail_is_cut(tmp_path: Path) -> None:
    commits = _write_commits(tmp_path, 3)
    path = only_segment(tmp_path)
    size = path.stat().st_size
    with open(path, "ab") as f:
        f.write(b'\0\0\0\0garbage\n{"eventId":1}\n\xff')
    result = verify(tmp_path)
    assert result.ok and result.torn_tail is not None and result.torn_tail.offset == size
    with open_journal(tmp_path) as journal:
        assert journal.recovered.events == [s for c in commits for s in c]
    assert path.stat().st_size == size


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_flipped_byte_is_reported_at_its_commit(tmp_path: Path) -> None:
    commits = _write_commits(tmp_path, 5)
    path = only_segment(tmp_path)
    data = path.read_bytes()
    lines = data.split(b"\n")
    # the line of the third commit's second event: flip a digit of its delta
    target = commits[2][1]
    line_index = next(i for i, line in enumerate(lines) if line.startswith(f'{{"eventId":{target.event_id},'.encode()))
    commit_first_line = next(
        i for i, line in enumerate(lines) if line.startswith(f'{{"eventId":{commits[2][0].event_id},'.encode())
    )
    line_offset = sum(len(line) + 1 for line in lines[:line_index])
    _flip(path, line_offset + len(lines[line_index]) - 2)
    result = verify(tmp_path)
    assert not result.ok
    [error] = result.errors
    assert error.path == path
    assert error.line == commit_first_line + 1
    assert error.offset == sum(len(line) + 1 for line in lines[:commit_first_line])
    assert error.event_id == commits[2][0].event_id
    assert error.message == "hash mismatch"
    with pytest.raises(JournalCorruptError, match="not a torn tail"):
        open_journal(tmp_path)


def test_flipped_byte_in_the_snapshot_is_reported(tmp_path: Path) -> None:
    with open_journal(tmp_path) as journal:
        journal.persist_sync([counted("a")])
        journal.take_snapshot([{"TYPE": "TestThing", "n": 1}], at_event_id=journal.last_event_id)
        journal.persist_sync([counted("b")])
    newest = list_segments(tmp_path, "controller")[-1][1]
    data = newest.read_bytes()
    _flip(newest, data.index(b'"n":1') + 4)
    result = verify(tmp_path)
    assert [(e.path, e.offset, e.line) for e in result.errors] == [(newest, 0, 1)]
    assert "snapshot hash mismatch" in result.errors[0].message


def test_segments_chain_their_hashes(tmp_path: Path) -> None:
    with open_journal(tmp_path) as journal:
        journal.persist_sync([counted("a")])
        journal.take_snapshot([], at_event_id=journal.last_event_id)
        journal.persist_sync([counted("b")])
    first, second = (p for _, p in list_segments(tmp_path, "controller"))
    assert verify(tmp_path).ok
    # rewrite the older segment's commit with a recomputed hash: only the chain to the next header breaks
    lines = first.read_bytes().split(b"\n")
    snapshot_hash = json.loads(lines[3])["hash"]
    lines[5] = lines[5].replace(b'"delta":1', b'"delta":2')
    commit = json.loads(lines[6])
    commit["hash"] = chain(snapshot_hash, lines[5] + b"\n")
    lines[6] = json.dumps(commit, separators=(",", ":")).encode()
    first.write_bytes(b"\n".join(lines))
    result = verify(tmp_path)
    assert [(e.path, e.message) for e in result.errors] == [
        (second, "previousHash does not chain to the previous segment's last commit")
    ]


def test_other_journal_id_is_refused(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        with open_journal(d) as journal:
            journal.persist_sync([counted("x")])
            journal.take_snapshot([], at_event_id=journal.last_event_id)
    newest_of_b = list_segments(b, "controller")[-1][1]
    os.replace(newest_of_b, a / (newest_of_b.name + "9"))  # make it the newest of a
    os.replace(a / (newest_of_b.name + "9"), a / "controller--99999999999999999.journal")
    with pytest.raises(JournalCorruptError):
        open_journal(a)


def test_stale_snapshot_tmp_is_removed(tmp_path: Path) -> None:
    _write_commits(tmp_path, 1)
    stale = tmp_path / "controller--123.journal.tmp"
    stale.write_bytes(b"partial")
    with open_journal(tmp_path) as journal:
        assert len(journal.recovered.events) == 1
    assert not stale.exists()


def test_failed_fsync_fails_the_commit_and_every_later_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = open_journal(tmp_path)
    ok = journal.persist_sync([counted("a")])

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(file_module, "_fdatasync", broken)
    with pytest.raises(JournalError, match="Input/output error"):
        journal.persist_sync([counted("b")])
    monkeypatch.undo()
    with pytest.raises(JournalError):
        journal.persist_sync([counted("c")])
    assert journal.last_event_id == ok[0].event_id
    journal.close()
    # the unsynced commit may or may not be in the file; the journal is consistent either way
    with open_journal(tmp_path) as journal:
        assert journal.recovered.events[0] == ok[0]
    assert verify(tmp_path).ok


def test_reads_from_files_beyond_the_cache(tmp_path: Path) -> None:
    with open_journal(tmp_path, cache_events=5) as journal:
        journal.INDEX_EVERY = 200  # type: ignore[misc]  # a dense index, to test starting from it
        stamped = [s for i in range(30) for s in journal.persist_sync([counted("a", i), counted("b", i)])]
        journal.take_snapshot([], at_event_id=journal.last_event_id)
        stamped += [s for i in range(30) for s in journal.persist_sync([counted("c", i)])]
        for after in [0, stamped[0].event_id, stamped[17].event_id, stamped[59].event_id, stamped[75].event_id]:
            expected = [s for s in stamped if s.event_id > after]
            result = journal.read(after)
            assert not isinstance(result, Problem)
            assert list(result) == expected
            limited = journal.read(after, limit=3)
            assert not isinstance(limited, Problem)
            assert list(limited) == expected[:3]
    with open_journal(tmp_path, cache_events=5) as journal:
        result = journal.read(stamped[10].event_id)
        assert not isinstance(result, Problem)
        assert list(result) == stamped[11:]


def test_a_second_process_cannot_open_the_same_journal(tmp_path: Path) -> None:
    import subprocess
    import sys

    from js7es.journal.api import JournalError

    journal = FileJournal.open(tmp_path, name="controller")
    try:
        with pytest.raises(JournalError, match="in use by another process"):
            FileJournal.open(tmp_path, name="controller")
        other = subprocess.run(
            [sys.executable, "-c", f"from js7es.journal.file import FileJournal; FileJournal.open({str(tmp_path)!r})"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.returncode != 0 and "in use by another process" in other.stderr
    finally:
        journal.close()
    FileJournal.open(tmp_path, name="controller").close()  # closing released the lock
