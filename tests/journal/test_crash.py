"""Crash test: SIGKILL a loaded writer process at random moments, recover, and check every commit.

Each round kills a writer of four threads committing and a thread taking a snapshot every 50 ms, at a
random moment 0.05-0.5 s after it started: inside a group's write or fdatasync, inside a snapshot's
new segment, or between them. Up to 30 rounds within 20 s, at least 10 (each round verifies and
recovers the whole journal so far, so later rounds cost more; 50 s of rounds took up to a minute
beside the rest of the suite). A kill at each byte of a commit is test_file_journal's torn-tail test.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from js7es.domain.problem import Problem
from js7es.journal import FileJournal
from js7es.journal.tools import verify
from tests.journal.support import TestCrashWritten, recovered_state

WRITER = Path(__file__).with_name("crash_writer.py")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_sigkill_under_load_loses_no_acknowledged_commit(tmp_path: Path) -> None:
    rng = random.Random(7)
    acknowledged: dict[tuple[str, int], tuple[int, int, int]] = {}
    started = time.monotonic()
    rounds = 0
    for round_ in range(30):
        if time.monotonic() - started > 20:
            break
        rounds += 1
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(tmp_path), str(round_), "4"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # Unbuffered: readline() then takes "ready" and not a line more. A buffered reader could hold
            # lines that the writer printed at once after it, which communicate() (reading the pipe
            # itself) never sees: its output then began inside a line (seen on a crowded machine).
            bufsize=0,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n", proc.stderr.read() if proc.stderr else b""
        time.sleep(rng.uniform(0.05, 0.5))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, err.decode()
        for line in out.decode().split("\n")[:-1]:  # complete lines only: the last may be cut by the kill
            writer, seq, size, first, last = line.split()
            acknowledged[(writer, int(seq))] = (int(size), int(first), int(last))

        result = verify(tmp_path)
        assert result.ok, result.to_json()
        with FileJournal.open(tmp_path) as journal:
            events = journal.read(0)
            assert not isinstance(events, Problem)
            stamped = list(events)
            ids = [s.event_id for s in stamped]
            assert ids == sorted(set(ids)), "EventIds strictly increase"
            commits: dict[tuple[str, int], list[tuple[int, int, int]]] = defaultdict(list)
            for s in stamped:
                e = s.event
                assert isinstance(e, TestCrashWritten)
                commits[(e.writer, e.seq)].append((e.index, e.size, s.event_id))
            for key, parts in commits.items():
                size = parts[0][1]
                assert [p[0] for p in parts] == list(range(size)), f"commit {key} is not all-or-nothing"
                assert parts[-1][2] - parts[0][2] == size - 1, f"commit {key} is not contiguous"
            for key, (size, first, last) in acknowledged.items():
                assert key in commits, f"acknowledged commit {key} lost"
                assert (commits[key][0][2], commits[key][-1][2], len(commits[key])) == (first, last, size)
            rec = journal.recovered
            assert recovered_state(rec.snapshot, rec.events) == recovered_state([], stamped)
    print(f"{rounds} rounds, {len(acknowledged)} acknowledged commits in {time.monotonic() - started:.1f} s")
    assert rounds >= 10
    assert len(acknowledged) > 100
