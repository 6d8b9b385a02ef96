"""Lock hand-over benchmark: one order gives an exclusive lock back, the next waiting order takes it and
starts its job. Prints ONE JSON document (nothing is asserted; see bench/README.md).

    .venv/bin/python bench/lock_bench.py [--quick] [--orders N] [--dir DIR]

1. `pureDomain`: the Controller and one Agent in one ControllerState (as bench/domain_bench.py plays
   them): N orders queue for a Lock of limit 1 around the in-process job; each round is one hand-over
   (Controller: OrderDetached, OrderLocksReleased, the next order's OrderLocksAcquired and
   OrderAttachable; Agent: OrderAttached, OrderProcessingStarted; the job's end: OrderProcessed,
   OrderMoved, OrderDetachable), without a journal and through a FileJournal (one commit per party,
   fdatasync each: three per hand-over).
2. `nodes`: a real Controller and Agent (processes, mutual TLS, fsync on) and the in-process job
   `empty`: N orders added at once queue for the lock; hand-overs/s from the Controller's
   OrderLocksAcquired timestamps, first to last.
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
from js7es.domain.commands import execute
from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.orders import AddOrders, FreshOrder
from js7es.domain.event import KeyedEvent
from js7es.domain.order.context import Context
from js7es.domain.order.event_source import follow_up
from js7es.domain.order.events import OrderAttached, OrderDetached, OrderProcessed, OrderProcessingStarted
from js7es.domain.order.outcome import Succeeded
from js7es.domain.order.states import Ready
from js7es.domain.problem import orthrow
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json

AGENT = "agent"
INTERNAL = {"TYPE": "InternalExecutable", "className": "js7es.nodes.subagent.builtin_jobs:empty"}
LOCK = {"TYPE": "Lock", "path": "L", "limit": 1}
WORKFLOW = {
    "path": "locked",
    "instructions": [
        {
            "TYPE": "Lock",
            "demands": [{"lockPath": "L"}],
            "lockedWorkflow": {"instructions": [{"TYPE": "Execute.Named", "jobName": "J"}]},
        }
    ],
    "jobs": {"J": {"agentPath": AGENT, "executable": INTERNAL, "processLimit": 1000}},
}


def progress(message: str) -> None:
    print(f"[lock_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pure_domain(orders: int, journal_dir: Path | None) -> dict[str, Any]:
    """Hand-overs/s of the domain alone (journal_dir None) or through a FileJournal."""
    from js7es.journal.file import FileJournal

    state = ControllerState()
    journal = FileJournal.open(journal_dir) if journal_dir is not None else None
    commits = 0
    events_total = 0

    def commit(events: list[KeyedEvent]) -> None:
        nonlocal commits, events_total
        if not events:
            return
        commits += 1
        events_total += len(events)
        if journal is not None:
            journal.persist_sync(events)

    def ctx(here: str | None = None) -> Context:
        return Context(now_ms=time.time_ns() // 1_000_000, here=here)

    def emit(events: list[KeyedEvent], order_id: str, event: Any) -> None:
        problem = state.apply_event(order_id, event)
        assert problem is None, problem
        events.append(KeyedEvent(order_id, event))

    operations = [
        {"TYPE": "AddVersion", "versionId": "v1"},
        {"TYPE": "AddOrChangeSimple", "item": {"TYPE": "AgentRef", "path": AGENT, "uri": "https://agent:4443"}},
        {"TYPE": "AddOrChangeSimple", "item": LOCK},
        {"TYPE": "AddOrChangeSimple", "item": WORKFLOW},
    ]
    commit(
        list(
            orthrow(execute(state, UpdateItems(operations=tuple(value_from_json(o) for o in operations)), ctx())).events
        )
    )
    fresh = tuple(FreshOrder(id=f"o{i:06}", workflow_path="locked", delete_when_terminated=True) for i in range(orders))
    commit(list(orthrow(execute(state, AddOrders(orders=fresh), ctx())).events))
    outcome = Succeeded(named_values={"returnCode": 0})
    start = time.perf_counter()
    handovers = 0
    holder = getattr(state.locks["L"].acquired, "order_id", None)  # the first order took the lock
    while holder is not None:
        order = state.orders[holder]
        # Controller: the holder is attachable (or back from the Agent): attach it
        events: list[KeyedEvent] = []
        if order.attached is not None and order.attached.kind == "Attaching":
            emit(events, holder, OrderAttached(agent_path=AGENT))
        # Agent: start the job, and it ends at once (the in-process `empty`)
        events.extend(follow_up(state, [holder], ctx(AGENT)))
        emit(events, holder, OrderProcessingStarted(subagent_id=AGENT))
        commit(events)
        events = []
        emit(events, holder, OrderProcessed(outcome=outcome))
        events.extend(follow_up(state, [holder], ctx(AGENT)))  # OrderMoved, OrderDetachable
        commit(events)
        # Controller: OrderDetached, release, finish, delete; the next one acquires and is attachable
        events = []
        emit(events, holder, OrderDetached())
        events.extend(follow_up(state, [holder], ctx()))
        commit(events)
        handovers += 1
        acquired = state.locks["L"].acquired
        holder = getattr(acquired, "order_id", None)
        if holder is not None and not isinstance(state.orders[holder].state, Ready):
            raise AssertionError(f"{holder} is {state.orders[holder].state}")
    elapsed = time.perf_counter() - start
    if journal is not None:
        journal.close()
    assert not state.orders, f"{len(state.orders)} orders left"
    return {
        "orders": orders,
        "handovers": handovers,
        "seconds": round(elapsed, 3),
        "handoversPerSecond": round(handovers / elapsed),
        "commitsPerHandover": round(commits / max(handovers, 1), 2),
        "eventsPerHandover": round(events_total / max(handovers, 1), 2),
    }


def nodes(orders: int, base: Path) -> dict[str, Any]:
    from tests.e2e.topology import Topology

    topology = Topology(base / "nodes")
    try:
        topology.start_all()
        response = topology.deploy(LOCK, WORKFLOW, version="1")
        if response.status_code != 200:
            raise RuntimeError(f"deploy: {response.status_code} {response.text}")
        warm = [{"id": f"warm-{i}", "workflowPath": "locked", "deleteWhenTerminated": True} for i in range(20)]
        with topology.controller() as c:
            assert c.post("/controller/api/order", json=warm).status_code == 200
        seen = topology.wait_for(lambda es: sum(e["TYPE"] == "OrderDeleted" for e in es) >= len(warm), timeout=60)
        after = seen[-1]["eventId"]
        body = [{"id": f"o{i:06}", "workflowPath": "locked", "deleteWhenTerminated": True} for i in range(orders)]
        with topology.controller() as c:
            assert c.post("/controller/api/order", json=body).status_code == 200
        deadline = time.monotonic() + 600
        events: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            events.extend(topology.events(after=events[-1]["eventId"] if events else after, timeout=2))
            if sum(e["TYPE"] == "OrderDeleted" for e in events) >= orders:
                break
        acquired = [e["eventId"] // 1000 for e in events if e["TYPE"] == "OrderLocksAcquired"]
        assert len(acquired) == orders, len(acquired)
        span_s = (acquired[-1] - acquired[0]) / 1000
        return {
            "orders": orders,
            "handovers": orders - 1,
            "seconds": round(span_s, 3),
            "handoversPerSecond": round((orders - 1) / span_s) if span_s > 0 else None,
            "eventsPerHandover": round(len(events) / orders, 1),
        }
    finally:
        topology.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer orders")
    parser.add_argument("--orders", type=int, help="orders per phase (default 5000, --quick 1000)")
    parser.add_argument("--dir", help="directory on the disk to measure (default: a temp dir)")
    args = parser.parse_args()
    orders = args.orders or (1000 if args.quick else 5000)
    base = Path(tempfile.mkdtemp(prefix="lock-bench-", dir=args.dir))
    report: dict[str, Any] = {"machine": machine(), "directory": str(base), "target": ">= 1000 hand-overs/s"}
    progress("machine limit: append+fdatasync")
    report["rawAppendFdatasync"] = raw_fdatasync_rate(base, 1.0 if args.quick else 3.0)
    progress(f"1. pure domain, {orders} orders")
    report["pureDomain"] = {
        "noJournal": pure_domain(orders, None),
        "fileJournal": pure_domain(orders, base / "journal"),
    }
    progress(f"2. real Controller and Agent, {orders} orders")
    report["nodes"] = nodes(orders, base)
    raw = report["rawAppendFdatasync"]["appendsPerSecond"]
    for figures in (report["pureDomain"]["fileJournal"], report["nodes"]):
        figures["handoversToRawFsyncRatio"] = round((figures["handoversPerSecond"] or 0) / raw, 3)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
