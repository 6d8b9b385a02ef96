"""`js7es export kafka` given both nodes of a Controller cluster, across a failover (issue 6's proof):
the active node is killed with SIGKILL while orders flow; the topic then holds every committed EventId
of the new active's journal exactly once, in order per partition."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.cluster_topology import ClusterTopology
from tests.projections.conftest import Broker
from tests.projections.test_export_e2e import WORKFLOW, TopicReader, check_topic

pytestmark = pytest.mark.slow
ORDERS = 1500
EXPORTER = {"distinguished-names": ["CN=exporter"], "permissions": ["ReadState", "Command"]}


def start_exporter(topo: ClusterTopology, broker: Broker, topic: str, log: Path) -> subprocess.Popen[bytes]:
    certs = topo.root / "certs"
    uris = [f"https://127.0.0.1:{topo.nodes[n].port}" for n in ("backup", "primary")]  # the standby first
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable, "-m", "js7es.nodes.cli", "export", "kafka", "--controller", *uris,
                "--bootstrap", broker.bootstrap, "--topic", topic,
                "--ca", str(certs / "ca" / "ca.crt"),
                "--cert", str(certs / "exporter" / "node.crt"),
                "--key", str(certs / "exporter" / "node.key"),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "ignore::DeprecationWarning"},
        )  # fmt: skip


def test_export_follows_a_controller_failover(tmp_path: Path, kafka_broker: Broker, topic: str) -> None:
    topo = ClusterTopology(
        tmp_path,
        extra_users={"primary": {"exporter": EXPORTER}, "backup": {"exporter": EXPORTER}},
        extra_certificates=("exporter",),
        journal_readers=("exporter", "client"),  # "client" never releases: the test reads the whole journal
    )
    for name in ("watch", "agent", "primary", "backup"):
        topo.start(name, wait=False)
    for name in ("watch", "agent", "primary", "backup"):
        topo.wait_ready(name)
    log = tmp_path / "exporter.log"
    exporter = start_exporter(topo, kafka_broker, topic, log)
    added = 0
    errors: list[str] = []

    def add_orders() -> None:
        nonlocal added
        while added < ORDERS:
            batch = [{"id": f"o{n}", "workflowPath": WORKFLOW["path"]} for n in range(added, min(ORDERS, added + 50))]
            try:
                with topo.controller() as c:
                    response = c.post("/controller/api/order", json=batch)
            except httpx.HTTPError:
                time.sleep(0.1)
                continue
            if response.status_code == 200:
                added += len(batch)
            elif response.status_code != 503:
                errors.append(response.text)
            time.sleep(0.02)

    try:
        assert topo.wait_coupled() == "primary"
        assert topo.deploy(WORKFLOW, version="1").status_code == 200
        feeder = threading.Thread(target=add_orders, daemon=True)
        feeder.start()
        deadline = time.monotonic() + 120
        while added < ORDERS // 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        topo.kill("primary")
        assert topo.wait_active("backup", timeout=30) == "backup"
        feeder.join(240)
        assert added == ORDERS and not errors, errors
        # Every order finished, and the exporter caught up with the new active's last EventId.
        topo.wait_for(lambda ev: sum(e["TYPE"] == "OrderFinished" for e in ev) == ORDERS, timeout=180)
        with topo.controller() as c:
            last = int(c.get("/controller/api").json()["eventId"])
        reader = TopicReader(kafka_broker, topic)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                reader.poll(1.0)
                if max(reader.event_ids(), default=0) >= last:
                    break
            reader.poll(2.0)  # nothing more may come (no duplicate after the catch-up either)
            exporter.send_signal(signal.SIGTERM)
            exporter.wait(20)
            topo.kill("backup", signal.SIGTERM)
            topo.kill("primary", signal.SIGTERM)
            expected = [s for s in journal_events(topo, "backup") if s.event_id <= last]
            records = {p: [r for r in rs if r.headers] for p, rs in reader.records.items()}
            check_topic(records, expected)
        finally:
            reader.close()
    finally:
        if exporter.poll() is None:
            exporter.kill()
        topo.stop_all()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def journal_events(topo: ClusterTopology, name: str) -> list:  # type: ignore[type-arg]
    from js7es.projections.cockpit.rebuild import journal_events as read

    return list(read(topo.nodes[name].data_dir / "state"))
