"""The operator's controls of a workflow (JS7's WorkflowPathControl and WorkflowControl).

A `WorkflowPathControl {path, suspended, skip, itemRevision}` is an unsigned simple item, one per
workflow path, that only the ControlWorkflowPath command writes (UnsignedSimpleItemAdded, then
UnsignedSimpleItemChanged with the next revision, as JS7). While `suspended`, the workflow's orders do
not start their next instruction (JS7's EngineState.isSuspendedOrStopped: a Fresh order does not
start or attach, a Ready order does not execute; what runs goes on until its step ends). An
instruction whose label is in `skip` is stepped over by an order arriving there Fresh or Ready
(OrderMoved with reason SkippedDueToWorkflowPathControl; JS7 skips any labelled instruction, not
only jobs). The Controller attaches the item to its Agents, which hold the orders there alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from js7es.domain.problem import Problem, problem

SKIPPED_DUE_TO_WORKFLOW_PATH_CONTROL = "SkippedDueToWorkflowPathControl"  # OrderMoved's reason (JS7's)


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowPathControl:
    path: str  # the workflow's path
    suspended: bool = False
    skip: frozenset[str] = frozenset()  # instruction labels
    item_revision: int = 0
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return f"WorkflowPathControl:{self.path}"

    def to_json(self) -> dict[str, Any]:
        return {
            "TYPE": "WorkflowPathControl",
            "path": self.path,
            "suspended": self.suspended,
            "skip": sorted(self.skip),
            "itemRevision": self.item_revision,
        }

    def updated(self, *, suspend: bool | None, skip: Mapping[str, bool]) -> WorkflowPathControl:
        """JS7's controlWorkflowPathExecutor: the next revision, `suspend` if given, labels skipped or not."""
        labels = (self.skip - {label for label, on in skip.items() if not on}) | {
            label for label, on in skip.items() if on
        }
        return with_raw(
            WorkflowPathControl(
                path=self.path,
                suspended=self.suspended if suspend is None else suspend,
                skip=frozenset(labels),
                item_revision=self.item_revision + 1,
            )
        )


def with_raw(control: WorkflowPathControl) -> WorkflowPathControl:
    return WorkflowPathControl(
        path=control.path,
        suspended=control.suspended,
        skip=control.skip,
        item_revision=control.item_revision,
        raw=control.to_json(),
    )


def parse_workflow_path_control(obj: Mapping[str, Any], path: str) -> WorkflowPathControl | Problem:
    suspended = obj.get("suspended", False)
    skip = obj.get("skip", [])
    revision = obj.get("itemRevision", 0)
    where = f"WorkflowPathControl:{path}"
    if not isinstance(suspended, bool):
        return problem("InvalidItem", f"{where}: suspended must be true or false", key=where)
    if not isinstance(skip, list) or not all(isinstance(label, str) and label for label in skip):
        return problem("InvalidItem", f"{where}: skip must be a list of labels", key=where)
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        return problem("InvalidItem", f"{where}: itemRevision must be an integer >= 0", key=where)
    return with_raw(WorkflowPathControl(path=path, suspended=suspended, skip=frozenset(skip), item_revision=revision))


# -- WorkflowControl: breakpoints of one workflow version ------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowControl:
    """JS7's WorkflowControl {id: {path, versionId}, breakpoints, itemRevision}: an unsigned (not
    simple) item per workflow version, written only by the ControlWorkflow command (UnsignedItemAdded,
    then UnsignedItemChanged; the first revision is 0 as in JS7). An order arriving Fresh or Ready at a
    breakpoint is suspended there (OrderSuspended; on an Agent it goes back to the Controller first);
    resumed, it passes that breakpoint once (JS7's Order.isResumed). Deleted (ItemDeleted) after its
    workflow version, as a WorkflowPathControl is when no version of its workflow is left."""

    workflow_path: str
    version_id: str
    breakpoints: frozenset[tuple[int | str, ...]] = frozenset()
    item_revision: int = 0

    @property
    def key(self) -> str:
        return f"WorkflowControl:{self.workflow_path}~{self.version_id}"

    def to_json(self) -> dict[str, Any]:
        return {
            "TYPE": "WorkflowControl",
            "id": {"path": self.workflow_path, "versionId": self.version_id},
            "breakpoints": [list(p) for p in sorted(self.breakpoints, key=_position_sort_key)],
            "itemRevision": self.item_revision,
        }


def _position_sort_key(position: tuple[int | str, ...]) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in position)


def normalized(position: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """JS7's Position.normalized: a try+N or catch+N branch (a Retry's round) counts as try or catch,
    a cycle's branch as cycle, so a breakpoint holds in every round."""
    return tuple(_normalized_branch(p) if i % 2 else p for i, p in enumerate(position))


def _normalized_branch(branch: int | str) -> int | str:
    text = str(branch)
    for prefix in ("try+", "catch+"):
        if text.startswith(prefix):
            return prefix[:-1]
    return "cycle" if text.startswith("cycle+") else branch


def parse_workflow_control(obj: Any) -> WorkflowControl | Problem:
    if not isinstance(obj, Mapping) or obj.get("TYPE") != "WorkflowControl":
        return problem("InvalidItem", "Not a WorkflowControl")
    ident = obj.get("id")
    path = ident.get("path") if isinstance(ident, Mapping) else None
    version = ident.get("versionId") if isinstance(ident, Mapping) else None
    if not isinstance(path, str) or not isinstance(version, str):
        return problem("InvalidItem", "WorkflowControl: id must be {path, versionId}")
    breakpoints = obj.get("breakpoints", [])
    revision = obj.get("itemRevision", 0)
    if not isinstance(breakpoints, list) or not all(_is_position(p) for p in breakpoints):
        return problem("InvalidItem", f"WorkflowControl:{path}~{version}: breakpoints must be positions")
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        return problem("InvalidItem", f"WorkflowControl:{path}~{version}: itemRevision must be an integer >= 0")
    return WorkflowControl(
        workflow_path=path,
        version_id=version,
        breakpoints=frozenset(tuple(p) for p in breakpoints),
        item_revision=revision,
    )


def _is_position(obj: Any) -> bool:
    return (
        isinstance(obj, list)
        and len(obj) % 2 == 1
        and all(
            isinstance(p, str) if i % 2 else isinstance(p, int) and not isinstance(p, bool) and p >= 0
            for i, p in enumerate(obj)
        )
    )
