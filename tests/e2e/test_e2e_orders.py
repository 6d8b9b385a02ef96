"""Orders through real Controller and Agent processes over mutual TLS: the exact events of each order."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.domain.test_order_flow import ONE_JOB_ON_AGENT
from tests.e2e.topology import Topology

OUTPUT = {"OrderStdoutWritten", "OrderStderrWritten"}


def shell(script: str, **job: Any) -> dict[str, Any]:
    return {"agentPath": "agent", "executable": {"TYPE": "ShellScriptExecutable", "script": script}, **job}


def workflow(path: str, *instructions: dict[str, Any], **jobs: dict[str, Any]) -> dict[str, Any]:
    return {"path": path, "instructions": list(instructions), "jobs": jobs}


def execute(job: str = "J", **more: Any) -> dict[str, Any]:
    return {"TYPE": "Execute.Named", "jobName": job, **more}


def without_output(names: list[str]) -> list[str]:
    return [n for n in names if n not in OUTPUT]


def test_one_shell_job_with_output_and_arguments(topology: Topology) -> None:
    script = 'echo "hello $JS7_ARG_name"\necho "to stderr" >&2\necho "result=42" >>"$JS7_RETURN_VALUES"\n'
    w = workflow("hello", execute(), J=shell(script))
    assert topology.deploy(w, version="1").status_code == 200
    response = topology.add_order("o1", "hello", arguments={"name": "Ada"})
    assert response.status_code == 201, response.text
    events = topology.wait_for(lambda es: topology.terminated(es, "o1"))
    names = topology.order_events(events, "o1")
    assert without_output(names) == ["OrderAdded", *ONE_JOB_ON_AGENT]
    out = "".join(e["chunk"] for e in events if e.get("Key") == "o1" and e["TYPE"] == "OrderStdoutWritten")
    err = "".join(e["chunk"] for e in events if e.get("Key") == "o1" and e["TYPE"] == "OrderStderrWritten")
    assert out == "hello Ada\n" and err == "to stderr\n"
    processed = next(e for e in events if e.get("Key") == "o1" and e["TYPE"] == "OrderProcessed")
    assert processed["outcome"]["TYPE"] == "Succeeded"
    assert processed["outcome"]["namedValues"]["returnCode"] == 0
    assert processed["outcome"]["namedValues"]["result"] == "42"
    started = next(e for e in events if e.get("Key") == "o1" and e["TYPE"] == "OrderProcessingStarted")
    assert started["subagentId"] == "agent-director"


def test_instructions_on_real_nodes(topology: Topology) -> None:
    fail_once = shell('if [ -f "$MARK" ]; then exit 0; fi; touch "$MARK"; exit 3\n')
    flaky = {**fail_once, "executable": {**fail_once["executable"], "env": {"MARK": "$mark"}}}
    w = workflow(
        "many",
        {"TYPE": "If", "ifThens": [{"predicate": "$n > 1", "then": {"instructions": [execute("ok")]}}]},
        {
            "TYPE": "Try",
            "try": {"instructions": [execute("flaky")]},
            "catch": {"instructions": [{"TYPE": "Retry"}]},
            "retryDelays": [0.2],
            "maxTries": 3,
        },
        {
            "TYPE": "Fork",
            "branches": [
                {"id": "a", "workflow": {"instructions": [execute("ok")]}},
                {"id": "b", "workflow": {"instructions": [{"TYPE": "Sleep", "duration": "0.3"}, execute("ok")]}},
            ],
        },
        {"TYPE": "Prompt", "question": "'Go on?'"},
        {"TYPE": "Finish"},
        ok=shell("exit 0"),
        flaky=flaky,
    )
    assert topology.deploy(w, version="1").status_code == 200
    mark = topology.root / "flaky-mark"
    assert topology.add_order("o", "many", arguments={"n": 2, "mark": str(mark)}).status_code == 201
    events = topology.wait_for(lambda es: "OrderPrompted" in topology.order_events(es, "o"))
    assert topology.command({"TYPE": "AnswerOrderPrompt", "orderId": "o"}).status_code == 200
    events = topology.wait_for(lambda es: topology.terminated(es, "o"))
    assert without_output(topology.order_events(events, "o")) == [
        "OrderAdded",
        "OrderStarted",
        "OrderMoved",  # into then
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",  # to the Try
        "OrderMoved",  # into its try block
        "OrderProcessingStarted",
        "OrderProcessed",  # exit 3
        "OrderCaught",
        "OrderRetrying",
        "OrderAwoke",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderForked",
        "OrderJoined",
        "OrderMoved",
        "OrderPrompted",
        "OrderPromptAnswered",
        "OrderMoved",
        "OrderFinished",
    ]
    assert without_output(topology.order_events(events, "o|b")) == [
        "OrderSleeping",
        "OrderMoved",
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
    ]


def test_job_timeout_kills_the_process_group(topology: Topology) -> None:
    pid_file = topology.root / "timeout.pid"
    script = f'echo $$ > "{pid_file}"\nsleep 60 &\nwait\n'
    w = workflow("slow", execute(), J=shell(script, timeout=0.5, sigkillDelay=0.5))
    topology.deploy(w, version="1")
    topology.add_order("t", "slow")
    events = topology.wait_for(lambda es: topology.terminated(es, "t"))
    processed = next(e for e in events if e.get("Key") == "t" and e["TYPE"] == "OrderProcessed")
    assert processed["outcome"]["TYPE"] == "TimedOut"
    assert without_output(topology.order_events(events, "t"))[-3:] == [
        "OrderDetachable",
        "OrderDetached",
        "OrderFailed",
    ]
    assert not _process_group_alive(int(pid_file.read_text()))


def test_cancel_with_kill_of_a_running_process_tree(topology: Topology) -> None:
    pid_file = topology.root / "cancel.pid"
    script = f'echo $$ > "{pid_file}"\nsleep 60 &\nsleep 61\n'
    topology.deploy(workflow("long", execute(), J=shell(script, sigkillDelay=1)), version="1")
    topology.add_order("c", "long")
    topology.wait_for(lambda es: "OrderProcessingStarted" in topology.order_events(es, "c"))
    _wait_for_file(pid_file)
    response = topology.command(
        {"TYPE": "CancelOrders", "orderIds": ["c"], "mode": {"TYPE": "FreshOrStarted", "kill": {}}}
    )
    assert response.status_code == 200, response.text
    events = topology.wait_for(lambda es: topology.terminated(es, "c"))
    assert without_output(topology.order_events(events, "c"))[-7:] == [
        "OrderCancellationMarked",
        "OrderCancellationMarkedOnAgent",
        "OrderProcessed",
        "OrderProcessingKilled",
        "OrderDetachable",
        "OrderDetached",
        "OrderCancelled",
    ]
    processed = next(e for e in events if e.get("Key") == "c" and e["TYPE"] == "OrderProcessed")
    assert processed["outcome"]["TYPE"] == "Killed"
    assert not _process_group_alive(int(pid_file.read_text()))


def test_scheduled_order_starts_at_its_time(topology: Topology) -> None:
    topology.deploy(workflow("w", execute(), J=shell("exit 0")), version="1")
    at = int(time.time() * 1000) + 1500
    assert topology.add_order("s", "w", scheduledFor=at).status_code == 201
    events = topology.wait_for(lambda es: topology.terminated(es, "s"))
    started = next(e for e in events if e.get("Key") == "s" and e["TYPE"] == "OrderStarted")
    assert started["eventId"] // 1000 >= at
    assert started["eventId"] // 1000 - at < 3000  # on time, with room for a loaded machine (latency: bench/)


def test_js7_order_commands_on_real_nodes(topology: Topology) -> None:
    """AddOrder as a command (JS7's AddOrder.Response), CancelOrders with kill.immediately (SIGKILL at
    once to a job that ignores SIGTERM, whose sigkillDelay is long), SuspendOrders with kill and
    ResumeOrder restarting the killed job (restartKilledJob, by default as in JS7)."""
    pid_file = topology.root / "stubborn.pid"
    stubborn = shell(f"trap '' TERM\necho $$ > \"{pid_file}\"\nsleep 60 &\nwait\nsleep 60\n", sigkillDelay=60)
    runs = topology.root / "runs"
    twice = shell(f'echo run >> "{runs}"\nif [ "$(wc -l < "{runs}")" -eq 1 ]; then sleep 60; fi\n')
    deployed = topology.deploy(
        workflow("stubborn", execute(), J=stubborn), workflow("twice", execute(), J=twice), version="1"
    )
    assert deployed.status_code == 200, deployed.text

    order = {"id": "k", "workflowPath": "stubborn"}
    added = topology.command({"TYPE": "AddOrder", "order": order})
    assert added.status_code == 200 and added.json() == {"TYPE": "AddOrder.Response", "ignoredBecauseDuplicate": False}
    again = topology.command({"TYPE": "AddOrder", "order": order})
    assert again.json() == {"TYPE": "AddOrder.Response", "ignoredBecauseDuplicate": True}
    topology.wait_for(lambda es: "OrderProcessingStarted" in topology.order_events(es, "k"))
    _wait_for_file(pid_file)
    kill = {"TYPE": "FreshOrStarted", "kill": {"immediately": True}}
    started = time.monotonic()
    assert topology.command({"TYPE": "CancelOrders", "orderIds": ["k"], "mode": kill}).status_code == 200
    events = topology.wait_for(lambda es: topology.terminated(es, "k"))
    assert time.monotonic() - started < 20  # SIGTERM is ignored and sigkillDelay is 60 s: SIGKILL came at once
    marked = next(e for e in events if e.get("Key") == "k" and e["TYPE"] == "OrderCancellationMarked")
    assert marked["kill"] is True and marked["killImmediately"] is True
    processed = next(e for e in events if e.get("Key") == "k" and e["TYPE"] == "OrderProcessed")
    assert processed["outcome"]["TYPE"] == "Killed"
    assert without_output(topology.order_events(events, "k"))[-1] == "OrderCancelled"
    assert not _process_group_alive(int(pid_file.read_text()))

    many = topology.command({"TYPE": "AddOrders", "orders": [{"id": "t", "workflowPath": "twice"}]})
    assert many.status_code == 200 and many.json()["TYPE"] == "AddOrders.Response"
    assert isinstance(many.json()["eventId"], int)
    topology.wait_for(lambda es: "OrderProcessingStarted" in topology.order_events(es, "t"))
    suspend = {"TYPE": "SuspendOrders", "orderIds": ["t"], "mode": {"kill": {"immediately": True}}}
    assert topology.command(suspend).status_code == 200
    topology.wait_for(lambda es: "OrderSuspended" in topology.order_events(es, "t"))
    assert topology.command({"TYPE": "ResumeOrder", "orderId": "t"}).status_code == 200
    events = topology.wait_for(lambda es: topology.terminated(es, "t"))
    resumed = next(e for e in events if e.get("Key") == "t" and e["TYPE"] == "OrderResumed")
    assert resumed["restartKilledJob"] is True
    assert without_output(topology.order_events(events, "t"))[-1] == "OrderFinished"
    assert runs.read_text().splitlines() == ["run", "run"]
    with topology.controller() as c:
        shown = c.get("/controller/api/order/t").json()
    assert [h["outcome"]["TYPE"] for h in shown["historicOutcomes"]] == ["Succeeded"]  # Killed is forgotten


def _process_group_alive(pgid: int) -> bool:
    import os

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.05)
    return True


def _wait_for_file(path: Path) -> None:
    deadline = time.monotonic() + 10
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < deadline, f"{path} not written"
        time.sleep(0.02)


def test_process_limit_per_job_and_an_in_process_job(topology: Topology) -> None:
    spans = topology.root / "spans"
    script = f'echo "start $(date +%s%N)" >> "{spans}"\nsleep 0.2\necho "end $(date +%s%N)" >> "{spans}"\n'
    internal = {
        "agentPath": "agent",
        "executable": {
            "TYPE": "InternalExecutable",
            "className": "js7es.nodes.subagent.builtin_jobs:echo",
            "arguments": {"text": "'from Python ' ++ $js7OrderId"},
        },
    }
    w = workflow("limited", execute(), execute("I"), J=shell(script, processLimit=1), I=internal)
    topology.deploy(w, version="1")
    ids = [f"p{i}" for i in range(3)]
    with topology.controller() as c:
        assert (
            c.post("/controller/api/order", json=[{"id": i, "workflowPath": "limited"} for i in ids]).status_code == 200
        )
    events = topology.wait_for(lambda es: topology.terminated(es, *ids))
    marks = [line.split() for line in spans.read_text().splitlines()]
    assert [kind for kind, _ in marks] == ["start", "end"] * 3  # never two at once
    for order_id in ids:
        processed = [e for e in events if e.get("Key") == order_id and e["TYPE"] == "OrderProcessed"]
        assert [p["outcome"]["TYPE"] for p in processed] == ["Succeeded", "Succeeded"]
        assert topology.order_events(events, order_id)[-1] == "OrderFinished"


def test_js7_sample_nested_forks_run_unchanged_on_two_agents(tmp_path: Path) -> None:
    samples = Path(__file__).resolve().parent.parent / "fixtures" / "js7-samples"
    topo = Topology(tmp_path, agents=("agent-1", "agent-2"))
    topo.start_all()
    try:
        items = [json.loads((samples / n).read_text()) for n in ("agent-1.agent.json", "agent-2.agent.json")]
        for subagent_file in sorted(samples.glob("subagent-*.subagent.json")):
            subagent = json.loads(subagent_file.read_text())
            node = {"subagent-1a": "agent-1", "subagent-2a": "agent-2"}.get(subagent["id"])
            port = topo.nodes[node].port if node else 9  # only the first Director of each Agent is used
            items.append({**subagent, "uri": f"https://127.0.0.1:{port}"})  # mapping only the URIs
        w = {**json.loads((samples / "testCase3.workflow.json").read_text()), "path": "testCase3"}
        operations = [{"TYPE": "AddVersion", "versionId": "1"}]
        operations += [{"TYPE": "AddOrChangeSimple", "item": i} for i in items]
        operations += [{"TYPE": "AddOrChangeSigned", "signedString": {"string": json.dumps(w)}}]
        with topo.controller() as c:
            assert c.post("/controller/api/item", json=operations).status_code == 200
        assert topo.add_order("nested", "testCase3").status_code == 201
        events = topo.wait_for(lambda es: topo.terminated(es, "nested"), timeout=60)
        assert topo.order_events(events, "nested")[-1] == "OrderFinished"
        processed = [e for e in events if e["TYPE"] == "OrderProcessed"]
        assert len(processed) == 16 and all(p["outcome"]["TYPE"] == "Succeeded" for p in processed)
        by_agent = {e["agentPath"] for e in events if e["TYPE"] == "OrderAttached"}
        assert by_agent == {"agent-1", "agent-2"}
    finally:
        topo.stop_all()


def test_js7_sample_calendar_deploys_unchanged_and_a_cycle_names_it(topology: Topology, tmp_path: Path) -> None:
    """JS7's jocDailyPlan.calendar.json (no TYPE, no dateOffset) deployed by `js7es ctl deploy` as the
    Controller's Calendar item, with a workflow whose Cycle names it: today's daily plan order cycles
    twice (Continuous, limit 2, admitted all day in its zone) and finishes."""
    sample = Path(__file__).resolve().parent.parent / "fixtures" / "js7-samples" / "jocDailyPlan.calendar.json"
    all_day = {"periods": [{"TYPE": "DailyPeriod", "secondOfDay": 0, "duration": 24 * 3600}]}
    cycle = {
        "TYPE": "Cycle",
        "schedule": {"schemes": [{"admissionTimeScheme": all_day, "repeat": {"TYPE": "Continuous", "limit": 2}}]},
        "cycleWorkflow": {"instructions": [execute()]},
    }
    cycling = tmp_path / "cycling.workflow.json"
    cycling.write_text(
        json.dumps(
            {
                "timeZone": "Europe/Berlin",
                "calendarPath": "jocDailyPlan",
                "instructions": [cycle],
                "jobs": {"J": shell("true")},
            }
        )
    )
    assert topology.deploy(version="agents").status_code == 200
    certs = topology.root / "certs"
    where = [
        "--controller",
        f"https://127.0.0.1:{topology.nodes['controller'].port}",
        "--ca",
        str(certs / "ca" / "ca.crt"),
    ]
    where += ["--cert", str(certs / "client" / "node.crt"), "--key", str(certs / "client" / "node.key")]
    deployed = subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", "ctl", *where, "deploy", str(sample), str(cycling)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert deployed.returncode == 0, deployed.stderr
    assert deployed.stdout.startswith("Deployed 2 item(s): Calendar:jocDailyPlan, Workflow:cycling (version ")
    order_id = f"#{datetime.now(ZoneInfo('Europe/Berlin')):%Y-%m-%d}#P0000000001-sample"
    assert topology.add_order(order_id, "cycling").status_code == 201
    events = topology.wait_for(lambda es: topology.terminated(es, order_id))
    names = without_output(topology.order_events(events, order_id))
    assert names[:3] == ["OrderAdded", "OrderStarted", "OrderCyclingPrepared"]
    assert names.count("OrderCycleStarted") == names.count("OrderProcessingStarted") == 2
    assert names[-3:] == ["OrderCycleFinished", "OrderMoved", "OrderFinished"]


def test_fork_with_agent_path_forks_on_that_agent(tmp_path: Path) -> None:
    """JS7's Fork.agentPath: the order is attached to that Agent and forked there; a child whose job is
    on that Agent starts without a round trip through the Controller, the other goes via the Controller
    to its Agent; the Controller joins."""
    topo = Topology(tmp_path, agents=("agent-1", "agent-2"))
    topo.start_all()
    try:
        on_2 = {**shell("echo b"), "agentPath": "agent-2"}
        fork = {
            "TYPE": "Fork",
            "agentPath": "agent-1",
            "branches": [
                {"id": "a", "workflow": {"instructions": [execute("A")]}},
                {"id": "b", "workflow": {"instructions": [execute("B")]}},
            ],
        }
        w = workflow("forking", fork, execute("A"), A={**shell("echo a"), "agentPath": "agent-1"}, B=on_2)
        assert topo.deploy(w, version="1").status_code == 200
        assert topo.add_order("f", "forking").status_code == 201
        events = topo.wait_for(lambda es: topo.terminated(es, "f"))
        assert without_output(topo.order_events(events, "f")) == [
            "OrderAdded",
            "OrderStarted",
            "OrderAttachable",
            "OrderAttached",
            "OrderForked",  # on agent-1
            "OrderDetachable",
            "OrderDetached",
            "OrderJoined",  # on the Controller
            "OrderMoved",
            "OrderAttachable",
            "OrderAttached",
            "OrderProcessingStarted",
            "OrderProcessed",
            "OrderMoved",
            "OrderDetachable",
            "OrderDetached",
            "OrderFinished",
        ]
        attached = next(e for e in events if e.get("Key") == "f" and e["TYPE"] == "OrderAttached")
        assert attached["agentPath"] == "agent-1"
        assert without_output(topo.order_events(events, "f|a")) == [
            "OrderProcessingStarted",  # at once: the child is on agent-1 already
            "OrderProcessed",
            "OrderMoved",
            "OrderDetachable",
            "OrderDetached",
        ]
        assert without_output(topo.order_events(events, "f|b")) == [
            "OrderDetachable",
            "OrderDetached",
            "OrderAttachable",
            "OrderAttached",
            "OrderProcessingStarted",
            "OrderProcessed",
            "OrderMoved",
            "OrderDetachable",
            "OrderDetached",
        ]
        started = {e["Key"]: e["subagentId"] for e in events if e["TYPE"] == "OrderProcessingStarted"}
        assert started == {"f|a": "agent-1-director", "f|b": "agent-2-director", "f": "agent-1-director"}
    finally:
        topo.stop_all()


def test_fail_instruction_caught_and_uncaught(topology: Topology) -> None:
    caught = {
        "TYPE": "Try",
        "try": {"instructions": [{"TYPE": "Fail", "message": "'no luck'"}]},
        "catch": {"instructions": [execute()]},
    }
    topology.deploy(
        workflow("caught", caught, J=shell("exit 0")),
        workflow("uncaught", {"TYPE": "Fail", "message": "'stop here'"}),
        version="1",
    )
    topology.add_order("c", "caught")
    topology.add_order("u", "uncaught")
    events = topology.wait_for(lambda es: topology.terminated(es, "c", "u"))
    assert without_output(topology.order_events(events, "c"))[:5] == [
        "OrderAdded",
        "OrderStarted",
        "OrderMoved",
        "OrderOutcomeAdded",
        "OrderCaught",
    ]
    assert topology.order_events(events, "c")[-1] == "OrderFinished"
    assert topology.order_events(events, "u") == ["OrderAdded", "OrderStarted", "OrderOutcomeAdded", "OrderFailed"]
    added = next(e for e in events if e.get("Key") == "u" and e["TYPE"] == "OrderOutcomeAdded")
    assert added["outcome"] == {"TYPE": "Failed", "errorMessage": "stop here", "namedValues": {}}


def test_a_scheduled_order_keeps_its_time_across_restarts(topology: Topology) -> None:
    ran = topology.root / "ran-at"
    topology.deploy(workflow("w", execute(), J=shell(f"date +%s%3N >> {ran}")), version="1")
    at = int(time.time() * 1000) + 4000
    assert topology.add_order("later", "w", scheduledFor=at).status_code == 201
    topology.wait_for(lambda es: "OrderAttached" in topology.order_events(es, "later"))
    topology.restart("controller")
    topology.restart("agent")
    back = int(time.time() * 1000)  # both nodes answer again (later than `at` only on a crowded machine)
    events = topology.wait_for(lambda es: topology.terminated(es, "later"))
    # When the job ran, by the Agent's side (the Controller's EventIds also hold its reconnection to the
    # Agent, 3 s once under load): at its time, or at once when the Agent was back after it.
    (ran_at,) = [int(line) for line in ran.read_text().split()]
    assert at <= ran_at < max(at, back) + 2000  # a shift to restart + 4 s would show
    assert topology.order_events(events, "later").count("OrderProcessingStarted") == 1


def test_plain_http_only_with_the_explicit_insecure_flag(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "agent.toml"
    config.write_text(f'[agent]\ndata-dir = "{tmp_path / "data"}"\n[http]\nport = 0\n')
    refused = subprocess.run(
        [sys.executable, "-m", "js7es.nodes.cli", "agent", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "plain HTTP needs the explicit --insecure flag" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_the_controller_commands_its_agent_over_the_command_stream(tmp_path: Path) -> None:
    """Under mutual TLS, the Agent knowing the Controller by its client certificate (on the upgraded
    connection too): no command is POSTed, they all go over the WebSocket (agent_client.py)."""
    metrics = {"password": "plain:metrics-secret", "permissions": ["ReadMetrics"]}
    topo = Topology(tmp_path, extra_users={"agent": {"metrics": metrics}})
    topo.start_all()
    try:
        assert topo.deploy(workflow("w", execute(), J=shell("true\n")), version="1").status_code == 200
        ids = [f"s-{i}" for i in range(10)]
        for order_id in ids:
            assert topo.add_order(order_id, "w").status_code == 201
        events = topo.wait_for(lambda es: topo.terminated(es, *ids))
        assert all(topo.order_events(events, i)[-1] == "OrderFinished" for i in ids)
        with topo.client("agent") as agent:
            response = agent.get("/metrics", auth=("metrics", "metrics-secret"))
        assert response.status_code == 200, response.text
        posted = [
            line for line in response.text.splitlines()
            if line.startswith("js7es_http_requests_total{") and 'route="/agent/api/command"' in line
        ]  # fmt: skip
        assert posted == [], posted
        assert 'route="/agent/api/event"' in response.text  # the counting works: the event stream is counted
    finally:
        topo.stop_all()
