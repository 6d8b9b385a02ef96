"""The state of an order in a Cycle instruction (JS7's data/order/CycleState.scala) and the branch id
that carries it while the order runs the cycle's block (JS7's BranchId.cycle / toCycleState).

JSON, as JS7 writes it (no TYPE): `{"end": 1633046400000, "schemeIndex": 1, "periodIndex": 2,
"index": 3, "next": 1633089600000}`; schemeIndex and periodIndex default to 0.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from js7es.domain import codec
from js7es.domain.problem import Problem, problem

CYCLE_PREFIX = "cycle+"


@codec.register
@dataclass(frozen=True, slots=True, kw_only=True)
class CycleState:
    """`end`: the end of the order's day (epoch ms), fixed when cycling starts; `scheme_index` and
    `period_index`: the scheme and admission period of the next cycle; `index`: the cycle's number in
    its period, from 1 (0 when irrelevant); `next`: when the next cycle starts (epoch ms), 0 for at once."""

    JSON_UNTYPED: ClassVar[bool] = True
    end: int
    scheme_index: int = 0
    period_index: int = 0
    index: int
    next: int


def cycle_branch_id(state: CycleState) -> str:
    """ "cycle+end=…[,scheme=…][,period=…][,i=…][,next=…]", the zero parts left out (JS7)."""
    parts = [f"end={state.end}"]
    if state.scheme_index != 0:
        parts.append(f"scheme={state.scheme_index}")
    if state.period_index != 0:
        parts.append(f"period={state.period_index}")
    if state.index != 0:
        parts.append(f"i={state.index}")
    if state.next != 0:
        parts.append(f"next={state.next}")
    return CYCLE_PREFIX + ",".join(parts)


def cycle_state_of_branch(branch: str) -> CycleState | Problem:
    """The cycle state a branch id carries; plain "cycle" is the empty state (JS7)."""
    state = CycleState(end=0, index=0, next=0)
    if branch == "cycle":
        return state
    failed = problem("InvalidPosition", f"Expected a Cycle BranchId but got: {branch}", branchId=branch)
    if not branch.startswith(CYCLE_PREFIX):
        return failed
    names = {"end": "end", "scheme": "scheme_index", "period": "period_index", "i": "index", "next": "next"}
    for part in branch[len(CYCLE_PREFIX) :].split(","):
        key, sep, value = part.partition("=")
        if not sep or key not in names or not value.lstrip("-").isdigit():
            return failed
        state = replace(state, **{names[key]: int(value)})
    return state
