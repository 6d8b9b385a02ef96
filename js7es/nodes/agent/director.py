"""The Agent Director: takes orders and items from its one Controller, runs them on its own (also
while the Controller is away), journals everything, and lets the Controller read its events.

The commands from the Controller (JS7's AgentCommand names) are idempotent, because the Controller
repeats them after any connection loss: attaching an order that is here already, or detaching one
that is gone, changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from js7es.domain import codec
from js7es.domain.agent.agent_state import AgentState
from js7es.domain.agent.events import AgentDedicatedToController, ItemAttachedToMe
from js7es.domain.event import NO_KEY, KeyedEvent
from js7es.domain.order.events import (
    OrderAttachedToAgent,
    OrderDetached,
    mark_event,
)
from js7es.domain.order.order import Attachment, Cancelling, Order, OrderMark, Resuming, Suspending
from js7es.domain.problem import Problem, problem
from js7es.domain.value import value_from_json
from js7es.journal.api import Journal
from js7es.nodes.agent.job_runner import JobRunner
from js7es.nodes.engine import Engine, recover_state

log = logging.getLogger(__name__)

CONTROLLER_READER = "controller"


class AgentDirector:
    def __init__(
        self,
        *,
        journal: Journal,
        work_dir: Path,
        process_limit: int | None = None,
        snapshot_after_events: int = 100_000,
    ) -> None:
        self.journal = journal
        state: AgentState = recover_state(journal, AgentState)
        self.state = state
        self.engine = Engine(
            state=state,
            journal=journal,
            here=state.agent_path,
            controller_id=state.controller_id or "",
            snapshot_after_events=snapshot_after_events,
        )
        self.runner = JobRunner(self.engine, work_dir=work_dir, process_limit=process_limit)
        self.engine.on_commit(self.runner.on_commit)
        self.engine.before_commit(self.runner.before_commit)

    async def start(self) -> None:
        if self.state.is_dedicated:
            await self.runner.recover()
            self.engine.start()

    async def stop(self) -> None:
        self.engine.cancel_timers()
        await self.runner.stop()

    # -- commands from the Controller -------------------------------------------------------------

    async def dedicate(self, agent_path: str, controller_id: str, directors: Sequence[str]) -> dict[str, Any] | Problem:
        state = self.state
        if state.is_dedicated:
            if state.controller_id != controller_id:
                return problem(
                    "AgentWrongController",
                    f"This Agent is dedicated to Controller {state.controller_id!r}, not {controller_id!r}",
                )
            if state.agent_path != agent_path:
                return problem("AgentPathMismatch", f"This Agent is {state.agent_path!r}, not {agent_path!r}")
            return {"agentRunId": state.agent_run_id, "agentEventId": 0}
        run_id = uuid.uuid4().hex
        event = AgentDedicatedToController(
            agent_path=agent_path, controller_id=controller_id, agent_run_id=run_id, directors=tuple(directors)
        )
        await self.engine.emit([KeyedEvent(NO_KEY, event)])
        self.engine.here = agent_path
        self.engine.controller_id = controller_id
        self.journal.register_reader(CONTROLLER_READER)
        await self.start()
        return {"agentRunId": run_id, "agentEventId": 0}

    def _check_controller(self, agent_path: str | None = None, agent_run_id: str | None = None) -> Problem | None:
        if not self.state.is_dedicated:
            return problem("AgentNotDedicated", "This Agent is not dedicated to a Controller")
        if agent_path is not None and agent_path != self.state.agent_path:
            return problem("AgentPathMismatch", f"This Agent is {self.state.agent_path!r}, not {agent_path!r}")
        if agent_run_id is not None and agent_run_id != self.state.agent_run_id:
            return problem("AgentRunIdMismatch", "The Agent has been reset: its journal is another one")
        return None

    async def couple(self, agent_path: str, agent_run_id: str, event_id: int) -> dict[str, Any] | Problem:
        checked = self._check_controller(agent_path, agent_run_id)
        if checked is not None:
            return checked
        if event_id > self.journal.last_event_id:
            return problem("UnknownEventId", f"EventId {event_id} is in the future of this Agent")
        return {"orderIds": sorted(self.state.orders)}

    async def attach_items(self, items: Sequence[Mapping[str, Any]]) -> Problem | None:
        checked = self._check_controller()
        if checked is not None:
            return checked
        events = [
            KeyedEvent(NO_KEY, ItemAttachedToMe(item=value_from_json(item)))
            for item in items
            if not self.state.has_item(item)
        ]
        for keyed in events:
            probe = AgentState()  # refuse a bad item before anything is journaled
            if (p := probe.apply_event(keyed.key, keyed.event)) is not None:
                return p
        await self.engine.emit(events)
        return None

    async def attach_order(self, order_json: Mapping[str, Any]) -> Problem | None:
        checked = self._check_controller()
        if checked is not None:
            return checked
        try:
            order = codec.decode(order_json, Order)
        except codec.CodecError as e:
            return problem("InvalidOrder", f"AttachOrder: {e}")
        if order.id in self.state.orders:
            return None  # attached already: the Controller repeats commands after reconnecting
        if order.workflow_id not in self.state.workflows:
            return problem("UnknownItem", f"Workflow {order.workflow_id} has not been attached to this Agent")
        assert self.state.agent_path is not None
        attached = replace(order, attached=Attachment(kind="Attached", agent_path=self.state.agent_path))
        await self.engine.emit([KeyedEvent(order.id, OrderAttachedToAgent(order=attached))])
        return None

    async def detach_order(self, order_id: str) -> Problem | None:
        checked = self._check_controller()
        if checked is not None:
            return checked
        order = self.state.orders.get(order_id)
        if order is None:
            return None  # detached already
        if order.attached is None or order.attached.kind != "Detaching":
            return problem("OrderNotDetachable", f"Order {order_id!r} is not detachable")
        await self.engine.emit([KeyedEvent(order_id, OrderDetached())])
        return None

    async def mark_order(self, order_id: str, mark: OrderMark) -> Problem | None:
        checked = self._check_controller()
        if checked is not None:
            return checked
        order = self.state.orders.get(order_id)
        if order is None or order.mark == mark or order.is_terminal:
            return None
        if not isinstance(mark, (Cancelling, Suspending, Resuming)):
            return problem("InvalidMark", f"Unknown mark {type(mark).__name__}")
        if isinstance(mark, Resuming) and not isinstance(order.mark, Suspending):
            return None
        await self.engine.emit([KeyedEvent(order_id, mark_event(mark))])
        return None

    async def release_events(self, until_event_id: int) -> Problem | None:
        checked = self._check_controller()
        if checked is not None:
            return checked
        acknowledged = self.journal.acknowledge(CONTROLLER_READER, until_event_id)
        if isinstance(acknowledged, Problem):
            return acknowledged
        await asyncio.to_thread(self.journal.release_events)
        return None

    def overview(self) -> dict[str, Any]:
        return {
            "agentPath": self.state.agent_path,
            "controllerId": self.state.controller_id,
            "isDedicated": self.state.is_dedicated,
            "eventId": self.journal.last_event_id,
            "orders": len(self.state.orders),
            "processes": self.runner.running_count,
        }
