"""Where a Cockpit rebuild's time goes: rebuilds one journal directory N times into a fresh database and
reports per rebuild the wall time, the client's CPU, the PostgreSQL backend's CPU, the cyclic garbage
collector's time and the waits on the server (psycopg's network waits: round trips and COPY flushes).

    .venv/bin/python bench/cockpit_bench.py --quick --keep-journal /tmp/journal   # a journal to rebuild
    .venv/bin/python bench/cockpit_rebuild_profile.py /tmp/journal --runs 4
    .venv/bin/python bench/cockpit_rebuild_profile.py /tmp/journal --database sqlite
    py-spy record --format raw -o rebuild.txt -- .venv/bin/python bench/cockpit_rebuild_profile.py /tmp/journal

The decoded events are held in memory meanwhile, as cockpit_bench.py does (its `projectionOnly` run),
so that the collector meets the same heap. One JSON document on stdout.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg

from js7es.projections.cockpit.database import migrate, open_database, sqlite_url
from js7es.projections.cockpit.projector import Projector
from js7es.projections.cockpit.rebuild import REBUILD_BATCH, journal_events, rebuild

PG_DSN = os.environ.get("JS7ES_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
CONTROLLER_ID = "js7es-test"


class Meter:
    """Seconds in the cyclic collector and psycopg's waits on the server, counted while installed."""

    def __init__(self) -> None:
        self.gc_seconds = 0.0
        self.waits = 0
        self.wait_seconds = 0.0
        self._gc_started = 0.0
        gc.callbacks.append(self._on_gc)
        original = psycopg.Connection.wait
        meter = self

        def wait(self: psycopg.Connection[Any], *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                meter.waits += 1
                meter.wait_seconds += time.perf_counter() - started

        psycopg.Connection.wait = wait  # type: ignore[method-assign]

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_seconds += time.perf_counter() - self._gc_started

    def snapshot(self) -> tuple[float, int, float]:
        return self.gc_seconds, self.waits, self.wait_seconds


def backend_cpu(pid: int) -> float:
    """User + system CPU seconds of a local process (the PostgreSQL backend serving the rebuild)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("journal", type=Path)
    parser.add_argument("--database", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=REBUILD_BATCH)
    args = parser.parse_args()
    meter = Meter()
    held = list(journal_events(args.journal))
    schema_name = f"cockpit_rebuild_profile_{os.getpid()}_{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory(prefix="cockpit-rebuild-profile-") as tmp:
        if args.database == "sqlite":
            engine = open_database(sqlite_url(Path(tmp) / "cockpit.sqlite"))
            migrate(engine)
        else:
            engine = open_database(PG_DSN.replace("postgresql://", "postgresql+psycopg://", 1), schema_name=schema_name)
            migrate(engine, schema_name=schema_name)
        runs: list[dict[str, Any]] = []
        try:
            for _ in range(args.runs):
                pid = 0
                if args.database == "postgres":
                    with engine.connect() as c:  # the pool's one connection: the rebuild's too
                        pid = int(c.exec_driver_sql("SELECT pg_backend_pid()").scalar() or 0)
                server_before = backend_cpu(pid) if pid else 0.0
                gc_before, waits_before, wait_s_before = meter.snapshot()
                cpu_before, started = time.process_time(), time.perf_counter()
                result = rebuild(Projector(engine), CONTROLLER_ID, journal_events(args.journal), batch_size=args.batch)
                wall = time.perf_counter() - started
                gc_after, waits_after, wait_s_after = meter.snapshot()
                runs.append(
                    {
                        "events": result.events,
                        "eventsPerSecond": round(result.events / wall),
                        "wallSeconds": round(wall, 3),
                        "clientCpuSeconds": round(time.process_time() - cpu_before, 3),
                        "serverCpuSeconds": round(backend_cpu(pid) - server_before, 3) if pid else None,
                        "gcSeconds": round(gc_after - gc_before, 3),
                        "serverWaits": waits_after - waits_before,
                        "serverWaitSeconds": round(wait_s_after - wait_s_before, 3),
                        "loadAverage": os.getloadavg()[0],
                    }
                )
                print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
        finally:
            engine.dispose()
            if args.database == "postgres":
                with psycopg.connect(PG_DSN, autocommit=True) as c:
                    c.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')
    report = {"journal": str(args.journal), "heldEvents": len(held), "batch": args.batch, "runs": runs}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
