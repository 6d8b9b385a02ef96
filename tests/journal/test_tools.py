"""Offline tools: dump, replay (verify is exercised with the corruption tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from js7es.domain.event import stamped_to_json
from js7es.journal import FileJournal
from js7es.journal.tools import DUMP_FORMATS, dump, register_dump_format, replay, verify
from tests.journal.support import CounterState, LiveState, counted


def _journal_with_two_snapshots(directory: Path) -> tuple[LiveState, list[dict[str, object]]]:
    live = LiveState(CounterState({}))
    stamped = []
    with FileJournal.open(directory) as journal:
        journal.on_committed(live.on_committed)
        for round_ in range(3):
            for i in range(10):
                stamped += journal.persist_sync([counted(f"k{i % 3}", i), counted("z", round_)])
            if round_ < 2:
                journal.take_snapshot(live.state.snapshot_objects(), at_event_id=journal.last_event_id)
    return live, [stamped_to_json(s) for s in stamped]


def test_dump_json_lines_across_segments(tmp_path: Path) -> None:
    _, expected = _journal_with_two_snapshots(tmp_path)
    assert [json.loads(line) for line in dump(tmp_path)] == expected
    after = expected[24]["eventId"]
    assert isinstance(after, int)
    assert [json.loads(line) for line in dump(tmp_path, after=after)] == expected[25:]


def test_dump_format_hook(tmp_path: Path) -> None:
    _journal_with_two_snapshots(tmp_path)
    register_dump_format("ids", lambda events: (str(s.event_id) for s in events))
    try:
        assert len(list(dump(tmp_path, fmt="ids"))) == 60
    finally:
        del DUMP_FORMATS["ids"]
    with pytest.raises(ValueError, match="unknown dump format"):
        dump(tmp_path, fmt="nope")


def test_replay_proves_snapshots(tmp_path: Path) -> None:
    live, _ = _journal_with_two_snapshots(tmp_path)
    result = replay(tmp_path, CounterState, progress=False)
    assert result.ok, result.problems
    assert result.state == live.state
    assert result.event_count == 60 and result.snapshots_compared == 2
    assert result.to_json()["summary"] == {"keys": 4, "events": 60, "eventId": live.state.event_id}
    assert verify(tmp_path).to_json()["ok"] is True


def test_replay_finds_a_snapshot_that_differs(tmp_path: Path) -> None:
    with FileJournal.open(tmp_path) as journal:
        journal.persist_sync([counted("a", 1)])
        wrong = [{"TYPE": "TestCounter", "key": "a", "count": 2}]
        journal.take_snapshot(wrong, at_event_id=journal.last_event_id)
    result = replay(tmp_path, CounterState, progress=False)
    assert not result.ok
    assert "differs from the replayed state" in result.problems[0]
