"""The journal's lines as readers get them (`read_lines`, `cached_lines`, `read_commit_lines`): the
bytes the journal wrote, equal to what encoding the events again gives, from the cache and the files;
replicated lines are written as they came (the replication stream: tests/nodes/test_cluster_replication.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from js7es.domain.event import Stamped, stamped_to_json
from js7es.domain.problem import Problem
from js7es.domain.value import dumps
from js7es.journal import FileJournal, Journal, MemoryJournal, MemoryStore
from js7es.journal import file as file_module
from js7es.journal.api import Lines
from js7es.journal.format import EVENT_PREFIX
from tests.journal.support import FakeClock, counted
from tests.journal.test_replication import (
    commit_positions,
    commits_of,
    lines_starting,
    open_journal,
    persist_varied,
    source_with_snapshots,
)


def encoded(events: list[Stamped]) -> bytes:
    """What an encoding per reader gives: JS7's Stamped JSON, a line each."""
    return b"".join((dumps(stamped_to_json(s)) + "\n").encode() for s in events)


def lines_of(result: Lines | Problem | None) -> Lines:
    assert isinstance(result, Lines), result
    return result


def events_after(commits: list[list[Stamped]], after: int, limit: int, until: int) -> list[Stamped]:
    return [s for c in commits for s in c if after < s.event_id <= until][:limit]


def check_read_lines(journal: Journal, commits: list[list[Stamped]]) -> None:
    """Every position (mid-commit too), limits that cut commits, and `until` bounds."""
    events = [s for c in commits for s in c]
    positions = [events[0].event_id - 1] + [s.event_id for s in events]
    last = journal.last_event_id
    for after in positions:
        for limit in (1, 2, 5, 1000):
            for until in (None, last - 1, events[len(events) // 2].event_id):
                want = events_after(commits, after, limit, last if until is None else until)
                got = lines_of(journal.read_lines(after, limit=limit, until=until))
                assert got.data == encoded(want), (after, limit, until)
                assert got.count == len(want)
                assert got.last_event_id == (want[-1].event_id if want else after)
                cached = journal.cached_lines(after, limit=limit, until=until)
                assert cached is None or cached == got


@pytest.mark.parametrize("cache_events", [0, 7, 10_000])
def test_file_lines_equal_the_encoded_events_from_cache_and_files(tmp_path: Path, cache_events: int) -> None:
    clock = FakeClock()
    journal, commits = source_with_snapshots(tmp_path, clock, cache_events=cache_events)
    journal.INDEX_EVERY = 300  # reads start at index entries of the current segment too
    commits += [journal.persist_sync([counted("z", i) for i in range(1 + i % 3)]) for i in range(20)]
    kept = [c for c in commits if c[-1].event_id > journal.segments()[0].file_event_id]
    with journal:
        check_read_lines(journal, kept)
        # The bytes served are the bytes in the files.
        assert lines_of(journal.read_lines(0, limit=10_000)).data == b"".join(lines_starting(tmp_path, EVENT_PREFIX))
        # The head is served from memory while the cache holds it, the rest is not.
        head = commits[-2][-1].event_id
        assert (journal.cached_lines(head, limit=10) is None) == (cache_events == 0)
        assert journal.cached_lines(0, limit=10) is None or cache_events == 10_000
    with open_journal(tmp_path, clock, cache_events=cache_events) as reopened:  # nothing cached
        assert reopened.cached_lines(head, limit=10) is None
        check_read_lines(reopened, kept)


def test_memory_lines_equal_the_encoded_events_across_segments_and_after_truncation() -> None:
    clock = FakeClock()
    store = MemoryStore()
    with MemoryJournal.open(store, clock=clock) as journal:
        commits = persist_varied(journal, clock)
        journal.take_snapshot([{"TYPE": "S"}], at_event_id=journal.last_event_id)
        commits += persist_varied(journal, clock)
        check_read_lines(journal, commits)
    MemoryJournal.truncate_after(store, commits[-4][-1].event_id)
    with MemoryJournal.open(store, clock=clock) as journal:
        check_read_lines(journal, commits[:-3])
        commits = commits[:-3] + persist_varied(journal, clock)
        check_read_lines(journal, commits)


def test_lines_before_the_kept_journal_are_torn(tmp_path: Path) -> None:
    clock = FakeClock()
    journal, _ = source_with_snapshots(tmp_path, clock, cache_events=3)
    with journal:
        journal.release_events()
        oldest = journal.segments()[0].file_event_id
        for result in (journal.read_lines(oldest - 1, limit=5), journal.cached_lines(oldest - 1, limit=5)):
            assert isinstance(result, Problem) and result.code == "EventSeqTorn"
        assert lines_of(journal.read_lines(journal.last_event_id, limit=5)) == Lines(0, journal.last_event_id, b"")


@pytest.mark.parametrize("kind", ["file", "memory"])
@pytest.mark.parametrize("cache_events", [0, 10_000])
def test_commit_lines_equal_the_encoded_commits(tmp_path: Path, kind: str, cache_events: int) -> None:
    clock = FakeClock()
    journal: Journal
    if kind == "file":
        journal, commits = source_with_snapshots(tmp_path, clock, cache_events=cache_events)
    else:
        journal = MemoryJournal.open(clock=clock)
        commits = persist_varied(journal, clock)
    with journal:
        boundaries = [0] + [c[-1].event_id for c in commits]
        for k, after in enumerate(boundaries):
            for limit in (None, 2):
                got = journal.read_commit_lines(after, limit=limit)
                assert not isinstance(got, Problem), got
                want = commits[k:] if limit is None else commits[k : k + limit]
                assert list(got) == [Lines(len(c), c[-1].event_id, encoded(c)) for c in want], (after, limit)
        mid = commits[1][0].event_id  # the first event of a commit of two events
        assert len(commits[1]) > 1
        result = journal.read_commit_lines(mid)
        assert isinstance(result, Problem) and result.code == "NotACommitBoundary"


def test_replicated_lines_are_written_as_they_came(tmp_path: Path) -> None:
    """Not encoded again: lines that decode to the same events but are spelled otherwise stay so."""
    clock = FakeClock()
    with MemoryJournal.open(clock=clock) as source, open_journal(tmp_path, clock) as target:
        [stamped] = source.persist_sync([counted("a", 1)])
        spelled = encoded([stamped]).replace(b'"delta":1', b'"delta":1 ')
        assert spelled != encoded([stamped])
        target.persist_replicated_sync([stamped], lines=spelled)
        assert lines_starting(tmp_path, EVENT_PREFIX) == [spelled]


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_replicated_lines_must_be_one_per_event(tmp_path: Path, kind: str) -> None:
    clock = FakeClock()
    journal: Journal = open_journal(tmp_path, clock) if kind == "file" else MemoryJournal.open(clock=clock)
    with journal, MemoryJournal.open(clock=clock) as source:
        stamped = source.persist_sync([counted("a"), counted("b")])
        good = encoded(stamped)
        for bad in (good.split(b"\n")[0] + b"\n", good[:-1], good + good):
            with pytest.raises(ValueError, match="lines"):
                journal.persist_replicated(stamped, lines=bad)
        assert journal.last_event_id == 0
        assert journal.persist_replicated_sync(stamped, lines=good) == stamped
        assert lines_of(journal.read_lines(0, limit=10)).data == good


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_the_journal_serves_its_written_bytes_not_a_reencoding(tmp_path: Path, kind: str) -> None:
    """The journal holds the bytes it encoded once: the same object, whichever reader asks."""
    clock = FakeClock()
    journal: Journal = FileJournal.open(tmp_path, clock=clock) if kind == "file" else MemoryJournal.open(clock=clock)
    with journal:
        journal.persist_sync([counted("a", i) for i in range(3)])
        first = lines_of(journal.cached_lines(0, limit=10))
        again = lines_of(journal.cached_lines(0, limit=10))
        assert first.data is again.data  # a whole commit: no copy, no encoding
        [commit] = list(journal.read_commit_lines(0))  # type: ignore[arg-type]
        assert commit.data is first.data


@pytest.mark.parametrize("kind", ["file", "memory"])
def test_a_replicated_group_is_written_at_once_or_refused_as_a_whole(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncs: list[int] = []
    real_fdatasync = file_module._fdatasync

    def counting_fdatasync(fd: int) -> None:
        syncs.append(fd)
        real_fdatasync(fd)

    monkeypatch.setattr(file_module, "_fdatasync", counting_fdatasync)
    clock = FakeClock()
    journal: Journal = open_journal(tmp_path, clock) if kind == "file" else MemoryJournal.open(clock=clock)
    with MemoryJournal.open(clock=clock) as source, journal:
        commits = persist_varied(source, clock)
        group = [(c, encoded(c)) for c in commits]
        seen: list[list[Stamped]] = []
        journal.on_committed(seen.append)
        bad = [group[0], (commits[2], encoded(commits[2])), group[1]]  # EventIds go back in the third
        with pytest.raises(ValueError, match="do not increase"):
            journal.persist_replicated_group(bad)
        assert journal.last_event_id == 0 and seen == [] and syncs == []
        assert journal.persist_replicated_group(group[:6]).result(10) == commits[5]
        assert journal.persist_replicated_group(group[6:]).result(10) == commits[-1]
        assert seen == commits  # each one commit, as it was on the source
        assert commits_of(journal.read_commits(0)) == commits
        assert lines_of(journal.read_lines(0, limit=1000)).data == b"".join(data for _, data in group)
        assert journal.persist_replicated_group([]).result(10) == []
    if kind == "file":
        assert len(syncs) == 2  # one fdatasync per group
        assert commit_positions(tmp_path) == [(c[-1].event_id, len(c)) for c in commits]
