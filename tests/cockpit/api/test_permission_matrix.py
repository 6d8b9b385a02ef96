"""Every endpoint of the table, for every default role: 403 exactly when the role lacks the endpoint's
declared permission (for the Controller of the request), never 401 or 5xx for a logged-in account.

The bodies are the smallest valid ones, made from each endpoint's own request model (its JSON schema), so
that a request reaches the permission check; what the handler answers after that (200, or 420 because
there is no such order, or no Controller to talk to) is not this test's business, only that it is not 403.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.events import ChangeMeta
from js7es.domain.cockpit.permissions import DEFAULT_ROLES, effective
from js7es.domain.problem import Problem
from js7es.nodes.client.errors import ClientError
from js7es.nodes.cockpit.api.endpoint import API, Endpoint
from js7es.nodes.cockpit.api.families import load
from js7es.nodes.cockpit.api.passwords import hash_password
from tests.cockpit.api.harness import Joc, basic, running_joc

CONTROLLER = "js7es"
PASSWORD = "pw-of-every-role"
load()
ENDPOINTS = sorted(API.endpoints.values(), key=lambda e: (e.path, e.method))


def minimal(schema: dict[str, Any], defs: dict[str, Any], name: str = "") -> Any:
    if "$ref" in schema:
        return minimal(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, name)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"]
            return minimal(options[0], defs, name)
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {k: minimal(props[k], defs, k) for k in schema.get("required", [])}
    if kind == "array":
        n = schema.get("minItems", 0)
        return [minimal(schema.get("items", {}), defs, name) for _ in range(n)]
    if kind == "string":
        if name in ("controllerId",):
            return CONTROLLER
        if "path" in name.lower() or "folder" in name.lower():
            return "/x"
        return "x" * max(1, schema.get("minLength", 1))
    if kind == "integer" or kind == "number":
        return max(schema.get("minimum", 0), schema.get("exclusiveMinimum", -1) + 1)
    if kind == "boolean":
        return False
    return "x"


def minimal_body(endpoint: Endpoint) -> dict[str, Any]:
    schema = endpoint.request.model_json_schema()
    body = minimal(schema, schema.get("$defs", {}))
    if "controllerId" in schema.get("properties", {}):
        body["controllerId"] = CONTROLLER
    return dict(body)


def unreachable(controller_id: str) -> Any:
    raise ClientError(f"no Controller {controller_id} in this test")


@pytest.fixture(scope="module")
def joc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Joc, dict[str, str]]]:
    tmp_path: Path = tmp_path_factory.mktemp("matrix")
    with running_joc(tmp_path, make_client=unreachable) as j:
        password_hash = hash_password(PASSWORD)
        tokens = {}
        for role in sorted(DEFAULT_ROLES):
            meta = ChangeMeta(account="root", at_ms=0, request="test")
            account = f"user-{role}"
            command = cmd.StoreAccount(password_hash=password_hash, roles=(role,))
            assert not isinstance(j.store.execute(keys.account(account), command, meta), Problem)
            r = j.client.post("/joc/api/authentication/login", headers=basic(account, PASSWORD))
            assert r.status_code == 200, r.text
            tokens[role] = r.headers["X-Access-Token"]
        yield j, tokens


def call(j: Joc, endpoint: Endpoint, token: str) -> Any:
    headers = {"X-Access-Token": token}
    if endpoint.method == "GET":
        params = {k: str(v) for k, v in minimal_body(endpoint).items()}
        return j.client.get(endpoint.url, params=params, headers=headers)
    return j.client.post(endpoint.url, json=minimal_body(endpoint), headers=headers)


# Logout would end the shared session: tests/cockpit/api/test_auth.py covers it.
CHECKED = [e for e in ENDPOINTS if e.access != "public" and e.path != "/authentication/logout"]


@pytest.mark.parametrize("endpoint", CHECKED, ids=lambda e: f"{e.method} {e.path}")
@pytest.mark.parametrize("role", sorted(DEFAULT_ROLES))
def test_403_exactly_when_the_role_lacks_the_permission(
    joc: tuple[Joc, dict[str, str]], endpoint: Endpoint, role: str
) -> None:
    j, tokens = joc
    response = call(j, endpoint, tokens[role])
    assert response.status_code not in (401, 440) and response.status_code < 500, response.text
    if endpoint.permission is None:  # any logged-in account
        assert response.status_code != 403, response.text
        return
    # access "session" with a permission: checked by the handler for each Controller it reads
    controller = CONTROLLER if endpoint.controller_scoped or endpoint.access == "session" else None
    allowed = effective([DEFAULT_ROLES[role]]).allows(endpoint.permission, controller)
    if allowed:
        assert response.status_code != 403, f"{role} has {endpoint.permission}: {response.text}"
    else:
        assert response.status_code == 403, f"{role} lacks {endpoint.permission}: {response.text}"
        assert response.json()["isPermitted"] is False


def test_every_endpoint_declares_a_known_permission() -> None:
    from js7es.domain.cockpit.permissions import PERMISSION_PATHS

    for e in ENDPOINTS:
        if e.access == "permission" or e.permission is not None:
            assert e.permission in PERMISSION_PATHS, (e.path, e.permission)


def test_the_matrix_is_not_trivial() -> None:
    """Some role is refused somewhere and allowed elsewhere: the matrix tests both answers."""
    denied = {
        (role, e.path)
        for role in DEFAULT_ROLES
        for e in ENDPOINTS
        if e.access == "permission" and not effective([DEFAULT_ROLES[role]]).allows(e.permission or "", CONTROLLER)
    }
    assert denied and len(denied) < len(DEFAULT_ROLES) * len([e for e in ENDPOINTS if e.access == "permission"])
