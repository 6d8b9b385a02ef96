"""FileWatch benchmark: files → orders started. Prints ONE JSON document (nothing is asserted; see
bench/README.md).

    .venv/bin/python bench/filewatch_bench.py [--quick] [--files N] [--dir DIR]

1. `pureDomain`: the Controller's domain alone: the Agent's ExternalOrderAppeared events adopted in
   batches of 500 (as the AgentDriver does: adopted_order_watch_events, apply, order_watch_follow_up:
   OrderAdded with the externalOrderKey and OrderAttachable), without a journal and through a
   FileJournal (one commit per batch, fdatasync).
2. `nodes`: a real Controller and Agent (processes, mutual TLS, fsync on), FileWatches and the
   in-process job `empty`. `burst`: N files dropped at once into a watched directory (written under a
   hidden name, renamed), from the first file to the last order's OrderProcessingStarted (the
   Controller's event timestamps): files → orders started per second, bounded by how fast this process
   writes the files too (`droppingSeconds`). `backlog`: N files already in a directory when its
   FileWatch is added (they count, as in JS7): the pipeline's own rate. Also when the Agent had
   announced them all (ExternalOrderAppeared) and the orders were added.
Beside: the machine's raw append+fdatasync rate on the same disk.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine, raw_fdatasync_rate
from js7es.domain.agent.translate import adopted_order_watch_events
from js7es.domain.commands import execute
from js7es.domain.commands.items import UpdateItems
from js7es.domain.event import KeyedEvent
from js7es.domain.order.context import Context
from js7es.domain.orderwatch.decide import order_watch_follow_up
from js7es.domain.orderwatch.events import ExternalOrderAppeared
from js7es.domain.problem import Problem, orthrow
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json

AGENT = "agent"
INTERNAL = {"TYPE": "InternalExecutable", "className": "js7es.nodes.subagent.builtin_jobs:empty"}
WORKFLOW = {
    "path": "on-file",
    "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
    "jobs": {"J": {"agentPath": AGENT, "executable": INTERNAL, "processLimit": 1000}},
}
BATCH = 500


def progress(message: str) -> None:
    print(f"[filewatch_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def file_watch(directory: str) -> dict[str, Any]:
    return {
        "TYPE": "FileWatch",
        "path": "inbox",
        "agentPath": AGENT,
        "workflowPath": "on-file",
        "directoryExpr": json.dumps(directory),
    }


def pure_domain(files: int, journal_dir: Path | None) -> dict[str, Any]:
    from js7es.journal.file import FileJournal

    state = ControllerState()
    journal = FileJournal.open(journal_dir) if journal_dir is not None else None
    ctx = Context(now_ms=time.time_ns() // 1_000_000)
    operations = [
        {"TYPE": "AddVersion", "versionId": "v1"},
        {"TYPE": "AddOrChangeSimple", "item": {"TYPE": "AgentRef", "path": AGENT, "uri": "https://agent:4443"}},
        {"TYPE": "AddOrChangeSimple", "item": WORKFLOW},
        {"TYPE": "AddOrChangeSimple", "item": file_watch("/data/in")},
    ]
    setup = orthrow(execute(state, UpdateItems(operations=tuple(value_from_json(o) for o in operations)), ctx))
    if journal is not None:
        journal.persist_sync(list(setup.events))
    names = [f"file-{i:07}" for i in range(files)]
    commits = events_total = 0
    start = time.perf_counter()
    for at in range(0, files, BATCH):
        appeared = [
            KeyedEvent("inbox", ExternalOrderAppeared(external_order_name=n, arguments={"file": f"/data/in/{n}"}))
            for n in names[at : at + BATCH]
        ]
        adopted = adopted_order_watch_events(state, appeared)
        assert not isinstance(adopted, Problem), adopted
        events = list(adopted)
        for keyed in events:
            assert state.apply_event(keyed.key, keyed.event) is None
        events.extend(order_watch_follow_up(state, ctx))
        commits += 1
        events_total += len(events)
        if journal is not None:
            journal.persist_sync(events)
    elapsed = time.perf_counter() - start
    if journal is not None:
        journal.close()
    assert len(state.orders) == files, len(state.orders)
    return {
        "files": files,
        "seconds": round(elapsed, 3),
        "ordersAddedPerSecond": round(files / elapsed),
        "eventsPerFile": round(events_total / files, 2),
        "commits": commits,
    }


def nodes(files: int, base: Path) -> dict[str, Any]:
    from tests.e2e.topology import Topology

    topology = Topology(base / "nodes")
    try:
        topology.start_all()
        response = topology.deploy(WORKFLOW, version="1")
        if response.status_code != 200:
            raise RuntimeError(f"deploy: {response.status_code} {response.text}")
        burst = _watch(topology, base, "burst")
        warm = [f"warm-{i}" for i in range(20)]
        _drop(burst, warm)
        seen = topology.wait_for(lambda es: sum(e["TYPE"] == "OrderFinished" for e in es) >= len(warm), timeout=60)
        after = seen[-1]["eventId"]
        # a) files dropped into the watched directory: bounded by how fast they arrive too
        names = [f"file-{i:07}" for i in range(files)]
        dropped_at_ms = time.time_ns() // 1_000_000
        _drop(burst, names)
        dropped_s = time.time_ns() / 1e9 - dropped_at_ms / 1000
        events, after = _events_until_started(topology, after, files)
        result = {"burst": {"files": files, "droppingSeconds": round(dropped_s, 3), **_rates(events, dropped_at_ms)}}
        # b) a backlog: the files are there when the FileWatch is added (they count, as in JS7)
        backlog_dir = base / "backlog"
        backlog_dir.mkdir()
        _drop(backlog_dir, names)
        added_at_ms = time.time_ns() // 1_000_000
        _watch(topology, base, "backlog")
        events, _ = _events_until_started(topology, after, files)
        result["backlog"] = {"files": files, **_rates(events, added_at_ms)}
        return result
    finally:
        topology.stop_all()


def _watch(topology: Any, base: Path, name: str) -> Path:
    directory = base / name
    directory.mkdir(exist_ok=True)
    with topology.controller() as c:
        item = {"TYPE": "AddOrChangeSimple", "item": {**file_watch(str(directory)), "path": name}}
        response = c.post("/controller/api/item", json=[item])
        if response.status_code != 200:
            raise RuntimeError(f"FileWatch: {response.status_code} {response.text}")
    return directory


def _events_until_started(topology: Any, after: int, files: int) -> tuple[list[dict[str, Any]], int]:
    deadline = time.monotonic() + 600
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        events.extend(topology.events(after=events[-1]["eventId"] if events else after, timeout=2))
        if sum(e["TYPE"] == "OrderProcessingStarted" for e in events) >= files:
            break
    return events, events[-1]["eventId"]


def _rates(events: list[dict[str, Any]], from_ms: int) -> dict[str, Any]:
    started = [e["eventId"] // 1000 for e in events if e["TYPE"] == "OrderProcessingStarted"]
    appeared = [e["eventId"] // 1000 for e in events if e["TYPE"] == "ExternalOrderAppeared"]
    added = [e["eventId"] // 1000 for e in events if e["TYPE"] == "OrderAdded"]
    files = len(added)
    assert len(started) == files == len(appeared), (len(started), len(appeared), len(added))
    span_s = max(1, max(started) - from_ms) / 1000
    return {
        "secondsToLastOrderStarted": round(span_s, 3),
        "filesToOrdersStartedPerSecond": round(files / span_s),
        "filesToOrdersAddedPerSecond": round(files * 1000 / max(1, max(added) - from_ms)),
        "agentAnnouncedAllAfterSeconds": round((max(appeared) - from_ms) / 1000, 3),
        "controllerEventsPerFile": round(len(events) / files, 1),
    }


def _drop(directory: Path, names: list[str]) -> None:
    for name in names:
        hidden = directory / f".{name}"
        hidden.write_text(name)
        hidden.rename(directory / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer files")
    parser.add_argument("--files", type=int, help="files (default 5000, --quick 1000)")
    parser.add_argument("--dir", help="directory on the disk to measure (default: a temp dir)")
    args = parser.parse_args()
    files = args.files or (1000 if args.quick else 5000)
    base = Path(tempfile.mkdtemp(prefix="filewatch-bench-", dir=args.dir))
    report: dict[str, Any] = {"machine": machine(), "directory": str(base), "target": ">= 500 files -> orders/s"}
    progress("machine limit: append+fdatasync")
    report["rawAppendFdatasync"] = raw_fdatasync_rate(base, 1.0 if args.quick else 3.0)
    progress(f"1. pure domain, {files} files")
    report["pureDomain"] = {
        "noJournal": pure_domain(files, None),
        "fileJournal": pure_domain(files, base / "journal"),
    }
    progress(f"2. real Controller and Agent, {files} files")
    report["nodes"] = nodes(files, base)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
