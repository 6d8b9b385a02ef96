"""FileWatch (JS7's file order sources): the Controller's state machine of files and their orders, the
Agent's set of announced files, the item's checks; JS7's FileWatchTest sequences as the oracle."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from js7es.domain.agent import commands as cmd
from js7es.domain.agent.agent_state import AgentState
from js7es.domain.agent.decide import AgentContext, AgentDecided, decide
from js7es.domain.agent.events import AgentDedicatedToController
from js7es.domain.agent.translate import adopted_order_watch_events
from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.orders import CancelOrders
from js7es.domain.event import NO_KEY, KeyedEvent
from js7es.domain.items import parse_simple_item
from js7es.domain.order import events as ev
from js7es.domain.orderwatch.events import ExternalOrderAppeared, ExternalOrderRejected, ExternalOrderVanished
from js7es.domain.orderwatch.item import FileWatch
from js7es.domain.orderwatch.key import ExternalOrderKey, ExternalOrderLink
from js7es.domain.orderwatch.state import VANISHED, Appeared, HasOrder
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json
from tests.domain.simulator import Simulator

SHELL = {"TYPE": "ShellScriptExecutable", "script": "exit 0"}
WORKFLOW = {
    "path": "W",
    "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
    "jobs": {"J": {"agentPath": "AGENT", "executable": SHELL}},
}
PROMPT_WORKFLOW = {"path": "P", "instructions": [{"TYPE": "Prompt", "question": "'?'"}]}
WATCH = {
    "TYPE": "FileWatch",
    "path": "WATCH",
    "agentPath": "AGENT",
    "workflowPath": "W",
    "directoryExpr": "'/tmp/in'",
}


def update(sim: Simulator, *items: dict[str, Any], delete: tuple[str, ...] = ()) -> Any:
    operations = [{"TYPE": "AddOrChangeSimple", "item": item} for item in items]
    operations += [{"TYPE": "DeleteSimple", "path": key} for key in delete]
    return sim.command(UpdateItems(operations=tuple(value_from_json(o) for o in operations)))


def simulator(*workflows: dict[str, Any], **watch: Any) -> Simulator:
    sim = Simulator()
    sim.deploy(*(workflows or (WORKFLOW,)))
    assert not isinstance(update(sim, {**WATCH, **watch}), Problem)
    return sim


def agent_saw(sim: Simulator, *events: ExternalOrderAppeared | ExternalOrderVanished, path: str = "WATCH") -> None:
    """The Agent's events arriving at the Controller, as the AgentDriver adopts them."""
    known = adopted_order_watch_events(sim.state, [KeyedEvent(path, e) for e in events])
    assert not isinstance(known, Problem), known
    for keyed in known:
        assert sim.state.apply_event(keyed.key, keyed.event) is None
        sim.log.append(keyed)
    sim.run()


def appeared(name: str) -> ExternalOrderAppeared:
    return ExternalOrderAppeared(external_order_name=name, arguments={"file": f"/tmp/in/{name}"})


def vanished(name: str) -> ExternalOrderVanished:
    return ExternalOrderVanished(external_order_name=name)


def test_a_file_gets_an_order_deleted_after_the_file_vanished_as_in_js7() -> None:
    sim = simulator()
    agent_saw(sim, appeared("1"))
    order_id = "file:WATCH:1"
    added = sim.typed_events_of(order_id)[0]
    assert added == ev.OrderAdded(
        workflow_id=sim.state.orders[order_id].workflow_id,
        arguments={"file": "/tmp/in/1"},
        external_order_key=ExternalOrderKey(order_watch_path="WATCH", name="1"),
    )
    assert sim.events_of(order_id)[-1] == "OrderFinished"  # and stays while its file is there
    assert sim.state.orders[order_id].external_order == ExternalOrderLink(order_watch_path="WATCH", name="1")
    agent_saw(sim, vanished("1"))
    assert sim.events_of(order_id)[-2:] == ["OrderExternalVanished", "OrderDeleted"]
    assert order_id not in sim.state.orders
    assert sim.state.order_watches.watches["WATCH"].external == {}
    # JS7's FileWatchTest: ExternalOrderVanished (the watch's), then the order's OrderExternalVanished
    keys = [(k.key, type(k.event).__name__) for k in sim.log[-3:]]
    assert keys == [("WATCH", "ExternalOrderVanished"), (order_id, "OrderExternalVanished"), (order_id, "OrderDeleted")]


def test_the_file_vanishes_while_the_order_runs_then_it_is_deleted_when_it_ends() -> None:
    sim = simulator(PROMPT_WORKFLOW, workflowPath="P")
    agent_saw(sim, appeared("a"))
    order_id = "file:WATCH:a"
    assert sim.events_of(order_id) == ["OrderAdded", "OrderStarted", "OrderPrompted"]
    agent_saw(sim, vanished("a"))
    assert sim.events_of(order_id)[-1] == "OrderExternalVanished"
    assert order_id in sim.state.orders
    assert not isinstance(sim.command(CancelOrders(order_ids=(order_id,))), Problem)
    sim.run()
    assert sim.events_of(order_id)[-2:] == ["OrderCancelled", "OrderDeleted"]


def test_a_file_reappearing_while_its_order_lives_gets_a_new_order_after_it_is_deleted() -> None:
    sim = simulator(PROMPT_WORKFLOW, workflowPath="P")
    order_id = "file:WATCH:a"
    agent_saw(sim, appeared("a"))
    agent_saw(sim, vanished("a"), appeared("a"))
    watch = sim.state.order_watches.watches["WATCH"]
    assert watch.external["a"] == HasOrder(order_id=order_id, queued=Appeared(arguments={"file": "/tmp/in/a"}))
    sim.command(CancelOrders(order_ids=(order_id,)))
    sim.run()
    assert sim.events_of(order_id) == [
        "OrderAdded",
        "OrderStarted",
        "OrderPrompted",
        "OrderExternalVanished",
        "OrderCancellationMarked",
        "OrderCancelled",
        "OrderDeleted",
        "OrderAdded",  # the same id again, for the file that came back (JS7's orderAddedQueue)
        "OrderStarted",
        "OrderPrompted",
    ]
    assert watch.external["a"] == HasOrder(order_id=order_id)


def test_a_file_vanishing_before_its_order_is_added_is_forgotten_and_duplicates_are_refused() -> None:
    sim = simulator()
    state = sim.state
    assert state.apply_event("WATCH", appeared("x")) is None
    assert state.apply_event("WATCH", vanished("x")) is None
    assert state.order_watches.watches["WATCH"].external == {}
    sim.run()
    assert not any(k.key == "file:WATCH:x" for k in sim.log)
    assert isinstance(state.apply_event("WATCH", vanished("x")), Problem)  # never appeared
    assert state.apply_event("WATCH", appeared("y")) is None
    assert isinstance(state.apply_event("WATCH", appeared("y")), Problem)  # JS7: duplicate
    assert isinstance(adopted_order_watch_events(state, [KeyedEvent("WATCH", appeared("y"))]), Problem)
    # events of a FileWatch deleted meanwhile are dropped
    assert adopted_order_watch_events(state, [KeyedEvent("GONE", appeared("y"))]) == []


def test_order_id_expression_pattern_groups_and_rejection() -> None:
    sim = simulator(
        pattern=r"file-(\d+)\.csv",
        orderIdExpression="'#' ++ now(format='yyyy-MM-dd', timezone='UTC') ++ '#F-' ++ $1 ++ '-' ++ $orderWatchPath",
    )
    agent_saw(sim, appeared("file-7.csv"))
    assert "#2023-11-14#F-7-WATCH" in sim.state.orders
    sim2 = simulator(orderIdExpression="'bad|id'")
    agent_saw(sim2, appeared("z"))
    rejected = [k.event for k in sim2.log if isinstance(k.event, ExternalOrderRejected)]
    assert len(rejected) == 1 and "InvalidOrderId" in rejected[0].problem
    assert not sim2.state.orders
    agent_saw(sim2, vanished("z"))  # a rejected file is forgotten when it vanishes
    assert sim2.state.order_watches.watches["WATCH"].external == {}


def test_order_expr_gives_id_and_priority() -> None:
    sim = simulator(PROMPT_WORKFLOW, workflowPath="P", orderExpr="{ orderId: 'F-' ++ $0, priority: 7 }")
    agent_saw(sim, appeared("q"))
    assert sim.state.orders["F-q"].priority == 7


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"agentPath": "UNKNOWN"}, "UnknownItem"),
        ({"workflowPath": "UNKNOWN"}, "UnknownItem"),
        ({"pattern": "(unclosed"}, "InvalidPattern"),
        ({"orderIdExpression": "'a' ++"}, "InvalidExpression"),
        ({"directoryExpr": None}, "InvalidItem"),
        ({"delay": -1}, "InvalidItem"),
        ({"orderExpr": "{}", "orderIdExpression": "'x'"}, "InvalidItem"),
    ],
)
def test_an_inconsistent_file_watch_is_refused_as_a_whole(change: dict[str, Any], code: str) -> None:
    sim = Simulator()
    sim.deploy(WORKFLOW)
    item = {k: v for k, v in {**WATCH, **change}.items() if v is not None}
    refused = update(sim, item, {"TYPE": "Lock", "path": "L"})
    assert isinstance(refused, Problem) and refused.code == code, refused
    assert not sim.state.order_watches.watches and not sim.state.locks


def test_directory_as_older_js7_writes_it_and_deletion() -> None:
    item = parse_simple_item({**{k: v for k, v in WATCH.items() if k != "directoryExpr"}, "directory": "/it's/in"})
    assert isinstance(item, FileWatch) and item.directory_expr == '"/it\'s/in"'
    sim = simulator(PROMPT_WORKFLOW, workflowPath="P")
    agent_saw(sim, appeared("a"))
    refused = update(sim, delete=("AgentRef:AGENT",))
    assert isinstance(refused, Problem) and refused.code == "ItemIsStillReferenced"
    deleted = update(sim, delete=("OrderWatch:WATCH",))
    assert not isinstance(deleted, Problem)
    assert "WATCH" not in sim.state.order_watches.watches
    assert sim.events_of("file:WATCH:a")[-1] == "OrderExternalVanished"  # deleted once it terminates
    sim.command(CancelOrders(order_ids=("file:WATCH:a",)))
    sim.run()
    assert "file:WATCH:a" not in sim.state.orders


def test_snapshot_and_replay_keep_files_and_their_orders() -> None:
    sim = simulator(PROMPT_WORKFLOW, workflowPath="P")
    agent_saw(sim, appeared("a"), appeared("b"))
    agent_saw(sim, vanished("b"), appeared("b"))
    assert sim.state.apply_event("WATCH", appeared("c")) is None  # not yet added
    restored = ControllerState.from_snapshot(list(sim.state.snapshot_objects()))
    assert restored == sim.state
    watch = restored.order_watches.watches["WATCH"]
    assert watch.external["b"] == HasOrder(order_id="file:WATCH:b", queued=Appeared(arguments={"file": "/tmp/in/b"}))
    assert watch.added_queue == {"c"}
    replayed = ControllerState()
    for keyed in sim.log:
        assert replayed.apply_event(keyed.key, keyed.event) is None
    assert replayed.apply_event("WATCH", appeared("c")) is None
    assert replayed == sim.state
    agent_saw(sim, vanished("a"))
    assert sim.state.order_watches.watches["WATCH"].external["a"] == HasOrder(order_id="file:WATCH:a", queued=VANISHED)


def _agent() -> AgentState:
    state = AgentState()
    dedicated = AgentDedicatedToController(agent_path="AGENT", controller_id="C", agent_run_id="R")
    assert state.apply_event(NO_KEY, dedicated) is None
    return state


def _decide(state: AgentState, command: cmd.AgentCommand) -> AgentDecided:
    decided = decide(state, command, AgentContext(new_agent_run_id="R2", last_event_id=0))
    assert isinstance(decided, AgentDecided), decided
    for keyed in decided.events:
        assert state.apply_event(keyed.key, keyed.event) is None
    return decided


def test_agent_keeps_announced_files_changes_directory_and_detaches() -> None:
    state = _agent()
    _decide(state, cmd.AttachItems(items=(WATCH,)))
    assert _decide(state, cmd.AttachItems(items=(WATCH,))).events == ()  # idempotent
    for event in (appeared("a"), appeared("b"), vanished("a")):
        assert state.apply_event("WATCH", event) is None
    assert isinstance(state.apply_event("WATCH", appeared("b")), Problem)
    assert state.file_watches["WATCH"].files == {"b"}
    restored = AgentState.from_snapshot(list(state.snapshot_objects()))
    assert restored.file_watches["WATCH"].files == {"b"} and restored == state
    moved = _decide(state, cmd.AttachItems(items=({**WATCH, "directoryExpr": "'/tmp/other'"},)))
    assert [type(k.event).__name__ for k in moved.events] == ["ExternalOrderVanished", "ItemAttachedToMe"]
    assert state.file_watches["WATCH"].files == set()
    assert state.apply_event("WATCH", appeared("c")) is None
    detached = _decide(state, cmd.DetachItem(key="OrderWatch:WATCH"))
    assert [(k.key, type(k.event).__name__) for k in detached.events] == [
        ("WATCH", "ExternalOrderVanished"),
        ("", "ItemDetachedFromMe"),
    ]
    assert not state.file_watches
    assert _decide(state, cmd.DetachItem(key="OrderWatch:WATCH")).events == ()
    assert isinstance(
        decide(
            state,
            cmd.AttachItems(items=({**WATCH, "agentPath": "OTHER"},)),
            AgentContext(new_agent_run_id="R2", last_event_id=0),
        ),
        Problem,
    )


def test_order_external_vanished_applies_to_a_top_level_file_order_only() -> None:
    from dataclasses import replace

    from js7es.domain.order.apply import apply_order
    from js7es.domain.order.order import Order
    from js7es.domain.workflow.workflow import WorkflowId

    link = ExternalOrderLink(order_watch_path="WATCH", name="a")
    order = Order(id="O", workflow_id=WorkflowId("W", "1"), position=(0,), external_order=link)
    marked = apply_order(order, ev.OrderExternalVanished())
    assert not isinstance(marked, Problem) and marked.external_order == replace(link, vanished=True)
    assert isinstance(apply_order(replace(order, external_order=None), ev.OrderExternalVanished()), Problem)
    assert isinstance(apply_order(replace(order, parent="P"), ev.OrderExternalVanished()), Problem)


# -- property: random files coming and going, random orders ending --------------------------------------

NAMES = ("a", "b")
file_actions = st.lists(
    st.one_of(
        st.tuples(st.just("appear"), st.sampled_from(NAMES)),
        st.tuples(st.just("vanish"), st.sampled_from(NAMES)),
        st.tuples(st.just("answer"), st.sampled_from(NAMES)),
        st.tuples(st.just("snapshot"), st.just("")),
    ),
    max_size=40,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file_actions)
def test_files_and_orders_stay_in_step_and_replay(actions: list[tuple[str, str]]) -> None:
    """Whatever the Agent sees and the orders do: a file there has exactly one live order for it (or a
    vanished one still running, with the new one queued), a file gone has none but a vanished one still
    running; every appearance gets one order (but one that came and went while the file's previous order
    still ran, as in JS7); no order is lost; replay and snapshot equal the live state."""
    from js7es.domain.commands.orders import AnswerOrderPrompt

    sim = simulator(PROMPT_WORKFLOW, workflowPath="P")
    directory: set[str] = set()
    generations = dict.fromkeys(NAMES, 0)  # how often each file appeared
    skipped = dict.fromkeys(NAMES, 0)
    for action, name in actions:
        match action:
            case "appear" if name not in directory:
                directory.add(name)
                generations[name] += 1
                agent_saw(sim, appeared(name))
            case "vanish" if name in directory:
                directory.discard(name)
                before = sim.state.order_watches.watches["WATCH"].external.get(name)
                if isinstance(before, HasOrder) and isinstance(before.queued, Appeared):
                    skipped[name] += 1  # JS7: came and went while the old order ran: no order for it
                agent_saw(sim, vanished(name))
            case "answer" if f"file:WATCH:{name}" in sim.state.orders:
                sim.command(AnswerOrderPrompt(order_id=f"file:WATCH:{name}"))
                sim.run()
            case "snapshot":
                restored = ControllerState.from_snapshot(list(sim.state.snapshot_objects()))
                assert restored == sim.state
                sim.state = restored
        watch = sim.state.order_watches.watches["WATCH"]
        for n in NAMES:
            order = sim.state.orders.get(f"file:WATCH:{n}")
            current = watch.external.get(n)
            link = None if order is None else order.external_order
            if n in directory:
                assert order is not None and link is not None, (n, current)
                if link.vanished:  # the old order runs on; the file's new order follows its deletion
                    assert current == HasOrder(order_id=order.id, queued=Appeared(arguments={"file": f"/tmp/in/{n}"}))
                else:
                    assert current == HasOrder(order_id=order.id)
            else:
                assert current is None or (
                    order is not None and current == HasOrder(order_id=order.id, queued=VANISHED)
                )
                assert order is None or (link is not None and link.vanished and not order.is_terminal)
    added = Counter(k.key for k in sim.log if isinstance(k.event, ev.OrderAdded))
    deleted = Counter(k.key for k in sim.log if isinstance(k.event, ev.OrderDeleted))
    for n in NAMES:
        order_id = f"file:WATCH:{n}"
        live = 1 if order_id in sim.state.orders else 0
        assert added[order_id] == deleted[order_id] + live  # none lost
        queued = isinstance(sim.state.order_watches.watches["WATCH"].external.get(n), HasOrder) and (
            sim.state.order_watches.watches["WATCH"].external[n].queued not in (None, VANISHED)
        )
        assert added[order_id] == generations[n] - skipped[n] - (1 if queued else 0)  # one per appearance
    replayed = ControllerState()
    for keyed in sim.log:
        assert replayed.apply_event(keyed.key, keyed.event) is None
    assert replayed == sim.state
