"""The Cockpit's JOC API: `/orders/add` throughput and login latency, each beside the machine's own limit
measured in the same run. Targets (issue 12): `/orders/add` >= 70 % of the Controller's own
`POST /controller/api/order` rate, both at 100 orders per request; login p99 <= 100 ms with argon2id at
its default cost.

    .venv/bin/python bench/cockpit_api_bench.py             # 4 rounds of 20 requests per side, 100 logins
    .venv/bin/python bench/cockpit_api_bench.py --quick     # 2 rounds of 10 requests, 40 logins

A real `js7es standalone` (Controller, Agent and Cockpit processes, HTTPS, journal fsync on, the Cockpit
projecting into SQLite) on a temporary data directory:

1. `ordersAdd`: requests of 100 orders each, one after the other over one HTTPS keep-alive connection
   per side, in alternating rounds (Controller, Cockpit, Controller, …, so that the Controller's growing
   state weighs on both alike). Every order is scheduled a day ahead on the standalone's `hello`
   workflow (it waits at the Agent; nothing runs). A request counts when its answer came: the
   Controller's `POST /controller/api/order` (client certificate `cli`) answers after its journal
   committed the orders; the Cockpit's `/orders/add` (as root, CockpitClient) after the Controller
   answered its AddOrders command and the audit log entry is stored. orders/s per side over all its
   rounds, the ratio, and the request latencies.
2. `login`: `/authentication/login` + `/authentication/logout` of root, one after the other, with a
   fresh connection each (as a script's curl does); p50/p90/p99/max of the login. Beside it the machine's
   raw argon2id (argon2-cffi's default profile, the Cockpit's) `hash` and `verify`, in this process.

3. `profile` (``--profile``): a second Cockpit process on the same Controller under
   bench/stack_sampler.py (all threads' stacks every 5 ms; py-spy is not installed here), one round
   of `/orders/add`: where its time goes.

One JSON document on stdout; progress on stderr. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine
from js7es.nodes.client.cockpit import CockpitClient
from js7es.nodes.client.controller import ControllerClient
from js7es.nodes.standalone.layout import standalone_cockpit, standalone_connection
from tests.ports import free_port

WORKFLOW = "hello"
PER_REQUEST = 100
DAY_MS = 86_400_000


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentiles(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)

    def at(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

    return {"count": len(ordered), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": round(ordered[-1], 1)}


class Standalone:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        ports = [str(free_port()), str(free_port())]
        argv = ["standalone", "--data-dir", str(data_dir), "--controller-port", ports[0], "--agent-port", ports[1]]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "js7es.nodes.cli", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("Running."):
                self._ready.set()

    def wait_running(self, timeout: float = 120) -> None:
        if not self._ready.wait(timeout):
            raise RuntimeError("the standalone did not start:\n" + "\n".join(self.lines))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def controller_orders(prefix: str, n: int, at_ms: int) -> list[dict[str, Any]]:
    return [{"id": f"{prefix}-{i}", "workflowPath": WORKFLOW, "scheduledFor": at_ms} for i in range(n)]


def joc_orders(n: int) -> dict[str, Any]:
    return {
        "controllerId": "js7es",
        "orders": [{"workflowPath": WORKFLOW, "scheduledFor": "now + 86400"} for _ in range(n)],
        "auditLog": {"comment": "bench"},
    }


def orders_add(controller: ControllerClient, cockpit: CockpitClient, rounds: int, requests: int) -> dict[str, Any]:
    seconds = {"controller": 0.0, "cockpit": 0.0}
    latencies: dict[str, list[float]] = {"controller": [], "cockpit": []}
    orders = {"controller": 0, "cockpit": 0}
    # warm-up: one request each (connections, the Cockpit's workflow cache, the Controller's JIT-free paths)
    controller.post("/order", controller_orders("warm", PER_REQUEST, int(time.time() * 1000) + DAY_MS))
    cockpit.post("/orders/add", joc_orders(PER_REQUEST))
    for r in range(rounds):
        for side in ("controller", "cockpit"):
            start = time.perf_counter()
            for q in range(requests):
                t = time.perf_counter()
                if side == "controller":
                    batch = controller_orders(f"c{r}-{q}", PER_REQUEST, int(time.time() * 1000) + DAY_MS)
                    controller.post("/order", batch)
                else:
                    answer = cockpit.post("/orders/add", joc_orders(PER_REQUEST))
                    assert len(answer["orderIds"]) == PER_REQUEST
                latencies[side].append((time.perf_counter() - t) * 1000)
            seconds[side] += time.perf_counter() - start
            orders[side] += requests * PER_REQUEST
            progress(f"round {r + 1} {side}: {requests * PER_REQUEST / (time.perf_counter() - start):,.0f} orders/s")
    rate = {side: orders[side] / seconds[side] for side in seconds}
    return {
        "ordersPerRequest": PER_REQUEST,
        "rounds": rounds,
        "requestsPerRound": requests,
        "controllerOrderPost": {
            "ordersPerSecond": round(rate["controller"]),
            "requestMs": percentiles(latencies["controller"]),
        },
        "cockpitOrdersAdd": {"ordersPerSecond": round(rate["cockpit"]), "requestMs": percentiles(latencies["cockpit"])},
        "ratioToController": round(rate["cockpit"] / rate["controller"], 3),
        "ordersAtControllerAfter": controller.get("").get("orders"),
    }


def raw_argon2(n: int) -> dict[str, Any]:
    from argon2 import PasswordHasher

    hasher = PasswordHasher()
    password = secrets.token_urlsafe(15)
    hashes, verifies = [], []
    stored = hasher.hash(password)
    for _ in range(n):
        t = time.perf_counter()
        hasher.hash(password)
        hashes.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        hasher.verify(stored, password)
        verifies.append((time.perf_counter() - t) * 1000)
    return {
        "parameters": {
            "timeCost": hasher.time_cost,
            "memoryCostKiB": hasher.memory_cost,
            "parallelism": hasher.parallelism,
        },
        "hashMs": percentiles(hashes),
        "verifyMs": percentiles(verifies),
    }


def logins(url: str, password: str, tls: Any, n: int) -> dict[str, Any]:
    times = []
    for _ in range(n):
        with CockpitClient(url, "root", password, tls) as client:
            t = time.perf_counter()
            client.login()
            times.append((time.perf_counter() - t) * 1000)
    return {"loginMs": percentiles(times), "note": "a fresh HTTPS connection per login, its handshake included"}


def profile_cockpit(data_dir: Path, password: str, tls: Any, requests: int) -> dict[str, Any]:
    """A second Cockpit (a copy of the standalone's cockpit.toml on another port: a fresh database and
    store, root from the same first password) under bench/stack_sampler.py, `requests` /orders/add."""
    import re

    config_dir = data_dir / "cockpit-profiled"
    config_dir.mkdir()
    port = free_port()
    text = (data_dir / "cockpit" / "cockpit.toml").read_text()
    (config_dir / "cockpit.toml").write_text(re.sub(r"(?m)^port = \d+$", f"port = {port}", text, count=1))
    out = data_dir.parent / "cockpit-profile.json"
    sampler = Path(__file__).with_name("stack_sampler.py")
    log = (data_dir.parent / "cockpit-profiled.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(sampler), str(out), "cockpit", "--config", str(config_dir / "cockpit.toml")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:  # up, logged in, and its projection knows the workflow
            try:
                with CockpitClient(url, "root", password, tls) as client:
                    client.post("/orders/add", joc_orders(1))
                break
            except Exception as e:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the profiled Cockpit did not come up: {e}") from None
                time.sleep(0.5)
        with CockpitClient(url, "root", password, tls) as client:
            start = time.perf_counter()
            for _ in range(requests):
                client.post("/orders/add", joc_orders(PER_REQUEST))
            rate = requests * PER_REQUEST / (time.perf_counter() - start)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(60)
        log.close()
    report = json.loads(out.read_text())
    interesting = [row for row in report["inclusive"] if "js7es/" in row[1] or "sqlite" in row[1] or "httpx" in row[1]]
    return {
        "ordersPerSecondWhileSampled": round(rate),
        "busySamples": report["busySamples"],
        "inclusiveTop": interesting[:30],
        "selfTop": report["self"][:15],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 rounds of 10 requests per side, 40 logins")
    parser.add_argument("--rounds", type=int, help="alternating rounds per side (default 4)")
    parser.add_argument("--requests", type=int, help="requests of 100 orders per round (default 20)")
    parser.add_argument("--logins", type=int, help="logins to time (default 100)")
    parser.add_argument("--dir", help="directory for the standalone's data (default: a temp dir)")
    parser.add_argument("--profile", action="store_true", help="then sample the stacks of a second Cockpit")
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 4)
    requests = args.requests or (10 if args.quick else 20)
    n_logins = args.logins or (40 if args.quick else 100)
    base = Path(tempfile.mkdtemp(prefix="cockpit-api-bench-", dir=args.dir))
    report: dict[str, Any] = {"machine": machine(), "quick": args.quick, "directory": str(base)}
    progress("starting js7es standalone")
    standalone = Standalone(base / "data")
    try:
        standalone.wait_running()
        found = standalone_connection(standalone.data_dir)
        cockpit_found = standalone_cockpit(standalone.data_dir)
        assert found is not None and cockpit_found is not None
        url, tls = cockpit_found
        password = (standalone.data_dir / "root-password").read_text().strip()
        progress("raw argon2id")
        report["rawArgon2id"] = raw_argon2(max(10, n_logins // 2))
        progress(f"{n_logins} logins")
        report["login"] = logins(url, password, tls, n_logins)
        report["login"]["p99ToRawVerifyP50"] = round(
            report["login"]["loginMs"]["p99"] / report["rawArgon2id"]["verifyMs"]["p50"], 2
        )
        progress(f"/orders/add: {rounds} rounds of {requests} requests of {PER_REQUEST} orders per side")
        with ControllerClient(*found) as controller, CockpitClient(url, "root", password, tls) as cockpit:
            report["ordersAdd"] = orders_add(controller, cockpit, rounds, requests)
        if args.profile:
            progress("a second Cockpit under the stack sampler")
            report["profile"] = profile_cockpit(standalone.data_dir, password, tls, requests)
    finally:
        standalone.stop()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
