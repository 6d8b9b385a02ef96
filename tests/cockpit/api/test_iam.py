"""Identity and access through the JOC API (joc-cockpit.md §2): accounts, roles, permissions, folders,
identity services, sessions and settings. The expected bodies follow JOC's schemas (js7-api-schemas
`raml/api/schemas/…`, cited at each), not this implementation's output."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cockpit.api.conftest import Backend
from tests.cockpit.api.harness import Joc, basic, running_joc

SERVICE = "JOC-INITIAL"
ALICE_PASSWORD = "alice-password-1"


@pytest.fixture
def joc(tmp_path: Path, backend: Backend) -> Iterator[Joc]:
    with running_joc(tmp_path, store=backend.store, engine=backend.engine) as j:
        j.services.throttle.first_delay_s = 0.0
        yield j


def ok(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert "deliveryDate" in body
    return body


def error_code(r: Any, status: int = 420) -> str:
    assert r.status_code == status, r.text
    code: str = r.json()["error"]["code"]
    return code


def make_role(joc: Joc, root: str, name: str, grants: list[dict[str, Any]], folders: list[str] | None = None) -> None:
    # security/roles/roleStore-schema.json, security/permissions/permissions-schema.json,
    # security/folders/folders-schema.json
    ok(joc.post("/iam/role/store", {"identityServiceName": SERVICE, "roleName": name}, token=root))
    body = {"identityServiceName": SERVICE, "controllerId": "", "roleName": name, "permissions": grants}
    ok(joc.post("/iam/permissions/store", body, token=root))
    if folders is not None:
        folder_items = [{"folder": f, "recursive": True} for f in folders]
        body = {"identityServiceName": SERVICE, "controllerId": "", "roleName": name, "folders": folder_items}
        ok(joc.post("/iam/folders/store", body, token=root))


def make_account(joc: Joc, root: str, name: str, roles: list[str], **flags: Any) -> None:
    # security/accounts/account-schema.json
    body = {"identityServiceName": SERVICE, "accountName": name, "password": ALICE_PASSWORD, "roles": roles, **flags}
    ok(joc.post("/iam/account/store", body, token=root))


def viewer(joc: Joc, root: str) -> None:
    """alice: a role limited to folder /a that may view the audit log and orders, not create them."""
    grants = [
        {"permissionPath": "sos:products:joc:auditlog:view"},
        {"permissionPath": "sos:products:controller:view"},
        {"permissionPath": "sos:products:controller:orders:view"},
    ]
    make_role(joc, root, "viewer", grants, folders=["/a"])
    make_account(joc, root, "alice", ["viewer"])


def test_an_account_with_a_limited_role_gets_403_on_forbidden_calls_and_200_on_allowed(joc: Joc) -> None:
    root = joc.login()
    viewer(joc, root)
    alice = joc.login("alice", ALICE_PASSWORD)
    assert ok(joc.post("/audit_log", {}, token=alice))["auditLog"] is not None
    r = joc.post("/iam/accounts", {"identityServiceName": SERVICE}, token=alice)
    assert r.status_code == 403
    assert r.json()["permission"] == "sos:products:joc:administration:accounts:view"
    order = {"workflowPath": "/a/w"}
    r = joc.post("/orders/add", {"controllerId": "js7es", "orders": [order]}, token=alice)
    assert r.status_code == 403
    assert r.json()["permission"] == "sos:products:controller:orders:create"
    permissions = ok(joc.post("/authentication/joc_cockpit_permissions", token=alice))
    assert permissions["controllerDefaults"]["orders"] == {
        "view": True, "create": False, "cancel": False, "suspendResume": False, "resumeFailed": False,
        "modify": False, "managePositions": False, "confirm": False,
    }  # fmt: skip


def test_accounts_and_account_answer_jocs_shape_without_passwords(joc: Joc) -> None:
    root = joc.login()
    viewer(joc, root)
    # security/accounts/accounts-schema.json with account-schema.json items
    body = ok(joc.post("/iam/accounts", {"identityServiceName": SERVICE, "accountName": "alice"}, token=root))
    assert body["identityServiceName"] == SERVICE
    assert body["accountItems"] == [
        {
            "identityServiceName": SERVICE,
            "accountName": "alice",
            "forcePasswordChange": False,
            "disabled": False,
            "blocked": False,
            "roles": ["viewer"],
        }
    ]
    one = ok(joc.post("/iam/account", {"identityServiceName": SERVICE, "accountName": "alice"}, token=root))
    assert one["accountName"] == "alice" and "password" not in one
    all_names = [
        a["accountName"]
        for a in ok(joc.post("/iam/accounts", {"identityServiceName": SERVICE}, token=root))["accountItems"]
    ]
    assert all_names == ["alice", "root"]
    r = joc.post("/iam/account", {"identityServiceName": SERVICE, "accountName": "nobody"}, token=root)
    assert error_code(r) == "JOC-002"


def test_account_permissions_are_those_of_a_login(joc: Joc) -> None:
    root = joc.login()
    viewer(joc, root)
    # security/securityConfiguration/permissions-schema.json
    body = ok(
        joc.post("/iam/account/permissions", {"identityServiceName": SERVICE, "accountName": "alice"}, token=root)
    )
    assert body["roles"] == ["viewer"]
    assert body["joc"]["auditLog"] == {"view": True}
    assert body["joc"]["administration"]["accounts"] == {"view": False, "manage": False}
    assert body["controllers"]["js7es"]["orders"]["create"] is False


def test_deny_beats_grant_across_two_roles(joc: Joc) -> None:
    root = joc.login()
    make_role(joc, root, "grants", [{"permissionPath": "sos:products:joc:auditlog:view"}])
    make_role(joc, root, "denies", [{"permissionPath": "sos:products:joc:auditlog", "excluded": True}])
    make_account(joc, root, "bob", ["grants", "denies"])
    bob = joc.login("bob", ALICE_PASSWORD)
    assert joc.post("/audit_log", {}, token=bob).status_code == 403
    make_account(joc, root, "carol", ["grants"])
    assert joc.post("/audit_log", {}, token=joc.login("carol", ALICE_PASSWORD)).status_code == 200


def test_roles_permissions_and_folders_read_back_in_jocs_shape(joc: Joc) -> None:
    root = joc.login()
    viewer(joc, root)
    # security/roles/role-schema.json
    role = ok(joc.post("/iam/role", {"identityServiceName": SERVICE, "roleName": "viewer"}, token=root))
    assert {k: role[k] for k in ("identityServiceName", "roleName", "controllers")} == {
        "identityServiceName": SERVICE,
        "roleName": "viewer",
        "controllers": [],
    }
    names = [r["roleName"] for r in ok(joc.post("/iam/roles", {"identityServiceName": SERVICE}, token=root))["roles"]]
    assert names[0] == "all" and names[-1] == "viewer"
    # security/permissions/permissions-schema.json
    perms = ok(joc.post("/iam/permissions", {"identityServiceName": SERVICE, "roleName": "viewer"}, token=root))
    assert perms["controllerId"] == "" and perms["roleName"] == "viewer"
    assert perms["permissions"][0] == {"permissionPath": "sos:products:joc:auditlog:view", "excluded": False}
    # security/folders/folders-schema.json
    folders = ok(joc.post("/iam/folders", {"identityServiceName": SERVICE, "roleName": "viewer"}, token=root))
    assert folders["folders"] == [{"folder": "/a", "recursive": True}]
    _, folder_permissions = joc.services.permissions_of("alice")
    assert folder_permissions is not None
    assert folder_permissions.is_path_permitted("/a/w") and not folder_permissions.is_path_permitted("/b/w")


def test_permission_and_folder_stores_refuse_what_joc_does_not_know(joc: Joc) -> None:
    root = joc.login()
    ok(joc.post("/iam/role/store", {"identityServiceName": SERVICE, "roleName": "r"}, token=root))
    bad = {"identityServiceName": SERVICE, "controllerId": "", "roleName": "r"}
    r = joc.post(
        "/iam/permissions/store", {**bad, "permissions": [{"permissionPath": "sos:products:nope"}]}, token=root
    )
    assert error_code(r) == "JOC-400"
    for folder in ("/a/../b", "../etc", "/a\\b", "/a/./b", "a"):
        r = joc.post("/iam/folders/store", {**bad, "folders": [{"folder": folder}]}, token=root)
        assert error_code(r) == "JOC-400", folder
    r = joc.post("/iam/permissions/store", {**bad, "roleName": "nope", "permissions": []}, token=root)
    assert error_code(r) == "JOC-002"


def test_removing_a_role_unassigns_it(joc: Joc) -> None:
    root = joc.login()
    viewer(joc, root)
    ok(joc.post("/iam/roles/delete", {"identityServiceName": SERVICE, "roleNames": ["viewer"]}, token=root))
    alice = ok(joc.post("/iam/account", {"identityServiceName": SERVICE, "accountName": "alice"}, token=root))
    assert alice["roles"] == []


def test_forced_password_change_allows_only_changepassword_and_logout(joc: Joc) -> None:
    root = joc.login()
    viewer(joc, root)
    make_account(joc, root, "alice", ["viewer"], forcePasswordChange=True)
    r = joc.client.post("/joc/api/authentication/login", headers=basic("alice", ALICE_PASSWORD))
    assert r.json()["forcePasswordChange"] is True
    alice = r.headers["X-Access-Token"]
    assert joc.post("/audit_log", {}, token=alice).status_code == 403
    change = {"identityServiceName": SERVICE, "accountName": "alice", "oldPassword": "wrong"}
    change |= {"password": "new-password-2", "repeatedPassword": "new-password-2"}
    assert error_code(joc.post("/iam/account/changepassword", change, token=alice)) == "JOC-400"
    mismatch = {**change, "oldPassword": ALICE_PASSWORD, "repeatedPassword": "other"}
    assert error_code(joc.post("/iam/account/changepassword", mismatch, token=alice)) == "JOC-400"
    ok(joc.post("/iam/account/changepassword", {**change, "oldPassword": ALICE_PASSWORD}, token=alice))
    assert joc.post("/audit_log", {}, token=alice).status_code == 200
    assert joc.login("alice", "new-password-2")
    stored = ok(joc.post("/iam/account", {"identityServiceName": SERVICE, "accountName": "alice"}, token=root))
    assert stored["forcePasswordChange"] is False


def test_logout_is_allowed_during_a_forced_password_change(joc: Joc) -> None:
    root = joc.login()
    make_account(joc, root, "dave", [], forcePasswordChange=True)
    dave = joc.login("dave", ALICE_PASSWORD)
    assert ok(joc.post("/authentication/logout", token=dave))["ok"] is True


def test_changing_anothers_password_needs_accounts_manage_and_ends_their_sessions(joc: Joc) -> None:
    root = joc.login()
    viewer(joc, root)
    make_account(joc, root, "bob", ["viewer"])
    alice = joc.login("alice", ALICE_PASSWORD)
    bob = joc.login("bob", ALICE_PASSWORD)
    change = {"identityServiceName": SERVICE, "accountName": "bob", "password": "xxxxxxxxxx"}
    assert (
        joc.post("/iam/account/changepassword", {**change, "repeatedPassword": "xxxxxxxxxx"}, token=alice).status_code
        == 403
    )
    ok(joc.post("/iam/account/changepassword", {**change, "forcePasswordChange": True}, token=root))
    assert joc.post("/audit_log", {}, token=bob).status_code == 401
    r = joc.client.post("/joc/api/authentication/login", headers=basic("bob", "xxxxxxxxxx"))
    assert r.json()["forcePasswordChange"] is True


def test_minimum_password_length_is_enforced(joc: Joc) -> None:
    root = joc.login()
    item = {"identityService": {"minimum_password_length": {"value": "12"}}}
    ok(joc.post("/settings/store", {"configurationItem": json.dumps(item)}, token=root))
    body = {"identityServiceName": SERVICE, "accountName": "eve", "password": "short"}
    assert error_code(joc.post("/iam/account/store", body, token=root)) == "JOC-400"
    ok(joc.post("/iam/account/store", {**body, "password": "long-enough-pw"}, token=root))


def test_removing_disabling_or_blocking_an_account_ends_its_sessions(joc: Joc) -> None:
    root = joc.login()
    viewer(joc, root)
    alice = joc.login("alice", ALICE_PASSWORD)
    ok(joc.post("/iam/accounts/delete", {"identityServiceName": SERVICE, "accountNames": ["alice"]}, token=root))
    assert joc.post("/audit_log", {}, token=alice).status_code == 401
    for flag in ("disabled", "blocked"):
        make_account(joc, root, "alice", ["viewer"])
        alice = joc.login("alice", ALICE_PASSWORD)
        store = {"identityServiceName": SERVICE, "accountName": "alice", "roles": ["viewer"], flag: True}
        ok(joc.post("/iam/account/store", store, token=root))
        assert joc.post("/audit_log", {}, token=alice).status_code == 401
        r = joc.client.post("/joc/api/authentication/login", headers=basic("alice", ALICE_PASSWORD))
        assert r.status_code == 401


def test_sessions_are_listed_without_tokens_and_can_be_cancelled(joc: Joc) -> None:
    root = joc.login()
    viewer(joc, root)
    alice = joc.login("alice", ALICE_PASSWORD)
    # security/sessions/sessions-schema.json with session-schema.json items
    body = ok(joc.post("/iam/sessions", {"accountName": "alice"}, token=root))
    [session] = body["activeSessions"]
    assert session["accountName"] == "alice"
    assert session["identityService"] == "JOC:JOC-INITIAL"
    assert session["timeout"] == 1_800_000
    assert alice not in json.dumps(body)
    assert joc.post("/iam/sessions", {}, token=alice).status_code == 403
    ok(joc.post("/iam/sessions/cancel", {"ids": [session["id"]]}, token=root))
    assert joc.post("/audit_log", {}, token=alice).status_code == 401
    assert joc.post("/touch", token=root).status_code == 200


def test_identity_services_of_type_joc_only(joc: Joc) -> None:
    root = joc.login()
    # security/identityServices/identityServices-schema.json
    body = ok(joc.post("/iam/identityservices", {}, token=root))
    assert body["identityServiceItems"] == [
        {
            "identityServiceType": "JOC",
            "identityServiceName": SERVICE,
            "serviceAuthenticationScheme": "SINGLE-FACTOR",
            "ordering": 0,
            "disabled": False,
            "secondFactor": False,
            "required": False,
        }
    ]
    # security/identityServices/identityService-schema.json
    ldap = {
        "identityServiceType": "LDAP",
        "identityServiceName": "corp",
        "serviceAuthenticationScheme": "SINGLE-FACTOR",
    }
    r = joc.post("/iam/identityservice/store", ldap, token=root)
    assert error_code(r) == "JOC-400" and "LDAP are not supported" in r.json()["error"]["message"]
    ok(joc.post("/iam/identityservice/store", {**ldap, "identityServiceType": "JOC"}, token=root))
    names = [
        s["identityServiceName"] for s in ok(joc.post("/iam/identityservices", {}, token=root))["identityServiceItems"]
    ]
    assert names == [SERVICE, "corp"]


def test_settings_read_and_store_in_jocs_shape(joc: Joc) -> None:
    root = joc.login()
    # configuration/configuration200-schema.json: configurationItem is a JSON object in a string
    body = ok(joc.post("/settings", token=root))
    item = json.loads(body["configuration"]["configurationItem"])
    assert body["configuration"]["configurationType"] == "GLOBALS"
    assert item["joc"]["force_comments_for_audit_log"]["value"] == "false"
    assert item["identityService"]["idle_session_timeout"]["value"] == "30m"
    # settings/storeSettings-schema.json; other sections (JOC's GUI sends them all) are ignored
    new = {"identityService": {"idle_session_timeout": {"value": "1h"}}, "cleanup": {"period": {"value": "x"}}}
    ok(joc.post("/settings/store", {"configurationItem": json.dumps(new)}, token=root))
    assert joc.services.idle_timeout_s() == 3600
    bad = {"dailyplan": {"time_zone": {"value": "Mars/Olympus"}}}
    assert error_code(joc.post("/settings/store", {"configurationItem": json.dumps(bad)}, token=root)) == "JOC-400"
    assert error_code(joc.post("/settings/store", {"configurationItem": "[1"}, token=root)) == "JOC-400"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/iam/account/store", {"identityServiceName": SERVICE, "accountName": 5}),
        ("/iam/account/store", {"identityServiceName": SERVICE, "accountName": "x" * 100_000}),
        ("/iam/account/store", {"identityServiceName": SERVICE, "accountName": "a", "roles": "all"}),
        ("/iam/account/store", {"identityServiceName": SERVICE, "accountName": "a", "roles": ["nope"]}),
        ("/iam/account/store", {"identityServiceName": SERVICE, "accountName": "a\u0000b"}),
        ("/iam/account/store", {"identityServiceName": SERVICE, "accountName": "a", "unknown": 1}),
        ("/iam/account/store", {"identityServiceName": "nope", "accountName": "a"}),
        ("/iam/account/store", {"identityServiceName": SERVICE, "accountName": "a", "password": "p" * 5000}),
        ("/iam/accounts", {}),
        ("/iam/accounts/delete", {"identityServiceName": SERVICE, "accountNames": ["nobody"]}),
        ("/iam/role/store", {"identityServiceName": SERVICE, "roleName": "r", "ordering": -1}),
        (
            "/iam/permissions/store",
            {"identityServiceName": SERVICE, "controllerId": "a/b", "roleName": "all", "permissions": []},
        ),
        (
            "/iam/folders/store",
            {"identityServiceName": SERVICE, "controllerId": "", "roleName": "all", "folders": [{"folder": 7}]},
        ),
        ("/iam/sessions", {"limit": "many"}),
        ("/iam/identityservice/store", {"identityServiceType": "NOPE", "identityServiceName": "x"}),
        (
            "/settings/store",
            {"configurationItem": json.dumps({"joc": {"force_comments_for_audit_log": {"value": []}}})},
        ),
        ("/settings/store", {"configurationItem": "[" * 100_000}),
        ("/iam/account/changepassword", {"identityServiceName": SERVICE, "accountName": "root"}),
    ],
)
def test_bad_input_is_420_never_500(joc: Joc, path: str, body: dict[str, Any]) -> None:
    root = joc.login()
    r = joc.post(path, body, token=root)
    assert r.status_code == 420, r.text
    assert r.json()["error"]["code"] in ("JOC-400", "JOC-002")
