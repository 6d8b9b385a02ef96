"""Memory benchmark: a real Controller and Agent holding many waiting orders; prints ONE JSON document.

    .venv/bin/python bench/memory_bench.py [--quick] [--orders N] [--dir DIR]

100,000 orders (10,000 with --quick) scheduled for tomorrow are added through the Controller's API in
batches of 1,000 to a one-job workflow; they wait (Fresh, on the Controller until their time). Then the
resident memory of both nodes (VmRSS, and the peak VmHWM, from /proc) is read, the Controller is
restarted and read again after its recovery, beside the machine's memory (MemTotal). Issue 18's target:
Controller < 1 GiB with 100,000 waiting orders. Nothing is asserted; progress goes to stderr.
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

from bench._common import machine
from tests.e2e.topology import Topology

BATCH = 1000
EMPTY_JOB = "js7es.nodes.subagent.builtin_jobs:empty"
NODES = ("controller", "agent")


def progress(message: str) -> None:
    print(f"[memory_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def status_mib(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MiB."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = round(int(value.split()[0]) / 1024, 1)
    return found


def mem_total_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def node_pid(topo: Topology, name: str) -> int:
    process = topo.nodes[name].process
    assert process is not None
    return process.pid


def count_orders(topo: Topology) -> int:
    with topo.controller() as client:
        response = client.get("/controller/api/order")
    response.raise_for_status()
    body = response.json()
    return len(body) if isinstance(body, list) else len(body.get("orders", body))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 orders instead of 100,000")
    parser.add_argument("--orders", type=int, help="number of waiting orders")
    parser.add_argument("--dir", help="directory for the nodes (default: a temp dir)")
    args = parser.parse_args()
    n = args.orders or (10_000 if args.quick else 100_000)
    report: dict[str, Any] = {"machine": {**machine(), "memTotalMiB": mem_total_mib()}, "waitingOrders": n}
    with tempfile.TemporaryDirectory(prefix="js7es-memory-bench-", dir=args.dir) as directory:
        topo = Topology(Path(directory) / "nodes")
        try:
            topo.start_all()
            workflow = {
                "path": "waiting",
                "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
                "jobs": {
                    "J": {
                        "agentPath": "agent",
                        "executable": {"TYPE": "InternalExecutable", "className": EMPTY_JOB},
                    }
                },
            }
            response = topo.deploy(workflow, version="1")
            if response.status_code != 200:
                raise RuntimeError(f"deploy: {response.status_code} {response.text}")
            report["emptyNodesMiB"] = {name: status_mib(node_pid(topo, name)) for name in NODES}
            tomorrow = int(time.time() * 1000) + 86_400_000
            start = time.perf_counter()
            with topo.controller() as client:
                for first in range(0, n, BATCH):
                    orders = [
                        {"id": f"W-{i:07d}", "workflowPath": "waiting", "scheduledFor": tomorrow}
                        for i in range(first, min(n, first + BATCH))
                    ]
                    response = client.post("/controller/api/order", json=orders, timeout=120)
                    if response.status_code != 200:
                        raise RuntimeError(f"POST /controller/api/order: {response.status_code} {response.text[:300]}")
                    if first % 20_000 == 0:
                        progress(f"{first + len(orders)} orders added")
            report["addingSeconds"] = round(time.perf_counter() - start, 1)
            time.sleep(5)  # both settle
            report["withWaitingOrdersMiB"] = {name: status_mib(node_pid(topo, name)) for name in NODES}
            progress(f"nodes: {report['withWaitingOrdersMiB']}")
            progress("restarting the Controller")
            topo.kill("controller")
            start = time.perf_counter()
            topo.start("controller")
            report["controllerRestartSeconds"] = round(time.perf_counter() - start, 1)
            time.sleep(2)
            report["controllerAfterRestartMiB"] = status_mib(node_pid(topo, "controller"))
            journal = Path(directory) / "nodes"
            report["journalMiB"] = round(sum(p.stat().st_size for p in journal.rglob("*.journal")) / 2**20, 1)
            report["target"] = "Controller < 1024 MiB with 100,000 waiting orders"
        finally:
            topo.stop_all()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
