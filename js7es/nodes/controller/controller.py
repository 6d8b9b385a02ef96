"""The Controller node's core: its state and journal, the Agent drivers, and the operations its
HTTP API offers (all through the one command → event → journal loop of `Engine`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from js7es.domain.agent.subagent_events import SubagentResetStartedByController
from js7es.domain.commands import Command, Decided
from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.orders import AddOrders, FreshOrder
from js7es.domain.event import Stamped
from js7es.domain.items import (
    ItemDeleted,
    UnsignedItemAdded,
    UnsignedItemChanged,
    UnsignedSimpleItemAdded,
    UnsignedSimpleItemChanged,
)
from js7es.domain.problem import Problem, problem
from js7es.domain.state import ControllerState
from js7es.domain.value import Value, value_to_json
from js7es.journal.api import Journal
from js7es.nodes.controller.agent_client import AgentClient
from js7es.nodes.controller.agent_driver import AgentDriver
from js7es.nodes.controller.notice_timer import NoticeTimer
from js7es.nodes.engine import Engine, recover_state

log = logging.getLogger(__name__)
# Simple items the drivers send to the Agents when they change (besides what an order needs).
_DETACHED_KINDS = ("OrderWatch:", "SubagentItem:", "SubagentBundle:")
_AGENT_ITEM_TYPES = frozenset({"SubagentItem", "SubagentBundle", "WorkflowPathControl", "FileWatch"})


class ControllerCore:
    def __init__(
        self,
        *,
        journal: Journal,
        controller_id: str,
        agent_client_factory: Callable[[str], AgentClient],
        agent_poll_timeout_s: float = 10.0,
        agent_release_period_s: float = 5.0,
        snapshot_after_events: int = 100_000,
        state: ControllerState | None = None,
    ) -> None:
        """`state`: the state at the journal's last EventId when the caller has it (a standby becoming
        active); otherwise it is recovered from the journal."""
        self.journal = journal
        self.controller_id = controller_id
        if state is None:
            state = recover_state(journal, ControllerState)
        self.state = state
        self.engine = Engine(
            state=state,
            journal=journal,
            here=None,
            controller_id=controller_id,
            snapshot_after_events=snapshot_after_events,
        )
        self._agent_client_factory = agent_client_factory
        self._agent_poll_timeout_s = agent_poll_timeout_s
        self._agent_release_period_s = agent_release_period_s
        self.drivers: dict[str, AgentDriver] = {}
        self.engine.on_commit(self._on_commit)
        self.notice_timer = NoticeTimer(self.engine)

    async def start(self) -> None:
        self._sync_drivers()
        self.engine.start()
        self.notice_timer.start()

    async def stop(self) -> None:
        self.engine.cancel_timers()
        self.notice_timer.stop()
        await asyncio.gather(*(driver.stop() for driver in self.drivers.values()))
        self.drivers.clear()

    def _sync_drivers(self) -> None:
        for agent_path in self.state.agent_refs:
            if agent_path not in self.drivers:
                driver = AgentDriver(
                    engine=self.engine,
                    agent_path=agent_path,
                    client_factory=self._agent_client_factory,
                    poll_timeout_s=self._agent_poll_timeout_s,
                    release_period_s=self._agent_release_period_s,
                )
                self.drivers[agent_path] = driver
                driver.start()
        for agent_path in [p for p in self.drivers if p not in self.state.agent_refs]:
            driver = self.drivers.pop(agent_path)
            asyncio.get_running_loop().create_task(driver.stop())

    def _on_commit(self, stamped: Sequence[Stamped]) -> None:
        items_changed = subagents_changed = False
        for s in stamped:
            if isinstance(s.event, (UnsignedSimpleItemAdded, ItemDeleted)):
                items_changed = True
            if isinstance(s.event, (UnsignedItemAdded, UnsignedItemChanged)):  # a WorkflowControl
                subagents_changed = True
            if isinstance(s.event, SubagentResetStartedByController):  # its Agent is told
                subagents_changed = True
            if isinstance(s.event, ItemDeleted) and s.event.key.startswith(_DETACHED_KINDS):  # to be detached
                subagents_changed = True
            if isinstance(s.event, (UnsignedSimpleItemAdded, UnsignedSimpleItemChanged)):
                subagents_changed = subagents_changed or value_to_json(s.event.item).get("TYPE") in _AGENT_ITEM_TYPES
            order = self.engine.committed_order(s.key)  # not the live one: it may be ahead of the commit
            if order is not None and order.attached is not None:
                driver = self.drivers.get(order.attached.agent_path)
                if driver is not None:
                    driver.order_changed(order)
        if items_changed:
            self._sync_drivers()
        if subagents_changed:
            for driver in self.drivers.values():
                driver.items_changed()

    # -- operations of the API --------------------------------------------------------------------

    async def execute(self, command: Command) -> Decided | Problem:
        return await self.engine.execute(command)

    async def add_orders(self, orders: Sequence[FreshOrder]) -> Decided | Problem:
        return await self.engine.execute(AddOrders(orders=tuple(orders)))

    async def update_items(self, operations: Sequence[Value]) -> Decided | Problem:
        return await self.engine.execute(UpdateItems(operations=tuple(operations)))

    async def switch_over_agent(self, agent_path: str) -> Problem | None:
        """ClusterSwitchOver(agentPath): the active Director of the Agent's pair hands over to its standby."""
        driver = self.drivers.get(agent_path)
        if driver is None:
            return problem("UnknownKey", f"No such AgentRef: {agent_path}")
        return await driver.switch_over()

    async def take_snapshot(self) -> int | Problem:
        return await self.engine.take_snapshot()

    def register_readers(self, reader_ids: Sequence[str]) -> None:
        """Readers of the event stream (Cockpit, Kafka exporter) whose acknowledgements hold old segments."""
        known = self.journal.readers()
        for reader_id in reader_ids:
            if reader_id not in known:
                self.journal.register_reader(reader_id)

    async def release_events(self, reader_id: str, until_event_id: int) -> Problem | None:
        if reader_id not in self.journal.readers():
            return Problem(
                code="UnknownJournalReader",
                message=f"User {reader_id!r} is not a registered event reader ([journal] readers)",
            )
        acknowledged = self.journal.acknowledge(reader_id, until_event_id)
        if isinstance(acknowledged, Problem):
            return acknowledged
        await asyncio.to_thread(self.journal.release_events)
        return None

    def overview(self) -> dict[str, Any]:
        return {
            "id": self.controller_id,
            "eventId": self.state.last_event_id,  # committed (the journal's may wait for the standby)
            "orders": len(self.state.orders),
            "agents": {
                path: {
                    "coupling": agent.coupling,
                    "eventId": agent.event_id,
                    **({"problem": agent.problem} if agent.problem else {}),
                }
                for path, agent in sorted(self.state.agents.items())
            },
        }
