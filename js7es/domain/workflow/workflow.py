"""A deployed workflow version and navigation by position."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import (
    IMPLICIT_END,
    Block,
    ExecuteAnonymous,
    ExecuteNamed,
    Fork,
    Instruction,
    block_of_branch,
    branches_of,
)
from js7es.domain.workflow.job import WorkflowJob
from js7es.domain.workflow.position import Position


@dataclass(frozen=True, slots=True)
class WorkflowId:
    path: str
    version_id: str

    def __str__(self) -> str:
        return f"{self.path}~{self.version_id}"

    @staticmethod
    def parse(text: str) -> WorkflowId:
        path, _, version = text.partition("~")
        return WorkflowId(path, version)


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    """An order parameter: a type (String, Number, Boolean, List, Object, Any), a default or a final value."""

    type: str = "Any"
    default: str | None = None  # expression
    final: str | None = None  # expression, the workflow fixes the value

    @property
    def is_required(self) -> bool:
        return self.default is None and self.final is None


@dataclass(frozen=True, slots=True, kw_only=True)
class Workflow:
    id: WorkflowId
    instructions: Block
    jobs: Mapping[str, WorkflowJob] = field(default_factory=dict)
    parameters: Mapping[str, Parameter] = field(default_factory=dict)
    allow_undeclared: bool = False
    job_resource_paths: tuple[str, ...] = ()
    time_zone: str = "UTC"  # JS7's Workflow.timeZone: the zone of its cycles' days and admission times
    calendar_path: str | None = None  # JS7's Workflow.calendarPath: the Calendar that gives an order's day
    title: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)  # the JSON it was read from
    labels: Mapping[str, Position] = field(default_factory=dict, compare=False)
    board_paths: Mapping[str, Position] = field(default_factory=dict, compare=False)  # boards named, first use

    @property
    def path(self) -> str:
        return self.id.path

    def block(self, branch_path: Position) -> Block | None:
        """The block at a branch path ([] = top level, [i, branch] = nested...)."""
        block = self.instructions
        for i in range(0, len(branch_path), 2):
            nr = branch_path[i]
            if not isinstance(nr, int) or nr >= len(block.instructions):
                return None
            nested = block_of_branch(block.instructions[nr], str(branch_path[i + 1]))
            if nested is None:
                return None
            block = nested
        return block

    def instruction(self, position: Position) -> Instruction | None:
        """The instruction at a position; the position just after a block's last one is its ImplicitEnd."""
        block = self.block(pos.branch_path(position))
        if block is None:
            return None
        nr = pos.index(position)
        if nr < len(block.instructions):
            return block.instructions[nr]
        if nr == len(block.instructions):
            return IMPLICIT_END
        return None

    def is_valid_position(self, position: Position) -> bool:
        return pos.is_valid(position) and self.instruction(position) is not None

    def job_of(self, instruction: Instruction) -> WorkflowJob | None:
        if isinstance(instruction, ExecuteAnonymous):
            return instruction.job
        if isinstance(instruction, ExecuteNamed):
            return self.jobs.get(instruction.job_name)
        return None

    def positions(self) -> Iterator[tuple[Position, Instruction]]:
        """Every position with its instruction, depth first, including each block's ImplicitEnd."""
        yield from _positions(self.instructions, ())

    def agent_path_of(self, instruction: Instruction) -> str | None:
        """The Agent an instruction runs on: its job's, or a Fork's agentPath."""
        job = self.job_of(instruction)
        if job is not None:
            return job.agent_path
        return instruction.agent_path if isinstance(instruction, Fork) else None

    def agent_paths(self) -> frozenset[str]:
        found = set()
        for _, instruction in self.positions():
            agent_path = self.agent_path_of(instruction)
            if agent_path is not None:
                found.add(agent_path)
        return frozenset(found)


def _positions(block: Block, branch_path: Position) -> Iterator[tuple[Position, Instruction]]:
    for nr, instruction in enumerate(block.instructions):
        here = (*branch_path, nr)
        yield here, instruction
        for branch, nested in branches_of(instruction):
            yield from _positions(nested, (*here, branch))
    yield (*branch_path, len(block.instructions)), IMPLICIT_END
