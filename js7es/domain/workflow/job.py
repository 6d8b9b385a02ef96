"""Jobs of a workflow (JS7's WorkflowJob) and their executables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from js7es.domain.time.admission import AdmissionTimeScheme

DEFAULT_SIGKILL_DELAY_S = 15.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReturnCodeMeaning:
    """Which return codes mean success: `success` ranges, or everything outside `failure` ranges."""

    success: tuple[tuple[int, int], ...] | None = ((0, 0),)
    failure: tuple[tuple[int, int], ...] | None = None

    def is_success(self, return_code: int) -> bool:
        if self.failure is not None:
            return not any(lo <= return_code <= hi for lo, hi in self.failure)
        assert self.success is not None
        return any(lo <= return_code <= hi for lo, hi in self.success)


@dataclass(frozen=True, slots=True, kw_only=True)
class Executable:
    env: Mapping[str, str] = field(default_factory=dict)  # NAME -> expression
    return_code_meaning: ReturnCodeMeaning = ReturnCodeMeaning()
    v1_compatible: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ShellScriptExecutable(Executable):
    """`ShellScriptExecutable` (older name `ScriptExecutable`): a script run by the shell."""

    script: str
    login: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PathExecutable(Executable):
    """An executable file; relative paths are resolved in the Agent's executables directory."""

    path: str
    login: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandLineExecutable(Executable):
    command: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InternalExecutable(Executable):
    """A job that runs in-process, without a process: JS7's `InternalExecutable`.

    In js7es `className` names a Python callable as "package.module:function" (JS7's Java class names
    of its own test jobs, such as js7.tests.jobs.EmptyJob, are mapped by the Subagent).
    """

    class_name: str
    job_arguments: Mapping[str, str] = field(default_factory=dict)  # plain values as expression texts
    arguments: Mapping[str, str] = field(default_factory=dict)  # expressions


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowJob:
    agent_path: str
    executable: Executable
    default_arguments: Mapping[str, str] = field(default_factory=dict)  # name -> expression
    subagent_bundle_id_expr: str | None = None
    job_resource_paths: tuple[str, ...] = ()
    process_limit: int = 1
    timeout_s: float | None = None
    sigkill_delay_s: float = DEFAULT_SIGKILL_DELAY_S
    fail_on_err_written: bool = False
    is_not_restartable: bool = False
    title: str | None = None
    # Admission times (JS7 WorkflowJob): the job starts orders only within the scheme's periods, in the
    # workflow's time zone; an order whose daily-plan day has no period start skips the job when asked.
    admission_time_scheme: AdmissionTimeScheme | None = None
    skip_if_no_admission_start_for_order_day: bool = False
    kill_at_end_of_admission_period: bool = False
