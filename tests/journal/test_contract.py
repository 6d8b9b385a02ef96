"""One contract for every Journal implementation, subclassed once per implementation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7es.domain.event import KeyedEvent, Stamped
from js7es.domain.problem import Problem
from js7es.journal import FileJournal, Journal, JournalError, MemoryJournal, MemoryStore
from tests.journal.support import CounterState, FakeClock, LiveState, counted, recovered_state


def events_of(result: Iterator[Stamped] | Problem) -> list[Stamped]:
    assert not isinstance(result, Problem), result
    return list(result)


class JournalContract:
    """Subclasses provide `open_journal()`, reopening on the same storage each time."""

    clock: FakeClock

    @pytest.fixture(autouse=True)
    def _clock(self) -> None:
        self.clock = FakeClock()

    def open_journal(self) -> Journal:
        raise NotImplementedError

    def test_new_journal_is_empty(self) -> None:
        with self.open_journal() as journal:
            assert journal.recovered.created
            assert journal.recovered.snapshot == []
            assert journal.recovered.events == []
            assert journal.last_event_id == 0
            assert events_of(journal.read(0)) == []

    def test_persist_stamps_increasing_event_ids_in_one_ms(self) -> None:
        with self.open_journal() as journal:
            a = journal.persist_sync([counted("a"), counted("b")])
            b = journal.persist_sync([counted("a")])
            ids = [s.event_id for s in a + b]
            t = self.clock.now * 1000
            assert ids == [t, t + 1, t + 2]
            assert [s.timestamp_ms for s in a + b] == [self.clock.now] * 3
            assert journal.last_event_id == t + 2

    def test_event_ids_increase_when_the_clock_goes_back(self) -> None:
        with self.open_journal() as journal:
            first = journal.persist_sync([counted("a")])[0].event_id
            self.clock.now -= 10_000
            second = journal.persist_sync([counted("a")])[0].event_id
            assert second == first + 1
            self.clock.now += 20_000
            assert journal.persist_sync([counted("a")])[0].event_id == self.clock.now * 1000

    def test_empty_persist_is_no_commit(self) -> None:
        with self.open_journal() as journal:
            assert journal.persist_sync([]) == []
            assert journal.last_event_id == 0

    def test_recovery_returns_committed_events(self) -> None:
        with self.open_journal() as journal:
            stamped = journal.persist_sync([counted("a", 2), counted("b", 3)])
            stamped += journal.persist_sync([KeyedEvent("", counted("x").event)])
            journal_id = journal.journal_id
        with self.open_journal() as journal:
            assert not journal.recovered.created
            assert journal.journal_id == journal_id
            assert journal.recovered.events == stamped
            assert journal.last_event_id == stamped[-1].event_id
            # and EventIds go on increasing after a restart, even with the clock behind
            self.clock.now -= 60_000
            assert journal.persist_sync([counted("a")])[0].event_id == stamped[-1].event_id + 1

    def test_listeners_see_commits_in_order_before_the_future_completes(self) -> None:
        with self.open_journal() as journal:
            seen: list[int] = []
            journal.on_committed(lambda stamped: seen.extend(s.event_id for s in stamped))
            stamped = journal.persist_sync([counted("a"), counted("b")])
            assert seen == [s.event_id for s in stamped]

    def test_concurrent_writers(self) -> None:
        with self.open_journal() as journal:
            seen: list[int] = []
            journal.on_committed(lambda stamped: seen.extend(s.event_id for s in stamped))

            def write(n: int) -> None:
                for i in range(50):
                    journal.persist_sync([counted(f"w{n}", i), counted(f"w{n}", -i)])

            threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            ids = [s.event_id for s in events_of(journal.read(0))]
            assert len(ids) == 800
            assert ids == sorted(set(ids)) == seen
            # each commit's two events are adjacent (atomic commit)
            events = events_of(journal.read(0))
            for a, b in zip(events[::2], events[1::2], strict=True):
                assert a.key == b.key and b.event.delta == -a.event.delta  # type: ignore[attr-defined]

    def test_read_after_and_limit(self) -> None:
        with self.open_journal() as journal:
            stamped = [journal.persist_sync([counted("a", i)])[0] for i in range(10)]
            assert events_of(journal.read(stamped[3].event_id)) == stamped[4:]
            assert events_of(journal.read(stamped[3].event_id, limit=2)) == stamped[4:6]
            assert events_of(journal.read(stamped[-1].event_id)) == []

    def test_wait_for(self) -> None:
        with self.open_journal() as journal:
            last = journal.persist_sync([counted("a")])[0].event_id
            assert journal.wait_for(0, timeout=0)
            assert not journal.wait_for(last, timeout=0.01)
            timer = threading.Timer(0.05, lambda: journal.persist_sync([counted("b")]))
            timer.start()
            assert journal.wait_for(last, timeout=5)
            timer.join()

    def test_snapshot_starts_a_segment_and_recovery_uses_it(self) -> None:
        live = LiveState(CounterState({}))
        with self.open_journal() as journal:
            journal.on_committed(live.on_committed)
            journal.persist_sync([counted("a", 5), counted("b", 7)])
            at = journal.last_event_id
            assert journal.take_snapshot(live.state.snapshot_objects(), at_event_id=at) == at
            after = journal.persist_sync([counted("a", 1)])
            assert [s.file_event_id for s in journal.segments()] == [0, at]
            # reading across segments
            assert [s.event.delta for s in events_of(journal.read(0))] == [5, 7, 1]  # type: ignore[attr-defined]
        with self.open_journal() as journal:
            rec = journal.recovered
            assert rec.snapshot_event_id == at
            assert rec.events == after
            assert recovered_state(rec.snapshot, rec.events) == live.state

    def test_snapshot_refused_when_not_at_the_event_id(self) -> None:
        with self.open_journal() as journal:
            journal.persist_sync([counted("a")])
            result = journal.take_snapshot([], at_event_id=journal.last_event_id - 1)
            assert isinstance(result, Problem) and result.code == "SnapshotEventIdMismatch"
            assert len(journal.segments()) == 1

    def test_snapshot_without_new_events_does_nothing(self) -> None:
        with self.open_journal() as journal:
            assert journal.take_snapshot([], at_event_id=0) == 0
            journal.persist_sync([counted("a")])
            at = journal.last_event_id
            assert journal.take_snapshot([], at_event_id=at) == at
            assert journal.take_snapshot([], at_event_id=at) == at
            assert len(journal.segments()) == 2

    def test_snapshot_async_source_sees_state_at_the_boundary(self) -> None:
        live = LiveState(CounterState({}))
        with self.open_journal() as journal:
            journal.on_committed(live.on_committed)
            futures = [journal.persist([counted("a", i)]) for i in range(20)]
            snap = journal.snapshot_async(lambda: list(live.state.snapshot_objects()))
            futures += [journal.persist([counted("b", i)]) for i in range(20)]
            at = snap.result(5)
            for f in futures:
                f.result(5)
        with self.open_journal() as journal:
            rec = journal.recovered
            assert rec.snapshot_event_id == at
            # every commit queued before the request is in the snapshot, none queued after it
            snapshot_state = CounterState.from_snapshot(rec.snapshot)
            assert snapshot_state.event_id == at
            assert snapshot_state.counts == {"a": sum(range(20))}
            assert recovered_state(rec.snapshot, rec.events) == live.state

    def test_release_waits_for_every_reader(self) -> None:
        with self.open_journal() as journal:
            journal.register_reader("standby")
            journal.register_reader("cockpit")
            first = journal.persist_sync([counted("a")])[0].event_id
            s1 = journal.take_snapshot([], at_event_id=first)
            second = journal.persist_sync([counted("a")])[0].event_id
            s2 = journal.take_snapshot([], at_event_id=second)
            journal.persist_sync([counted("a")])
            assert [s.file_event_id for s in journal.segments()] == [0, s1, s2]
            assert journal.release_events() == []
            assert journal.acknowledge("standby", second) is None
            assert journal.release_events() == []  # cockpit has not acknowledged
            assert journal.acknowledge("cockpit", first) is None
            assert [s.file_event_id for s in journal.release_events()] == [0]
            assert [s.file_event_id for s in journal.segments()] == [s1, s2]
            torn = journal.read(0)
            assert isinstance(torn, Problem) and torn.code == "EventSeqTorn"
            assert events_of(journal.read(first))[0].event_id == second
            # acknowledgements are durable and never move back
            assert journal.acknowledge("cockpit", 0) is None
        with self.open_journal() as journal:
            assert journal.readers() == {"standby": second, "cockpit": first}
            assert journal.acknowledge("cockpit", journal.last_event_id) is None
            assert [s.file_event_id for s in journal.release_events()] == [s1]
            assert [s.file_event_id for s in journal.segments()] == [s2]  # the current one stays

    def test_acknowledge_problems(self) -> None:
        with self.open_journal() as journal:
            unknown = journal.acknowledge("nobody", 0)
            assert isinstance(unknown, Problem) and unknown.code == "UnknownJournalReader"
            journal.register_reader("r")
            future = journal.acknowledge("r", journal.last_event_id + 1)
            assert isinstance(future, Problem) and future.code == "UnknownEventId"

    def test_new_reader_holds_kept_segments(self) -> None:
        with self.open_journal() as journal:
            journal.persist_sync([counted("a")])
            journal.take_snapshot([], at_event_id=journal.last_event_id)
            journal.register_reader("late")
            assert journal.release_events() == []
            journal.unregister_reader("late")
            assert len(journal.release_events()) == 1  # no reader: release up to the committed position

    def test_closed_journal_refuses(self) -> None:
        journal = self.open_journal()
        journal.close()
        with pytest.raises(JournalError):
            journal.persist_sync([counted("a")])


class TestMemoryJournal(JournalContract):
    @pytest.fixture(autouse=True)
    def _store(self) -> None:
        self.store = MemoryStore()

    def open_journal(self) -> Journal:
        return MemoryJournal.open(self.store, clock=self.clock)


class TestFileJournal(JournalContract):
    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.directory = tmp_path / "state"

    def open_journal(self) -> Journal:
        return FileJournal.open(self.directory, clock=self.clock)
