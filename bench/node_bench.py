"""Node benchmark: a real Controller and Agent (processes, mutual TLS, fsync on); prints ONE JSON document.

    .venv/bin/python bench/node_bench.py [--quick] [--seconds S] [--dir DIR] [--no-profile]

Phases, each beside the machine's own limit measured in the same run (nothing is asserted; see
bench/README.md):

1. `inProcessJob`: orders/s through a one-job workflow with the in-process job `empty`, added in
   batches by a closed loop (at most `window` orders unfinished), counted as OrderFinished in the
   Controller's event stream; beside raw append+fdatasync of the same disk.
2. `shellJob`: the same with the shell job `true` (processLimit 16), beside `sh -c true` at 16 at once
   (`shCTrueAt16`: the fastest, and so the strictest, of `shCTrueAt16Asyncio` — through asyncio with a
   pidfd per child, as asyncio 3.12+ waits for them —, `shCTrueAt16Direct` — the Agent's way before
   its process spawner: Popen, the pipes by add_reader, the end on the pidfd —, `shCTrueAt16PosixSpawn`
   — os.posix_spawn in the loop's thread, the cheapest start — and `shCTrueAt16Spawner` — the Agent's
   own way: by its process spawner, another process; `shCTrueAt16ThreadWatcher`: through asyncio
   with 3.11's thread per child, the limit as the issue measured it).
3. `latency`: orders scheduled over the next seconds while 100 orders/s of `empty` run beside them;
   from `scheduledFor` to the Agent's OrderProcessingStarted, to the Controller's, and to the `date`
   the job's process writes first thing.
4. `profile`: py-spy (sampling, all threads, from outside) of both nodes under the load of phase 1
   (`--profile-workflow shell`: of phase 2).

Progress goes to stderr. py-spy is optional (`pip install py-spy`); without it phase 4 is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine, raw_fdatasync_rate
from bench.process_bench import (
    proc_cpu_ms,
    rate,
    sh_c_true,
    sh_c_true_direct,
    sh_c_true_posix_spawn,
    spawner_rate,
)
from js7es.nodes.subagent.child_watcher import use_pidfd_child_watcher
from js7es.nodes.tls import TlsConfig, client_ssl_context
from tests.e2e.topology import HOST, Topology

EMPTY_LIMIT = 1000  # processLimit of the in-process job: the Agent may run every attached order at once
SHELL_LIMIT = 16


def progress(message: str) -> None:
    print(f"[node_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def percentiles(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

    return {"count": len(ordered), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": round(ordered[-1], 1)}


# -- workflows ----------------------------------------------------------------------------------------


def one_job_workflow(path: str, executable: dict[str, Any], limit: int) -> dict[str, Any]:
    return {
        "path": path,
        "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
        "jobs": {"J": {"agentPath": "agent", "executable": executable, "processLimit": limit}},
    }


def workflows(stamp_file: Path) -> list[dict[str, Any]]:
    internal = {"TYPE": "InternalExecutable", "className": "js7es.nodes.subagent.builtin_jobs:empty"}
    # `date` is the first thing the job's process does; its own exec is measured as `stampOverheadMs`.
    stamp = f'date "+$JS7_ORDER_ID %s%N" >>"{stamp_file}"\n'
    return [
        one_job_workflow("empty", internal, EMPTY_LIMIT),
        one_job_workflow("shell", {"TYPE": "ShellScriptExecutable", "script": "true\n"}, SHELL_LIMIT),
        one_job_workflow("stamp", {"TYPE": "ShellScriptExecutable", "script": stamp}, SHELL_LIMIT),
    ]


# -- following an event stream --------------------------------------------------------------------------

EVENT_ID = re.compile(r'^\{"eventId":(\d+),')
INTERESTING = ('"TYPE":"OrderFinished"', '"TYPE":"OrderProcessingStarted"')


class Follower(threading.Thread):
    """Follows one node's event stream; keeps the EventIds of OrderFinished and OrderProcessingStarted
    per order id (the stream's other events are only skipped over, cheaply)."""

    def __init__(self, make_client: Callable[[], httpx.Client], path: str, after: int) -> None:
        super().__init__(name=f"follow {path}", daemon=True)
        self.make_client = make_client
        self.path = path
        self.after = after
        self.finished: dict[str, int] = {}
        self.processing_started: dict[str, int] = {}
        self.finished_per_prefix: Counter[str] = Counter()
        self.events = 0
        self.errors = 0
        self._stop = threading.Event()
        self._changed = threading.Condition()

    def run(self) -> None:
        with self.make_client() as client:
            while not self._stop.is_set():
                try:
                    params = {"after": self.after, "timeout": 2}
                    with client.stream("GET", self.path, params=params, timeout=30) as response:
                        if response.status_code != 200:
                            raise RuntimeError(f"{response.status_code} {response.read()[:300]!r}")
                        for line in response.iter_lines():
                            if line:
                                self._line(line)
                except Exception as e:
                    self.errors += 1
                    progress(f"{self.path}: {type(e).__name__}: {e}")
                    time.sleep(0.2)

    def _line(self, line: str) -> None:
        self.events += 1
        match = EVENT_ID.match(line)
        if match is None or any(s in line for s in INTERESTING):
            event = json.loads(line)
            event_id = int(event["eventId"])
            if event["TYPE"] == "OrderFinished":
                self.finished[event["Key"]] = event_id
                with self._changed:
                    self.finished_per_prefix[event["Key"].split("-")[0]] += 1
                    self._changed.notify_all()
            elif event["TYPE"] == "OrderProcessingStarted":
                self.processing_started.setdefault(event["Key"], event_id)
        else:
            event_id = int(match.group(1))
        self.after = event_id

    def wait_finished(self, prefix: str, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.finished_per_prefix[prefix] < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
        return True

    def stop(self) -> None:
        self._stop.set()


# -- the nodes' CPU --------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> dict[str, float]:
    """utime+stime of the process and of its waited-for children (the Agent's job processes)."""
    return {kind: ms / 1000 for kind, ms in proc_cpu_ms(pid).items()}


def spawner_of(agent_pid: int) -> int | None:
    """The pid of the Agent's process spawner (js7es/nodes/subagent/spawner.py), if it has started one."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == agent_pid and b"spawner_process.py" in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except (OSError, ValueError, IndexError):
            continue
    return None


class CpuMeter:
    """CPU seconds per node; the Agent's process spawner counted as `agentSpawner`, its children (the
    job processes) with the Agent's own as `agentJobProcesses`."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = self._now()

    def _now(self) -> dict[str, dict[str, float]]:
        result = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        if "agent" in self.pids:
            spawner = spawner_of(self.pids["agent"])
            result["agentSpawner"] = cpu_seconds(spawner) if spawner is not None else {"self": 0.0, "children": 0.0}
        own = os.times()
        result["benchClient"] = {"self": own.user + own.system, "children": 0.0}
        return result

    def per_order_ms(self, orders: int) -> dict[str, Any]:
        end = self._now()
        result: dict[str, Any] = {}
        children_of: dict[str, float] = {}
        for name, before in self.start.items():
            used = end[name]["self"] - before["self"]
            if used > 0 or name != "agentSpawner":
                result[name] = round(used * 1000 / max(orders, 1), 3)
            owner = "agent" if name == "agentSpawner" else name
            children_of[owner] = children_of.get(owner, 0.0) + end[name]["children"] - before["children"]
        for name, children in children_of.items():
            if children > 0:
                result[f"{name}JobProcesses"] = round(children * 1000 / max(orders, 1), 3)
        return result


# -- adding orders ---------------------------------------------------------------------------------------


def post_orders(client: httpx.Client, orders: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    response = client.post("/controller/api/order", json=orders)
    if response.status_code != 200:
        raise RuntimeError(f"POST /controller/api/order: {response.status_code} {response.text[:300]}")
    return time.perf_counter() - start


def drive(
    topo: Topology,
    follower: Follower,
    pids: dict[str, int],
    *,
    prefix: str,
    workflow: str,
    seconds: float,
    batch: int,
    window: int,
    warm_up: float,
) -> dict[str, Any]:
    """Adds orders in batches for `seconds`, keeping at most `window` unfinished; then waits for all."""
    meter = CpuMeter(pids)
    added = 0
    post_seconds: list[float] = []
    start = time.time()
    with topo.controller() as client:
        while time.time() - start < seconds:
            if added - follower.finished_per_prefix[prefix] >= window:
                time.sleep(0.002)
                continue
            body = [
                {"id": f"{prefix}-{n}", "workflowPath": workflow, "deleteWhenTerminated": True}
                for n in range(added, added + batch)
            ]
            post_seconds.append(post_orders(client, body))
            added += batch
    stop_adding = time.time()
    all_finished = follower.wait_finished(prefix, added, timeout=120)
    cpu = meter.per_order_ms(added)
    finished_ms = sorted(v for k, v in follower.finished.items() if k.startswith(prefix + "-"))
    finished_ms = [e // 1000 for e in finished_ms]
    start_ms, stop_ms = int(start * 1000), int(stop_adding * 1000)
    per_second = Counter((t - start_ms) // 1000 for t in finished_ms)
    steady_from = start_ms + int(warm_up * 1000)
    steady = [t for t in finished_ms if steady_from <= t < stop_ms]
    steady_seconds = (stop_ms - steady_from) / 1000
    last = finished_ms[-1] if finished_ms else stop_ms
    return {
        "workflow": workflow,
        "batch": batch,
        "window": window,
        "ordersAdded": added,
        "ordersFinished": len(finished_ms),
        "allFinished": all_finished,
        "addingSeconds": round(stop_adding - start, 2),
        "addedPerSecond": round(added / (stop_adding - start)),
        "steadyStateOrdersPerSecond": round(len(steady) / steady_seconds) if steady_seconds > 0 else None,
        "steadyStateWindowSeconds": [warm_up, round(stop_adding - start, 2)],
        "finishedPerSecond": [per_second.get(s, 0) for s in range(max(per_second, default=-1) + 1)],
        "secondsUntilAllFinished": round((last - start_ms) / 1000, 2),
        "overallOrdersPerSecond": round(len(finished_ms) / max((last - start_ms) / 1000, 1e-3)),
        "postBatchMs": percentiles([s * 1000 for s in post_seconds]),
        "cpuMsPerOrder": cpu,
    }


# -- latency ------------------------------------------------------------------------------------------


def stamp_overhead_ms(samples: int) -> dict[str, Any]:
    """From before create_subprocess_exec to what `date +%s%N` prints in `sh -c`: what the stamp adds."""

    async def one() -> float:
        before = time.time_ns()
        process = await asyncio.create_subprocess_exec(
            "sh", "-c", "date +%s%N", stdout=asyncio.subprocess.PIPE, start_new_session=True
        )
        out, _ = await process.communicate()
        return (int(out) - before) / 1e6

    async def run() -> list[float]:
        return [await one() for _ in range(samples)]

    return percentiles(asyncio.run(run()))


def latency(
    topo: Topology,
    controller: Follower,
    agent: Follower,
    pids: dict[str, int],
    *,
    count: int,
    spread_s: float,
    lead_s: float,
    background_per_s: int,
    stamp_file: Path,
) -> dict[str, Any]:
    stop = threading.Event()
    background = [0]

    def background_load() -> None:
        tick = 0.05
        per_tick = max(1, round(background_per_s * tick))
        with topo.controller() as client:
            next_at = time.monotonic()
            while not stop.is_set():
                n = background[0]
                body = [
                    {"id": f"bg-{i}", "workflowPath": "empty", "deleteWhenTerminated": True}
                    for i in range(n, n + per_tick)
                ]
                post_orders(client, body)
                background[0] += per_tick
                next_at += tick
                time.sleep(max(0.0, next_at - time.monotonic()))

    meter = CpuMeter(pids)
    thread = threading.Thread(target=background_load, daemon=True)
    thread.start()
    time.sleep(1.0)  # the background stream runs before the first scheduled order is added
    base = now_ms() + int(lead_s * 1000)
    scheduled = {f"lat-{i}": base + int(i * spread_s * 1000 / count) for i in range(count)}
    body = [
        {"id": k, "workflowPath": "stamp", "scheduledFor": v, "deleteWhenTerminated": True}
        for k, v in scheduled.items()
    ]
    with topo.controller() as client:
        post_orders(client, body)
    done = controller.wait_finished("lat", count, timeout=lead_s + spread_s + 60)
    stop.set()
    thread.join()
    controller.wait_finished("bg", background[0], timeout=60)
    cpu = meter.per_order_ms(background[0] + count)
    stamps = {}
    for line in stamp_file.read_text().splitlines():
        order_id, ns = line.split()
        stamps[order_id] = int(ns) / 1e6

    def delays(times_ms: dict[str, float]) -> dict[str, Any]:
        return percentiles([times_ms[k] - v for k, v in scheduled.items() if k in times_ms])

    return {
        "scheduledOrders": count,
        "spreadSeconds": spread_s,
        "backgroundOrdersPerSecond": background_per_s,
        "backgroundOrders": background[0],
        "allFinished": done,
        "toAgentProcessingStartedMs": delays({k: v / 1000 for k, v in agent.processing_started.items()}),
        "toProcessStartStampMs": delays(stamps),
        "stampOverheadMs": stamp_overhead_ms(50),
        "toControllerProcessingStartedMs": delays({k: v / 1000 for k, v in controller.processing_started.items()}),
        "cpuMsPerOrder": cpu,
    }


# -- profile ------------------------------------------------------------------------------------------

FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def short_path(path: str) -> str:
    for marker in ("site-packages/", "/work/main/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


SCAFFOLDING = (
    "<frozen runpy>",
    "js7es/nodes/cli/__init__.py",
    "js7es/nodes/cli/__main__.py",
    "js7es/nodes/cli/nodes.py",
    "js7es/nodes/server.py",
    "uvicorn/server.py",
    "uvicorn/_compat.py",
    "asyncio/runners.py",
    "asyncio/base_events.py",
    "asyncio/events.py",
    "threading.py",
)


def summarize_raw_profile(path: Path, top: int) -> dict[str, Any]:
    """py-spy's raw (collapsed stack) output with --threads: the hottest functions by own samples and
    by samples anywhere on the stack (the loop's and the threads' scaffolding left out), the files by
    own samples, and the threads; as shares of all samples of the process."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    files: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        names = []
        for frame in stack.split(";"):
            if frame.startswith(("thread (", "process ")):
                thread = frame.split(": ", 1)[-1]
                threads["job <order>" if thread.startswith("job ") else thread] += count
                continue
            match = FRAME.match(frame)
            if match is not None:
                names.append((match["function"], short_path(match["file"])))
        if not names:
            continue
        function, file = names[-1]
        own[f"{function} ({file})"] += count
        files[file] += count
        for name in {f"{f} ({p})" for f, p in names if p not in SCAFFOLDING}:
            inclusive[name] += count

    def shares(counter: Counter[str], n: int) -> list[str]:
        return [f"{100 * c / max(total, 1):5.1f}%  {name}" for name, c in counter.most_common(n)]

    return {
        "samples": total,
        "threads": shares(threads, 6),
        "topOwn": shares(own, top),
        "topInclusive": shares(inclusive, top),
        "topFilesOwn": shares(files, 12),
    }


def profile(
    topo: Topology,
    follower: Follower,
    pids: dict[str, int],
    out_dir: Path,
    seconds: float,
    py_spy: str,
    native: bool = False,
    workflow: str = "empty",
    wall: bool = False,
) -> dict[str, Any]:
    duration = max(2, int(seconds))
    batch, window = (100, 500) if workflow == "empty" else (50, 100)  # as phase 1 or phase 2
    spies = {}
    for name, pid in pids.items():
        out = out_dir / f"{name}.pyspy.txt"
        command = [py_spy, "record", "--format", "raw", "-o", str(out), "-d", str(duration), "-r", "250"]
        command += ["--idle" if wall else "--gil", "--threads", "--pid", str(pid)] + (["--native"] if native else [])
        spies[name] = (subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), out)
    time.sleep(0.5)
    load = drive(
        topo,
        follower,
        pids,
        prefix="prof",
        workflow=workflow,
        seconds=duration + 0.5,
        batch=batch,
        window=window,
        warm_up=0.5,
    )
    result: dict[str, Any] = {
        "tool": (
            "py-spy record --idle --threads -r 250: every thread's wall clock, waits included"
            if wall
            else "py-spy record --gil --threads -r 250: samples of the thread holding the GIL (Python work)"
        )
        + (", --native: with the C frames (the garbage collector, the json encoder)" if native else ""),
        "durationSeconds": duration,
        "workflow": workflow,
        "loadOrdersPerSecond": load["steadyStateOrdersPerSecond"],
    }
    for name, (spy, out) in spies.items():
        _, err = spy.communicate(timeout=duration + 60)
        if spy.returncode != 0 or not out.exists():
            result[name] = {"error": err.decode(errors="replace")[-500:]}
        else:
            result[name] = summarize_raw_profile(out, 25)
    return result


# -- main ---------------------------------------------------------------------------------------------


def stop_nodes(topo: Topology) -> None:
    for node in topo.nodes.values():
        if node.process is not None and node.process.poll() is None:
            node.process.send_signal(signal.SIGTERM)
    for name, node in topo.nodes.items():
        if node.process is None:
            continue
        try:
            node.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            progress(f"{name} did not stop on SIGTERM within 15 s: SIGKILL")
            node.process.kill()
            node.process.wait()


def find_py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="5 s per throughput phase instead of 20 s")
    parser.add_argument("--seconds", type=float, help="seconds per throughput phase")
    parser.add_argument("--dir", help="directory on the disk to measure (default: a temp dir)")
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy phase")
    parser.add_argument("--keep-profiles", help="copy py-spy's raw profiles (one line per stack) to this directory")
    parser.add_argument("--shell-batch", type=int, default=50, help="phase 2: orders added per request")
    parser.add_argument("--shell-window", type=int, default=100, help="phase 2: at most this many unfinished")
    parser.add_argument(
        "--profile-workflow", choices=("empty", "shell"), default="empty", help="the load profiled: phase 1 or 2"
    )
    parser.add_argument("--native", action="store_true", help="py-spy --native: C frames in the profiles too")
    parser.add_argument(
        "--wall", action="store_true", help="py-spy --idle instead of --gil: where each thread's time goes, waits too"
    )
    args = parser.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 20.0)
    warm_up = 1.0 if args.quick else 3.0
    base = Path(tempfile.mkdtemp(prefix="node-bench-", dir=args.dir))
    report: dict[str, Any] = {
        "machine": machine(),
        "quick": args.quick,
        "secondsPerPhase": seconds,
        "directory": str(base),
    }
    topo: Topology | None = None
    followers: list[Follower] = []
    try:
        progress("machine limits: append+fdatasync, sh -c true at 16 at once")
        report["rawAppendFdatasync"] = raw_fdatasync_rate(base, 1.0 if args.quick else 3.0)
        spawn_threads = asyncio.run(rate(sh_c_true, SHELL_LIMIT, 2.0 if args.quick else 5.0))
        report["shCTrueAt16ThreadWatcher"] = spawn_threads  # asyncio's default child watcher on 3.11
        use_pidfd_child_watcher()  # what the Agent uses (and asyncio on 3.12+): the faster, the stricter limit
        spawn_asyncio = asyncio.run(rate(sh_c_true, SHELL_LIMIT, 2.0 if args.quick else 5.0))
        report["shCTrueAt16Asyncio"] = spawn_asyncio
        # the Agent's own way of starting a process (Popen, add_reader, pidfd), without the Agent
        spawn_direct = asyncio.run(rate(sh_c_true_direct, SHELL_LIMIT, 2.0 if args.quick else 5.0))
        report["shCTrueAt16Direct"] = spawn_direct
        # the cheapest start for the parent: posix_spawn in the loop's own thread
        spawn_posix = asyncio.run(rate(sh_c_true_posix_spawn, SHELL_LIMIT, 2.0 if args.quick else 5.0))
        report["shCTrueAt16PosixSpawn"] = spawn_posix
        # the Agent's own way now: by a process spawner beside the loop
        spawn_spawner = asyncio.run(spawner_rate(SHELL_LIMIT, 2.0 if args.quick else 5.0))
        report["shCTrueAt16Spawner"] = spawn_spawner
        limits = (spawn_asyncio, spawn_direct, spawn_posix, spawn_spawner)
        spawn = max(limits, key=lambda r: float(r["perSecond"]))  # the strictest limit
        report["shCTrueAt16"] = spawn

        progress("starting Controller and Agent (mutual TLS)")
        topo = Topology(base / "nodes")
        topo.start_all()
        pids = {name: node.process.pid for name, node in topo.nodes.items() if node.process is not None}
        stamp_file = base / "stamps.txt"
        response = topo.deploy(*workflows(stamp_file), version="1")
        if response.status_code != 200:
            raise RuntimeError(f"deploy: {response.status_code} {response.text}")
        controller = Follower(topo.controller, "/controller/api/event", 0)
        agent_node = topo.nodes["agent"]
        agent_tls = TlsConfig.from_dir(topo.root / "certs" / "controller", topo.root / "certs" / "ca")

        def agent_client() -> httpx.Client:  # the Agent serves its events to the Controller's certificate
            return httpx.Client(base_url=f"https://{HOST}:{agent_node.port}", verify=client_ssl_context(agent_tls))

        followers = [controller]
        controller.start()
        # Warm up: the Agent is coupled, the workflow attached, every code path imported.
        topo_warm = drive(
            topo, controller, pids, prefix="warm", workflow="empty", seconds=1, batch=100, window=500, warm_up=0
        )
        progress(f"warm-up: {topo_warm['ordersFinished']} orders")

        progress(f"1. in-process job `empty`, {seconds} s")
        phase1 = drive(
            topo,
            controller,
            pids,
            prefix="p1",
            workflow="empty",
            seconds=seconds,
            batch=100,
            window=500,
            warm_up=warm_up,
        )
        phase1["target"] = ">= 2000 orders/s"
        phase1["steadyStateToRawFsyncRatio"] = round(
            (phase1["steadyStateOrdersPerSecond"] or 0) / report["rawAppendFdatasync"]["appendsPerSecond"], 3
        )
        report["inProcessJob"] = phase1
        progress(f"   {phase1['steadyStateOrdersPerSecond']} orders/s")

        backlog_seconds = seconds / 2
        progress(f"1b. the same with a backlog: up to 3000 orders unfinished, {backlog_seconds} s")
        report["inProcessJobWithBacklog"] = drive(
            topo,
            controller,
            pids,
            prefix="p1b",
            workflow="empty",
            seconds=backlog_seconds,
            batch=250,
            window=3000,
            warm_up=warm_up,
        )
        progress(f"   {report['inProcessJobWithBacklog']['steadyStateOrdersPerSecond']} orders/s")

        progress(f"2. shell job `true`, {seconds} s")
        phase2 = drive(
            topo,
            controller,
            pids,
            prefix="p2",
            workflow="shell",
            seconds=seconds,
            batch=args.shell_batch,
            window=args.shell_window,
            warm_up=warm_up,
        )
        phase2["processLimit"] = SHELL_LIMIT
        phase2["ratioToShCTrue"] = round((phase2["steadyStateOrdersPerSecond"] or 0) / spawn["perSecond"], 3)
        phase2["ratioToShCTrueThreadWatcher"] = round(
            (phase2["steadyStateOrdersPerSecond"] or 0) / spawn_threads["perSecond"], 3
        )
        phase2["target"] = "ratioToShCTrue >= 0.5"
        report["shellJob"] = phase2
        progress(f"   {phase2['steadyStateOrdersPerSecond']} orders/s")

        count, spread = (100, 8.0) if args.quick else (300, 20.0)
        progress(f"3. latency: {count} orders scheduled over {spread} s, 100 orders/s beside them")
        with agent_client() as c:
            agent_after = int(c.get("/agent/api/health").json()["eventId"])
        agent = Follower(agent_client, "/agent/api/event", agent_after)  # only now: it costs the Agent CPU
        followers.append(agent)
        agent.start()
        phase3 = latency(
            topo,
            controller,
            agent,
            pids,
            count=count,
            spread_s=spread,
            lead_s=2.0,
            background_per_s=100,
            stamp_file=stamp_file,
        )
        phase3["target"] = "p99 <= 20 ms"
        report["latency"] = phase3
        progress(f"   process start p99 {phase3['toProcessStartStampMs'].get('p99')} ms")
        agent.stop()

        py_spy = find_py_spy()
        if args.no_profile:
            report["profile"] = "skipped (--no-profile)"
        elif py_spy is None:
            report["profile"] = "skipped: py-spy not installed (pip install py-spy)"
        else:
            phase = 1 if args.profile_workflow == "empty" else 2
            progress(f"4. py-spy of both nodes under the load of phase {phase}, {min(seconds, 10)} s")
            report["profile"] = profile(
                topo, controller, pids, base, min(seconds, 10), py_spy, args.native, args.profile_workflow, args.wall
            )
        report["followerErrors"] = {f.path: f.errors for f in followers}
        report["loadAverageAtEnd"] = [round(x, 2) for x in os.getloadavg()]
        report["journalMiB"] = {
            name: round(sum(p.stat().st_size for p in node.data_dir.rglob("*.journal")) / 2**20, 1)
            for name, node in topo.nodes.items()
        }
    finally:
        for follower in followers:
            follower.stop()
        if topo is not None:
            stop_nodes(topo)
        if args.keep_profiles:
            Path(args.keep_profiles).mkdir(parents=True, exist_ok=True)
            for raw in base.glob("*.pyspy.txt"):
                shutil.copy(raw, args.keep_profiles)
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
