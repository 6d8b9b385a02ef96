"""The active Cockpit's database connection cut (issue 19, Must 1): two real Cockpit processes on the real
PostgreSQL, the active one ("a") reaching it through a TCP proxy that the test cuts — existing connections
closed, new ones refused, as when its host loses the database's network.

The standby ("b") takes over within 10 s (the lease expires on the database's clock), the old active steps
down (it could not renew for most of a lease) and, the link healed, comes back as the standby; no write of
"a" carries the new generation (the fence), and the order added after the takeover is projected once.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.cockpit.test_cockpit_e2e import CONTROLLER_ID, finished_runs, wait_until
from tests.cockpit.test_joc_cluster_e2e import WRITE_LOG
from tests.cockpit.test_joc_standby_e2e import LEASE_S, Pair, add_order, cluster, login, member
from tests.e2e.cluster_topology import CuttableProxy


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)
    user = host[0] + "@" if len(host) == 2 else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))


def test_the_active_losing_its_database_is_taken_over_and_fenced(tmp_path: Path) -> None:
    pair = Pair(tmp_path)
    target = urlsplit(pair.url).port or 5432
    proxy = CuttableProxy(target)
    pair.a = member(pair.topology, tmp_path, "a", _via(pair.url, proxy.port), pair.schema_name)
    try:
        pair.start()
        pair.sql(WRITE_LOG)
        token = login(pair.a).headers["X-Access-Token"]
        assert add_order(pair.a, token, "before-cut").status_code == 200
        wait_until(lambda: finished_runs(pair.engine, CONTROLLER_ID) == 1, 60, "the first order projected")

        proxy.cut()
        cut_at = time.monotonic()
        wait_until(lambda: cluster(pair.b)["active"], 15, "b to take over")
        took = time.monotonic() - cut_at
        print(f"takeover {took:.1f} s after the cut")
        assert took < 10, took
        wait_until(lambda: not cluster(pair.a)["active"], 2 * LEASE_S, "a to step down without its database")

        assert add_order(pair.b, token, "after-cut").status_code == 200  # the session is in the database
        wait_until(lambda: finished_runs(pair.engine, CONTROLLER_ID) == 2, 60, "b to project the second order")
        proxy.heal()
        wait_until(lambda: cluster(pair.a).get("activeMember") == "b", 30, "a back as the standby")
        time.sleep(2 * LEASE_S)  # a has had every chance to write, had it kept anything running
        writes = {(app, generation) for app, generation in pair.sql("SELECT DISTINCT app, generation FROM write_log")}
        assert writes <= {("js7es-a", 1), ("js7es-b", 2)} and ("js7es-b", 2) in writes, writes
        assert finished_runs(pair.engine, CONTROLLER_ID) == 2
    finally:
        pair.close()
        proxy.close()
