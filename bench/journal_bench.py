"""Journal benchmark: prints ONE JSON document with each figure beside the disk's own limit.

    .venv/bin/python bench/journal_bench.py [--quick] [--dir DIR]

Nothing is asserted; see bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import peak_rss_mib, profile_top, raw_fdatasync_rate, run_json_subprocess
from js7es.domain import codec
from js7es.domain.event import Event, KeyedEvent
from js7es.journal import FileJournal


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class BenchOrderMoved(Event):
    position: tuple[int | str, ...]
    note: str


def events(n: int, offset: int = 0) -> list[KeyedEvent]:
    return [
        KeyedEvent(f"Order:{(offset + i) % 1000}", BenchOrderMoved(position=(i % 7, "then", 1), note="x" * 20))
        for i in range(n)
    ]


def committed_rate(directory: Path, per_commit: int, seconds: float, raw: float) -> dict[str, Any]:
    shutil.rmtree(directory, ignore_errors=True)
    batch = events(per_commit)
    with FileJournal.open(directory) as journal:
        journal.persist_sync(batch)  # warm up the codec
        commits = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            journal.persist_sync(batch)
            commits += 1
        elapsed = time.perf_counter() - start
    commit_rate = commits / elapsed
    return {
        "eventsPerCommit": per_commit,
        "commitsPerSecond": round(commit_rate),
        "eventsPerSecond": round(commit_rate * per_commit),
        "commitRateToRawFsyncRatio": round(commit_rate / raw, 3),
    }


def concurrent_rate(directory: Path, threads: int, seconds: float, raw: float) -> dict[str, Any]:
    shutil.rmtree(directory, ignore_errors=True)
    counts = [0] * threads
    stop = threading.Event()
    with FileJournal.open(directory) as journal:
        groups = [0]
        journal.on_committed(lambda s: None)

        def write(n: int) -> None:
            batch = events(1, n)
            while not stop.is_set():
                journal.persist_sync(batch)
                counts[n] += 1

        workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        time.sleep(seconds)
        stop.set()
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - start
        del groups
    rate = sum(counts) / elapsed
    return {
        "threads": threads,
        "eventsPerCommit": 1,
        "eventsPerSecond": round(rate),
        "eventRateToRawFsyncRatio": round(rate / raw, 3),
    }


def profile_large_commits(directory: Path, seconds: float) -> list[str]:
    """Top 10 by cumulative time of the calling thread (the writer thread shows up as waiting)."""
    shutil.rmtree(directory, ignore_errors=True)
    batch = events(1000)
    profiler = cProfile.Profile()
    with FileJournal.open(directory) as journal:
        journal.persist_sync(batch)
        start = time.perf_counter()
        profiler.enable()
        while time.perf_counter() - start < seconds:
            journal.persist_sync(batch)
        profiler.disable()
    return profile_top(profiler, 10)


def build_journal(directory: Path, n_events: int, snapshot: bool) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    with FileJournal.open(directory) as journal:
        for offset in range(0, n_events, 1000):
            journal.persist(events(min(1000, n_events - offset), offset))
        journal.persist_sync([])
        while journal.last_event_id == 0 or journal.wait_for(journal.last_event_id, 0.2):
            pass
        if snapshot:
            # The state of 1000 orders, as a node would write it; then a short tail of events.
            objects = [{"TYPE": "BenchOrder", "id": f"Order:{i}", "position": [1, "then", 1]} for i in range(1000)]
            journal.take_snapshot(objects, at_event_id=journal.last_event_id)
            journal.persist_sync(events(1000))


def recover_in_subprocess(directory: Path) -> dict[str, Any]:
    return run_json_subprocess(__file__, "--recover", str(directory))


def recover(directory: Path) -> None:
    start = time.perf_counter()
    journal = FileJournal.open(directory)
    elapsed = time.perf_counter() - start
    rec = journal.recovered
    journal.close()
    result = {
        "seconds": round(elapsed, 3),
        "snapshotObjects": len(rec.snapshot),
        "eventsAfterSnapshot": len(rec.events),
        "peakRssMiB": peak_rss_mib(),
        "fileMiB": round(sum(p.stat().st_size for p in directory.glob("*.journal")) / 2**20, 1),
    }
    print(json.dumps(result))


def eventsourcing_sqlite(directory: Path, seconds: float, raw: float) -> dict[str, Any]:
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class Order(Aggregate):
        @event("Created")
        def __init__(self, name: str) -> None:
            self.name = name
            self.position = 0

        @event("Moved")
        def move(self, position: int) -> None:
            self.position = position

    results: dict[str, Any] = {"eventsourcing": "9.5.6 SQLite file, WAL, synchronous=FULL (its default)"}
    for per_txn in (1, 100):
        db = directory / f"es-{per_txn}.sqlite"
        app = Application(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)})
        order = Order("o")
        app.save(order)
        n = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(per_txn):
                order.move(n)
                n += 1
            app.save(order)
        elapsed = time.perf_counter() - start
        app.close()
        rate = n / elapsed
        results[f"eventsPerSecondAt{per_txn}PerTransaction"] = round(rate)
        results[f"transactionRateToRawFsyncRatioAt{per_txn}"] = round(rate / per_txn / raw, 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dir", help="directory on the disk to measure (default: a temp dir)")
    parser.add_argument("--recover", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.recover:
        recover(Path(args.recover))
        return
    seconds = 1.0 if args.quick else 3.0
    n_recovery = 100_000 if args.quick else 1_000_000
    base = Path(tempfile.mkdtemp(prefix="journal-bench-", dir=args.dir))
    try:
        raw = raw_fdatasync_rate(base, seconds)
        raw_rate = raw["appendsPerSecond"]
        report: dict[str, Any] = {
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "quick": args.quick,
            "directory": str(base),
            "rawAppendFdatasync": raw,
            "singleWriter": [committed_rate(base / "j", k, seconds, raw_rate) for k in (1, 10, 100, 1000)],
            "concurrentWriters": concurrent_rate(base / "j", 64, seconds, raw_rate),
            "profile1000PerCommitTop10Cumulative": profile_large_commits(base / "j", seconds),
        }
        recovery = {}
        for snapshot in (False, True):
            build_journal(base / "r", n_recovery, snapshot)
            key = f"{n_recovery}Events" + ("WithSnapshot" if snapshot else "WithoutSnapshot")
            recovery[key] = recover_in_subprocess(base / "r")
        report["recovery"] = recovery
        report["eventsourcingSqlite"] = eventsourcing_sqlite(base, seconds, raw_rate)
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
