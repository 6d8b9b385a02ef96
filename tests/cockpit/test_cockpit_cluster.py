"""The Cockpit follows a Controller cluster given both URIs, across a failover (issue 5's proof):
the old active is killed with SIGKILL during a burst of orders; afterwards the Cockpit's tables equal a
rebuild from the new active's journal (no gap, no duplicate in the history) and every order has
exactly one run, Finished."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from js7es.projections.cockpit import schema
from js7es.projections.cockpit.database import count_orders_by_state, sqlite_url, stored_event_id, table_digests
from tests.cockpit.cockpit_process import COCKPIT_USER, CockpitProcess
from tests.cockpit.test_cockpit_e2e import CONTROLLER_ID, Database, rebuilt_digests, wait_until, workflow
from tests.e2e.cluster_topology import ClusterTopology

pytestmark = pytest.mark.slow
ORDERS = 1500


class ClusterBurst(threading.Thread):
    """Adds orders in batches to whichever node is active; a batch is repeated until accepted (adding
    an existing order id is ignored, so nothing is added twice)."""

    def __init__(self, topology: ClusterTopology, count: int) -> None:
        super().__init__(daemon=True)
        self.topology, self.count = topology, count
        self.added = 0

    def run(self) -> None:
        while self.added < self.count:
            ids = range(self.added, min(self.count, self.added + 50))
            orders = [{"id": f"order-{i}", "workflowPath": "burst"} for i in ids]
            try:
                with self.topology.controller() as client:
                    response = client.post("/controller/api/order", json=orders)
            except httpx.HTTPError:
                time.sleep(0.1)
                continue
            if response.status_code == 200:
                self.added += len(orders)
            else:
                time.sleep(0.1)
            time.sleep(0.02)


def test_the_cockpit_follows_a_controller_failover_without_gap_or_duplicate(tmp_path: Path) -> None:
    users = {"cockpit": COCKPIT_USER}
    topology = ClusterTopology(
        tmp_path / "nodes",
        controller_id=CONTROLLER_ID,
        extra_users={"primary": users, "backup": users},
        journal_readers=("cockpit", "client"),  # "client" never releases: the test rebuilds from the journal
    )
    for name in ("watch", "agent", "primary", "backup"):
        topology.start(name, wait=False)
    for name in ("watch", "agent", "primary", "backup"):
        topology.wait_ready(name)
    database = Database("sqlite", tmp_path)
    url = sqlite_url(tmp_path / "cockpit.sqlite")
    cockpit = CockpitProcess(topology, tmp_path / "cockpit", {CONTROLLER_ID: "primary"}, url)
    # Both nodes' URIs, the standby first: the Cockpit finds the active one.
    text = cockpit.config.read_text()
    primary, backup = (f"https://127.0.0.1:{topology.nodes[n].port}" for n in ("primary", "backup"))
    cockpit.config.write_text(text.replace(f'uris = ["{primary}"]', f'uris = ["{backup}", "{primary}"]'))
    try:
        assert topology.wait_coupled() == "primary"
        with topology.controller() as c:
            assert c.post("/controller/api/item", json=[{"TYPE": "AddVersion", "versionId": "v1"},
                *({"TYPE": "AddOrChangeSimple", "item": i} for i in [*topology.agent_items(), workflow()])
            ]).status_code == 200  # fmt: skip
        cockpit.start()
        cockpit.wait_ready()
        engine = database.engine(url, None)
        burst = ClusterBurst(topology, ORDERS)
        burst.start()
        wait_until(lambda: burst.added >= ORDERS // 3, 120, "a third of the orders")
        topology.kill("primary")
        assert topology.wait_active("backup", timeout=30) == "backup"
        burst.join(300)
        assert burst.added == ORDERS

        def all_finished() -> bool:
            return count_orders_by_state(engine, CONTROLLER_ID) == {"Finished": ORDERS}

        wait_until(all_finished, 180, "every order Finished in the Cockpit")
        with topology.controller() as c:
            last = int(c.get("/controller/api").json()["eventId"])
        wait_until(lambda: stored_event_id(engine, CONTROLLER_ID) == last, 60, "the Cockpit to catch up")
        cockpit.kill()
        live = table_digests(engine, CONTROLLER_ID)
        rebuilt = rebuilt_digests(database, topology.nodes["backup"].data_dir / "state", CONTROLLER_ID, last)
        assert live == rebuilt
        with engine.connect() as c:
            runs = c.execute(
                sa.select(schema.order_history.c.order_id, sa.func.count()).group_by(schema.order_history.c.order_id)
            ).all()
            controller = c.execute(sa.select(schema.controllers)).mappings().one()
        assert len(runs) == ORDERS and all(n == 1 for _, n in runs)
        assert controller["inapplicable_events"] == 0
        cluster_state = json.loads(controller["cluster_state"])  # the cluster's state, projected
        assert cluster_state["TYPE"] == "FailedOver" and cluster_state["setting"]["activeId"] == "Backup"
    finally:
        cockpit.kill()
        topology.stop_all()
        database.close()
