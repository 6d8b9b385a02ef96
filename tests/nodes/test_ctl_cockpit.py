"""`js7es ctl` through the Cockpit's JOC API (`--joc`, `--cockpit URL`) against a real `js7es standalone`:
its operator commands, their output, the audit comment, and the failures — one line on stderr and a
non-zero exit, never a traceback. The client itself: js7es/nodes/client/cockpit.py."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from js7es.nodes.client.cockpit import CockpitClient, cockpit_url
from js7es.nodes.client.connection import ClientTls
from js7es.nodes.client.errors import ClientError
from tests.nodes.test_cli_imports import heavy, imported_by
from tests.nodes.test_standalone import Standalone, running_standalone
from tests.ports import free_port

pytestmark = pytest.mark.slow  # a standalone's start: about 15 s on 2 cores


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Standalone]:
    with running_standalone(tmp_path_factory.mktemp("ctl-joc") / "data") as running:
        yield running


@pytest.fixture(scope="module")
def url(standalone: Standalone) -> str:
    [line] = [line for line in standalone.lines if line.strip().startswith("JOC API")]
    return line.split()[-1].removesuffix("/joc/api")


def run(standalone: Standalone, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("JS7ES_")}
    return subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", "ctl", "--data-dir", str(standalone.data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**environment, **(env or {})},
        stdin=subprocess.DEVNULL,
        cwd=Path(__file__).parent,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert not done.stderr
    return done.stdout


def failing(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("js7es: ")
    return line.removeprefix("js7es: ")


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def wait_history(standalone: Standalone, order_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        runs = json_lines(ok(run(standalone, "history", "--order", order_id, "--json")))
        if runs and runs[0].get("endTime"):
            return runs[0]
        assert time.monotonic() < deadline, runs
        time.sleep(0.2)


def test_an_order_through_the_cockpit_with_its_history_logs_and_audit(standalone: Standalone) -> None:
    added = ok(run(standalone, "--joc", "add-order", "hello", "--arg", "name=Ada", "--comment", "ticket 42"))
    assert added.startswith("Added order #") and added.rstrip().endswith("-root to workflow hello")
    order_id = added.split()[2]
    assert wait_history(standalone, order_id)["state"]["_text"] == "SUCCESSFUL"

    orders = ok(run(standalone, "--joc", "orders")).splitlines()
    assert orders[0].split() == ["ID", "WORKFLOW", "POSITION", "STATE"]
    row = next(line.split() for line in orders if line.startswith(order_id))
    assert row[1].startswith("/hello~") and row[2:] == ["2", "FINISHED"]

    history = ok(run(standalone, "history", "--order", order_id)).splitlines()
    assert history[0].split() == ["HISTORY", "ORDER", "WORKFLOW", "STATE", "POSITION", "START", "END"]
    assert history[1].split()[1:4] == [order_id, "/hello", "SUCCESSFUL"]

    tasks = json_lines(ok(run(standalone, "tasks", "--order", order_id, "--json")))
    assert sorted(t["job"] for t in tasks if t.get("job")) == ["greet"]
    logs = [ok(run(standalone, "logs", str(t["taskId"]))) for t in sorted(tasks, key=lambda t: t["taskId"])]
    assert logs == ["hello Ada\n", "done: Ada\n"]
    table = ok(run(standalone, "tasks", "--order", order_id)).splitlines()
    assert table[0].split() == ["TASK", "ORDER", "WORKFLOW", "JOB", "STATE", "EXIT", "START", "END"]

    log = ok(run(standalone, "log", order_id)).splitlines()
    assert [line.split()[2] for line in log] == [
        "OrderStarted",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderFinished",
    ]
    assert "job=greet" in log[1] and "returnCode=0" in log[2]

    audit = json_lines(ok(run(standalone, "audit", "--json", "--limit", "5")))
    added_entry = next(e for e in audit if e["request"].endswith("/orders/add"))
    assert (added_entry["account"], added_entry["comment"], added_entry["category"]) == (
        "root",
        "ticket 42",
        "CONTROLLER",
    )
    assert "ticket 42" in ok(run(standalone, "audit", "--limit", "5"))


def test_suspend_resume_and_cancel_by_order_id(standalone: Standalone) -> None:
    added = ok(run(standalone, "--joc", "add-order", "hello", "--at", "+3600", "--name", "later"))
    assert added.rstrip().endswith("-later to workflow hello, scheduled for now + 3600")
    order_id = added.split()[2]

    def state() -> str:
        [order] = [o for o in json_lines(ok(run(standalone, "--joc", "orders", "--json"))) if o["orderId"] == order_id]
        return str(order["state"]["_text"])

    def wait_state(wanted: str) -> None:
        deadline = time.monotonic() + 20
        while state() != wanted:
            assert time.monotonic() < deadline, state()
            time.sleep(0.2)

    wait_state("SCHEDULED")
    assert ok(run(standalone, "--joc", "suspend", order_id, "--comment", "hold")) == f"Suspending {order_id}\n"
    wait_state("SUSPENDED")
    suspended = ok(run(standalone, "--joc", "orders", "--state", "suspended")).splitlines()
    assert [line.split()[0] for line in suspended[1:]] == [order_id]
    assert ok(run(standalone, "--joc", "resume", order_id)) == f"Resumed {order_id}\n"
    wait_state("SCHEDULED")
    assert ok(run(standalone, "--joc", "cancel", order_id)) == f"Cancelling {order_id}\n"
    wait_state("CANCELLED")


def test_the_daily_plan_of_the_sample_schedule(standalone: Standalone) -> None:
    """The standalone released its sample schedule (hello on working days, UTC): the service planned it."""
    today = datetime.datetime.now(datetime.UTC).date()
    weekday = next(
        today + datetime.timedelta(days=n)
        for n in range(1, 8)
        if (today + datetime.timedelta(days=n)).isoweekday() <= 5
    )
    deadline = time.monotonic() + 30
    while True:
        items = json_lines(ok(run(standalone, "daily-plan", "--date", weekday.isoformat(), "--json")))
        if items:
            break
        assert time.monotonic() < deadline, "the sample schedule was not planned"
        time.sleep(0.5)
    # 02:00 once, and a cyclic period 08:00-17:00 hourly: two items (the cyclic one grouped)
    assert {i["schedulePath"] for i in items} == {"/samples/hello"} and len(items) == 2
    cyclic = next(i for i in items if "cyclicOrder" in i)
    assert cyclic["cyclicOrder"]["count"] == 10 and cyclic["orderId"].startswith(f"#{weekday}#C")
    table = ok(run(standalone, "daily-plan", "--date", weekday.isoformat()))
    assert table.splitlines()[0].split()[:3] == ["PLANNED", "START", "ORDER"]
    assert "10 starts to" in table and "/samples/hello" in table
    assert failing(run(standalone, "daily-plan", "--date", "tomorrow"), 2) == (
        "--date 'tomorrow': expected a date YYYY-MM-DD"
    )


def test_the_password_comes_from_the_environment_with_an_explicit_cockpit(standalone: Standalone, url: str) -> None:
    root = (standalone.data_dir / "root-password").read_text().strip()
    ca = str(standalone.data_dir / "certs" / "ca" / "ca.crt")
    elsewhere = ["--data-dir", "/nonexistent", "--cockpit", url + "/joc/api", "--ca", ca, "--user", "root"]
    done = run(standalone, *elsewhere, "orders", env={"JS7ES_PASSWORD": root})
    assert "hello-sample" in ok(done)
    # no password at all, and no terminal to ask on: a usage error, before any request
    assert failing(run(standalone, *elsewhere, "orders"), 2).startswith("--user root: no password")
    wrong = run(standalone, *elsewhere, "orders", env={"JS7ES_PASSWORD": "wrong"})
    assert failing(wrong, 1) == "not authenticated (HTTP 401): Access denied"


def test_failures_are_one_line(standalone: Standalone, url: str, tmp_path: Path) -> None:
    assert failing(run(standalone, "--joc", "add-order", "nope"), 1) == (
        "JOC-002: orders[0]: no workflow 'nope' at Controller 'js7es'"
    )
    assert failing(run(standalone, "--joc", "cancel", "nope"), 1) == "JOC-002: no order matches the request"
    assert failing(run(standalone, "logs", "12345"), 1) == "JOC-002: unknown taskId 12345 at Controller 'js7es'"
    assert failing(run(standalone, "log", "nope"), 1) == "no run of order nope in the Cockpit's history (yet)"
    assert failing(run(standalone, "--joc", "--controller-id", "other", "orders"), 1) == (
        "JOC-002: unknown controllerId 'other'"
    )
    assert failing(run(standalone, "--joc", "overview"), 2) == (
        "overview: only with the Controller's API; leave out --cockpit and --joc"
    )
    assert failing(run(standalone, "add-order", "hello", "--comment", "x"), 2).startswith("--comment: ")
    assert failing(run(standalone, "--joc", "add-order", "hello", "--id", "x"), 2).startswith("--id: ")
    assert failing(run(standalone, "--joc", "add-order", "hello", "--at", "soon"), 2).startswith("--at 'soon'")
    assert failing(run(standalone, "--joc", "suspend", "x", "--kill-immediately"), 2).startswith("--kill-immediately")
    assert failing(run(standalone, "--cockpit", "ftp://x", "orders"), 2).startswith("--cockpit 'ftp://x': expected")
    assert failing(run(standalone, "--cockpit", url, "--ca", str(tmp_path / "none.crt"), "orders"), 2) == (
        f"{tmp_path / 'none.crt'}: no such file (--ca)"
    )
    port = free_port()
    refused = run(standalone, "--cockpit", f"https://127.0.0.1:{port}", "--user", "u", env={"JS7ES_PASSWORD": "p"})
    assert refused.returncode == 2  # no action: the help
    refused = run(
        standalone, "--cockpit", f"https://127.0.0.1:{port}", "--user", "u", "orders", env={"JS7ES_PASSWORD": "p"}
    )
    assert (
        failing(refused, 1)
        == f"cannot talk to the Cockpit at https://127.0.0.1:{port}: connection refused (is it running?)"
    )
    # another data directory: not the standalone's CA, the system's
    elsewhere = ["--data-dir", str(tmp_path), "--cockpit", url, "--user", "root"]
    system_cas = run(standalone, *elsewhere, "orders", env={"JS7ES_PASSWORD": "p"})
    assert failing(system_cas, 1).startswith(f"cannot talk to the Cockpit at {url}: TLS: the Cockpit's certificate")
    assert failing(run(standalone, "--data-dir", str(tmp_path), "history"), 2).startswith("no Cockpit given")


def test_a_changed_first_password_is_told(standalone: Standalone, tmp_path: Path) -> None:
    copy = tmp_path / "data"
    (copy / "cockpit").mkdir(parents=True)
    (copy / "cockpit" / "cockpit.toml").write_text((standalone.data_dir / "cockpit" / "cockpit.toml").read_text())
    (copy / "certs" / "ca").mkdir(parents=True)
    (copy / "certs" / "ca" / "ca.crt").write_text((standalone.data_dir / "certs" / "ca" / "ca.crt").read_text())
    (copy / "root-password").write_text("changed-since\n")
    done = run(standalone, "--data-dir", str(copy), "--joc", "orders")
    assert failing(done, 1) == (
        f"not authenticated (HTTP 401): Access denied (the first password of root in {copy / 'root-password'}: "
        "changed since? give env JS7ES_PASSWORD)"
    )


def test_the_client_renews_an_expired_session_and_logs_out(standalone: Standalone, url: str) -> None:
    root = (standalone.data_dir / "root-password").read_text().strip()
    tls = ClientTls(ca=standalone.data_dir / "certs" / "ca" / "ca.crt")

    def idle_timeout(value: str) -> None:
        item = {"identityService": {"idle_session_timeout": {"value": value}}}
        client.post("/settings/store", {"configurationItem": json.dumps(item)})

    with CockpitClient(url + "/joc/api", "root", root, tls) as client:
        account = client.login()
        assert (account["account"], account["role"], account["sessionTimeout"]) == ("root", "all", 1_800_000)
        assert client.controller_id() == "js7es"
        try:
            idle_timeout("1s")
            first = client.token
            time.sleep(1.5)
            # JOC answers 440 (Login Timeout) for the expired token: the client logs in again, once
            assert client.post("/orders", {"controllerId": "js7es"})["orders"]
            assert client.token not in (None, first)
        finally:
            idle_timeout("30m")
        token = client.token
    assert client.token is None
    with CockpitClient(url, "root", root, tls) as again:
        again.login()
        gone = again._http.post(
            "/orders", content=b'{"controllerId": "js7es"}', headers={"X-Access-Token": token or ""}
        )
        assert gone.status_code == 401  # logged out on close


def test_the_url_is_taken_with_or_without_the_api_prefix() -> None:
    assert cockpit_url("https://h:4446/joc/api/") == "https://h:4446"
    assert cockpit_url(" https://h:4446 ") == "https://h:4446"
    with pytest.raises(ClientError, match="expected a URL like"):
        cockpit_url("https://h:4446/elsewhere")


def test_ctl_through_the_cockpit_imports_no_heavy_module(standalone: Standalone) -> None:
    code, modules = imported_by("ctl", "--data-dir", str(standalone.data_dir), "--joc", "orders")
    assert code == 0
    assert heavy(modules) == []
