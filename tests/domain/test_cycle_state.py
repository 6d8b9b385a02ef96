"""The cycle state: JS7's JSON (CycleStateTest, OrderEventTest) and its branch id (BranchId.cycle)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from js7es.domain import codec
from js7es.domain.order.cycle import CycleState, cycle_branch_id, cycle_state_of_branch
from js7es.domain.order.events import OrderCycleFinished, OrderCycleStarted, OrderCyclingPrepared, OrderEvent
from js7es.domain.order.states import BetweenCycles, OrderState
from js7es.domain.problem import Problem

EMPTY = CycleState(end=0, index=0, next=0)  # JS7's CycleState.empty


def test_json_as_js7s_cycle_state_test() -> None:
    state = CycleState(end=1633046400000, scheme_index=1, period_index=2, index=3, next=1633089600000)
    event = codec.encode(OrderCyclingPrepared(cycle_state=state))
    assert event == {
        "TYPE": "OrderCyclingPrepared",
        "cycleState": {"end": 1633046400000, "schemeIndex": 1, "periodIndex": 2, "index": 3, "next": 1633089600000},
    }
    assert codec.decode(event, OrderEvent) == OrderCyclingPrepared(cycle_state=state)
    short = {"TYPE": "OrderCyclingPrepared", "cycleState": {"end": 1633046400000, "index": 0, "next": 1633089600000}}
    assert codec.decode(short, OrderEvent) == OrderCyclingPrepared(
        cycle_state=CycleState(end=1633046400000, index=0, next=1633089600000)
    )


def test_json_as_js7s_order_event_test() -> None:
    assert codec.encode(OrderCycleStarted()) == {"TYPE": "OrderCycleStarted"}
    assert codec.encode(OrderCycleStarted(skipped=10.0)) == {"TYPE": "OrderCycleStarted", "skipped": 10}
    assert codec.decode({"TYPE": "OrderCycleStarted", "skipped": 10}, OrderEvent) == OrderCycleStarted(skipped=10.0)
    assert codec.encode(OrderCycleFinished(cycle_state=EMPTY)) == {
        "TYPE": "OrderCycleFinished",
        "cycleState": {"end": 0, "schemeIndex": 0, "periodIndex": 0, "index": 0, "next": 0},
    }
    assert codec.encode(OrderCycleFinished()) == {"TYPE": "OrderCycleFinished"}
    assert codec.decode({"TYPE": "BetweenCycles"}, OrderState) == BetweenCycles()


def test_branch_ids_as_js7_writes_them() -> None:
    """JS7's BranchId.cycle leaves out the parts that are 0 (CycleExecutorTest's positions)."""
    assert cycle_branch_id(CycleState(end=1633143600000, index=2, next=0)) == "cycle+end=1633143600000,i=2"
    assert (
        cycle_branch_id(CycleState(end=1633143600000, index=1, next=1633075200000))
        == "cycle+end=1633143600000,i=1,next=1633075200000"
    )
    full = CycleState(end=9, scheme_index=1, period_index=2, index=3, next=4)
    assert cycle_branch_id(full) == "cycle+end=9,scheme=1,period=2,i=3,next=4"
    assert cycle_state_of_branch("cycle") == EMPTY


@given(
    end=st.integers(min_value=0, max_value=2**52),
    scheme=st.integers(min_value=0, max_value=20),
    period=st.integers(min_value=0, max_value=20),
    index=st.integers(min_value=0, max_value=10**6),
    next_=st.integers(min_value=0, max_value=2**52),
)
def test_the_branch_id_gives_back_the_cycle_state(end: int, scheme: int, period: int, index: int, next_: int) -> None:
    state = CycleState(end=end, scheme_index=scheme, period_index=period, index=index, next=next_)
    assert cycle_state_of_branch(cycle_branch_id(state)) == state


@pytest.mark.parametrize("branch", ["then", "cycle+", "cycle+end=x", "cycle+end=1,foo=2", "cycle+end", "cycles"])
def test_a_branch_id_without_a_cycle_state(branch: str) -> None:
    result = cycle_state_of_branch(branch)
    assert isinstance(result, Problem) and result.code == "InvalidPosition"
