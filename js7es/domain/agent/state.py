"""The Controller's view of one Agent (JS7's AgentRefState)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from js7es.domain import codec

CouplingState = Literal["Reset", "Coupled", "CouplingFailed"]


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRefState:
    agent_path: str
    agent_run_id: str | None = None  # None: not yet dedicated
    event_id: int = 0  # the last Agent EventId whose events are in the Controller's journal
    coupling: CouplingState = "Reset"
    problem: str | None = None
