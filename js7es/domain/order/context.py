"""What deciding needs besides the state: the time, where the decision is taken, the controller id."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Context:
    now_ms: int
    here: str | None = None  # None: the Controller decides; else the path of the Agent that decides
    controller_id: str = "js7es"

    @property
    def at_controller(self) -> bool:
        return self.here is None
