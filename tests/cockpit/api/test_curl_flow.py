"""The KB's curl flow (joc-cockpit.md §1.5) as a real bash script with real curl (curl_flow.sh) against a
real `js7es standalone`: login with Basic, X-Access-Token taken from the headers with grep and sed,
/orders/add, /orders/history polled until the order ended, /tasks/history for its taskIds, /task/log
with the job's output, logout — over HTTPS checked with the standalone's CA (--cacert)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.components import missing
from tests.nodes.test_standalone import Standalone, running_standalone

SCRIPT = Path(__file__).with_name("curl_flow.sh")

pytestmark = pytest.mark.slow  # a standalone's start: about 15 s on 2 cores


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standalone]:
    for tool in ("bash", "curl"):
        if shutil.which(tool) is None:  # scripts/test installs curl; CI fails without it (house rule 2)
            missing(f"the curl flow needs {tool} (Debian: apt-get install {tool})")
    with running_standalone(tmp_path_factory.mktemp("curl") / "data") as running:
        yield running


def joc_url(standalone: Standalone) -> str:
    [url] = [line.split()[-1] for line in standalone.lines if line.strip().startswith("JOC API")]
    return url.removesuffix("/joc/api")


def curl_flow(standalone: Standalone, **env: str) -> subprocess.CompletedProcess[str]:
    data_dir = standalone.data_dir
    return subprocess.run(
        ["bash", str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": os.environ["PATH"],
            "JS_URL": joc_url(standalone),
            "JS_USER": "root",
            "JS_PASSWORD": (data_dir / "root-password").read_text().strip(),
            "JS_CA": str(data_dir / "certs" / "ca" / "ca.crt"),
            "WORKFLOW": "hello",
            "NAME": "Ada",
            **env,
        },
    )


def test_the_kb_curl_flow_runs_an_order_and_shows_its_log(standalone: Standalone) -> None:
    done = curl_flow(standalone)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["logged in", "controllerId js7es"]
    assert lines[2].startswith("added #") and lines[2].endswith("-curl")
    assert "history state SUCCESSFUL" in lines
    [tasks] = [line for line in lines if line.startswith("tasks ")]
    assert len(tasks.split()) == 3  # the sample's two jobs
    log = done.stdout[done.stdout.index("--- log of task") :]
    assert "hello Ada\n" in log and "done: Ada\n" in log  # the jobs' stdout, in their order
    assert log.lower().count("x-log-complete: true") == 2
    assert lines[-2:] == ["logged out", "after logout: HTTP 401"]


def test_a_wrong_password_fails_the_login_step(standalone: Standalone) -> None:
    done = curl_flow(standalone, JS_PASSWORD="wrong")
    assert done.returncode != 0
    assert "logged in" not in done.stdout
    assert "401" in done.stderr  # curl --fail: "The requested URL returned error: 401"


def test_curl_refuses_the_cockpit_without_the_standalones_ca(standalone: Standalone, tmp_path: Path) -> None:
    other_ca = tmp_path / "other.crt"
    other_ca.write_text(Path("/etc/ssl/certs/ca-certificates.crt").read_text())
    done = curl_flow(standalone, JS_CA=str(other_ca))
    assert done.returncode != 0 and "logged in" not in done.stdout
    assert "certificate" in done.stderr.lower()
