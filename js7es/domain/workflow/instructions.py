"""The instructions of a workflow, by JS7's `TYPE` names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from js7es.domain.lock import LockDemand
from js7es.domain.value import Value
from js7es.domain.workflow.job import WorkflowJob
from js7es.domain.workflow.position import Position
from js7es.domain.workflow.schedule import Schedule


@dataclass(frozen=True, slots=True, kw_only=True)
class Instruction:
    label: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    instructions: tuple[Instruction, ...]
    # JS7's Workflow.result: name -> expression, evaluated for each child order of a Fork branch or a
    # ForkList when the parent joins, into the parent's join outcome (ignored elsewhere, as in JS7)
    result: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecuteNamed(Instruction):
    TYPE_NAME = "Execute.Named"
    job_name: str
    default_arguments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecuteAnonymous(Instruction):
    TYPE_NAME = "Execute.Anonymous"
    job: WorkflowJob
    default_arguments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class IfThen:
    predicate: str
    then: Block


@dataclass(frozen=True, slots=True, kw_only=True)
class If(Instruction):
    TYPE_NAME = "If"
    if_thens: tuple[IfThen, ...]
    else_: Block | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ForkBranch:
    id: str
    workflow: Block


@dataclass(frozen=True, slots=True, kw_only=True)
class Fork(Instruction):
    TYPE_NAME = "Fork"
    branches: tuple[ForkBranch, ...]
    agent_path: str | None = None
    join_if_failed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ForkList(Instruction):
    """One child order `parent|id` per element of the list `children` (an expression), each running
    `workflow` (branch id "fork"); `child_to_id` and `child_to_arguments` are function literals of the
    element and its index (JS7's ForkList)."""

    TYPE_NAME = "ForkList"
    children: str  # expression
    child_to_id: str  # function literal, 1 or 2 parameters
    child_to_arguments: str  # function literal, 0 to 2 parameters
    workflow: Block
    agent_path: str | None = None
    join_if_failed: bool = False


FORK_LIST_BRANCH = "fork"


def is_fork_branch(branch: str) -> bool:
    """A Fork's "fork+<id>" or a ForkList's "fork": beyond it is another (child) order."""
    return branch.startswith("fork")


@dataclass(frozen=True, slots=True, kw_only=True)
class Try(Instruction):
    TYPE_NAME = "Try"
    try_: Block
    catch: Block
    retry_delays_s: tuple[float, ...] = ()
    max_tries: int | None = None

    def retry_delay_s(self, tries_done: int) -> float:
        """JS7: the n-th retry waits retryDelays[n-1]; the last delay repeats."""
        if not self.retry_delays_s:
            return 0.0
        return self.retry_delays_s[min(tries_done, len(self.retry_delays_s)) - 1]


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry(Instruction):
    TYPE_NAME = "Retry"


@dataclass(frozen=True, slots=True, kw_only=True)
class Fail(Instruction):
    TYPE_NAME = "Fail"
    message: str | None = None  # expression
    named_values: Mapping[str, Value] = field(default_factory=dict)  # JS7's NamedValues: constants
    uncatchable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Finish(Instruction):
    TYPE_NAME = "Finish"
    outcome_failed: bool = False
    message: str | None = None
    named_values: Mapping[str, Value] = field(default_factory=dict)  # of the outcome, constants


@dataclass(frozen=True, slots=True, kw_only=True)
class Prompt(Instruction):
    TYPE_NAME = "Prompt"
    question: str  # expression


@dataclass(frozen=True, slots=True, kw_only=True)
class Sleep(Instruction):
    TYPE_NAME = "Sleep"
    duration: str  # expression giving seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class PostNotices(Instruction):
    """Posts a notice to each board (JS7's PostNotices; the older PostNotice{boardPath} is read as one)."""

    TYPE_NAME = "PostNotices"
    board_paths: tuple[str, ...]


WhenNotAnnounced = Literal["Wait", "SkipWhenNoNotice", "DontWait"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectNotices(Instruction):
    """Waits until the notices make `board_paths` (JS7's BoardPathExpression text) true (JS7's
    ExpectNotices; the older ExpectNotice{boardPath} is read as one)."""

    TYPE_NAME = "ExpectNotices"
    board_paths: str
    when_not_announced: WhenNotAnnounced = "Wait"


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumeNotices(Instruction):
    """Like ExpectNotices, then runs `subworkflow` (branch id "consumeNotices") holding the notices,
    which are deleted when the order leaves the block (JS7's ConsumeNotices)."""

    TYPE_NAME = "ConsumeNotices"
    board_paths: str
    when_not_announced: WhenNotAnnounced = "Wait"
    subworkflow: Block


CONSUME_NOTICES_BRANCH = "consumeNotices"


@dataclass(frozen=True, slots=True, kw_only=True)
class Cycle(Instruction):
    """Runs `cycle_workflow` again and again as the schedule says, within the order's day (JS7's Cycle).

    Its block's branch id is "cycle" in the workflow; an order in it carries the cycle's state in the
    branch id, e.g. "cycle+end=1633143600000,i=2,next=1633075200000" (JS7's BranchId.cycle)."""

    TYPE_NAME = "Cycle"
    schedule: Schedule
    cycle_workflow: Block
    only_one_period: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Break(Instruction):
    """Leaves the innermost Cycle: the order moves on after it, whatever the schedule says."""

    TYPE_NAME = "Break"


@dataclass(frozen=True, slots=True, kw_only=True)
class LockInstruction(Instruction):
    """Runs `locked_workflow` holding the demanded locks (JS7's LockInstruction, TYPE "Lock"); its
    block's branch id is "lock"."""

    TYPE_NAME = "Lock"
    demands: tuple[LockDemand, ...]
    locked_workflow: Block

    @property
    def lock_paths(self) -> tuple[str, ...]:
        return tuple(d.lock_path for d in self.demands)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmptyInstruction(Instruction):
    """Does nothing: the order moves on (JS7's EmptyInstruction, e.g. a place for a label)."""

    TYPE_NAME = "EmptyInstruction"


@dataclass(frozen=True, slots=True, kw_only=True)
class Stop(Instruction):
    """Stops the order (OrderStopped): it stays until resumed, like a failed one (JS7's Stop)."""

    TYPE_NAME = "Stop"


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakOrder(Instruction):
    """Breaks the order (OrderBroken); JS7 has it for its own tests."""

    TYPE_NAME = "BreakOrder"


@dataclass(frozen=True, slots=True, kw_only=True)
class Options(Instruction):
    """Runs `block` (branch id "options"); with `stop_on_failure` a failure within it stops the order
    (OrderStopped) instead of failing it, the innermost Options that says so decides (JS7's Options)."""

    TYPE_NAME = "Options"
    stop_on_failure: bool | None = None
    block: Block


OPTIONS_BRANCH = "options"


@dataclass(frozen=True, slots=True, kw_only=True)
class StickySubagent(Instruction):
    """Runs `subworkflow` (branch id "stickySubagent") with its jobs on `agent_path` sticking to one
    Subagent (JS7's StickySubagent): the order records in `stickySubagents` the Subagent its first job
    in the block started on, and the block's later jobs on that Agent wait for it
    (js7es.domain.agent.selection)."""

    TYPE_NAME = "StickySubagent"
    agent_path: str
    subagent_bundle_id_expr: str | None = None  # expression
    subworkflow: Block


STICKY_SUBAGENT_BRANCH = "stickySubagent"


@dataclass(frozen=True, slots=True, kw_only=True)
class AddOrder(Instruction):
    """Adds an order to the current version of `workflow_path` (JS7's AddOrder): its id and arguments
    are expressions evaluated for the adding order; `start_position` is a position or a label."""

    TYPE_NAME = "AddOrder"
    order_id: str  # expression
    workflow_path: str
    arguments: Mapping[str, str] = field(default_factory=dict)  # expressions
    start_position: Position | str | None = None
    stop_positions: tuple[Position | str, ...] = ()  # positions or labels: the added order finishes there
    plan_id: str | None = None  # expression of JS7 2.8's planId: [] or [schema, key], the added order's plan
    delete_when_terminated: bool = False
    force_admission: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ImplicitEnd(Instruction):
    """The end of every block (not written in JSON)."""

    TYPE_NAME = "ImplicitEnd"


IMPLICIT_END = ImplicitEnd()


def then_branch(index: int) -> str:
    """The branch id of the if-then at `index` (0-based): JS7's "then", "then+2", "then+3", ...

    JS7 numbers the if-thens from 1 and names the first one plain "then" (BranchId.then_), so there is
    no "then+1".
    """
    return "then" if index == 0 else f"then+{index + 1}"


def then_index(branch: str) -> int | None:
    """The 0-based index of an if-then branch id ("then" -> 0, "then+2" -> 1, ...), or None."""
    if branch == "then":
        return 0
    if branch.startswith("then+") and branch[5:].isdigit() and not branch[5:].startswith("0"):
        number = int(branch[5:])
        return number - 1 if number >= 2 else None
    return None


def branches_of(instruction: Instruction) -> tuple[tuple[str, Block], ...]:
    """The nested blocks of an instruction with their branch ids (try/catch for the first try)."""
    match instruction:
        case If(if_thens=if_thens, else_=else_):
            result = [(then_branch(i), it.then) for i, it in enumerate(if_thens)]
            if else_ is not None:
                result.append(("else", else_))
            return tuple(result)
        case Fork(branches=branches):
            return tuple((f"fork+{b.id}", b.workflow) for b in branches)
        case Try(try_=try_, catch=catch):
            return (("try+0", try_), ("catch+0", catch))
        case Cycle(cycle_workflow=block):
            return (("cycle", block),)
        case ConsumeNotices(subworkflow=block):
            return ((CONSUME_NOTICES_BRANCH, block),)
        case LockInstruction(locked_workflow=block):
            return (("lock", block),)
        case Options(block=block):
            return ((OPTIONS_BRANCH, block),)
        case ForkList(workflow=block):
            return ((FORK_LIST_BRANCH, block),)
        case StickySubagent(subworkflow=block):
            return ((STICKY_SUBAGENT_BRANCH, block),)
    return ()


def block_of_branch(instruction: Instruction, branch: str) -> Block | None:
    """The block of a branch id, including retried try+N/catch+N and else-if then+N (N >= 2)."""
    match instruction:
        case If(if_thens=if_thens, else_=else_):
            if branch == "else":
                return else_
            i = then_index(branch)
            return if_thens[i].then if i is not None and i < len(if_thens) else None
        case Fork(branches=branches):
            for b in branches:
                if branch == f"fork+{b.id}":
                    return b.workflow
        case Try(try_=try_, catch=catch):
            if branch.startswith("try+") and branch[4:].isdigit():
                return try_
            if branch.startswith("catch+") and branch[6:].isdigit():
                return catch
        case Cycle(cycle_workflow=block):
            if is_cycle_branch(branch):
                return block
        case ConsumeNotices(subworkflow=block):
            if branch == CONSUME_NOTICES_BRANCH:
                return block
        case LockInstruction(locked_workflow=block):
            if branch == "lock":
                return block
        case Options(block=block):
            if branch == OPTIONS_BRANCH:
                return block
        case ForkList(workflow=block):
            if branch == FORK_LIST_BRANCH:
                return block
        case StickySubagent(subworkflow=block):
            if branch == STICKY_SUBAGENT_BRANCH:
                return block
    return None


def is_cycle_branch(branch: str) -> bool:
    """ "cycle" (the workflow's branch id) or "cycle+…" (an order's, with the cycle state)."""
    return branch == "cycle" or branch.startswith("cycle+")
