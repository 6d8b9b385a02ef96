"""Notice boards in the Cockpit's inventory: JOC's NOTICEBOARD drafts (boardType GLOBAL | PLANNABLE)
validated by the Controller's board decoder, deployed as GlobalBoard / PlannableBoard, revoked by key."""

from __future__ import annotations

from typing import Any

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.inventory import item_operations
from js7es.domain.problem import Problem
from js7es.journal.cockpit.store import CockpitStore
from tests.domain.cockpit.test_inventory import META

GLOBAL = {
    "boardType": "GLOBAL",
    "postOrderToNoticeId": "replaceAll($js7OrderId, '^#([0-9]{4}-[0-9]{2}-[0-9]{2})#.*$', '$1')",
    "expectOrderToNoticeId": "replaceAll($js7OrderId, '^#([0-9]{4}-[0-9]{2}-[0-9]{2})#.*$', '$1')",
    "endOfLife": "$js7EpochMilli + 1 * 24 * 60 * 60 * 1000",
    "title": "done for the day",
}


def store_board(store: CockpitStore, name: str, configuration: dict[str, Any]) -> object:
    return store.execute(
        keys.inventory("NOTICEBOARD", name),
        cmd.StoreInventoryObject(path=f"/b/{name}", configuration=configuration),
        META,
    )  # type: ignore[arg-type]


def deploy(store: CockpitStore, commit_id: str, *names: str, operation: str = "UPDATE") -> object:
    items = tuple(cmd.DeploymentItem(object_type="NOTICEBOARD", name=n) for n in names)
    return store.execute(
        keys.deployment(commit_id),
        cmd.RequestDeployment(controller_id="c", operation=operation, account="root", objects=items),
        META,
    )


def test_notice_boards_deploy_and_revoke() -> None:
    store = CockpitStore.open("memory:")
    store_board(store, "done", GLOBAL)
    store_board(store, "planned", {"boardType": "PLANNABLE"})
    store_board(store, "bad", {"boardType": "GLOBAL", "postOrderToNoticeId": "(", "expectOrderToNoticeId": "1"})
    bad = store.inventory().object("NOTICEBOARD", "bad")
    assert bad is not None and bad.valid is False and bad.invalid_msg
    assert isinstance(deploy(store, "v0", "bad"), Problem)

    assert not isinstance(deploy(store, "v1", "done", "planned"), Problem)
    operations = item_operations(store.inventory().deployments["v1"])
    items = [o["item"] for o in operations[1:]]
    assert [(i["TYPE"], i["path"]) for i in items] == [("GlobalBoard", "done"), ("PlannableBoard", "planned")]
    assert "boardType" not in items[0] and items[0]["endOfLife"] == GLOBAL["endOfLife"]
    store.execute(keys.deployment("v1"), cmd.ConcludeDeployment(succeeded=True, at_ms=7), META)
    assert not isinstance(deploy(store, "v2", "done", operation="DELETE"), Problem)
    assert item_operations(store.inventory().deployments["v2"])[1:] == [{"TYPE": "DeleteSimple", "path": "Board:done"}]
