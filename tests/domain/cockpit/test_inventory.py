"""Inventory decisions (domain/cockpit/inventory_decide.py) through an in-memory store."""

from __future__ import annotations

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.inventory import Deployment, item_operations
from js7es.domain.problem import Problem
from js7es.journal.cockpit.store import CockpitStore

META = ev.ChangeMeta(account="root", at_ms=1, request="/joc/api/inventory/store")
WORKFLOW = {
    "instructions": [{"TYPE": "Execute.Named", "jobName": "j"}],
    "jobs": {"j": {"agentPath": "a", "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}}},
}


def store_workflow(store: CockpitStore, path: str, configuration: object = WORKFLOW) -> object:
    name = path.rsplit("/", 1)[-1]
    return store.execute(
        keys.inventory("WORKFLOW", name), cmd.StoreInventoryObject(path=path, configuration=configuration), META
    )  # type: ignore[arg-type]


def deploy(store: CockpitStore, commit_id: str, operation: str = "UPDATE") -> object:
    items = (cmd.DeploymentItem(object_type="WORKFLOW", name="w"),)
    return store.execute(
        keys.deployment(commit_id),
        cmd.RequestDeployment(controller_id="c", operation=operation, account="root", objects=items),
        META,
    )


def test_a_draft_is_validated_by_the_workflow_decoder() -> None:
    store = CockpitStore.open("memory:")
    store_workflow(store, "/a/w", {"instructions": [{"TYPE": "Nonsense"}]})
    obj = store.inventory().object("WORKFLOW", "w")
    assert obj is not None and obj.valid is False and obj.invalid_msg
    assert isinstance(deploy(store, "v1"), Problem)
    store_workflow(store, "/a/w")
    assert store.inventory().object("WORKFLOW", "w").valid is True  # type: ignore[union-attr]
    assert store_workflow(store, "/a/w") == []  # nothing changed: no event


def test_paths_are_normal_and_end_in_the_name() -> None:
    store = CockpitStore.open("memory:")
    for path in ("/a/../w", "a/w", "/a/x", "/a\\w", "/"):
        result = (
            store_workflow(store, path)
            if path != "/a/x"
            else store.execute(
                keys.inventory("WORKFLOW", "w"), cmd.StoreInventoryObject(path=path, configuration={}), META
            )
        )
        assert isinstance(result, Problem), path
    assert store.inventory().objects == {}


def test_deploy_conclude_revoke_and_the_trash() -> None:
    store = CockpitStore.open("memory:")
    store_workflow(store, "/a/w")
    assert not isinstance(deploy(store, "v1"), Problem)
    deployment = store.inventory().deployments["v1"]
    assert isinstance(deployment, Deployment) and deployment.outcome is None
    assert [o["TYPE"] for o in item_operations(deployment)] == ["AddVersion", "AddOrChangeSimple"]
    assert item_operations(deployment)[1]["item"]["path"] == "w"
    assert store.inventory().pending_deployments() == (deployment,)
    store.execute(keys.deployment("v1"), cmd.ConcludeDeployment(succeeded=True, at_ms=7), META)
    obj = store.inventory().object("WORKFLOW", "w")
    assert obj is not None and obj.deployments["c"].commit_id == "v1" and obj.deployments["c"].at_ms == 7
    removed = store.execute(keys.inventory("WORKFLOW", "w"), cmd.RemoveInventoryObject(), META)
    assert isinstance(removed, Problem) and removed.code == "ObjectIsDeployed"
    assert not isinstance(deploy(store, "v2", "DELETE"), Problem)
    assert item_operations(store.inventory().deployments["v2"])[1] == {"TYPE": "RemoveVersioned", "path": "w"}
    store.execute(keys.deployment("v2"), cmd.ConcludeDeployment(succeeded=True, at_ms=8), META)
    assert store.inventory().object("WORKFLOW", "w").deployments == {}  # type: ignore[union-attr]
    assert store.execute(keys.inventory("WORKFLOW", "w"), cmd.RemoveInventoryObject(), META) != []
    assert store.inventory().object("WORKFLOW", "w").deleted is True  # type: ignore[union-attr]
    assert isinstance(deploy(store, "v3"), Problem)  # not from the trash


def test_a_failed_deployment_records_no_version() -> None:
    store = CockpitStore.open("memory:")
    store_workflow(store, "/a/w")
    deploy(store, "v1")
    problem = {"code": "UnknownItem", "message": "AgentRef:a"}
    store.execute(keys.deployment("v1"), cmd.ConcludeDeployment(succeeded=False, at_ms=7, problem=problem), META)
    assert store.inventory().object("WORKFLOW", "w").deployments == {}  # type: ignore[union-attr]
    again = store.execute(keys.deployment("v1"), cmd.ConcludeDeployment(succeeded=True, at_ms=8), META)
    assert isinstance(again, Problem)
