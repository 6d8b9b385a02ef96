"""The node loop (Engine) with a real FileJournal: commit before effect, timers, halting, snapshots."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.orders import AddOrders, FreshOrder
from js7es.domain.order import states as st
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json
from js7es.journal import file as file_module
from js7es.journal.file import FileJournal
from js7es.nodes.engine import Engine, recover_state

PROMPT = {"path": "W", "instructions": [{"TYPE": "Prompt", "question": "'?'"}], "jobs": {}}


def engine_on(directory: Path, halts: list[str]) -> Engine:
    journal = FileJournal.open(directory, name="controller")
    return Engine(
        state=recover_state(journal, ControllerState),
        journal=journal,
        here=None,
        controller_id="test",
        on_halt=halts.append,
    )


async def deploy(engine: Engine) -> None:
    operations: list[Any] = [{"TYPE": "AddVersion", "versionId": "1"}, {"TYPE": "AddOrChangeSimple", "item": PROMPT}]
    decided = await engine.execute(UpdateItems(operations=tuple(value_from_json(o) for o in operations)))
    assert not isinstance(decided, Problem), decided


def test_commands_are_journaled_before_they_are_answered(tmp_path: Path) -> None:
    async def run() -> None:
        halts: list[str] = []
        engine = engine_on(tmp_path, halts)
        seen: list[int] = []
        engine.on_commit(lambda stamped: seen.extend(s.event_id for s in stamped))
        await deploy(engine)
        decided = await engine.execute(AddOrders(orders=(FreshOrder(id="o", workflow_path="W"),)))
        assert not isinstance(decided, Problem)
        assert engine.journal.last_event_id == engine.state.last_event_id == seen[-1]
        assert engine.state.orders["o"].state == st.Prompting(question="?")
        engine.journal.close()
        recovered = recover_state(FileJournal.open(tmp_path, name="controller"), ControllerState)
        assert recovered.state_hash() == engine.state.state_hash()
        assert halts == []

    asyncio.run(run())


def test_a_scheduled_order_is_woken_by_its_timer(tmp_path: Path) -> None:
    async def run() -> None:
        engine = engine_on(tmp_path, [])
        engine.start()
        await deploy(engine)
        at = int(time.time() * 1000) + 300
        await engine.execute(AddOrders(orders=(FreshOrder(id="later", workflow_path="W", scheduled_for=at),)))
        assert isinstance(engine.state.orders["later"].state, st.Fresh)
        deadline = time.monotonic() + 5
        while not isinstance(engine.state.orders["later"].state, st.Prompting):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        assert time.time() * 1000 >= at
        engine.cancel_timers()
        engine.journal.close()

    asyncio.run(run())


def test_the_node_halts_when_the_journal_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def run() -> None:
        halts: list[str] = []
        engine = engine_on(tmp_path, halts)
        await deploy(engine)

        def broken(fd: int) -> None:
            raise OSError(5, "Input/output error")

        monkeypatch.setattr(file_module, "_fdatasync", broken)
        with pytest.raises(Exception):  # noqa: B017 - whatever the journal raises, the node must halt
            await engine.execute(AddOrders(orders=(FreshOrder(id="o", workflow_path="W"),)))
        assert len(halts) == 1 and "journal failed" in halts[0]
        # Neither way of writing gets past a halting node (each in its own block: both must raise).
        with pytest.raises(RuntimeError, match="halting"):
            await engine.persist([])
        with pytest.raises(RuntimeError, match="halting"):
            await engine.emit([], follow=["o"])
        engine.journal.close()

    asyncio.run(run())


def test_a_snapshot_taken_while_commands_run_equals_the_replayed_state(tmp_path: Path) -> None:
    async def run() -> None:
        engine = engine_on(tmp_path, [])
        await deploy(engine)

        async def add(n: int) -> None:
            for i in range(30):
                await engine.execute(AddOrders(orders=(FreshOrder(id=f"{n}-{i}", workflow_path="W"),)))

        results = await asyncio.gather(add(1), add(2), engine.take_snapshot(), add(3))
        assert not isinstance(results[2], Problem)
        engine.journal.close()
        journal = FileJournal.open(tmp_path, name="controller")
        assert journal.recovered.snapshot  # recovery starts from the snapshot
        recovered = recover_state(journal, ControllerState)
        assert recovered.state_hash() == engine.state.state_hash()
        assert len(recovered.orders) == 90
        journal.close()

    asyncio.run(run())


def test_an_order_between_cycles_is_woken_by_its_timer_also_after_recovery(tmp_path: Path) -> None:
    """A Continuous cycle (pause 0.4 s, limit 3): the first cycle runs when the order is added; the node
    stops between cycles; the recovered node arms the timer and runs the other two."""
    calendar = {"TYPE": "Calendar", "path": "C", "orderIdPattern": "#([^#]+)#.*", "periodDatePattern": "yyyy-MM-dd"}
    cycle = {
        "TYPE": "Cycle",
        "schedule": {
            "schemes": [
                {
                    "admissionTimeScheme": {"periods": [{"TYPE": "DailyPeriod", "secondOfDay": 0, "duration": 86400}]},
                    "repeat": {"TYPE": "Continuous", "pause": 0.4, "limit": 3},
                }
            ]
        },
        "cycleWorkflow": {"instructions": []},
    }
    workflow = {"path": "CYCLING", "calendarPath": "C", "instructions": [cycle, {"TYPE": "Prompt", "question": "'?'"}]}
    if (to_midnight := 86400 - time.time() % 86400) < 10:  # the order's day (UTC) must last the test
        time.sleep(to_midnight + 0.1)
    today = time.strftime("%Y-%m-%d", time.gmtime())

    async def first_run() -> None:
        engine = engine_on(tmp_path, [])
        engine.start()
        operations = [
            {"TYPE": "AddVersion", "versionId": "1"},
            {"TYPE": "AddOrChangeSimple", "item": calendar},
            {"TYPE": "AddOrChangeSimple", "item": workflow},
        ]
        assert not isinstance(
            await engine.execute(UpdateItems(operations=tuple(map(value_from_json, operations)))), Problem
        )
        await engine.execute(AddOrders(orders=(FreshOrder(id=f"#{today}#P1", workflow_path="CYCLING"),)))
        state = engine.state.orders[f"#{today}#P1"].state
        assert isinstance(state, st.BetweenCycles) and state.cycle_state is not None
        assert state.cycle_state.index == 2
        engine.cancel_timers()
        engine.journal.close()

    async def second_run() -> None:
        engine = engine_on(tmp_path, [])
        engine.start()
        deadline = time.monotonic() + 10
        while not isinstance(engine.state.orders[f"#{today}#P1"].state, st.Prompting):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await engine.settle()  # applied is not yet committed: the journal must hold it before it closes
        engine.cancel_timers()
        engine.journal.close()

    asyncio.run(first_run())
    asyncio.run(second_run())
    recovered = recover_state(FileJournal.open(tmp_path, name="controller"), ControllerState)
    order = recovered.orders[f"#{today}#P1"]
    assert order.position == (1,) and isinstance(order.state, st.Prompting)
