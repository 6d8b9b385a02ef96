"""Crash-test writer: appends commits of known size from several threads until it is killed.

Usage: python crash_writer.py DIRECTORY ROUND THREADS
Prints "ready", then one line "<writer> <seq> <size> <firstEventId> <lastEventId>" per commit, flushed,
only after the commit's future completed (so every printed commit is acknowledged as durable).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from js7es.domain.event import KeyedEvent
from js7es.journal import FileJournal
from tests.journal.support import CounterState, LiveState, TestCrashWritten, recovered_state


def main() -> None:
    directory, round_, threads = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    journal = FileJournal.open(directory)
    rec = journal.recovered
    live = LiveState(recovered_state(rec.snapshot, rec.events))
    journal.on_committed(live.on_committed)
    out_lock = threading.Lock()

    def write(n: int) -> None:
        writer = f"r{round_}w{n}"
        for seq in range(1_000_000):
            size = 1 + (seq + n) % 4
            events = [KeyedEvent(writer, TestCrashWritten(writer=writer, seq=seq, index=i, size=size))
                      for i in range(size)]  # fmt: skip
            stamped = journal.persist_sync(events)
            with out_lock:
                sys.stdout.write(f"{writer} {seq} {size} {stamped[0].event_id} {stamped[-1].event_id}\n")
                sys.stdout.flush()

    def snapshot() -> None:
        while True:
            journal.snapshot_async(lambda: list(live.state.snapshot_objects())).result()
            threading.Event().wait(0.05)

    print("ready", flush=True)
    workers = [threading.Thread(target=write, args=(n,), daemon=True) for n in range(threads)]
    workers.append(threading.Thread(target=snapshot, daemon=True))
    for w in workers:
        w.start()
    for w in workers:
        w.join()


if __name__ == "__main__":
    assert CounterState  # the state class must be importable in the child
    main()
