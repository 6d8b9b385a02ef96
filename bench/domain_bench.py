"""Domain benchmark: recovery and throughput with REAL domain state; prints ONE JSON document.

    .venv/bin/python bench/domain_bench.py [--quick] [--dir DIR]

A journal of 1,000,000 domain events (100,000 with --quick) is built with the real domain: a one-job
workflow deployed through UpdateItems, orders added (AddOrders) and marked for deletion
(DeleteOrdersWhenTerminated) in batches, run to OrderFinished and OrderDeleted by the Controller and
one Agent in one state, and a realistic number of orders kept waiting (scheduled for tomorrow, Fresh,
attached) so that the snapshot is big. Then recovery (without and with a snapshot) and the offline
replay are measured in fresh subprocesses, and the pure domain's throughput beside the journal's.
Progress goes to stderr. Nothing is asserted; see bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import peak_rss_mib, profile_top, raw_fdatasync_rate, run_json_subprocess
from js7es.domain.commands import Command, execute
from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.orders import AddOrders, DeleteOrdersWhenTerminated, FreshOrder
from js7es.domain.event import KeyedEvent, Stamped, stamped_from_json, stamped_to_json
from js7es.domain.order.context import Context
from js7es.domain.order.event_source import follow_up
from js7es.domain.order.events import (
    OrderAttached,
    OrderDetached,
    OrderEvent,
    OrderProcessed,
    OrderProcessingStarted,
)
from js7es.domain.order.outcome import Succeeded
from js7es.domain.order.states import Processing, Ready
from js7es.domain.problem import Problem, orthrow
from js7es.domain.state import ControllerState
from js7es.domain.value import dumps, loads, value_from_json
from js7es.journal import FileJournal
from js7es.journal.tools import replay

AGENT = "agent-1"
WORKFLOW_PATH = "order-pipeline"
WORKFLOW = {
    "path": WORKFLOW_PATH,
    "orderPreparation": {
        "parameters": {
            "customer": {"type": "String"},
            "amount": {"type": "Number"},
        }
    },
    "instructions": [{"TYPE": "Execute.Named", "jobName": "process"}],
    "jobs": {
        "process": {
            "agentPath": AGENT,
            "executable": {"TYPE": "ShellScriptExecutable", "script": "#!/bin/sh\necho processing $CUSTOMER\n"},
            "parallelism": 100,
        }
    },
}
DAY_MS = 86_400_000


def log(message: str) -> None:
    print(f"[domain_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class Nodes:
    """The Controller and one Agent in one ControllerState, as tests/domain/simulator.py plays them, but
    driving only the orders of one batch (the Simulator visits every order of the state each round).

    Each party's events of a round are handed to `sink` as one commit: the command's events, the
    Controller's (OrderDetached taken from the Agent, then its follow-up), the Agent's (OrderAttached,
    its follow-up, the processes it starts) and the processes' ends (OrderProcessed and the Agent's
    follow-up). The state is changed as the events are decided (the node's uncommitted state).
    """

    def __init__(self, sink: Callable[[list[KeyedEvent]], None]) -> None:
        self.state = ControllerState()
        self.sink = sink
        self.events = 0
        self.commits = 0
        self.outcome = Succeeded(named_values={"returnCode": 0})

    def _commit(self, events: list[KeyedEvent]) -> None:
        if events:
            self.events += len(events)
            self.commits += 1
            self.sink(events)

    def ctx(self, here: str | None = None) -> Context:
        return Context(now_ms=wall_ms(), here=here)

    def command(self, command: Command) -> None:
        decided = orthrow(execute(self.state, command, self.ctx()))
        self._commit(list(decided.events))

    def deploy(self) -> None:
        operations = [
            {"TYPE": "AddVersion", "versionId": "v1"},
            {"TYPE": "AddOrChangeSimple", "item": {"TYPE": "AgentRef", "path": AGENT, "uri": "https://agent-1:4443"}},
            {"TYPE": "AddOrChangeSimple", "item": WORKFLOW},
        ]
        self.command(UpdateItems(operations=tuple(value_from_json(o) for o in operations)))

    def _emit(self, events: list[KeyedEvent], order_id: str, event: OrderEvent) -> None:
        problem = self.state.apply_event(order_id, event)
        if problem is not None:
            raise AssertionError(str(problem))
        events.append(KeyedEvent(order_id, event))

    def add(self, ids: Sequence[str], *, scheduled_for: int | None = None, delete: bool = True) -> None:
        fresh = tuple(
            FreshOrder(
                id=order_id,
                workflow_path=WORKFLOW_PATH,
                arguments={"customer": f"customer-{k % 997}", "amount": 100 + k % 50},
                scheduled_for=scheduled_for,
            )
            for k, order_id in enumerate(ids)
        )
        self.command(AddOrders(orders=fresh))
        if delete:  # before they finish, so that OrderDeleted follows OrderFinished and the state stays bounded
            self.command(DeleteOrdersWhenTerminated(order_ids=tuple(ids)))

    def settle(self, ids: Sequence[str]) -> None:
        """Rounds of Controller, Agent and job processes over `ids` until none of them moves."""
        state = self.state
        orders = state.orders
        while True:
            before = self.events
            # Controller: takes the orders the Agent gave back, then follows up (OrderFinished, OrderDeleted).
            events: list[KeyedEvent] = []
            for order_id in ids:
                order = orders.get(order_id)
                if order is not None and order.attached is not None and order.attached.kind == "Detaching":
                    self._emit(events, order_id, OrderDetached())
            events.extend(follow_up(state, ids, self.ctx()))
            self._commit(events)
            # Agent: takes the orders attached to it, follows up and starts the processes.
            events = []
            for order_id in ids:
                order = orders.get(order_id)
                if order is not None and order.attached is not None and order.attached.kind == "Attaching":
                    self._emit(events, order_id, OrderAttached(agent_path=AGENT))
            events.extend(follow_up(state, ids, self.ctx(AGENT)))
            for order_id in ids:
                order = orders.get(order_id)
                if order is not None and isinstance(order.state, Ready) and order.is_attached_to(AGENT):
                    self._emit(events, order_id, OrderProcessingStarted(subagent_id=f"{AGENT}-0"))
            self._commit(events)
            # The processes end (the job succeeds at once): OrderProcessed, then the Agent's follow-up.
            events = []
            for order_id in ids:
                order = orders.get(order_id)
                if order is not None and isinstance(order.state, Processing):
                    self._emit(events, order_id, OrderProcessed(outcome=self.outcome))
            events.extend(follow_up(state, ids, self.ctx(AGENT)))
            self._commit(events)
            if self.events == before:
                return


class JournalSink:
    """Persists each commit; `strict` waits for each to be durable, else only for the batch's last one."""

    def __init__(self, journal: FileJournal, *, strict: bool) -> None:
        self.journal = journal
        self.strict = strict
        self.last: Future[list[Stamped]] | None = None

    def __call__(self, events: list[KeyedEvent]) -> None:
        if self.strict:
            self.journal.persist_sync(events)
        else:
            self.last = self.journal.persist(events)

    def wait(self) -> None:
        if self.last is not None:
            self.last.result()
            self.last = None


def add_waiting(nodes: Nodes, n: int, sink: JournalSink | None = None, batch: int = 1000) -> None:
    """`n` orders scheduled for tomorrow: OrderAdded, OrderAttachable, OrderAttached; then they wait (Fresh)."""
    for offset in range(0, n, batch):
        ids = [f"waiting-{k:07d}" for k in range(offset, min(n, offset + batch))]
        nodes.add(ids, scheduled_for=wall_ms() + DAY_MS, delete=False)
        nodes.settle(ids)
        if sink is not None:
            sink.wait()


def run_orders(nodes: Nodes, prefix: str, batch: int, *, seconds: float, sink: JournalSink | None = None) -> int:
    n = 0
    ids: list[str] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        ids = [f"{prefix}-{k:08d}" for k in range(n, n + batch)]
        nodes.add(ids)
        nodes.settle(ids)
        if sink is not None:
            sink.wait()
        n += batch
    if any(order_id in nodes.state.orders for order_id in ids):
        raise AssertionError("orders were not deleted")
    return n


# ---------------------------------------------------------------------------------------------------
# Throughput


def throughput(
    base: Path, batch: int, seconds: float, *, journal: str | None = None, waiting: int = 0, profile: bool = False
) -> dict[str, Any]:
    """Orders/s through the one-job workflow; `journal` None (pure domain), "group" or "strict"."""
    directory = base / "throughput"
    shutil.rmtree(directory, ignore_errors=True)
    fj = FileJournal.open(directory) if journal else None
    sink = JournalSink(fj, strict=journal == "strict") if fj else None
    nodes = Nodes(sink if sink is not None else lambda events: None)
    profiler = cProfile.Profile() if profile else None
    try:
        nodes.deploy()
        add_waiting(nodes, waiting, sink)
        run_orders(nodes, "warmup", batch, seconds=0.2, sink=sink)
        events0, commits0 = nodes.events, nodes.commits
        start = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        n = run_orders(nodes, "order", batch, seconds=seconds, sink=sink)
        if profiler is not None:
            profiler.disable()
        elapsed = time.perf_counter() - start
    finally:
        if fj is not None:
            fj.close()
        shutil.rmtree(directory, ignore_errors=True)
    events = nodes.events - events0
    result: dict[str, Any] = {
        "ordersPerBatch": batch,
        "waitingOrdersInState": waiting,
        "journal": {None: "none", "group": "persist each commit, wait per batch", "strict": "persist_sync each commit"}[
            journal
        ],
        "ordersPerSecond": round(n / elapsed),
        "eventsPerSecond": round(events / elapsed),
        "eventsPerOrder": round(events / n, 2),
        "commitsPerSecond": round((nodes.commits - commits0) / elapsed),
    }
    if profiler is not None:
        result["profileTop15Cumulative"] = profile_top(profiler, 15)
    return result


# ---------------------------------------------------------------------------------------------------
# The journal of 1,000,000 events, its snapshot, recovery and replay


def build(directory: Path, n_events: int, n_waiting: int, batch: int) -> dict[str, Any]:
    journal = FileJournal.open(directory)
    sink = JournalSink(journal, strict=False)
    nodes = Nodes(sink)
    sample: collections.deque[Stamped] = collections.deque(maxlen=100_000)

    def committed(stamped: list[Stamped]) -> None:
        nodes.state.last_event_id = stamped[-1].event_id  # the committed position of the state
        sample.extend(stamped)

    journal.on_committed(committed)
    start = time.perf_counter()
    nodes.deploy()
    add_waiting(nodes, n_waiting, sink)
    log(f"{n_waiting} waiting orders added ({nodes.events} events)")
    n = 0
    while nodes.events < n_events:
        ids = [f"order-{k:08d}" for k in range(n, n + batch)]
        nodes.add(ids)
        nodes.settle(ids)
        sink.wait()
        n += batch
        if n % 20_000 == 0:
            log(f"{nodes.events} events, {n} orders run through")
    elapsed = time.perf_counter() - start
    if journal.last_event_id != nodes.state.last_event_id:
        raise AssertionError("the state is not at the journal's last event")
    state_hash = nodes.state.state_hash()
    log(f"built {nodes.events} events in {elapsed:.1f} s")
    result: dict[str, Any] = {
        "events": nodes.events,
        "commits": nodes.commits,
        "ordersRunToDeletion": n,
        "ordersPerBatch": batch,
        "waitingOrders": n_waiting,
        "seconds": round(elapsed, 1),
        "ordersPerSecond": round(n / elapsed),
        "eventsPerSecond": round(nodes.events / elapsed),
        "fileMiB": round(journal.current_path.stat().st_size / 2**20, 1),
        "stateHash": state_hash,
    }

    # The snapshot at the end, then a short tail of events after it (a node snapshots periodically).
    start = time.perf_counter()
    objects = list(nodes.state.snapshot_objects())
    at = orthrow(journal.take_snapshot(objects, at_event_id=nodes.state.last_event_id))
    snapshot_seconds = time.perf_counter() - start
    snapshot_path = journal.current_path
    snapshot: dict[str, Any] = {
        "objects": len(objects),
        "orders": len(nodes.state.orders),
        "atEventId": at,
        "segmentMiB": round(snapshot_path.stat().st_size / 2**20, 1),
        "takeSeconds": round(snapshot_seconds, 2),
    }
    del objects
    tail_start = nodes.events
    for k in range(10):
        ids = [f"tail-{k}-{i:04d}" for i in range(batch)]
        nodes.add(ids)
        nodes.settle(ids)
        sink.wait()
    snapshot["tailEvents"] = nodes.events - tail_start
    snapshot["stateHashWithTail"] = nodes.state.state_hash()
    journal.close()
    return {"build": result, "snapshot": snapshot, "sample": list(sample)}


def recover(directory: Path) -> None:
    """In a fresh process: open the journal, rebuild the ControllerState from its snapshot and events."""
    baseline = peak_rss_mib()
    start = time.perf_counter()
    journal = FileJournal.open(directory)
    opened = time.perf_counter()
    rec = journal.recovered
    state = ControllerState.from_snapshot(rec.snapshot)
    from_snapshot = time.perf_counter()
    for stamped in rec.events:
        applied = state.apply_stamped(stamped)
        if isinstance(applied, Problem):
            raise AssertionError(f"event {stamped.event_id}: {applied}")
    applied_at = time.perf_counter()
    peak = peak_rss_mib()
    snapshot_objects = len(rec.snapshot)
    events = len(rec.events)
    journal.close()
    del rec
    result = {
        "seconds": round(applied_at - start, 3),
        "openSeconds": round(opened - start, 3),
        "fromSnapshotSeconds": round(from_snapshot - opened, 3),
        "applyEventsSeconds": round(applied_at - from_snapshot, 3),
        "snapshotObjects": snapshot_objects,
        "eventsApplied": events,
        "orders": len(state.orders),
        "peakRssMiB": peak,
        "rssBeforeOpenMiB": baseline,
        "fileMiB": round(sum(p.stat().st_size for p in directory.glob("*.journal")) / 2**20, 1),
        "stateHash": state.state_hash(),
    }
    print(json.dumps(result))


def replay_tool(directory: Path) -> None:
    """In a fresh process: js7es.journal.tools.replay of the whole journal (every segment)."""
    start = time.perf_counter()
    result = replay(directory, ControllerState, progress=False)
    elapsed = time.perf_counter() - start
    peak = peak_rss_mib()
    report = result.to_json()
    print(
        json.dumps(
            {
                "seconds": round(elapsed, 3),
                "events": result.event_count,
                "eventsPerSecond": round(result.event_count / elapsed),
                "segments": result.segments,
                "snapshotsCompared": result.snapshots_compared,
                "ok": result.ok,
                "problems": result.problems[:3],
                "peakRssMiB": peak,
                "stateHash": report["stateHash"],
            }
        )
    )


def codec_rates(sample: list[Stamped]) -> dict[str, Any]:
    """JSON encoding (stamped_to_json + value.dumps) and decoding (loads + stamped_from_json)."""
    start = time.perf_counter()
    lines = [dumps(stamped_to_json(s)) for s in sample]
    encoded = time.perf_counter()
    decoded = [stamped_from_json(loads(line)) for line in lines]
    end = time.perf_counter()
    if decoded != sample:
        raise AssertionError("the JSON round trip changed events")
    kinds = collections.Counter(type(s.event).__name__ for s in sample)
    return {
        "events": len(sample),
        "mix": dict(kinds.most_common()),
        "meanBytesPerEvent": round(sum(len(line.encode()) for line in lines) / len(lines)),
        "encodeEventsPerSecond": round(len(sample) / (encoded - start)),
        "decodeEventsPerSecond": round(len(sample) / (end - encoded)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dir", help="directory on the disk to measure (default: a temp dir)")
    parser.add_argument("--recover", help=argparse.SUPPRESS)
    parser.add_argument("--replay", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.recover:
        recover(Path(args.recover))
        return
    if args.replay:
        replay_tool(Path(args.replay))
        return
    quick = args.quick
    seconds = 1.0 if quick else 3.0
    n_events = 100_000 if quick else 1_000_000
    n_waiting = 5_000 if quick else 50_000
    batch = 100
    base = Path(tempfile.mkdtemp(prefix="domain-bench-", dir=args.dir))
    started = time.perf_counter()
    try:
        log(f"raw append+fdatasync in {base}")
        raw = raw_fdatasync_rate(base, seconds)
        report: dict[str, Any] = {
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "quick": quick,
            "directory": str(base),
            "rawAppendFdatasync": raw,
        }

        log("throughput: pure domain")
        pure = [throughput(base, b, seconds) for b in (1, 10, 100, 1000)]
        pure.append(throughput(base, batch, seconds, waiting=n_waiting))
        log("throughput: with the FileJournal")
        journaled = [throughput(base, b, seconds, journal=mode) for mode in ("group", "strict") for b in (1, batch)]
        for j in journaled:
            j["commitRateToRawFsyncRatio"] = round(j["commitsPerSecond"] / raw["appendsPerSecond"], 3)
        log("throughput: profiles")
        profiled = throughput(base, batch, seconds, profile=True)
        profiled_waiting = throughput(base, batch, seconds, waiting=n_waiting, profile=True)
        report["throughput"] = {
            "pureDomain": pure,
            "withFileJournal": journaled,
            "profilePureBatch100": profiled.pop("profileTop15Cumulative"),
            f"profilePureBatch100With{n_waiting}Waiting": profiled_waiting.pop("profileTop15Cumulative"),
        }

        log(f"building a journal of {n_events} events")
        journal_dir = base / "journal"
        built = build(journal_dir, n_events, n_waiting, batch)
        report["codec"] = codec_rates(built.pop("sample"))
        report["journal"] = built["build"]
        report["snapshot"] = built["snapshot"]

        # The same journal without its snapshot: its first segment alone (1,000,000 events, no snapshot).
        without_dir = base / "without-snapshot"
        without_dir.mkdir()
        first = sorted(journal_dir.glob("*.journal"))[0]
        shutil.copyfile(first, without_dir / first.name)
        log("recovery without a snapshot")
        without = run_json_subprocess(__file__, "--recover", str(without_dir))
        without["stateHashMatchesBuilder"] = without.pop("stateHash") == built["build"]["stateHash"]
        shutil.rmtree(without_dir)
        log("recovery with a snapshot")
        with_ = run_json_subprocess(__file__, "--recover", str(journal_dir))
        with_["stateHashMatchesBuilder"] = with_.pop("stateHash") == built["snapshot"]["stateHashWithTail"]
        log("replay of the whole journal")
        replayed = run_json_subprocess(__file__, "--replay", str(journal_dir))
        replayed["stateHashMatchesBuilder"] = replayed.pop("stateHash") == built["snapshot"]["stateHashWithTail"]
        report["journal"].pop("stateHash")
        report["snapshot"].pop("stateHashWithTail")
        report["recovery"] = {
            f"{n_events}EventsWithoutSnapshot": without,
            "withSnapshotAndTail": with_,
            "target": "< 10 s with a snapshot",
        }
        report["replayTool"] = replayed
        report["totalSeconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(report, indent=2))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
