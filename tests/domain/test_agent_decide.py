"""The Agent Director's pure `decide`: a table of Agent state by Controller command (issue 11), with a
meta-test that the table covers every command the protocol has, and the typed commands' JSON at the wire
(JS7's AgentCommand names and camelCase fields).
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

import js7es.domain.state  # noqa: F401  (registers every event class)
from js7es.domain import codec
from js7es.domain.agent.agent_state import AgentState
from js7es.domain.agent.commands import (
    AgentBatch,
    AgentCommand,
    AgentNoOperation,
    AttachItems,
    AttachOrder,
    CoupleController,
    DedicateAgentDirector,
    DetachItem,
    DetachOrder,
    MarkOrder,
    ReleaseAgentEvents,
    ResetSubagent,
    ShutDownAgent,
    agent_command_classes,
)
from js7es.domain.agent.decide import (
    NODE_COMMANDS,
    AgentContext,
    AgentDecided,
    decide,
    decode_command,
    handled_commands,
)
from js7es.domain.agent.events import AgentDedicatedToController, ItemAttachedToMe
from js7es.domain.event import NO_KEY
from js7es.domain.order import states as st
from js7es.domain.order.events import OrderAttachedToAgent
from js7es.domain.order.order import Attachment, Cancelling, Order, Resuming, Suspending
from js7es.domain.problem import Problem
from js7es.domain.workflow.workflow import WorkflowId

AGENT = "agent-1"
WORKFLOW_ID = WorkflowId("W", "1")
WORKFLOW_JSON: dict[str, Any] = {
    "TYPE": "Workflow",
    "path": "W",
    "versionId": "1",
    "instructions": [
        {
            "TYPE": "Execute.Anonymous",
            "job": {"agentPath": AGENT, "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}},
        }
    ],
}
CTX = AgentContext(new_agent_run_id="run-2", last_event_id=1_000)
ORDER = Order(id="o", workflow_id=WORKFLOW_ID, position=(0,), state=st.Ready())


def agent_state(*, dedicated: bool = True, workflow: bool = True, order: Order | None = None) -> AgentState:
    state = AgentState()
    events: list[Any] = []
    if dedicated:
        events.append(
            AgentDedicatedToController(agent_path=AGENT, controller_id="js7es", agent_run_id="run-1", directors=())
        )
    if workflow:
        events.append(ItemAttachedToMe(item=WORKFLOW_JSON))
    for event in events:
        assert state.apply_event(NO_KEY, event) is None
    if order is not None:
        attached = replace(order, attached=Attachment(kind="Attached", agent_path=AGENT))
        assert state.apply_event(order.id, OrderAttachedToAgent(order=attached)) is None
        if order.attached is not None and order.attached.kind == "Detaching":
            state.orders[order.id] = order
    return state


SUBAGENT_JSON: dict[str, Any] = {"TYPE": "SubagentItem", "id": AGENT, "agentPath": AGENT, "uri": "https://a:1"}
NEW = agent_state(dedicated=False, workflow=False)
EMPTY = agent_state()
WITH_ORDER = agent_state(order=ORDER)
DETACHING = agent_state(order=replace(ORDER, attached=Attachment(kind="Detaching", agent_path=AGENT)))
SUSPENDING = agent_state(order=replace(ORDER, mark=Suspending()))
FINISHED = agent_state(order=replace(ORDER, state=st.Finished()))
WITH_SUBAGENT = agent_state()
assert WITH_SUBAGENT.apply_event(NO_KEY, ItemAttachedToMe(item=SUBAGENT_JSON)) is None
REMOTE_JSON: dict[str, Any] = {"TYPE": "SubagentItem", "id": "sub-2", "agentPath": AGENT, "uri": "https://b:1"}
BUNDLE_JSON: dict[str, Any] = {"TYPE": "SubagentBundle", "id": "B", "subagentToPriority": {AGENT: 2, "sub-2": "1"}}
WITH_REMOTE = agent_state()
assert WITH_REMOTE.apply_event(NO_KEY, ItemAttachedToMe(item=SUBAGENT_JSON)) is None
assert WITH_REMOTE.apply_event(NO_KEY, ItemAttachedToMe(item=REMOTE_JSON)) is None

DEDICATE = DedicateAgentDirector(agent_path=AGENT, controller_id="js7es")
TABLE: list[tuple[str, AgentState, AgentCommand, str]] = [
    # (name, state, command, expected: event TYPEs joined by "+", "no event", or a problem code)
    ("dedicate a new Agent", NEW, DEDICATE, "AgentDirectorDedicated"),
    ("dedicate again: the same answer", EMPTY, DEDICATE, "no event"),
    ("dedicate to another Controller", EMPTY, replace(DEDICATE, controller_id="other"), "AgentWrongController"),
    ("dedicate under another path", EMPTY, replace(DEDICATE, agent_path="other"), "AgentPathMismatch"),
    ("couple", EMPTY, CoupleController(agent_path=AGENT, agent_run_id="run-1", event_id=5), "no event"),
    ("couple an undedicated Agent", NEW, CoupleController(agent_path=AGENT, agent_run_id="r", event_id=0),
     "AgentNotDedicated"),
    ("couple with an old run id", EMPTY, CoupleController(agent_path=AGENT, agent_run_id="run-0", event_id=5),
     "AgentRunIdMismatch"),
    ("couple under another path", EMPTY, CoupleController(agent_path="x", agent_run_id="run-1", event_id=5),
     "AgentPathMismatch"),
    ("couple from the future", EMPTY, CoupleController(agent_path=AGENT, agent_run_id="run-1", event_id=1_001),
     "UnknownEventId"),
    ("attach a new item", agent_state(workflow=False), AttachItems(items=(WORKFLOW_JSON,)), "ItemAttachedToMe"),
    ("attach an item that is here", EMPTY, AttachItems(items=(WORKFLOW_JSON,)), "no event"),
    ("attach an unknown item type", EMPTY, AttachItems(items=({"TYPE": "Gadget"},)), "UnknownItemType"),
    ("attach items undedicated", NEW, AttachItems(items=(WORKFLOW_JSON,)), "AgentNotDedicated"),
    ("attach the Director's SubagentItem", EMPTY, AttachItems(items=(SUBAGENT_JSON,)), "ItemAttachedToMe"),
    ("attach it again", WITH_SUBAGENT, AttachItems(items=(SUBAGENT_JSON,)), "no event"),
    ("disable it", WITH_SUBAGENT, AttachItems(items=({**SUBAGENT_JSON, "disabled": True},)), "ItemAttachedToMe"),
    ("attach an order", EMPTY, AttachOrder(order=ORDER), "OrderAttachedToAgent"),
    ("attach an order again", WITH_ORDER, AttachOrder(order=ORDER), "no event"),
    ("attach an order of an unknown workflow", agent_state(workflow=False), AttachOrder(order=ORDER), "UnknownItem"),
    ("attach an order undedicated", NEW, AttachOrder(order=ORDER), "AgentNotDedicated"),
    ("detach a detaching order", DETACHING, DetachOrder(order_id="o"), "OrderDetached"),
    ("detach an order that is gone", EMPTY, DetachOrder(order_id="o"), "no event"),
    ("detach an order that is not detaching", WITH_ORDER, DetachOrder(order_id="o"), "OrderNotDetachable"),
    ("detach undedicated", NEW, DetachOrder(order_id="o"), "AgentNotDedicated"),
    ("cancel", WITH_ORDER, MarkOrder(order_id="o", mark=Cancelling(kill=True)), "OrderCancellationMarked"),
    ("suspend", WITH_ORDER, MarkOrder(order_id="o", mark=Suspending()), "OrderSuspensionMarked"),
    ("suspend again", SUSPENDING, MarkOrder(order_id="o", mark=Suspending()), "no event"),
    ("resume a suspending order", SUSPENDING, MarkOrder(order_id="o", mark=Resuming()), "OrderResumptionMarked"),
    ("resume an order not suspending", WITH_ORDER, MarkOrder(order_id="o", mark=Resuming()), "no event"),
    ("mark a finished order", FINISHED, MarkOrder(order_id="o", mark=Cancelling()), "no event"),
    ("mark an order that is gone", EMPTY, MarkOrder(order_id="o", mark=Cancelling()), "no event"),
    ("mark undedicated", NEW, MarkOrder(order_id="o", mark=Cancelling()), "AgentNotDedicated"),
    ("detach a FileWatch that is gone", EMPTY, DetachItem(key="OrderWatch:w"), "no event"),
    ("detach another item", EMPTY, DetachItem(key="Lock:l"), "NotSupported"),
    ("attach a SubagentBundle", WITH_REMOTE, AttachItems(items=(BUNDLE_JSON,)), "ItemAttachedToMe"),
    ("attach a SubagentSelection (JS7's old name) that is here as a bundle", agent_state(), AttachItems(items=(
        {**BUNDLE_JSON, "TYPE": "SubagentSelection"},)), "ItemAttachedToMe"),
    ("reset a Subagent", WITH_REMOTE, ResetSubagent(subagent_id="sub-2", force=True), "SubagentResetStarted"),
    ("reset the Director's own Subagent", WITH_REMOTE, ResetSubagent(subagent_id=AGENT), "SubagentIsDirector"),
    ("reset an unknown Subagent", WITH_REMOTE, ResetSubagent(subagent_id="nope"), "UnknownKey"),
    ("reset undedicated", NEW, ResetSubagent(subagent_id="sub-2"), "AgentNotDedicated"),
    ("detach a deleted Subagent", WITH_REMOTE, DetachItem(key="SubagentItem:sub-2"), "ItemDetachedFromMe"),
    ("detach it again", EMPTY, DetachItem(key="SubagentItem:sub-2"), "no event"),
    ("detach the Director's Subagent", WITH_REMOTE, DetachItem(key=f"SubagentItem:{AGENT}"), "SubagentIsDirector"),
    ("detach a bundle that is gone", EMPTY, DetachItem(key="SubagentBundle:B"), "no event"),
]  # fmt: skip


def outcome(decided: AgentDecided | Problem) -> str:
    if isinstance(decided, Problem):
        return decided.code
    return "+".join(codec.type_name_of(type(k.event)) for k in decided.events) or "no event"


@pytest.mark.parametrize(("name", "state", "command", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_state_times_command(name: str, state: AgentState, command: AgentCommand, expected: str) -> None:
    before = state.state_hash()
    decided = decide(state, command, CTX)
    assert outcome(decided) == expected
    assert state.state_hash() == before  # deciding changes nothing
    if not isinstance(decided, Problem):
        probe = copy.deepcopy(state)
        for keyed in decided.events:  # what is decided applies
            assert probe.apply_event(keyed.key, keyed.event) is None


def test_the_table_covers_every_command_the_state_decides() -> None:
    in_table = {type(row[2]) for row in TABLE}
    assert handled_commands() == in_table
    assert set(agent_command_classes().values()) == in_table | set(NODE_COMMANDS)


def test_the_replies() -> None:
    dedicated = decide(NEW, DEDICATE, CTX)
    assert isinstance(dedicated, AgentDecided) and dedicated.reply == {"agentRunId": "run-2", "agentEventId": 0}
    again = decide(EMPTY, DEDICATE, CTX)
    assert isinstance(again, AgentDecided) and again.reply == {"agentRunId": "run-1", "agentEventId": 0}
    coupled = decide(WITH_ORDER, CoupleController(agent_path=AGENT, agent_run_id="run-1", event_id=0), CTX)
    assert isinstance(coupled, AgentDecided) and coupled.reply == {
        "orderIds": ["o"],
        "fileWatchPaths": [],
        "subagentKeys": [],
    }
    attached = decide(EMPTY, AttachOrder(order=ORDER), CTX)
    assert isinstance(attached, AgentDecided) and attached.reply == {"TYPE": "Accepted"}
    (event,) = attached.events
    assert isinstance(event.event, OrderAttachedToAgent)
    assert event.event.order.attached == Attachment(kind="Attached", agent_path=AGENT)


WIRE = [
    (DEDICATE, {"TYPE": "DedicateAgentDirector", "agentPath": AGENT, "controllerId": "js7es", "directors": []}),
    (CoupleController(agent_path=AGENT, agent_run_id="r", event_id=7),
     {"TYPE": "CoupleController", "agentPath": AGENT, "agentRunId": "r", "eventId": 7}),
    (DetachOrder(order_id="o"), {"TYPE": "DetachOrder", "orderId": "o"}),
    (DetachItem(key="OrderWatch:w"), {"TYPE": "DetachItem", "key": "OrderWatch:w"}),
    (MarkOrder(order_id="o", mark=Suspending(kill=True)),
     {"TYPE": "MarkOrder", "orderId": "o",
      "mark": {"TYPE": "Suspending", "kill": True, "killImmediately": False, "resetState": False}}),
    (ReleaseAgentEvents(until_event_id=9), {"TYPE": "ReleaseEvents", "untilEventId": 9}),
    (ShutDownAgent(), {"TYPE": "ShutDown", "suppressSnapshot": False, "restart": False}),
    (AgentNoOperation(), {"TYPE": "NoOperation"}),
    (AgentBatch(commands=(AgentNoOperation(), DetachOrder(order_id="o"))),
     {"TYPE": "Batch", "commands": [{"TYPE": "NoOperation"}, {"TYPE": "DetachOrder", "orderId": "o"}]}),
]  # fmt: skip


@pytest.mark.parametrize(("command", "json"), WIRE, ids=[codec.type_name_of(type(c)) for c, _ in WIRE])
def test_the_commands_on_the_wire(command: AgentCommand, json: dict[str, Any]) -> None:
    encoded = codec.encode(command)
    assert {k: v for k, v in encoded.items() if v is not None} == json
    assert decode_command(json) == command


def test_an_order_and_items_round_trip_through_the_codec() -> None:
    for command in (AttachOrder(order=ORDER), AttachItems(items=(WORKFLOW_JSON,))):
        assert decode_command(codec.encode(command)) == command


def test_undecodable_commands_are_coded_problems() -> None:
    bad_order = decode_command({"TYPE": "AttachOrder", "order": {"id": "x"}})
    assert isinstance(bad_order, Problem) and bad_order.code == "InvalidOrder"
    bad_mark = decode_command({"TYPE": "MarkOrder", "orderId": "x", "mark": {"TYPE": "Exploding"}})
    assert isinstance(bad_mark, Problem) and bad_mark.code == "InvalidRequest"


def test_a_disabled_director_subagent_holds_the_agents_jobs_and_survives_a_snapshot() -> None:
    """The Director's own SubagentItem (id = the local subagent id) rules whether jobs start here."""
    state = agent_state()
    assert state.local_subagent_enabled  # no SubagentItem: enabled, as before any was sent
    assert state.apply_event(NO_KEY, ItemAttachedToMe(item={**SUBAGENT_JSON, "disabled": True})) is None
    assert not state.local_subagent_enabled
    other = {**SUBAGENT_JSON, "id": "other", "agentPath": "other-agent"}
    refused = state.apply_event(NO_KEY, ItemAttachedToMe(item=other))
    assert isinstance(refused, Problem) and refused.code == "InvalidItem"
    restored = AgentState.from_snapshot(list(state.snapshot_objects()))
    assert not restored.local_subagent_enabled and restored.has_item({**SUBAGENT_JSON, "disabled": True})
    assert state.apply_event(NO_KEY, ItemAttachedToMe(item=SUBAGENT_JSON)) is None
    assert state.local_subagent_enabled
