"""Cockpit cluster benchmark: takeover time after a kill -9 of the active Cockpit; prints ONE JSON document.

    .venv/bin/python bench/cockpit_takeover_bench.py [--quick] [--kills N] [--lease S --renew S --poll S]

Real processes on the real PostgreSQL (127.0.0.1:5432, database test, a fresh schema): a Controller and an
Agent (`tests/e2e/topology.Topology`) and two Cockpit members a and b (`tests/cockpit/test_joc_standby_e2e`'s
Pair), orders added at the Controller all along (10 every 0.2 s), so that the projection is busy. `--kills`
times (default 10, 3 with --quick): kill -9 the active member, then measure from the kill

- `takeover`: until the other member's overview says it is active (it took the lease, its services start);
- `firstChange`: until an audited /joc/api/orders/add sent to that member is answered 200 (the API's
  writes are served again; the token is the one of a login before the first kill: sessions survive);

then the killed member is restarted as the standby. Each configuration of the lease is measured
(`--lease/--renew/--poll`: one; default: the shipped defaults, 4/1/0.5 s, and a longer 8/2/1 s). The
target of issue 19: median takeover <= 5 s. Nothing is asserted; progress goes to stderr.
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

from bench._common import machine, spread
from js7es.nodes.cockpit.cluster import ClusterSettings
from tests.cockpit.test_joc_standby_e2e import ControllerOrders, Pair, add_order, cluster, login

TARGET = "median takeover <= 5 s"
_DEFAULTS = ClusterSettings(cluster_id="", member_id="")
SHIPPED = (_DEFAULTS.lease_s, _DEFAULTS.renew_s, _DEFAULTS.poll_s)
LONGER = (8.0, 2.0, 1.0)


def progress(message: str) -> None:
    print(f"[cockpit_takeover_bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def until(predicate: Any, timeout: float) -> float | None:
    """Seconds until `predicate()` holds (polled every 50 ms), None after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if predicate():
                return time.monotonic() - started
        except Exception:
            pass
        time.sleep(0.05)
    return None


def measure(base: Path, kills: int, lease_s: float, renew_s: float, poll_s: float) -> dict[str, Any]:
    pair = Pair(base, lease_s=lease_s, renew_s=renew_s, poll_s=poll_s)
    takeovers: list[float] = []
    changes: list[float] = []
    missed = 0
    try:
        pair.start()
        token = login(pair.a).headers["X-Access-Token"]
        orders = ControllerOrders(pair)
        orders.start()
        for kill in range(kills):
            time.sleep(1.5)
            active, standby = (pair.a, pair.b) if cluster(pair.a)["active"] else (pair.b, pair.a)
            active.kill()
            killed = time.monotonic()
            took = until(lambda s=standby: cluster(s)["active"], 60)
            changed = until(lambda s=standby, k=kill: add_order(s, token, f"bench-{k}").status_code == 200, 60)
            if took is None or changed is None:
                missed += 1
            else:
                takeovers.append(took)
                changes.append(time.monotonic() - killed)
            progress(f"lease {lease_s} s, kill {kill + 1}/{kills}: takeover {took} s, first change {changes[-1:]}")
            active.start()
            active.wait_ready(60)
        orders.stop.set()
        orders.join(30)
        return {
            "lease": {"leaseSeconds": lease_s, "renewSeconds": renew_s, "pollSeconds": poll_s},
            "takeover": spread(takeovers),
            "firstChange": spread(changes),
            "missed": missed,
            "ordersAdded": orders.added,
        }
    finally:
        pair.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 kills per configuration")
    parser.add_argument("--kills", type=int, help="kills per configuration (default 10, 3 with --quick)")
    parser.add_argument("--lease", type=float, help="only this lease (seconds), with --renew and --poll")
    parser.add_argument("--renew", type=float, default=1.0)
    parser.add_argument("--poll", type=float, default=0.5)
    args = parser.parse_args()
    kills = args.kills or (3 if args.quick else 10)
    configurations = [(args.lease, args.renew, args.poll)] if args.lease else [SHIPPED, LONGER]
    report: dict[str, Any] = {"machine": machine(), "quick": args.quick, "target": TARGET, "runs": []}
    started = time.monotonic()
    for lease_s, renew_s, poll_s in configurations:
        with tempfile.TemporaryDirectory(prefix="cockpit-takeover-bench-") as base:
            progress(f"lease {lease_s} s, renew {renew_s} s, poll {poll_s} s: {kills} kills")
            report["runs"].append(measure(Path(base), kills, lease_s, renew_s, poll_s))
    report["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
