"""The audit log, its details and the login history through the JOC API (joc-cockpit.md §2.4); the
mandatory audit comment (joc.force_comments_for_audit_log). Expected shapes from js7-api-schemas
`audit/auditLog-schema.json`, `audit/audit-schema.json`, `audit/auditLogDetails-schema.json`,
`security/history/loginHistory-schema.json`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cockpit.api.conftest import Backend
from tests.cockpit.api.harness import Joc, basic, running_joc

SERVICE = "JOC-INITIAL"
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")  # common/timestamp-schema.json


@pytest.fixture
def joc(tmp_path: Path, backend: Backend) -> Iterator[Joc]:
    with running_joc(tmp_path, store=backend.store, engine=backend.engine) as j:
        j.services.throttle.first_delay_s = 0.0
        yield j


def audit_log(joc: Joc, token: str, **filters: Any) -> list[dict[str, Any]]:
    joc.audited()
    r = joc.post("/audit_log", filters, token=token)
    assert r.status_code == 200, r.text
    assert "deliveryDate" in r.json()
    entries: list[dict[str, Any]] = r.json()["auditLog"]
    return entries


def force_comments(joc: Joc, root: str) -> None:
    item = {"joc": {"force_comments_for_audit_log": {"value": "true"}}}
    r = joc.post("/settings/store", {"configurationItem": json.dumps(item)}, token=root)
    assert r.status_code == 200, r.text


def test_each_change_has_an_audit_row_with_account_request_comment_and_no_password(joc: Joc) -> None:
    root = joc.login()
    audit = {"comment": "ticket 12", "timeSpent": 5, "ticketLink": "https://tickets.example/12"}
    store = {"identityServiceName": SERVICE, "accountName": "alice", "password": "pw-of-alice", "auditLog": audit}
    assert joc.post("/iam/account/store", store, token=root).status_code == 200
    role = {"identityServiceName": SERVICE, "roleName": "ops", "auditLog": {"comment": "a role"}}
    assert joc.post("/iam/role/store", role, token=root).status_code == 200
    entries = audit_log(joc, root, categories=["IDENTITY"])
    assert [e["request"] for e in entries[:2]] == ["./iam/role/store", "./iam/account/store"]
    account_entry = entries[1]
    # audit/audit-schema.json: id, account, request, category, created required; timeSpent in minutes
    assert {k: account_entry[k] for k in ("account", "request", "category", "comment", "timeSpent", "ticketLink")} == {
        "account": "root",
        "request": "./iam/account/store",
        "category": "IDENTITY",
        "comment": "ticket 12",
        "timeSpent": 5,
        "ticketLink": "https://tickets.example/12",
    }
    assert isinstance(account_entry["id"], int) and ISO_MS.match(account_entry["created"])
    assert "outcome" not in account_entry  # js7es's outcome is for Controller commands only
    parameters = json.loads(account_entry["parameters"])
    assert parameters["Key"] == "account:alice"
    everything = json.dumps(audit_log(joc, root, limit=-1))
    assert "pw-of-alice" not in everything and "argon2" not in everything
    # audit/auditLogDetails-schema.json: an account is none of JOC's object types
    r = joc.post("/audit_log/details", {"auditLogId": account_entry["id"]}, token=root)
    assert r.status_code == 200 and r.json()["auditLogDetails"] == []


def test_a_mandatory_comment_refuses_changes_without_one_and_changes_nothing(joc: Joc) -> None:
    root = joc.login()
    force_comments(joc, root)
    store = {"identityServiceName": SERVICE, "accountName": "bob", "password": "pw-of-bob"}
    r = joc.post("/iam/account/store", store, token=root)
    assert r.status_code == 420 and r.json()["error"]["code"] == "JOC-300"
    assert joc.services.account("bob") is None
    r = joc.post("/iam/roles/delete", {"identityServiceName": SERVICE, "roleNames": ["all"]}, token=root)
    assert r.json()["error"]["code"] == "JOC-300"
    assert "all" in joc.services.iam().roles
    r = joc.post("/iam/account/store", {**store, "auditLog": {"comment": "new colleague"}}, token=root)
    assert r.status_code == 200
    [entry] = audit_log(joc, root, comment="colleague")
    assert entry["comment"] == "new colleague" and entry["request"] == "./iam/account/store"


def test_filters_by_account_category_dates_and_limit(joc: Joc) -> None:
    root = joc.login()
    for name in ("r1", "r2", "r3"):
        assert (
            joc.post("/iam/role/store", {"identityServiceName": SERVICE, "roleName": name}, token=root).status_code
            == 200
        )
    assert len(audit_log(joc, root, account="root", categories=["IDENTITY"], dateFrom="-1h")) == 3
    assert len(audit_log(joc, root, limit=2)) == 2
    assert audit_log(joc, root, account="nobody") == []
    assert audit_log(joc, root, account="root", dateTo="2000-01-01T00:00:00Z") == []  # the bootstrap is at 0
    assert [json.loads(e["parameters"])["Key"] for e in audit_log(joc, root, objectName="^r2$")] == ["role:r2"]


def test_the_audit_log_hides_identity_changes_from_accounts_without_accounts_view(joc: Joc) -> None:
    root = joc.login()
    grant = {"identityServiceName": SERVICE, "controllerId": "", "roleName": "auditor"}
    assert (
        joc.post("/iam/role/store", {"identityServiceName": SERVICE, "roleName": "auditor"}, token=root).status_code
        == 200
    )
    permissions = [{"permissionPath": "sos:products:joc:auditlog:view"}]
    assert joc.post("/iam/permissions/store", {**grant, "permissions": permissions}, token=root).status_code == 200
    account = {"identityServiceName": SERVICE, "accountName": "ann", "password": "pw-of-ann", "roles": ["auditor"]}
    assert joc.post("/iam/account/store", account, token=root).status_code == 200
    ann = joc.login("ann", "pw-of-ann")
    assert audit_log(joc, ann) == []
    assert audit_log(joc, root, categories=["IDENTITY"]) != []
    assert joc.post("/audit_log/login_history", {}, token=ann).status_code == 200


def test_login_history_lists_failed_logins(joc: Joc) -> None:
    root = joc.login()
    assert joc.client.post("/joc/api/authentication/login", headers=basic("root", "wrong")).status_code == 401
    assert joc.client.post("/joc/api/authentication/login", headers=basic("mallory", "x")).status_code == 401
    joc.audited()
    r = joc.post("/audit_log/login_history", {}, token=root)
    assert r.status_code == 200 and "deliveryDate" in r.json()
    items = r.json()["loginHistoryItems"]
    # security/history/loginHistoryItem-schema.json; JOC lists failed logins only
    assert [(i["accountName"], i["loginSuccess"]) for i in items] == [("mallory", False), ("root", False)]
    assert ISO_MS.match(items[0]["loginDate"])
    assert items[1]["details"]["loginHistoryItems"] == [{"message": "wrong account or password"}]
    r = joc.post("/audit_log/login_history", {"accountName": "root", "dateFrom": "-1d"}, token=root)
    assert [i["accountName"] for i in r.json()["loginHistoryItems"]] == ["root"]


@pytest.mark.parametrize(
    "body",
    [
        {"account": "root' OR '1'='1"},
        {"comment": "%'; DROP TABLE audit_log; --"},
        {"ticketLink": "_%\\"},
        {"objectName": "("},
        {"objectName": "x" * 1000},
        {"categories": ["NOPE"]},
        {"objectTypes": "WORKFLOW"},
        {"dateFrom": "yesterday"},
        {"dateFrom": "-99999999999999999d"},
        {"limit": "ten"},
        {"folders": [{"folder": "../etc"}]},
        {"unknown": True},
        {"controllerId": "a/b"},
    ],
)
def test_bad_or_hostile_audit_filters_never_answer_500(joc: Joc, body: dict[str, Any]) -> None:
    root = joc.login()
    assert joc.post("/iam/role/store", {"identityServiceName": SERVICE, "roleName": "r"}, token=root).status_code == 200
    joc.audited()
    r = joc.post("/audit_log", body, token=root)
    assert r.status_code in (200, 420), r.text
    if r.status_code == 200:
        assert r.json()["auditLog"] == []
    else:
        assert r.json()["error"]["code"] == "JOC-400"
    assert joc.post("/audit_log", {}, token=root).json()["auditLog"] != []  # nothing was dropped


@pytest.mark.parametrize("body", [{"auditLogId": -1}, {"auditLogId": "x"}, {"auditLogId": 10**30}, {}])
def test_bad_audit_detail_requests_are_420(joc: Joc, body: dict[str, Any]) -> None:
    r = joc.post("/audit_log/details", body, token=joc.login())
    assert r.status_code == 420 and r.json()["error"]["code"] == "JOC-400"


def test_an_unknown_audit_entry_is_joc_002(joc: Joc) -> None:
    r = joc.post("/audit_log/details", {"auditLogId": 999999}, token=joc.login())
    assert r.status_code == 420 and r.json()["error"]["code"] == "JOC-002"


def test_entries_about_workflows_outside_the_accounts_folders_are_not_shown(joc: Joc) -> None:
    """As JOC hides objects outside an account's folder permissions, also in the audit log."""
    from js7es.domain.cockpit import commands as cmd
    from js7es.domain.cockpit import keys
    from js7es.domain.cockpit.events import ChangeMeta

    root = joc.login()
    meta = ChangeMeta(account="root", at_ms=1, request="/joc/api/orders/add", controller_id="js7es")
    for n, path in enumerate(("/a/w", "/b/w")):
        parameters = {"orders": [{"orderId": f"#2026-12-06#T1-o{n}", "workflowPath": path}]}
        command = cmd.RequestControllerCommand(
            controller_id="js7es", request="/joc/api/orders/add", category="CONTROLLER", parameters=parameters
        )
        assert isinstance(joc.store.execute(keys.command(f"r{n}"), command, meta), list)
    role = {"identityServiceName": SERVICE, "roleName": "a-only"}
    assert joc.post("/iam/role/store", role, token=root).status_code == 200
    grants = [{"permissionPath": "sos:products:joc:auditlog:view"}, {"permissionPath": "sos:products:controller:view"}]
    body = {"identityServiceName": SERVICE, "controllerId": "", "roleName": "a-only", "permissions": grants}
    assert joc.post("/iam/permissions/store", body, token=root).status_code == 200
    folders = {"identityServiceName": SERVICE, "controllerId": "", "roleName": "a-only", "folders": [{"folder": "/a"}]}
    assert joc.post("/iam/folders/store", folders, token=root).status_code == 200
    account = {"identityServiceName": SERVICE, "accountName": "ann", "password": "pw-of-ann", "roles": ["a-only"]}
    assert joc.post("/iam/account/store", account, token=root).status_code == 200
    r = joc.client.post("/joc/api/authentication/login", headers=basic("ann", "pw-of-ann"))
    ann = r.headers["X-Access-Token"]
    seen = [e["parameters"] for e in audit_log(joc, ann, categories=["CONTROLLER"])]
    assert len(seen) == 1 and "/a/w" in seen[0]
    assert len(audit_log(joc, root, categories=["CONTROLLER"])) == 2
