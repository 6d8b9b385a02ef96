"""One batch of events applied to the read model inside the projector's transaction.

`Batch.run` reads the rows the batch touches (orders, their current history and step rows, the
children of forks that join) from the database, or in a rebuild from the rows carried over from its
previous batches (carry.py). It applies each event in memory — orders through the domain's
`apply_order`, so the read model cannot disagree with the Controller about states and positions — and
writes the changed rows back through a `writers.RowWriter`: one executemany, or COPY, per table and
kind. Item and Agent events are rare and written as they come. An event that does not fit (an unknown
order, an inapplicable transition) changes nothing and is counted: the read model never raises on the
Controller's history.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from js7es.domain import codec
from js7es.domain.agent.events import AgentCoupled, AgentCouplingFailed, AgentDedicated, AgentEventsObserved
from js7es.domain.event import Stamped
from js7es.domain.items import (
    BUNDLE_TYPES,
    ItemDeleted,
    UnsignedSimpleItemAdded,
    UnsignedSimpleItemChanged,
    VersionedItemAdded,
    VersionedItemChanged,
    VersionedItemRemoved,
)
from js7es.domain.order.apply import apply_order
from js7es.domain.order.events import (
    OrderAdded,
    OrderBroken,
    OrderCancelled,
    OrderDeleted,
    OrderEvent,
    OrderFailed,
    OrderFailedInFork,
    OrderFinished,
    OrderForked,
    OrderJoined,
    OrderOrderAdded,
    OrderProcessed,
    OrderProcessingStarted,
    OrderResumed,
    OrderStarted,
    OrderStderrWritten,
    OrderStdoutWritten,
)
from js7es.domain.order.new_orders import added_order, forked_children, order_added_by
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Disrupted, Killed, Outcome, TimedOut, error_message
from js7es.domain.order.states import FailedInFork, Forked
from js7es.domain.problem import Problem
from js7es.domain.value import dumps, loads, value_to_json
from js7es.domain.workflow.instructions import ExecuteNamed
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.carry import CarriedOrder, OrderRow, Rebuilding
from js7es.projections.cockpit.writers import RowWriter

if TYPE_CHECKING:
    from js7es.projections.cockpit.projector import Projector

Row = dict[str, Any]
CHUNK = 500  # keys per IN (...) list
TRUNCATION_MARKER = "\n[js7es: task log truncated at the limit of {limit} bytes per task; more output dropped]\n"


def _chunks(keys: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(keys), CHUNK):
        yield keys[i : i + CHUNK]


# The very text of `js7es.domain.value.dumps` (every changed order is written whole in each batch):
# numbers exact, one pass of the C encoder when no Decimal is in it.
_dumps = dumps


def return_code_of(outcome: Outcome) -> int | None:
    match outcome:
        case TimedOut(outcome=inner) | Killed(outcome=inner):
            return return_code_of(inner)
    code = outcome.named_values.get("returnCode")
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def outcome_name(outcome: Outcome) -> str:
    return type(outcome).__name__


class Batch:
    def __init__(
        self,
        connection: Connection,
        controller_id: str,
        projector: Projector,
        writer: RowWriter,
        carried: Rebuilding | None = None,
    ) -> None:
        self.connection = connection
        self.writer = writer
        self.carried = carried  # the committed rows in memory: read from here, not from the database
        self.cid = controller_id
        self.projector = projector
        self.inapplicable = 0
        self.orders: dict[str, OrderRow] = {}
        self.orders_in_db: set[str] = set()
        self.dirty_orders: set[str] = set()
        self.history: dict[tuple[str, int], Row] = {}
        self.new_history: set[tuple[str, int]] = set()
        self.dirty_history: set[tuple[str, int]] = set()
        self.steps: dict[int, Row] = {}
        self.new_steps: set[int] = set()
        self.dirty_steps: set[int] = set()
        self.logs: list[Row] = []
        self.agents: dict[str, Row] | None = None  # loaded on the first Agent event
        self.agents_in_db: set[str] = set()
        self.dirty_agents: set[str] = set()

    # -- reading --------------------------------------------------------------------------------------

    def run(self, events: Sequence[Stamped]) -> None:
        order_ids = sorted({s.key for s in events if isinstance(s.event, OrderEvent)})
        self._load_orders(order_ids)
        joining = {s.key for s in events if isinstance(s.event, OrderJoined)}
        children = [
            child
            for order_id in joining
            if (row := self.orders.get(order_id)) is not None and isinstance(row.order.state, Forked)
            for child in row.order.state.children
            if child not in self.orders
        ]
        self._load_orders(sorted(children))
        if self.carried is None:
            self._load_history_and_steps()
        for stamped in events:
            event = stamped.event
            if isinstance(event, OrderEvent):
                self._order_event(stamped)
            elif isinstance(event, (AgentDedicated, AgentCoupled, AgentCouplingFailed, AgentEventsObserved)):
                self._agent_event(stamped)
            else:
                self._item_event(stamped)
        self._write()

    def _load_orders(self, order_ids: Sequence[str]) -> None:
        if self.carried is not None:
            self._take_carried(order_ids)
            return
        table = schema.orders
        for chunk in _chunks(order_ids):
            query = sa.select(
                table.c.order_id,
                table.c.order_json,
                table.c.run_event_id,
                table.c.step_event_id,
                table.c.updated_at,
                table.c.last_event_id,
            ).where(table.c.controller_id == self.cid, table.c.order_id.in_(chunk))
            for order_id, order_json, run_event_id, step_event_id, updated_at, last_event_id in self.connection.execute(
                query
            ):
                self.orders[order_id] = OrderRow(
                    order=codec.decode(loads(order_json), Order),
                    run_event_id=run_event_id,
                    step_event_id=step_event_id,
                    updated_at=updated_at,
                    last_event_id=last_event_id,
                )
                self.orders_in_db.add(order_id)

    def _take_carried(self, order_ids: Sequence[str]) -> None:
        # copies: the carried rows stay as committed until `carry` (this transaction may roll back)
        assert self.carried is not None
        for order_id in order_ids:
            carried = self.carried.orders.get(order_id)
            if carried is None:
                continue  # not in the database either
            row = self.orders[order_id] = replace(carried.row)
            self.orders_in_db.add(order_id)
            if carried.run is not None:
                self.history[(order_id, row.run_event_id)] = dict(carried.run)
            if carried.step is not None:
                assert row.step_event_id is not None
                self.steps[row.step_event_id] = dict(carried.step)

    def carry(self, event_id: int) -> None:
        """After the commit: the carried rows are now this batch's, at the stored `event_id`."""
        carried = self.carried
        assert carried is not None
        for order_id in self.orders_in_db - self.orders.keys():
            del carried.orders[order_id]
        for order_id, row in self.orders.items():
            carried.orders[order_id] = CarriedOrder(
                row,
                self.history.get((order_id, row.run_event_id)),
                self.steps.get(row.step_event_id) if row.step_event_id is not None else None,
            )
        if self.agents is not None:
            carried.agents = self.agents
        carried.event_id = event_id

    def _load_history_and_steps(self) -> None:
        history, steps = schema.order_history, schema.order_steps
        runs = [(order_id, row.run_event_id) for order_id, row in sorted(self.orders.items())]
        for chunk in _chunks(runs):
            query = sa.select(*history.columns).where(
                history.c.controller_id == self.cid,
                sa.tuple_(history.c.order_id, history.c.run_event_id).in_(list(chunk)),
            )
            for row in self.connection.execute(query).mappings():
                self.history[(row["order_id"], row["run_event_id"])] = dict(row)
        step_ids = sorted(row.step_event_id for row in self.orders.values() if row.step_event_id is not None)
        for chunk in _chunks(step_ids):
            query = sa.select(*steps.columns).where(
                steps.c.controller_id == self.cid, steps.c.step_event_id.in_(list(chunk))
            )
            for row in self.connection.execute(query).mappings():
                self.steps[row["step_event_id"]] = dict(row)

    # -- orders ---------------------------------------------------------------------------------------

    def _order_event(self, stamped: Stamped) -> None:
        order_id, event, ts, eid = stamped.key, stamped.event, stamped.timestamp_ms, stamped.event_id
        if isinstance(event, OrderAdded):
            if order_id in self.orders:
                self.inapplicable += 1
                return
            order = added_order(order_id, event)
            self.orders[order_id] = OrderRow(order, eid, None, ts, eid)
            self.dirty_orders.add(order_id)
            self._new_run(order, eid, ts, state="Pending")
            return
        row = self.orders.get(order_id)
        if row is None:
            self.inapplicable += 1
            return
        before = row.order
        assert isinstance(event, OrderEvent)
        updated = apply_order(before, event)
        if isinstance(updated, Problem):
            self.inapplicable += 1
            return
        run = self.history.get((order_id, row.run_event_id))
        match event:
            case OrderStarted():
                self._change_run(run, started_at=ts, state="Running")
            case OrderProcessingStarted(subagent_id=subagent_id):
                self._start_step(row, updated, eid, ts, subagent_id)
            case OrderStdoutWritten(chunk=chunk):
                self._task_log(row, eid, "stdout", chunk)
            case OrderStderrWritten(chunk=chunk):
                self._task_log(row, eid, "stderr", chunk)
            case OrderProcessed(outcome=outcome):
                self._end_step(row, ts, outcome)
            case OrderForked():
                for child_order in forked_children(before, event):
                    self.orders[child_order.id] = OrderRow(child_order, eid, None, ts, eid)
                    self.dirty_orders.add(child_order.id)
                    self._new_run(child_order, eid, ts, state="Running", started_at=ts)
            case OrderOrderAdded():  # an AddOrder instruction's order (no OrderAdded of its own, as in JS7)
                added = order_added_by(event)
                if added.id in self.orders:
                    self.inapplicable += 1
                else:
                    self.orders[added.id] = OrderRow(added, eid, None, ts, eid)
                    self.dirty_orders.add(added.id)
                    self._new_run(added, eid, ts, state="Pending")
            case OrderJoined():
                assert isinstance(before.state, Forked)
                for child_id in before.state.children:
                    child_row = self.orders.pop(child_id, None)
                    self.dirty_orders.discard(child_id)
                    if child_row is None:
                        continue
                    child_run = self.history.get((child_id, child_row.run_event_id))
                    if child_run is not None and child_run["ended_at"] is None:
                        failed = isinstance(child_row.order.state, FailedInFork)
                        self._end_run(child_run, child_row.order, ts, "Failed" if failed else "Finished")
            case OrderFailed() | OrderFailedInFork():
                self._end_run(run, updated, ts, "Failed")
            case OrderBroken(problem=text):
                self._end_run(run, updated, ts, "Broken", message=text)
            case OrderFinished():
                self._end_run(run, updated, ts, "Finished")
            case OrderCancelled():
                self._end_run(run, updated, ts, "Cancelled")
            case OrderResumed():
                if run is not None and run["state"] in ("Failed", "Broken"):
                    self._change_run(run, state="Running", ended_at=None, end_position=None, error_message=None)
            case OrderDeleted():
                del self.orders[order_id]
                self.dirty_orders.discard(order_id)
                return
        row.order = updated
        row.updated_at = ts
        row.last_event_id = eid
        self.dirty_orders.add(order_id)

    def _new_run(self, order: Order, eid: int, ts: int, *, state: str, started_at: int | None = None) -> None:
        key = (order.id, eid)
        self.history[key] = {
            "controller_id": self.cid,
            "order_id": order.id,
            "run_event_id": eid,
            "parent_order_id": order.parent,
            "workflow_path": order.workflow_id.path,
            "workflow_version": order.workflow_id.version_id,
            "arguments": _dumps(order.arguments),
            "added_at": ts,
            "scheduled_for": order.scheduled_for,
            "started_at": started_at,
            "ended_at": None,
            "state": state,
            "end_position": None,
            "error_message": None,
        }
        self.new_history.add(key)

    def _change_run(self, run: Row | None, **changes: Any) -> None:
        if run is None:
            self.inapplicable += 1
            return
        run.update(changes)
        key = (run["order_id"], run["run_event_id"])
        if key not in self.new_history:
            self.dirty_history.add(key)

    def _end_run(self, run: Row | None, order: Order, ts: int, state: str, message: str | None = None) -> None:
        if message is None and state != "Finished":
            outcome = order.last_outcome
            if outcome is not None and not outcome.is_succeeded:
                message = error_message(outcome)
        self._change_run(
            run,
            ended_at=ts,
            state=state,
            end_position=_dumps(order.position),
            error_message=message,
            started_at=run["started_at"] if run is not None and run["started_at"] is not None else ts,
        )

    # -- steps and task logs --------------------------------------------------------------------------

    def _start_step(self, row: OrderRow, order: Order, eid: int, ts: int, subagent_id: str | None) -> None:
        job_name = None
        workflow = self.projector.workflow(self.connection, self.cid, order.workflow_id)
        if workflow is not None:
            instruction = workflow.instruction(order.position)
            if isinstance(instruction, ExecuteNamed):
                job_name = instruction.job_name
        self.steps[eid] = {
            "controller_id": self.cid,
            "step_event_id": eid,
            "order_id": order.id,
            "run_event_id": row.run_event_id,
            "workflow_path": order.workflow_id.path,
            "workflow_version": order.workflow_id.version_id,
            "position": _dumps(order.position),
            "job_name": job_name,
            "agent_path": order.attached.agent_path if order.attached is not None else None,
            "subagent_id": subagent_id,
            "started_at": ts,
            "ended_at": None,
            "return_code": None,
            "outcome": None,
            "error_message": None,
            "log_bytes": 0,
            "log_dropped_bytes": 0,
            "log_truncated": False,
        }
        self.new_steps.add(eid)
        row.step_event_id = eid

    def _step_of(self, row: OrderRow) -> Row | None:
        step = self.steps.get(row.step_event_id) if row.step_event_id is not None else None
        if step is None:
            self.inapplicable += 1
            return None
        if step["step_event_id"] not in self.new_steps:
            self.dirty_steps.add(step["step_event_id"])
        return step

    def _end_step(self, row: OrderRow, ts: int, outcome: Outcome) -> None:
        step = self._step_of(row)
        row.step_event_id = None
        if step is None:
            return
        step["ended_at"] = ts
        step["outcome"] = outcome_name(outcome)
        step["return_code"] = return_code_of(outcome)
        if not outcome.is_succeeded:
            step["error_message"] = (
                f"{outcome.reason}: {outcome.message or ''}".rstrip(": ")
                if isinstance(outcome, Disrupted)
                else error_message(outcome)
            )

    def _task_log(self, row: OrderRow, eid: int, stream: str, chunk: str) -> None:
        step = self._step_of(row)
        if step is None:
            return
        data = chunk.encode()
        if step["log_truncated"]:
            step["log_dropped_bytes"] += len(data)
            return
        limit = self.projector.task_log_limit
        room = limit - step["log_bytes"]
        if len(data) > room:
            kept = data[:room].decode("utf-8", errors="ignore").encode()  # not in the middle of a character
            step["log_dropped_bytes"] += len(data) - len(kept)
            step["log_truncated"] = True
            step["log_bytes"] += len(kept)
            data = kept + TRUNCATION_MARKER.format(limit=limit).encode()
        else:
            step["log_bytes"] += len(data)
        self.logs.append(
            {
                "controller_id": self.cid,
                "event_id": eid,
                "step_event_id": step["step_event_id"],
                "stream": stream,
                "size": len(data),
                "data": zlib.compress(data, 6),
            }
        )

    # -- Agents and items -----------------------------------------------------------------------------

    def _load_agents(self) -> dict[str, Row]:
        if self.agents is None and self.carried is not None and self.carried.agents is not None:
            self.agents = {path: dict(agent) for path, agent in self.carried.agents.items()}
            self.agents_in_db = set(self.agents)
        if self.agents is None:
            table = schema.agents
            rows = self.connection.execute(sa.select(*table.columns).where(table.c.controller_id == self.cid))
            self.agents = {row["agent_path"]: dict(row) for row in rows.mappings()}
            self.agents_in_db = set(self.agents)
        return self.agents

    def _agent_event(self, stamped: Stamped) -> None:
        agent = self._load_agents().get(stamped.key)
        if agent is None:
            self.inapplicable += 1
            return
        match stamped.event:
            case AgentDedicated(agent_run_id=run_id, agent_event_id=agent_event_id):
                agent.update(agent_run_id=run_id, agent_event_id=agent_event_id, coupling="Reset", last_problem=None)
            case AgentCoupled():
                agent.update(coupling="Coupled", last_problem=None)
            case AgentCouplingFailed(problem=text):
                agent.update(coupling="CouplingFailed", last_problem=text)
            case AgentEventsObserved(until_event_id=until):
                agent.update(agent_event_id=until)
        agent["updated_at"] = stamped.timestamp_ms
        self.dirty_agents.add(stamped.key)

    def _item_event(self, stamped: Stamped) -> None:
        ts = stamped.timestamp_ms
        match stamped.event:
            case UnsignedSimpleItemAdded(item=item) | UnsignedSimpleItemChanged(item=item):
                obj = value_to_json(item)
                if isinstance(obj, dict) and obj.get("TYPE") == "AgentRef":
                    self._agent_item(obj, ts)
                elif isinstance(obj, dict) and obj.get("TYPE") in ("SubagentItem", "Subagent"):
                    self._subagent_item(obj, ts)
                elif isinstance(obj, dict) and obj.get("TYPE") in BUNDLE_TYPES:
                    self._subagent_bundle(obj, ts)
                elif isinstance(obj, dict) and obj.get("TYPE") == "WorkflowPathControl":
                    self._workflow_path_control(obj, ts)
            case VersionedItemAdded(item=item) | VersionedItemChanged(item=item):
                self._workflow_item(item, ts)
            case VersionedItemRemoved(path=path):
                table = schema.workflows
                self.connection.execute(
                    table.update()
                    .where(table.c.controller_id == self.cid, table.c.path == path, table.c.is_current)
                    .values(is_current=False, removed_at=ts)
                )
            case ItemDeleted(key=key):
                self._item_deleted(key, ts)

    def _workflow_path_control(self, obj: dict[str, Any], ts: int) -> None:
        table = schema.workflow_path_controls
        key = (table.c.controller_id == self.cid, table.c.path == str(obj["path"]))
        values = {
            "suspended": bool(obj.get("suspended")),
            "skip": _dumps(sorted(obj.get("skip", []))),
            "updated_at": ts,
        }
        if self.connection.execute(table.update().where(*key).values(**values)).rowcount == 0:
            self.connection.execute(table.insert().values(controller_id=self.cid, path=str(obj["path"]), **values))

    def _agent_item(self, obj: dict[str, Any], ts: int) -> None:
        agents = self._load_agents()
        path = str(obj["path"])
        agent = agents.get(path)
        if agent is None:
            agent = agents[path] = {
                "controller_id": self.cid,
                "agent_path": path,
                "coupling": "Reset",
                "agent_run_id": None,
                "agent_event_id": 0,
                "last_problem": None,
            }
        agent.update(
            uri=obj.get("uri"),
            directors=_dumps(obj.get("directors", [])),
            process_limit=obj.get("processLimit"),
            deleted=False,
            updated_at=ts,
        )
        self.dirty_agents.add(path)

    def _subagent_item(self, obj: dict[str, Any], ts: int) -> None:
        table = schema.subagents
        key = {"controller_id": self.cid, "subagent_id": str(obj["id"])}
        values = {
            "agent_path": str(obj["agentPath"]),
            "uri": str(obj["uri"]),
            "disabled": bool(obj.get("disabled", False)),
            "deleted": False,
            "updated_at": ts,
        }
        where = sa.and_(table.c.controller_id == self.cid, table.c.subagent_id == key["subagent_id"])
        if self.connection.execute(table.update().where(where).values(**values)).rowcount == 0:
            self.connection.execute(table.insert().values(**key, **values))

    def _subagent_bundle(self, obj: dict[str, Any], ts: int) -> None:
        table = schema.subagent_bundles
        bundle_id = str(obj["id"])
        values = {"priorities": _dumps(obj.get("subagentToPriority", {})), "deleted": False, "updated_at": ts}
        where = sa.and_(table.c.controller_id == self.cid, table.c.bundle_id == bundle_id)
        if self.connection.execute(table.update().where(where).values(**values)).rowcount == 0:
            self.connection.execute(table.insert().values(controller_id=self.cid, bundle_id=bundle_id, **values))

    def _workflow_item(self, item: Any, ts: int) -> None:
        obj = value_to_json(item)
        path, version_id = str(obj["path"]), str(obj["versionId"])
        table = schema.workflows
        self.connection.execute(
            table.update()
            .where(table.c.controller_id == self.cid, table.c.path == path, table.c.is_current)
            .values(is_current=False, removed_at=ts)
        )
        self.connection.execute(
            table.insert().values(
                controller_id=self.cid,
                path=path,
                version_id=version_id,
                workflow_json=_dumps(obj),
                is_current=True,
                deployed_at=ts,
            )
        )
        self.projector.remember_workflow(self.cid, item)

    def _item_deleted(self, key: str, ts: int) -> None:
        kind, _, name = key.partition(":")
        if kind == "AgentRef":
            agent = self._load_agents().get(name)
            if agent is not None:
                agent.update(deleted=True, updated_at=ts)
                self.dirty_agents.add(name)
        elif kind == "SubagentItem":
            table = schema.subagents
            self.connection.execute(
                table.update()
                .where(table.c.controller_id == self.cid, table.c.subagent_id == name)
                .values(deleted=True, updated_at=ts)
            )
        elif kind == "SubagentBundle":
            table = schema.subagent_bundles
            self.connection.execute(
                table.update()
                .where(table.c.controller_id == self.cid, table.c.bundle_id == name)
                .values(deleted=True, updated_at=ts)
            )
        elif kind == "WorkflowPathControl":
            table = schema.workflow_path_controls
            self.connection.execute(table.delete().where(table.c.controller_id == self.cid, table.c.path == name))
        elif kind == "Workflow":
            path, _, version_id = name.partition("~")
            table = schema.workflows
            self.connection.execute(
                table.update()
                .where(table.c.controller_id == self.cid, table.c.path == path, table.c.version_id == version_id)
                .values(is_current=False, deleted_at=ts)
            )

    # -- writing --------------------------------------------------------------------------------------

    def _order_values(self, order_id: str, row: OrderRow) -> Row:
        order = row.order
        return {
            "controller_id": self.cid,
            "order_id": order_id,
            "workflow_path": order.workflow_id.path,
            "workflow_version": order.workflow_id.version_id,
            "state": type(order.state).__name__,
            "is_suspended": order.is_suspended,
            "position": _dumps(order.position),
            "arguments": _dumps(order.arguments),
            "scheduled_for": order.scheduled_for,
            "agent_path": order.attached.agent_path if order.attached is not None else None,
            "parent_order_id": order.parent,
            "run_event_id": row.run_event_id,
            "step_event_id": row.step_event_id,
            "order_json": _dumps(codec.encode(order)),
            "updated_at": row.updated_at,
            "last_event_id": row.last_event_id,
        }

    def _write(self) -> None:
        c, w = self.connection, self.writer
        orders = schema.orders
        deleted = sorted(self.orders_in_db - set(self.orders))
        for chunk in _chunks(deleted):
            c.execute(orders.delete().where(orders.c.controller_id == self.cid, orders.c.order_id.in_(list(chunk))))
        inserts: list[Row] = []
        updates: list[Row] = []
        for order_id in sorted(self.dirty_orders):
            values = self._order_values(order_id, self.orders[order_id])
            (updates if order_id in self.orders_in_db else inserts).append(values)
        w.insert(orders, inserts)
        w.update(orders, updates, ("order_id",))
        w.insert(schema.order_history, [self.history[k] for k in sorted(self.new_history)])
        w.update(
            schema.order_history, [self.history[k] for k in sorted(self.dirty_history)], ("order_id", "run_event_id")
        )
        w.insert(schema.order_steps, [self.steps[k] for k in sorted(self.new_steps)])
        w.update(schema.order_steps, [self.steps[k] for k in sorted(self.dirty_steps)], ("step_event_id",))
        w.insert(schema.task_logs, self.logs)
        if self.agents is not None:
            w.insert(schema.agents, [self.agents[p] for p in sorted(self.dirty_agents) if p not in self.agents_in_db])
            w.update(
                schema.agents, [self.agents[p] for p in sorted(self.dirty_agents & self.agents_in_db)], ("agent_path",)
            )
