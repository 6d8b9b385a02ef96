"""What the Agent hands the Subagent to start one job step, and how output comes back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias

from js7es.domain.value import Value
from js7es.domain.workflow.job import DEFAULT_SIGKILL_DELAY_S, Executable, ReturnCodeMeaning

StdoutOrStderr: TypeAlias = Literal["stdout", "stderr"]

# Called with each chunk of output, never concurrently for one process; stdout's chunks keep their
# order, and so do stderr's. A slow callback holds the process back (bounded buffers), it loses nothing.
OutputCallback: TypeAlias = Callable[[StdoutOrStderr, str], Awaitable[None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessSpec:
    """Everything needed to start one job step, already evaluated by the Agent."""

    order_id: str
    job_name: str | None
    executable: Executable
    work_dir: Path  # the process's current directory
    executables_dir: Path  # where a relative PathExecutable is found ('..' is refused)
    env: Mapping[str, str] = field(default_factory=dict)  # job env, job resources' env, JS7_ARG_*, ...
    arguments: Mapping[str, Value] = field(default_factory=dict)  # for InternalExecutable and SCHEDULER_PARAM_*
    workflow_path: str | None = None  # becomes JS7_WORKFLOW_NAME
    timeout_s: float | None = None
    sigkill_delay_s: float = DEFAULT_SIGKILL_DELAY_S
    return_code_meaning: ReturnCodeMeaning = ReturnCodeMeaning()
    fail_on_err_written: bool = False
    v1_compatible: bool = False
    # Which step of the order (its position and count of outcomes so far): a remote Subagent tells a
    # repeated StartOrderProcess from the order's next step with it (None: the local launcher's, unused)
    step: str | None = None
