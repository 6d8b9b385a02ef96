"""`js7es schemas check`: the compatibility check of `python -m js7es.journal.avro --check` for users."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from js7es.journal.avro import SCHEMAS_DIR, schema_versions


def schemas(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", "schemas", "check", *args], capture_output=True, text=True, timeout=60
    )


def test_the_committed_schemas_pass() -> None:
    result = schemas()
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_an_incompatible_version_fails(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, root)
    n, current = schema_versions(root)[-1]
    assert schemas("--root", str(root)).returncode == 0
    # A newer version that requires a field the data of the older one does not have.
    older = root / f"v{n}"
    newer = root / f"v{n + 1}"
    shutil.copytree(current, newer)
    envelope = json.loads((newer / "envelope.avsc").read_text())
    envelope["fields"].append({"name": "mandatory", "type": "string"})  # a new field without a default
    (newer / "envelope.avsc").write_text(json.dumps(envelope, indent=2) + "\n")
    result = schemas("--root", str(root))
    assert result.returncode == 1
    assert f"v{n + 1} cannot read data written with v{n}" in result.stderr
    assert "mandatory" in result.stderr
    assert older.is_dir()


def test_a_missing_directory_is_bad_input(tmp_path: Path) -> None:
    result = schemas("--root", str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.startswith("js7es: ") and "no such schemas directory" in result.stderr
