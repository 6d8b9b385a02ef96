"""Login, sessions and JOC's error bodies (joc-cockpit.md §1.1 to §1.2; sos-components JOCDefaultResponse)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cockpit.api.conftest import Backend
from tests.cockpit.api.harness import ROOT_PASSWORD, Joc, basic, running_joc


@pytest.fixture
def joc(tmp_path: Path, backend: Backend) -> Iterator[Joc]:
    with running_joc(tmp_path, store=backend.store, engine=backend.engine) as j:
        j.services.throttle.first_delay_s = 0.0  # failed logins answer at once here
        yield j


def test_login_answers_the_token_in_the_header_and_jocs_account_answer(joc: Joc) -> None:
    r = joc.client.post("/joc/api/authentication/login", headers=basic("root", ROOT_PASSWORD))
    assert r.status_code == 200
    body = r.json()
    token = r.headers["X-Access-Token"]
    assert body["accessToken"] == token
    assert len(uuid.UUID(token).bytes) == 16
    assert body["account"] == "root"
    assert body["isAuthenticated"] is True
    assert body["role"] == "all" and body["hasRole"] is True
    assert body["sessionTimeout"] == 1_800_000  # milliseconds, as JOC
    assert body["forcePasswordChange"] is False
    assert body["identityService"] == "JOC:JOC-INITIAL"
    assert r.headers["Cache-Control"].startswith("no-cache")


def test_a_wrong_password_is_401_with_jocs_body_and_recorded(joc: Joc) -> None:
    r = joc.client.post("/joc/api/authentication/login", headers=basic("root", "wrong"))
    assert r.status_code == 401
    assert r.json()["isAuthenticated"] is False
    assert r.json()["message"] == "Access denied"
    assert "X-Access-Token" not in r.headers
    logins = [n.event for n in joc.store.notifications(0) if type(n.event).__name__ == "LoginFailed"]
    assert len(logins) == 1


def test_an_unknown_account_answers_as_a_wrong_password(joc: Joc) -> None:
    r = joc.client.post("/joc/api/authentication/login", headers=basic("nobody", "x"))
    assert r.status_code == 401
    assert r.json()["message"] == "Access denied"


def test_too_many_failures_lock_the_account_out_even_with_the_right_password(joc: Joc) -> None:
    for _ in range(joc.services.throttle.max_failures["account"]):
        assert joc.client.post("/joc/api/authentication/login", headers=basic("root", "x")).status_code == 401
    r = joc.client.post("/joc/api/authentication/login", headers=basic("root", ROOT_PASSWORD))
    assert r.status_code == 401
    assert "too many failed logins" in r.json()["message"]


def test_calls_without_or_with_a_forged_token_are_401(joc: Joc) -> None:
    assert joc.post("/joc/version", token=None).status_code == 401
    r = joc.post("/joc/version", token=str(uuid.uuid4()))
    assert r.status_code == 401
    assert r.json()["isAuthenticated"] is False


def test_the_token_works_in_the_header_and_as_query_parameter(joc: Joc) -> None:
    token = joc.login()
    assert joc.post("/joc/version", token=token).json()["version"].startswith("2.")
    r = joc.client.post(f"/joc/api/joc/version?accessToken={token}", json={})
    assert r.status_code == 200


def test_logout_ends_the_session(joc: Joc) -> None:
    token = joc.login()
    assert joc.post("/authentication/logout", token=token).json()["ok"] is True
    assert joc.post("/joc/version", token=token).status_code == 401


def test_an_idle_session_expires_with_440(joc: Joc) -> None:
    clock = [1_700_000_000_000]
    joc.services.sessions._wall_ms = lambda: clock[0]
    token = joc.login()
    assert joc.post("/touch", token=token).status_code == 200
    clock[0] += (30 * 60 - 1) * 1000
    assert joc.post("/touch", token=token).status_code == 200  # touched: the idle time starts again
    clock[0] += (30 * 60 + 1) * 1000
    r = joc.post("/touch", token=token)
    assert r.status_code == 440
    assert r.json()["error"]["code"] == "AUTH-440"


def test_a_body_that_is_not_json_or_has_unknown_fields_is_420_joc_400(joc: Joc) -> None:
    token = joc.login()
    r = joc.client.post("/joc/api/controller/switch", content=b"{nope", headers={"X-Access-Token": token})
    assert r.status_code == 420
    assert r.json()["error"]["code"] == "JOC-400"
    assert "deliveryDate" in r.json() and "surveyDate" in r.json()
    r = joc.post("/controller/switch", {"controllerId": "js7es", "typo": 1}, token=token)
    assert r.status_code == 420
    assert "typo" in r.json()["error"]["message"]


def test_json_without_content_type_is_accepted(joc: Joc) -> None:
    token = joc.login()
    r = joc.client.post(
        "/joc/api/controller/switch", content=b'{"controllerId":"js7es"}', headers={"X-Access-Token": token}
    )
    assert r.status_code == 200, r.text


def test_controller_ids_and_switch_as_connect_js7_uses_them(joc: Joc) -> None:
    token = joc.login()
    r = joc.post("/controller/ids", token=token)
    assert r.json()["controllerIds"] == ["js7es"] and r.json()["selected"] == "js7es"
    r = joc.post("/controller/switch", {"controllerId": "other"}, token=token)
    assert r.status_code == 420 and r.json()["error"]["code"] == "JOC-002"


def test_joc_cockpit_permissions_of_root_grant_everything(joc: Joc) -> None:
    token = joc.login()
    body = joc.post("/authentication/joc_cockpit_permissions", token=token).json()
    assert body["joc"]["auditLog"]["view"] is True
    assert body["controllerDefaults"]["orders"]["create"] is True


def test_an_unknown_path_is_404_with_a_joc_error(joc: Joc) -> None:
    r = joc.post("/no/such/call", token=None)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "JOC-404"


def test_the_openapi_document_lists_every_endpoint_with_its_permission(joc: Joc) -> None:
    doc = joc.client.get("/joc/api/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    add = doc["paths"]["/joc/api/orders/add"]["post"]
    assert add["x-permission"] == "sos:products:controller:orders:create"
    assert "AddOrders" in add["requestBody"]["content"]["application/json"]["schema"]["$ref"]


def test_the_session_is_checked_before_the_body(joc: Joc) -> None:
    """A client without a valid session learns that first, whatever it sends (found by the ctl client)."""
    r = joc.client.post("/joc/api/controller/switch", content=b"{nope", headers={"X-Access-Token": "forged"})
    assert r.status_code == 401
