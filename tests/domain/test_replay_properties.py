"""Property tests: for random command sequences the state rebuilt from the journal equals the live
state, snapshot + tail equals full replay, and EventIds strictly increase — across restarts."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from js7es.domain.commands.notices import DeleteNotice, PostNotice
from js7es.domain.commands.orders import (
    AnswerOrderPrompt,
    CancelOrders,
    DeleteOrdersWhenTerminated,
    ResumeOrders,
    SuspendOrders,
)
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Disrupted, Failed, Outcome, Succeeded
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.workflow.job import WorkflowJob
from js7es.journal.api import Journal
from js7es.journal.file import FileJournal
from js7es.journal.memory import MemoryJournal, MemoryStore
from js7es.journal.tools import replay
from tests.domain.simulator import Simulator

JOB = {"agentPath": "AGENT", "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}}
EXECUTE = {"TYPE": "Execute.Named", "jobName": "J"}
WORKFLOWS: list[dict[str, Any]] = [
    {"path": "job", "instructions": [EXECUTE, EXECUTE], "jobs": {"J": JOB}},
    {
        "path": "retry",
        "instructions": [
            {
                "TYPE": "Try",
                "try": {"instructions": [EXECUTE]},
                "catch": {"instructions": [{"TYPE": "Retry"}]},
                "retryDelays": [1],
                "maxTries": 3,
            }
        ],
        "jobs": {"J": JOB},
    },
    {
        "path": "fork",
        "instructions": [
            {
                "TYPE": "Fork",
                "joinIfFailed": True,
                "branches": [
                    {"id": "a", "workflow": {"instructions": [EXECUTE]}},
                    {"id": "b", "workflow": {"instructions": [{"TYPE": "Sleep", "duration": "2"}, EXECUTE]}},
                ],
            },
        ],
        "jobs": {"J": JOB},
    },
    {"path": "prompt", "instructions": [{"TYPE": "Prompt", "question": "$js7OrderId"}, EXECUTE], "jobs": {"J": JOB}},
    {
        "path": "if",
        "instructions": [
            {
                "TYPE": "If",
                "ifThens": [
                    {"predicate": "$js7EpochMilli > 1700000003000", "then": {"instructions": [{"TYPE": "Fail"}]}}
                ],
            },
            {"TYPE": "Finish"},
        ],
        "jobs": {},
    },
]
# Notice boards: one notice key for every order, so that posters, readers and consumers meet
BOARD = {"TYPE": "GlobalBoard", "path": "B", "postOrderToNoticeKey": "'K'", "expectOrderToNoticeKey": "'K'"}
WORKFLOWS += [
    {"path": "post", "instructions": [EXECUTE, {"TYPE": "PostNotices", "boardPaths": ["B"]}], "jobs": {"J": JOB}},
    {"path": "expect", "instructions": [{"TYPE": "ExpectNotices", "boardPaths": "'B'"}, EXECUTE], "jobs": {"J": JOB}},
    {
        "path": "consume",
        "instructions": [
            {
                "TYPE": "ConsumeNotices",
                "boardPaths": "'B'",
                "subworkflow": {"instructions": [EXECUTE, {"TYPE": "Prompt", "question": "'?'"}]},
            }
        ],
        "jobs": {"J": JOB},
    },
]
ORDER_IDS = [f"o{i}" for i in range(6)]

actions = st.lists(
    st.one_of(
        st.tuples(
            st.just("add"),
            st.sampled_from(ORDER_IDS),
            st.integers(0, len(WORKFLOWS) - 1),
            st.sampled_from([None, 0, 1500]),
        ),
        st.tuples(st.sampled_from(["cancel", "suspend", "resume", "answer", "delete"]), st.sampled_from(ORDER_IDS)),
        st.tuples(st.just("step"), st.sampled_from(["ok", "fail", "lost"])),
        st.tuples(st.just("advance"), st.integers(1, 3000)),
        st.tuples(st.just("deploy"), st.integers(0, len(WORKFLOWS) - 1)),
        st.tuples(st.sampled_from(["post-notice", "delete-notice"])),
        st.tuples(st.just("snapshot")),
        st.tuples(st.just("restart")),
    ),
    min_size=1,
    max_size=40,
)


class Run:
    def __init__(self, journal_factory: Any) -> None:
        self.open_journal = journal_factory
        self.journal: Journal = journal_factory()
        self.outcome = "ok"
        self.sim = Simulator(run_job=self.run_job)
        self.persisted = 0
        self.last_event_id = 0
        self.sim.deploy(BOARD, *WORKFLOWS)
        self.persist()

    def run_job(self, order: Order, job: WorkflowJob) -> Outcome:
        return {
            "ok": Succeeded(named_values={"returnCode": 0}),
            "fail": Failed(error_message="rc 1", named_values={"returnCode": 1}),
            "lost": Disrupted(reason="ProcessLost"),
        }[self.outcome]

    def persist(self) -> None:
        new = self.sim.log[self.persisted :]
        self.persisted = len(self.sim.log)
        if not new:
            return
        stamped = self.journal.persist_sync(new, timeout=10)
        ids = [s.event_id for s in stamped]
        assert ids == sorted(set(ids)) and ids[0] > self.last_event_id  # strictly increasing
        self.last_event_id = ids[-1]
        self.sim.state.last_event_id = ids[-1]

    def recovered_state(self) -> ControllerState:
        recovered = self.journal.recovered
        state = ControllerState.from_snapshot(recovered.snapshot)
        for stamped in recovered.events:
            assert not isinstance(state.apply_stamped(stamped), Problem)
        return state

    def act(self, action: tuple[Any, ...]) -> None:
        sim = self.sim
        match action:
            case ("add", order_id, w, offset):
                sim.add_order(
                    order_id, WORKFLOWS[w]["path"], scheduled_for=None if offset is None else sim.now_ms + offset
                )
            case ("cancel", order_id):
                sim.command(CancelOrders(order_ids=(order_id,)))
            case ("suspend", order_id):
                sim.command(SuspendOrders(order_ids=(order_id,)))
            case ("resume", order_id):
                sim.command(ResumeOrders(order_ids=(order_id,)))
            case ("answer", order_id):
                sim.command(AnswerOrderPrompt(order_id=order_id))
            case ("delete", order_id):
                sim.command(DeleteOrdersWhenTerminated(order_ids=(order_id,)))
            case ("step", outcome):
                self.outcome = outcome
                sim.step()
            case ("advance", ms):
                sim.now_ms += ms
            case ("post-notice",):
                sim.command(PostNotice(notice_id=("B", "K")))
            case ("delete-notice",):
                sim.command(DeleteNotice(notice_id=("B", "K")))
            case ("deploy", w):
                sim.deploy(WORKFLOWS[w])
            case ("snapshot",):
                self.persist()
                taken = self.journal.take_snapshot(
                    sim.state.snapshot_objects(), at_event_id=self.journal.last_event_id, timeout=10
                )
                assert not isinstance(taken, Problem), taken
            case ("restart",):
                self.persist()
                self.journal.close()
                self.journal = self.open_journal()
                recovered = self.recovered_state()
                assert recovered.state_hash() == sim.state.state_hash()
                sim.state = recovered  # go on with what was recovered, as a restarted node does
        self.persist()


def check(run: Run, journal_dir: Path | None) -> None:
    run.journal.close()
    run.journal = run.open_journal()
    recovered = run.recovered_state()
    assert recovered.state_hash() == run.sim.state.state_hash()  # snapshot + tail == live
    assert recovered.boards.places == run.sim.state.boards.places  # expectations too, derived from orders
    if journal_dir is not None:
        full = replay(journal_dir, ControllerState, progress=False)  # from the oldest snapshot, every event
        assert full.ok, full.problems
        assert full.state.state_hash() == run.sim.state.state_hash()
        assert full.last_event_id == run.last_event_id


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(actions)
def test_file_journal_replay_equals_live_state(steps: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        run = Run(lambda: FileJournal.open(directory, name="controller"))
        try:
            for action in steps:
                run.act(action)
            check(run, directory)
        finally:
            run.journal.close()


@SETTINGS
@given(actions)
def test_memory_journal_replay_equals_live_state(steps: list[tuple[Any, ...]]) -> None:
    store = MemoryStore()
    run = Run(lambda: MemoryJournal.open(store))
    try:
        for action in steps:
            run.act(action)
        check(run, None)
    finally:
        run.journal.close()
