"""Director failover benchmark (issue 16): an Agent as a Director pair whose Cluster Watch is the Controller;
prints ONE JSON document.

    .venv/bin/python bench/director_failover_bench.py [--runs N] [--dir DIR]

Real processes over mutual TLS, journal fsync on (`tests/e2e/director_pair_topology.DirectorPairTopology`:
a Controller, the Primary and the Backup Director). `--runs` times (default 10): wait until the Directors
are Coupled, kill -9 the active one, and measure from the kill

(a) `toStandbyActiveSeconds`: until the other Director answers as the ready active node, and
(b) `toJobStartedSeconds`: until an order added right after the kill has started its job on the new
    active Director (its OrderProcessingStarted in the Controller's event stream): what a user sees.

Then the killed Director is restarted (it becomes the standby) and the next run waits for Coupled again.
Beside them the machine's limit measured in the same run (append+fdatasync) and the failover's floor
set by the configuration: the standby waits `heartbeatTimeoutSeconds` of silence before it asks the Watch.
Target (issue 16): median <= 3 s. Nothing is asserted; see bench/README.md. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine, raw_fdatasync_rate
from tests.e2e.director_pair_topology import AGENT, DIRECTORS, DirectorPairTopology


def progress(message: str) -> None:
    print(f"[director_failover_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


WORKFLOW = {
    "TYPE": "Workflow",
    "path": "failover",
    "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
    "jobs": {
        "J": {"agentPath": AGENT, "processLimit": 10, "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}}
    },
}


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "runs": len(values),
        "median": round(statistics.median(values), 3) if values else None,
        "max": round(max(values), 3) if values else None,
        "min": round(min(values), 3) if values else None,
        "values": [round(v, 3) for v in values],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--dir", help="directory on the disk to use (default: a temp dir)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="director-failover-bench-", dir=args.dir))
    report: dict[str, Any] = {"machine": machine(), "runs": args.runs, "directory": str(base)}
    pair = DirectorPairTopology(base / "nodes")
    to_active: list[float] = []
    to_job: list[float] = []
    try:
        report["rawAppendFdatasync"] = raw_fdatasync_rate(base, 2.0)
        report["heartbeatTimeoutSeconds"] = pair.heartbeat_timeout
        for name in ("controller", *DIRECTORS):
            pair.start(name)
        response = pair.deploy(WORKFLOW, version="1")
        if response.status_code != 200:
            raise RuntimeError(f"deploy: {response.status_code} {response.text}")
        for run in range(args.runs):
            pair.wait_directors_coupled(timeout=60)
            active = pair.active_directors()
            if len(active) != 1:
                raise RuntimeError(f"active Directors: {active}")
            other = next(n for n in DIRECTORS if n != active[0])
            killed_at = time.monotonic()
            pair.kill(active[0])
            order_id = f"run-{run}"
            pair.add_order(order_id, "failover")
            pair.wait_director_active(other, timeout=60)
            to_active.append(time.monotonic() - killed_at)
            pair.wait_for(
                lambda events, o=order_id: any(
                    e["TYPE"] == "OrderProcessingStarted" and e.get("Key") == o for e in events
                ),
                timeout=60,
            )
            to_job.append(time.monotonic() - killed_at)
            progress(f"run {run + 1}: active after {to_active[-1]:.2f} s, job started after {to_job[-1]:.2f} s")
            pair.start(active[0])
        report["toStandbyActiveSeconds"] = summary(to_active)
        report["toJobStartedSeconds"] = summary(to_job)
        report["target"] = "median <= 3 s"
    finally:
        pair.stop_all()
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
