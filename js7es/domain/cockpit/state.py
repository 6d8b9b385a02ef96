"""The states of the Cockpit store's aggregates that are not IAM (iam.py): settings sections, commands
sent to Controllers, logins."""

from __future__ import annotations

from dataclasses import dataclass

from js7es.domain.value import NamedValues

PENDING = None  # a command's outcome while the Controller's answer is awaited


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    section: str
    values: NamedValues


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerCommand:
    request_id: str
    controller_id: str
    request: str
    category: str
    parameters: NamedValues
    outcome: str | None = PENDING  # "Accepted" | "Refused" | "Unknown" | PENDING
    problem: NamedValues | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Login:
    account: str
    address: str
    succeeded: bool
