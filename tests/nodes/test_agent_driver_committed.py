"""The Controller tells an Agent only what is committed. Its state runs ahead of its journal while commits
are in flight; a commit's listener that took an order from the live state sent the Agent a mark whose own
commit was still in flight. Had the Controller crashed (or failed over) then, the Agent would have acted
on a cancellation the restarted Controller never knew, and its OrderCancellationMarked would have been an
event the Controller refused (AgentCouplingFailed: the Agent's orders stuck)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.orders import AddOrders, CancelOrders, FreshOrder
from js7es.domain.event import KeyedEvent, Stamped
from js7es.domain.order.events import OrderAttached, OrderProcessingStarted, OrderStarted
from js7es.domain.problem import Problem
from js7es.domain.value import value_from_json
from js7es.journal.memory import MemoryJournal
from js7es.nodes.controller.agent_driver import AgentDriver
from js7es.nodes.controller.controller import ControllerCore
from tests.nodes.waiting import until

AGENT = "agent-1"
ITEMS: list[dict[str, Any]] = [
    {"TYPE": "AgentRef", "path": AGENT, "directors": ["subagent-1a"]},
    {"TYPE": "SubagentItem", "id": "subagent-1a", "agentPath": AGENT, "uri": "https://a:4443"},
]
WORKFLOW = {
    "TYPE": "Workflow",
    "path": "W",
    "instructions": [
        {
            "TYPE": "Execute.Anonymous",
            "job": {"agentPath": AGENT, "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}},
        }
    ],
}


class HeldJournal(MemoryJournal):
    """Commits wait while `holding`, until `release_one` lets the oldest through (as a slow disk would)."""

    holding = False

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.held: list[tuple[list[KeyedEvent], Future[list[Stamped]]]] = []

    def persist(self, keyed_events: Sequence[KeyedEvent]) -> Future[list[Stamped]]:
        if not self.holding:
            return super().persist(keyed_events)
        future: Future[list[Stamped]] = Future()
        self.held.append((list(keyed_events), future))
        return future

    def release_one(self) -> None:
        events, future = self.held.pop(0)
        future.set_result(super().persist(events).result())


def commands(driver: AgentDriver) -> list[str]:
    return [type(c).__name__ for order in driver._take_pending(100) for c in driver._commands_for(order)]


def test_a_commit_listener_sends_the_agent_the_order_as_committed_not_a_mark_still_in_flight() -> None:
    async def run() -> None:
        journal = HeldJournal.open()
        core = ControllerCore(journal=journal, controller_id="C", agent_client_factory=lambda uri: None)  # type: ignore[arg-type,return-value]
        engine = core.engine
        driver = AgentDriver(engine=engine, agent_path=AGENT, client_factory=lambda uri: None)  # type: ignore[arg-type,return-value]
        core.drivers[AGENT] = driver  # not started: the test takes its commands itself
        operations = [{"TYPE": "AddVersion", "versionId": "1"}]
        operations += [{"TYPE": "AddOrChangeSimple", "item": item} for item in ITEMS]
        operations += [{"TYPE": "AddOrChangeSimple", "item": WORKFLOW}]
        updated = await engine.execute(UpdateItems(operations=tuple(value_from_json(o) for o in operations)))
        assert not isinstance(updated, Problem), updated
        added = await engine.execute(AddOrders(orders=(FreshOrder(id="X", workflow_path="W"),)))
        assert not isinstance(added, Problem), added
        assert commands(driver) == ["AttachItems", "AttachOrder"]
        await engine.emit([KeyedEvent("X", OrderAttached(agent_path=AGENT))])  # the Agent's answer
        assert commands(driver) == []

        journal.holding = True
        step = [KeyedEvent("X", OrderStarted()), KeyedEvent("X", OrderProcessingStarted(subagent_id="subagent-1a"))]
        started = asyncio.create_task(engine.emit(step))  # the Agent's events, as its driver adopts them
        await until(lambda: len(journal.held) == 1)
        cancel = asyncio.create_task(engine.execute(CancelOrders(order_ids=("X",), kill=True)))
        await until(lambda: len(journal.held) == 2)
        assert engine.state.orders["X"].mark is not None  # applied, not committed

        journal.release_one()  # the step's start is committed: its listeners run
        await started
        assert not cancel.done()
        assert commands(driver) == []  # the order as that commit left it: no mark to send yet

        journal.release_one()  # now the cancellation is committed
        assert not isinstance(await cancel, Problem)
        assert commands(driver) == ["MarkOrder"]

    asyncio.run(asyncio.wait_for(run(), 30))
