"""Remote Subagents on real processes (issue 16; JS7's SubagentTest, SubagentRestartTest,
SubagentMoveTest…): a Controller, an Agent Director and `js7es subagent` processes on loopback, mutual TLS.

Each job writes a line per run into a file of its own — its order, its working directory (which names the
Subagent that ran it) and its pid —, so the counts are proven twice: by OrderProcessingStarted.subagentId
in the events and by the jobs' own side effects.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_e2e_orders import execute, shell, workflow
from tests.e2e.topology import Topology

LOCAL = "agent-director"
METRICS_USER = {"password": "plain:metrics-secret", "permissions": ["ReadMetrics"]}
QUIET_S = 1.0  # long enough for a job on an idle node to have started many times over


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Topology]:
    """A Controller, an Agent and two Subagent processes (sub-1, sub-2) attached to it, started."""
    other = {"other": {"distinguished-names": ["CN=other"], "permissions": ["AgentDirector"]}}
    users = {"sub-1": {**other, "metrics": METRICS_USER}, "sub-2": {"metrics": METRICS_USER}}
    topo = Topology(tmp_path, subagents=("sub-1", "sub-2"), extra_users=users, extra_certificates=("other",))
    for name in topo.nodes:
        topo.start(name, wait=False)
    try:
        for name in topo.nodes:  # four Python processes starting at once on a shared machine: patience
            topo.wait_ready(name, timeout=120)
        yield topo
    finally:
        topo.stop_all()


def runs_file(topology: Topology) -> Path:
    return topology.root / "runs.txt"


def done_file(topology: Topology) -> Path:
    return topology.root / "done.txt"


def recording_job(topology: Topology, sleep: float = 0.0, gate: Path | None = None, **job: Any) -> dict[str, Any]:
    """A job that appends "<order id> <working directory> <pid>" to runs.txt, sleeps `sleep` seconds (or
    $SLEEP, the order's argument) or waits until the file `gate` exists, says "done" and appends its order
    id to done.txt."""
    wait = f'while [ ! -e "{gate}" ]; do sleep 0.05; done\n' if gate else f"sleep ${{JS7_ARG_SLEEP:-{sleep}}}\n"
    script = (
        f'echo "$JS7_ORDER_ID $(pwd) $$" >> {runs_file(topology)}\n'
        f"{wait}"
        f"echo done\necho $JS7_ORDER_ID >> {done_file(topology)}\n"
    )
    return shell(script, **job)


def completed(topology: Topology) -> Counter[str]:
    """How often each order's job ran to its end, by the jobs' own records."""
    path = done_file(topology)
    return Counter(path.read_text().split() if path.exists() else [])


def runs(topology: Topology) -> list[tuple[str, str, int]]:
    """(order id, Subagent, pid) of every job run so far, by the jobs' own records."""
    by_work_dir = {str((node.data_dir / "work").resolve()): name for name, node in topology.nodes.items()}
    result = []
    path = runs_file(topology)
    for line in path.read_text().splitlines() if path.exists() else []:
        order_id, work_dir, pid = line.split()
        result.append((order_id, by_work_dir[str(Path(work_dir).resolve())], int(pid)))
    return result


def started_on(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["Key"], e["subagentId"]) for e in events if e["TYPE"] == "OrderProcessingStarted"]


def outcomes(events: list[dict[str, Any]], order_id: str) -> list[str]:
    return [e["outcome"]["TYPE"] for e in events if e.get("Key") == order_id and e["TYPE"] == "OrderProcessed"]


def coupled(topology: Topology, agent: str = "agent") -> dict[str, bool]:
    """The Director's view of its remote Subagents (its public overview)."""
    with topology.client(agent) as client:
        overview = client.get(topology.nodes[agent].prefix).json()
    return {i: s["coupled"] for i, s in overview.get("subagents", {}).items()}


def wait_until(predicate: Any, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.05)


def deploy(topology: Topology, *workflows: dict[str, Any], version: str = "1") -> None:
    response = topology.deploy(*workflows, version=version)
    assert response.status_code == 200, response.text
    wait_until(lambda: all(coupled(topology).get(s) for s in topology.subagents), what="coupled Subagents")


def add_orders(topology: Topology, workflow_path: str, order_ids: list[str]) -> None:
    for order_id in order_ids:
        assert topology.add_order(order_id, workflow_path).status_code == 201


def test_round_robin_over_the_local_and_two_remote_subagents(cluster: Topology) -> None:
    deploy(cluster, workflow("w", execute(), J=recording_job(cluster, processLimit=30)))
    order_ids = [f"rr-{i:02}" for i in range(30)]
    add_orders(cluster, "w", order_ids)
    events = cluster.wait_for(lambda es: cluster.terminated(es, *order_ids), timeout=60)

    by_events = Counter(subagent for _, subagent in started_on(events))
    assert by_events == {LOCAL: 10, "sub-1": 10, "sub-2": 10}
    by_jobs = runs(cluster)
    assert Counter(subagent for _, subagent, _ in by_jobs) == {"agent": 10, "sub-1": 10, "sub-2": 10}
    assert sorted(order_id for order_id, _, _ in by_jobs) == order_ids  # each ran exactly once
    assert dict(started_on(events)) == {
        order_id: {"agent": LOCAL}.get(subagent, subagent) for order_id, subagent, _ in by_jobs
    }
    for order_id in order_ids:
        names = cluster.order_events(events, order_id)
        assert names == [
            "OrderAdded",
            "OrderAttachable",
            "OrderAttached",
            "OrderStarted",
            "OrderProcessingStarted",
            "OrderStdoutWritten",
            "OrderProcessed",
            "OrderMoved",
            "OrderDetachable",
            "OrderDetached",
            "OrderFinished",
        ], (order_id, names)
        assert outcomes(events, order_id) == ["Succeeded"]
    # Under mutual TLS, each Subagent knowing the Director by its certificate on the upgraded connection
    # too: every command came over the command stream, none POSTed (a POST has no guard against a stale
    # StartOrderProcess: tests/nodes/test_subagents.py).
    for name in ("sub-1", "sub-2"):
        with cluster.client(name) as subagent:
            response = subagent.get("/metrics", auth=("metrics", "metrics-secret"))
        assert response.status_code == 200, response.text
        requests = [line for line in response.text.splitlines() if line.startswith("js7es_http_requests_total{")]
        assert not [line for line in requests if 'route="/subagent/api/command"' in line], requests
        assert any('route="/subagent/api/event"' in line for line in requests)  # the counting works


def test_a_dedicated_subagent_refuses_another_director(cluster: Topology) -> None:
    deploy(cluster)
    dedicate = {
        "TYPE": "DedicateSubagent",
        "subagentId": "sub-1",
        "agentPath": "other-agent",
        "agentRunId": "other-run",
        "controllerId": "other-controller",
    }
    with cluster.client("sub-1", certificate="other") as other:
        response = other.post("/subagent/api/command", json=dedicate)
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "SubagentAlreadyDedicated"
        unknown = other.post("/subagent/api/command", json={"TYPE": "CoupleDirector", "subagentId": "sub-1"})
        assert unknown.status_code == 400 and unknown.json()["code"] == "MissingField"
    with cluster.client("sub-1") as stranger:  # a certificate of our CA, but not a Director of this Subagent
        assert stranger.post("/subagent/api/command", json=dedicate).status_code in (401, 403)
    assert coupled(cluster) == {"sub-1": True, "sub-2": True}  # the Director goes on


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z")


def is_started(order_id: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: any(k == order_id for k, _ in started_on(events))


def add_one_by_one(topology: Topology, workflow_path: str, order_ids: list[str]) -> None:
    """Each order started before the next is added: the round robin's order is the orders' order."""
    for order_id in order_ids:
        assert topology.add_order(order_id, workflow_path).status_code == 201
        topology.wait_for(is_started(order_id))


def test_kill_9_of_a_subagent_mid_job_reruns_the_step_or_fails_a_not_restartable_one(
    cluster: Topology, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"  # the jobs run until sub-1 was killed (not for a time a loaded machine may exceed)
    deploy(
        cluster,
        workflow("w", execute(), J=recording_job(cluster, gate=gate, processLimit=10)),
        workflow("nr", execute(), J=recording_job(cluster, gate=gate, processLimit=10, isNotRestartable=True)),
    )
    restartable, not_restartable = ["w-0", "w-1", "w-2"], ["nr-0", "nr-1", "nr-2"]
    add_one_by_one(cluster, "w", restartable)
    add_one_by_one(cluster, "nr", not_restartable)
    events = cluster.events()
    on = dict(started_on(events))
    assert on == {"w-0": LOCAL, "w-1": "sub-1", "w-2": "sub-2", "nr-0": LOCAL, "nr-1": "sub-1", "nr-2": "sub-2"}
    wait_until(lambda: len(runs(cluster)) == 6, what="6 jobs running")
    pids_on_sub_1 = [pid for _, subagent, pid in runs(cluster) if subagent == "sub-1"]
    assert len(pids_on_sub_1) == 2 and all(alive(pid) for pid in pids_on_sub_1)

    cluster.kill("sub-1")  # kill -9
    gate.write_text("")
    wait_until(lambda: not any(alive(pid) for pid in pids_on_sub_1), what="the guard killing sub-1's jobs")
    others = ["w-0", "w-2", "nr-0", "nr-2"]
    events = cluster.wait_for(lambda es: cluster.terminated(es, *others), timeout=30)
    time.sleep(QUIET_S)
    events = cluster.events()
    for order_id in ("w-1", "nr-1"):  # unreachable: they stay Processing (the process might still run)
        assert outcomes(events, order_id) == [], order_id
        assert not cluster.terminated(events, order_id)

    cluster.start("sub-1")  # restarted: not dedicated any more, its processes are lost
    events = cluster.wait_for(lambda es: cluster.terminated(es, *restartable, *not_restartable), timeout=60)
    lost = [e for e in events if e["TYPE"] == "OrderProcessed" and e["outcome"]["TYPE"] == "Disrupted"]
    assert {e["Key"]: e["outcome"]["reason"] for e in lost} == {"w-1": "ProcessLost", "nr-1": "Other"}
    assert outcomes(events, "w-1") == ["Disrupted", "Succeeded"]
    assert cluster.order_events(events, "w-1")[-1] == "OrderFinished"
    assert outcomes(events, "nr-1") == ["Disrupted"]
    assert "OrderFailed" in cluster.order_events(events, "nr-1")
    # The jobs' own records: every order ran to its end exactly once, but the not restartable one lost.
    assert completed(cluster) == {o: 1 for o in [*restartable, *not_restartable] if o != "nr-1"}
    assert Counter(order_id for order_id, _, _ in runs(cluster))["w-1"] == 2


def test_the_director_killed_and_restarted_follows_its_remote_jobs_again(cluster: Topology) -> None:
    """The Director's own Subagent disabled, so both orders run remotely; one ends while the Director
    is down (the Subagent keeps its outcome until the Director has it), the other after its restart."""
    items = [{**i, "disabled": True} if i.get("id") == LOCAL else i for i in cluster.agent_items()]
    operations: list[dict[str, Any]] = [{"TYPE": "AddVersion", "versionId": "1"}]
    operations += [{"TYPE": "AddOrChangeSimple", "item": item} for item in items]
    job = recording_job(cluster, processLimit=10)
    operations.append({"TYPE": "AddOrChangeSimple", "item": workflow("w", execute(), J=job)})
    with cluster.controller() as c:
        assert c.post("/controller/api/item", json=operations).status_code == 200
    wait_until(lambda: all(coupled(cluster).get(s) for s in cluster.subagents), what="coupled Subagents")
    for order_id, sleep in (("short", 1.5), ("long", 6)):
        response = cluster.add_order(order_id, "w", arguments={"SLEEP": sleep})
        assert response.status_code == 201, response.text
        cluster.wait_for(is_started(order_id))
    wait_until(lambda: len(runs(cluster)) == 2, what="both jobs running")

    cluster.kill("agent")  # kill -9 of the Director
    wait_until(lambda: completed(cluster)["short"] == 1, what="the short job's end while the Director is down")
    cluster.start("agent")
    events = cluster.wait_for(lambda es: cluster.terminated(es, "short", "long"), timeout=30)

    assert dict(started_on(events)) == {"short": "sub-1", "long": "sub-2"}
    for order_id in ("short", "long"):
        assert outcomes(events, order_id) == ["Succeeded"], order_id
        assert cluster.order_events(events, order_id)[-1] == "OrderFinished"
    assert completed(cluster) == {"short": 1, "long": 1}  # each job ran once
    assert Counter(order_id for order_id, _, _ in runs(cluster)) == {"short": 1, "long": 1}
