"""The Cockpit web UI with many orders in its database: the first render of the dashboard and of the orders
page, and how long a committed event takes to reach an open page over Server-Sent Events, each beside the
machine's own limit measured in the same run. Targets (issue 14): first render p99 <= 300 ms server time
with 100,000 orders in the database; an event reaches the open page p99 <= 500 ms after the Controller
committed it.

    .venv/bin/python bench/ui_bench.py             # 100,000 orders, 100,000 history rows, 100 renders, 60 s of events
    .venv/bin/python bench/ui_bench.py --quick     # 10,000 orders and rows, 30 renders, 15 s of events

A Controller and an Agent (real processes, mutual TLS, journal fsync on) and `js7es cockpit` (a process,
SQLite) as in cockpit_bench.py. Once the Cockpit has projected the workflow it is stopped, and its
database is filled with bulk inserts for the real Controller id (the rows cockpit_queries_bench.py makes):
`--orders` orders of the deployed workflow (of every 100: 80 scheduled ahead, 10 waiting, 2 running,
3 failed, 3 finished, 2 prompting; every 50th suspended), and as many order_history rows, ended over the
last two hours (so that half of them ended within the hour the dashboard's throughput panel covers). Then
the Cockpit is started again and follows the Controller on from its stored EventId.

1. `render`: GET `/` (the dashboard: six API calls) and GET `/orders` (the newest 500 orders and the
   workflows), in turns, `--renders` times each, over one HTTPS keep-alive connection with the session's
   cookie: the time until the whole page is read. The client's own share is the machine's limit beside
   it: `loginPage`, GET `/login` (a template, no API call, no database), and `staticAsset`, one vendored
   file (no template). A page's server time is its figure minus about the limit's.
2. `sse`: a streaming client holds `/live` open (the stream every page opens) while orders of a two-step
   workflow are added one at a time at random intervals (50 to 300 ms) for `--seconds`. Each `changed`
   line carries the projection's committed EventId. Every Controller event of the run is then matched
   with the first line whose EventId reached it: its latency is that line's arrival minus the event's
   timestamp at the Controller (taken when the Controller decided, before its fsync, so the figure
   includes the commit). The machine's limit beside it, `projectionVisibleMs`: the same for a poller
   reading the Cockpit's stored EventId from the database every 2 ms (the projection's own lag; the
   stream cannot be earlier). The stream sends at most one line per 250 ms (live.py's MIN_INTERVAL_S).

One JSON document on stdout; progress on stderr. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import sqlalchemy as sa

from bench._common import machine
from bench.cockpit_api_bench import percentiles
from bench.cockpit_bench import CONTROLLER_ID, WORKFLOW, Poller, controller_events, progress, wait_caught_up
from js7es.nodes.cockpit.api.passwords import hash_password
from js7es.nodes.tls import client_ssl_context
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.database import open_database, sqlite_url
from tests.cockpit.cockpit_process import COCKPIT_USER, CockpitProcess, controller_event_id
from tests.e2e.topology import HOST, Topology

PASSWORD = "bench-secret"
# Of every 100 orders (an installation's mix: mostly planned ahead, some waiting, a few running or failed)
MIX = (("Fresh", 80), ("Ready", 10), ("Processing", 2), ("Failed", 3), ("Finished", 3), ("Prompting", 2))
STATES = tuple(state for state, n in MIX for _ in range(n))
HOUR_MS = 3_600_000


def fill(engine: sa.Engine, n_orders: int, n_history: int, version: str) -> None:
    """Orders of the deployed workflow in all states, and history rows ended over the last two hours."""
    now = int(time.time() * 1000)
    path = WORKFLOW["path"]
    with engine.begin() as c:
        for start in range(0, n_orders, 10_000):
            c.execute(
                schema.orders.insert(),
                [
                    {
                        "controller_id": CONTROLLER_ID,
                        "order_id": f"filled-{i:08}",
                        "workflow_path": path,
                        "workflow_version": version,
                        "state": STATES[i % len(STATES)],
                        "is_suspended": i % 50 == 0,
                        "position": "[0]",
                        "arguments": '{"n":1}',
                        "scheduled_for": now + i * 1000 if i % 100 < 80 else None,
                        "agent_path": "agent",
                        "parent_order_id": None,
                        "run_event_id": i + 1,
                        "step_event_id": None,
                        "order_json": "{}",
                        "updated_at": now,
                        "last_event_id": i + 1,
                    }
                    for i in range(start, min(start + 10_000, n_orders))
                ],
            )
        step = 2 * HOUR_MS // max(1, n_history)
        for start in range(0, n_history, 20_000):
            c.execute(
                schema.order_history.insert(),
                [
                    {
                        "controller_id": CONTROLLER_ID,
                        "order_id": f"ended-{i:08}",
                        "run_event_id": i + 1,
                        "parent_order_id": None,
                        "workflow_path": path,
                        "workflow_version": version,
                        "arguments": "{}",
                        "added_at": now - 2 * HOUR_MS + i * step - 100,
                        "scheduled_for": None,
                        "started_at": now - 2 * HOUR_MS + i * step - 50,
                        "ended_at": now - 2 * HOUR_MS + i * step,
                        "state": "Failed" if i % 13 == 0 else "Finished",
                        "end_position": "[2]",
                        "error_message": "failed in the bench" if i % 13 == 0 else None,
                    }
                    for i in range(start, min(start + 20_000, n_history))
                ],
            )
    with engine.begin() as c:
        c.exec_driver_sql("ANALYZE")


def session_token(http: httpx.Client) -> str:
    basic = base64.b64encode(f"root:{PASSWORD}".encode()).decode()
    r = http.post("/joc/api/authentication/login", headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.text
    return r.headers["X-Access-Token"]


def timed_get(http: httpx.Client, path: str, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    response = http.get(path, headers=headers)
    ms = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    return ms


def render(http: httpx.Client, token: str, runs: int) -> dict[str, Any]:
    cookie = {"Cookie": f"js7es_session={token}"}
    login_page = http.get("/login").text
    asset = next(part.split('"')[0] for part in login_page.split('href="')[1:] if part.startswith("/static/"))
    pages = {"dashboard": "/", "orders": "/orders", "loginPage": "/login", "staticAsset": asset}
    for path in pages.values():  # warm up: templates compiled, connections and caches
        timed_get(http, path, cookie)
    samples: dict[str, list[float]] = {name: [] for name in pages}
    for _ in range(runs):
        for name, path in pages.items():
            samples[name].append(timed_get(http, path, cookie))
    orders_html = http.get("/orders", headers=cookie).text
    return {
        "runsPerPage": runs,
        "dashboardMs": percentiles(samples["dashboard"]),
        "ordersPageMs": percentiles(samples["orders"]),
        "ordersPageRows": orders_html.count("data-order-id="),
        "machineLimit": {
            "loginPageMs": percentiles(samples["loginPage"]),
            "staticAssetMs": percentiles(samples["staticAsset"]),
        },
        "target": "first render p99 <= 300 ms",
    }


class SseReader(threading.Thread):
    """Holds /live open and records (wall time, EventId) of every `changed` line."""

    def __init__(self, url: str, token: str, verify: Any) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.verify = url, token, verify
        self.arrivals: list[tuple[float, int]] = []
        self.opened = threading.Event()
        self.stop = threading.Event()
        self.error = ""  # the stream ended early

    def run(self) -> None:
        headers = {"Cookie": f"js7es_session={self.token}", "Accept": "text/event-stream"}
        with httpx.Client(base_url=self.url, verify=self.verify, timeout=httpx.Timeout(30, read=60)) as http:
            try:
                with http.stream("GET", "/live", headers=headers) as response:
                    assert response.status_code == 200, response.status_code
                    self.opened.set()
                    for line in response.iter_lines():
                        if line.startswith("id: "):
                            self.arrivals.append((time.time(), int(line[4:])))
                        if self.stop.is_set():
                            return
            except httpx.HTTPError as e:
                if not self.stop.is_set():
                    self.error = repr(e)


def latencies(events: list[tuple[int, int]], arrivals: list[tuple[float, int]]) -> list[float]:
    """Per event: the first arrival whose EventId reached it, minus the event's timestamp (ms)."""
    out: list[float] = []
    k = 0
    for event_id, timestamp_ms in events:
        while k < len(arrivals) and arrivals[k][1] < event_id:
            k += 1
        if k < len(arrivals):
            out.append(max(0.0, arrivals[k][0] * 1000 - timestamp_ms))
    return out


def sse_run(topology: Topology, engine: sa.Engine, url: str, token: str, verify: Any, seconds: float) -> dict[str, Any]:
    reader = SseReader(url, token, verify)
    reader.start()
    assert reader.opened.wait(30), "the live stream did not open"
    time.sleep(0.5)
    poller = Poller(engine)
    poller.start()
    start_event_id = controller_event_id(topology)
    rng = random.Random(14)
    started = time.monotonic()
    n = 0
    with topology.controller() as client:
        while time.monotonic() - started < seconds:
            response = client.post("/controller/api/order", json={"id": f"live-{n}", "workflowPath": WORKFLOW["path"]})
            assert response.status_code in (200, 201), response.text
            n += 1
            time.sleep(rng.uniform(0.05, 0.3))
    wait_caught_up(engine, topology)
    time.sleep(1.0)  # the stream's last line (it sends at most one per 250 ms)
    reader.stop.set()
    poller.stop.set()
    poller.join()
    events = controller_events(topology, start_event_id)
    streamed = latencies(events, reader.arrivals)
    visible = latencies(events, [(t, e) for t, e in poller.changes])
    return {
        "orders": n,
        "events": len(events),
        "eventsPerSecond": round(len(events) / seconds, 1),
        "linesReceived": len(reader.arrivals),
        **({"streamError": reader.error} if reader.error else {}),
        "eventsMatched": len(streamed),
        "eventToPageMs": percentiles(streamed),
        "machineLimit": {"projectionVisibleMs": percentiles(visible)},
        "target": "p99 <= 500 ms",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="10,000 orders, 30 renders, 15 s of events")
    parser.add_argument("--orders", type=int, help="orders (and history rows) in the database (default 100,000)")
    parser.add_argument("--renders", type=int, help="renders of each page (default 100)")
    parser.add_argument("--seconds", type=float, help="seconds of added orders while the stream is open (default 60)")
    args = parser.parse_args()
    n_orders = args.orders or (10_000 if args.quick else 100_000)
    runs = args.renders or (30 if args.quick else 100)
    seconds = args.seconds or (15.0 if args.quick else 60.0)
    report: dict[str, Any] = {"machine": machine(), "quick": args.quick, "orders": n_orders, "historyRows": n_orders}
    with tempfile.TemporaryDirectory(prefix="ui-bench-") as tmp:
        root = Path(tmp)
        topology = Topology(root / "nodes", extra_users={"controller": {"cockpit": COCKPIT_USER}},
                            journal_readers=("cockpit", "client"))  # fmt: skip
        cockpit = CockpitProcess(topology, root / "cockpit", {CONTROLLER_ID: "controller"},
                                 sections={"joc": {"root-password-hash": hash_password(PASSWORD)}})  # fmt: skip
        engine: sa.Engine | None = None
        try:
            topology.start_all()
            assert topology.deploy(WORKFLOW, version="v1").status_code == 200
            cockpit.start()
            cockpit.wait_ready()
            engine = open_database(sqlite_url(cockpit.root / "cockpit.sqlite"))
            wait_caught_up(engine, topology)
            cockpit.kill(signal.SIGTERM)
            progress(f"filling the database: {n_orders:,} orders and history rows")
            started = time.perf_counter()
            fill(engine, n_orders, n_orders, "v1")
            report["fillSeconds"] = round(time.perf_counter() - started, 1)
            cockpit.start()
            cockpit.wait_ready(60)
            wait_caught_up(engine, topology)
            url = f"https://{HOST}:{cockpit.port}"
            verify = client_ssl_context(topology.client_tls)
            with httpx.Client(base_url=url, verify=verify, timeout=60) as http:
                token = session_token(http)
                progress(f"rendering the dashboard and the orders page {runs} times each")
                report["render"] = render(http, token, runs)
                progress(f"render: {json.dumps(report['render'])}")
                progress(f"adding orders for {seconds} s with /live open")
                report["sse"] = sse_run(topology, engine, url, token, verify, seconds)
        finally:
            cockpit.kill()
            topology.stop_all()
            if engine is not None:
                engine.dispose()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
