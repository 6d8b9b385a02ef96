"""deploy/systemd/: the units of a plain installation (js7es in /opt/js7es, configurations in /etc/js7es,
data in /var/lib/js7es/<node>, the user js7es).

Each unit's ExecStart is a js7es invocation the CLI's own parser accepts, naming the node its file is
named after and its configuration in /etc/js7es; that configuration, the sample of deploy/config/ with
the data directory the README tells to set, loads with the node's own parser, and its data directory is
the unit's StateDirectory. `systemd-analyze verify` (when systemd is installed) accepts every unit,
without a warning about them (an unknown key is only a warning to systemd), with ExecStart pointing to
this machine's js7es.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.components import missing
from tests.deploy.compose_model import DEPLOY, js7es_parse, load_config

UNITS = DEPLOY / "systemd"
KINDS = ("controller", "agent", "cockpit", "cluster-watch")
INSTALLED = "/opt/js7es/bin/js7es"


def unit(kind: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections: key -> values (a key may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for line in (UNITS / f"js7es-{kind}.service").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if match := re.fullmatch(r"\[(\w+)\]", line):
            current = sections.setdefault(match.group(1), {})
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep, f"js7es-{kind}.service: {line!r}"
        current.setdefault(key, []).append(value)
    return sections


def test_the_units_are_the_nodes() -> None:
    assert sorted(p.name for p in UNITS.glob("*.service")) == sorted(f"js7es-{k}.service" for k in KINDS)
    assert (UNITS / "js7es.sysusers").read_text().count("\nu js7es ") == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_unit_starts_its_node_with_its_configuration(kind: str, tmp_path: Path) -> None:
    service = unit(kind)["Service"]
    (exec_start,) = service["ExecStart"]
    argv = shlex.split(exec_start)
    assert argv[0] == INSTALLED
    args = js7es_parse(argv[1:])
    assert argv[1:] == [kind, "--config", f"/etc/js7es/{kind}.toml"]
    assert args.config == Path(f"/etc/js7es/{kind}.toml")
    assert service["User"] == ["js7es"] and service["Group"] == ["js7es"]
    assert service["Restart"] == ["on-failure"]
    assert service["NoNewPrivileges"] == ["yes"]
    assert "WantedBy" in unit(kind)["Install"]

    # The sample configuration with the data directory the README names, and the unit's StateDirectory.
    sample = (DEPLOY / "config" / f"{kind}.toml").read_text()
    config = tmp_path / f"{kind}.toml"
    if kind == "cluster-watch":
        assert "StateDirectory" not in service  # it keeps nothing
        config.write_text(sample)
    else:
        assert service["StateDirectory"] == [f"js7es/{kind}"]
        assert service["WorkingDirectory"] == [f"/var/lib/js7es/{kind}"]
        data_dir = tmp_path / "var/lib/js7es" / kind  # /var/lib/js7es/<kind>, here
        changed, n = re.subn(r'^data-dir = "[^"]*"', f'data-dir = "{data_dir}"', sample, count=1, flags=re.M)
        assert n == 1, f"deploy/config/{kind}.toml has no data-dir"
        config.write_text(changed)
    settings = load_config(kind, config)
    if kind != "cluster-watch":
        assert settings.data_dir == data_dir


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        missing("no systemd-analyze (Debian package systemd; scripts/test installs it as root)")
    js7es = Path(sys.executable).parent / "js7es"
    assert js7es.is_file(), f"{js7es}: js7es is not installed in this environment (pip install -e .)"
    files = []
    for kind in KINDS:
        text = (UNITS / f"js7es-{kind}.service").read_text()
        file = tmp_path / f"js7es-{kind}.service"
        file.write_text(text.replace(f"ExecStart={INSTALLED} ", f"ExecStart={js7es} "))
        files.append(str(file))
    result = subprocess.run(
        [analyze, "verify", "--man=no", *files], capture_output=True, text=True, timeout=120, check=False
    )
    ours = [line for line in result.stderr.splitlines() if str(tmp_path) in line or "js7es" in line]
    assert result.returncode == 0 and not ours, result.stderr

    # The check is real: a misspelt key is reported.
    broken = tmp_path / "broken" / "js7es-controller.service"
    broken.parent.mkdir()
    broken.write_text(Path(files[0]).read_text().replace("Restart=on-failure", "Restartt=on-failure"))
    result = subprocess.run([analyze, "verify", "--man=no", str(broken)], capture_output=True, text=True, check=False)
    assert "Restartt" in result.stderr
