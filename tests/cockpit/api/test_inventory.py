"""Inventory, deployment, export/import and Agent endpoints in-process (joc-cockpit.md §1.4, §3).

JOC's shapes: js7-api-schemas `inventory/configurationObject-schema.json`, `inventory/common/
response-folder-schema.json`, `publish/deploy-schema.json` (example `publish/deploy-example.json`),
`publish/revoke-schema.json`, `publish/exportFilter-schema.json`, `agent/storeAgents-schema.json`
(example `agent/store-example.json`). The Controller here is a small stand-in that keeps the versions
and items the way the Controller's UpdateItems does (all or nothing, references checked); the real one
runs in test_inventory_e2e.py.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.events import ChangeMeta
from js7es.domain.cockpit.iam import FolderGrant
from js7es.domain.problem import problem
from js7es.nodes.client.errors import ClientError
from tests.cockpit.api.conftest import Backend
from tests.cockpit.api.harness import Joc, running_joc

SAMPLES = Path("/work/shared/reference/js7-samples")
WORKFLOW = {
    "instructions": [{"TYPE": "Execute.Named", "jobName": "j"}],
    "jobs": {"j": {"agentPath": "agent-1", "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}}},
}


class StandInController:
    def __init__(self) -> None:
        self.versions: list[str] = []
        self.items: dict[str, dict[str, Any]] = {}
        self.posts: list[Any] = []

    def post(self, path: str, operations: list[dict[str, Any]]) -> Any:
        assert path == "/item"
        self.posts.append(operations)
        items = dict(self.items)
        for op in operations:
            if op["TYPE"] == "AddOrChangeSimple":
                item = op["item"]
                items[f"{item.get('TYPE', 'Workflow')}:{item.get('path', item.get('id'))}"] = item
            elif op["TYPE"] == "RemoveVersioned":
                items.pop(f"Workflow:{op['path']}")
            elif op["TYPE"] == "DeleteSimple":
                items.pop(op["path"])
        for key, item in items.items():
            if key.startswith("Workflow:"):
                for job in item.get("jobs", {}).values():
                    if f"AgentRef:{job['agentPath']}" not in items:
                        raise ClientError(
                            "refused", problem=problem("UnknownItem", f"unknown AgentRef:{job['agentPath']}")
                        )
        self.items = items
        self.versions.append(operations[0]["versionId"])
        return {}

    def get_ndjson(self, path: str) -> list[Any]:
        return [{"TYPE": "ControllerMetaState", "versions": list(self.versions)}]

    def close(self) -> None:
        pass


@pytest.fixture
def controller() -> StandInController:
    return StandInController()


@pytest.fixture
def joc(tmp_path: Path, controller: StandInController, backend: Backend) -> Iterator[Joc]:
    with running_joc(tmp_path, make_client=lambda _: controller, store=backend.store, engine=backend.engine) as j:
        yield j


def store(joc: Joc, token: str, path: str, object_type: str = "WORKFLOW", configuration: Any = None) -> Any:
    body = {"path": path, "objectType": object_type, "configuration": configuration or WORKFLOW}
    return joc.post("/inventory/store", body, token=token)


def add_agent(joc: Joc, token: str) -> None:
    body = {
        "controllerId": "js7es",
        "agents": [{"agentId": "agent-1", "agentName": "agent-1", "url": "https://a:4443"}],
    }
    assert joc.post("/agents/inventory/store", body, token=token).json()["ok"] is True
    assert (
        joc.post(
            "/agents/inventory/deploy", {"controllerId": "js7es", "agentIds": ["agent-1"]}, token=token
        ).status_code
        == 200
    )


def test_store_and_read_a_workflow_in_jocs_shape(joc: Joc) -> None:
    token = joc.login()
    r = store(joc, token, "/a/b/my")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["path"] == "/a/b/my" and answer["objectType"] == "WORKFLOW"
    assert answer["valid"] is True and answer["deployed"] is False and answer["state"] == "DEPLOYMENT_NOT_EXIST"
    read = joc.post("/inventory/read/configuration", {"path": "/a/b/my", "objectType": "WORKFLOW"}, token=token).json()
    assert read["configuration"] == WORKFLOW  # JS7's JSON unchanged
    assert read["name"] == "my" and read["deployments"] == [] and "deliveryDate" in read
    folder = joc.post("/inventory/read/folder", {"path": "/a", "recursive": True}, token=token).json()
    assert [w["path"] for w in folder["workflows"]] == ["/a/b/my"]
    assert joc.post("/inventory/read/folder", {"path": "/a"}, token=token).json().get("workflows") is None


def test_an_invalid_workflow_is_kept_as_an_invalid_draft(joc: Joc) -> None:
    token = joc.login()
    answer = store(joc, token, "/bad", configuration={"instructions": [{"TYPE": "Nope"}]}).json()
    assert answer["valid"] is False and answer["invalidMsg"]
    store(joc, token, "/other", "LOCK", {"limit": 1})  # a draft of another type, not in this deployment
    r = joc.post(
        "/inventory/deployment/deploy",
        {
            "controllerIds": ["js7es"],
            "store": {"draftConfigurations": [{"configuration": {"path": "/bad", "objectType": "WORKFLOW"}}]},
        },
        token=token,
    )
    assert r.status_code == 420 and r.json()["error"]["code"] == "JOC-400"


@pytest.mark.parametrize("path", ["/a/../x", "a/x", "/a\\x", "/a//x", "/.x"])
def test_bad_paths_are_420(joc: Joc, path: str) -> None:
    token = joc.login()
    r = store(joc, token, path)
    assert r.status_code == 420 and r.json()["error"]["code"] == "JOC-400"
    assert joc.store.inventory().objects == {}


def test_deploy_with_jocs_example_shapes_then_revoke_and_remove(joc: Joc, controller: StandInController) -> None:
    token = joc.login()
    store(joc, token, "/f/wf")
    # Refused as a whole: the Agent is neither at the Controller nor in the deployment.
    body = {
        "controllerIds": [{"controllerId": "js7es"}],
        "store": {"draftConfigurations": [{"draftConfiguration": {"path": "/f/wf", "objectType": "WORKFLOW"}}]},
    }
    r = joc.post("/inventory/deployment/deploy", body, token=token)
    assert r.status_code == 420 and "UnknownItem" in r.json()["error"]["message"]
    assert controller.items == {}
    failed = [d for d in joc.store.inventory().deployments.values() if d.outcome == "Failed"]
    assert len(failed) == 1
    add_agent(joc, token)
    assert joc.post("/inventory/deployment/deploy", body, token=token).status_code == 200
    commit_id = controller.posts[-1][0]["versionId"]
    assert controller.items["Workflow:wf"]["jobs"] == WORKFLOW["jobs"]
    read = joc.post("/inventory/read/configuration", {"path": "/f/wf", "objectType": "WORKFLOW"}, token=token).json()
    assert read["deployed"] is True and read["state"] == "DRAFT_NOT_EXIST"
    assert read["deployments"][0]["commitId"] == commit_id and read["deployments"][0]["versions"] == [
        {"controllerId": "js7es"}
    ]
    assert (
        joc.post(
            "/inventory/read/configuration",
            {"path": "/f/wf", "objectType": "WORKFLOW", "commitId": commit_id},
            token=token,
        ).status_code
        == 200
    )
    remove = {"objects": [{"path": "/f/wf", "objectType": "WORKFLOW"}]}
    assert joc.post("/inventory/remove", remove, token=token).status_code == 420  # deployed: revoke first
    revoke = {
        "controllerIds": ["js7es"],
        "deployConfigurations": [{"configuration": {"path": "/f/wf", "objectType": "WORKFLOW"}}],
    }
    assert joc.post("/inventory/deployment/revoke", revoke, token=token).status_code == 200
    assert "Workflow:wf" not in controller.items
    assert joc.post("/inventory/remove", remove, token=token).json()["ok"] is True
    assert joc.post("/inventory/read/folder", {"path": "/f"}, token=token).json().get("workflows") is None
    # the audit trail: every deployment is a command with its outcome
    outcomes = {c.event.__class__.__name__ for c in joc.store.notifications(0, 1000)}
    assert {
        "DeploymentRequested",
        "DeploymentSucceeded",
        "DeploymentFailed",
        "ControllerCommandRequested",
        "ControllerCommandAnswered",
    } <= outcomes


def test_a_pending_deployment_is_reconciled_from_the_controllers_versions(
    joc: Joc, controller: StandInController
) -> None:
    from js7es.nodes.cockpit.api.deployment import reconcile

    token = joc.login()
    add_agent(joc, token)
    store(joc, token, "/w1")
    store(joc, token, "/w2")
    meta = ChangeMeta(account="root", at_ms=1, request="test")
    items = (cmd.DeploymentItem(object_type="WORKFLOW", name="w1"),)
    for commit_id in ("arrived", "lost"):
        joc.store.execute(
            keys.deployment(commit_id),
            cmd.RequestDeployment(controller_id="js7es", operation="UPDATE", account="root", objects=items),
            meta,
        )
    controller.versions.append("arrived")
    assert reconcile(joc.services, meta) == []
    deployments = joc.store.inventory().deployments
    assert deployments["arrived"].outcome == "Succeeded" and deployments["lost"].outcome == "Failed"
    assert deployments["lost"].problem == {
        "code": "UnknownOutcome",
        "message": "unknown outcome: not at the Controller",
    }
    assert joc.store.inventory().object("WORKFLOW", "w1").deployments["js7es"].commit_id == "arrived"  # type: ignore[union-attr]


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def upload(joc: Joc, token: str, data: bytes, filename: str = "x.zip", **fields: str) -> Any:
    return joc.client.post(
        "/joc/api/inventory/import",
        headers={"X-Access-Token": token},
        files={"file": (filename, data, "application/octet-stream")},
        data={"overwrite": "false", **fields},
    )


@pytest.mark.parametrize("archive_format", ["ZIP", "TAR_GZ"])
def test_export_import_round_trip(joc: Joc, archive_format: str) -> None:
    token = joc.login()
    store(joc, token, "/x/one")
    store(joc, token, "/x/y/res", "JOBRESOURCE", {"TYPE": "JobResource", "variables": {"a": "'1'"}})
    body = {
        "exportFile": {"filename": "out", "format": archive_format},
        "shallowCopy": {
            "deployables": {
                "draftConfigurations": [{"configuration": {"path": "/x", "objectType": "FOLDER", "recursive": True}}]
            }
        },
    }
    r = joc.post("/inventory/export", body, token=token)
    assert r.status_code == 200 and r.headers["content-disposition"] == "attachment; filename*=UTF-8''out"
    if archive_format == "ZIP":
        names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        assert names == ["x/one.workflow.json", "x/y/res.jobresource.json"]
    r2 = upload(joc, token, r.content, "out", format=archive_format, targetFolder="/copy", suffix="imported")
    assert r2.status_code == 200, r2.text
    copy = joc.post(
        "/inventory/read/configuration", {"path": "/copy/x/one-imported", "objectType": "WORKFLOW"}, token=token
    ).json()
    assert copy["configuration"] == WORKFLOW and copy["deployed"] is False


def test_import_the_js7_samples_as_drafts(joc: Joc) -> None:
    token = joc.login()
    files = {f"samples/{p.name}": p.read_bytes() for p in SAMPLES.iterdir()}
    r = upload(joc, token, zip_of(files))
    assert r.status_code == 200, r.text
    folder = joc.post("/inventory/read/folder", {"path": "/samples"}, token=token).json()
    assert sorted(w["name"] for w in folder["workflows"]) == [
        "child-processes",
        "testCase3",
        "testCase3A",
        "testCase3Empty",
    ]
    assert all(w["valid"] and not w["deployed"] for w in folder["workflows"])
    assert [c["objectType"] for c in folder["calendars"]] == ["WORKINGDAYSCALENDAR"]
    read = joc.post(
        "/inventory/read/configuration", {"path": "/samples/testCase3", "objectType": "WORKFLOW"}, token=token
    ).json()
    assert read["configuration"] == json.loads((SAMPLES / "testCase3.workflow.json").read_text())


@pytest.mark.parametrize(
    "files",
    [
        {"../evil.workflow.json": b"{}"},
        {"/abs/evil.workflow.json": b"{}"},
        {"a\\evil.workflow.json": b"{}"},
        {"ok.workflow.json": json.dumps(WORKFLOW).encode(), "bad.workflow.json": b"not json"},
        {f"f{i}.workflow.json": b"{}" for i in range(10_001)},
        {"bomb.workflow.json": b" " * (17 * 1024 * 1024)},
    ],
    ids=["dotdot", "absolute", "backslash", "not-json", "too-many", "bomb"],
)
def test_bad_archives_are_420_and_nothing_is_stored(joc: Joc, files: dict[str, bytes]) -> None:
    token = joc.login()
    r = upload(joc, token, zip_of(files))
    assert r.status_code == 420, r.text
    assert joc.store.inventory().objects == {}


def test_folder_permissions(joc: Joc) -> None:
    token = joc.login()
    store(joc, token, "/mine/w1")
    store(joc, token, "/theirs/w2")
    meta = ChangeMeta(account="root", at_ms=1, request="test")
    joc.store.execute(keys.role("limited"), cmd.StoreRole(), meta)
    joc.store.execute(
        keys.role("limited"), cmd.StorePermissions(scope="", grants=joc.store.iam().roles["all"].permissions[""]), meta
    )
    joc.store.execute(keys.role("limited"), cmd.StoreFolders(scope="", folders=(FolderGrant(folder="/mine"),)), meta)
    from tests.cockpit.api.harness import _ROOT_HASH

    joc.store.execute(keys.account("bob"), cmd.StoreAccount(password_hash=_ROOT_HASH, roles=("limited",)), meta)
    bob = joc.login("bob")
    folder = joc.post("/inventory/read/folder", {"path": "/", "recursive": True}, token=bob).json()
    assert [w["path"] for w in folder["workflows"]] == ["/mine/w1"]
    r = joc.post("/inventory/read/configuration", {"path": "/theirs/w2", "objectType": "WORKFLOW"}, token=bob)
    assert r.status_code == 420 and r.json()["error"]["code"] == "JOC-419"
    assert store(joc, bob, "/theirs/w3").json()["error"]["code"] == "JOC-419"
    assert upload(joc, bob, zip_of({"theirs/w4.workflow.json": json.dumps(WORKFLOW).encode()})).status_code == 420
    assert joc.store.inventory().object("WORKFLOW", "w4") is None


def test_an_export_file_name_beyond_latin_1_is_sent_rfc_5987_encoded(joc: Joc) -> None:
    """Found by schemathesis: a file name like "Ā" made the Content-Disposition header fail (a 500)."""
    token = joc.login()
    body = {"exportFile": {"filename": "Āusfuhr.zip"}, "shallowCopy": {}}
    r = joc.post("/inventory/export", body, token=token)
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''%C4%80usfuhr.zip"


def test_disable_and_enable_a_standalone_agent(joc: Joc, controller: StandInController) -> None:
    """/agents/inventory/disable|enable (deployAgents-schema): the inventory's flag, and for a deployed
    Agent its director SubagentItem with `disabled` sent to the Controller, audited with the comment."""
    token = joc.login()
    body = {"controllerId": "js7es", "agents": [{"agentId": "agent-1", "agentName": "agent-1", "url": "https://a:1"}]}
    assert joc.post("/agents/inventory/store", body, token=token).status_code == 200
    disable = {"controllerId": "js7es", "agentIds": ["agent-1"], "auditLog": {"comment": "maintenance"}}
    assert joc.post("/agents/inventory/disable", disable, token=token).status_code == 200
    assert controller.posts == []  # not deployed yet: the flag waits for the first deployment
    assert joc.post("/agents/inventory/deploy", {"controllerId": "js7es", "agentIds": ["agent-1"]}, token=token)
    assert controller.items["SubagentItem:agent-1"]["disabled"] is True
    read = joc.post("/agents/inventory", {"controllerId": "js7es"}, token=token).json()
    assert [a["disabled"] for a in read["agents"]] == [True]

    assert joc.post("/agents/inventory/enable", disable, token=token).status_code == 200
    assert "disabled" not in controller.items["SubagentItem:agent-1"]
    posts = len(controller.posts)
    assert joc.post("/agents/inventory/enable", disable, token=token).status_code == 200
    assert len(controller.posts) == posts + 1  # sent again: a failed deployment before is mended
    assert "disabled" not in controller.items["SubagentItem:agent-1"]
    assert joc.post("/agents/inventory/disable", disable, token=token).status_code == 200
    assert controller.items["SubagentItem:agent-1"]["disabled"] is True

    unknown = joc.post("/agents/inventory/disable", {**disable, "agentIds": ["nope"]}, token=token)
    assert unknown.status_code == 420 and "nope" in unknown.json()["error"]["message"]
    joc.audited()
    entries = joc.post("/audit_log", {"comment": "maintenance"}, token=token).json()["auditLog"]
    assert entries and all(e["comment"] == "maintenance" for e in entries)
