"""A Controller and its Agents in one process and one state, driven by the pure domain only.

It plays the parts the nodes play later (attaching and detaching orders, starting and ending
processes, the clock), so that tests can assert the exact event sequence of each order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from js7es.domain.commands import Command, Decided, execute
from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.orders import AddOrders, FreshOrder
from js7es.domain.event import KeyedEvent
from js7es.domain.order.context import Context
from js7es.domain.order.event_source import follow_up
from js7es.domain.order.events import (
    OrderAttached,
    OrderDetached,
    OrderEvent,
    OrderProcessed,
    OrderProcessingStarted,
)
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Outcome, Succeeded
from js7es.domain.order.states import BetweenCycles, DelayingRetry, Ready, Sleeping
from js7es.domain.order.stop_positions import is_at_stop_position
from js7es.domain.orderwatch.decide import order_watch_follow_up
from js7es.domain.problem import Problem, orthrow
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json
from js7es.domain.workflow.job import WorkflowJob

JobRunner = Callable[[Order, WorkflowJob], Outcome]


def succeed(order: Order, job: WorkflowJob) -> Outcome:
    return Succeeded(named_values={"returnCode": 0})


@dataclass
class Simulator:
    now_ms: int = 1_700_000_000_000
    state: ControllerState = field(default_factory=ControllerState)
    log: list[KeyedEvent] = field(default_factory=list)
    run_job: JobRunner = succeed
    agents: tuple[str, ...] = ("AGENT",)
    version: int = 0

    def ctx(self, here: str | None = None) -> Context:
        return Context(now_ms=self.now_ms, here=here)

    def command(self, command: Command) -> Decided | Problem:
        decided = execute(self.state, command, self.ctx())
        if not isinstance(decided, Problem):
            self.log.extend(decided.events)
        return decided

    def deploy(self, *workflows: dict[str, Any], agents: tuple[str, ...] | None = None) -> Decided:
        self.version += 1
        operations: list[Any] = [{"TYPE": "AddVersion", "versionId": f"v{self.version}"}]
        for agent in agents if agents is not None else self.agents:
            if agent not in self.state.agent_refs:
                operations.append(
                    {"TYPE": "AddOrChangeSimple", "item": {"TYPE": "AgentRef", "path": agent, "uri": "https://x"}}
                )
        operations.extend({"TYPE": "AddOrChangeSimple", "item": w} for w in workflows)
        return orthrow(self.command(UpdateItems(operations=tuple(value_from_json(o) for o in operations))))

    def add_order(self, order_id: str, workflow_path: str, **kwargs: Any) -> Decided | Problem:
        return self.command(AddOrders(orders=(FreshOrder(id=order_id, workflow_path=workflow_path, **kwargs),)))

    def _emit(self, order_id: str, event: OrderEvent) -> None:
        problem = self.state.apply_event(order_id, event)
        assert problem is None, problem
        self.log.append(KeyedEvent(order_id, event))

    def step(self) -> bool:
        """One round of every party; False when nothing happened."""
        before = len(self.log)
        self.log.extend(follow_up(self.state, list(self.state.orders), self.ctx()))
        self.log.extend(order_watch_follow_up(self.state, self.ctx()))  # files that appeared (FileWatch)
        for order in list(self.state.orders.values()):
            attached = order.attached
            if attached is not None and attached.kind == "Attaching":
                self._emit(order.id, OrderAttached(agent_path=attached.agent_path))
            elif attached is not None and attached.kind == "Detaching":
                self._emit(order.id, OrderDetached())
        for agent in self.agents:
            ids = [o.id for o in self.state.orders.values() if o.is_attached_to(agent)]
            self.log.extend(follow_up(self.state, ids, self.ctx(agent)))
            for order_id in ids:
                order = self.state.orders.get(order_id)
                if order is None or not isinstance(order.state, Ready) or order.mark is not None:
                    continue
                if not order.is_attached_to(agent):  # on its way back to the Controller
                    continue
                workflow = self.state.workflow_of(order)
                assert workflow is not None
                if is_at_stop_position(workflow, order):  # JS7's isOrderProcessable
                    continue
                instruction = workflow.instruction(order.position)
                job = workflow.job_of(instruction) if instruction is not None else None
                held = (
                    self.state.is_workflow_suspended(order.workflow_id.path)
                    or self.state.is_at_breakpoint(order)
                    or (
                        instruction is not None
                        and instruction.label in self.state.skipped_labels(order.workflow_id.path)
                    )
                )
                if job is not None and job.agent_path == agent and not order.is_suspended and not held:
                    self._emit(order_id, OrderProcessingStarted(subagent_id=f"{agent}-subagent"))
                    self._emit(order_id, OrderProcessed(outcome=self.run_job(order, job)))
        return len(self.log) > before

    def run(self, max_rounds: int = 1000) -> None:
        """Until every order waits for something that is not the clock."""
        for _ in range(max_rounds):
            if self.step():
                continue
            wake = [
                o.state.until_ms for o in self.state.orders.values() if isinstance(o.state, (DelayingRetry, Sleeping))
            ] + [o.scheduled_for for o in self.state.orders.values() if o.scheduled_for and not o.is_started]
            wake += [
                o.state.cycle_state.next
                for o in self.state.orders.values()
                if isinstance(o.state, BetweenCycles) and o.state.cycle_state is not None
            ]
            later = [t for t in wake if t > self.now_ms]
            if not later:
                return
            self.now_ms = min(later)
        raise AssertionError("simulation did not settle")

    def events_of(self, order_id: str) -> list[str]:
        return [type(k.event).__name__ for k in self.log if k.key == order_id]

    def typed_events_of(self, order_id: str) -> list[OrderEvent]:
        return [k.event for k in self.log if k.key == order_id and isinstance(k.event, OrderEvent)]
