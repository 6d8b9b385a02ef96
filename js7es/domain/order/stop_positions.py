"""An order's startPosition and stopPositions (JS7's FreshOrder and AddOrder; Workflow.isOrderAtStopPosition).

Each is a position or the label of an instruction. The start position is resolved to a position when the
order is added; the stop positions are kept as given (a label stays a label, so that it names the
same instruction in a later version of the workflow). Both must be in the workflow and reachable from
its start: only through then/else/try/catch/cycle/options blocks, not into a fork, a lock, a
ConsumeNotices or a StickySubagent block (JS7's isMoveable). An order that reaches one of its stop
positions — anywhere but the end of the workflow — finishes there (JS7: as a Finish instruction would
finish it, after OrderStarted when it is still Fresh, back on the Controller first).
"""

from __future__ import annotations

from js7es.domain.order.order import Order
from js7es.domain.problem import Problem, problem
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.instructions import ImplicitEnd
from js7es.domain.workflow.position import Position, PositionOrLabel
from js7es.domain.workflow.workflow import Workflow


def unknown_label(workflow: Workflow, label: str) -> Problem:
    """JS7's UnknownKeyProblem("Label", label)."""
    return problem("UnknownKey", f"Unknown Label: '{label}' in Workflow:{workflow.id}", type="Label", key=label)


def resolved(workflow: Workflow, position_or_label: PositionOrLabel) -> Position | Problem:
    """The position a label names (JS7's positionOrLabelToPosition); a position as it is."""
    if isinstance(position_or_label, str):
        labelled = workflow.labels.get(position_or_label)
        return unknown_label(workflow, position_or_label) if labelled is None else labelled
    return position_or_label


def checked(workflow: Workflow, position_or_label: PositionOrLabel) -> Position | Problem:
    """The position, in the workflow and reachable from its start (JS7's checkStartAndStopPosition)."""
    position = resolved(workflow, position_or_label)
    if isinstance(position, Problem):
        return position
    shown = pos.to_string(position) if pos.is_valid(position) else repr(position)
    if not pos.is_valid(position) or not workflow.is_valid_position(_numbered(position)):
        return problem("InvalidPosition", f"Unknown position {shown} in Workflow:{workflow.id}")
    if not pos.is_reachable_from_start(position):
        return problem(
            "InvalidPosition", f"Order's startPosition or one of its stopPositions is not reachable: {shown}"
        )
    return position


def checked_stop_positions(
    workflow: Workflow, stop_positions: tuple[PositionOrLabel, ...] | None
) -> tuple[PositionOrLabel, ...] | Problem | None:
    """The stop positions as given, each checked (None when there is none)."""
    for stop in stop_positions or ():
        found = checked(workflow, stop)
        if isinstance(found, Problem):
            return found
    return tuple(dict.fromkeys(stop_positions)) if stop_positions else None  # JS7's Set: no duplicates


def is_at_stop_position(workflow: Workflow, order: Order) -> bool:
    """JS7's Workflow.isOrderAtStopPosition: at one of its stop positions (retry and cycle rounds alike),
    or at an instruction whose label is one — but not at the end of the workflow."""
    return is_stop_position(workflow, order.position, order.stop_positions)


def is_stop_position(workflow: Workflow, here: Position, stops: tuple[PositionOrLabel, ...] | None) -> bool:
    if not stops:
        return False
    instruction = workflow.instruction(here)
    if len(here) == 1 and isinstance(instruction, ImplicitEnd):
        return False
    normal = pos.normalized(here)
    label = instruction.label if instruction is not None else None
    return any(stop == label if isinstance(stop, str) else pos.normalized(stop) == normal for stop in stops)


def _numbered(position: Position) -> Position:
    """A position a person wrote with JS7's plain "try"/"catch" branch ids, as the workflow numbers them."""
    return tuple("try+0" if p == "try" else "catch+0" if p == "catch" else p for p in position)
