"""A ProcessSpec on the wire: the Director's `StartOrderProcess` for it, and the Subagent's spec from that."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from js7es.domain.problem import Problem
from js7es.domain.subagent.commands import StartOrderProcess
from js7es.domain.workflow.job import (
    CommandLineExecutable,
    Executable,
    InternalExecutable,
    PathExecutable,
    ReturnCodeMeaning,
    ShellScriptExecutable,
)
from js7es.domain.workflow.parse import parse_job
from js7es.nodes.subagent.spec import ProcessSpec


def executable_to_json(executable: Executable) -> dict[str, Any]:
    """JS7's JSON of an executable, as `parse_job` reads it (the env's expressions are not needed: the
    spec carries the evaluated env)."""
    obj: dict[str, Any]
    match executable:
        case ShellScriptExecutable(script=script):
            obj = {"TYPE": "ShellScriptExecutable", "script": script}
        case PathExecutable(path=path):
            obj = {"TYPE": "PathExecutable", "path": path}
        case CommandLineExecutable(command=command):
            obj = {"TYPE": "CommandLineExecutable", "command": command}
        case InternalExecutable(class_name=class_name, job_arguments=job_arguments):
            obj = {"TYPE": "InternalExecutable", "className": class_name, "jobArguments": dict(job_arguments)}
        case _:
            raise ValueError(f"Unsupported executable {type(executable).__name__}")
    meaning = _return_code_meaning_json(executable.return_code_meaning)
    if meaning is not None:
        obj["returnCodeMeaning"] = meaning
    if executable.v1_compatible:
        obj["v1Compatible"] = True
    return obj


def _return_code_meaning_json(meaning: ReturnCodeMeaning) -> dict[str, Any] | None:
    if meaning == ReturnCodeMeaning():
        return None
    kind, ranges = ("failure", meaning.failure) if meaning.failure is not None else ("success", meaning.success)
    assert ranges is not None
    return {kind: [lo if lo == hi else f"{lo}..{hi}" for lo, hi in ranges]}


def start_command(spec: ProcessSpec) -> StartOrderProcess:
    return StartOrderProcess(
        order_id=spec.order_id,
        executable=executable_to_json(spec.executable),
        job_name=spec.job_name,
        workflow_path=spec.workflow_path,
        env=dict(spec.env),
        arguments=dict(spec.arguments),
        timeout=spec.timeout_s,
        sigkill_delay=spec.sigkill_delay_s,
        fail_on_err_written=spec.fail_on_err_written,
        step=spec.step,
    )


def spec_of(command: StartOrderProcess, *, work_dir: Path, executables_dir: Path) -> ProcessSpec | Problem:
    """The Subagent's ProcessSpec for a StartOrderProcess (its own work and executables directories)."""
    job = parse_job({"agentPath": "-", "executable": dict(command.executable)}, "StartOrderProcess")
    if isinstance(job, Problem):
        return job
    executable = job.executable
    return ProcessSpec(
        order_id=command.order_id,
        step=command.step,
        job_name=command.job_name,
        workflow_path=command.workflow_path,
        executable=executable,
        env=dict(command.env),
        arguments=dict(command.arguments),
        work_dir=work_dir,
        executables_dir=executables_dir,
        timeout_s=command.timeout,
        sigkill_delay_s=command.sigkill_delay,
        return_code_meaning=executable.return_code_meaning,
        fail_on_err_written=command.fail_on_err_written,
        v1_compatible=executable.v1_compatible,
    )
