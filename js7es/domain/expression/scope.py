"""How an evaluation reads the world: named values, environment variables and the clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from js7es.domain.value import Value


class Scope(Protocol):
    """Supplied by the caller of `evaluate`; the domain never reads the environment or a clock."""

    def named_value(self, name: str, label: str | None = None, job: str | None = None) -> Value | None:
        """The named value, or None when there is none.

        Without label and job: the value last set for the order (arguments, step results, built-ins
        such as `returnCode` or `js7OrderId`). With label or job: the value returned by the last
        execution of the instruction with that label, or of that job.
        """
        ...

    def environment(self, name: str) -> str | None:
        """An environment variable, for `env('NAME')`."""
        ...

    def now_ms(self) -> int:
        """Milliseconds since the epoch, for `now(…)`, `$js7EpochMilli`, `$js7EpochSecond`."""
        ...


@dataclass(frozen=True, slots=True)
class MapScope:
    """A Scope from plain mappings, for tests and simple callers."""

    named_values: Mapping[str, Value]
    by_label: Mapping[str, Mapping[str, Value]] = field(default_factory=dict)
    by_job: Mapping[str, Mapping[str, Value]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    now: int = 0

    def named_value(self, name: str, label: str | None = None, job: str | None = None) -> Value | None:
        if label is not None:
            return self.by_label.get(label, {}).get(name)
        if job is not None:
            return self.by_job.get(job, {}).get(name)
        return self.named_values.get(name)

    def environment(self, name: str) -> str | None:
        return self.env.get(name)

    def now_ms(self) -> int:
        return self.now
