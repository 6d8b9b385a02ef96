"""InternalExecutable: Python callables run by the Subagent, their outcomes, output, kill and timeout."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.order.outcome import Failed, Killed, Outcome, Succeeded, TimedOut
from js7es.domain.value import Value
from js7es.domain.workflow.job import InternalExecutable, ReturnCodeMeaning
from js7es.nodes.subagent import JobContext, JobError, ProcessLauncher
from tests.nodes.test_process import Output, after_marker, run, run_job, start

HERE = "tests.nodes.test_process_internal"


def returns_none(context: JobContext) -> None:
    pass


def returns_int(context: JobContext) -> int:
    value = context.arguments["rc"]
    assert isinstance(value, int)
    return value


def returns_values(context: JobContext) -> Mapping[str, Any]:
    return {
        "returnCode": 0,
        "order": context.order_id,
        "job": context.job_name,
        "list": [1, 2.5],
        "x": context.job_arguments,
    }


def raises(context: JobContext) -> None:
    raise ValueError("bad value")


def raises_job_error(context: JobContext) -> None:
    raise JobError("exactly this")


def exits(context: JobContext) -> None:
    raise SystemExit(3)


def returns_garbage(context: JobContext) -> object:
    return object()


def writes(context: JobContext) -> None:
    for i in range(1000):
        context.write_stdout(f"line {i}\n")
    context.write_stderr("warning\n")


def waits_until_killed(context: JobContext) -> Mapping[str, Value]:
    context.write_stdout("ready")
    context.killed.wait()
    return {"seen": "killed"}


not_callable = 42


def internal(class_name: str, **kwargs: Any) -> InternalExecutable:
    return InternalExecutable(class_name=class_name, **kwargs)


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[ProcessLauncher]:
    launcher = ProcessLauncher(tmp_path / "subagent-tmp")
    yield launcher
    launcher.close()


def outcome_of(launcher: ProcessLauncher, tmp_path: Path, class_name: str, **kwargs: Any) -> Outcome:
    outcome, _, process = run(run_job(launcher, tmp_path, internal(class_name), **kwargs))
    assert process.pid is None
    return outcome


def test_return_none_int_or_values(launcher: ProcessLauncher, tmp_path: Path) -> None:
    assert outcome_of(launcher, tmp_path, f"{HERE}:returns_none") == Succeeded()
    assert outcome_of(launcher, tmp_path, f"{HERE}.returns_none") == Succeeded()  # JS7-like dotted name
    rc = f"{HERE}:returns_int"
    assert outcome_of(launcher, tmp_path, rc, arguments={"rc": 0}) == Succeeded(named_values={"returnCode": 0})
    assert outcome_of(launcher, tmp_path, rc, arguments={"rc": 3}) == Failed(named_values={"returnCode": 3})
    meaning = ReturnCodeMeaning(success=((3, 3),))
    assert outcome_of(launcher, tmp_path, rc, arguments={"rc": 3}, return_code_meaning=meaning) == Succeeded(
        named_values={"returnCode": 3}
    )
    executable = internal(f"{HERE}:returns_values", job_arguments={"a": "'b'"})
    outcome, _, _ = run(run_job(launcher, tmp_path, executable))
    values: dict[str, Value] = {"order": "ORDER", "job": "JOB", "list": (1, Decimal("2.5")), "x": {"a": "'b'"}}
    values["returnCode"] = 0
    assert outcome == Succeeded(named_values=values)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        ("raises", "ValueError: bad value"),
        ("raises_job_error", "exactly this"),
        ("exits", "The job raised SystemExit"),
        ("returns_garbage", "The job returned object; expected None, an int or a mapping"),
    ],
)
def test_failures(launcher: ProcessLauncher, tmp_path: Path, function: str, message: str) -> None:
    assert outcome_of(launcher, tmp_path, f"{HERE}:{function}") == Failed(error_message=message)


@pytest.mark.parametrize(
    ("class_name", "message"),
    [
        ("no_such_module:f", "Unknown className 'no_such_module:f': No module named 'no_such_module'"),
        (f"{HERE}:missing", f"Unknown className '{HERE}:missing': {HERE} has no missing"),
        (f"{HERE}:not_callable", f"className '{HERE}:not_callable' does not name a callable"),
        ("nodots", "Invalid className 'nodots': expected 'package.module:function'"),
    ],
)
def test_unknown_class_names_fail_the_step(
    launcher: ProcessLauncher, tmp_path: Path, class_name: str, message: str
) -> None:
    assert outcome_of(launcher, tmp_path, class_name) == Failed(error_message=message)


def test_js7_empty_job_and_builtin_jobs(launcher: ProcessLauncher, tmp_path: Path) -> None:
    assert outcome_of(launcher, tmp_path, "js7.tests.jobs.EmptyJob") == Succeeded()
    builtin = "js7es.nodes.subagent.builtin_jobs"
    assert outcome_of(launcher, tmp_path, f"{builtin}:empty") == Succeeded()
    assert outcome_of(launcher, tmp_path, f"{builtin}:sleep", arguments={"seconds": 0}) == Succeeded()
    assert outcome_of(launcher, tmp_path, f"{builtin}:sleep", arguments={"seconds": "x"}) == Failed(
        error_message="Argument 'seconds' must be a non-negative number, not 'x'"
    )
    assert outcome_of(launcher, tmp_path, f"{builtin}:fail") == Failed(error_message="Failed")
    assert outcome_of(launcher, tmp_path, f"{builtin}:fail", arguments={"message": "No"}) == Failed(error_message="No")
    assert outcome_of(launcher, tmp_path, f"{builtin}:fail", arguments={"returnCode": 2}) == Failed(
        named_values={"returnCode": 2}
    )
    outcome, output, _ = run(run_job(launcher, tmp_path, internal(f"{builtin}:echo"), arguments={"text": "hi"}))
    assert outcome == Succeeded(named_values={"text": "hi"})
    assert output.chunks == [("stdout", "hi\n")]


def test_output(launcher: ProcessLauncher, tmp_path: Path) -> None:
    outcome, output, _ = run(run_job(launcher, tmp_path, internal(f"{HERE}:writes"), fail_on_err_written=True))
    assert outcome == Succeeded()  # failOnErrWritten is about processes (JS7: ProcessExecutable)
    assert output.text("stdout") == "".join(f"line {i}\n" for i in range(1000))
    assert output.text("stderr") == "warning\n"


def test_kill_is_cooperative(launcher: ProcessLauncher, tmp_path: Path) -> None:
    async def body() -> Outcome:
        output = Output()
        process, _ = await start(launcher, tmp_path, internal(f"{HERE}:waits_until_killed"), output)
        output.on_chunk = after_marker("ready", process.kill)
        return await process.wait()

    assert run(body()) == Killed(outcome=Failed(named_values={"seen": "killed"}))


def test_timeout(launcher: ProcessLauncher, tmp_path: Path) -> None:
    outcome = outcome_of(
        launcher, tmp_path, "js7es.nodes.subagent.builtin_jobs:sleep", arguments={"seconds": 30}, timeout_s=0.1
    )
    assert outcome == TimedOut(outcome=Failed())
    for thread in [t for t in threading.enumerate() if t.name == "job ORDER"]:
        thread.join(5)  # the thread ends right after handing over its result
        assert not thread.is_alive()
