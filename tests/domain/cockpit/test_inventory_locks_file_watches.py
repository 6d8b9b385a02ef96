"""JOC's LOCK and FILEORDERSOURCE drafts in the Cockpit's inventory: validated when stored, deployed as
JS7's Lock and FileWatch (JOC-only fields left out, JOC's order id expression), revoked by key."""

from __future__ import annotations

from typing import Any

import pytest

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.controller_items import InvalidDraft, file_watch_item, lock_item, string_constant
from js7es.domain.cockpit.inventory import item_operations
from js7es.domain.expression import MapScope, evaluate_text
from js7es.domain.items import parse_simple_item
from js7es.domain.problem import Problem
from js7es.journal.cockpit.store import CockpitStore
from tests.domain.cockpit.test_inventory import META

# JOC's file order source as its GUI stores it (sos-components' inventory FileOrderSource)
JOC_FILE_ORDER_SOURCE = {
    "TYPE": "FileOrderSource",
    "version": "1.7.2",
    "workflowName": "process-file",
    "agentName": "agent",
    "directoryExpr": "env('HOME') ++ '/incoming'",
    "pattern": "^.*\\.csv$",
    "timeZone": "Europe/Berlin",
    "delay": 2,
    "title": "CSV files",
    "documentationName": "csv-doc",
}


def test_lock_item_is_js7s_lock() -> None:
    joc = {"TYPE": "Lock", "version": "1.7.2", "limit": 3, "title": "three at most", "documentationName": "d"}
    assert lock_item("L", joc) == {"TYPE": "Lock", "path": "L", "limit": 3}
    assert lock_item("X", {}) == {"TYPE": "Lock", "path": "X", "limit": 1}  # JS7's default: exclusive
    for bad in ({"limit": -1}, {"limit": "3"}, {"limit": True}, {"limit": 1, "limits": 2}):
        with pytest.raises(InvalidDraft):
            lock_item("L", bad)


def test_file_watch_item_is_js7s_file_watch() -> None:
    item = file_watch_item("csv", JOC_FILE_ORDER_SOURCE)
    assert item == {
        "TYPE": "FileWatch",
        "path": "csv",
        "workflowPath": "process-file",
        "agentPath": "agent",
        "directoryExpr": "env('HOME') ++ '/incoming'",
        "pattern": "^.*\\.csv$",
        "orderIdExpression": "'#' ++ now(format='yyyy-MM-dd', timezone='Europe/Berlin') ++ "
        '"#F$js7EpochSecond-$orderWatchPath:$0"',
        "delay": 2,
    }
    # JOC's order id of a file order: #<date in the source's time zone>#F<epoch second>-<source>:<file>
    named = {"orderWatchPath": "csv", "0": "a.csv"}  # as the FileWatch's scope; $js7EpochSecond from now
    scope = MapScope(named_values=named, now=1733500000000)
    assert evaluate_text(item["orderIdExpression"], scope) == "#2024-12-06#F1733500000-csv:a.csv"


def test_a_priority_goes_in_js7_s_order_expr() -> None:
    item = file_watch_item("csv", {**JOC_FILE_ORDER_SOURCE, "priority": -3, "tags": ["joc-only"]})
    assert "orderIdExpression" not in item and "tags" not in item
    scope = MapScope(named_values={"orderWatchPath": "csv", "0": "a.csv"}, now=1733500000000)
    assert evaluate_text(item["orderExpr"], scope) == {"orderId": "#2024-12-06#F1733500000-csv:a.csv", "priority": -3}


def test_file_watch_item_reads_joc_s_older_names() -> None:
    older = {"workflowPath": "/folder/wf", "agentId": "a", "directory": "/data/it's in"}
    item = file_watch_item("f", older)
    assert (item["workflowPath"], item["agentPath"]) == ("wf", "a")
    assert item["directoryExpr"] == string_constant("/data/it's in") == '"/data/it\'s in"'
    assert evaluate_text(item["directoryExpr"], MapScope(named_values={}, now=0)) == "/data/it's in"
    assert "delay" not in item and "pattern" not in item
    assert "timezone='Etc/UTC'" in item["orderIdExpression"]  # JOC's default time zone
    assert evaluate_text(string_constant("/a/$b"), MapScope(named_values={}, now=0)) == "/a/$b"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"workflowName": None}, "workflowName"),
        ({"agentName": ""}, "agentName"),
        ({"directoryExpr": None}, "directoryExpr (or directory) is required"),
        ({"directoryExpr": "'unclosed"}, "directoryExpr"),
        ({"delay": -1}, "delay"),
        ({"delay": "2"}, "delay"),
        ({"pattern": 7}, "pattern"),
        ({"priority": "high"}, "priority"),
        ({"timeZone": "Europe/'x"}, "timeZone"),
        ({"orderIdExpr": "$0"}, "unknown field(s) ['orderIdExpr']"),
    ],
)
def test_invalid_file_order_sources(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidDraft, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        file_watch_item("f", {**JOC_FILE_ORDER_SOURCE, **change})


def test_the_controller_reads_the_items() -> None:
    """Each mapped item is one the Controller's item decoder accepts (the FileWatch needs it from the
    filewatch branch: until then js7es's Controller does not know the type)."""
    lock = parse_simple_item(lock_item("L", {"limit": 2}))
    assert not isinstance(lock, Problem) and lock.key == "Lock:L"


def store(s: CockpitStore, object_type: str, name: str, configuration: dict[str, Any]) -> object:
    return s.execute(
        keys.inventory(object_type, name),
        cmd.StoreInventoryObject(path=f"/r/{name}", configuration=configuration),  # type: ignore[arg-type]
        META,
    )


def deploy(s: CockpitStore, commit_id: str, *objects: tuple[str, str], operation: str = "UPDATE") -> object:
    items = tuple(cmd.DeploymentItem(object_type=t, name=n) for t, n in objects)
    return s.execute(
        keys.deployment(commit_id),
        cmd.RequestDeployment(controller_id="c", operation=operation, account="root", objects=items),
        META,
    )


def test_locks_and_file_order_sources_deploy_and_revoke() -> None:
    s = CockpitStore.open("memory:")
    store(s, "LOCK", "L", {"limit": 3, "title": "t"})
    store(s, "LOCK", "bad", {"limit": -2})
    store(s, "FILEORDERSOURCE", "csv", JOC_FILE_ORDER_SOURCE)
    store(s, "FILEORDERSOURCE", "nowhere", {**JOC_FILE_ORDER_SOURCE, "agentName": None})
    for object_type, name, valid in (("LOCK", "L", True), ("LOCK", "bad", False), ("FILEORDERSOURCE", "csv", True)):
        obj = s.inventory().object(object_type, name)
        assert obj is not None and obj.valid is valid and (obj.invalid_msg is None) is valid
    nowhere = s.inventory().object("FILEORDERSOURCE", "nowhere")
    assert nowhere is not None and not nowhere.valid and "agentName" in (nowhere.invalid_msg or "")
    assert isinstance(deploy(s, "v0", ("LOCK", "bad")), Problem)  # an invalid draft is not deployed

    assert not isinstance(deploy(s, "v1", ("LOCK", "L"), ("FILEORDERSOURCE", "csv")), Problem)
    operations = item_operations(s.inventory().deployments["v1"])
    assert operations[0] == {"TYPE": "AddVersion", "versionId": "v1"}
    assert operations[1:] == [
        {"TYPE": "AddOrChangeSimple", "item": {"TYPE": "Lock", "path": "L", "limit": 3}},
        {"TYPE": "AddOrChangeSimple", "item": file_watch_item("csv", JOC_FILE_ORDER_SOURCE)},
    ]
    s.execute(keys.deployment("v1"), cmd.ConcludeDeployment(succeeded=True, at_ms=7), META)
    lock = s.inventory().object("LOCK", "L")
    assert lock is not None and lock.deployments["c"].commit_id == "v1"
    assert not isinstance(deploy(s, "v2", ("LOCK", "L"), ("FILEORDERSOURCE", "csv"), operation="DELETE"), Problem)
    assert item_operations(s.inventory().deployments["v2"])[1:] == [
        {"TYPE": "DeleteSimple", "path": "Lock:L"},
        {"TYPE": "DeleteSimple", "path": "OrderWatch:csv"},
    ]
