"""Cluster benchmark: failover time and coupled throughput of a Controller cluster; prints ONE JSON document.

    .venv/bin/python bench/cluster_bench.py [--quick] [--runs N] [--seconds S] [--rounds R] [--window N]
                                            [--dir DIR] [--keep] [--profile DIR]

Real processes over mutual TLS, journal fsync on: `tests/e2e/cluster_topology.ClusterTopology` (Primary,
Backup, a Cluster Watch, one Agent) and, for the comparison, `tests/e2e/topology.Topology` (a standalone
Controller and one Agent). Nothing is asserted; see bench/README.md.

1. `throughput`: orders/s through a one-job workflow with the in-process job `empty` (node_bench's
   `inProcessJob` phase: closed loop, batches of 100, at most 500 unfinished, OrderFinished counted in
   the event stream), on the standalone Controller and on the Coupled cluster, both running all along;
   the rounds alternate (single, coupled, single, coupled, ...) so that a change of the machine's load
   hits both alike. Beside raw append+fdatasync of the same disk, the machine's limit.
   `sequentialLatency`: then one order at a time on each, to show what the standby's acknowledgement
   adds to each commit without any queueing (command answered; order added to OrderFinished).
2. `failover`: `--runs` times: wait until Coupled, kill -9 the active, then measure from the kill
   (a) until a client given both URIs gets HTTP 201 for an order added right after the kill (it posts
   to both nodes in turn until one accepts), and (b) until that order's job started: the shell job's
   first command writes `date +%s%N`. The new active's own journal adds when it wrote
   ClusterFailedOver, OrderAdded and OrderProcessingStarted. Then the killed node is restarted (it
   fences its journal and becomes the standby) and the next run waits until Coupled again.

With `--profile DIR` (py-spy installed), after phase 1 both cluster nodes and the Agent are sampled
for 8 s under the coupled load (node_bench's `profile`); the summary goes into the report, the raw
profiles (one line per stack) stay in DIR.

Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine, raw_fdatasync_rate, spread
from bench.node_bench import Follower, drive, find_py_spy, percentiles, post_orders, profile, stop_nodes, workflows
from js7es.nodes.config import ClusterSettings
from tests.e2e.cluster_topology import NODES, ClusterTopology
from tests.e2e.topology import Topology

TARGET_FAILOVER = "median <= 3 s"
TARGET_THROUGHPUT = "coupled >= 0.7 of single"


def progress(message: str) -> None:
    print(f"[cluster_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def other(name: str) -> str:
    return "backup" if name == "primary" else "primary"


# -- throughput --------------------------------------------------------------------------------------


def pids_of(topo: Topology) -> dict[str, int]:
    return {name: node.process.pid for name, node in topo.nodes.items() if node.process is not None}


def throughput(
    topologies: dict[str, Topology],
    followers: dict[str, Follower],
    *,
    rounds: int,
    seconds: float,
    warm_up: float,
    window: int = 500,
) -> dict[str, Any]:
    """Alternating rounds of node_bench's `inProcessJob` on the standalone Controller and the cluster."""
    cluster = topologies["coupled"]
    assert isinstance(cluster, ClusterTopology)
    phase = {"workflow": "empty", "batch": 100, "window": window}
    results: dict[str, list[dict[str, Any]]] = {"single": [], "coupled": []}
    for kind, topo in topologies.items():  # the Agent coupled, the workflow attached, code imported
        warm = drive(topo, followers[kind], pids_of(topo), prefix=f"warm{kind}", seconds=2, warm_up=0, **phase)
        progress(f"warm-up {kind}: {warm['ordersFinished']} orders")
    for round_ in range(rounds):
        for kind, topo in topologies.items():
            if kind == "coupled":
                cluster.wait_coupled(timeout=60)
            result = drive(
                topo,
                followers[kind],
                pids_of(topo),
                prefix=f"r{round_}{kind}",
                seconds=seconds,
                warm_up=warm_up,
                **phase,
            )
            result["round"] = round_
            if kind == "coupled":
                active = cluster.active()
                info = cluster.info(active) if active is not None else None
                result["activeNode"] = active
                result["clusterStateAfter"] = (info or {}).get("clusterState", {}).get("TYPE")
            results[kind].append(result)
            progress(f"round {round_} {kind}: {result['steadyStateOrdersPerSecond']} orders/s")

    def mean_rate(kind: str) -> float:
        return statistics.fmean(r["steadyStateOrdersPerSecond"] or 0 for r in results[kind])

    def cpu_total(kind: str, *, standby: bool = True) -> float:
        """CPU ms per order of the nodes (the bench client left out), optionally without the standby."""
        totals = []
        for r in results[kind]:
            left_out = {"benchClient"}
            if not standby and r.get("activeNode") in NODES:
                left_out.add(other(r["activeNode"]))
            totals.append(sum(v for k, v in r["cpuMsPerOrder"].items() if k not in left_out))
        return statistics.fmean(totals)

    single_rate, coupled_rate = mean_rate("single"), mean_rate("coupled")
    single_cpu, coupled_cpu = cpu_total("single"), cpu_total("coupled")
    return {
        "rounds": rounds,
        "secondsPerRound": seconds,
        **phase,
        "singleOrdersPerSecond": round(single_rate),
        "coupledOrdersPerSecond": round(coupled_rate),
        "coupledToSingleRatio": round(coupled_rate / single_rate, 3) if single_rate else None,
        "coupledToSingleRatioPerRound": [
            round((c["steadyStateOrdersPerSecond"] or 0) / s["steadyStateOrdersPerSecond"], 3)
            for s, c in zip(results["single"], results["coupled"], strict=True)
            if s["steadyStateOrdersPerSecond"]
        ],
        "target": TARGET_THROUGHPUT,
        "nodesCpuMsPerOrder": {
            "single": round(single_cpu, 3),
            "coupled": round(coupled_cpu, 3),
            "coupledWithoutStandby": round(cpu_total("coupled", standby=False), 3),
        },
        # If the nodes were CPU-bound: the ratio that the CPU per order alone allows, with the standby on
        # these same cores (as here), and with the standby on a machine of its own.
        "cpuBoundRatioStandbyHere": round(single_cpu / coupled_cpu, 3) if coupled_cpu else None,
        "cpuBoundRatioStandbyElsewhere": round(single_cpu / cpu_total("coupled", standby=False), 3)
        if coupled_cpu
        else None,
        "single": results["single"],
        "coupled": results["coupled"],
    }


def sequential_latency(
    topologies: dict[str, Topology], followers: dict[str, Follower], *, count: int, rounds: int
) -> dict[str, Any]:
    """One order at a time (the next added when the previous finished), alternating single and coupled:
    how long a command takes to be answered and an order to run through, without any queueing. The
    cluster adds the standby's acknowledgement to each of the order's commits."""
    samples: dict[str, dict[str, list[float]]] = {k: {"postMs": [], "addToFinishedMs": []} for k in topologies}
    for round_ in range(rounds):
        for kind, topo in topologies.items():
            prefix = f"lat{round_}{kind}"
            with topo.controller() as client:
                for n in range(count):
                    order_id = f"{prefix}-{n}"
                    added_ms = time.time() * 1000
                    order = {"id": order_id, "workflowPath": "empty", "deleteWhenTerminated": True}
                    post_s = post_orders(client, [order])
                    samples[kind]["postMs"].append(post_s * 1000)
                    if followers[kind].wait_finished(prefix, n + 1, timeout=30):
                        finished = followers[kind].finished[order_id] // 1000
                        samples[kind]["addToFinishedMs"].append(finished - added_ms)
    result: dict[str, Any] = {"ordersPerKind": count * rounds}
    for kind, figures in samples.items():
        result[kind] = {name: percentiles(values) for name, values in figures.items()}
    return result


# -- failover ----------------------------------------------------------------------------------------


def post_until_accepted(
    clients: dict[str, httpx.Client], body: dict[str, Any], timeout: float
) -> tuple[float | None, str | None, Counter[str]]:
    """What a client given both URIs does: post to each node in turn until one answers 201."""
    answers: Counter[str] = Counter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, client in clients.items():
            try:
                response = client.post("/controller/api/order", json=body)
            except httpx.HTTPError as e:
                answers[f"{name}: {type(e).__name__}"] += 1
                continue
            if response.status_code == 201:
                return time.time(), name, answers
            try:
                code = response.json().get("code", "")
            except ValueError:
                code = ""
            answers[f"{name}: {response.status_code} {code}".rstrip()] += 1
        time.sleep(0.01)
    return None, None, answers


def wait_stamp(stamp_file: Path, order_id: str, timeout: float) -> tuple[float | None, int]:
    """The wall-clock time the order's job process wrote first thing, and how many times it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stamp_file.exists():
            stamps = [line.split() for line in stamp_file.read_text().splitlines()]
            mine = [int(ns) / 1e9 for key, ns in stamps if key == order_id]
            if mine:
                return mine[0], len(mine)
        time.sleep(0.005)
    return None, 0


EVENTS_OF_INTEREST = ("ClusterFailedOver", "OrderAdded", "OrderProcessingStarted", "OrderFinished")


def new_active_events(topo: ClusterTopology, name: str, after: int, order_id: str, timeout: float) -> dict[str, Any]:
    """From the new active's event stream after `after`: when it wrote ClusterFailedOver and the
    order's OrderAdded, OrderProcessingStarted and OrderFinished (their timestamps, in seconds)."""
    found: dict[str, float] = {}
    order: list[str] = []
    deadline = time.monotonic() + timeout
    with topo.client(name, timeout=10) as client:
        while "OrderFinished" not in found and time.monotonic() < deadline:
            try:
                params = {"after": after, "timeout": 2}
                with client.stream("GET", "/controller/api/event", params=params) as response:
                    if response.status_code != 200:
                        return {"error": f"{response.status_code} {response.read()[:300]!r}"}
                    for line in response.iter_lines():
                        if not line:
                            continue
                        event = json.loads(line)
                        after = int(event["eventId"])
                        kind = event["TYPE"]
                        if kind in EVENTS_OF_INTEREST and (kind == "ClusterFailedOver" or event.get("Key") == order_id):
                            found.setdefault(kind, event.get("timestamp", after // 1000) / 1000)
                            order.append(kind)
            except httpx.HTTPError as e:
                progress(f"event stream of {name}: {type(e).__name__}: {e}")
                time.sleep(0.2)
    return {"times": found, "order": order}


def failover_run(topo: ClusterTopology, run: int, stamp_file: Path, settle_s: float) -> dict[str, Any]:
    active = topo.wait_coupled(timeout=90)
    standby = other(active)
    time.sleep(settle_s)  # the Watch has had reports of the Coupled state; the standby is replicating
    standby_info = topo.info(standby) or {}
    after = int(standby_info.get("eventId", 0))
    order_id = f"fo-{run}"
    body = {"id": order_id, "workflowPath": "stamp", "deleteWhenTerminated": True}
    clients = {name: topo.client(name, timeout=2) for name in NODES}  # TLS contexts made before the kill
    try:
        killed_at = time.time()
        topo.kill(active)  # SIGKILL, then waits for the process to be gone
        accepted_at, accepted_by, answers = post_until_accepted(clients, body, timeout=60)
    finally:
        for client in clients.values():
            client.close()
    started_at, job_starts = wait_stamp(stamp_file, order_id, timeout=60)
    events = new_active_events(topo, standby, after, order_id, timeout=60) if accepted_by else {}
    times = events.get("times", {})

    def since_kill(t: float | None) -> float | None:
        return round(t - killed_at, 3) if t is not None else None

    restart_at = time.time()
    topo.start(active)  # the killed node comes back: it fences its journal and becomes the standby
    try:
        new_active = topo.wait_coupled(timeout=90)
    except AssertionError as e:
        new_active = f"not coupled: {e}"[:500]
    return {
        "run": run,
        "killed": active,
        "acceptedBy": accepted_by,
        "commandAcceptedSeconds": since_kill(accepted_at),
        "jobStartedSeconds": since_kill(started_at),
        "newActiveWroteSeconds": {k: since_kill(v) for k, v in times.items()},
        "newActiveEventOrder": events.get("order"),
        "answersBeforeAccepted": dict(answers),
        "jobStartsOfTheOrder": job_starts,
        "restartToCoupledSeconds": round(time.time() - restart_at, 3),
        "activeAfterCoupling": new_active,
    }


def failover(topo: ClusterTopology, runs: int, stamp_file: Path, settle_s: float) -> dict[str, Any]:
    results = []
    for run in range(runs):
        result = failover_run(topo, run, stamp_file, settle_s)
        results.append(result)
        progress(
            f"failover {run}: {result['killed']} killed; command accepted by {result['acceptedBy']} after "
            f"{result['commandAcceptedSeconds']} s, job started after {result['jobStartedSeconds']} s; "
            f"coupled again {result['restartToCoupledSeconds']} s after the restart"
        )

    def figures(key: str) -> list[float]:
        return [r[key] for r in results if r[key] is not None]

    def written(kind: str) -> list[float]:
        return [v for r in results if (v := r["newActiveWroteSeconds"].get(kind)) is not None]

    return {
        "runs": runs,
        "settleSecondsBeforeKill": settle_s,
        "target": TARGET_FAILOVER,
        "a_commandAcceptedSeconds": spread(figures("commandAcceptedSeconds")),
        "b_jobStartedSeconds": spread(figures("jobStartedSeconds")),
        "newActiveWroteClusterFailedOverSeconds": spread(written("ClusterFailedOver")),
        "newActiveWroteOrderProcessingStartedSeconds": spread(written("OrderProcessingStarted")),
        "restartToCoupledSeconds": spread(figures("restartToCoupledSeconds")),
        "failedRuns": sum(1 for r in results if r["commandAcceptedSeconds"] is None or r["jobStartedSeconds"] is None),
        "ordersStartedMoreThanOnce": sum(1 for r in results if r["jobStartsOfTheOrder"] > 1),
        "perRun": results,
    }


# -- main ---------------------------------------------------------------------------------------------


def timing(topo: ClusterTopology) -> dict[str, Any]:
    defaults = {f.name: f.default for f in dataclasses.fields(ClusterSettings) if f.name.endswith("_s")}
    return {
        "heartbeatSeconds": topo.heartbeat,
        "heartbeatTimeoutSeconds": topo.heartbeat_timeout,
        "consentTimeoutSeconds": topo.consent_timeout,
        "nodeDefaults": {
            "heartbeatSeconds": defaults["heartbeat_s"],
            "heartbeatTimeoutSeconds": defaults["heartbeat_timeout_s"],
            "consentTimeoutSeconds": defaults["consent_timeout_s"],
        },
    }


def start_cluster(topo: ClusterTopology) -> None:
    topo.start("watch")
    for name in ("agent", *NODES):
        topo.start(name, wait=False)
    for name in ("agent", *NODES):
        topo.wait_ready(name)
    topo.wait_coupled(timeout=60)


def deploy(topo: Topology, stamp_file: Path) -> None:
    response = topo.deploy(*workflows(stamp_file), version="1")
    if response.status_code != 200:
        raise RuntimeError(f"deploy: {response.status_code} {response.text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 failovers, 1 round of 5 s per node kind")
    parser.add_argument("--runs", type=int, help="failover runs (default 10, 3 with --quick)")
    parser.add_argument("--seconds", type=float, help="seconds per throughput round (default 15, 5 with --quick)")
    parser.add_argument("--rounds", type=int, help="throughput rounds per node kind (default 3, 1 with --quick)")
    parser.add_argument("--dir", help="directory on the disk to measure (default: a temp dir)")
    parser.add_argument("--window", type=int, default=500, help="unfinished orders at most (default 500)")
    parser.add_argument("--keep", action="store_true", help="keep the nodes' directories (journals) afterwards")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="then py-spy both cluster nodes and the Agent under the coupled load for 8 s; raw profiles kept in DIR",
    )
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 10)
    seconds = args.seconds or (5.0 if args.quick else 15.0)
    rounds = args.rounds or (1 if args.quick else 3)
    warm_up = 1.0 if args.quick else 3.0
    base = Path(tempfile.mkdtemp(prefix="cluster-bench-", dir=args.dir))
    report: dict[str, Any] = {
        "machine": machine(),
        "quick": args.quick,
        "directory": str(base),
    }
    single: Topology | None = None
    cluster: ClusterTopology | None = None
    followers: dict[str, Follower] = {}
    started = time.monotonic()
    try:
        progress("machine limit: append+fdatasync")
        report["rawAppendFdatasync"] = raw_fdatasync_rate(base, 1.0 if args.quick else 3.0)

        progress("starting a standalone Controller + Agent, and Primary, Backup, Cluster Watch + Agent")
        single = Topology(base / "single")
        single.start_all()
        cluster = ClusterTopology(base / "cluster")
        report["clusterTiming"] = timing(cluster)
        start_cluster(cluster)
        stamp_file = base / "stamps.txt"
        deploy(single, base / "single-stamps.txt")
        deploy(cluster, stamp_file)

        topologies: dict[str, Topology] = {"single": single, "coupled": cluster}
        followers = {kind: Follower(topo.controller, "/controller/api/event", 0) for kind, topo in topologies.items()}
        for follower in followers.values():
            follower.start()
        progress(f"1. throughput: {rounds} round(s) of {seconds} s each, single and coupled in turn")
        phase1 = throughput(topologies, followers, rounds=rounds, seconds=seconds, warm_up=warm_up, window=args.window)
        phase1["coupledToRawFsyncRatio"] = round(
            phase1["coupledOrdersPerSecond"] / report["rawAppendFdatasync"]["appendsPerSecond"], 3
        )
        report["throughput"] = phase1
        progress(
            f"   single {phase1['singleOrdersPerSecond']} orders/s, coupled {phase1['coupledOrdersPerSecond']}"
            f" orders/s: ratio {phase1['coupledToSingleRatio']}"
        )
        count = 20 if args.quick else 50
        progress(f"1b. one order at a time: {count} x {rounds}, single and coupled in turn")
        report["sequentialLatency"] = sequential_latency(topologies, followers, count=count, rounds=rounds)
        py_spy = find_py_spy()
        if args.profile and py_spy is not None:
            progress("1c. profile of the coupled cluster under load (py-spy, 8 s)")
            cluster.wait_coupled(timeout=60)
            out_dir = Path(args.profile)
            out_dir.mkdir(parents=True, exist_ok=True)
            report["profile"] = profile(cluster, followers["coupled"], pids_of(cluster), out_dir, 8, py_spy)
        elif args.profile:
            report["profile"] = {"skipped": "py-spy is not installed"}
        for follower in followers.values():
            follower.stop()
        report["followerErrors"] = {kind: f.errors for kind, f in followers.items()}
        stop_nodes(single)  # the failover runs have the machine to themselves
        single = None

        progress(f"2. failover: {runs} runs of kill -9 of the active")
        report["failover"] = failover(cluster, runs, stamp_file, settle_s=1.0)
        a, b = report["failover"]["a_commandAcceptedSeconds"], report["failover"]["b_jobStartedSeconds"]
        progress(
            f"   (a) command accepted: median {a.get('median')} s, max {a.get('max')} s; "
            f"(b) job started: median {b.get('median')} s, max {b.get('max')} s"
        )
        report["loadAverageAtEnd"] = [round(x, 2) for x in os.getloadavg()]
        report["totalSeconds"] = round(time.monotonic() - started, 1)
        report["journalMiB"] = {
            name: round(sum(p.stat().st_size for p in node.data_dir.rglob("*.journal")) / 2**20, 1)
            for name, node in cluster.nodes.items()
            if name in NODES
        }
    finally:
        for follower in followers.values():
            follower.stop()
        for topo in (single, cluster):
            if topo is not None:
                stop_nodes(topo)
        if args.keep:
            progress(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
