"""The pid log: the process groups of the running job steps, so that the next start of the Agent kills what a
crash left behind (the job guard being the first line of that defence)."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.agent.agent_state import AgentState
from js7es.domain.agent.commands import AttachItems, AttachOrder, DedicateAgentDirector
from js7es.domain.order import states as st
from js7es.domain.order.events import OrderProcessed
from js7es.domain.order.order import Order
from js7es.domain.problem import Problem
from js7es.domain.workflow.workflow import WorkflowId
from js7es.journal.memory import MemoryJournal
from js7es.nodes.agent import pid_log
from js7es.nodes.agent.director import AgentDirector
from js7es.nodes.agent.job_runner import JobRunner
from js7es.nodes.agent.pid_log import PidLog, read_running
from js7es.nodes.engine import Engine
from tests.nodes.test_process import assert_group_gone, group_members, runs
from tests.nodes.waiting import until

AGENT = "agent"


def shell_workflow(script: str) -> dict[str, Any]:
    job = {"agentPath": AGENT, "executable": {"TYPE": "ShellScriptExecutable", "script": script}}
    return {
        "TYPE": "Workflow",
        "path": "W",
        "versionId": "1",
        "instructions": [{"TYPE": "Execute.Anonymous", "job": job}],
    }


async def dedicated(work_dir: Path) -> AgentDirector:
    director = AgentDirector(journal=MemoryJournal.open(), work_dir=work_dir)
    assert not isinstance(await director.execute(DedicateAgentDirector(agent_path=AGENT, controller_id="C")), Problem)
    return director


def test_it_names_the_started_and_not_ended_and_ignores_a_torn_last_line(tmp_path: Path) -> None:
    log = PidLog(tmp_path)
    for pid in (101, 102, 103):
        log.started(pid)
    log.ended(102)
    log.close()
    assert read_running(log.path) == {101, 103}
    with log.path.open("a") as file:
        file.write("+104")  # a crash in the middle of a write: no newline, not a pid
    assert read_running(log.path) == {101, 103}


def test_it_is_rewritten_with_the_running_ones_when_it_has_grown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pid_log, "COMPACT_AFTER", 10)
    log = PidLog(tmp_path)
    log.started(7)
    for pid in range(1000, 1100):
        log.started(pid)
        log.ended(pid)
    log.close()
    assert read_running(log.path) == {7}
    assert len(log.path.read_text().splitlines()) <= 10


def test_a_new_run_keeps_a_previous_runs_entries_until_it_kills_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "killpg", lambda pgid, signum: killed.append((pgid, signum)))  # no stranger is hit
    first = PidLog(tmp_path)
    first.started(101)
    first.close()
    second = PidLog(tmp_path)
    second.started(11)  # the file is rewritten: the previous run's entry stays in it
    assert read_running(second.path) == {101, 11}
    second.kill_leftovers()
    assert killed == [(101, signal.SIGKILL)]  # the previous run's group only, not this run's
    assert read_running(second.path) == {11}
    second.close()


def test_the_next_start_kills_the_group_of_a_step_that_a_crash_left_running(tmp_path: Path) -> None:
    """A step runs (a shell with a background child, both in the step's process group); the Agent is gone
    without stopping it (a crash, the job guard not there). The next start's `recover` kills the group."""
    work_dir = tmp_path / "agent"
    workflow = shell_workflow("sleep 30 &\nsleep 30\n")

    async def run() -> None:
        crashed = await dedicated(work_dir)
        ready = Order(id="o", workflow_id=WorkflowId("W", "1"), position=(0,), state=st.Ready())
        answers = await crashed.execute_batch([AttachItems(items=(workflow,)), AttachOrder(order=ready)])
        assert not any(isinstance(a, Problem) for a in answers)
        await until(lambda: len(read_running(work_dir / pid_log.FILE_NAME)) == 1)
        [pgid] = read_running(work_dir / pid_log.FILE_NAME)
        await until(lambda: len([p for p in group_members(pgid) if runs(p)]) >= 2)  # the shell and its children

        restarted = JobRunner(
            Engine(state=AgentState(), journal=MemoryJournal.open(), here=AGENT, controller_id="C"), work_dir=work_dir
        )
        await restarted.recover()
        await until(lambda: not [p for p in group_members(pgid) if runs(p)])  # zombies wait for their parent
        assert read_running(work_dir / pid_log.FILE_NAME) == set()
        await restarted.stop()
        await crashed.stop()  # the crashed run's step ends as killed: its shell is reaped
        assert_group_gone(pgid)

    asyncio.run(asyncio.wait_for(run(), 60))


def test_a_step_that_ended_is_not_named(tmp_path: Path) -> None:
    work_dir = tmp_path / "agent"
    workflow = shell_workflow("exit 0\n")

    async def run() -> None:
        director = await dedicated(work_dir)
        processed: list[str] = []
        director.engine.on_commit(
            lambda commit: processed.extend(s.key for s in commit if isinstance(s.event, OrderProcessed))
        )
        try:
            orders = [
                Order(id=f"o{i}", workflow_id=WorkflowId("W", "1"), position=(0,), state=st.Ready()) for i in range(3)
            ]
            await director.execute_batch([AttachItems(items=(workflow,)), *(AttachOrder(order=o) for o in orders)])
            await until(lambda: len(processed) == 3)
            log_text = (work_dir / pid_log.FILE_NAME).read_text()
            assert log_text.count("+") == 3 and log_text.count("-") == 3  # each named while it ran
            assert read_running(work_dir / pid_log.FILE_NAME) == set()
        finally:
            await director.stop()

    asyncio.run(asyncio.wait_for(run(), 60))
