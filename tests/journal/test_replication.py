"""Replication primitives of a Controller cluster: persist_replicated, read_commits, truncate_after,
reset_to_snapshot. A standby copies the active's journal commit by commit; both must hold the same
event lines in the same commits, and either node must be able to go on as the active."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from js7es.domain.event import Stamped
from js7es.domain.problem import Problem
from js7es.journal import FileJournal, Journal, JournalCorruptError, JournalError, MemoryJournal, MemoryStore
from js7es.journal import file as file_module
from js7es.journal import format as format_module
from js7es.journal.format import COMMIT_PREFIX, EVENT_PREFIX, list_segments
from js7es.journal.tools import verify
from tests.journal.support import FakeClock, counted

NAME = "controller"


def open_journal(directory: Path, clock: FakeClock | None = None, **kwargs: Any) -> FileJournal:
    return FileJournal.open(directory, clock=clock or FakeClock(), **kwargs)


def commits_of(result: Iterator[list[Stamped]] | Problem) -> list[list[Stamped]]:
    assert not isinstance(result, Problem), result
    return list(result)


def lines_starting(directory: Path, prefix: bytes) -> list[bytes]:
    """The lines of every kept segment, oldest first, that start with `prefix`."""
    return [
        line
        for _, path in list_segments(directory, NAME)
        for line in path.read_bytes().splitlines(keepends=True)
        if line.startswith(prefix)
    ]


def commit_positions(directory: Path) -> list[tuple[int, int]]:
    """(eventId, count) of every Commit line: the commit grouping as the files hold it."""
    return [(c["eventId"], c["count"]) for c in map(json.loads, lines_starting(directory, COMMIT_PREFIX))]


def all_bytes(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def replicate(source: Journal, target: Journal, limit: int | None = None) -> int:
    """What a standby does: read the active's commits after its own position and append each as one
    commit. The commits of one read are queued together, so the writer group-commits them."""
    copied = 0
    while True:
        batch = commits_of(source.read_commits(target.last_event_id, limit=limit))
        if not batch:
            return copied
        futures = [target.persist_replicated(commit) for commit in batch]
        for future, commit in zip(futures, batch, strict=True):
            assert future.result(10) == commit
        copied += len(batch)


def persist_varied(journal: Journal, clock: FakeClock) -> list[list[Stamped]]:
    """Commits of 1 to 3 events, with and without keys, with a non-ASCII key, and with timestamps that
    differ from eventId/1000 (the clock goes back), so that every optional field of a line occurs."""
    commits = []
    for i in range(12):
        events = [counted(f"k{i % 3}", i), counted("", -i), counted('ä"\\', 7)]  # "" is NO_KEY
        commits.append(journal.persist_sync(events[: 1 + i % 3]))
        clock.now += 3 if i % 5 else -2_000
    return commits


def source_with_snapshots(directory: Path, clock: FakeClock, **kwargs: Any) -> tuple[FileJournal, list[list[Stamped]]]:
    journal = open_journal(directory, clock, **kwargs)
    commits = persist_varied(journal, clock)
    journal.take_snapshot([{"TYPE": "S", "n": 1}], at_event_id=journal.last_event_id)
    commits += persist_varied(journal, clock)
    journal.take_snapshot([{"TYPE": "S", "n": 2}], at_event_id=journal.last_event_id)
    commits += persist_varied(journal, clock)
    return journal, commits


# ---------------------------------------------------------------------------------------------------
# persist_replicated


def test_replicated_commits_have_byte_identical_event_lines(tmp_path: Path) -> None:
    clock = FakeClock()
    source, commits = source_with_snapshots(tmp_path / "active", clock)
    seen: list[list[Stamped]] = []
    with source, open_journal(tmp_path / "standby", FakeClock(clock.now - 60_000)) as target:
        target.on_committed(seen.append)
        assert replicate(source, target, limit=5) == len(commits)
        assert seen == commits  # listeners see each replicated commit as one
        assert target.last_event_id == source.last_event_id
        assert target.wait_for(source.last_event_id - 1, 0) and not target.wait_for(source.last_event_id, 0)
        assert commits_of(target.read_commits(0)) == commits
    active_lines = lines_starting(tmp_path / "active", EVENT_PREFIX)
    assert b'"timestamp":' in b"".join(active_lines) and b'"Key":"\xc3\xa4' in b"".join(active_lines)
    assert lines_starting(tmp_path / "standby", EVENT_PREFIX) == active_lines
    assert commit_positions(tmp_path / "standby") == [(c[-1].event_id, len(c)) for c in commits]
    assert verify(tmp_path / "standby").ok
    with open_journal(tmp_path / "standby") as target:
        assert target.recovered.events == [s for c in commits for s in c]
        assert commits_of(target.read_commits(0)) == commits


def test_memory_replicates_into_file_and_back(tmp_path: Path) -> None:
    clock = FakeClock()
    memory = MemoryJournal.open(clock=clock)
    commits = persist_varied(memory, clock)
    with open_journal(tmp_path, clock) as file_journal:
        replicate(memory, file_journal)
        assert commits_of(file_journal.read_commits(0)) == commits
        copy = MemoryJournal.open()
        replicate(file_journal, copy, limit=1)
        assert commits_of(copy.read_commits(0)) == commits


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_non_increasing_event_ids_are_refused_and_nothing_is_written(tmp_path: Path, kind: str) -> None:
    clock = FakeClock()
    journal: Journal = open_journal(tmp_path, clock) if kind == "file" else MemoryJournal.open(clock=clock)
    with journal:
        [first, second] = journal.persist_sync([counted("a"), counted("b")])
        before = all_bytes(tmp_path)
        seen: list[list[Stamped]] = []
        journal.on_committed(seen.append)
        later = second.event_id + 10
        refused = [
            [Stamped(second.event_id, clock.now, "a", first.event)],  # equal to the last
            [Stamped(first.event_id, clock.now, "a", first.event)],  # older
            [Stamped(later, clock.now, "a", first.event), Stamped(later, clock.now, "a", first.event)],
            [Stamped(later + 1, clock.now, "a", first.event), Stamped(later, clock.now, "a", first.event)],
        ]
        for commit in refused:
            with pytest.raises(ValueError, match="EventId"):
                journal.persist_replicated(commit)
        assert journal.last_event_id == second.event_id
        assert seen == []
        assert commits_of(journal.read_commits(0)) == [[first, second]]
        assert all_bytes(tmp_path) == before
        ok = [Stamped(later, clock.now, "a", first.event)]
        assert journal.persist_replicated_sync(ok) == ok  # the refusal did not break the journal
        assert journal.persist_replicated_sync([]) == []
        assert commits_of(journal.read_commits(0)) == [[first, second], ok]


def test_refusal_counts_queued_commits_that_are_not_durable_yet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    journal = open_journal(tmp_path, clock)
    gate = threading.Event()
    real_fdatasync = file_module._fdatasync

    def slow_fdatasync(fd: int) -> None:
        gate.wait(10)
        real_fdatasync(fd)

    monkeypatch.setattr(file_module, "_fdatasync", slow_fdatasync)
    try:
        pending = journal.persist([counted("a")])  # gets EventId now*1000, but is not committed yet
        assert journal.last_event_id == 0
        with pytest.raises(ValueError, match="not after the journal's last EventId"):
            journal.persist_replicated([Stamped(clock.now * 1000, clock.now, "b", counted("b").event)])
        later = [Stamped(clock.now * 1000 + 1, clock.now, "b", counted("b").event)]
        replicated = journal.persist_replicated(later)
    finally:
        gate.set()
    assert [s.event_id for s in pending.result(10) + replicated.result(10)] == [clock.now * 1000, clock.now * 1000 + 1]
    journal.close()
    assert verify(tmp_path).ok


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_persist_continues_after_replicated_event_ids(tmp_path: Path, kind: str) -> None:
    clock = FakeClock()
    journal: Journal = open_journal(tmp_path, clock) if kind == "file" else MemoryJournal.open(clock=clock)
    ahead = (clock.now + 50_000) * 1000  # the active's clock was ahead: its EventIds are in the future
    replicated = [Stamped(ahead + i, clock.now + 50_000, "a", counted("a").event) for i in range(3)]
    with journal:
        journal.persist_replicated_sync(replicated)
        [own] = journal.persist_sync([counted("b")])  # the standby became active
        assert own.event_id == ahead + 3
        assert commits_of(journal.read_commits(0)) == [replicated, [own]]
    if kind == "file":
        with open_journal(tmp_path, clock) as reopened:
            assert reopened.recovered.events == [*replicated, own]
            assert reopened.persist_sync([counted("c")])[0].event_id == ahead + 4
        assert verify(tmp_path).ok


def test_a_closed_journal_fails_the_future(tmp_path: Path) -> None:
    journal = open_journal(tmp_path)
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.persist_replicated_sync([Stamped(1, 0, "a", counted("a").event)])


# ---------------------------------------------------------------------------------------------------
# read_commits


@pytest.mark.parametrize("cache_events", [0, 5, 10_000])
def test_read_commits_keeps_the_grouping_from_cache_and_files(
    tmp_path: Path, cache_events: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    file_reads = []
    real_iter_commits = format_module.iter_commits

    def counting_iter_commits(*args: Any) -> Any:
        file_reads.append(args)
        return real_iter_commits(*args)

    monkeypatch.setattr(file_module, "iter_commits", counting_iter_commits)
    journal, commits = source_with_snapshots(tmp_path, clock, cache_events=cache_events)
    journal.INDEX_EVERY = 300  # a dense index, to start reads from its entries
    commits += [journal.persist_sync([counted("z", i) for i in range(1 + i % 3)]) for i in range(20)]
    boundaries = [0] + [c[-1].event_id for c in commits]
    for reopened in (False, True):
        if reopened:  # the cache starts empty: recovery holds no events in memory
            journal.close()
            journal = open_journal(tmp_path, clock, cache_events=cache_events)
        for k, after in enumerate(boundaries):
            assert commits_of(journal.read_commits(after)) == commits[k:], after
            assert commits_of(journal.read_commits(after, limit=2)) == commits[k : k + 2], after
        # Near the head (the last two commits, 3 events) the files are not read while the cache holds
        # them; without a cache, the current segment is read from an index entry, not from its start.
        file_reads.clear()
        assert commits_of(journal.read_commits(commits[-3][-1].event_id)) == commits[-2:]
        if cache_events >= 5 and not reopened:
            assert file_reads == []
        else:
            assert len(file_reads) == 1
            assert reopened or file_reads[0][1] is not None
        file_reads.clear()
        commits_of(journal.read_commits(0))
        assert len(file_reads) == (0 if cache_events == 10_000 and not reopened else 3)
    # After the reopening, new commits fill the cache again.
    commits += [journal.persist_sync([counted("y", i)]) for i in range(3)]
    file_reads.clear()
    assert commits_of(journal.read_commits(commits[-3][-1].event_id)) == commits[-2:]
    assert len(file_reads) == (0 if cache_events >= 5 else 1)
    journal.close()


def test_read_commits_sees_new_commits_and_snapshots_while_open(tmp_path: Path) -> None:
    with open_journal(tmp_path, cache_events=3) as journal:
        commits = [journal.persist_sync([counted("a", i), counted("b", i)]) for i in range(4)]
        snapshot_at = journal.take_snapshot([], at_event_id=journal.last_event_id)
        assert isinstance(snapshot_at, int)
        commits += [journal.persist_sync([counted("c", i)]) for i in range(4)]
        # the snapshot position is the last commit end of the previous segment: both are one boundary
        assert commits_of(journal.read_commits(snapshot_at)) == commits[4:]
        assert commits_of(journal.read_commits(commits[1][-1].event_id)) == commits[2:]
        assert commits_of(journal.read_commits(journal.last_event_id)) == []


@pytest.mark.parametrize("kind", ["file", "file-uncached", "memory"])
def test_not_a_commit_boundary(tmp_path: Path, kind: str) -> None:
    clock = FakeClock()
    journal: Journal
    if kind == "memory":
        journal = MemoryJournal.open(clock=clock)
    else:
        journal = open_journal(tmp_path, clock, cache_events=0 if kind == "file-uncached" else 100)
    with journal:
        first = journal.persist_sync([counted("a"), counted("b"), counted("c")])
        clock.now += 10  # a gap of EventIds between the commits
        second = journal.persist_sync([counted("d"), counted("e")])
        journal.persist_sync([counted("f")])
        for after in [
            first[0].event_id,  # mid-commit
            first[1].event_id,
            first[-1].event_id + 1,  # between two commits
            second[0].event_id - 1,
            second[0].event_id,
            journal.last_event_id + 1,  # beyond the end: a standby that is ahead has diverged
            1,  # 0 is the start, 1 is nothing
        ]:
            result = journal.read_commits(after)
            assert isinstance(result, Problem), after
            assert result.code == "NotACommitBoundary"
            assert result.arguments["after"] == str(after)
        assert commits_of(journal.read_commits(first[-1].event_id, limit=1)) == [second]


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_read_commits_older_than_kept_is_event_seq_torn(tmp_path: Path, kind: str) -> None:
    journal: Journal = open_journal(tmp_path, cache_events=2) if kind == "file" else MemoryJournal.open()
    with journal:
        old = journal.persist_sync([counted("a"), counted("b")])
        journal.take_snapshot([], at_event_id=journal.last_event_id)
        new = journal.persist_sync([counted("c")])
        assert [s.file_event_id for s in journal.release_events()] == [0]
        for after in (0, old[0].event_id - 1):
            result = journal.read_commits(after)
            assert isinstance(result, Problem) and result.code == "EventSeqTorn", after
        assert commits_of(journal.read_commits(old[-1].event_id)) == [new]  # the kept snapshot position


# ---------------------------------------------------------------------------------------------------
# truncate_after


def three_segments(directory: Path) -> list[list[Stamped]]:
    """Commits 0-2 in the first segment, 3-5 in the second, 6-8 in the third (each 1-3 events)."""
    clock = FakeClock()
    commits = []
    with open_journal(directory, clock) as journal:
        for round_ in range(3):
            for i in range(3):
                commits.append(journal.persist_sync([counted(f"r{round_}", j) for j in range(1 + i)]))
                clock.now += 1
            if round_ < 2:
                journal.take_snapshot([{"TYPE": "S", "round": round_}], at_event_id=journal.last_event_id)
    return commits


def test_truncate_after_a_commit_end(tmp_path: Path) -> None:
    commits = three_segments(tmp_path)
    cut_at = commits[7][-1].event_id
    assert FileJournal.truncate_after(tmp_path, NAME, cut_at) == len(commits[8])
    assert verify(tmp_path).ok
    with open_journal(tmp_path) as journal:
        assert journal.last_event_id == cut_at
        assert journal.recovered.events == commits[6] + commits[7]
        assert commits_of(journal.read_commits(0)) == commits[:8]
        more = journal.persist_sync([counted("new")])
        assert more[0].event_id > cut_at
    assert verify(tmp_path).ok
    assert commit_positions(tmp_path)[-1] == (more[0].event_id, 1)


def test_truncate_after_across_a_later_snapshot_segment(tmp_path: Path) -> None:
    commits = three_segments(tmp_path)
    third = list_segments(tmp_path, NAME)[2][1]
    cut_at = commits[4][-1].event_id
    removed = FileJournal.truncate_after(tmp_path, NAME, cut_at)
    assert removed == sum(len(c) for c in commits[5:])
    assert not third.exists()
    assert [fid for fid, _ in list_segments(tmp_path, NAME)] == [0, commits[2][-1].event_id]
    assert verify(tmp_path).ok
    with open_journal(tmp_path) as journal:
        assert journal.recovered.snapshot == [{"TYPE": "S", "round": 0}]
        assert journal.recovered.events == commits[3] + commits[4]
        assert commits_of(journal.read_commits(0)) == commits[:5]


def test_truncate_after_at_a_segment_start(tmp_path: Path) -> None:
    commits = three_segments(tmp_path)
    second_start = commits[2][-1].event_id  # the second segment's fileEventId
    removed = FileJournal.truncate_after(tmp_path, NAME, second_start)
    assert removed == sum(len(c) for c in commits[3:])
    segments = list_segments(tmp_path, NAME)
    assert [fid for fid, _ in segments] == [0, second_start]
    assert segments[1][1].read_bytes().endswith(b'"-------EVENTS-------"\n')  # cut after the marker
    assert verify(tmp_path).ok
    with open_journal(tmp_path) as journal:
        assert journal.recovered.snapshot == [{"TYPE": "S", "round": 0}]
        assert journal.recovered.events == []
        assert journal.last_event_id == second_start
        journal.persist_sync([counted("new")])
    assert verify(tmp_path).ok
    assert FileJournal.truncate_after(tmp_path, NAME, 0) == sum(len(c) for c in commits[:3]) + 1
    assert verify(tmp_path).ok


def test_truncate_after_the_last_event_changes_nothing_but_a_torn_tail(tmp_path: Path) -> None:
    commits = three_segments(tmp_path)
    newest = list_segments(tmp_path, NAME)[-1][1]
    size = newest.stat().st_size
    with open(newest, "ab") as f:
        f.write(b'{"eventId":99999999999999999999,"TYPE":"TestCounted"')  # a torn, unsynced write
    assert FileJournal.truncate_after(tmp_path, NAME, commits[-1][-1].event_id) == 0
    assert newest.stat().st_size == size
    assert verify(tmp_path).torn_tail is None


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("mid-commit", "not the end of a commit"),
        ("between commits", "not the end of a commit"),
        ("beyond the end", "beyond the end"),
        ("released", "older than the oldest kept segment"),
    ],
)
def test_truncate_after_refuses_and_changes_nothing(tmp_path: Path, where: str, message: str) -> None:
    commits = three_segments(tmp_path)
    if where == "released":
        with open_journal(tmp_path) as journal:
            journal.release_events()
    event_id = {
        "mid-commit": commits[4][0].event_id,
        "between commits": commits[4][-1].event_id + 1,
        "beyond the end": commits[-1][-1].event_id + 1,
        "released": commits[1][-1].event_id,
    }[where]
    before = all_bytes(tmp_path)
    with pytest.raises(JournalError, match=message):
        FileJournal.truncate_after(tmp_path, NAME, event_id)
    assert all_bytes(tmp_path) == before


def test_truncate_after_refuses_a_damaged_segment(tmp_path: Path) -> None:
    commits = three_segments(tmp_path)
    second = list_segments(tmp_path, NAME)[1][1]
    data = second.read_bytes()
    second.write_bytes(data.replace(b'"delta":0', b'"delta":7', 1))  # a bad hash with commits after it
    before = all_bytes(tmp_path)
    with pytest.raises(JournalCorruptError, match="hash mismatch"):
        FileJournal.truncate_after(tmp_path, NAME, commits[4][-1].event_id)
    assert all_bytes(tmp_path) == before


def test_truncate_after_lowers_reader_acknowledgements(tmp_path: Path) -> None:
    commits = three_segments(tmp_path)
    with open_journal(tmp_path) as journal:
        journal.register_reader("early")
        journal.register_reader("late")
        journal.acknowledge("early", commits[1][-1].event_id)
        journal.acknowledge("late", commits[8][-1].event_id)
    FileJournal.truncate_after(tmp_path, NAME, commits[6][-1].event_id)
    with open_journal(tmp_path) as journal:
        assert journal.readers() == {"early": commits[1][-1].event_id, "late": commits[6][-1].event_id}


def test_offline_operations_are_refused_while_the_journal_is_open(tmp_path: Path) -> None:
    commits = three_segments(tmp_path)
    before = all_bytes(tmp_path)
    with open_journal(tmp_path):
        with pytest.raises(JournalError, match="in use"):
            FileJournal.truncate_after(tmp_path, NAME, commits[0][-1].event_id)
        with pytest.raises(JournalError, match="in use"):
            FileJournal.reset_to_snapshot(tmp_path, NAME, journal_id="other", event_id=5, objects=[])
    assert all_bytes(tmp_path) == before
    FileJournal.truncate_after(tmp_path, NAME, commits[0][-1].event_id)  # the lock was released
    open_journal(tmp_path).close()


# ---------------------------------------------------------------------------------------------------
# reset_to_snapshot


@pytest.mark.parametrize("event_id_at", ["after everything", "inside the old journal", "empty directory"])
def test_reset_to_snapshot_then_open_and_persist(tmp_path: Path, event_id_at: str) -> None:
    commits = [] if event_id_at == "empty directory" else three_segments(tmp_path)
    readers_file = tmp_path / f"{NAME}-readers.json"
    if commits:
        with open_journal(tmp_path) as journal:
            journal.register_reader("cockpit")
    readers_before = readers_file.read_bytes() if commits else None
    event_id = commits[4][-1].event_id if event_id_at == "inside the old journal" else 1_800_000_000_000_000
    objects: list[dict[str, Any]] = [
        {"TYPE": "ControllerMeta", "id": "x"},
        {"TYPE": "Order", "id": "o1", "ü": [1, 2.5, None]},
    ]
    path = FileJournal.reset_to_snapshot(
        tmp_path, NAME, journal_id="journal-of-active", event_id=event_id, objects=objects, total_event_count=42
    )
    assert [p for _, p in list_segments(tmp_path, NAME)] == [path]
    assert path.name == f"{NAME}--{event_id}.journal"
    assert readers_file.exists() == bool(commits) and (not commits or readers_file.read_bytes() == readers_before)
    assert verify(tmp_path).ok
    clock = FakeClock()
    with open_journal(tmp_path, clock) as journal:
        rec = journal.recovered
        assert (rec.journal_id, rec.snapshot, rec.events) == ("journal-of-active", objects, [])
        assert rec.snapshot_event_id == rec.last_event_id == journal.last_event_id == event_id
        assert journal.journal_id == "journal-of-active"
        assert rec.generation == (4 if commits else 1)
        assert commits_of(journal.read_commits(event_id)) == []
        result = journal.read_commits(0)
        assert isinstance(result, Problem) and result.code == "EventSeqTorn"
        [new] = journal.persist_sync([counted("after-reset")])
        assert new.event_id > event_id
        assert commits_of(journal.read_commits(event_id)) == [[new]]
    assert verify(tmp_path).ok
    with open_journal(tmp_path) as journal:
        assert journal.recovered.events == [new]
        assert journal.recovered.snapshot == objects


def test_a_standby_resets_to_the_actives_snapshot_and_replicates_on(tmp_path: Path) -> None:
    clock = FakeClock()
    active, _ = source_with_snapshots(tmp_path / "active", clock)
    with active:
        active.release_events()  # the standby cannot start from 0 any more
        snapshot_at = active.segments()[0].file_event_id  # the newest snapshot, {"TYPE": "S", "n": 2}
        assert isinstance(active.read_commits(0), Problem)
        standby_dir = tmp_path / "standby"
        snapshot = [{"TYPE": "S", "n": 2}]
        FileJournal.reset_to_snapshot(
            standby_dir, NAME, journal_id=active.journal_id, event_id=snapshot_at, objects=snapshot
        )
        with open_journal(standby_dir) as standby:
            replicate(active, standby)
            assert commits_of(standby.read_commits(snapshot_at)) == commits_of(active.read_commits(snapshot_at))
    assert lines_starting(standby_dir, EVENT_PREFIX) == lines_starting(tmp_path / "active", EVENT_PREFIX)
    assert verify(standby_dir).ok


# ---------------------------------------------------------------------------------------------------
# MemoryJournal equivalents


def test_memory_truncate_after_and_reset_to_snapshot() -> None:
    store = MemoryStore()
    with MemoryJournal.open(store) as journal:
        commits = [journal.persist_sync([counted("a", i), counted("b", i)]) for i in range(3)]
        journal.take_snapshot([], at_event_id=journal.last_event_id)
        commits += [journal.persist_sync([counted("c", i)]) for i in range(2)]
        with pytest.raises(JournalError, match="open"):
            MemoryJournal.truncate_after(store, commits[1][-1].event_id)
    with pytest.raises(JournalError, match="not the end of a commit"):
        MemoryJournal.truncate_after(store, commits[1][0].event_id)
    assert MemoryJournal.truncate_after(store, commits[1][-1].event_id) == 2 + 2
    with MemoryJournal.open(store) as journal:
        assert journal.last_event_id == commits[1][-1].event_id
        assert commits_of(journal.read_commits(0)) == commits[:2]
    MemoryJournal.reset_to_snapshot(store, journal_id="j", event_id=77, objects=[{"TYPE": "S"}])
    with MemoryJournal.open(store) as journal:
        assert (journal.journal_id, journal.recovered.snapshot, journal.last_event_id) == ("j", [{"TYPE": "S"}], 77)
        assert journal.persist_sync([counted("x")])[0].event_id > 77


# ---------------------------------------------------------------------------------------------------
# Property: whatever the active commits, the standby's copy reads back the same commits

commit_sizes = st.lists(st.tuples(st.integers(1, 4), st.integers(-3000, 3000), st.booleans()), min_size=1, max_size=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commit_sizes, st.integers(1, 4), st.sampled_from([0, 3, 10_000]))
def test_replicated_journal_reads_back_the_same_commits(
    ops: list[tuple[int, int, bool]], limit: int, cache_events: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        active_dir, standby_dir = Path(tmp) / "active", Path(tmp) / "standby"
        clock = FakeClock()
        with (
            open_journal(active_dir, clock, cache_events=cache_events) as active,
            open_journal(standby_dir, FakeClock(), cache_events=cache_events) as standby,
        ):
            for n, clock_move, snapshot in ops:
                active.persist_sync([counted(f"k{i}", clock_move) for i in range(n)])
                clock.now += clock_move
                if snapshot:
                    active.take_snapshot([], at_event_id=active.last_event_id)
                    standby.take_snapshot([], at_event_id=standby.last_event_id)  # at a lagging position
                if clock_move % 3 == 0:
                    replicate(active, standby, limit=limit)
            replicate(active, standby, limit=limit)
            expected = commits_of(active.read_commits(0))
            assert commits_of(standby.read_commits(0)) == expected
            assert [len(c) for c in expected] == [n for n, _, _ in ops]
        assert lines_starting(standby_dir, EVENT_PREFIX) == lines_starting(active_dir, EVENT_PREFIX)
        assert verify(standby_dir).ok
        with open_journal(standby_dir, cache_events=cache_events) as standby:
            assert commits_of(standby.read_commits(0)) == expected
