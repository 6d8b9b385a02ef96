"""Positions in a workflow: JSON arrays such as [1, "then", 0] (JS7's Position).

A position alternates instruction numbers and branch ids: [i0, branch1, i1, branch2, i2, ...]. The
branch ids are JS7's: "then" (first if-then), "then+2", "then+3", ... (the later else-ifs, numbered
from 1 as JS7 does, so there is no "then+1"), "else", "try+N" and "catch+N" (N counts retries),
"fork+<branchId>", "cycle" (in a workflow; an order in a cycle has "cycle+end=…,i=…", the cycle's
state, see js7es.domain.order.cycle).
"""

from __future__ import annotations

from typing import TypeAlias

Position: TypeAlias = tuple[int | str, ...]
START: Position = (0,)


def index(position: Position) -> int:
    last = position[-1]
    assert isinstance(last, int)
    return last


def with_index(position: Position, nr: int) -> Position:
    return (*position[:-1], nr)


def next_of(position: Position) -> Position:
    return with_index(position, index(position) + 1)


def branch_path(position: Position) -> Position:
    """The position without its last instruction number: the block it is in."""
    return position[:-1]


def parent(position: Position) -> Position | None:
    """The position of the instruction that holds this position's block, or None at top level."""
    return position[:-2] if len(position) >= 3 else None


def branch_id(position: Position) -> str | None:
    return str(position[-2]) if len(position) >= 3 else None


def nested(position: Position, branch: str) -> Position:
    return (*position, branch, 0)


def is_valid(obj: object) -> bool:
    """JSON shape check: odd length, ints (>= 0) at even places, strings at odd places."""
    if not isinstance(obj, (list, tuple)) or len(obj) % 2 != 1:
        return False
    for i, part in enumerate(obj):
        if i % 2 == 0:
            if not isinstance(part, int) or isinstance(part, bool) or part < 0:
                return False
        elif not isinstance(part, str) or not part:
            return False
    return True


def to_string(position: Position) -> str:
    """JS7's short form, e.g. 1/then:0 for [1, "then", 0]."""
    out = str(position[0])
    for i in range(1, len(position), 2):
        out += f"/{position[i]}:{position[i + 1]}"
    return out


def try_count(branch: str) -> int | None:
    """The retry count of a "try+N"/"catch+N" branch id, or None."""
    for prefix in ("try+", "catch+"):
        if branch.startswith(prefix):
            tail = branch[len(prefix) :]
            return int(tail) if tail.isdigit() else None
    return None


# JS7's PositionOrLabel: an order's startPosition and stopPositions may name an instruction by its label.
PositionOrLabel: TypeAlias = Position | str


def normalized(position: Position) -> Position:
    """JS7's Position.normalized: the retry counts and cycle states dropped ("try+2" → "try", "catch+0"
    → "catch", "cycle+end=…" → "cycle"), so that a position given by a person matches every round."""
    if len(position) < 3:
        return position
    parts = list(position)
    for i in range(1, len(parts), 2):
        branch = str(parts[i])
        for plain in ("try", "catch", "cycle"):
            if branch == plain or branch.startswith(plain + "+"):
                parts[i] = plain
    return tuple(parts)


# The branches an order may be moved into or out of (JS7's BranchId.isNoMoveBoundary): a start or stop
# position inside another block (a fork, a lock, a ConsumeNotices, a StickySubagent) is not reachable.
_MOVABLE = ("then", "else", "try", "catch", "cycle", "options")


def is_reachable_from_start(position: Position) -> bool:
    """JS7's Workflow.isMoveable(Position(0), position): only then/else/try/catch/cycle/options on the way."""
    return all(str(b).split("+", 1)[0] in _MOVABLE for b in position[1::2])


def innermost_block(position: Position, branch: str) -> Position | None:
    """The instruction of the innermost `branch` block ("lock", "consumeNotices") that holds the
    position — also through then/else/try/catch blocks within it — of the order's own: not beyond its
    fork branch. Leaving it (OrderLocksReleased, OrderNoticesConsumed) moves the order past it."""
    for i in range(len(position) - 2, 0, -2):
        here = str(position[i])
        if here == branch:
            return position[:i]
        if here.startswith("fork"):
            return None
    return None
