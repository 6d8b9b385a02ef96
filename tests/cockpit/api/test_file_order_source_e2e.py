"""A FILEORDERSOURCE stored and deployed through the JOC API to a real Controller and Agent becomes JS7's
FileWatch: a file dropped in the watched directory becomes one order with JOC's file order id
(#<date>#F<epoch second>-<source>:<file>) and the file's path in `file`, which runs the workflow; revoking
the source deletes the FileWatch at the Controller.

Needs the Controller's and Agent's FileWatch (branch filewatch): without it the Controller refuses the
item type and the deployment fails as a whole."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from js7es.nodes.cockpit.api.passwords import hash_password
from js7es.nodes.tls import client_ssl_context
from tests.cockpit.cockpit_process import COCKPIT_USER, CockpitProcess
from tests.cockpit.test_cockpit_e2e import ECHO_JOB, cockpit_topology
from tests.e2e.topology import HOST, Topology

pytestmark = pytest.mark.slow
CONTROLLER_ID = "js7es-test"
PASSWORD = "root-secret"


@pytest.fixture
def cockpit(tmp_path: Path) -> Iterator[tuple[Topology, httpx.Client]]:
    deployer = {**COCKPIT_USER, "permissions": [*COCKPIT_USER["permissions"], "UpdateItem"]}
    topology = cockpit_topology(
        tmp_path / "nodes", controller_id=CONTROLLER_ID, extra_users={"controller": {"cockpit": deployer}}
    )
    process = CockpitProcess(
        topology,
        tmp_path / "cockpit",
        {CONTROLLER_ID: "controller"},
        sections={"joc": {"root-password-hash": hash_password(PASSWORD)}},
    )
    try:
        topology.start_all()
        assert topology.deploy(version="agents").status_code == 200
        process.start()
        process.wait_ready()
        verify = client_ssl_context(topology.client_tls)
        with httpx.Client(base_url=f"https://{HOST}:{process.port}/joc/api", verify=verify, timeout=60) as client:
            basic = base64.b64encode(f"root:{PASSWORD}".encode()).decode()
            r = client.post("/authentication/login", headers={"Authorization": f"Basic {basic}"})
            assert r.status_code == 200, r.text
            client.headers["X-Access-Token"] = r.headers["X-Access-Token"]
            yield topology, client
    finally:
        process.kill()
        topology.stop_all()


def ok(client: httpx.Client, path: str, body: dict[str, Any]) -> None:
    r = client.post(path, json={**body, "auditLog": {"comment": "file order source"}})
    assert r.status_code == 200, f"{path}: {r.status_code} {r.text}"


def configurations(*objects: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"configuration": {"path": f"/files/{n}", "objectType": t}} for t, n in objects]


def file_watches(topology: Topology) -> list[dict[str, Any]]:
    with topology.controller() as c:
        lines = [json.loads(line) for line in c.get("/controller/api/snapshot").text.splitlines() if line.strip()]
    return [line for line in lines if json.dumps(line).find('"FileWatch"') >= 0]


def test_a_file_becomes_an_order_with_joc_s_order_id(cockpit: tuple[Topology, httpx.Client], tmp_path: Path) -> None:
    topology, client = cockpit
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    workflow = {"instructions": [{"TYPE": "Execute.Named", "jobName": "echo"}], "jobs": {"echo": ECHO_JOB}}
    source = {
        "workflowName": "process-file",
        "agentName": "agent",
        "directoryExpr": f"'{incoming}'",
        "pattern": ".*\\.csv",
        "timeZone": "Europe/Berlin",
        "delay": 0,
        "title": "CSV files",
    }
    for object_type, name, configuration in (
        ("WORKFLOW", "process-file", workflow),
        ("FILEORDERSOURCE", "csv", source),
    ):
        body = {"path": f"/files/{name}", "objectType": object_type, "configuration": configuration}
        ok(client, "/inventory/store", body)
    drafts = configurations(("WORKFLOW", "process-file"), ("FILEORDERSOURCE", "csv"))
    ok(
        client,
        "/inventory/deployment/deploy",
        {"controllerIds": [CONTROLLER_ID], "store": {"draftConfigurations": drafts}},
    )
    assert file_watches(topology), "the FileWatch at the Controller"

    (incoming / "a.csv").write_text("1,2,3\n")
    (incoming / "ignored.txt").write_text("not matching\n")

    def added(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e["TYPE"] == "OrderAdded"]

    events = topology.wait_for(lambda events: topology.terminated(events, *[e["Key"] for e in added(events)] or ["-"]))
    [order] = added(events)
    assert re.fullmatch(r"#\d{4}-\d{2}-\d{2}#F\d+-csv:a\.csv", order["Key"]), order
    assert order.get("arguments", {}).get("file") == str(incoming / "a.csv"), order
    assert "OrderFinished" in topology.order_events(events, order["Key"])

    revoke = {"controllerIds": [CONTROLLER_ID], "deployConfigurations": configurations(("FILEORDERSOURCE", "csv"))}
    ok(client, "/inventory/deployment/revoke", revoke)
    assert file_watches(topology) == []
