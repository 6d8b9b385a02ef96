"""Which Subagent runs a step (js7es.domain.agent.selection, JS7's Prioritized and MutableRoundRobin):
fixed priority with fall-back and return, round robin within a priority group, the index starting again
when the group changes, a Subagent named directly, priority expressions, and StickySubagent — with
hypothesis properties of the algorithm."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import js7es.domain.state  # noqa: F401  (registers every event class)
from js7es.domain.agent.agent_state import AgentState
from js7es.domain.agent.events import AgentDedicatedToController, ItemAttachedToMe
from js7es.domain.agent.selection import (
    RoundRobin,
    determine_bundle,
    job_bundle_id,
    priority_groups,
    processing_started,
    select_subagent,
    select_through,
    unknown_bundle,
)
from js7es.domain.event import NO_KEY
from js7es.domain.order import states as s
from js7es.domain.order.apply import apply_order
from js7es.domain.order.context import Context
from js7es.domain.order.events import OrderProcessingStarted, OrderStickySubagentEntered, OrderStickySubagentLeaved
from js7es.domain.order.order import Attachment, Order, StickySubagent
from js7es.domain.problem import Problem
from js7es.domain.value import value_from_json
from js7es.domain.workflow.job import ShellScriptExecutable, WorkflowJob
from js7es.domain.workflow.workflow import WorkflowId

AGENT = "agent-1"
LOCAL = "subagent-1a"  # the Director's own
A, B, C = LOCAL, "subagent-1b", "subagent-1c"
WORKFLOW_ID = WorkflowId("W", "1")
JOB = WorkflowJob(agent_path=AGENT, executable=ShellScriptExecutable(script="true"))
ORDER = Order(
    id="o",
    workflow_id=WORKFLOW_ID,
    position=(0,),
    state=s.Ready(),
    attached=Attachment(kind="Attached", agent_path=AGENT),
    arguments={"which": "bundle-x"},
)


def agent_state(
    *bundles: dict[str, Any], disabled: tuple[str, ...] = (), subagents: tuple[str, ...] = (A, B, C)
) -> AgentState:
    state = AgentState()
    dedicated = AgentDedicatedToController(agent_path=AGENT, controller_id="js7es", agent_run_id="r", directors=(A,))
    assert state.apply_event(NO_KEY, dedicated) is None
    items: list[dict[str, Any]] = [
        {"TYPE": "SubagentItem", "id": i, "agentPath": AGENT, "uri": f"https://{i}:1", "disabled": i in disabled}
        for i in subagents
    ]
    items.append(
        {
            "TYPE": "Workflow",
            "path": "W",
            "versionId": "1",
            "instructions": [{"TYPE": "Execute.Anonymous", "job": {"agentPath": AGENT, "executable": {
                "TYPE": "ShellScriptExecutable", "script": "true"}}}],
        }
    )  # fmt: skip
    for item in (*items, *bundles):
        assert state.apply_event(NO_KEY, ItemAttachedToMe(item=value_from_json(item))) is None
    return state


def bundle(bundle_id: str, **priorities: Any) -> dict[str, Any]:
    return {"TYPE": "SubagentBundle", "id": bundle_id, "subagentToPriority": priorities}


def coupled(*ids: str) -> Any:
    return lambda subagent_id: subagent_id in ids


ALL = coupled(A, B, C)
FIXED = bundle("fixed", **{A: 3, B: 2, C: 1})
EQUAL = bundle("equal", **{A: 1, B: 1, C: 1})


def picks(state: AgentState, bundle_id: str | None, n: int, is_coupled: Any = ALL) -> list[str | None]:
    robin = RoundRobin()
    return [select_subagent(state, ORDER, JOB, bundle_id, is_coupled, robin) for _ in range(n)]


def test_without_a_bundle_round_robin_over_all_subagents_of_the_agent() -> None:
    assert Counter(picks(agent_state(), None, 30)) == {A: 10, B: 10, C: 10}


def test_equal_priorities_are_round_robin_30_over_3_gives_10_each() -> None:
    chosen = picks(agent_state(EQUAL), "equal", 30)
    assert Counter(chosen) == {A: 10, B: 10, C: 10}
    assert chosen[:3] == [A, B, C]


def test_distinct_priorities_fall_back_and_return() -> None:
    state, robin = agent_state(FIXED), RoundRobin()

    def pick(is_coupled: Any) -> str | None:
        return select_subagent(state, ORDER, JOB, "fixed", is_coupled, robin)

    assert [pick(ALL) for _ in range(3)] == [A, A, A]
    assert [pick(coupled(B, C)) for _ in range(3)] == [B, B, B]  # the first lost: the second
    assert pick(coupled(C)) == C
    assert pick(coupled()) is None  # none available: the order waits
    assert pick(ALL) == A  # back to the first


def test_a_disabled_subagent_is_not_available() -> None:
    assert picks(agent_state(FIXED, disabled=(A,)), "fixed", 2) == [B, B]
    assert Counter(picks(agent_state(disabled=(B,)), None, 4)) == {A: 2, C: 2}


def test_the_round_robin_index_starts_again_when_the_group_changes() -> None:
    state, robin = agent_state(bundle("two", **{A: 2, B: 2, C: 1})), RoundRobin()
    chosen = [select_subagent(state, ORDER, JOB, "two", ALL, robin) for _ in range(3)]
    assert chosen == [A, B, A]
    assert select_subagent(state, ORDER, JOB, "two", coupled(C), robin) == C
    assert select_subagent(state, ORDER, JOB, "two", ALL, robin) == A  # not B: the group changed twice
    assert select_subagent(state, ORDER, JOB, "two", coupled(B, C), robin) == B  # filtered group {B}
    assert select_subagent(state, ORDER, JOB, "two", ALL, robin) == A


def test_a_bundle_id_that_is_no_bundle_is_a_subagent_id() -> None:
    state = agent_state(FIXED)
    assert picks(state, C, 2) == [C, C]
    assert picks(state, C, 1, coupled(A, B)) == [None]  # waits for that Subagent
    assert picks(state, "ghost", 1) == [None]
    assert unknown_bundle(state, C) is None and unknown_bundle(state, "fixed") is None
    refused = unknown_bundle(state, "ghost")
    assert isinstance(refused, Problem) and refused.code == "UnknownKey"


def test_priority_expressions_read_the_metering_values_and_a_failing_one_is_skipped() -> None:
    dynamic = bundle("dyn", **{A: "100 - $js7SubagentProcessCount", B: "100 - $js7SubagentProcessCount", C: "'x'"})
    state = agent_state(dynamic)
    counts = {A: 5, B: 1, C: 0}

    def metering(subagent_id: str) -> dict[str, Any]:
        return {"js7SubagentProcessCount": counts[subagent_id]}

    robin = RoundRobin()
    assert select_subagent(state, ORDER, JOB, "dyn", ALL, robin, metering=metering) == B
    counts[B] = 9
    assert select_subagent(state, ORDER, JOB, "dyn", ALL, robin, metering=metering) == A
    # without metering values the expressions fail: no Subagent is selected (C's is no number)
    assert select_subagent(state, ORDER, JOB, "dyn", ALL, robin) is None
    assert priority_groups({A: "1", B: "2.5", C: "2.5"}) == [(B, C), (A,)]


def test_the_jobs_bundle_expression_is_evaluated_with_the_orders_scope() -> None:
    state, ctx = agent_state(), Context(now_ms=0, here=AGENT)
    assert job_bundle_id(state, ORDER, JOB, ctx) is None
    with_expr = WorkflowJob(agent_path=AGENT, executable=JOB.executable, subagent_bundle_id_expr="$which")
    assert job_bundle_id(state, ORDER, with_expr, ctx) == "bundle-x"
    local = WorkflowJob(agent_path=AGENT, executable=JOB.executable, subagent_bundle_id_expr='""')
    assert job_bundle_id(state, ORDER, local, ctx) == LOCAL  # JS7: the empty string is the local Subagent
    number = WorkflowJob(agent_path=AGENT, executable=JOB.executable, subagent_bundle_id_expr="1")
    refused = job_bundle_id(state, ORDER, number, ctx)
    assert isinstance(refused, Problem) and refused.code == "InvalidSubagentBundleId"


def _entered(order: Order, bundle_id: str | None) -> Order:
    entered = apply_order(order, OrderStickySubagentEntered(agent_path=AGENT, subagent_bundle_id=bundle_id))
    assert isinstance(entered, Order), entered
    return entered


def test_sticky_subagent_the_first_job_records_its_subagent_and_the_others_wait_for_it() -> None:
    state, robin = agent_state(EQUAL), RoundRobin()
    order = _entered(ORDER, "equal")
    assert order.sticky_subagents == (StickySubagent(agent_path=AGENT, subagent_bundle_id="equal"),)
    assert order.position == (0, "stickySubagent", 0)
    assert determine_bundle(order, AGENT, None).stick
    select_subagent(state, order, JOB, None, ALL, robin)  # another order took A: the index moved on
    chosen = select_subagent(state, order, JOB, None, ALL, robin)
    assert chosen == B
    started = processing_started(order, AGENT, None, chosen)
    assert started == OrderProcessingStarted(subagent_id=B, subagent_bundle_id="equal", stick=True)
    processing = apply_order(order, started)
    assert isinstance(processing, Order)
    assert processing.sticky_subagents == (
        StickySubagent(agent_path=AGENT, subagent_bundle_id="equal", stuck_subagent_id=B),
    )
    later = processing.updated(state=s.Ready(), position=(0, "stickySubagent", 1))
    assert [select_subagent(state, later, JOB, None, ALL, robin) for _ in range(3)] == [B, B, B]
    assert select_subagent(state, later, JOB, None, coupled(A, C), robin) is None  # waits for B
    assert processing_started(later, AGENT, None, B) == OrderProcessingStarted(subagent_id=B)
    # a job with a bundle of its own that is not the block's goes its own way
    other = agent_state(EQUAL, FIXED)
    assert select_subagent(other, later, JOB, "fixed", ALL, RoundRobin()) == A
    left = apply_order(later.updated(position=(0, "stickySubagent", 2)), OrderStickySubagentLeaved())
    assert isinstance(left, Order) and left.sticky_subagents is None and left.position == (1,)
    assert determine_bundle(left, AGENT, None).bundle_id is None


def test_sticky_without_a_bundle_takes_the_jobs_bundle_or_all() -> None:
    order = _entered(ORDER, None)
    assert determine_bundle(order, AGENT, "fixed").bundle_id == "fixed"
    assert determine_bundle(order, AGENT, None).bundle_id is None
    assert determine_bundle(order, "agent-2", None).stick is False  # another Agent's block does not apply


def test_stick_needs_a_sticky_block() -> None:
    refused = apply_order(ORDER, OrderProcessingStarted(subagent_id=A, stick=True))
    assert isinstance(refused, Problem)


# -- properties ---------------------------------------------------------------------------------------

SUBAGENT_IDS = (A, B, C)


@settings(max_examples=200, deadline=None)
@given(
    priorities=st.tuples(*(st.integers(min_value=0, max_value=3) for _ in SUBAGENT_IDS)),
    availability=st.lists(st.frozensets(st.sampled_from(SUBAGENT_IDS)), min_size=1, max_size=40),
)
def test_always_from_the_highest_priority_group_with_an_available_subagent(
    priorities: tuple[int, ...], availability: list[frozenset[str]]
) -> None:
    state = agent_state(bundle("b", **dict(zip(SUBAGENT_IDS, priorities, strict=True))))
    robin = RoundRobin()
    for available in availability:
        chosen = select_through(state, "b", coupled(*available), robin)
        if not available:
            assert chosen is None
        else:
            best = max(p for i, p in zip(SUBAGENT_IDS, priorities, strict=True) if i in available)
            assert chosen in available and priorities[SUBAGENT_IDS.index(chosen)] == best


@settings(max_examples=100, deadline=None)
@given(rounds=st.integers(min_value=1, max_value=20), size=st.integers(min_value=1, max_value=3))
def test_round_robin_is_fair_over_equal_priorities(rounds: int, size: int) -> None:
    members = SUBAGENT_IDS[:size]
    state = agent_state(bundle("b", **dict.fromkeys(members, 7)))
    robin = RoundRobin()
    chosen = [select_through(state, "b", ALL, robin) for _ in range(rounds * size)]
    assert Counter(chosen) == dict.fromkeys(members, rounds)


@settings(max_examples=150, deadline=None)
@given(availability=st.lists(st.frozensets(st.sampled_from(SUBAGENT_IDS), min_size=1), min_size=1, max_size=30))
def test_fixed_priority_follows_the_best_available_and_a_changed_group_starts_at_its_first(
    availability: list[frozenset[str]],
) -> None:
    """Distinct priorities: exactly the best available one (fall back and return); equal priorities
    after a change of the filtered group: its first member (JS7 resets the round-robin index)."""
    fixed, equal = agent_state(FIXED), agent_state(EQUAL)
    fixed_robin, equal_robin = RoundRobin(), RoundRobin()
    last_group: tuple[str, ...] = ()
    for available in availability:
        assert select_through(fixed, "fixed", coupled(*available), fixed_robin) == min(available)  # A > B > C
        group = tuple(i for i in SUBAGENT_IDS if i in available)
        chosen = select_through(equal, "equal", coupled(*available), equal_robin)
        if group != last_group:
            assert chosen == group[0]
        last_group = group
