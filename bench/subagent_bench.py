"""Subagent benchmark: prints ONE JSON document, the Director's job throughput over 1 versus 3 Subagents
beside the machine's limit.

    .venv/bin/python bench/subagent_bench.py [--quick] [--orders N]

An Agent Director in this process (AgentDirector on a FileJournal, as `js7es agent` runs it, without a
Controller: the orders are attached to it directly) runs N orders of one in-process job
(InternalExecutable `builtin_jobs:empty`, process limit N):

- `oneSubagent`: on its own Subagent only;
- `threeSubagents`: round robin over its own Subagent and two `js7es subagent` processes (loopback
  HTTP, as `--insecure` nodes with a password: TLS costs the same on both sides of the comparison);
- `twoRemoteSubagents`: the same with its own Subagent disabled, every step remote.

Each figure: jobs per second from the first AttachOrder to the last OrderProcessed committed, the
Director's and the Subagents' CPU per job. The limit is the same job through the ProcessLauncher alone
(no journal, no HTTP, `launcherOnly`), at the same concurrency. Everything shares this machine's cores,
so a remote Subagent adds work here instead of taking it away: the figures say what the protocol costs,
not what more machines would gain. Nothing is asserted; see bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine
from js7es.domain.agent.commands import AttachItems, AttachOrder, DedicateAgentDirector
from js7es.domain.event import Stamped
from js7es.domain.order import states as st
from js7es.domain.order.events import OrderProcessed
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Succeeded
from js7es.domain.problem import Problem
from js7es.domain.workflow.job import InternalExecutable
from js7es.domain.workflow.workflow import WorkflowId
from js7es.journal.file import FileJournal
from js7es.nodes.agent.director import AgentDirector
from js7es.nodes.agent.remote_subagent import SubagentClient
from js7es.nodes.subagent import ProcessLauncher, ProcessSpec, StdoutOrStderr
from tests.ports import HOST, free_port

EMPTY = "js7es.nodes.subagent.builtin_jobs:empty"
AGENT = "agent"
AUTH = ("director", "bench-secret")


def cpu_ms_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def self_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (usage.ru_utime + usage.ru_stime) * 1000


class SubagentProcess:
    def __init__(self, root: Path, name: str) -> None:
        self.name = name
        self.port = free_port()
        data = root / name
        data.mkdir(parents=True)
        config = data / "subagent.toml"
        config.write_text(
            f'[subagent]\nid = "{name}"\ndata-dir = "{data}"\n[http]\nhost = "{HOST}"\nport = {self.port}\n'
            f'[users.director]\npassword = "plain:{AUTH[1]}"\npermissions = ["AgentDirector"]\n'
        )
        self.log = (data / "node.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "js7es.nodes.cli", "subagent", "--config", str(config), "--insecure"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )

    @property
    def uri(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_ready(self) -> None:
        import httpx

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"{self.name} exited"
            try:
                if httpx.get(f"{self.uri}/subagent/api/health").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{self.name} not ready")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self.log.close()


async def director_rate(root: Path, orders: int, remotes: list[SubagentProcess], local_enabled: bool) -> dict[str, Any]:
    (root / "state").mkdir(parents=True)
    journal = FileJournal.open(root / "state", name="agent")
    director = AgentDirector(
        journal=journal,
        work_dir=root / "work",
        subagent_client_factory=lambda uri: SubagentClient(uri, ssl_context=None, auth=AUTH),
    )
    processed = 0
    done = asyncio.Event()

    def on_commit(stamped: Sequence[Stamped]) -> None:
        nonlocal processed
        for s in stamped:
            if isinstance(s.event, OrderProcessed):
                assert isinstance(s.event.outcome, Succeeded), s.event.outcome
                processed += 1
        if processed >= orders:
            done.set()

    director.engine.on_commit(on_commit)
    workflow: dict[str, Any] = {
        "TYPE": "Workflow",
        "path": "W",
        "versionId": "1",
        "instructions": [
            {
                "TYPE": "Execute.Anonymous",
                "job": {
                    "agentPath": AGENT,
                    "executable": {"TYPE": "InternalExecutable", "className": EMPTY},
                    "processLimit": orders,
                },
            }
        ],
    }
    local: dict[str, Any] = {
        "TYPE": "SubagentItem",
        "id": "local",
        "agentPath": AGENT,
        "uri": "https://-",
        "disabled": not local_enabled,
    }
    items: list[dict[str, Any]] = [local]
    items += [{"TYPE": "SubagentItem", "id": r.name, "agentPath": AGENT, "uri": r.uri} for r in remotes]
    for command in (
        DedicateAgentDirector(agent_path=AGENT, controller_id="bench", directors=("local",)),
        AttachItems(items=(*items, workflow)),
    ):
        assert not isinstance(await director.execute(command), Problem)
    deadline = time.monotonic() + 30
    while not all(director.runner.pool.is_coupled(r.name) for r in remotes):
        assert time.monotonic() < deadline, "Subagents not coupled"
        await asyncio.sleep(0.01)
    cpu_before = {"director": self_cpu_ms(), **{r.name: cpu_ms_of(r.process.pid) for r in remotes}}
    start = time.perf_counter()
    for first in range(0, orders, 100):
        batch = [
            AttachOrder(order=Order(id=f"o-{i}", workflow_id=WorkflowId("W", "1"), position=(0,), state=st.Ready()))
            for i in range(first, min(first + 100, orders))
        ]
        for result in await asyncio.gather(*(director.execute(c) for c in batch)):
            assert not isinstance(result, Problem), result
    await asyncio.wait_for(done.wait(), 600)
    elapsed = time.perf_counter() - start
    cpu_after = {"director": self_cpu_ms(), **{r.name: cpu_ms_of(r.process.pid) for r in remotes}}
    await director.stop()
    journal.close()
    return {
        "jobsPerSecond": round(orders / elapsed, 1),
        "seconds": round(elapsed, 3),
        "cpuMsPerJob": {k: round((cpu_after[k] - cpu_before[k]) / orders, 3) for k in cpu_before},
    }


async def launcher_rate(root: Path, orders: int) -> dict[str, Any]:
    """The limit: the same job through the ProcessLauncher alone, all at once."""
    launcher = ProcessLauncher(root / "launcher")

    async def on_output(kind: StdoutOrStderr, chunk: str) -> None:
        pass

    async def job(i: int) -> None:
        spec = ProcessSpec(
            order_id=f"o-{i}", job_name=None, executable=InternalExecutable(class_name=EMPTY), work_dir=root,
            executables_dir=root,
        )  # fmt: skip
        process = await launcher.start(spec, on_output)
        assert isinstance(await process.wait(), Succeeded)

    start = time.perf_counter()
    before = self_cpu_ms()
    await asyncio.gather(*(job(i) for i in range(orders)))
    elapsed = time.perf_counter() - start
    result = {"jobsPerSecond": round(orders / elapsed, 1), "cpuMsPerJob": round((self_cpu_ms() - before) / orders, 3)}
    launcher.close()
    return result


def main(orders: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="js7es-subagent-bench-") as directory:
        root = Path(directory)
        remotes = [SubagentProcess(root, f"sub-{i}") for i in (1, 2)]
        try:
            for remote in remotes:
                remote.wait_ready()
            result: dict[str, Any] = {"machine": machine(), "orders": orders, "job": EMPTY}
            result["launcherOnly"] = asyncio.run(launcher_rate(root, orders))
            result["oneSubagent"] = asyncio.run(director_rate(root / "one", orders, [], True))
            result["threeSubagents"] = asyncio.run(director_rate(root / "three", orders, remotes, True))
            for remote in remotes:  # a fresh run of each Subagent for the next Director (a new Agent)
                remote.stop()
            remotes = [SubagentProcess(root / "again", f"sub-{i}") for i in (1, 2)]
            for remote in remotes:
                remote.wait_ready()
            result["twoRemoteSubagents"] = asyncio.run(director_rate(root / "remote", orders, remotes, False))
            one = result["oneSubagent"]["jobsPerSecond"]
            result["ratioThreeToOne"] = round(result["threeSubagents"]["jobsPerSecond"] / one, 2)
            result["ratioOneToLauncherOnly"] = round(one / result["launcherOnly"]["jobsPerSecond"], 2)
            return result
        finally:
            for remote in remotes:
                if remote.process.poll() is None:
                    remote.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="300 orders per figure instead of 2,000")
    parser.add_argument("--orders", type=int, help="orders per figure")
    args = parser.parse_args()
    print(json.dumps(main(args.orders or (300 if args.quick else 2000)), indent=2))
