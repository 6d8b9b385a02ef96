"""The standalone's samples (js7es/nodes/samples/): the items, deployed where the Controller lacks them,
the sample order, added on the first start only (standalone.json remembers it), and in the Cockpit the
sample calendar and schedule, stored and released once (the daily plan service then plans them)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from js7es.nodes.client.cockpit import CockpitClient
from js7es.nodes.client.connection import ClientTls
from js7es.nodes.client.controller import ControllerClient
from js7es.nodes.client.errors import ClientError
from js7es.nodes.client.items import deploy_operations, new_version_id
from js7es.nodes.standalone.layout import HOST, Layout, write_new

SAMPLE_WORKFLOW = "hello"
SAMPLE_ORDER_ID = "hello-sample"
SAMPLE_CALENDAR = ("WORKINGDAYSCALENDAR", "/samples/working-days", "working-days.calendar.json")
SAMPLE_SCHEDULE = ("SCHEDULE", "/samples/hello", "hello.schedule.json")


def _sample(name: str) -> dict[str, Any]:
    loaded = json.loads(resources.files("js7es.nodes").joinpath("samples", name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def sample_items(agent_port: int) -> list[dict[str, Any]]:
    subagent = _sample("agent-director.subagent.json")
    subagent["uri"] = f"https://{HOST}:{agent_port}"
    return [_sample("agent.agentref.json"), subagent, _sample("hello.workflow.json")]


def _missing_items(snapshot: list[dict[str, Any]], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    have_simple = {
        (o["item"].get("TYPE"), o["item"].get("path", o["item"].get("id"))): o["item"]
        for o in snapshot
        if o.get("TYPE") == "SimpleItem"
    }
    have_workflows = {o["item"].get("path") for o in snapshot if o.get("TYPE") == "WorkflowItem"}
    meta = next((o for o in snapshot if o.get("TYPE") == "ControllerMetaState"), {})
    current = set(meta.get("currentVersions", {})) if isinstance(meta.get("currentVersions"), dict) else have_workflows
    missing = []
    for item in items:
        if "instructions" in item:
            if item["path"] not in current:
                missing.append(item)
        else:
            there = have_simple.get((item["TYPE"], item.get("path", item.get("id"))))
            if there is None or (item["TYPE"] == "SubagentItem" and there.get("uri") != item["uri"]):
                missing.append(item)
    return missing


def deploy_samples(client: ControllerClient, layout: Layout, agent_port: int, out: Callable[[str], None]) -> None:
    """The sample items where the Controller lacks them; the sample order once. A refusal is reported,
    not raised: the standalone runs on without its sample."""
    memo = _read_memo(layout.memo)
    try:
        with client:
            snapshot = client.get_ndjson("/snapshot")
            missing = _missing_items(snapshot, sample_items(agent_port))
            if missing:
                client.post("/item", deploy_operations(missing, new_version_id()))
                names = ", ".join(f"{i.get('TYPE', 'Workflow')}:{i.get('path', i.get('id'))}" for i in missing)
                out(f"Deployed the sample items: {names}")
            if not memo.get("sampleOrder"):
                try:
                    client.post("/order", {"id": SAMPLE_ORDER_ID, "workflowPath": SAMPLE_WORKFLOW})
                    out(f"Added the sample order {SAMPLE_ORDER_ID!r} to the workflow {SAMPLE_WORKFLOW!r}.")
                except ClientError as e:
                    if not str(e).startswith("DuplicateOrder"):
                        raise
                write_new(layout.memo, json.dumps({**memo, "sampleOrder": SAMPLE_ORDER_ID}) + "\n")
    except ClientError as e:
        print(f"js7es: the sample could not be deployed: {e}", file=sys.stderr)


def release_sample_schedule(layout: Layout, cockpit_port: int, out: Callable[[str], None]) -> None:
    """Stores and releases the sample calendar and schedule in the Cockpit, once (as root, with the first
    password: a Cockpit whose root password was changed before is left alone)."""
    memo = _read_memo(layout.memo)
    if memo.get("sampleSchedule") or not layout.root_password.exists():
        return
    password = layout.root_password.read_text().strip()
    tls = ClientTls(ca=layout.certs / "ca" / "ca.crt")
    try:
        with CockpitClient(f"https://{HOST}:{cockpit_port}", "root", password, tls) as cockpit:
            for object_type, path, name in (SAMPLE_CALENDAR, SAMPLE_SCHEDULE):
                cockpit.post(
                    "/inventory/store", {"objectType": object_type, "path": path, "configuration": _sample(name)}
                )
            cockpit.post(
                "/inventory/release",
                {"update": [{"objectType": t, "path": p} for t, p, _ in (SAMPLE_CALENDAR, SAMPLE_SCHEDULE)]},
            )
        out(f"Released the sample schedule {SAMPLE_SCHEDULE[1]!r} (workflow {SAMPLE_WORKFLOW!r}) to the daily plan.")
        write_new(layout.memo, json.dumps({**_read_memo(layout.memo), "sampleSchedule": SAMPLE_SCHEDULE[1]}) + "\n")
    except ClientError as e:
        print(f"js7es: the sample schedule could not be released: {e}", file=sys.stderr)


def _read_memo(path: Path) -> dict[str, Any]:
    try:
        memo = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return memo if isinstance(memo, dict) else {}
