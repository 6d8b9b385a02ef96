"""Start-up time is a feature (STYLE habit 18): each `js7es` subcommand imports the heavy stack — the
database (SQLAlchemy, Alembic, psycopg), the web server (uvicorn, starlette), the Cockpit, the exporter,
Avro and Kafka — only when it runs, and only what it needs. `js7es ctl` against a Controller:
tests/nodes/test_ctl.py::test_ctl_imports_no_heavy_module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Third-party packages and js7es modules that only the commands needing them may import.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "psycopg",
    "uvicorn",
    "starlette",
    "fastavro",
    "kafka",
    "cryptography",
    "prometheus_client",
)
HEAVY_JS7ES = ("js7es.nodes.cockpit", "js7es.nodes.export", "js7es.projections", "js7es.nodes.http", "js7es.journal")

SCRIPT = """\
import json, sys
from js7es.nodes.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def imported_by(*argv: str, cwd: Path | None = None) -> tuple[object, list[str]]:
    """The exit code of `js7es *argv` in a fresh interpreter, and every module it imported."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd or Path(__file__).parent,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], report["modules"]


def heavy(modules: list[str]) -> list[str]:
    return sorted(
        m for m in modules if m.split(".")[0] in HEAVY or any(m == h or m.startswith(h + ".") for h in HEAVY_JS7ES)
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["ctl", "--help"],
        ["ctl", "orders", "--help"],
        ["cockpit", "--help"],
        ["export", "kafka", "--help"],
        ["schemas", "--help"],
        ["journal", "verify", "--help"],
        ["certs", "node", "--help"],
        ["standalone", "--help"],
        ["cluster-watch", "--help"],
    ],
)
def test_help_imports_no_heavy_module(argv: list[str]) -> None:
    code, modules = imported_by(*argv)
    assert code == 0
    assert heavy(modules) == []
    assert "httpx" not in modules  # not even the client


def test_ctl_without_a_controller_imports_no_heavy_module(tmp_path: Path) -> None:
    code, modules = imported_by("ctl", "--data-dir", str(tmp_path), "orders")
    assert code == 2  # no Controller here: it got as far as looking for one
    assert heavy(modules) == []
