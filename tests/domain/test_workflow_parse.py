"""Workflows in JS7's JSON form: real JS7 files deploy unchanged; a bad workflow is refused as a whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.commands.items import UpdateItems
from js7es.domain.problem import Problem
from js7es.domain.time.admission import admission_time_scheme_to_json
from js7es.domain.value import value_from_json
from js7es.domain.workflow.instructions import ExecuteNamed, Fail, Finish, Fork, If, ImplicitEnd, Try
from js7es.domain.workflow.job import InternalExecutable, ShellScriptExecutable
from js7es.domain.workflow.parse import parse_workflow
from js7es.domain.workflow.workflow import Workflow
from tests.domain.simulator import Simulator

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "js7-samples"


def load(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.workflow.json")))
def test_js7_sample_workflows_parse_unchanged(name: str) -> None:
    workflow = parse_workflow(load(name), path=name.removesuffix(".workflow.json"), version_id="1")
    assert isinstance(workflow, Workflow), workflow
    assert workflow.path == name.removesuffix(".workflow.json")


def test_nested_forks_of_test_case_3() -> None:
    workflow = parse_workflow(load("testCase3.workflow.json"), path="testCase3", version_id="1")
    assert isinstance(workflow, Workflow)
    assert len(workflow.jobs) == 16
    assert isinstance(workflow.jobs["job1"].executable, ShellScriptExecutable)
    internal = parse_workflow(load("testCase3Empty.workflow.json"), path="testCase3Empty", version_id="1")
    assert isinstance(internal, Workflow)
    executable = internal.jobs["job1"].executable
    assert isinstance(executable, InternalExecutable) and executable.class_name == "js7.tests.jobs.EmptyJob"
    inner = workflow.instruction((1, "fork+branch1", 1, "fork+branch1b", 1, "fork+branch1b_1", 1, "fork+bra1b_1a", 0))
    assert isinstance(inner, ExecuteNamed) and inner.job_name == "job1_1b_1a"
    assert workflow.labels["step1_1b_1a"] == (
        1,
        "fork+branch1",
        1,
        "fork+branch1b",
        1,
        "fork+branch1b_1",
        1,
        "fork+bra1b_1a",
        0,
    )
    assert workflow.agent_paths() == {"agent-1", "agent-2"}


def test_child_processes_sample_with_legacy_script_executable_and_try() -> None:
    workflow = parse_workflow(load("child-processes.workflow.json"), path="child-processes", version_id="1")
    assert isinstance(workflow, Workflow)
    try_ = workflow.instruction((0,))
    assert isinstance(try_, Try)
    job = workflow.job_of(try_.try_.instructions[0])
    assert job is not None and isinstance(job.executable, ShellScriptExecutable)
    assert (job.timeout_s, job.sigkill_delay_s, job.subagent_bundle_id_expr) == (20.0, 10.0, "'subagent-1a'")
    assert isinstance(workflow.instruction((0, "try+0", 1)), ImplicitEnd)
    assert isinstance(workflow.instruction((0, "catch+3", 0)), ImplicitEnd)  # retried catch blocks


def test_js7_sample_test_case_3_runs_to_the_end_in_the_simulator() -> None:
    sim = Simulator(agents=("agent-1", "agent-2"))
    items = [load(n) for n in ("agent-1.agent.json", "agent-2.agent.json")] + [
        load(n) for n in sorted(p.name for p in SAMPLES.glob("subagent-*.subagent.json"))
    ]
    w = {**load("testCase3.workflow.json"), "path": "testCase3"}
    operations = [{"TYPE": "AddVersion", "versionId": "1"}]
    operations += [{"TYPE": "AddOrChangeSimple", "item": i} for i in items]
    operations += [{"TYPE": "AddOrChangeSigned", "signedString": {"string": json.dumps(w)}}]
    deployed = sim.command(UpdateItems(operations=tuple(value_from_json(o) for o in operations)))
    assert not isinstance(deployed, Problem), deployed
    sim.add_order("O", "testCase3")
    sim.run()
    assert sim.events_of("O")[-1] == "OrderFinished"
    assert set(sim.state.orders) == {"O"}
    processed = [k for k in sim.log if type(k.event).__name__ == "OrderProcessed"]
    assert len(processed) == 16


def refused(obj: dict[str, Any]) -> Problem:
    result = parse_workflow({"path": "W", "versionId": "1", **obj})
    assert isinstance(result, Problem), result
    return result


JOB = {"agentPath": "A", "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}}


@pytest.mark.parametrize(
    ("workflow", "code", "at"),
    [
        ({"instructions": [{"TYPE": "Nope"}]}, "UnknownInstruction", "0"),
        ({"instructions": [{"TYPE": "Execute.Named", "jobName": "J"}]}, "UnknownJob", "0"),
        (
            {
                "instructions": [
                    {"TYPE": "If", "ifThens": [{"predicate": "$a ==", "then": {"instructions": []}}]},
                ]
            },
            "InvalidExpression",
            "0",
        ),
        (
            {
                "instructions": [
                    {
                        "TYPE": "Try",
                        "try": {"instructions": []},
                        "catch": {
                            "instructions": [
                                {
                                    "TYPE": "If",
                                    "ifThens": [
                                        {
                                            "predicate": "true",
                                            "then": {"instructions": [{"TYPE": "Prompt", "question": "'a' ++"}]},
                                        }
                                    ],
                                }
                            ]
                        },
                    },
                ]
            },
            "InvalidExpression",
            "0/catch+0:0/then:0",
        ),
        ({"instructions": [{"TYPE": "Retry"}]}, "RetryOutsideCatch", "0"),
        (
            {"instructions": [{"TYPE": "Finish"}, {"TYPE": "Prompt", "question": "'x'"}]},
            "UnreachableInstruction",
            "1",
        ),
        (
            {
                "instructions": [
                    {"TYPE": "Prompt", "question": "'x'", "label": "L"},
                    {"TYPE": "Prompt", "question": "'y'", "label": "L"},
                ]
            },
            "DuplicateLabel",
            "1",
        ),
        (
            {
                "instructions": [
                    {
                        "TYPE": "Fork",
                        "branches": [
                            {"id": "a", "workflow": {"instructions": []}},
                            {"id": "a", "workflow": {"instructions": []}},
                        ],
                    }
                ]
            },
            "DuplicateBranchId",
            "0",
        ),
        (
            {"instructions": [{"TYPE": "Fork", "branches": [{"id": "a|b", "workflow": {"instructions": []}}]}]},
            "InvalidBranchId",
            "0",
        ),
        (
            {"instructions": [{"TYPE": "Execute.Anonymous", "job": {**JOB, "executable": {"TYPE": "Java"}}}]},
            "UnknownExecutable",
            "0",
        ),
        ({"instructions": [{"TYPE": "Execute.Anonymous", "job": {**JOB, "processLimit": 0}}]}, "InvalidJob", "0"),
        ({"instructions": [{"TYPE": "Sleep", "duration": "1 +"}]}, "InvalidExpression", "0"),
        ({"instructions": "no list"}, "InvalidWorkflow", "instructions"),
        (
            {"instructions": [], "orderPreparation": {"parameters": {"p": {"type": "Date"}}}},
            "InvalidParameter",
            "orderPreparation.parameters.p",
        ),
        ({"instructions": [], "jobs": {"J": {**JOB, "defaultArguments": {"a": "$"}}}}, "InvalidExpression", "jobs.J"),
    ],
)
def test_bad_workflows_are_refused_with_code_and_position(workflow: dict[str, Any], code: str, at: str) -> None:
    problem = refused(workflow)
    assert problem.code == code
    assert problem.arguments["position"] == at
    assert f"(at {at})" in problem.message


def anonymous(**job: Any) -> dict[str, Any]:
    return {"instructions": [{"TYPE": "Execute.Anonymous", "job": {**JOB, **job}}]}


def executable(**fields: Any) -> dict[str, Any]:
    return anonymous(executable={"TYPE": "ShellScriptExecutable", "script": "true", **fields})


ADMISSION = {"periods": [{"TYPE": "DailyPeriod", "secondOfDay": 3600, "duration": 600}]}


@pytest.mark.parametrize(
    ("workflow", "field", "at"),
    [
        (anonymous(killAtEndOfAdmissionPeriod=True), "killAtEndOfAdmissionPeriod", "0"),
        (executable(login={"credentialKey": "user", "withUserProfile": False}), "login", "0"),
        (
            anonymous(executable={"TYPE": "InternalExecutable", "className": "m:f", "script": "x => 1"}),
            "script",
            "0",
        ),
        ({"instructions": [{"TYPE": "Prompt", "question": "'?'"}, {"TYPE": "Say", "what": "'hi'"}]}, "TYPE", "1"),
        ({"instructions": [{"TYPE": "AdmissionTime", "admissionTimeScheme": ADMISSION}]}, "TYPE", "0"),
        ({"instructions": [], "result": {"r": "1"}}, "result", "result"),
        (
            {
                "instructions": [],
                "jobs": {"J": {**JOB, "admissionTimeScheme": ADMISSION, "killAtEndOfAdmissionPeriod": True}},
            },
            "killAtEndOfAdmissionPeriod",
            "jobs.J",
        ),
    ],
)
def test_js7_fields_js7es_does_not_implement_are_refused_not_dropped(
    workflow: dict[str, Any], field: str, at: str
) -> None:
    """Dropping them would run the workflow differently than JS7 runs it (at any time instead of only
    in its admission times, as the Agent's user instead of the login, ...)."""
    problem = refused(workflow)
    assert (problem.code, problem.arguments["field"], problem.arguments["position"]) == ("NotSupported", field, at)
    assert "js7es does not support" in problem.message


def test_js7_fields_that_change_nothing_js7es_runs_are_accepted() -> None:
    parsed = parse_workflow(
        {
            "path": "W",
            "versionId": "1",
            "timeZone": "Europe/Berlin",
            "calendarPath": "daily",
            "instructions": [{"TYPE": "Execute.Anonymous", "job": {**JOB, "killAtEndOfAdmissionPeriod": False}}],
            "result": {},
        }
    )
    assert isinstance(parsed, Workflow)


def test_js7_constant_subagent_bundle_id_is_an_expression() -> None:
    for key in ("subagentBundleId", "subagentSelectionId"):
        parsed = parse_workflow({"path": "W", "versionId": "1", **anonymous(**{key: "bundle-1"})})
        assert isinstance(parsed, Workflow)
        job = parsed.job_of(parsed.instructions.instructions[0])
        assert job is not None and job.subagent_bundle_id_expr == "'bundle-1'"


def test_fail_and_finish_named_values_are_values_as_in_js7() -> None:
    """JS7's FailTest: {"TYPE":"Fail","message":"'ERROR'","namedValues":{"returnCode":7},"uncatchable":true};
    Finish(outcome) takes an outcome with namedValues."""
    fail = {"TYPE": "Fail", "message": "'ERROR'", "namedValues": {"returnCode": 7}, "uncatchable": True}
    finish = {"TYPE": "Finish", "outcome": {"TYPE": "Succeeded", "namedValues": {"done": "$not-an-expression"}}}
    parsed = parse_workflow({"path": "W", "versionId": "1", "instructions": [fail]})
    assert isinstance(parsed, Workflow)
    assert parsed.instructions.instructions[0] == Fail(
        message="'ERROR'", named_values={"returnCode": 7}, uncatchable=True
    )
    parsed = parse_workflow({"path": "W", "versionId": "1", "instructions": [finish]})
    assert isinstance(parsed, Workflow)
    assert parsed.instructions.instructions[0] == Finish(named_values={"done": "$not-an-expression"})
    assert refused({"instructions": [{"TYPE": "Finish", "outcome": {"TYPE": "Killed"}}]}).code == "InvalidInstruction"


def test_a_bad_expression_names_the_expression_and_the_column() -> None:
    problem = refused({"instructions": [{"TYPE": "If", "ifThens": [{"predicate": "$a == (1", "then": {}}]}]})
    assert problem.code == "InvalidExpression"
    assert "$a == (1" in problem.message
    assert "column" in problem.message


def test_too_deep_nesting_is_refused_not_a_crash() -> None:
    block: dict[str, Any] = {"instructions": []}
    for _ in range(200):
        block = {"instructions": [{"TYPE": "If", "ifThens": [{"predicate": "true", "then": block}]}]}
    assert refused(block).code == "WorkflowTooDeep"


def test_positions_and_blocks() -> None:
    workflow = parse_workflow(
        {
            "path": "W",
            "versionId": "1",
            "instructions": [
                {
                    "TYPE": "If",
                    "ifThens": [{"predicate": "true", "then": {"instructions": [{"TYPE": "Finish"}]}}],
                    "else": {"instructions": []},
                },
                {"TYPE": "Fork", "branches": [{"id": "x", "workflow": {"instructions": []}}]},
            ],
        }
    )
    assert isinstance(workflow, Workflow)
    assert isinstance(workflow.instruction((0,)), If)
    assert isinstance(workflow.instruction((1,)), Fork)
    assert isinstance(workflow.instruction((2,)), ImplicitEnd)
    assert workflow.instruction((3,)) is None
    assert workflow.instruction((0, "else", 1)) is None
    assert workflow.instruction((0, "nope", 0)) is None
    assert [p for p, _ in workflow.positions()] == [
        (0,),
        (0, "then", 0),
        (0, "then", 1),
        (0, "else", 0),
        (1,),
        (1, "fork+x", 0),
        (2,),
    ]


def test_a_refused_deployment_changes_nothing() -> None:
    sim = Simulator()
    good = {"path": "G", "instructions": [], "jobs": {}}
    bad = {"path": "B", "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}], "jobs": {"J": JOB}}
    operations = [
        {"TYPE": "AddVersion", "versionId": "1"},
        {"TYPE": "AddOrChangeSimple", "item": good},
        {"TYPE": "AddOrChangeSimple", "item": bad},  # its agent "A" is unknown
    ]
    result = sim.command(UpdateItems(operations=tuple(value_from_json(o) for o in operations)))
    assert isinstance(result, Problem) and result.code == "UnknownItem"
    assert "AgentRef:A" in result.message and result.arguments["workflow"] == "B"
    assert sim.state.workflows == {} and sim.state.versions == [] and sim.log == []


def test_durations_read_as_decimals_from_http_bodies() -> None:
    from decimal import Decimal

    workflow = parse_workflow(
        {
            "path": "W",
            "versionId": "1",
            "instructions": [
                {
                    "TYPE": "Try",
                    "try": {"instructions": []},
                    "catch": {"instructions": []},
                    "retryDelays": [Decimal("0.2"), 1],
                },
                {
                    "TYPE": "Execute.Anonymous",
                    "job": {**JOB, "timeout": Decimal("0.5"), "sigkillDelay": Decimal("1.5")},
                },
            ],
        }
    )
    assert isinstance(workflow, Workflow), workflow
    try_ = workflow.instruction((0,))
    assert isinstance(try_, Try) and try_.retry_delays_s == (0.2, 1.0)
    job = workflow.job_of(workflow.instruction((1,)))  # type: ignore[arg-type]
    assert job is not None and (job.timeout_s, job.sigkill_delay_s) == (0.5, 1.5)


def test_job_admission_times_parse_and_round_trip() -> None:
    """JS7's WorkflowJob fields admissionTimeScheme and skipIfNoAdmissionStartForOrderDay (or its older
    name skipIfNoAdmissionForOrderDay), in the workflow's timeZone."""
    restricted = {
        "restrictedSchemes": [
            {"periods": ADMISSION["periods"], "restriction": {"TYPE": "MonthRestriction", "months": [1, 12]}}
        ]
    }
    for scheme in (ADMISSION, restricted):
        obj = {
            "path": "W",
            "versionId": "1",
            "timeZone": "Europe/Berlin",
            **anonymous(admissionTimeScheme=scheme, skipIfNoAdmissionStartForOrderDay=True),
        }
        parsed = parse_workflow(obj)
        assert isinstance(parsed, Workflow)
        assert parsed.time_zone == "Europe/Berlin"
        job = parsed.job_of(parsed.instructions.instructions[0])
        assert job is not None and job.skip_if_no_admission_start_for_order_day
        assert job.admission_time_scheme is not None
        assert admission_time_scheme_to_json(job.admission_time_scheme) == scheme
        assert parsed.raw["instructions"][0]["job"]["admissionTimeScheme"] == scheme
    older = parse_workflow({"path": "W", "versionId": "1", **anonymous(skipIfNoAdmissionForOrderDay=True)})
    assert isinstance(older, Workflow) and older.time_zone == "UTC"
    job = older.job_of(older.instructions.instructions[0])
    assert job is not None and job.skip_if_no_admission_start_for_order_day


@pytest.mark.parametrize(
    ("workflow", "code"),
    [
        ({**anonymous(admissionTimeScheme={"periods": [{"TYPE": "DailyPeriod"}]})}, "InvalidAdmissionTimeScheme"),
        ({**anonymous(admissionTimeScheme=[])}, "InvalidAdmissionTimeScheme"),
        ({**anonymous(skipIfNoAdmissionStartForOrderDay="yes")}, "InvalidJob"),
        ({"timeZone": "Mars/Olympus", **anonymous(admissionTimeScheme=ADMISSION)}, "UnknownTimeZone"),
    ],
)
def test_bad_admission_times_are_coded_problems(workflow: dict[str, Any], code: str) -> None:
    assert refused(workflow).code == code
