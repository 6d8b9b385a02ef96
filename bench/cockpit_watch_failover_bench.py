"""Controller failover with the Cockpit cluster as the Cluster Watch (issue 19); prints ONE JSON document.

    .venv/bin/python bench/cockpit_watch_failover_bench.py [--runs N] [--quick]

Real processes over mutual TLS on the real PostgreSQL (127.0.0.1:5432, database test, a schema of its
own, dropped at the end): tests/cockpit/watch_cluster.CockpitWatchedCluster — Primary, Backup, one Agent
and two Cockpits "a" and "b" on one database, both named as the Controllers' Watch; the active Cockpit
is the Watch. `--runs` times (default 10): wait until Coupled and the active Cockpit's Watch is taught,
kill -9 the active Controller node, then measure from the kill

- `activeSeconds`: until the standby node says it is the ready active node (polled every 20 ms);
- `commandAcceptedSeconds`: until a client given both URIs gets HTTP 201 for an order added right after
  the kill (cluster_bench's figure, comparable with the standalone Watch's there);

then restart the killed node (it becomes the standby) for the next run. Also which Cockpit granted
(the count of "node loss GRANTED" in each Cockpit's log). With ``--cockpit-takeover-every K`` (default 2)
every K-th run first kills -9 the active Cockpit and waits until the other one took over and its new,
untaught Watch has been taught by the active Controller node (restarting the killed Cockpit as the
standby): the failover is then granted by the new active Cockpit (`cockpitTakeover` in the results).
Target: median <= 3 s, as with the standalone Watch. Progress goes to stderr; nothing is asserted (bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine, spread
from bench.cluster_bench import deploy, other, post_until_accepted
from tests.cockpit.test_cockpit_e2e import Database
from tests.cockpit.watch_cluster import MEMBERS, CockpitWatchedCluster, wait_until
from tests.e2e.cluster_topology import NODES

TARGET = "median <= 3 s"


def progress(message: str) -> None:
    print(f"[cockpit_watch_failover_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def grants(cluster: CockpitWatchedCluster) -> dict[str, int]:
    return {
        name: cockpit.log_file.read_text(errors="replace").count("node loss GRANTED")
        for name, cockpit in cluster.cockpits.items()
    }


def cockpit_takeover(cluster: CockpitWatchedCluster) -> dict[str, Any]:
    """kill -9 of the active Cockpit; until the other is active and its Watch taught; the killed one
    restarted as the standby."""
    old = cluster.active_cockpit()
    assert old is not None
    new = next(name for name in MEMBERS if name != old)
    killed_at = time.monotonic()
    cluster.cockpits[old].kill()
    wait_until(lambda: cluster.cockpit_cluster(new).get("watchRunning"), 60, f"Cockpit {new} to take over")
    active_s = time.monotonic() - killed_at
    wait_until(lambda: cluster.taught(new), 60, f"the Watch of Cockpit {new} to be taught")
    taught_s = time.monotonic() - killed_at
    cluster.cockpits[old].start()
    cluster.cockpits[old].wait_ready()
    wait_until(lambda: cluster.cockpit_cluster(old).get("activeMember") == new, 60, f"{old} to see {new} active")
    return {"killed": old, "watchRunningSeconds": round(active_s, 3), "watchTaughtSeconds": round(taught_s, 3)}


def failover_run(cluster: CockpitWatchedCluster, run: int, settle_s: float, *, takeover: bool) -> dict[str, Any]:
    topo = cluster.topology
    active = topo.wait_coupled(timeout=90)
    standby = other(active)
    takeover_result = cockpit_takeover(cluster) if takeover else None
    watch = cluster.active_cockpit()
    wait_until(lambda: watch is not None and cluster.taught(watch), 60, "the active Cockpit's Watch taught")
    time.sleep(settle_s)  # the standby replicates; the Watch has the active's latest heartbeats
    before = grants(cluster)
    body = {"id": f"fo-{run}", "workflowPath": "stamp", "deleteWhenTerminated": True}
    clients = {name: topo.client(name, timeout=2) for name in NODES}  # TLS contexts made before the kill
    active_at: float | None = None
    try:
        killed_at = time.time()
        topo.kill(active)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            info = topo.info(standby) or {}
            if info.get("active") and info.get("ready"):
                active_at = time.time()
                break
            time.sleep(0.02)
        accepted_at, accepted_by, answers = post_until_accepted(clients, body, timeout=60)
    finally:
        for client in clients.values():
            client.close()
    after = grants(cluster)
    restart_at = time.time()
    topo.start(active)
    try:
        coupled = topo.wait_coupled(timeout=90)
    except AssertionError as e:
        coupled = f"not coupled: {e}"[:500]
    return {
        "run": run,
        "killed": active,
        "watch": watch,
        "cockpitTakeover": takeover_result,
        "grantedBy": [name for name in MEMBERS if after[name] > before[name]],
        "activeSeconds": round(active_at - killed_at, 3) if active_at is not None else None,
        "commandAcceptedSeconds": round(accepted_at - killed_at, 3) if accepted_at is not None else None,
        "acceptedBy": accepted_by,
        "answersBeforeAccepted": dict(answers),
        "restartToCoupledSeconds": round(time.time() - restart_at, 3),
        "activeAfterCoupling": coupled,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, help="failover runs (default 10, 3 with --quick)")
    parser.add_argument("--quick", action="store_true", help="3 runs")
    parser.add_argument("--settle", type=float, default=1.0, help="seconds Coupled before each kill (default 1)")
    parser.add_argument(
        "--cockpit-takeover-every", type=int, default=2, help="every K-th run after a Cockpit takeover (0: never)"
    )
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 10)
    base = Path(tempfile.mkdtemp(prefix="cockpit-watch-bench-"))
    database = Database("postgres", base)
    url, schema = database.fresh("watch-bench")
    cluster = CockpitWatchedCluster(base, url, schema)
    topo = cluster.topology
    report: dict[str, Any] = {
        "machine": machine(),
        "timing": {
            "heartbeatSeconds": topo.heartbeat,
            "heartbeatTimeoutSeconds": topo.heartbeat_timeout,
            "consentTimeoutSeconds": topo.consent_timeout,
            "cockpitLeaseSeconds": cluster.lease_s,
        },
    }
    try:
        progress("starting two Cockpits, the Agent and the Controller cluster")
        cluster.start()
        deploy(topo, base / "stamps.txt")
        results = []
        for run in range(runs):
            every = args.cockpit_takeover_every
            result = failover_run(cluster, run, args.settle, takeover=every > 0 and run % every == every - 1)
            results.append(result)
            progress(
                f"run {run}: {result['killed']} killed, active after {result['activeSeconds']} s, "
                f"order accepted after {result['commandAcceptedSeconds']} s, granted by {result['grantedBy']}"
            )
        report["failover"] = {
            "runs": runs,
            "activeSeconds": spread([r["activeSeconds"] for r in results if r["activeSeconds"] is not None]),
            "commandAcceptedSeconds": spread(
                [r["commandAcceptedSeconds"] for r in results if r["commandAcceptedSeconds"] is not None]
            ),
            "afterCockpitTakeover": spread(
                [r["activeSeconds"] for r in results if r["cockpitTakeover"] and r["activeSeconds"] is not None]
            ),
            "target": TARGET,
            "results": results,
        }
    finally:
        cluster.stop()
        database.close()
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
