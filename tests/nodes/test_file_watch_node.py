"""The Agent's FileWatcher on a real directory with a real engine and journal (in memory): inotify
wakes it (the periodic rescan is set far beyond the test), files present at start count, hidden files
do not match the default pattern, `delay` holds a file back until it stayed unchanged that long, and
after a restart exactly the difference between the journal and the directory is announced."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.agent.agent_state import AgentState
from js7es.domain.agent.events import AgentDedicatedToController, ItemAttachedToMe
from js7es.domain.event import NO_KEY, KeyedEvent, Stamped
from js7es.domain.orderwatch.events import ExternalOrderAppeared, ExternalOrderVanished
from js7es.domain.value import value_from_json
from js7es.journal.memory import MemoryJournal, MemoryStore
from js7es.nodes.agent import file_watch
from js7es.nodes.agent.file_watch import FileWatcher
from js7es.nodes.engine import Engine, recover_state
from tests.nodes.waiting import until

NO_RESCAN_S = 600.0  # only inotify can wake the watcher within the test


def watch_item(directory: Path, **more: Any) -> dict[str, Any]:
    return {
        "TYPE": "FileWatch",
        "path": "inbox",
        "agentPath": "agent",
        "workflowPath": "W",
        "directoryExpr": f"'{directory}'",
        **more,
    }


class Agent:
    def __init__(self, store: MemoryStore) -> None:
        self.journal = MemoryJournal.open(store)
        self.engine = Engine(
            state=recover_state(self.journal, AgentState), journal=self.journal, here="agent", controller_id="C"
        )
        self.watcher = FileWatcher(self.engine, rescan_period_s=NO_RESCAN_S)
        self.engine.on_commit(self.watcher.on_commit)
        self.stamped: list[Stamped] = []
        self.engine.on_commit(self.stamped.extend)

    @property
    def files(self) -> set[str]:
        state = self.engine.state
        assert isinstance(state, AgentState)
        return state.file_watches["inbox"].files if "inbox" in state.file_watches else set()

    def events(self) -> list[tuple[str, str]]:
        return [
            (type(s.event).__name__, s.event.external_order_name)
            for s in self.stamped
            if isinstance(s.event, (ExternalOrderAppeared, ExternalOrderVanished))
        ]


def test_inotify_start_files_hidden_files_and_restart(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "there-before").write_text("x")
    (inbox / ".hidden").write_text("x")

    async def first_run(store: MemoryStore) -> list[tuple[str, str]]:
        agent = Agent(store)
        dedicated = AgentDedicatedToController(agent_path="agent", controller_id="C", agent_run_id="R")
        attached = ItemAttachedToMe(item=value_from_json(watch_item(inbox)))
        await agent.engine.emit([KeyedEvent(NO_KEY, dedicated), KeyedEvent(NO_KEY, attached)])
        agent.watcher.start()
        # The state changes before the commit's listeners hear of it: wait for both.
        await until(lambda: agent.files == {"there-before"} and len(agent.events()) == 1)
        (inbox / "new").write_text("x")
        await until(lambda: "new" in agent.files and len(agent.events()) == 2)  # woken by inotify, no rescan
        (inbox / "there-before").unlink()
        await until(lambda: agent.files == {"new"} and len(agent.events()) == 3)
        await agent.watcher.stop()
        return agent.events()

    async def second_run(store: MemoryStore) -> tuple[list[tuple[str, str]], set[str]]:
        agent = Agent(store)  # recovered from the journal: "new" is known
        agent.watcher.start()
        await until(lambda: agent.files == {"while-down"} and len(agent.events()) == 2)
        await agent.watcher.stop()
        return agent.events(), agent.files

    store = MemoryStore()
    assert asyncio.run(first_run(store)) == [
        ("ExternalOrderAppeared", "there-before"),
        ("ExternalOrderAppeared", "new"),
        ("ExternalOrderVanished", "there-before"),
    ]
    (inbox / "new").unlink()  # while the Agent is down
    (inbox / "while-down").write_text("x")
    events, files = asyncio.run(second_run(store))
    assert events == [("ExternalOrderVanished", "new"), ("ExternalOrderAppeared", "while-down")]
    assert files == {"while-down"}


def test_delay_holds_a_growing_file_back_until_it_stayed_unchanged(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    delay_s = 0.3

    async def run() -> tuple[float, float, list[tuple[str, str]]]:
        agent = Agent(MemoryStore())
        dedicated = AgentDedicatedToController(agent_path="agent", controller_id="C", agent_run_id="R")
        attached = ItemAttachedToMe(item=value_from_json(watch_item(inbox, delay=delay_s)))
        await agent.engine.emit([KeyedEvent(NO_KEY, dedicated), KeyedEvent(NO_KEY, attached)])
        agent.watcher.start()
        path = inbox / "growing"
        with path.open("w") as f:
            for i in range(10):  # written for longer than the delay
                f.write(f"line {i}\n")
                f.flush()
                last_write = time.monotonic()
                await asyncio.sleep(delay_s / 4)
        await until(lambda: "growing" in agent.files)
        announced = time.monotonic()
        await until(lambda: bool(agent.events()))  # the commit's listeners hear of it after the state
        await agent.watcher.stop()
        return last_write, announced, agent.events()

    last_write, announced, events = asyncio.run(run())
    assert events == [("ExternalOrderAppeared", "growing")]
    assert announced - last_write >= delay_s  # not before it stayed unchanged for the delay


def missing_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING and "inbox" in r.getMessage()]


def test_a_directory_that_appears_later_and_is_recreated_is_watched_by_inotify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(file_watch, "POLL_PERIOD_S", NO_RESCAN_S)  # no polling either: only inotify wakes it
    inbox = tmp_path / "later" / "inbox"  # neither exists when the watcher starts

    async def run() -> list[tuple[str, str]]:
        agent = Agent(MemoryStore())
        dedicated = AgentDedicatedToController(agent_path="agent", controller_id="C", agent_run_id="R")
        attached = ItemAttachedToMe(item=value_from_json(watch_item(inbox)))
        await agent.engine.emit([KeyedEvent(NO_KEY, dedicated), KeyedEvent(NO_KEY, attached)])
        agent.watcher.start()
        await until(lambda: bool(missing_warnings(caplog)))  # it found the directory missing
        inbox.mkdir(parents=True)  # the ancestor's watch wakes the watcher, which arms the directory's
        (inbox / "first").write_text("x")
        await until(lambda: agent.files == {"first"} and len(agent.events()) == 1)
        (inbox / "second").write_text("x")  # the directory's own watch
        await until(lambda: agent.files == {"first", "second"} and len(agent.events()) == 2)
        shutil.rmtree(inbox)
        await asyncio.sleep(0.2)
        inbox.mkdir()  # re-created: watched again
        (inbox / "third").write_text("x")
        await until(lambda: agent.files == {"third"} and len(agent.events()) == 5)
        (inbox / "fourth").write_text("x")
        await until(lambda: agent.files == {"third", "fourth"} and len(agent.events()) == 6)
        await agent.watcher.stop()
        return agent.events()

    with caplog.at_level(logging.INFO, logger=file_watch.__name__):
        events = asyncio.run(run())
    assert events == [
        ("ExternalOrderAppeared", "first"),
        ("ExternalOrderAppeared", "second"),
        ("ExternalOrderVanished", "first"),
        ("ExternalOrderVanished", "second"),
        ("ExternalOrderAppeared", "third"),
        ("ExternalOrderAppeared", "fourth"),
    ]
    assert len(missing_warnings(caplog)) <= 2  # once per absence, not once per wake-up
