"""schemathesis against a live `js7es cockpit` process, from the OpenAPI document it serves: generated
requests for every endpoint (valid and invalid bodies), logged in as root; no answer may be a 5xx, and
every answer must match the document (status codes, response schemas).

The Cockpit's one Controller does not answer (every command fails with 420 JOC-503): the fuzzing is
about the request handling; the Controller path is in test_joc_e2e.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from schemathesis import checks

from js7es.nodes.cockpit.api.passwords import hash_password
from tests.ports import free_port

# Minutes of generated requests: out of the quick tier. 105 endpoints took 283 s under load (2 cores
# shared with other tests), near the suite's 300 s per test: this one test gets more.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
PASSWORD = "fuzz-root-password"


@pytest.fixture(scope="module")
def cockpit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    config = root / "cockpit.toml"
    config.write_text(
        f'[cockpit]\ndata-dir = "{root}"\n[http]\nhost = "127.0.0.1"\nport = {port}\n'
        f'[controllers.js7es]\nuris = ["http://127.0.0.1:{free_port()}"]\n'
        "[projection]\nretry-delay = 5\n"
        f'[joc]\nroot-password-hash = "{hash_password(PASSWORD)}"\nevents-wait = 0.5\n'
    )
    log = (root / "cockpit.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "js7es.nodes.cli", "cockpit", "--config", str(config), "--insecure"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (root / "cockpit.log").read_text()
            try:
                if httpx.get(f"{url}/cockpit/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (root / "cockpit.log").read_text()
            time.sleep(0.1)
        yield url
    finally:
        process.kill()
        process.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def token(cockpit: str) -> str:
    """One session for every generated request (generated logins with wrong passwords lock the address out)."""
    r = httpx.post(f"{cockpit}/joc/api/authentication/login", auth=("root", PASSWORD), timeout=30)
    assert r.status_code == 200, r.text
    return r.headers["X-Access-Token"]


@pytest.fixture(scope="module")
def api_schema(cockpit: str) -> Any:
    return schemathesis.openapi.from_url(f"{cockpit}/joc/api/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis.settings(
    max_examples=4,  # per endpoint (about 180 now), derandomized: 6 took 6.6 min of a loaded suite run
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
)
def test_no_5xx_and_every_answer_matches_the_document(case: Any, cockpit: str, token: str) -> None:
    if case.path == "/joc/api/authentication/logout":
        return  # would end the shared session (test_auth covers logout)
    case.call_and_validate(
        base_url=cockpit,
        headers={"X-Access-Token": token},
        checks=[checks.not_a_server_error, checks.status_code_conformance, checks.response_schema_conformance],
    )
