"""Recovery without a snapshot streams the events (issue 18): opening a journal checks its hash chain a
line at a time and decodes nothing; `recovered.events` reads the segment when iterated. So neither
holds the journal in memory: measured here with tracemalloc (Python's own allocations, exact and
independent of the machine's load), against the size of the segment."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from js7es.journal import FileJournal, JournalCorruptError
from js7es.journal.file import RecoveredEvents
from js7es.journal.format import chain, commit_line, list_segments, scan_segment
from js7es.journal.tools import replay
from tests.journal.support import CounterState, FakeClock, counted

EVENTS = 40_000


def write_journal(directory: Path, n: int) -> int:
    """n events in commits of 100; the segment's size in bytes."""
    with FileJournal.open(directory, clock=FakeClock()) as journal:
        for first in range(0, n, 100):
            journal.persist_sync([counted(f"order:{i}") for i in range(first, first + 100)])
    [(_, path)] = list_segments(directory, "controller")
    return path.stat().st_size


def test_open_and_recovery_hold_no_more_than_a_slice_of_the_journal(tmp_path: Path) -> None:
    size = write_journal(tmp_path, EVENTS)
    assert size > 4_000_000
    tracemalloc.start()
    try:
        journal = FileJournal.open(tmp_path, clock=FakeClock())
        _, opening_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        events = journal.recovered.events
        assert isinstance(events, RecoveredEvents) and len(events) == EVENTS
        total = 0
        last = 0
        for stamped in events:  # as recover_state does: apply, keep nothing
            assert stamped.event_id > last
            last = stamped.event_id
            total += stamped.event.delta  # type: ignore[attr-defined]
        _, iterating_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == EVENTS and last == journal.last_event_id
    journal.close()
    # Reading the segment whole would take more than its size (the bytes, then the lines), the events
    # decoded all at once several times more. Streaming holds a chunk of lines and a batch of events
    # (about 1.4 MB here, for 1,000 as for 10,000,000 events).
    assert opening_peak < size / 20, (opening_peak, size)
    assert iterating_peak < size / 2, (iterating_peak, size)


def test_recovered_events_compare_and_index_like_a_list(tmp_path: Path) -> None:
    with FileJournal.open(tmp_path, clock=FakeClock()) as journal:
        written = journal.persist_sync([counted("a"), counted("b")]) + journal.persist_sync([counted("c")])
    with FileJournal.open(tmp_path, clock=FakeClock()) as journal:
        events = journal.recovered.events
        assert events == written and list(events) == written and len(events) == 3
        assert events[0] == written[0] and events[-1] == written[-1] and events[1:] == written[1:]
        assert list(events) == written  # iterable again


def test_an_undecodable_event_with_a_valid_hash_is_corruption_at_recovery_not_a_torn_tail(tmp_path: Path) -> None:
    with FileJournal.open(tmp_path, clock=FakeClock()) as journal:
        journal.persist_sync([counted("a")])
        last = journal.last_event_id
    [(_, path)] = list_segments(tmp_path, "controller")
    scan = scan_segment(path, decode_events=False, check_events=False)
    line = f'{{"eventId":{last + 1},"Key":"x","TYPE":"NoSuchEvent"}}\n'.encode()
    with open(path, "ab") as f:
        f.write(line + commit_line(last + 1, 1, chain(scan.last_hash, line)))
    size = path.stat().st_size
    with FileJournal.open(tmp_path, clock=FakeClock()) as journal:
        assert journal.recovered.truncated_bytes == 0 and journal.last_event_id == last + 1
        with pytest.raises(JournalCorruptError, match="undecodable event"):
            list(journal.recovered.events)
    assert path.stat().st_size == size  # nothing was cut
    # The offline replay (which streams the same way) reports it and stops there.
    result = replay(tmp_path, CounterState, progress=False)
    assert result.event_count == 1 and len(result.problems) == 1
    assert "undecodable event" in result.problems[0]
