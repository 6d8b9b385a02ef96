"""`js7es ctl` against real Controller and Agent processes over mutual TLS (tests/e2e/topology.py),
and its error cases: every failure one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from js7es.domain import codec
from js7es.domain.order.order import Order
from js7es.domain.order.states import Failed, FailedInFork, Ready
from js7es.domain.value import dumps, loads
from js7es.domain.workflow.workflow import WorkflowId
from js7es.nodes.certs import create_ca, create_node_certificate
from js7es.nodes.cli.ctl.commands import parse_argument, parse_at
from js7es.nodes.cli.ctl.output import format_event, order_row
from js7es.nodes.client.connection import ClientTls, ControllerConnection
from js7es.nodes.client.controller import ControllerClient
from js7es.nodes.client.items import read_item_file
from tests.e2e.topology import ADMIN, Topology
from tests.nodes.test_cli_imports import heavy, imported_by
from tests.ports import free_port

PI = "3.14159265358979323846264338327950288"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", "ctl", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=Path(__file__).parent,  # no ./js7es-data here
    )


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    topo = Topology(tmp_path_factory.mktemp("ctl"))
    topo.start_all()
    try:
        yield topo
    finally:
        topo.stop_all()


@pytest.fixture(scope="module")
def where(topology: Topology) -> list[str]:
    """The global options naming the Controller and the client certificate "client"."""
    certs = topology.root / "certs"
    return [
        "--controller",
        f"https://127.0.0.1:{topology.nodes['controller'].port}",
        "--ca",
        str(certs / "ca" / "ca.crt"),
        "--cert",
        str(certs / "client" / "node.crt"),
        "--key",
        str(certs / "client" / "node.key"),
    ]


class Events:
    """The Controller's events, followed by a client of our own; each wait returns as soon as it holds."""

    def __init__(self, where: list[str]) -> None:
        options = dict(zip(where[::2], where[1::2], strict=True))
        self.client = ControllerClient(
            ControllerConnection(uris=(options["--controller"],)),
            ClientTls(ca=Path(options["--ca"]), cert=Path(options["--cert"]), key=Path(options["--key"])),
        )
        self.seen: list[dict[str, Any]] = []

    def wait_for(self, key: str, *types: str, timeout: float = 30) -> list[str]:
        """The event TYPEs of `key` until one of `types` has come."""
        deadline = time.monotonic() + timeout
        while not self._has(key, types):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {types} for {key}: {self.of(key)}"
            for event in self.client.events(self.seen[-1]["eventId"] if self.seen else 0, timeout=min(remaining, 5)):
                self.seen.append(event)
                if event.get("Key") == key and event["TYPE"] in types:
                    break
        return self.of(key)

    def _has(self, key: str, types: tuple[str, ...]) -> bool:
        return any(e.get("Key") == key and e["TYPE"] in types for e in self.seen)

    def of(self, key: str) -> list[str]:
        return [e["TYPE"] for e in self.seen if e.get("Key") == key]


@pytest.fixture(scope="module")
def events(where: list[str]) -> Iterator[Events]:
    followed = Events(where)
    try:
        yield followed
    finally:
        followed.client.close()


TERMINATED = ("OrderFinished", "OrderFailed", "OrderCancelled")


def ctl(where: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    result = run(*where, *args)
    assert result.returncode == 0, result.stderr
    return result


def failing(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The one-line message of a failure with exit `code`."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("js7es: "), result.stderr
    return lines[0].removeprefix("js7es: ")


def write(directory: Path, name: str, obj: Any) -> Path:
    path = directory / name
    path.write_text(json.dumps(obj))
    return path


def shell(script: str) -> dict[str, Any]:
    return {"agentPath": "agent", "executable": {"TYPE": "ShellScriptExecutable", "script": script}}


@pytest.fixture(scope="module")
def deployed(topology: Topology, where: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    """Items from files as JS7 exports them: no path in the workflow, the kind in the file name."""
    d = tmp_path_factory.mktemp("items")
    agent_uri = f"https://127.0.0.1:{topology.nodes['agent'].port}"
    files = [
        write(d, "agent.agent.json", {"path": "agent", "directors": ["agent-director"]}),
        write(d, "agent-director.subagent.json", {"TYPE": "SubagentItem", "agentPath": "agent", "uri": agent_uri}),
        write(d, "greeting.jobresource.json", {"TYPE": "JobResource", "env": {"GREETING": "'hi'"}}),
        write(
            d,
            "ask.workflow.json",
            {
                "instructions": [
                    {"TYPE": "Prompt", "question": "'Go on?'"},
                    {"TYPE": "Execute.Named", "jobName": "greet"},
                ],
                "jobs": {"greet": {**shell('echo "$GREETING $JS7_ARG_name"\n'), "jobResourcePaths": ["greeting"]}},
            },
        ),
        write(
            d,
            "sleepy.workflow.json",
            {"TYPE": "Workflow", "instructions": [{"TYPE": "Execute.Anonymous", "job": shell("sleep 60\n")}]},
        ),
    ]
    result = ctl(where, "deploy", *map(str, files))
    assert result.stdout.startswith(
        "Deployed 5 item(s): AgentRef:agent, SubagentItem:agent-director, JobResource:greeting, Workflow:ask, "
        "Workflow:sleepy (version "
    )


def test_priority_and_change_order(topology: Topology, where: list[str], deployed: None, events: Events) -> None:
    ctl(where, "add-order", "ask", "--id", "prio", "--arg", "name=Ada", "--priority", "5")
    events.wait_for("prio", "OrderPrompted")
    assert loads(ctl(where, "show", "prio").stdout)["priority"] == 5
    changed = ctl(where, "change-order", "prio", "--priority", "-3.25")  # JS7 2.7's BigDecimal
    assert changed.stdout.strip() == "Changed the priority of prio to -3.25"
    events.wait_for("prio", "OrderPriorityChanged")
    assert loads(ctl(where, "show", "prio").stdout)["priority"] == Decimal("-3.25")
    ctl(where, "answer", "prio")
    assert events.wait_for("prio", *TERMINATED)[-1] == "OrderFinished"


def test_add_order_answer_show_orders_events(
    topology: Topology, where: list[str], deployed: None, events: Events
) -> None:
    added = ctl(where, "add-order", "ask", "--id", "p1", "--arg", "name=Ada", "--arg", "n=3", "--arg", f"pi={PI}")
    assert added.stdout.strip() == "Added order p1 to workflow ask"
    events.wait_for("p1", "OrderPrompted")
    table = ctl(where, "orders", "--state", "prompting").stdout.splitlines()
    assert table[0].split() == ["ID", "WORKFLOW", "POSITION", "STATE"]
    assert [row.split()[0::2] for row in table[1:]] == [["p1", "0"]] and table[1].split()[3] == "Prompting"
    assert ctl(where, "answer", "p1").stdout.strip() == "Answered the prompt of p1"
    assert events.wait_for("p1", *TERMINATED)[-1] == "OrderFinished"
    out = "".join(e["chunk"] for e in events.seen if e.get("Key") == "p1" and e["TYPE"] == "OrderStdoutWritten")
    assert out == "hi Ada\n"

    shown = loads(ctl(where, "show", "p1").stdout)
    arguments = {"name": "Ada", "n": 3, "pi": Decimal(PI)}
    assert shown["id"] == "p1" and shown["state"]["TYPE"] == "Finished" and shown["arguments"] == arguments
    assert f'"pi": {PI}' in ctl(where, "show", "p1").stdout  # every digit, end to end (JS7's BigDecimal)

    ndjson = [json.loads(line) for line in ctl(where, "events", "--json").stdout.splitlines()]
    assert [e["eventId"] for e in ndjson] == [e["eventId"] for e in topology.events()]
    added_event = next(e for e in ndjson if e.get("Key") == "p1" and e["TYPE"] == "OrderAdded")
    assert any(f'"pi":{PI}' in line for line in ctl(where, "events", "--json").stdout.splitlines())
    later = ctl(where, "events", "--after", str(added_event["eventId"])).stdout.splitlines()
    assert len(later) == len([e for e in ndjson if e["eventId"] > added_event["eventId"]])
    assert any(line.split()[3:5] == ["p1", "OrderFinished"] for line in later)
    assert any(line.split()[3:5] == ["p1", "OrderStdoutWritten"] and line.endswith("'hi Ada'") for line in later)


def test_cancel_with_kill_and_scheduled_orders(where: list[str], deployed: None, events: Events) -> None:
    ctl(where, "add-order", "sleepy", "--id", "s1")
    events.wait_for("s1", "OrderProcessingStarted")
    assert ctl(where, "cancel", "s1", "--kill").stdout.strip() == "Cancelling s1"
    assert events.wait_for("s1", *TERMINATED)[-1] == "OrderCancelled"

    added = ctl(where, "add-order", "sleepy", "--at", "+3600")
    order_id = added.stdout.split()[2]
    assert order_id.startswith("#") and order_id.endswith("-sleepy") and ", scheduled for " in added.stdout
    fresh = ctl(where, "orders", "--state", "Fresh").stdout
    assert order_id in fresh and "scheduled for" in fresh
    ctl(where, "suspend", order_id)
    events.wait_for(order_id, "OrderSuspended")
    assert order_id in ctl(where, "orders", "--state", "suspended").stdout
    ctl(where, "resume", order_id)
    events.wait_for(order_id, "OrderResumed")
    ctl(where, "cancel", order_id)
    assert events.wait_for(order_id, *TERMINATED)[-1] == "OrderCancelled"


def _sigint_as_at_a_terminal() -> None:
    """In the full suite (not alone) the follower once ignored SIGINT: a Python started with SIGINT ignored
    (inherited, e.g. from a suite run in the background) or blocked (the signal mask is inherited too)
    never raises KeyboardInterrupt. A user at a terminal has neither."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def test_events_follow_prints_new_events_as_they_come(topology: Topology, where: list[str], deployed: None) -> None:
    after = topology.events()[-1]["eventId"]
    follower = subprocess.Popen(
        [sys.executable, "-m", "js7es.nodes.cli", "ctl", *where, "events", "--follow", "--after", str(after)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_as_at_a_terminal,
    )
    try:
        ctl(where, "add-order", "ask", "--id", "f1")
        assert follower.stdout is not None
        deadline = time.monotonic() + 20
        line = ""
        while "OrderPrompted" not in line:
            assert time.monotonic() < deadline, "no OrderPrompted followed"
            line = follower.stdout.readline()
    finally:
        follower.send_signal(signal.SIGINT)
        try:
            _, err = follower.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            follower.kill()
            _, err = follower.communicate()
            raise AssertionError(f"ctl events --follow did not end on SIGINT within 10 s; stderr: {err}") from None
    assert follower.returncode == 130 and "Traceback" not in err
    ctl(where, "cancel", "f1")


def test_overview_and_password_login(topology: Topology, where: list[str], deployed: None) -> None:
    overview = ctl(where, "overview").stdout
    assert overview.startswith("Controller js7es-test at https://127.0.0.1:") and "Agent agent: Coupled" in overview
    with_password = run(*where, "--user", ADMIN[0], "overview", "--json", env={"JS7ES_PASSWORD": ADMIN[1]})
    assert with_password.returncode == 0 and json.loads(with_password.stdout)["id"] == "js7es-test"
    wrong = run(*where, "--user", ADMIN[0], "--password", "wrong", "orders")
    assert failing(wrong, 1) == "InvalidLogin: Login: unknown user or invalid password"


def test_ctl_imports_no_heavy_module(where: list[str], deployed: None) -> None:
    """`js7es ctl orders` and `overview` against a Controller: neither SQLAlchemy nor uvicorn, nor any
    other of the heavy stack (tests/nodes/test_cli_imports.py)."""
    for action in ("orders", "overview"):
        code, modules = imported_by("ctl", *where, action)
        assert code == 0
        assert heavy(modules) == [], action
        assert "sqlalchemy" not in modules and "uvicorn" not in modules


def test_problems_are_shown_with_their_code(where: list[str], deployed: None, tmp_path: Path) -> None:
    assert failing(run(*where, "show", "nope"), 1) == "UnknownOrder: Unknown order 'nope'"
    assert failing(run(*where, "cancel", "nope"), 1) == "UnknownOrder: Unknown order 'nope'"
    assert failing(run(*where, "answer", "p1"), 1).startswith("OrderNotPrompting: ")
    ctl(where, "add-order", "ask", "--id", "dup")
    assert failing(run(*where, "add-order", "ask", "--id", "dup"), 1).startswith("DuplicateOrder: ")
    ctl(where, "cancel", "dup")
    # all or nothing: a workflow naming an unknown Agent takes its good neighbour down with it
    good = write(tmp_path, "good.workflow.json", {"instructions": [{"TYPE": "Execute.Anonymous", "job": shell(":")}]})
    bad = write(
        tmp_path,
        "bad.workflow.json",
        {"instructions": [{"TYPE": "Execute.Anonymous", "job": {**shell(":"), "agentPath": "nowhere"}}]},
    )
    assert failing(run(*where, "deploy", str(good), str(bad)), 1).startswith("UnknownItem: Workflow bad")
    assert failing(run(*where, "add-order", "good"), 1).endswith("No such workflow: good")


def test_bad_files_and_arguments_exit_2(where: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing.workflow.json"
    assert failing(run(*where, "deploy", str(missing)), 2) == f"{missing}: no such file"
    broken = tmp_path / "broken.workflow.json"
    broken.write_text("{ not json")
    assert failing(run(*where, "deploy", str(broken)), 2).startswith(f"{broken}: not valid JSON")
    unknown = write(tmp_path, "thing.json", {"a": 1})
    assert failing(run(*where, "deploy", str(unknown)), 2).startswith(f"{unknown}: unknown item kind")
    mixed = write(tmp_path, "x.agent.json", {"TYPE": "JobResource"})
    assert "the file name says AgentRef, its TYPE says JobResource" in failing(run(*where, "deploy", str(mixed)), 2)
    assert failing(run(*where, "add-order", "w", "--at", "tomorrow"), 2).startswith("--at 'tomorrow'")
    assert failing(run(*where, "add-order", "w", "--arg", "novalue"), 2).startswith("--arg 'novalue'")
    assert failing(run(*where, "resume", "x", "--position", "[1,"), 2).startswith("--position")
    assert failing(run("orders"), 2).startswith("no Controller given")
    assert run(*where).returncode == 2  # no action: the usage


def test_unreachable_and_refused_tls(topology: Topology, where: list[str], tmp_path: Path) -> None:
    port = free_port()
    unreachable = run(*where[2:], "--controller", f"https://127.0.0.1:{port}", "orders")
    assert (
        failing(unreachable, 1)
        == f"cannot talk to the Controller at https://127.0.0.1:{port}: connection refused (is it running?)"
    )
    # no client certificate: the Controller refuses the handshake
    no_cert = run(*where[:4], "orders")
    assert "it wants a client certificate: give --cert and --key" in failing(no_cert, 1)
    # a stranger's CA: we refuse the Controller's certificate
    create_ca(tmp_path / "ca")
    create_node_certificate(tmp_path / "ca", tmp_path / "me", "me", ["127.0.0.1"])
    stranger = run(
        *where[:2],
        "--ca",
        str(tmp_path / "ca" / "ca.crt"),
        "--cert",
        str(tmp_path / "me" / "node.crt"),
        "--key",
        str(tmp_path / "me" / "node.key"),
        "orders",
    )
    assert "TLS: the Controller's certificate was refused" in failing(stranger, 1)
    missing = run(*where[:2], "--ca", str(tmp_path / "nope.crt"), "orders")
    assert failing(missing, 2).startswith(f"{tmp_path / 'nope.crt'}: no such file")
    plain = run("--controller", f"http://127.0.0.1:{topology.nodes['controller'].port}", "orders")
    assert failing(plain, 1).startswith("cannot talk to the Controller at http://127.0.0.1:")


def test_helpers() -> None:
    assert parse_argument("n=3") == ("n", 3)
    assert parse_argument(f"pi={PI}") == ("pi", Decimal(PI))  # not rounded through float
    assert parse_argument('s="3"') == ("s", "3")
    assert parse_argument("name=Ada Lovelace") == ("name", "Ada Lovelace")
    assert parse_argument("e=") == ("e", "")
    assert parse_at("+10", now=lambda: 1000.0) == 1_010_000
    assert parse_at("2026-01-31T12:00:00Z") == 1_769_860_800_000
    line = format_event({"eventId": 1_769_860_800_000_001, "Key": "o", "TYPE": "OrderMoved", "to": [1]})
    assert line.split()[2:] == ["1769860800000001", "o", "OrderMoved", "to=[1]"]


def test_orders_show_js7s_state_names() -> None:
    """The state column is the order's JSON TYPE, JS7's name: Failed (not FailedState), Ready, ..."""
    for state, name in ((Failed(), "Failed"), (Ready(), "Ready"), (FailedInFork(), "FailedInFork")):
        order = Order(id="o", workflow_id=WorkflowId("W", "1"), position=(0, "then+2", 1), state=state)
        row = order_row(loads(dumps(codec.encode(order))))
        assert row[2:4] == ["0/then+2:1", name]


def test_item_files_get_their_kind_and_path_from_the_name(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    w = read_item_file(write(folder, "daily.workflow.json", {"TYPE": "Workflow", "instructions": []}))
    assert w == {"TYPE": "Workflow", "instructions": [], "path": "daily"}
    a = read_item_file(write(folder, "a1.agentref.json", {"directors": ["s"]}))
    assert a == {"TYPE": "AgentRef", "directors": ["s"], "path": "a1"}
    s = read_item_file(write(folder, "s1.subagent.json", {"agentPath": "a1", "uri": "https://h:1"}))
    assert s["TYPE"] == "SubagentItem" and s["id"] == "s1"
    b = read_item_file(write(folder, "pair.subagentbundle.json", {"subagentToPriority": {"s1": 2, "s2": 1}}))
    assert b == {"TYPE": "SubagentBundle", "subagentToPriority": {"s1": 2, "s2": 1}, "id": "pair"}
    old = read_item_file(
        write(folder, "p.subagentbundle.json", {"TYPE": "SubagentSelection", "subagentToPriority": {}})
    )
    assert old["TYPE"] == "SubagentBundle" and old["id"] == "p"
    kept = read_item_file(write(folder, "x.jobresource.json", {"path": "own", "env": {}}))
    assert kept["path"] == "own" and kept["TYPE"] == "JobResource"
    watch = read_item_file(write(folder, "inbox.fileordersource.json", {"agentPath": "a1", "directoryExpr": "'/in'"}))
    assert watch == {"TYPE": "FileWatch", "agentPath": "a1", "directoryExpr": "'/in'", "path": "inbox"}


def test_js7s_sample_calendar_file_is_a_controller_calendar_item() -> None:
    """jocDailyPlan.calendar.json has no TYPE: the suffix names JS7's Calendar item, the name its path."""
    sample = Path(__file__).parents[1] / "fixtures" / "js7-samples" / "jocDailyPlan.calendar.json"
    assert read_item_file(sample) == {
        "TYPE": "Calendar",
        "path": "jocDailyPlan",
        "orderIdPattern": "#([^#]+)#.*",
        "periodDatePattern": "yyyy-MM-dd",
    }


def test_a_joc_inventory_calendar_is_not_deployed_to_the_controller(where: list[str], tmp_path: Path) -> None:
    """JOC's inventory archives use *.calendar.json for working-day calendars too: those belong in the
    Cockpit's inventory, and ctl says so instead of sending the Controller something it would refuse."""
    joc = {"type": "WORKINGDAYSCALENDAR", "includes": {"weekdays": [{"days": [1, 2, 3, 4, 5]}]}}
    for name, calendar in (("working.calendar.json", joc), ("plain.calendar.json", {"includes": {}})):
        message = failing(run(*where, "deploy", str(write(tmp_path, name, calendar))), 2)
        assert message.startswith(f"{tmp_path / name}: a JOC inventory calendar"), message
        assert "import it into the Cockpit's inventory" in message


def test_post_and_delete_notice(where: list[str], deployed: None, events: Events, tmp_path: Path) -> None:
    """A JOC-exported notice board file deploys; post-notice lets the waiting order go on; delete-notice."""
    board = {"boardType": "GLOBAL", "postOrderToNoticeKey": "'k'", "expectOrderToNoticeKey": "'k'"}
    files = [
        write(tmp_path, "ready.noticeboard.json", board),
        write(
            tmp_path, "waiting.workflow.json", {"instructions": [{"TYPE": "ExpectNotices", "boardPaths": "'ready'"}]}
        ),
    ]
    ctl(where, "deploy", *map(str, files))
    ctl(where, "add-order", "waiting", "--id", "w1")
    events.wait_for("w1", "OrderNoticesExpected")
    posted = ctl(where, "post-notice", "ready", "k", "--end-of-life", "+3600")
    assert posted.stdout.strip() == "Posted the notice 'k' to board ready"
    assert events.wait_for("w1", *TERMINATED)[-3:] == ["OrderNoticesRead", "OrderMoved", "OrderFinished"]
    assert ctl(where, "delete-notice", "ready", "k").stdout.strip() == "Deleted the notice 'k' of board ready"
    assert events.wait_for("ready", "NoticeDeleted") == ["NoticePosted", "NoticeDeleted"]
    assert failing(run(*where, "delete-notice", "ready", "k"), 1).startswith("UnknownKey: ")


def test_suspend_and_resume_a_workflow_skip_and_unskip_a_job(
    where: list[str], deployed: None, events: Events, tmp_path: Path
) -> None:
    """ControlWorkflowPath through ctl: a suspended workflow's order does not start; the skipped job does
    not run (OrderMoved with JS7's reason); unskipped, it runs again."""
    workflow = {
        "instructions": [
            {"TYPE": "Execute.Anonymous", "label": "SKIPPED", "job": shell("echo skipped\n")},
            {"TYPE": "Execute.Anonymous", "job": shell("echo ran\n")},
        ]
    }
    ctl(where, "deploy", str(write(tmp_path, "controlled.workflow.json", workflow)))
    assert ctl(where, "suspend-workflow", "controlled").stdout.strip() == "Suspended the workflow controlled"
    assert ctl(where, "skip-job", "controlled", "SKIPPED").stdout.strip() == "Skipping SKIPPED in controlled"
    ctl(where, "add-order", "controlled", "--id", "c1")
    events.wait_for("c1", "OrderAdded")
    time.sleep(0.5)
    assert loads(ctl(where, "show", "c1").stdout)["state"]["TYPE"] == "Fresh"  # held while suspended
    assert ctl(where, "resume-workflow", "controlled").stdout.strip() == "Resumed the workflow controlled"
    assert events.wait_for("c1", *TERMINATED)[-1] == "OrderFinished"
    c1 = [e for e in events.seen if e.get("Key") == "c1"]
    assert [(e["to"], e.get("reason")) for e in c1 if e["TYPE"] == "OrderMoved"] == [
        ([1], "SkippedDueToWorkflowPathControl"),
        ([2], None),
    ]
    assert "".join(e["chunk"] for e in c1 if e["TYPE"] == "OrderStdoutWritten") == "ran\n"

    assert (
        ctl(where, "unskip-job", "controlled", "SKIPPED").stdout.strip() == "No longer skipping SKIPPED in controlled"
    )
    ctl(where, "add-order", "controlled", "--id", "c2")
    assert events.wait_for("c2", *TERMINATED)[-1] == "OrderFinished"
    c2 = [e for e in events.seen if e.get("Key") == "c2"]
    assert "".join(e["chunk"] for e in c2 if e["TYPE"] == "OrderStdoutWritten") == "skipped\nran\n"
    assert failing(run(*where, "suspend-workflow", "no-such-workflow"), 1).startswith("UnknownItem: ")
    assert ctl(where, "disable-subagent", "agent-director").stdout.strip() == "Disabled the Subagents agent-director"
    assert ctl(where, "enable-subagent", "agent-director").stdout.strip() == "Enabled the Subagents agent-director"
    assert failing(run(*where, "enable-subagent", "ghost"), 1).startswith("UnknownItem: ")
    assert failing(run(*where, "reset-subagent", "agent-director"), 1).startswith("SubagentIsDirector: ")


def test_go_lets_a_sleeping_order_go_on(where: list[str], deployed: None, events: Events, tmp_path: Path) -> None:
    napping = {"instructions": [{"TYPE": "Sleep", "duration": "3600"}]}
    ctl(where, "deploy", str(write(tmp_path, "napping.workflow.json", napping)))
    ctl(where, "add-order", "napping", "--id", "nap")
    events.wait_for("nap", "OrderSleeping")
    assert ctl(where, "go", "nap").stdout.strip() == "nap goes on"
    assert events.wait_for("nap", *TERMINATED)[-3:] == ["OrderGoes", "OrderMoved", "OrderFinished"]
    assert failing(run(*where, "go", "nap"), 1).startswith("GoOrderInapplicable: ")


def test_transfer_moves_orders_to_the_current_version(
    where: list[str], deployed: None, events: Events, tmp_path: Path
) -> None:
    first = {"instructions": [{"TYPE": "Prompt", "question": "'Go on?'"}]}
    ctl(where, "deploy", str(write(tmp_path, "moving.workflow.json", first)))
    ctl(where, "add-order", "moving", "--id", "mover")
    events.wait_for("mover", "OrderPrompted")
    old = loads(ctl(where, "show", "mover").stdout)["workflowId"]
    second = {
        "instructions": [
            {"TYPE": "Prompt", "question": "'Go on?'"},
            {"TYPE": "Execute.Anonymous", "job": shell("echo new\n")},
        ]
    }
    ctl(where, "deploy", str(write(tmp_path, "moving.workflow.json", second)))
    version = f"moving~{old['versionId']}"
    assert ctl(where, "transfer", version).stdout.strip() == (
        f"Transferred the orders of {version} to the current version of moving"
    )
    events.wait_for("mover", "OrderTransferred")
    assert loads(ctl(where, "show", "mover").stdout)["workflowId"]["versionId"] != old["versionId"]
    ctl(where, "answer", "mover")
    assert events.wait_for("mover", *TERMINATED)[-1] == "OrderFinished"
    out = "".join(e["chunk"] for e in events.seen if e.get("Key") == "mover" and e["TYPE"] == "OrderStdoutWritten")
    assert out == "new\n"
    assert failing(run(*where, "transfer", version), 1).startswith("UnknownItem: ")  # the old version is gone
    assert failing(run(*where, "transfer", "moving"), 2).startswith("'moving': expected")
