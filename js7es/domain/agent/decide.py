"""The Agent Director's decisions on the Controller's commands: pure, like the Controller's `decide`.

`decide(state, command, ctx)` returns the events a command yields and the reply, or the Problem why it
is refused; the state is not changed. The commands are idempotent (the Controller repeats them after
any connection loss): attaching an order that is here already, detaching one that is gone, marking an
order as it is marked already yields no event. The node applies and persists the events, and answers
only once they — or, for a reply without events, the commits it rests on — are committed.

`ReleaseEvents`, `ShutDown`, `NoOperation` and `Batch` are about the node (its journal, its process),
not its state: the node handles them (`NODE_COMMANDS`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from js7es.domain import codec
from js7es.domain.agent import commands as cmd
from js7es.domain.agent.agent_state import AgentState
from js7es.domain.agent.events import AgentDedicatedToController, ItemAttachedToMe, ItemDetachedFromMe
from js7es.domain.agent.selection import agent_subagent_ids
from js7es.domain.agent.subagent_events import SubagentResetStarted
from js7es.domain.event import NO_KEY, KeyedEvent
from js7es.domain.items import parse_simple_item
from js7es.domain.order.events import OrderAttachedToAgent, OrderDetached, mark_event
from js7es.domain.order.order import Attachment, Cancelling, Going, Resuming, Suspending
from js7es.domain.orderwatch.events import ExternalOrderVanished
from js7es.domain.orderwatch.item import FileWatch
from js7es.domain.problem import Problem, problem
from js7es.domain.value import value_from_json

ACCEPTED: Mapping[str, Any] = {"TYPE": "Accepted"}
NODE_COMMANDS = (
    cmd.ReleaseAgentEvents,
    cmd.ShutDownAgent,
    cmd.AgentNoOperation,
    cmd.AgentBatch,
    cmd.AgentClusterSwitchOver,  # a Director pair hands over (js7es.nodes.agent.api)
)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentContext:
    """What a decision needs from outside the state: the domain draws no random numbers."""

    new_agent_run_id: str  # the id a new dedication gets (names this Agent's journal for the Controller)
    last_event_id: int  # the Agent journal's last EventId


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDecided:
    events: tuple[KeyedEvent, ...] = ()
    reply: Mapping[str, Any] = field(default_factory=lambda: dict(ACCEPTED))
    touched_orders: tuple[str, ...] = ()  # orders that may go on now (a workflow resumed, a job unskipped)


Handler = Callable[[AgentState, Any, AgentContext], AgentDecided | Problem]
_HANDLERS: dict[type[cmd.AgentCommand], Handler] = {}


def _handles(command_class: type[cmd.AgentCommand]) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _HANDLERS[command_class] = handler
        return handler

    return register


def decide(state: AgentState, command: cmd.AgentCommand, ctx: AgentContext) -> AgentDecided | Problem:
    handler = _HANDLERS.get(type(command))
    if handler is None:
        return problem("UnknownCommand", f"The Agent's state does not decide {type(command).__name__}")
    if not state.is_dedicated and not isinstance(command, cmd.DedicateAgentDirector):
        return problem("AgentNotDedicated", "This Agent is not dedicated to a Controller")
    return handler(state, command, ctx)


def handled_commands() -> frozenset[type[cmd.AgentCommand]]:
    return frozenset(_HANDLERS)


def _this_run(state: AgentState, agent_path: str, agent_run_id: str) -> Problem | None:
    if agent_path != state.agent_path:
        return problem("AgentPathMismatch", f"This Agent is {state.agent_path!r}, not {agent_path!r}")
    if agent_run_id != state.agent_run_id:
        return problem("AgentRunIdMismatch", "The Agent has been reset: its journal is another one")
    return None


@_handles(cmd.DedicateAgentDirector)
def _dedicate(state: AgentState, c: cmd.DedicateAgentDirector, ctx: AgentContext) -> AgentDecided | Problem:
    if state.is_dedicated:
        if state.controller_id != c.controller_id:
            return problem(
                "AgentWrongController",
                f"This Agent is dedicated to Controller {state.controller_id!r}, not {c.controller_id!r}",
            )
        if state.agent_path != c.agent_path:
            return problem("AgentPathMismatch", f"This Agent is {state.agent_path!r}, not {c.agent_path!r}")
        return AgentDecided(reply={"agentRunId": state.agent_run_id, "agentEventId": 0})
    event = AgentDedicatedToController(
        agent_path=c.agent_path,
        controller_id=c.controller_id,
        agent_run_id=ctx.new_agent_run_id,
        directors=c.directors,
    )
    return AgentDecided(
        events=(KeyedEvent(NO_KEY, event),), reply={"agentRunId": ctx.new_agent_run_id, "agentEventId": 0}
    )


@_handles(cmd.CoupleController)
def _couple(state: AgentState, c: cmd.CoupleController, ctx: AgentContext) -> AgentDecided | Problem:
    refused = _this_run(state, c.agent_path, c.agent_run_id)
    if refused is not None:
        return refused
    if c.event_id > ctx.last_event_id:
        return problem("UnknownEventId", f"EventId {c.event_id} is in the future of this Agent")
    subagent_keys = [f"SubagentItem:{i}" for i in state.subagents] + [
        f"SubagentBundle:{i}" for i in state.subagent_bundles
    ]
    return AgentDecided(
        reply={
            "orderIds": sorted(state.orders),
            "fileWatchPaths": sorted(state.file_watches),
            "subagentKeys": sorted(subagent_keys),  # js7es: what the Controller may have to detach
        }
    )


@_handles(cmd.AttachItems)
def _attach_items(state: AgentState, c: cmd.AttachItems, ctx: AgentContext) -> AgentDecided | Problem:
    events: list[KeyedEvent] = []
    for item in c.items:
        if state.has_item(item):
            continue
        if isinstance(item, Mapping) and item.get("TYPE") == "FileWatch" and item.get("agentPath") != state.agent_path:
            return problem("InvalidItem", f"FileWatch {item.get('path')} belongs to Agent {item.get('agentPath')!r}")
        events.extend(_files_vanishing_for(state, item))
        keyed = KeyedEvent(NO_KEY, ItemAttachedToMe(item=value_from_json(dict(item))))
        bad = AgentState().apply_event(keyed.key, keyed.event)  # refuse a bad item before anything is journaled
        if bad is not None:
            return bad
        events.append(keyed)
    controlled = {_controlled_path(item) for item in c.items} - {None}
    touched = tuple(sorted(o.id for o in state.orders.values() if o.workflow_id.path in controlled))
    return AgentDecided(events=tuple(events), touched_orders=touched)


def _files_vanishing_for(state: AgentState, item: Any) -> list[KeyedEvent]:
    """JS7's FileWatchManager.update: when a FileWatch's directory changes, all its files vanish first."""
    if not isinstance(item, Mapping) or item.get("TYPE") != "FileWatch":
        return []
    watch = state.file_watches.get(str(item.get("path")))
    new = parse_simple_item(item, committed=True)
    if watch is None or (isinstance(new, FileWatch) and new.directory_expr == watch.item.directory_expr):
        return []
    return _all_files_vanished(state, watch.item.path)


def _all_files_vanished(state: AgentState, path: str) -> list[KeyedEvent]:
    watch = state.file_watches[path]
    return [KeyedEvent(path, ExternalOrderVanished(external_order_name=name)) for name in sorted(watch.files)]


@_handles(cmd.DetachItem)
def _detach_item(state: AgentState, c: cmd.DetachItem, ctx: AgentContext) -> AgentDecided | Problem:
    """JS7: a detached FileWatch's files all vanish, so that the Controller can delete their orders. A
    deleted SubagentItem or SubagentBundle is detached too."""
    kind, _, ident = c.key.partition(":")
    if kind in ("SubagentItem", "SubagentBundle"):
        table = state.subagents if kind == "SubagentItem" else state.subagent_bundles
        if ident not in table:
            return AgentDecided()  # detached already
        if kind == "SubagentItem" and ident == state.local_subagent_id:
            return problem("SubagentIsDirector", f"{c.key} is this Agent's Director: it cannot be detached")
        return AgentDecided(events=(KeyedEvent(NO_KEY, ItemDetachedFromMe(key=c.key)),))
    if not c.key.startswith("OrderWatch:"):
        return problem("NotSupported", f"js7es detaches only FileWatches from an Agent, not {c.key}")
    path = c.key.removeprefix("OrderWatch:")
    if path not in state.file_watches:
        return AgentDecided()  # detached already
    return AgentDecided(events=(*_all_files_vanished(state, path), KeyedEvent(NO_KEY, ItemDetachedFromMe(key=c.key))))


def _controlled_path(item: Any) -> str | None:
    """The workflow path a WorkflowPathControl or WorkflowControl controls (js7es.domain.workflow_control)."""
    if not isinstance(item, Mapping):
        return None
    match item.get("TYPE"):
        case "WorkflowPathControl":
            return str(item.get("path"))
        case "WorkflowControl":
            ident = item.get("id")
            return str(ident.get("path")) if isinstance(ident, Mapping) else None
    return None


@_handles(cmd.AttachOrder)
def _attach_order(state: AgentState, c: cmd.AttachOrder, ctx: AgentContext) -> AgentDecided | Problem:
    order = c.order
    if order.id in state.orders:
        return AgentDecided()  # attached already
    if order.workflow_id not in state.workflows:
        return problem("UnknownItem", f"Workflow {order.workflow_id} has not been attached to this Agent")
    assert state.agent_path is not None
    attached = replace(order, attached=Attachment(kind="Attached", agent_path=state.agent_path))
    return AgentDecided(events=(KeyedEvent(order.id, OrderAttachedToAgent(order=attached)),))


@_handles(cmd.DetachOrder)
def _detach_order(state: AgentState, c: cmd.DetachOrder, ctx: AgentContext) -> AgentDecided | Problem:
    order = state.orders.get(c.order_id)
    if order is None:
        return AgentDecided()  # detached already
    if order.attached is None or order.attached.kind != "Detaching":
        return problem("OrderNotDetachable", f"Order {c.order_id!r} is not detachable")
    return AgentDecided(events=(KeyedEvent(c.order_id, OrderDetached()),))


@_handles(cmd.MarkOrder)
def _mark_order(state: AgentState, c: cmd.MarkOrder, ctx: AgentContext) -> AgentDecided | Problem:
    order = state.orders.get(c.order_id)
    if order is None or order.mark == c.mark or order.is_terminal:
        return AgentDecided()
    if not isinstance(c.mark, (Cancelling, Suspending, Resuming, Going)):
        return problem("InvalidMark", f"Unknown mark {type(c.mark).__name__}")
    if isinstance(c.mark, Resuming) and not isinstance(order.mark, Suspending):
        return AgentDecided()
    if isinstance(c.mark, Going) and not order.is_go_commandable(c.mark.position):
        return AgentDecided()  # it went on meanwhile: the mark came too late (JS7 ignores it too)
    return AgentDecided(events=(KeyedEvent(c.order_id, mark_event(c.mark)),))


@_handles(cmd.ResetSubagent)
def _reset_subagent(state: AgentState, c: cmd.ResetSubagent, ctx: AgentContext) -> AgentDecided | Problem:
    """The Director resets the Subagent once the event is committed (its pool, js7es.nodes.agent)."""
    if c.subagent_id not in agent_subagent_ids(state):
        return problem("UnknownKey", f"No such Subagent: {c.subagent_id}", key=f"SubagentItem:{c.subagent_id}")
    if c.subagent_id in state.directors or c.subagent_id == state.local_subagent_id:
        return problem("SubagentIsDirector", f"{c.subagent_id} as an Agent Director cannot be reset")
    return AgentDecided(events=(KeyedEvent(c.subagent_id, SubagentResetStarted(force=c.force)),))


def decode_command(obj: Mapping[str, Any]) -> cmd.AgentCommand | Problem:
    """A command from its JSON (already checked for its fields' presence and JSON types)."""
    try:
        return codec.decode(obj, cmd.AgentCommand)
    except codec.CodecError as e:
        what = str(obj.get("TYPE"))
        return problem("InvalidOrder" if what == "AttachOrder" else "InvalidRequest", f"{what}: {e}")
