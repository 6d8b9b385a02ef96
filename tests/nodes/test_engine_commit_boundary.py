"""Nothing is observable before its commit (STYLE habit 19, issue 10): the engine applies events before
they are committed, so answers and snapshots must wait for, or be taken at, a commit boundary.

A commit gate that the test opens stands for a standby's acknowledgement: while it is closed, the
events are durable in the journal but not committed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from js7es.domain.commands.orders import AddOrders, FreshOrder
from js7es.domain.problem import Problem, problem
from js7es.domain.state import ControllerState
from js7es.journal.file import FileJournal
from js7es.journal.tools import replay
from js7es.nodes.engine import Engine, RoleLost, recover_state
from tests.nodes.test_engine import deploy, engine_on


class Gate:
    """A commit gate: commits count only once opened (or fail with RoleLost once broken)."""

    def __init__(self) -> None:
        self.opened = asyncio.Event()
        self.broken: RoleLost | None = None

    async def __call__(self, event_id: int) -> None:
        await self.opened.wait()
        if self.broken is not None:
            raise self.broken


def add(order_id: str) -> AddOrders:
    return AddOrders(orders=(FreshOrder(id=order_id, workflow_path="W"),))


async def gated_engine(directory: Path) -> tuple[Engine, Gate]:
    engine = engine_on(directory, [])
    await deploy(engine)
    gate = Gate()
    engine.commit_gate = gate
    return engine, gate


async def not_done_after_a_while(task: asyncio.Task[object]) -> None:
    await asyncio.sleep(0.1)
    assert not task.done(), "answered before the commit it rests on"


def test_a_duplicate_is_answered_only_once_the_order_is_committed(tmp_path: Path) -> None:
    async def run() -> None:
        engine, gate = await gated_engine(tmp_path)
        first = asyncio.create_task(engine.execute(add("o")))
        await asyncio.sleep(0)  # "o" is applied, its commit waits at the gate
        assert "o" in engine.state.orders
        retry = asyncio.create_task(engine.execute(add("o")))
        await not_done_after_a_while(retry)
        gate.opened.set()
        assert not isinstance(await first, Problem)
        decided = await retry
        assert not isinstance(decided, Problem) and decided.reply.get("ignoredBecauseDuplicate") == ["o"]
        engine.journal.close()

    asyncio.run(run())


def test_a_duplicate_of_an_order_that_never_commits_is_not_reported(tmp_path: Path) -> None:
    async def run() -> None:
        engine, gate = await gated_engine(tmp_path)
        first = asyncio.create_task(engine.execute(add("o")))
        await asyncio.sleep(0)
        retry = asyncio.create_task(engine.execute(add("o")))
        await asyncio.sleep(0.05)
        gate.broken = RoleLost(problem("ClusterNodeIsNotActive", "role lost"))
        gate.opened.set()
        with pytest.raises(RoleLost):
            await first
        with pytest.raises(RoleLost):  # never "exists already": "o" was never committed here
            await retry
        engine.journal.close()

    asyncio.run(run())


def test_settle_returns_the_event_id_an_answer_rests_on(tmp_path: Path) -> None:
    async def run() -> None:
        engine, gate = await gated_engine(tmp_path)
        committed = engine.state.last_event_id
        assert await engine.settle() == committed  # nothing in flight: at once
        first = asyncio.create_task(engine.execute(add("o")))
        await asyncio.sleep(0)
        settled = asyncio.create_task(engine.settle())
        await not_done_after_a_while(settled)
        gate.opened.set()
        await first
        assert await settled == engine.state.last_event_id > committed
        engine.journal.close()

    asyncio.run(run())


def test_a_snapshot_under_load_holds_exactly_the_committed_state(tmp_path: Path) -> None:
    """The regression of issue 10: a snapshot taken while commits were in flight held their events
    although its EventId was the last committed one; replay then applied them twice."""

    async def run() -> None:
        engine, gate = await gated_engine(tmp_path)
        in_flight = [asyncio.create_task(engine.execute(add(f"before-{i}"))) for i in range(5)]
        await asyncio.sleep(0)
        snapshot = asyncio.create_task(engine.take_snapshot())
        await asyncio.sleep(0)
        later = [asyncio.create_task(engine.execute(add(f"after-{i}"))) for i in range(5)]
        await not_done_after_a_while(snapshot)
        assert not any(t.done() for t in later), "a new decision passed the snapshot's barrier"
        gate.opened.set()
        taken = await snapshot
        assert not isinstance(taken, Problem), taken
        await asyncio.gather(*in_flight, *later)
        engine.journal.close()

        replayed = replay(tmp_path, ControllerState, False, name="controller")
        assert replayed.ok, replayed.problems
        assert replayed.snapshots_compared >= 1
        journal = FileJournal.open(tmp_path, name="controller")
        try:
            snapshot_orders = {o["id"] for o in journal.recovered.snapshot if o.get("TYPE") == "Order"}
            assert {f"before-{i}" for i in range(5)} <= snapshot_orders
            assert not any(i.startswith("after-") for i in snapshot_orders)
            assert recover_state(journal, ControllerState).state_hash() == engine.state.state_hash()
        finally:
            journal.close()

    asyncio.run(run())


def test_a_snapshot_waits_for_commits_and_new_decisions_wait_for_it(tmp_path: Path) -> None:
    async def run() -> None:
        engine, gate = await gated_engine(tmp_path)
        gate.opened.set()
        for round_ in range(20):  # snapshots interleaved with a stream of orders, as a standby sees them
            orders = [asyncio.create_task(engine.execute(add(f"{round_}-{i}"))) for i in range(10)]
            await asyncio.sleep(0)
            taken = await engine.take_snapshot()
            assert not isinstance(taken, Problem), taken
            await asyncio.gather(*orders)
        engine.journal.close()
        replayed = replay(tmp_path, ControllerState, False, name="controller")
        assert replayed.ok, replayed.problems
        assert replayed.state.state_hash() == engine.state.state_hash()

    asyncio.run(run())


def test_an_emit_without_events_returns_once_the_commits_in_flight_are_committed(tmp_path: Path) -> None:
    """The Agent's answers without events of their own ("attached already", the order ids at coupling)
    rest on the commits in flight: `emit([])` and `persist([])` wait for them."""

    async def run() -> None:
        engine, gate = await gated_engine(tmp_path)
        first = asyncio.create_task(engine.execute(add("o")))
        await asyncio.sleep(0)
        nothing = asyncio.create_task(engine.emit([]))
        await not_done_after_a_while(nothing)
        gate.opened.set()
        await first
        assert await nothing == []
        engine.journal.close()

    asyncio.run(run())
