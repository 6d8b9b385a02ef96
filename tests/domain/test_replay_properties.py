"""Property tests: for random command sequences the state rebuilt from the journal equals the live
state, snapshot + tail equals full replay, and EventIds strictly increase — across restarts."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from js7es.domain.commands.change_order import ChangeOrder, GoOrder
from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.notices import DeleteNotice, PostNotice
from js7es.domain.commands.orders import (
    AnswerOrderPrompt,
    CancelOrders,
    DeleteOrdersWhenTerminated,
    ResumeOrders,
    SuspendOrders,
)
from js7es.domain.commands.transfer import TransferOrders
from js7es.domain.commands.workflow_controls import ControlWorkflow, ControlWorkflowPath
from js7es.domain.event import Stamped
from js7es.domain.lock import Exclusive, NonExclusive
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Disrupted, Failed, Outcome, Succeeded
from js7es.domain.order.states import WaitingForLock
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json
from js7es.domain.workflow.instructions import LockInstruction
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
# AddOrder, ForkList, Options(stopOnFailure), Stop, StickySubagent, EmptyInstruction (before the Lock
# workflows, which `lock_actions` takes from the end of the list)
WORKFLOWS += [
    {
        "path": "instructions",
        "instructions": [
            {"TYPE": "EmptyInstruction"},
            {"TYPE": "AddOrder", "orderId": '"$js7OrderId-added"', "workflowPath": "job", "deleteWhenTerminated": True},
            {
                "TYPE": "ForkList",
                "children": "['a', 'b']",
                "childToId": "x => $x",
                "childToArguments": "(x, i) => { i: $i }",
                "workflow": {"instructions": [EXECUTE]},
            },
            {"TYPE": "Options", "stopOnFailure": True, "block": {"instructions": [EXECUTE]}},
            {"TYPE": "StickySubagent", "agentPath": "AGENT", "subworkflow": {"instructions": [EXECUTE]}},
            {"TYPE": "Stop"},
        ],
        "jobs": {"J": JOB},
    },
]
LOCKED = {
    "TYPE": "Lock",
    "demands": [{"lockPath": "L2", "count": 1}],
    "lockedWorkflow": {
        "instructions": [
            {"TYPE": "Prompt", "question": "$js7OrderId"},
            EXECUTE,
        ]
    },
}
WORKFLOWS += [
    {"path": "lock", "instructions": [LOCKED, EXECUTE], "jobs": {"J": JOB}},
    {
        "path": "locks",
        "instructions": [
            {
                "TYPE": "Lock",
                "demands": [{"lockPath": "L1"}, {"lockPath": "L2"}],
                "lockedWorkflow": {
                    "instructions": [
                        {
                            "TYPE": "Try",
                            "try": {"instructions": [EXECUTE]},
                            "catch": {"instructions": [{"TYPE": "Fail"}]},
                        }
                    ]
                },
            }
        ],
        "jobs": {"J": JOB},
    },
    {
        "path": "lock-fork",
        "instructions": [
            {
                "TYPE": "Fork",
                "branches": [
                    {"id": "a", "workflow": {"instructions": [LOCKED]}},
                    {
                        "id": "b",
                        "workflow": {
                            "instructions": [
                                {
                                    "TYPE": "Lock",
                                    "demands": [{"lockPath": "L1"}],
                                    "lockedWorkflow": {"instructions": [EXECUTE]},
                                }
                            ]
                        },
                    },
                ],
            },
        ],
        "jobs": {"J": JOB},
    },
]
WORKFLOWS.append(  # nested: holding L1, it takes L2 past the orders waiting for both
    {
        "path": "nested",
        "instructions": [
            {
                "TYPE": "Lock",
                "demands": [{"lockPath": "L1"}],
                "lockedWorkflow": {
                    "instructions": [EXECUTE, {**LOCKED, "lockedWorkflow": {"instructions": [EXECUTE]}}]
                },
            }
        ],
        "jobs": {"J": JOB},
    }
)
LOCK_ITEMS = [{"TYPE": "Lock", "path": "L1"}, {"TYPE": "Lock", "path": "L2", "limit": 2}]
ORDER_IDS = [f"o{i}" for i in range(6)]


def action_lists(workflows: st.SearchStrategy[int], max_size: int = 40) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    return st.lists(
        st.one_of(
            st.tuples(st.just("add"), st.sampled_from(ORDER_IDS), workflows, st.sampled_from([None, 0, 1500])),
            st.tuples(st.sampled_from(["cancel", "suspend", "resume", "answer", "delete"]), st.sampled_from(ORDER_IDS)),
            st.tuples(st.just("step"), st.sampled_from(["ok", "fail", "lost"])),
            st.tuples(st.just("advance"), st.integers(1, 3000)),
            st.tuples(st.just("priority"), st.sampled_from(ORDER_IDS), st.integers(-2, 2)),
            st.tuples(st.just("deploy"), workflows),
            st.tuples(st.sampled_from(["suspend-workflow", "resume-workflow", "skip", "transfer", "break"]), workflows),
            st.tuples(st.just("go"), st.sampled_from(ORDER_IDS)),
            st.tuples(st.sampled_from(["post-notice", "delete-notice"])),
            st.tuples(st.just("snapshot")),
            st.tuples(st.just("restart")),
        ),
        min_size=1,
        max_size=max_size,
    )


actions = action_lists(st.integers(0, len(WORKFLOWS) - 1))
# Only the workflows with locks, more steps: orders hold, wait, fail, are cancelled and recovered in them.
lock_actions = action_lists(st.integers(len(WORKFLOWS) - 4, len(WORKFLOWS) - 1), max_size=60)


class Run:
    def __init__(self, journal_factory: Any) -> None:
        self.open_journal = journal_factory
        self.journal: Journal = journal_factory()
        self.outcome = "ok"
        self.sim = Simulator(run_job=self.run_job)
        self.persisted = 0
        self.last_event_id = 0
        locks = tuple(value_from_json({"TYPE": "AddOrChangeSimple", "item": i}) for i in LOCK_ITEMS)
        assert not isinstance(self.sim.command(UpdateItems(operations=locks)), Problem)
        self.sim.deploy(BOARD, *WORKFLOWS)
        self.persist()

    def run_job(self, order: Order, job: WorkflowJob) -> Outcome:
        return {
            "ok": Succeeded(named_values={"returnCode": 0}),
            "fail": Failed(error_message="rc 1", named_values={"returnCode": 1}),
            "lost": Disrupted(reason="ProcessLost"),
        }[self.outcome]

    def persist(self) -> list[Stamped]:
        """The simulator's new events in one commit; returns them stamped."""
        new = self.sim.log[self.persisted :]
        self.persisted = len(self.sim.log)
        if not new:
            return []
        stamped = self.journal.persist_sync(new, timeout=10)
        ids = [s.event_id for s in stamped]
        assert ids == sorted(set(ids)) and ids[0] > self.last_event_id  # strictly increasing
        self.last_event_id = ids[-1]
        self.sim.state.last_event_id = ids[-1]
        return list(stamped)

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
            case ("priority", order_id, priority):
                sim.command(ChangeOrder(order_id=order_id, priority=priority))
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
            case ("suspend-workflow" | "resume-workflow", w):
                suspend = action[0] == "suspend-workflow"
                sim.command(ControlWorkflowPath(workflow_path=WORKFLOWS[w]["path"], suspend=suspend))
            case ("skip", w):  # no workflow here has labels: a control without effect, replayed all the same
                sim.command(ControlWorkflowPath(workflow_path=WORKFLOWS[w]["path"], skip={"L": True}))
            case ("break", w):
                current = sim.state.current_workflow(WORKFLOWS[w]["path"])
                if current is not None:
                    sim.command(ControlWorkflow(workflow_id=current.id, add_breakpoints=((0,),)))
            case ("transfer", w):
                for wid in [wid for wid in sim.state.workflows if wid.path == WORKFLOWS[w]["path"]]:
                    sim.command(TransferOrders(workflow_id=wid))
            case ("go", order_id):
                order = sim.state.orders.get(order_id)
                if order is not None:
                    sim.command(GoOrder(order_id=order_id, position=order.position))
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
        assert lock_inconsistencies(sim.state) == []


def lock_inconsistencies(state: ControllerState) -> list[str]:
    """Each lock is held by exactly the live orders in a block of a Lock demanding it (each order's own
    blocks: after its fork branch), within its limit, and awaited by exactly the orders WaitingForLock."""
    holding: dict[str, dict[str, int]] = {path: {} for path in state.locks}
    waiting: dict[str, set[str]] = {path: set() for path in state.locks}
    for order in state.orders.values():
        if order.is_terminal:
            continue  # a finished or cancelled order holds no lock, wherever it stands
        workflow = state.workflow_of(order)
        assert workflow is not None
        forks = [i for i in range(1, len(order.position), 2) if str(order.position[i]).startswith("fork+")]
        for i in range(forks[-1] + 2 if forks else 1, len(order.position), 2):
            if order.position[i] == "lock":
                instruction = workflow.instruction(order.position[:i])
                assert isinstance(instruction, LockInstruction)
                for demand in instruction.demands:
                    holding[demand.lock_path][order.id] = demand.count or 0
        if isinstance(order.state, WaitingForLock):
            instruction = workflow.instruction(order.position)
            assert isinstance(instruction, LockInstruction)
            for path in instruction.lock_paths:
                waiting[path].add(order.id)
    problems = []
    for path, lock_state in state.locks.items():
        acquired = lock_state.acquired
        held = {acquired.order_id: 0} if isinstance(acquired, Exclusive) else {}
        if isinstance(acquired, NonExclusive):
            held = dict(acquired.order_to_count)
        if held != holding[path] or sum(held.values()) > lock_state.lock.limit:
            problems.append(f"Lock:{path} held by {held}, but the orders in its blocks are {holding[path]}")
        if sorted(lock_state.queue) != sorted(waiting[path]) or len(set(lock_state.queue)) != len(lock_state.queue):
            problems.append(f"Lock:{path} queue {lock_state.queue}, but waiting are {sorted(waiting[path])}")
    return problems


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


@SETTINGS
@given(lock_actions)
def test_locks_are_never_lost_or_held_twice_across_restarts(steps: list[tuple[Any, ...]]) -> None:
    """After every step (and every restart from snapshot + tail) each lock is held by exactly the
    orders in its blocks and awaited by exactly the waiting ones (checked in Run.act)."""
    store = MemoryStore()
    run = Run(lambda: MemoryJournal.open(store))
    try:
        for action in steps:
            run.act(action)
        check(run, None)
    finally:
        run.journal.close()
