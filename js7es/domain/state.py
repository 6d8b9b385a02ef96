"""The state of a Controller (and of an Agent, which holds the orders attached to it).

Each order is an immutable value changed only by the pure `apply_order`; this container replaces the
value of the order an event is keyed by, and handles the events that create or remove orders and
items. `apply_stamped` is what the journal calls when it recovers and what a node calls for each
committed event.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any, Self, TypeAlias

from js7es.domain import codec
from js7es.domain.agent.events import (
    AgentCoupled,
    AgentCouplingFailed,
    AgentDedicated,
    AgentEventsObserved,
    AgentRefEvent,
)
from js7es.domain.agent.state import AgentRefState
from js7es.domain.agent.subagent_events import (
    SubagentItemStateEvent,
    SubagentResetStarted,
    SubagentResetStartedByController,
)
from js7es.domain.board.events import NoticeEvent
from js7es.domain.board.item import GlobalBoard, PlannableBoard
from js7es.domain.board.notice import NoticeId, notice_id_from_json
from js7es.domain.board.state import SNAPSHOT_TYPES as BOARD_SNAPSHOT_TYPES
from js7es.domain.board.state import Boards
from js7es.domain.calendar.item import CalendarItem
from js7es.domain.cluster import ClusterEmpty, ClusterEvent, ClusterState, apply_cluster
from js7es.domain.event import BEFORE_FIRST, NO_KEY, Event, Stamped
from js7es.domain.items import (
    AgentRef,
    ItemDeleted,
    JobResource,
    SignedItemAdded,
    SignedItemChanged,
    SimpleItem,
    SubagentBundle,
    SubagentItem,
    UnsignedItemAdded,
    UnsignedItemChanged,
    UnsignedSimpleItemAdded,
    UnsignedSimpleItemChanged,
    VersionAdded,
    VersionedItemAdded,
    VersionedItemChanged,
    VersionedItemRemoved,
    parse_simple_item,
    simple_item_id,
)
from js7es.domain.lock import Acquired, Lock, LockState, Rank, holders, holds_locks, lock_state_to_json
from js7es.domain.order.apply import apply_order
from js7es.domain.order.events import (
    OrderAdded,
    OrderAttachedToAgent,
    OrderCancelled,
    OrderDeleted,
    OrderEvent,
    OrderForked,
    OrderJoined,
    OrderLocksAcquired,
    OrderLocksQueued,
    OrderLocksReleased,
    OrderOrderAdded,
    OrderPriorityChanged,
    OrderStateReset,
    OrderTransferred,
)
from js7es.domain.order.new_orders import added_order, forked_children, order_added_by
from js7es.domain.order.notice_apply import NOTICE_EVENTS
from js7es.domain.order.order import Order
from js7es.domain.order.states import ExpectingNotices, Forked, Fresh, Ready, WaitingForLock
from js7es.domain.orderwatch.events import OrderWatchEvent
from js7es.domain.orderwatch.item import FileWatch
from js7es.domain.orderwatch.state import OrderWatches
from js7es.domain.problem import Problem, problem
from js7es.domain.value import dumps, value_to_json
from js7es.domain.workflow.instructions import LockInstruction
from js7es.domain.workflow.parse import parse_workflow
from js7es.domain.workflow.workflow import Workflow, WorkflowId
from js7es.domain.workflow_control import WorkflowControl, WorkflowPathControl, normalized, parse_workflow_control

# Per id(event): the event, the order it was checked on and the order it made (`check_applicable`).
PreApplied: TypeAlias = dict[int, tuple[OrderEvent, Order, Order]]


class ControllerState:
    """Orders, workflow versions and simple items, advanced event by event."""

    def __init__(self) -> None:
        self.last_event_id: int = BEFORE_FIRST
        self.orders: dict[str, Order] = {}
        self.workflows: dict[WorkflowId, Workflow] = {}
        self.current_versions: dict[str, str] = {}  # workflow path -> current version id
        self.versions: list[str] = []
        self.agent_refs: dict[str, AgentRef] = {}
        self.subagents: dict[str, SubagentItem] = {}
        self.subagent_bundles: dict[str, SubagentBundle] = {}  # JS7's SubagentBundle, by id
        self.subagent_resets: dict[str, bool] = {}  # Subagents to be reset by their Agent -> force
        self.job_resources: dict[str, JobResource] = {}
        self.calendars: dict[str, CalendarItem] = {}
        self.boards = Boards()  # GlobalBoard and PlannableBoard items with their notices
        self.locks: dict[str, LockState] = {}
        self.order_watches = OrderWatches()  # FileWatch items with their files (js7es.domain.orderwatch)
        self._locks_changed: set[str] = set()  # locks whose first waiting order may go now
        self.workflow_path_controls: dict[str, WorkflowPathControl] = {}  # by workflow path
        self.workflow_controls: dict[WorkflowId, WorkflowControl] = {}  # breakpoints per workflow version
        self.agents: dict[str, AgentRefState] = {}  # the Controller's view of each Agent
        self.cluster: ClusterState = ClusterEmpty()
        self._orders_per_workflow: dict[WorkflowId, int] = {}  # kept with `orders`, for item deletion
        # Orders already computed for events about to be applied (see `applying_checked`).
        self._checked: PreApplied | None = None

    @contextlib.contextmanager
    def applying_checked(self, checked: PreApplied) -> Iterator[None]:
        """Within the block, an order event found in `checked` (by `check_applicable`, on the same order
        object) is applied by taking the order computed there instead of applying it again: the
        Controller checks every Agent event before it applies it (doing it twice cost it 5 %)."""
        self._checked = checked
        try:
            yield
        finally:
            self._checked = None

    # -- queries ------------------------------------------------------------------------------

    def current_workflow(self, path: str) -> Workflow | None:
        version = self.current_versions.get(path)
        return None if version is None else self.workflows.get(WorkflowId(path, version))

    def workflow_of(self, order: Order) -> Workflow | None:
        return self.workflows.get(order.workflow_id)

    def orders_using(self, workflow_id: WorkflowId) -> bool:
        return self._orders_per_workflow.get(workflow_id, 0) > 0

    def obsolete_workflow_ids(self) -> list[WorkflowId]:
        """Versions that are not current and no order uses any more: they can be deleted."""
        if len(self.workflows) == len(self.current_versions):
            return []  # every version is current
        return [
            wid
            for wid in self.workflows
            if self.current_versions.get(wid.path) != wid.version_id and not self.orders_using(wid)
        ]

    def is_workflow_suspended(self, workflow_path: str) -> bool:
        """Whether the operator suspended the workflow (ControlWorkflowPath, js7es.domain.workflow_control)."""
        control = self.workflow_path_controls.get(workflow_path)
        return control is not None and control.suspended

    def skipped_labels(self, workflow_path: str) -> frozenset[str]:
        control = self.workflow_path_controls.get(workflow_path)
        return frozenset() if control is None else control.skip

    def is_at_breakpoint(self, order: Order) -> bool:
        """JS7's isOrderAtBreakpoint: Fresh or Ready, not resumed here, at a breakpoint of its version."""
        control = self.workflow_controls.get(order.workflow_id)
        return (
            control is not None
            and not order.is_resumed
            and isinstance(order.state, (Fresh, Ready))
            and normalized(order.position) in control.breakpoints
        )

    def obsolete_control_keys(self) -> list[str]:
        """JS7's ControllerStateExecutor: a WorkflowControl goes after its workflow version, a
        WorkflowPathControl when no version of its workflow is left."""
        if not self.workflow_controls and not self.workflow_path_controls:
            return []
        paths = {wid.path for wid in self.workflows}
        return [f"WorkflowControl:{wid}" for wid in self.workflow_controls if wid not in self.workflows] + [
            control.key for path, control in self.workflow_path_controls.items() if path not in paths
        ]

    def order_priority(self, order_id: str) -> int | Decimal:
        order = self.orders.get(order_id)
        return 0 if order is None else order.effective_priority

    def order_rank(self, order_id: str) -> Rank:
        """How a waiting order ranks at a lock (js7es.domain.lock): holding locks first, then priority."""
        order = self.orders.get(order_id)
        return (False, 0) if order is None else (holds_locks(order.position), order.effective_priority)

    def first_waiting_orders(self) -> list[str]:
        """The waiting order that goes first at each lock changed since the last call (a lock given
        back, a queue or a priority changed): the follow-up tries it (see js7es.domain.lock)."""
        if not self._locks_changed:
            return []
        changed, self._locks_changed = self._locks_changed, set()
        found: list[str] = []
        for path in sorted(changed):
            lock_state = self.locks.get(path)
            if lock_state is not None and lock_state.queue:
                found.extend(lock_state.to_wake(self.order_rank))
        return found

    def _lock_paths_at(self, order: Order) -> tuple[str, ...]:
        workflow = self.workflows.get(order.workflow_id)
        instruction = workflow.instruction(order.position) if workflow is not None else None
        return instruction.lock_paths if isinstance(instruction, LockInstruction) else ()

    def _apply_lock_effects(self, before: Order, after: Order, event: OrderEvent) -> Problem | None:
        """The locks' part of an order event (JS7's LockState handles these events too): all or nothing."""
        order_id = before.id
        changed: dict[str, LockState | Problem] = {}
        match event:
            case OrderLocksQueued(demands=demands):
                for demand in demands:
                    lock_state = self.locks.get(demand.lock_path)
                    changed[demand.lock_path] = (
                        _unknown_lock(demand.lock_path)
                        if lock_state is None
                        else lock_state.enqueue(order_id, _rank(after), self.order_rank)
                    )
            case OrderLocksAcquired(demands=demands):
                for demand in demands:
                    lock_state = self.locks.get(demand.lock_path)
                    changed[demand.lock_path] = (
                        _unknown_lock(demand.lock_path)
                        if lock_state is None
                        else lock_state.acquire(order_id, demand.count)
                    )
            case OrderLocksReleased(lock_paths=paths):
                for path in paths:
                    lock_state = self.locks.get(path)
                    changed[path] = _unknown_lock(path) if lock_state is None else lock_state.release(order_id)
            case OrderPriorityChanged() if isinstance(before.state, WaitingForLock):
                for path in self._lock_paths_at(before):
                    lock_state = self.locks.get(path)
                    if lock_state is not None:
                        changed[path] = lock_state.requeued(order_id, _rank(after), self.order_rank)
            case _ if isinstance(before.state, WaitingForLock) and not isinstance(after.state, WaitingForLock):
                for path in self._lock_paths_at(before):  # reset, broken, ...: out of the queues
                    lock_state = self.locks.get(path)
                    if lock_state is not None:
                        changed[path] = replace(lock_state, queue=lock_state.dequeued(order_id))
        for result in changed.values():
            if isinstance(result, Problem):
                return result
        for path, result in changed.items():
            assert isinstance(result, LockState)
            self.locks[path] = result
        if not isinstance(event, OrderLocksQueued):
            self._locks_changed.update(changed)
        return None

    def _put_order(self, order: Order) -> None:
        if order.id not in self.orders:
            self._orders_per_workflow[order.workflow_id] = self._orders_per_workflow.get(order.workflow_id, 0) + 1
        self.orders[order.id] = order

    def _remove_order(self, order_id: str) -> None:
        order = self.orders.pop(order_id, None)
        if order is not None:
            count = self._orders_per_workflow[order.workflow_id] - 1
            if count:
                self._orders_per_workflow[order.workflow_id] = count
            else:
                del self._orders_per_workflow[order.workflow_id]

    # -- events -------------------------------------------------------------------------------

    def apply_stamped(self, stamped: Stamped) -> ControllerState | Problem:
        """Apply a committed event in place; returns self (the journal's JournaledState protocol)."""
        if stamped.event_id <= self.last_event_id:
            return problem(
                "EventIdNotIncreasing",
                f"EventId {stamped.event_id} is not after {self.last_event_id}",
                eventId=stamped.event_id,
            )
        result = self.apply_event(stamped.key, stamped.event)
        if result is not None:
            return result
        self.last_event_id = stamped.event_id
        return self

    def apply_event(self, key: str, event: Event) -> Problem | None:
        if isinstance(event, OrderEvent):
            return self._apply_order_event(key, event)
        if isinstance(event, AgentRefEvent):
            return self._apply_agent_ref_event(key, event)
        if isinstance(event, NoticeEvent):
            return self.boards.apply_notice_event(key, event)
        if isinstance(event, OrderWatchEvent):
            return self.order_watches.apply_event(key, event)
        if isinstance(event, SubagentItemStateEvent):
            return self._apply_subagent_event(key, event)
        if isinstance(event, ClusterEvent):
            if key != NO_KEY:
                return problem("InapplicableEvent", f"{type(event).__name__} must not have a key")
            cluster = apply_cluster(self.cluster, event)
            if isinstance(cluster, Problem):
                return cluster
            self.cluster = cluster
            return None
        return self._apply_item_event(key, event)

    def _apply_subagent_event(self, subagent_id: str, event: SubagentItemStateEvent) -> Problem | None:
        match event:
            case SubagentResetStartedByController(force=force):
                if subagent_id not in self.subagents:
                    return problem("UnknownItem", f"{type(event).__name__} for unknown SubagentItem:{subagent_id}")
                self.subagent_resets[subagent_id] = force
            case SubagentResetStarted():  # the Agent's, adopted (the item may be deleted meanwhile)
                self.subagent_resets.pop(subagent_id, None)
            case _:
                return problem("UnknownEvent", f"Cannot apply {type(event).__name__}")
        return None

    def _apply_agent_ref_event(self, agent_path: str, event: AgentRefEvent) -> Problem | None:
        if agent_path not in self.agent_refs:
            return problem("UnknownItem", f"{type(event).__name__} for unknown AgentRef:{agent_path}")
        agent = self.agents.get(agent_path) or AgentRefState(agent_path=agent_path)
        match event:
            case AgentDedicated(agent_run_id=run_id, agent_event_id=event_id):
                agent = replace(agent, agent_run_id=run_id, event_id=event_id, coupling="Reset", problem=None)
            case AgentCoupled():
                agent = replace(agent, coupling="Coupled", problem=None)
            case AgentCouplingFailed(problem=text):
                agent = replace(agent, coupling="CouplingFailed", problem=text)
            case AgentEventsObserved(until_event_id=until):
                if until <= agent.event_id:
                    return problem("InapplicableEvent", f"AgentEventsObserved({until}) is not after {agent.event_id}")
                agent = replace(agent, event_id=until)
            case _:
                return problem("UnknownEvent", f"Cannot apply {type(event).__name__}")
        self.agents[agent_path] = agent
        return None

    def _apply_order_event(self, order_id: str, event: OrderEvent) -> Problem | None:
        match event:
            case OrderAdded():
                if order_id in self.orders:
                    return problem("DuplicateOrder", f"Order {order_id!r} exists already", orderId=order_id)
                if event.workflow_id not in self.workflows:
                    return problem("UnknownItem", f"Unknown workflow {event.workflow_id}")
                if event.external_order_key is not None:
                    linked = self.order_watches.on_order_added(order_id, event.external_order_key)
                    if linked is not None:
                        return linked
                self._put_order(added_order(order_id, event))
                return None
            case OrderAttachedToAgent(order=order):
                if order_id in self.orders or order.id != order_id:
                    return problem("DuplicateOrder", f"Order {order_id!r} is already attached")
                self._put_order(order)
                return None
        existing = self.orders.get(order_id)
        if existing is None:
            return problem("UnknownOrder", f"Unknown order {order_id!r} for {type(event).__name__}")
        order = existing
        checked = None if self._checked is None else self._checked.get(id(event))
        if checked is not None and checked[0] is event and checked[1] is order:
            updated: Order | Problem = checked[2]  # apply_order(order, event), computed by check_applicable
        else:
            updated = apply_order(order, event)
        if isinstance(updated, Problem):
            return updated
        if isinstance(event, _LOCK_EFFECT_EVENTS) or isinstance(order.state, WaitingForLock):
            locked = self._apply_lock_effects(order, updated, event)
            if locked is not None:
                return locked
        match event:
            case OrderForked(children=children):
                for child in children:
                    if child.order_id in self.orders:
                        return problem("DuplicateOrder", f"Child order {child.order_id!r} exists already")
                for child_order in forked_children(order, event):
                    self._put_order(child_order)
            case OrderOrderAdded(order_id=added_id, workflow_id=workflow_id):
                if added_id in self.orders:
                    return problem("DuplicateOrder", f"Order {added_id!r} exists already", orderId=added_id)
                if workflow_id not in self.workflows:
                    return problem("UnknownItem", f"Unknown workflow {workflow_id}")
                self._put_order(order_added_by(event))
            case OrderJoined():
                assert isinstance(order.state, Forked)
                for child_id in order.state.children:
                    self._remove_order(child_id)
            case OrderDeleted():
                self._remove_order(order_id)
                if order.external_order is not None:
                    self.order_watches.on_order_deleted(order_id, order.external_order.key)
                return None
            case OrderTransferred(workflow_position=to):
                if to.workflow_id not in self.workflows:
                    return problem("UnknownItem", f"Unknown workflow {to.workflow_id}")
                self._remove_order(order_id)  # counted again under its new version
                self._put_order(updated)
                return None
        if isinstance(event, (*NOTICE_EVENTS, OrderCancelled, OrderStateReset)):
            result = self._apply_to_boards(order, event)
            if result is not None:
                return result
        self.orders[order_id] = updated
        return None

    def _apply_to_boards(self, order: Order, event: OrderEvent) -> Problem | None:
        expected: tuple[NoticeId, ...] = ()
        if isinstance(order.state, ExpectingNotices):
            expected = _notice_ids(order.state)
        if isinstance(event, (OrderCancelled, OrderStateReset)):  # JS7: the expectation ends with the wait
            self.boards.remove_expectations(order.id, expected)
            return None
        return self.boards.apply_order_event(order.id, expected, event)

    def _apply_item_event(self, key: str, event: Event) -> Problem | None:
        match event:
            case VersionAdded(version_id=version_id):
                if version_id in self.versions:
                    return problem("DuplicateVersion", f"Version {version_id!r} exists already")
                self.versions.append(version_id)
                return None
            case VersionedItemAdded(item=item) | VersionedItemChanged(item=item):
                workflow = parse_workflow(value_to_json(item), committed=True)
                if isinstance(workflow, Problem):
                    return workflow
                exists = workflow.path in self.current_versions
                if exists != isinstance(event, VersionedItemChanged) or workflow.id in self.workflows:
                    return problem("InapplicableEvent", f"{type(event).__name__} for {workflow.id}")
                self.workflows[workflow.id] = workflow
                self.current_versions[workflow.path] = workflow.id.version_id
                return None
            case VersionedItemRemoved(path=path):
                if self.current_versions.pop(path, None) is None:
                    return problem("UnknownItem", f"Unknown workflow {path!r}")
                return None
            case UnsignedSimpleItemAdded(item=item) | SignedItemAdded(item=item):
                return self._put_simple(item, adding=True)
            case UnsignedSimpleItemChanged(item=item) | SignedItemChanged(item=item):
                return self._put_simple(item, adding=False)
            case ItemDeleted(key=item_key):
                return self._delete_item(item_key)
            case UnsignedItemAdded(item=item) | UnsignedItemChanged(item=item):
                control = parse_workflow_control(value_to_json(item))
                if isinstance(control, Problem):
                    return control
                wid = WorkflowId(control.workflow_path, control.version_id)
                if wid not in self.workflows or (wid in self.workflow_controls) != isinstance(
                    event, UnsignedItemChanged
                ):
                    return problem("InapplicableEvent", f"{type(event).__name__} for {control.key}")
                self.workflow_controls[wid] = control
                return None
        return problem("UnknownEvent", f"ControllerState cannot apply {type(event).__name__} (key {key!r})")

    def _put_simple(self, obj: Any, *, adding: bool) -> Problem | None:
        item = parse_simple_item(value_to_json(obj), committed=True)
        if isinstance(item, Problem):
            return item
        if isinstance(item, FileWatch):
            return self.order_watches.put_item(item, adding=adding)
        if isinstance(item, Lock):
            existing = self.locks.get(item.path)
            if (existing is None) != adding:
                return problem("InapplicableEvent", f"{'Add' if adding else 'Change'} of {item.key}")
            self.locks[item.path] = LockState(lock=item) if existing is None else replace(existing, lock=item)
            self._locks_changed.add(item.path)  # a higher limit may let waiting orders go
            return None
        table: dict[str, Any] = self._table_of(item)
        ident = simple_item_id(item)
        if (ident in table) == adding:
            return problem("InapplicableEvent", f"{'Add' if adding else 'Change'} of {item.key}")
        table[ident] = item
        return None

    def _table_of(self, item: SimpleItem) -> dict[str, Any]:
        if isinstance(item, AgentRef):
            return self.agent_refs
        if isinstance(item, SubagentItem):
            return self.subagents
        if isinstance(item, SubagentBundle):
            return self.subagent_bundles
        if isinstance(item, CalendarItem):
            return self.calendars
        if isinstance(item, (GlobalBoard, PlannableBoard)):
            return self.boards.items
        if isinstance(item, WorkflowPathControl):
            return self.workflow_path_controls
        return self.job_resources

    def _delete_item(self, item_key: str) -> Problem | None:
        kind, _, ident = item_key.partition(":")
        match kind:
            case "Workflow":
                wid = WorkflowId.parse(ident)
                if wid not in self.workflows or self.orders_using(wid):
                    return problem("InapplicableEvent", f"ItemDeleted {item_key}")
                del self.workflows[wid]
                if self.current_versions.get(wid.path) == wid.version_id:
                    del self.current_versions[wid.path]
                return None
            case "WorkflowControl":  # JS7: deleted after its workflow version
                wid = WorkflowId.parse(ident)
                if wid not in self.workflow_controls or wid in self.workflows:
                    return problem("InapplicableEvent", f"ItemDeleted {item_key}")
                del self.workflow_controls[wid]
                return None
            case "Board":
                if ident not in self.boards.items:
                    return problem("UnknownItem", f"Unknown item {item_key}")
                self.boards.delete_board(ident)
                return None
            case "OrderWatch":
                return self.order_watches.delete_item(ident)
            case "Lock":
                lock_state = self.locks.get(ident)
                if lock_state is None or holders(lock_state.acquired) or lock_state.queue:
                    return problem("InapplicableEvent", f"ItemDeleted {item_key}: unknown or in use")
                del self.locks[ident]
                return None
            case "AgentRef" | "SubagentItem" | "SubagentBundle" | "JobResource" | "Calendar" | "WorkflowPathControl":
                if kind == "AgentRef":
                    self.agents.pop(ident, None)
                if kind == "SubagentItem":
                    self.subagent_resets.pop(ident, None)
                tables: dict[str, dict[str, Any]] = {
                    "AgentRef": self.agent_refs,
                    "SubagentItem": self.subagents,
                    "SubagentBundle": self.subagent_bundles,
                    "JobResource": self.job_resources,
                    "Calendar": self.calendars,
                    "WorkflowPathControl": self.workflow_path_controls,
                }
                table = tables[kind]
                if table.pop(ident, None) is None:
                    return problem("UnknownItem", f"Unknown item {item_key}")
                return None
        return problem("UnknownItem", f"Unknown item key {item_key!r}")

    # -- snapshots ----------------------------------------------------------------------------

    def snapshot_objects(self) -> Iterator[dict[str, Any]]:
        yield {
            "TYPE": "ControllerMetaState",
            "lastEventId": self.last_event_id,
            "versions": list(self.versions),
            "currentVersions": dict(sorted(self.current_versions.items())),
        }
        if not isinstance(self.cluster, ClusterEmpty):
            yield {"TYPE": "ClusterStateSnapshot", "clusterState": codec.encode(self.cluster)}
        for item in sorted(self.agent_refs.values(), key=lambda i: i.path):
            yield {"TYPE": "SimpleItem", "item": dict(item.raw)}
        for sub in sorted(self.subagents.values(), key=lambda i: i.id):
            yield {"TYPE": "SimpleItem", "item": dict(sub.raw)}
        for bundle in sorted(self.subagent_bundles.values(), key=lambda i: i.id):
            yield {"TYPE": "SimpleItem", "item": dict(bundle.raw)}
        for subagent_id, force in sorted(self.subagent_resets.items()):
            yield {"TYPE": "SubagentResetting", "subagentId": subagent_id, "force": force}
        for res in sorted(self.job_resources.values(), key=lambda i: i.path):
            yield {"TYPE": "SimpleItem", "item": dict(res.raw)}
        for calendar in sorted(self.calendars.values(), key=lambda i: i.path):
            yield {"TYPE": "SimpleItem", "item": dict(calendar.raw)}
        for board in sorted(self.boards.items.values(), key=lambda i: i.path):
            yield {"TYPE": "SimpleItem", "item": dict(board.raw)}
        for path in sorted(self.locks):
            yield lock_state_to_json(self.locks[path])
        for control in sorted(self.workflow_path_controls.values(), key=lambda i: i.path):
            yield {"TYPE": "SimpleItem", "item": dict(control.raw)}
        yield from self.order_watches.snapshot_objects()
        for wid in sorted(self.workflows, key=str):
            yield {"TYPE": "WorkflowItem", "item": dict(self.workflows[wid].raw)}
        for wid in sorted(self.workflow_controls, key=str):
            yield self.workflow_controls[wid].to_json()
        for agent_path in sorted(self.agents):
            yield codec.encode(self.agents[agent_path])
        for order_id in sorted(self.orders):
            yield codec.encode(self.orders[order_id])
        yield from self.boards.snapshot_objects()

    @classmethod
    def from_snapshot(cls, objects: Iterable[Mapping[str, Any]]) -> Self:
        state = cls()
        for obj in objects:
            state._restore(obj)
        return state

    def _restore(self, obj: Mapping[str, Any]) -> None:
        match obj.get("TYPE"):
            case "ControllerMetaState":
                self.last_event_id = int(obj["lastEventId"])
                self.versions = list(obj.get("versions", []))
                self.current_versions = dict(obj.get("currentVersions", {}))
            case "WorkflowControl":
                control = parse_workflow_control(obj)
                if isinstance(control, Problem):
                    raise ValueError(f"Bad snapshot WorkflowControl: {control}")
                self.workflow_controls[WorkflowId(control.workflow_path, control.version_id)] = control
            case "ClusterStateSnapshot":
                self.cluster = codec.decode(obj["clusterState"], ClusterState)
            case "LockState":
                lock = parse_simple_item(obj["lock"], committed=True)
                if not isinstance(lock, Lock):
                    raise ValueError(f"Bad snapshot lock: {lock}")
                acquired = codec.decode(obj["acquired"], Acquired)
                self.locks[lock.path] = LockState(lock=lock, acquired=acquired, queue=tuple(obj["queue"]))
            case "SimpleItem":
                item = parse_simple_item(obj["item"], committed=True)
                if isinstance(item, (Problem, Lock)):
                    raise ValueError(f"Bad snapshot item: {item}")
                if isinstance(item, FileWatch):
                    self.order_watches.put_item(item, adding=True)
                    return
                self._table_of(item)[simple_item_id(item)] = item
            case "WorkflowItem":
                workflow = parse_workflow(obj["item"], committed=True)
                if isinstance(workflow, Problem):
                    raise ValueError(f"Bad snapshot workflow: {workflow}")
                self.workflows[workflow.id] = workflow
            case "Order":
                order = codec.decode(obj, Order)
                self._put_order(order)
                if isinstance(order.state, ExpectingNotices):
                    self.boards.expect(order.id, _notice_ids(order.state))
            case type_ if type_ in BOARD_SNAPSHOT_TYPES:
                self.boards.restore(obj)
            case "ExternalOrder":
                self.order_watches.restore(obj)
            case "SubagentResetting":
                self.subagent_resets[str(obj["subagentId"])] = bool(obj["force"])
            case "AgentRefState":
                agent = codec.decode(obj, AgentRefState)
                self.agents[agent.agent_path] = agent
            case other:
                raise ValueError(f"Unknown snapshot object TYPE {other!r}")

    def state_hash(self) -> str:
        digest = hashlib.sha256()
        for obj in self.snapshot_objects():
            digest.update(dumps(obj).encode())
            digest.update(b"\n")
        return digest.hexdigest()

    def summary(self) -> dict[str, Any]:
        by_state: dict[str, int] = {}
        for order in self.orders.values():
            name = type(order.state).__name__
            by_state[name] = by_state.get(name, 0) + 1
        return {
            "lastEventId": self.last_event_id,
            "orders": len(self.orders),
            "ordersByState": dict(sorted(by_state.items())),
            "workflows": len(self.workflows),
            "agentRefs": len(self.agent_refs),
            "subagents": len(self.subagents),
            "subagentBundles": len(self.subagent_bundles),
            "jobResources": len(self.job_resources),
            "calendars": len(self.calendars),
            "boards": len(self.boards.items),
            "notices": sum(1 for _ in self.boards.notices()),
            "locks": len(self.locks),
            "fileWatches": len(self.order_watches.watches),
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ControllerState) and self.state_hash() == other.state_hash()

    __hash__ = None  # type: ignore[assignment]


def _notice_ids(state: ExpectingNotices) -> tuple[NoticeId, ...]:
    ids = (notice_id_from_json(obj) for obj in state.notice_ids)
    return tuple(i for i in ids if isinstance(i, NoticeId))


def _rank(order: Order) -> Rank:
    return holds_locks(order.position), order.effective_priority


def _unknown_lock(path: str) -> Problem:
    return problem("UnknownItem", f"Unknown Lock:{path}", key=f"Lock:{path}")


_LOCK_EFFECT_EVENTS = (OrderLocksQueued, OrderLocksAcquired, OrderLocksReleased)

__all__ = ["NO_KEY", "ControllerState"]
