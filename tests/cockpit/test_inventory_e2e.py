"""The inventory on real processes: the js7-samples imported and deployed through the JOC API to a real
Controller, an order run on one; a kill -9 of the Cockpit between a deployment's intent and the
Controller's answer, then a restart: the deployment is reconciled from the Controller's state and the
audit log marks the command's outcome Unknown; nothing is half-deployed."""

from __future__ import annotations

import base64
import io
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from js7es.nodes.cockpit.api.passwords import hash_password
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.database import open_database, sqlite_url
from tests.cockpit.cockpit_process import COCKPIT_USER, CockpitProcess
from tests.cockpit.test_cockpit_e2e import cockpit_topology
from tests.e2e.topology import HOST

SAMPLES = Path("/work/shared/reference/js7-samples")
CONTROLLER_ID = "js7es-test"


def login(client: httpx.Client) -> dict[str, str]:
    basic = base64.b64encode(b"root:secret").decode()
    r = client.post("/joc/api/authentication/login", headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.text
    return {"X-Access-Token": r.headers["X-Access-Token"]}


def post(client: httpx.Client, token: dict[str, str], path: str, body: Any) -> httpx.Response:
    return client.post(f"/joc/api{path}", json=body, headers=token, timeout=60)


def deploy_body(*paths: str) -> dict[str, Any]:
    configs = [{"configuration": {"path": p, "objectType": "WORKFLOW"}} for p in paths]
    return {"controllerIds": [CONTROLLER_ID], "store": {"draftConfigurations": configs}}


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out: {what}")


def test_samples_deploy_run_and_a_kill_9_during_a_deploy(tmp_path: Path) -> None:
    deployer = {**COCKPIT_USER, "permissions": [*COCKPIT_USER["permissions"], "UpdateItem"]}  # deploys items
    topology = cockpit_topology(
        tmp_path / "nodes", agents=("agent-1", "agent-2"), extra_users={"controller": {"cockpit": deployer}}
    )
    topology.start_all()
    cockpit = CockpitProcess(
        topology,
        tmp_path / "cockpit",
        {CONTROLLER_ID: "controller"},
        sqlite_url(tmp_path / "cockpit.sqlite"),
        sections={"joc": {"root-password-hash": hash_password("secret")}},
    )
    try:
        cockpit.env = {"JS7ES_TEST_CRASH_AT": "deploy-sent"}
        cockpit.start()
        cockpit.wait_ready()
        with cockpit.client() as client:
            token = login(client)
            agents = [
                {"agentId": a, "agentName": a, "url": f"https://{HOST}:{topology.nodes[a].port}"}
                for a in ("agent-1", "agent-2")
            ]
            r = post(client, token, "/agents/inventory/store", {"controllerId": CONTROLLER_ID, "agents": agents})
            assert r.status_code == 200, r.text
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as zf:
                for sample in SAMPLES.iterdir():
                    zf.writestr(f"samples/{sample.name}", sample.read_bytes())
            r = client.post(
                "/joc/api/inventory/import",
                headers=token,
                files={"file": ("samples.zip", buffer.getvalue(), "application/zip")},
                data={"overwrite": "false"},
            )
            assert r.status_code == 200, r.text
            # The Agents' deployment is killed after the Controller applied it, before the answer.
            deploy_agents = {"controllerId": CONTROLLER_ID, "agentIds": ["agent-1", "agent-2"]}
            try:
                r = post(client, token, "/agents/inventory/deploy", deploy_agents)
            except httpx.HTTPError:
                pass
            else:
                raise AssertionError(f"the Cockpit answered: {r.status_code} {r.text}")
        assert cockpit.process is not None and cockpit.process.wait(30) == -9
        cockpit.env = {}
        cockpit.start()
        cockpit.wait_ready()
        engine = open_database(sqlite_url(tmp_path / "cockpit.sqlite"))
        audit = schema.audit_log

        def reconciled() -> bool:
            with engine.connect() as c:
                rows = c.execute(
                    sa.select(audit.c.category, audit.c.outcome, audit.c.parameters, audit.c.account)
                ).all()
            return any(r.category == "DEPLOYMENT" and r.outcome == "Unknown" for r in rows) and any(
                r.account == "js7es" and '"DeploymentSucceeded"' in (r.parameters or "") for r in rows
            )

        wait_until(reconciled, 30, "the deployment reconciled and the command marked Unknown in the audit log")
        with cockpit.client() as client:
            token = login(client)
            read = post(
                client,
                token,
                "/inventory/read/configuration",
                {"path": "/agent-1", "objectType": "WORKFLOW"},
            )
            assert read.status_code == 420  # Agents are no workflows: not readable as such
            r = post(client, token, "/inventory/deployment/deploy", deploy_body("/samples/testCase3A"))
            assert r.status_code == 200, r.text
            wf = post(
                client,
                token,
                "/inventory/read/configuration",
                {"path": "/samples/testCase3A", "objectType": "WORKFLOW"},
            ).json()
            assert wf["deployed"] is True
            commit_id = wf["deployments"][0]["commitId"]
        with topology.client("controller") as c:
            versions = c.get("/controller/api/snapshot").text.splitlines()[0]
            assert commit_id in versions
        assert topology.add_order("sample-1", "testCase3A").status_code in (200, 201)
        topology.wait_for(lambda events: topology.terminated(events, "sample-1"), timeout=60)
        events = topology.events()
        assert "OrderFinished" in topology.order_events(events, "sample-1")
    finally:
        cockpit.kill()
        topology.stop_all()
