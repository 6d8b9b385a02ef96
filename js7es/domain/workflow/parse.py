"""Reading a workflow from JS7's JSON form, refusing a bad one as a whole with a coded problem.

A problem names where it is: the workflow position (e.g. 1/fork+b:0) and the JSON path. Unknown fields
are ignored, as JS7's decoders do, so that files exported by JOC Cockpit deploy unchanged; unknown
`TYPE`s, unknown jobs, bad expressions, bad labels and unreachable instructions are refused.

JS7 fields and instructions that js7es does not implement yet are refused with the problem NotSupported
wherever they would change what runs (a job's admission times, a Cycle, a branch's result, a login, ...),
never dropped silently. `timeZone` (default UTC, JS7's) is the zone of the jobs' admission times and of
cycles; `calendarPath` is read for cycles; a
workflow with a Cycle needs a calendarPath (JS7's Workflow.checkCalendar), a Break must be in a Cycle
(and not in a Fork inside it: JS7's Workflow.checkBreak).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from js7es.domain.board.expression import board_paths, parse_board_path_expression
from js7es.domain.calendar.item import zone_of
from js7es.domain.expression import parse_expression
from js7es.domain.expression.function import parse_function
from js7es.domain.lock import LockDemand
from js7es.domain.problem import Problem, problem
from js7es.domain.time.admission import parse_admission_time_scheme
from js7es.domain.value import Value, value_from_json
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import (
    AddOrder,
    Block,
    Break,
    BreakOrder,
    ConsumeNotices,
    Cycle,
    EmptyInstruction,
    ExecuteAnonymous,
    ExecuteNamed,
    ExpectNotices,
    Fail,
    Finish,
    Fork,
    ForkBranch,
    ForkList,
    If,
    IfThen,
    Instruction,
    LockInstruction,
    Options,
    PostNotices,
    Prompt,
    Retry,
    Sleep,
    StickySubagent,
    Stop,
    Try,
    then_branch,
)
from js7es.domain.workflow.job import (
    DEFAULT_SIGKILL_DELAY_S,
    CommandLineExecutable,
    Executable,
    InternalExecutable,
    PathExecutable,
    ReturnCodeMeaning,
    ShellScriptExecutable,
    WorkflowJob,
)
from js7es.domain.workflow.position import Position
from js7es.domain.workflow.schedule import parse_schedule
from js7es.domain.workflow.workflow import Parameter, Workflow, WorkflowId

MAX_NESTING = 50
PARAMETER_TYPES = frozenset({"String", "Number", "Boolean", "List", "Object", "Any"})
_NAME_FORBIDDEN = set("|~/\\\"'$ \t\r\n")


class _Refused(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _refuse(code: str, message: str, where: Position | str, **args: object) -> _Refused:
    at = pos.to_string(where) if isinstance(where, tuple) else where
    return _Refused(problem(code, f"{message} (at {at})", position=at, **args))


# JS7's instructions (Instructions.scala) that js7es does not run yet: refused as NotSupported, not as unknown.
JS7_INSTRUCTIONS_NOT_SUPPORTED = frozenset(
    {
        "AdmissionTime",
        "Say",
    }
)


def _not_supported(what: str, where: Position | str, field: str) -> _Refused:
    return _refuse("NotSupported", f"js7es does not support {what} yet", where, field=field)


def parse_workflow(
    obj: Any, *, path: str | None = None, version_id: str | None = None, committed: bool = False
) -> Workflow | Problem:
    """A workflow from its JSON object; `path`/`version_id` fill in what a file name or deployment gives.

    `committed`: the workflow is in the journal already (applying, recovering, projecting). JS7 fields
    that js7es does not support are refused only when a workflow is deployed; one deployed before
    they were refused is read as it ran then (those fields ignored), so that the journal still applies.
    """
    try:
        return _Parser(committed=committed).workflow(obj, path, version_id)
    except _Refused as refused:
        return refused.problem
    except RecursionError:
        return problem("WorkflowTooDeep", f"Workflow nesting exceeds {MAX_NESTING} levels")


def parse_job(obj: Any, where: str = "job") -> WorkflowJob | Problem:
    try:
        return _Parser().job(obj, where)
    except _Refused as refused:
        return refused.problem


def check_expression(text: Any, where: Position | str) -> str:
    if not isinstance(text, str):
        raise _refuse("InvalidExpression", f"Expected an expression string, got {_kind(text)}", where)
    parsed = parse_expression(text)
    if isinstance(parsed, Problem):
        raise _refuse("InvalidExpression", f"Bad expression {text!r}: {parsed.message}", where, expression=text)
    return text


def _check_result_names(branches: list[ForkBranch], here: Position) -> None:
    """JS7's Fork.checked: a result name in two branches would be overwritten at the join."""
    first: dict[str, str] = {}
    for branch in branches:
        for name in branch.workflow.result or {}:
            if name in first:
                raise _refuse(
                    "InvalidInstruction",
                    f"Result name '{name}' is used duplicately in Fork branches '{first[name]}' , '{branch.id}'",
                    here,
                )
            first[name] = branch.id


def valid_name(name: Any) -> bool:
    return isinstance(name, str) and bool(name) and not (set(name) & _NAME_FORBIDDEN) and len(name) <= 255


class _Parser:
    def __init__(self, *, committed: bool = False) -> None:
        self.committed = committed
        self.labels: dict[str, Position] = {}
        self.named_jobs_used: dict[str, Position] = {}
        self.first_cycle: Position | None = None
        self.board_paths: dict[str, Position] = {}  # the boards the notice instructions name

    def unsupported(self, what: str, where: Position | str, field: str) -> None:
        if not self.committed:
            raise _not_supported(what, where, field)

    def workflow(self, obj: Any, path: str | None, version_id: str | None) -> Workflow:
        if not isinstance(obj, Mapping):
            raise _refuse("InvalidWorkflow", f"A workflow must be a JSON object, not {_kind(obj)}", "workflow")
        if obj.get("TYPE", "Workflow") != "Workflow":
            raise _refuse("InvalidWorkflow", f"Expected TYPE Workflow, got {obj.get('TYPE')!r}", "workflow")
        path = obj.get("path", path)
        if not valid_name(path):
            raise _refuse("InvalidWorkflowPath", f"Invalid workflow path {path!r}", "path")
        version_id = obj.get("versionId", version_id) or ""
        if not isinstance(version_id, str) or "~" in version_id:
            raise _refuse("InvalidVersionId", f"Invalid versionId {version_id!r}", "versionId")
        if obj.get("result"):
            self.unsupported("a workflow's result", "result", "result")
        jobs_obj = obj.get("jobs", {})
        if not isinstance(jobs_obj, Mapping):
            raise _refuse("InvalidWorkflow", "'jobs' must be an object", "jobs")
        jobs = {}
        for name, job in jobs_obj.items():
            if not valid_name(name):
                raise _refuse("InvalidJobName", f"Invalid job name {name!r}", f"jobs.{name}")
            jobs[name] = self.job(job, f"jobs.{name}")
        instructions = self.block(obj.get("instructions"), (), "instructions", depth=0)
        for job_name, where in self.named_jobs_used.items():
            if job_name not in jobs:
                raise _refuse("UnknownJob", f"Unknown job name {job_name!r}", where, job=job_name)
        parameters, allow_undeclared = self.order_preparation(obj.get("orderPreparation"))
        resources = self.string_tuple(obj.get("jobResourcePaths", []), "jobResourcePaths")
        time_zone = obj.get("timeZone", "UTC")
        if not self.committed and isinstance(zone_of(time_zone), Problem):  # a committed one runs and fails
            raise _refuse("UnknownTimeZone", f"Unknown time zone {time_zone!r}", "timeZone", timeZone=time_zone)
        calendar_path = obj.get("calendarPath")
        if calendar_path is not None and not valid_name(calendar_path):
            raise _refuse("InvalidWorkflow", f"Invalid calendarPath {calendar_path!r}", "calendarPath")
        if self.first_cycle is not None and calendar_path is None:
            raise _refuse("CycleRequiresCalendar", "Cycle instruction requires calendarPath", self.first_cycle)
        title = obj.get("title")
        return Workflow(
            id=WorkflowId(path, version_id),
            instructions=instructions,
            jobs=jobs,
            parameters=parameters,
            allow_undeclared=allow_undeclared,
            job_resource_paths=resources,
            time_zone=str(time_zone),
            calendar_path=calendar_path,
            title=title if isinstance(title, str) else None,
            raw={**obj, "path": path, "versionId": version_id},
            labels=dict(self.labels),
            board_paths=dict(self.board_paths),
        )

    def block(self, obj: Any, branch_path: Position, where: str, depth: int) -> Block:
        if depth > MAX_NESTING:
            raise _refuse("WorkflowTooDeep", f"Nesting deeper than {MAX_NESTING} levels", where)
        if not isinstance(obj, list):
            raise _refuse("InvalidWorkflow", f"Expected a list of instructions, got {_kind(obj)}", where)
        result: list[Instruction] = []
        for nr, item in enumerate(obj):
            here = (*branch_path, nr)
            if result and isinstance(result[-1], (Fail, Finish, Retry, Break)):
                raise _refuse(
                    "UnreachableInstruction",
                    f"Instruction follows an unconditional {type(result[-1]).__name__} and can never run",
                    here,
                )
            result.append(self.instruction(item, here, f"{where}[{nr}]", depth))
        return Block(instructions=tuple(result))

    def instruction(self, obj: Any, here: Position, where: str, depth: int) -> Instruction:
        if not isinstance(obj, Mapping):
            raise _refuse("InvalidInstruction", f"An instruction must be an object, not {_kind(obj)}", here)
        label = obj.get("label")
        if label is not None:
            if not valid_name(label):
                raise _refuse("InvalidLabel", f"Invalid label {label!r}", here)
            if label in self.labels:
                raise _refuse("DuplicateLabel", f"Label {label!r} is used twice", here, label=label)
            self.labels[label] = here
        type_ = obj.get("TYPE")
        match type_:
            case "Execute.Named":
                job_name = obj.get("jobName")
                if not isinstance(job_name, str):
                    raise _refuse("InvalidInstruction", "Execute.Named needs a jobName", here)
                self.named_jobs_used.setdefault(job_name, here)
                return ExecuteNamed(
                    label=label,
                    job_name=job_name,
                    default_arguments=self.expressions(obj.get("defaultArguments", {}), here),
                )
            case "Execute.Anonymous":
                return ExecuteAnonymous(
                    label=label,
                    job=self.job(obj.get("job"), pos.to_string(here)),
                    default_arguments=self.expressions(obj.get("defaultArguments", {}), here),
                )
            case "If":
                return self.if_(obj, label, here, where, depth)
            case "Fork":
                return self.fork(obj, label, here, where, depth)
            case "Try":
                return self.try_(obj, label, here, where, depth)
            case "Retry":
                if not any(isinstance(p, str) and p.startswith("catch+") for p in here[1::2]):
                    raise _refuse("RetryOutsideCatch", "Retry is only allowed inside a catch block", here)
                return Retry(label=label)
            case "Fail":
                message = obj.get("message")
                return Fail(
                    label=label,
                    message=None if message is None else check_expression(message, here),
                    named_values=self.named_values(obj.get("namedValues", {}), here),
                    uncatchable=bool(obj.get("uncatchable", False)),
                )
            case "Finish":
                return self.finish(obj.get("outcome"), label, here)
            case "Prompt":
                return Prompt(label=label, question=check_expression(obj.get("question"), here))
            case "Sleep":
                return Sleep(label=label, duration=check_expression(obj.get("duration"), here))
            case "Cycle":
                return self.cycle(obj, label, here, where, depth)
            case "PostNotices" | "PostNotice":
                return self.post_notices(obj, label, here)
            case "ExpectNotices" | "ExpectNotice" | "ConsumeNotices":
                return self.expect_notices(obj, label, here, where, depth)
            case "Lock":
                return self.lock(obj, label, here, where, depth)
            case "Break":
                if not _in_cycle(here):
                    raise _refuse("BreakWithoutCycle", "Break instruction without Cycle", here)
                return Break(label=label)
            case "EmptyInstruction":
                return EmptyInstruction(label=label)
            case "Stop":
                return Stop(label=label)
            case "BreakOrder":
                return BreakOrder(label=label)
            case "Options":
                stop_on_failure = obj.get("stopOnFailure")
                if stop_on_failure is not None and not isinstance(stop_on_failure, bool):
                    raise _refuse("InvalidInstruction", "stopOnFailure must be true or false", here)
                block = self.subworkflow(obj.get("block"), (*here, "options"), f"{where}.block", depth)
                return Options(label=label, stop_on_failure=stop_on_failure, block=block)
            case "StickySubagent":
                return self.sticky_subagent(obj, label, here, where, depth)
            case "AddOrder":
                return self.add_order(obj, label, here)
            case "ForkList":
                return self.fork_list(obj, label, here, where, depth)
        if type_ in JS7_INSTRUCTIONS_NOT_SUPPORTED:
            raise _not_supported(f"the instruction {type_}", here, "TYPE")
        raise _refuse("UnknownInstruction", f"Unknown instruction TYPE {type_!r}", here, TYPE=type_)

    def if_(self, obj: Mapping[str, Any], label: str | None, here: Position, where: str, depth: int) -> If:
        if "ifThens" in obj:
            pairs = obj["ifThens"]
            if not isinstance(pairs, list) or not pairs:
                raise _refuse("InvalidInstruction", "If needs a non-empty list 'ifThens'", here)
        else:  # the older form {predicate, then, else}
            pairs = [{"predicate": obj.get("predicate"), "then": obj.get("then")}]
        if_thens = []
        for i, pair in enumerate(pairs):
            if not isinstance(pair, Mapping):
                raise _refuse("InvalidInstruction", "ifThens entries must be objects", here)
            branch = then_branch(i)
            predicate = check_expression(pair.get("predicate"), here)
            then = self.subworkflow(pair.get("then"), (*here, branch), f"{where}.then", depth)
            if_thens.append(IfThen(predicate=predicate, then=then))
        else_ = obj.get("else")
        return If(
            label=label,
            if_thens=tuple(if_thens),
            else_=None if else_ is None else self.subworkflow(else_, (*here, "else"), f"{where}.else", depth),
        )

    def fork(self, obj: Mapping[str, Any], label: str | None, here: Position, where: str, depth: int) -> Fork:
        branches_obj = obj.get("branches")
        if not isinstance(branches_obj, list) or not branches_obj:
            raise _refuse("InvalidInstruction", "Fork needs a non-empty list 'branches'", here)
        branches = []
        seen = set()
        for b in branches_obj:
            branch_id = b.get("id") if isinstance(b, Mapping) else None
            if not valid_name(branch_id):
                raise _refuse("InvalidBranchId", f"Invalid fork branch id {branch_id!r}", here)
            if branch_id in seen:
                raise _refuse("DuplicateBranchId", f"Fork branch id {branch_id!r} is used twice", here)
            seen.add(branch_id)
            assert isinstance(b, Mapping)
            block = self.subworkflow(b.get("workflow"), (*here, f"fork+{branch_id}"), f"{where}", depth)
            branches.append(ForkBranch(id=str(branch_id), workflow=block))
        _check_result_names(branches, here)
        agent_path = obj.get("agentPath")
        return Fork(
            label=label,
            branches=tuple(branches),
            agent_path=agent_path if isinstance(agent_path, str) else None,
            join_if_failed=bool(obj.get("joinIfFailed", False)),
        )

    def cycle(self, obj: Mapping[str, Any], label: str | None, here: Position, where: str, depth: int) -> Cycle:
        schedule = parse_schedule(obj.get("schedule"))
        if isinstance(schedule, Problem):
            raise _refuse(schedule.code, schedule.message, here)
        only_one_period = obj.get("onlyOnePeriod", False)
        if not isinstance(only_one_period, bool):
            raise _refuse("InvalidInstruction", "onlyOnePeriod must be true or false", here)
        if self.first_cycle is None:
            self.first_cycle = here
        return Cycle(
            label=label,
            schedule=schedule,
            cycle_workflow=self.subworkflow(
                obj.get("cycleWorkflow"), (*here, "cycle"), f"{where}.cycleWorkflow", depth
            ),
            only_one_period=only_one_period,
        )

    def post_notices(self, obj: Mapping[str, Any], label: str | None, here: Position) -> PostNotices:
        given: Any = [obj.get("boardPath")] if obj.get("TYPE") == "PostNotice" else obj.get("boardPaths")
        if not isinstance(given, list) or not given:  # PostNotice: its older form with one boardPath
            raise _refuse("InvalidInstruction", "PostNotices needs a non-empty list 'boardPaths'", here)
        if not all(valid_name(p) for p in given):
            raise _refuse("InvalidInstruction", f"Invalid board paths {given!r}", here)
        paths: list[str] = [str(p) for p in given]
        if len(set(paths)) != len(paths):  # JS7: "Unexpected duplicates"
            raise _refuse("InvalidInstruction", f"Unexpected duplicates in boardPaths {paths!r}", here)
        self.board_paths.update((p, here) for p in paths if p not in self.board_paths)
        return PostNotices(label=label, board_paths=tuple(paths))

    def expect_notices(
        self, obj: Mapping[str, Any], label: str | None, here: Position, where: str, depth: int
    ) -> ExpectNotices | ConsumeNotices:
        type_ = obj.get("TYPE")
        if type_ == "ExpectNotice":  # JS7's older form
            path = obj.get("boardPath")
            if not valid_name(path):
                raise _refuse("InvalidInstruction", f"Invalid boardPath {path!r}", here)
            text = f"'{path}'"
        else:
            given = obj.get("boardPaths")
            if not isinstance(given, str):
                raise _refuse("InvalidInstruction", f"{type_} needs 'boardPaths', a board path expression", here)
            text = given
        expr = parse_board_path_expression(text)
        if isinstance(expr, Problem):
            raise _refuse(expr.code, expr.message, here, expression=text)
        self.board_paths.update((p, here) for p in board_paths(expr) if p not in self.board_paths)
        when = obj.get("whenNotAnnounced", "Wait")
        if when not in ("Wait", "SkipWhenNoNotice", "DontWait"):
            raise _refuse("InvalidInstruction", f"Unknown whenNotAnnounced {when!r}", here)
        if type_ != "ConsumeNotices":
            return ExpectNotices(label=label, board_paths=text, when_not_announced=when)
        block = self.subworkflow(obj.get("subworkflow"), (*here, "consumeNotices"), f"{where}.subworkflow", depth)
        return ConsumeNotices(label=label, board_paths=text, when_not_announced=when, subworkflow=block)

    def lock(
        self, obj: Mapping[str, Any], label: str | None, here: Position, where: str, depth: int
    ) -> LockInstruction:
        """JS7's Lock {demands: [{lockPath, count?}], lockedWorkflow} or the older {lockPath, count?}."""
        raw_demands = (
            obj["demands"] if "demands" in obj else [{"lockPath": obj.get("lockPath"), "count": obj.get("count")}]
        )
        if not isinstance(raw_demands, list) or not raw_demands:
            raise _refuse("InvalidInstruction", "Lock needs a non-empty list 'demands'", here)
        demands = []
        for demand in raw_demands:
            if not isinstance(demand, Mapping) or not valid_name(demand.get("lockPath")):
                raise _refuse("InvalidInstruction", f"Invalid lock demand {demand!r}", here)
            count = demand.get("count")
            if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
                raise _refuse("LockInvalidCount", f"Lock:{demand['lockPath']}: Invalid count={count}", here)
            demands.append(LockDemand(lock_path=demand["lockPath"], count=count))
        paths = [d.lock_path for d in demands]
        if len(set(paths)) != len(paths):
            raise _refuse("InvalidInstruction", f"Lock demands a lock twice: {paths}", here)
        return LockInstruction(
            label=label,
            demands=tuple(demands),
            locked_workflow=self.subworkflow(
                obj.get("lockedWorkflow"), (*here, "lock"), f"{where}.lockedWorkflow", depth
            ),
        )

    def sticky_subagent(
        self, obj: Mapping[str, Any], label: str | None, here: Position, where: str, depth: int
    ) -> StickySubagent:
        agent_path = obj.get("agentPath")
        if not valid_name(agent_path):
            raise _refuse("InvalidInstruction", f"StickySubagent needs an agentPath, not {agent_path!r}", here)
        expr = obj.get("subagentBundleIdExpr", obj.get("subagentSelectionIdExpr"))  # JS7's older name
        block = self.subworkflow(obj.get("subworkflow"), (*here, "stickySubagent"), f"{where}.subworkflow", depth)
        return StickySubagent(
            label=label,
            agent_path=str(agent_path),
            subagent_bundle_id_expr=None if expr is None else check_expression(expr, here),
            subworkflow=block,
        )

    def fork_list(self, obj: Mapping[str, Any], label: str | None, here: Position, where: str, depth: int) -> ForkList:
        """JS7's ForkList{children, childToId, childToArguments, workflow, agentPath?, joinIfFailed?}."""
        functions: dict[str, str] = {}
        for name, minimum in (("childToId", 1), ("childToArguments", 0)):
            text = obj.get(name)
            parsed = parse_function(text, minimum=minimum) if isinstance(text, str) else None
            if parsed is None or isinstance(parsed, Problem):
                why = parsed.message if isinstance(parsed, Problem) else "a function like 'x => …' is needed"
                raise _refuse("InvalidInstruction", f"ForkList's {name}: {why}", here, field=name)
            functions[name] = str(text)
        agent_path = obj.get("agentPath")
        if agent_path is not None and not valid_name(agent_path):
            raise _refuse("InvalidInstruction", f"Invalid agentPath {agent_path!r}", here)
        join_if_failed = obj.get("joinIfFailed", False)
        if not isinstance(join_if_failed, bool):
            raise _refuse("InvalidInstruction", "joinIfFailed must be true or false", here)
        return ForkList(
            label=label,
            children=check_expression(obj.get("children"), here),
            child_to_id=functions["childToId"],
            child_to_arguments=functions["childToArguments"],
            workflow=self.subworkflow(obj.get("workflow"), (*here, "fork"), f"{where}.workflow", depth),
            agent_path=agent_path,
            join_if_failed=join_if_failed,
        )

    def add_order(self, obj: Mapping[str, Any], label: str | None, here: Position) -> AddOrder:
        """JS7's AddOrder{orderId, workflowPath, arguments?, startPosition?, stopPositions?,
        deleteWhenTerminated?, forceAdmission?}: positions or labels (checked when the order is added)."""
        workflow_path = obj.get("workflowPath")
        if not valid_name(workflow_path):
            raise _refuse("InvalidInstruction", f"AddOrder needs a workflowPath, not {workflow_path!r}", here)
        start = obj.get("startPosition")
        if start is not None and not (pos.is_valid(start) or valid_name(start)):
            raise _refuse("InvalidInstruction", f"Invalid startPosition {start!r}: a position or a label", here)
        stops = obj.get("stopPositions", [])
        if not isinstance(stops, list) or not all(pos.is_valid(s) or valid_name(s) for s in stops):
            raise _refuse("InvalidInstruction", "stopPositions must be a list of positions or labels", here)
        plan_id = obj.get("planId")  # js7es derives plans from order ids: checked when the order is added
        flags = {name: obj.get(name, False) for name in ("deleteWhenTerminated", "forceAdmission")}
        if not all(isinstance(flag, bool) for flag in flags.values()):
            raise _refuse("InvalidInstruction", "deleteWhenTerminated and forceAdmission must be true or false", here)
        return AddOrder(
            label=label,
            order_id=check_expression(obj.get("orderId"), here),
            workflow_path=str(workflow_path),
            arguments=self.expressions(obj.get("arguments", {}), here),
            start_position=tuple(start) if isinstance(start, list) else start,
            stop_positions=tuple(dict.fromkeys(tuple(s) if isinstance(s, list) else s for s in stops)),
            plan_id=None if plan_id is None else check_expression(plan_id, here),
            delete_when_terminated=flags["deleteWhenTerminated"],
            force_admission=flags["forceAdmission"],
        )

    def finish(self, outcome: Any, label: str | None, here: Position) -> Finish:
        """JS7's Finish(outcome?: Succeeded{namedValues} | Failed{message, namedValues})."""
        if outcome is None:
            return Finish(label=label)
        if not isinstance(outcome, Mapping) or outcome.get("TYPE") not in ("Succeeded", "Failed"):
            raise _refuse("InvalidInstruction", "Finish.outcome must be a Succeeded or Failed outcome", here)
        message = outcome.get("message")
        if message is not None and not isinstance(message, str):
            raise _refuse("InvalidInstruction", "Finish.outcome.message must be a string", here)
        return Finish(
            label=label,
            outcome_failed=outcome["TYPE"] == "Failed",
            message=message,
            named_values=self.named_values(outcome.get("namedValues", {}), here),
        )

    def named_values(self, obj: Any, where: Position | str) -> dict[str, Value]:
        """JS7's NamedValues: constant values (not expressions), e.g. {"returnCode": 7}."""
        if not isinstance(obj, Mapping):
            raise _refuse("InvalidWorkflow", f"Expected an object of named values, got {_kind(obj)}", where)
        converted = value_from_json(dict(obj))
        assert isinstance(converted, Mapping)
        return dict(converted)

    def try_(self, obj: Mapping[str, Any], label: str | None, here: Position, where: str, depth: int) -> Try:
        delays = obj.get("retryDelays", [])
        if not isinstance(delays, list) or not all(_is_duration(d) for d in delays):
            raise _refuse("InvalidInstruction", "retryDelays must be a list of seconds >= 0", here)
        max_tries = obj.get("maxTries")
        if max_tries is not None and (not isinstance(max_tries, int) or max_tries < 1):
            raise _refuse("InvalidInstruction", "maxTries must be a number >= 1", here)
        return Try(
            label=label,
            try_=self.subworkflow(obj.get("try"), (*here, "try+0"), f"{where}.try", depth),
            catch=self.subworkflow(obj.get("catch"), (*here, "catch+0"), f"{where}.catch", depth),
            retry_delays_s=tuple(float(d) for d in delays),
            max_tries=max_tries,
        )

    def subworkflow(self, obj: Any, branch_path: Position, where: str, depth: int) -> Block:
        result = None
        if isinstance(obj, Mapping):
            # JS7's Workflow.result: a fork branch's (or a ForkList child's) values for the parent's join
            if obj.get("result") is not None:
                result = self.expressions(obj["result"], branch_path[:-1])
            obj = obj.get("instructions")
        block = self.block(obj, branch_path, where, depth + 1)
        return block if result is None else replace(block, result=result)

    def job(self, obj: Any, where: str) -> WorkflowJob:
        if not isinstance(obj, Mapping):
            raise _refuse("InvalidJob", f"A job must be an object, not {_kind(obj)}", where)
        agent_path = obj.get("agentPath")
        if not valid_name(agent_path):
            raise _refuse("InvalidJob", f"Invalid agentPath {agent_path!r}", where)
        process_limit = obj.get("processLimit", obj.get("parallelism", 1))
        if not isinstance(process_limit, int) or process_limit < 1:
            raise _refuse("InvalidJob", "processLimit must be a number >= 1", where)
        timeout = obj.get("timeout")
        if timeout is not None and not _is_duration(timeout):
            raise _refuse("InvalidJob", "timeout must be seconds >= 0", where)
        sigkill = obj.get("sigkillDelay", DEFAULT_SIGKILL_DELAY_S)
        if not _is_duration(sigkill):
            raise _refuse("InvalidJob", "sigkillDelay must be seconds >= 0", where)
        bundle = obj.get("subagentBundleIdExpr", obj.get("subagentSelectionIdExpr"))
        constant = obj.get("subagentBundleId", obj.get("subagentSelectionId"))  # JS7's older constant form
        if bundle is None and constant is not None:
            if not valid_name(constant):
                raise _refuse("InvalidJob", f"Invalid subagentBundleId {constant!r}", where)
            bundle = f"'{constant}'"
        if bundle is not None:
            check_expression(bundle, where)
        scheme = obj.get("admissionTimeScheme")
        if scheme is not None:
            scheme = parse_admission_time_scheme(scheme, f"{where}.admissionTimeScheme")
            if isinstance(scheme, Problem):
                if not self.committed:
                    raise _Refused(scheme)
                scheme = None  # deployed when js7es ignored admission times: it ran without them
        # JS7 reads skipIfNoAdmissionForOrderDay too (its name up to 2.4)
        skip = obj.get("skipIfNoAdmissionStartForOrderDay", obj.get("skipIfNoAdmissionForOrderDay", False))
        kill_at_end = obj.get("killAtEndOfAdmissionPeriod", False)
        if not isinstance(skip, bool) or not isinstance(kill_at_end, bool):
            raise _refuse("InvalidJob", "The admission flags must be true or false", where)
        if kill_at_end:  # kept in the model; killing the process at the period's end is not done yet
            self.unsupported("killAtEndOfAdmissionPeriod", where, "killAtEndOfAdmissionPeriod")
        return WorkflowJob(
            agent_path=str(agent_path),
            executable=self.executable(obj.get("executable"), where),
            default_arguments=self.expressions(obj.get("defaultArguments", {}), where),
            subagent_bundle_id_expr=bundle,
            job_resource_paths=self.string_tuple(obj.get("jobResourcePaths", []), where),
            process_limit=process_limit,
            timeout_s=None if timeout is None else float(timeout),
            sigkill_delay_s=float(sigkill),
            fail_on_err_written=bool(obj.get("failOnErrWritten", False)),
            is_not_restartable=bool(obj.get("isNotRestartable", False)),
            title=obj.get("title") if isinstance(obj.get("title"), str) else None,
            admission_time_scheme=scheme,
            skip_if_no_admission_start_for_order_day=skip,
            kill_at_end_of_admission_period=kill_at_end,
        )

    def executable(self, obj: Any, where: str) -> Executable:
        if not isinstance(obj, Mapping):
            raise _refuse("InvalidJob", "A job needs an 'executable' object", where)
        common: dict[str, Any] = {
            "env": self.expressions(obj.get("env", {}), where),
            "return_code_meaning": self.return_code_meaning(obj.get("returnCodeMeaning"), where),
            "v1_compatible": bool(obj.get("v1Compatible", False)),
        }
        type_ = obj.get("TYPE")
        if obj.get("login") is not None:  # every job runs as the Agent's user
            self.unsupported("a job's login (running as another user)", where, "login")
        login = None
        match type_:
            case "ShellScriptExecutable" | "ScriptExecutable":
                script = obj.get("script")
                if not isinstance(script, str):
                    raise _refuse("InvalidJob", "ShellScriptExecutable needs a 'script' string", where)
                return ShellScriptExecutable(script=script, login=login, **common)
            case "PathExecutable" | "ExecutablePath":
                path = obj.get("path")
                if not isinstance(path, str) or not path:
                    raise _refuse("InvalidJob", "PathExecutable needs a 'path'", where)
                return PathExecutable(path=path, login=login, **common)
            case "CommandLineExecutable":
                command = obj.get("command")
                if not isinstance(command, str) or not command.strip():
                    raise _refuse("InvalidJob", "CommandLineExecutable needs a 'command'", where)
                return CommandLineExecutable(command=command, **common)
            case "InternalExecutable":
                class_name = obj.get("className")
                if not isinstance(class_name, str) or not class_name:
                    raise _refuse("InvalidJob", "InternalExecutable needs a 'className'", where)
                if obj.get("script"):
                    self.unsupported("a script of an InternalExecutable", where, "script")
                return InternalExecutable(
                    class_name=class_name,
                    job_arguments=self.expressions(obj.get("jobArguments", {}), where, check=False),
                    arguments=self.expressions(obj.get("arguments", {}), where),
                    **common,
                )
        raise _refuse("UnknownExecutable", f"Unknown executable TYPE {type_!r}", where, TYPE=type_)

    def return_code_meaning(self, obj: Any, where: str) -> ReturnCodeMeaning:
        if obj is None:
            return ReturnCodeMeaning()
        if isinstance(obj, Mapping) and len(obj) == 1:
            kind, codes = next(iter(obj.items()))
            ranges = _ranges(codes)
            if kind in ("success", "failure") and ranges is not None:
                return (
                    ReturnCodeMeaning(success=ranges)
                    if kind == "success"
                    else ReturnCodeMeaning(success=None, failure=ranges)
                )
        raise _refuse("InvalidJob", 'returnCodeMeaning must be {"success": [...]} or {"failure": [...]}', where)

    def expressions(self, obj: Any, where: Position | str, check: bool = True) -> dict[str, str]:
        if not isinstance(obj, Mapping):
            raise _refuse("InvalidWorkflow", f"Expected an object of expressions, got {_kind(obj)}", where)
        result = {}
        for name, expr in obj.items():
            if not isinstance(expr, str):
                raise _refuse("InvalidExpression", f"Value of {name!r} must be an expression string", where)
            result[name] = check_expression(expr, where) if check else expr
        return result

    def order_preparation(self, obj: Any) -> tuple[dict[str, Parameter], bool]:
        if obj is None:
            return {}, True  # no declaration: any arguments are accepted (JS7's default)
        if not isinstance(obj, Mapping):
            raise _refuse("InvalidWorkflow", "orderPreparation must be an object", "orderPreparation")
        params = obj.get("parameters", {})
        if not isinstance(params, Mapping):
            raise _refuse("InvalidWorkflow", "parameters must be an object", "orderPreparation")
        result = {}
        for name, p in params.items():
            where = f"orderPreparation.parameters.{name}"
            if not isinstance(p, Mapping):
                raise _refuse("InvalidParameter", "A parameter must be an object", where)
            type_ = p.get("type", "Any")
            if isinstance(type_, Mapping):
                type_ = type_.get("TYPE", "Any")
            if type_ not in PARAMETER_TYPES:
                raise _refuse("InvalidParameter", f"Unknown parameter type {type_!r}", where)
            default = p.get("default")
            final = p.get("final")
            if default is not None and final is not None:
                raise _refuse("InvalidParameter", "A parameter has either a default or a final value", where)
            result[name] = Parameter(
                type=type_,
                default=None if default is None else check_expression(default, where),
                final=None if final is None else check_expression(final, where),
            )
        return result, bool(obj.get("allowUndeclared", False))

    def string_tuple(self, obj: Any, where: str) -> tuple[str, ...]:
        if not isinstance(obj, list) or not all(valid_name(s) for s in obj):
            raise _refuse("InvalidWorkflow", "Expected a list of item paths", where)
        return tuple(obj)


def _ranges(codes: Any) -> tuple[tuple[int, int], ...] | None:
    """[0, 1, "3..5"] or "0,1,3..5" as ranges."""
    if isinstance(codes, str):
        codes = [c.strip() for c in codes.split(",") if c.strip()]
    if isinstance(codes, int) and not isinstance(codes, bool):
        codes = [codes]
    if not isinstance(codes, list):
        return None
    result = []
    for code in codes:
        if isinstance(code, int) and not isinstance(code, bool):
            result.append((code, code))
        elif isinstance(code, str):
            lo, sep, hi = code.partition("..")
            try:
                result.append((int(lo), int(hi)) if sep else (int(lo), int(lo)))
            except ValueError:
                return None
        else:
            return None
    return tuple(result)


def _in_cycle(here: Position) -> bool:
    """Whether a position is in a Cycle's block and not in a Fork inside it (a fork's child order has
    no cycle to leave: JS7's Workflow.checkBreak stops at an order boundary)."""
    for branch in reversed(here[1::2]):
        if str(branch).startswith("fork"):
            return False
        if str(branch) == "cycle":
            return True
    return False


def _is_duration(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and value >= 0


def _kind(obj: Any) -> str:
    return type(obj).__name__
