"""File order sources (FileWatch) on real Controller and Agent processes.

Files are dropped in bursts (written under a hidden name and renamed, so that the default pattern
`[^.].*` sees each complete); the job marks its file as done and deletes it, as JS7 users' jobs do, and
its order is then deleted. The Agent is killed (-9) in the middle of the bursts and a burst lands while
it is down; later the Controller is killed and files land while it is down. At the end every file had
exactly one order (one OrderAdded per file, from the Controller's journal), every order ran its job and
was deleted, no order is left, the deleted FileWatch is detached from the Agent, and both journals
replay (`js7es journal verify --replay`).

JS7ES_FILEWATCH_FILES sets the number of files of the bursts (default 1000, the issue's proof).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.topology import Topology

pytestmark = pytest.mark.slow

FILES = int(os.environ.get("JS7ES_FILEWATCH_FILES", "1000"))
BURSTS = 6
WHILE_CONTROLLER_DOWN = 30


def workflow(done: Path) -> dict[str, Any]:
    script = f'name=$(basename "$FILE"); : > "{done}/$name"; rm -f "$FILE"\n'
    job = {
        "agentPath": "agent",
        "processLimit": 20,
        "executable": {"TYPE": "ShellScriptExecutable", "script": script, "env": {"FILE": "$file"}},
    }
    return {"path": "on-file", "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}], "jobs": {"J": job}}


def file_watch(directory: Path) -> dict[str, Any]:
    return {
        "TYPE": "FileWatch",
        "path": "inbox",
        "agentPath": "agent",
        "workflowPath": "on-file",
        "directoryExpr": f"'{directory}'",
    }


def drop(directory: Path, names: list[str]) -> None:
    for name in names:
        hidden = directory / f".{name}"
        hidden.write_text(name)
        hidden.rename(directory / name)


def file_orders_deleted(n: int) -> Any:
    return lambda es: sum(e["TYPE"] == "OrderDeleted" and e["Key"].startswith("file:inbox:") for e in es) >= n


def await_agent_journal(topology: Topology, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in p.read_text() for p in (topology.nodes["agent"].data_dir / "state").glob("*.journal")):
        assert time.monotonic() < deadline, f"not in the Agent's journal: {text}"
        time.sleep(0.1)


def verify_replay(directory: Path) -> None:
    verified = subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", "journal", "verify", "--replay", str(directory)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert verified.returncode == 0, f"{directory}: {verified.stdout}{verified.stderr}"
    assert "Replayed:" in verified.stdout


def test_files_in_bursts_with_the_agent_and_the_controller_killed(tmp_path: Path) -> None:
    inbox, done = tmp_path / "inbox", tmp_path / "done"
    inbox.mkdir()
    done.mkdir()
    present_at_start = ["early-0", "early-1"]  # in the directory before the FileWatch exists: they count
    drop(inbox, present_at_start)
    burst_names = [[f"f{b}-{i:04}" for i in range(FILES // BURSTS)] for b in range(BURSTS)]
    late = [f"late-{i:03}" for i in range(WHILE_CONTROLLER_DOWN)]
    expected = sorted([*present_at_start, *(n for burst in burst_names for n in burst), *late])
    topology = Topology(tmp_path / "nodes")
    try:
        topology.start_all()
        response = topology.deploy(workflow(done), version="1")
        assert response.status_code == 200, response.text
        with topology.controller() as c:
            item = {"TYPE": "AddOrChangeSimple", "item": file_watch(inbox)}
            response = c.post("/controller/api/item", json=[item])
            assert response.status_code == 200, response.text
        for b, names in enumerate(burst_names):
            drop(inbox, names)
            if b == BURSTS // 2 - 1:
                topology.kill("agent")  # in the middle: orders running, files not yet announced
            elif b == BURSTS // 2:
                topology.start("agent")  # this burst landed while the Agent was down
        topology.wait_for(file_orders_deleted(len(expected) - len(late)), timeout=120)
        topology.kill("controller")
        drop(inbox, late)
        topology.start("controller")
        events = topology.wait_for(file_orders_deleted(len(expected)), timeout=120)
        with topology.controller() as c:
            snapshot = c.get("/controller/api/snapshot")
            assert snapshot.status_code == 200, snapshot.text
            deleted = c.post("/controller/api/item", json=[{"TYPE": "DeleteSimple", "path": "OrderWatch:inbox"}])
            assert deleted.status_code == 200, deleted.text
        await_agent_journal(topology, '"TYPE":"ItemDetachedFromMe","key":"OrderWatch:inbox"')  # detached there
    finally:
        topology.stop_all()
    assert topology.nodes["agent"].starts == 2 and topology.nodes["controller"].starts == 2
    added = [e for e in events if e["TYPE"] == "OrderAdded" and "externalOrderKey" in e]
    per_file = Counter(e["externalOrderKey"]["name"] for e in added)
    assert sorted(per_file) == expected
    assert {name: n for name, n in per_file.items() if n != 1} == {}  # each file's order exactly once
    assert all(e["Key"] == f"file:inbox:{e['externalOrderKey']['name']}" for e in added)  # JS7's default id
    assert all(e["arguments"] == {"file": str(inbox / e["externalOrderKey"]["name"])} for e in added)
    assert sorted(p.name for p in done.iterdir()) == expected  # every order ran its job
    assert list(inbox.iterdir()) == []  # and its job deleted the file
    for e in added:
        types = topology.order_events(events, e["Key"])
        assert types.count("OrderAdded") == 1 and types.count("OrderFinished") == 1, (e["Key"], types)
        # the job deletes the file: OrderExternalVanished while it runs (or after), deleted when finished
        assert types.count("OrderExternalVanished") == 1 and types[-1] == "OrderDeleted", (e["Key"], types)
        assert types.index("OrderExternalVanished") > types.index("OrderProcessingStarted"), (e["Key"], types)
    assert '"TYPE":"Order"' not in snapshot.text.replace(" ", "")  # no order left behind
    assert '"TYPE":"ExternalOrder"' not in snapshot.text.replace(" ", "")  # nor a file the Controller knows
    for name in ("controller", "agent"):
        verify_replay(topology.nodes[name].data_dir / "state")
