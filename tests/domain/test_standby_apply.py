"""The standby's HoldingApplier (js7es.domain.standby_apply): whatever it holds back and whenever it
releases, the state it ends with is the state that applying every event in the journal's order gives;
and a short-lived order is never applied at all."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from js7es.domain.agent.agent_state import AgentState
from js7es.domain.event import Stamped
from js7es.domain.order.events import OrderAdded, OrderDeleted
from js7es.domain.standby_apply import HoldingApplier
from js7es.domain.state import ControllerState
from js7es.journal.memory import MemoryJournal, MemoryStore
from tests.domain.test_replay_properties import WORKFLOWS, Run


class RecordingRun(Run):
    """The property tests' random run, recording each commit with the live state's hash after it."""

    def __init__(self) -> None:
        self.commits: list[tuple[list[Stamped], str]] = []
        store = MemoryStore()
        super().__init__(lambda: MemoryJournal.open(store))

    def persist(self) -> list[Stamped]:
        stamped = super().persist()
        if stamped:
            self.commits.append((stamped, self.sim.state.state_hash()))
        return stamped

    def act(self, action: tuple[Any, ...]) -> None:
        if action[0] == "add-transient":  # on "job", deleted when it ends: the busy scheduler's usual order
            self.sim.add_order(action[1], "job", delete_when_terminated=True)
            self.persist()
        else:
            super().act(action)


def recorded(steps: list[tuple[Any, ...]]) -> RecordingRun:
    run = RecordingRun()
    try:
        for action in steps:
            run.act(action)
    finally:
        run.journal.close()
    return run


def hash_of_all(applier: HoldingApplier) -> str:
    assert applier.release_all() is None
    assert applier.held_events == 0
    return applier.state.state_hash()


ORDER_IDS = [f"o{i}" for i in range(10)]
TRANSIENT_IDS = [f"t{i}" for i in range(20)]


def scenarios(workflows: st.SearchStrategy[int]) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """Busy runs of the property tests' actions: many orders added, stepped, deleted and added again
    (so that whole lifecycles pass while held), among cancels, prompts, notices, locks and deploys."""
    ids = st.sampled_from(ORDER_IDS)
    step = st.tuples(st.just("step"), st.sampled_from(["ok"] * 8 + ["fail", "lost"]))
    return st.lists(
        st.one_of(
            *[st.tuples(st.just("add"), ids, workflows, st.sampled_from([None, None, 0, 1500]))] * 2,
            *[st.tuples(st.just("add-transient"), st.sampled_from(TRANSIENT_IDS))] * 6,
            *[step] * 10,
            *[st.tuples(st.just("delete"), ids)] * 3,
            st.tuples(st.sampled_from(["cancel", "suspend", "resume", "answer", "go"]), ids),
            st.tuples(st.just("advance"), st.integers(1, 3000)),
            st.tuples(st.just("priority"), ids, st.integers(-2, 2)),
            st.tuples(st.sampled_from(["post-notice", "delete-notice"])),
            st.one_of(  # an item changes: all that is held is released; rarer
                st.tuples(st.sampled_from(["deploy", "transfer", "suspend-workflow", "resume-workflow"]), workflows),
                *[st.just(("advance", 1))] * 3,
            ),
        ),
        min_size=30,
        max_size=90,
    )


ALL = scenarios(st.integers(0, len(WORKFLOWS) - 1))
LOCKS = scenarios(st.integers(len(WORKFLOWS) - 4, len(WORKFLOWS) - 1))  # the Lock workflows: contention


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(ALL, LOCKS), st.sampled_from([0, 1, 3, 10_000]), st.data())
def test_held_events_released_at_any_commit_give_the_state_of_applying_every_event(
    steps: list[tuple[Any, ...]], limit: int, data: st.DataObject
) -> None:
    run = recorded(steps)
    applier = HoldingApplier(ControllerState(), limit=limit)
    releases = data.draw(st.sets(st.integers(0, len(run.commits) - 1)), label="release after commits")
    for k, (commit, live_hash) in enumerate(run.commits):
        for stamped in commit:
            assert applier.apply(stamped) is None
            assert applier.held_events <= limit
        assert applier.state.last_event_id == commit[-1].event_id
        if applier.held_events == 0:  # nothing held: the applied state is the live one as it is
            assert applier.state.state_hash() == live_hash
        if k in releases:
            assert hash_of_all(applier) == live_hash
    assert hash_of_all(applier) == run.sim.state.state_hash()


def events_of(*steps: tuple[Any, ...]) -> tuple[RecordingRun, list[Stamped]]:
    run = recorded(list(steps))
    deployed = len(run.commits[0][0])  # the items of Run's set-up
    return run, [s for commit, _ in run.commits for s in commit][deployed:]


def applier_after_deploy(run: RecordingRun, limit: int = 10_000) -> HoldingApplier:
    applier = HoldingApplier(ControllerState(), limit=limit)
    for stamped in run.commits[0][0]:
        assert applier.apply(stamped) is None
    return applier


def test_an_order_deleted_while_held_is_never_applied() -> None:
    run, events = events_of(("add", "o0", 0, None), *[("step", "ok")] * 12, ("delete", "o0"))
    kinds = [type(s.event) for s in events]
    assert kinds[0] is OrderAdded and kinds[-1] is OrderDeleted and len(kinds) > 8  # a job's whole lifecycle
    applier = applier_after_deploy(run)
    applied: list[str] = []
    original = applier.state.apply_event
    applier.state.apply_event = lambda key, event: applied.append(key) or original(key, event)  # type: ignore[method-assign]
    for stamped in events:
        assert applier.apply(stamped) is None
    assert applied == []
    assert "o0" not in applier.state.orders
    assert (applier.dropped_orders, applier.dropped_events, applier.held_events) == (1, len(events), 0)
    assert applier.state.state_hash() == run.sim.state.state_hash()


def test_an_event_that_touches_more_than_the_order_applies_the_held_ones_first() -> None:
    # A prompt: OrderPrompted is not holdable, so the order is applied up to it and then held no more.
    run, events = events_of(("add", "o0", 3, None), ("step", "ok"), ("step", "ok"))
    applier = applier_after_deploy(run)
    for stamped in events:
        assert applier.apply(stamped) is None
    assert applier.held_orders == 0 and "o0" in applier.state.orders
    assert applier.state.state_hash() == run.sim.state.state_hash()


def test_at_most_limit_events_are_held_the_oldest_orders_are_applied_first() -> None:
    run, events = events_of(("add", "o0", 0, None), ("add", "o1", 0, None), ("add", "o2", 0, None))
    applier = applier_after_deploy(run, limit=4)
    for stamped in events:
        assert applier.apply(stamped) is None
        assert applier.held_events <= 4
    assert "o0" in applier.state.orders  # released to make room
    assert applier.held_orders >= 1 and "o2" not in applier.state.orders  # still held
    assert hash_of_all(applier) == run.sim.state.state_hash()


def test_an_event_id_not_after_the_last_is_refused_held_or_not() -> None:
    run, events = events_of(("add", "o0", 0, None))
    applier = applier_after_deploy(run)
    for stamped in events:
        assert applier.apply(stamped) is None
    assert applier.held_events > 0
    refused = applier.apply(events[-1])
    assert refused is not None and refused.code == "EventIdNotIncreasing"


def test_a_state_with_its_own_order_transitions_holds_nothing() -> None:
    assert HoldingApplier(AgentState()).limit == 0
    assert HoldingApplier(ControllerState()).limit > 0
