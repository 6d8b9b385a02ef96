"""The Director's record of its remote Subagents' runs in AgentState (JS7's SubagentItemState): dedicated,
observed up to an EventId, ended when the Subagent restarted or was reset; kept in the snapshot."""

from __future__ import annotations

from js7es.domain.agent.agent_state import AgentState, SubagentRun
from js7es.domain.agent.events import (
    AgentDedicatedToController,
    SubagentDedicated,
    SubagentEventsObserved,
    SubagentReset,
    SubagentRestarted,
)
from js7es.domain.event import NO_KEY
from js7es.domain.problem import Problem


def test_subagent_runs_follow_their_events_and_survive_a_snapshot() -> None:
    state = AgentState()
    assert (
        state.apply_event(NO_KEY, AgentDedicatedToController(agent_path="A", controller_id="C", agent_run_id="R"))
        is None
    )
    assert isinstance(state.apply_event("s1", SubagentEventsObserved(until_event_id=5)), Problem)  # not dedicated
    for key, event in (
        ("s1", SubagentDedicated(subagent_run_id="run-1")),
        ("s1", SubagentEventsObserved(until_event_id=7)),
        ("s2", SubagentDedicated(subagent_run_id="run-2")),
        ("s3", SubagentDedicated(subagent_run_id="run-3")),
    ):
        assert state.apply_event(key, event) is None
    assert state.subagent_runs == {
        "s1": SubagentRun(subagent_run_id="run-1", event_id=7),
        "s2": SubagentRun(subagent_run_id="run-2"),
        "s3": SubagentRun(subagent_run_id="run-3"),
    }
    restored = AgentState.from_snapshot(list(state.snapshot_objects()))
    assert restored.subagent_runs == state.subagent_runs and restored == state
    assert state.apply_event("s2", SubagentRestarted()) is None
    assert state.apply_event("s3", SubagentReset()) is None
    assert isinstance(state.apply_event("s2", SubagentEventsObserved(until_event_id=9)), Problem)  # ended
    assert state.apply_event("s1", SubagentDedicated(subagent_run_id="run-4")) is None  # a new run starts at 0
    assert state.subagent_runs == {  # an ended run is kept: the Director tells it from the next one
        "s1": SubagentRun(subagent_run_id="run-4"),
        "s2": SubagentRun(subagent_run_id="run-2", ended=True),
        "s3": SubagentRun(subagent_run_id="run-3", ended=True),
    }
    assert AgentState.from_snapshot(list(state.snapshot_objects())) == state
