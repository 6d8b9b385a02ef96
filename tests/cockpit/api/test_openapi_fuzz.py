"""schemathesis against the JOC API, from its own OpenAPI document: generated requests for every
endpoint (valid and invalid bodies), logged in as root; no answer may be a 5xx, and every answer must
match the document (status codes, content types, response schemas).

Controllers are unreachable here (every command fails with 420 JOC-503): the fuzzing is about the
request handling, the Controller path is in test_joc_e2e.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import checks
from starlette.applications import Starlette

from js7es.nodes.client.errors import ClientError
from tests.cockpit.api.harness import Joc, running_joc

pytestmark = pytest.mark.slow  # a minute of generated requests: out of the quick tier


def unreachable(controller_id: str) -> Any:
    raise ClientError(f"no Controller {controller_id} in this test")


@pytest.fixture(scope="module")
def joc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Joc]:
    tmp_path: Path = tmp_path_factory.mktemp("fuzz")
    with running_joc(tmp_path, make_client=unreachable) as j:
        j.services.throttle.first_delay_s = 0.0
        yield j


@pytest.fixture(scope="module")
def token(joc: Joc) -> str:
    """One session for every generated request (generated logins with wrong passwords lock the address out)."""
    return joc.login()


@pytest.fixture(scope="module")
def api_schema(joc: Joc) -> Any:
    app: Starlette = joc.client.app  # type: ignore[assignment]
    return schemathesis.openapi.from_asgi("/joc/api/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis.settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
)
def test_no_5xx_and_every_answer_matches_the_document(case: Any, token: str) -> None:
    if case.path == "/joc/api/authentication/logout":
        return  # would end the shared session (test_auth covers logout)
    case.call_and_validate(
        headers={"X-Access-Token": token},
        checks=[checks.not_a_server_error, checks.status_code_conformance, checks.response_schema_conformance],
    )
