"""The Controller's Batch at the Agent Director (`AgentDirector.execute_batch`): every command decided on
the state the ones before it left, all events in one commit, each answer in its place; and the in-process
job steps started by it end with their OrderProcessed gathered per loop turn — each order's events in
JS7's order, each step run once."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from js7es.domain.agent.commands import AttachItems, AttachOrder, DedicateAgentDirector, DetachOrder, MarkOrder
from js7es.domain.event import Stamped
from js7es.domain.order import states as st
from js7es.domain.order.events import OrderProcessed
from js7es.domain.order.order import Cancelling, Order
from js7es.domain.order.outcome import Succeeded
from js7es.domain.problem import Problem
from js7es.domain.workflow.workflow import WorkflowId
from js7es.journal.memory import MemoryJournal
from js7es.nodes.agent.director import AgentDirector
from tests.nodes.waiting import until

AGENT = "agent"
RUNS: list[str] = []


def counted(context: Any) -> None:
    RUNS.append(context.order_id)


WORKFLOW = {
    "TYPE": "Workflow",
    "path": "W",
    "versionId": "1",
    "instructions": [
        {
            "TYPE": "Execute.Anonymous",
            "job": {
                "agentPath": AGENT,
                "executable": {"TYPE": "InternalExecutable", "className": f"{__name__}:counted"},
                "processLimit": 3,
            },
        }
    ],
}


def order(order_id: str) -> Order:
    return Order(id=order_id, workflow_id=WorkflowId("W", "1"), position=(0,), state=st.Ready())


def test_a_batch_is_decided_in_one_pass_committed_once_and_its_steps_run_once_each(tmp_path: Path) -> None:
    RUNS.clear()

    async def run() -> None:
        director = AgentDirector(journal=MemoryJournal.open(), work_dir=tmp_path / "director")
        commits: list[list[Stamped]] = []
        director.engine.on_commit(lambda stamped: commits.append(list(stamped)))
        try:
            dedicated = await director.execute(DedicateAgentDirector(agent_path=AGENT, controller_id="C"))
            assert not isinstance(dedicated, Problem)
            ids = [f"o{i}" for i in range(10)]
            commits.clear()
            answers = await director.execute_batch(
                [
                    AttachItems(items=(WORKFLOW,)),
                    *(AttachOrder(order=order(i)) for i in ids),
                    AttachOrder(order=order("o0")),  # here already: idempotent, no event
                    MarkOrder(order_id="unknown", mark=Cancelling()),  # not here: nothing to mark
                    DetachOrder(order_id="o9"),  # not detachable: refused in its place, decided after o9 came
                    AttachOrder(order=order("o10")),
                ]
            )
            assert answers[:-2] == [{"TYPE": "Accepted"}] * (len(ids) + 3)
            assert isinstance(answers[-2], Problem) and answers[-2].code == "OrderNotDetachable"
            assert answers[-1] == {"TYPE": "Accepted"}
            ids.append("o10")
            # One commit: the items, the orders, and the first steps (processLimit 3) started in it.
            first = [type(s.event).__name__ for s in commits[0]]
            assert first.count("OrderAttachedToAgent") == len(ids)
            assert first.count("OrderProcessingStarted") == 3

            def detachable() -> set[str]:
                return {s.key for c in commits for s in c if type(s.event).__name__ == "OrderDetachable"}

            await until(lambda: detachable() == set(ids))
            events = [s for c in commits for s in c]
            for i in ids:
                assert [type(s.event).__name__ for s in events if s.key == i] == [
                    "OrderAttachedToAgent",
                    "OrderProcessingStarted",
                    "OrderProcessed",
                    "OrderMoved",
                    "OrderDetachable",
                ]
                processed = [s.event for s in events if s.key == i and isinstance(s.event, OrderProcessed)]
                assert processed == [OrderProcessed(outcome=Succeeded())]
            assert sorted(RUNS) == sorted(ids)  # each step ran once
        finally:
            await director.stop()

    asyncio.run(run())


def test_waiting_orders_start_by_priority_under_the_agents_process_limit(tmp_path: Path) -> None:
    """Process limit 1 for the Agent: the orders attached while one runs wait, and start one after the
    other, the highest priority first and first come first within one priority — also across jobs."""
    RUNS.clear()
    other = {**WORKFLOW, "path": "W2"}

    async def run() -> None:
        director = AgentDirector(journal=MemoryJournal.open(), work_dir=tmp_path / "director", process_limit=1)
        started: list[str] = []
        director.engine.on_commit(
            lambda stamped: started.extend(s.key for s in stamped if type(s.event).__name__ == "OrderProcessingStarted")
        )
        try:
            assert not isinstance(
                await director.execute(DedicateAgentDirector(agent_path=AGENT, controller_id="C")), Problem
            )
            priorities = {"a": None, "b": 1, "c": None, "d": 5, "e": 1, "f": None}
            orders = [
                Order(
                    id=i,
                    workflow_id=WorkflowId("W2" if i in "ce" else "W", "1"),
                    position=(0,),
                    state=st.Ready(),
                    priority=p,
                )
                for i, p in priorities.items()
            ]
            answers = await director.execute_batch(
                [AttachItems(items=(WORKFLOW, other)), *(AttachOrder(order=o) for o in orders)]
            )
            assert all(not isinstance(a, Problem) for a in answers)
            await until(lambda: len(started) == len(orders))
            # "a" took the only slot in the batch's commit; then by priority, in arrival order within one
            assert started == ["a", "d", "b", "e", "c", "f"]
            await until(lambda: len(RUNS) == len(orders))
            assert sorted(RUNS) == sorted(priorities)
        finally:
            await director.stop()

    asyncio.run(run())


def test_a_freed_slot_starts_the_next_waiting_order_in_the_same_commit(tmp_path: Path) -> None:
    """Process limit 1: each step's OrderProcessed and the start of the order that waited for its slot are
    committed together (one commit per freed slot, not two in a row: node_bench's shell job)."""
    RUNS.clear()

    async def run() -> None:
        director = AgentDirector(journal=MemoryJournal.open(), work_dir=tmp_path / "director", process_limit=1)
        commits: list[list[tuple[str, str]]] = []
        director.engine.on_commit(lambda stamped: commits.append([(s.key, type(s.event).__name__) for s in stamped]))
        try:
            assert not isinstance(
                await director.execute(DedicateAgentDirector(agent_path=AGENT, controller_id="C")), Problem
            )
            ids = ["a", "b", "c", "d"]
            answers = await director.execute_batch(
                [AttachItems(items=(WORKFLOW,)), *(AttachOrder(order=order(i)) for i in ids)]
            )
            assert all(not isinstance(a, Problem) for a in answers)
            await until(lambda: len(RUNS) == len(ids) and any(("d", "OrderProcessed") in c for c in commits))
            for before, after in itertools.pairwise(ids):
                [commit] = [c for c in commits if (before, "OrderProcessed") in c]
                assert (after, "OrderProcessingStarted") in commit, commit
            assert ids == RUNS  # one after the other, in their order
        finally:
            await director.stop()

    asyncio.run(run())
