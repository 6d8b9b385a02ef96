"""The Agent's JobRunner starts job steps with the launcher it is given (the Subagent's), or with one of
its own that `stop()` closes: there is no process-global launcher."""

from __future__ import annotations

import asyncio
from pathlib import Path

from js7es.domain.agent.agent_state import AgentState
from js7es.journal.memory import MemoryJournal
from js7es.nodes.agent.job_runner import JobRunner
from js7es.nodes.engine import Engine
from js7es.nodes.subagent import ProcessLauncher


def engine() -> Engine:
    return Engine(state=AgentState(), journal=MemoryJournal.open(), here="agent", controller_id="test")


def test_the_runner_uses_the_launcher_it_is_given_and_leaves_it_open(tmp_path: Path) -> None:
    launcher = ProcessLauncher(tmp_path / "launcher")
    runner = JobRunner(engine(), work_dir=tmp_path / "work", launcher=launcher)
    assert runner.launcher is launcher
    asyncio.run(runner.stop())
    assert launcher.temp_dir.is_dir()  # the Subagent's: closed by its owner
    launcher.close()


def test_without_a_launcher_the_runner_makes_its_own_and_closes_it(tmp_path: Path) -> None:
    first = JobRunner(engine(), work_dir=tmp_path / "a")
    second = JobRunner(engine(), work_dir=tmp_path / "b")
    assert first.launcher is not second.launcher
    temp_dir = first.launcher.temp_dir
    assert temp_dir.is_dir()
    asyncio.run(first.stop())
    assert not temp_dir.exists()
    asyncio.run(second.stop())
