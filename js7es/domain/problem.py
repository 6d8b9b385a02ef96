"""Coded problems: the expected failures of js7es, returned as values rather than raised."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """An expected failure: a stable `code` for programs, a `message` for people, and arguments."""

    code: str
    message: str
    arguments: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_json(self) -> dict[str, object]:
        result: dict[str, object] = {"code": self.code, "message": self.message}
        if self.arguments:
            result["arguments"] = dict(self.arguments)
        return result


def problem(code: str, message: str, **arguments: object) -> Problem:
    return Problem(code=code, message=message, arguments={k: str(v) for k, v in arguments.items()})


class ProblemError(Exception):
    """Raised only at boundaries (CLI, HTTP, tests) to carry a Problem out of a call chain."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def orthrow(checked: T | Problem) -> T:
    """Unwrap a Checked value; a Problem becomes a ProblemError (for tests and boundaries)."""
    if isinstance(checked, Problem):
        raise ProblemError(checked)
    return checked
