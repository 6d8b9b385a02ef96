"""Property tests: random persist/snapshot/restart/release runs against both implementations."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from js7es.domain.problem import Problem
from js7es.journal import FileJournal, Journal, MemoryJournal, MemoryStore
from js7es.journal.tools import replay, verify
from tests.journal.support import CounterState, FakeClock, LiveState, counted, recovered_state

persist_op = st.tuples(
    st.just("persist"),
    st.lists(st.tuples(st.sampled_from("abc"), st.integers(-5, 5)), min_size=1, max_size=4),
)
operations = st.lists(
    st.one_of(
        persist_op,
        st.tuples(st.just("snapshot"), st.none()),
        st.tuples(st.just("restart"), st.none()),
        st.tuples(st.just("clock_back"), st.integers(1, 5000)),
    ),
    max_size=25,
)


def run(ops: list[tuple[str, object]], open_journal: Callable[[FakeClock], Journal]) -> None:
    clock = FakeClock()
    journal = open_journal(clock)
    live = LiveState(CounterState({}))
    journal.on_committed(live.on_committed)
    all_ids: list[int] = []
    for op, arg in ops:
        if op == "persist":
            assert isinstance(arg, list)
            stamped = journal.persist_sync([counted(k, d) for k, d in arg])
            all_ids += [s.event_id for s in stamped]
            clock.now += 1
        elif op == "snapshot":
            at = journal.last_event_id
            assert journal.take_snapshot(live.state.snapshot_objects(), at_event_id=at) == at
        elif op == "clock_back":
            assert isinstance(arg, int)
            clock.now -= arg
        else:
            journal.close()
            journal = open_journal(clock)
            rec = journal.recovered
            # snapshot + tail equals the live state
            assert recovered_state(rec.snapshot, rec.events) == live.state
            live = LiveState(recovered_state(rec.snapshot, rec.events))
            journal.on_committed(live.on_committed)
    assert all_ids == sorted(set(all_ids)), "EventIds strictly increase, across restarts too"
    everything = journal.read(0)
    assert not isinstance(everything, Problem)
    # full replay (nothing released) equals snapshot + tail and the live state
    assert recovered_state([], everything) == live.state
    assert journal.last_event_id == (all_ids[-1] if all_ids else 0)
    journal.close()


@settings(max_examples=60, deadline=None)
@given(operations)
def test_memory_journal_properties(ops: list[tuple[str, object]]) -> None:
    store = MemoryStore()
    run(ops, lambda clock: MemoryJournal.open(store, clock=clock))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations)
def test_file_journal_properties(ops: list[tuple[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        run(ops, lambda clock: FileJournal.open(directory, clock=clock))
        assert verify(directory).ok
        replayed = replay(directory, CounterState, progress=False)
        assert replayed.ok, replayed.problems
        with FileJournal.open(directory) as journal:
            rec = journal.recovered
            assert replayed.state == recovered_state(rec.snapshot, rec.events)
