"""The Director → Subagent protocol (JS7's SubagentCommand): typed commands, encoded by the codec at both
ends (``POST /subagent/api/command``), never dicts built by hand.

A Subagent serves one Director at a time: `DedicateSubagent` makes it that Director's (a new
`subagentRunId`), `CoupleDirector` resumes a run after a connection loss or a Director restart (refused
with SubagentNotDedicated when the Subagent restarted meanwhile: its processes are lost). Its events
(the processes' output and outcomes) are pulled from ``/subagent/api/event`` and released with
`ReleaseEvents` once the Director has journaled them. Every command is idempotent, because the Director
repeats its commands after any connection loss: a `StartOrderProcess` for an order the Subagent runs, or
whose outcome it still holds, starts nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from js7es.domain import codec
from js7es.domain.value import Value


@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentCommand:
    """Base of the commands a Director sends a Subagent."""


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class DedicateSubagent(SubagentCommand):
    """Make the Subagent this Director's; answered with {subagentRunId, subagentEventId}. Idempotent for
    the same Agent run; another Agent (or another run of it) is refused: SubagentAlreadyDedicated."""

    subagent_id: str
    agent_path: str
    agent_run_id: str
    controller_id: str


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class CoupleDirector(SubagentCommand):
    """Resume reading the events of the run `subagent_run_id` after `event_id`."""

    subagent_id: str
    subagent_run_id: str
    event_id: int


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class StartOrderProcess(SubagentCommand):
    """Start the order's job step: the executable as its workflow JSON, everything else evaluated by the
    Director (js7es.nodes.subagent.ProcessSpec)."""

    order_id: str
    executable: Mapping[str, Any]  # JS7's executable JSON (ShellScriptExecutable, PathExecutable, ...)
    job_name: str | None = None
    workflow_path: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    arguments: Mapping[str, Value] = field(default_factory=dict)
    timeout: float | None = None  # seconds
    sigkill_delay: float = 15.0  # seconds
    fail_on_err_written: bool = False
    step: str | None = None  # the step's identity (ProcessSpec.step): a repetition has the same one


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class KillProcess(SubagentCommand):
    """`signal` SIGTERM (SIGKILL after the job's sigkill delay) or SIGKILL."""

    order_id: str
    signal: str = "SIGTERM"


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentReleaseEvents(SubagentCommand):
    """The Director has journaled the Subagent's events up to `until_event_id`."""

    TYPE_NAME = "ReleaseEvents"
    until_event_id: int


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentShutDown(SubagentCommand):
    """Kill the processes (with `process_signal`) and end the run; `restart`: the Subagent stays up,
    undedicated (JS7's reset of a Subagent), else its process ends."""

    TYPE_NAME = "ShutDown"
    process_signal: str | None = None
    restart: bool = False


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentNoOperation(SubagentCommand):
    """The Director's heartbeat."""

    TYPE_NAME = "NoOperation"


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubagentBatch(SubagentCommand):
    """Several commands in one request, executed in order; answered with one reply (or problem) each."""

    TYPE_NAME = "Batch"
    commands: tuple[SubagentCommand, ...]


def subagent_command_classes() -> dict[str, type[SubagentCommand]]:
    return dict(codec.registered(SubagentCommand))
