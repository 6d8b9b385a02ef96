"""Which Subagent of an Agent runs a job step (JS7's SubagentBundle selection; js7-engine.md §3).

The Director asks `select_subagent` when an order's step could start: it answers the id of an
available Subagent (enabled, and coupled as `is_coupled` says: the Director knows its connections),
or None, and then the order waits until a Subagent becomes available.

JS7's rules (DirectorState.selectNext, Prioritized, MutableRoundRobin): a bundle's Subagents are
grouped by priority, highest first; the first group with an available Subagent is used, round robin
within it (the index starts again whenever the bundle's filtered group changes, so distinct priorities
give fixed priority with fall-back and return, equal ones round robin); without a bundle, round robin
over all Subagents of the Agent; a bundle id that is no bundle is taken as a Subagent id. A priority
is an expression (a number, or since JS7 2.7 one reading the Subagent's metering values such as
`$js7SubagentProcessCount`): one that fails or gives no number leaves its Subagent out.

StickySubagent (JS7's SubagentKeeper.determineSubagentBundle): inside the block, a job with no bundle
of its own, or the block's bundle, runs through the block's bundle; the first such job that starts
records its Subagent (`OrderProcessingStarted(stick=true)`), and the block's later jobs wait for that
Subagent.

The round-robin positions live in the Director's memory (`RoundRobin`), never in the journal, as
JS7's MutableRoundRobin.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from js7es.domain.expression import MapScope, evaluate_text
from js7es.domain.order.events import OrderProcessingStarted
from js7es.domain.order.scope import OrderScope
from js7es.domain.problem import Problem, problem
from js7es.domain.value import Value
from js7es.domain.workflow.instructions import STICKY_SUBAGENT_BRANCH

if TYPE_CHECKING:
    from js7es.domain.agent.agent_state import AgentState
    from js7es.domain.order.context import Context
    from js7es.domain.order.order import Order
    from js7es.domain.workflow.job import WorkflowJob

LOCAL_SUBAGENT = ""  # JS7's SubagentBundleId.LocalSubagentString: the Director's own Subagent

# Metering values a priority expression may read (JS7 2.7), by Subagent: supplied by the Director
Metering = Callable[[str], Mapping[str, Value]]


@dataclass(slots=True)
class RoundRobin:
    """The next index per group key (a bundle, or all of the Agent's Subagents); when the key's
    filtered group differs from the last one, it starts again at 0 (JS7's Prioritized)."""

    _positions: dict[Hashable, tuple[tuple[str, ...], int]] = field(default_factory=dict)

    def next(self, group_key: Hashable, members: tuple[str, ...]) -> str:
        assert members
        known = self._positions.get(group_key)
        index = known[1] if known is not None and known[0] == members else 0
        chosen = members[index % len(members)]
        self._positions[group_key] = (members, (index + 1) % len(members))
        return chosen


@dataclass(frozen=True, slots=True)
class DeterminedBundle:
    """What a step selects through (JS7's DeterminedSubagentBundle): a bundle id (or a Subagent id),
    None for all of the Agent's Subagents; `stick`: the chosen Subagent becomes the block's."""

    bundle_id: str | None
    stick: bool = False


def agent_subagent_ids(state: AgentState) -> tuple[str, ...]:
    """The Subagents of this Agent: its Directors' own and the SubagentItems attached to it, sorted."""
    ids = {s.id for s in state.subagents.values() if state.agent_path is None or s.agent_path == state.agent_path}
    local = state.local_subagent_id
    if local is not None:
        ids.add(local)
    return tuple(sorted(ids))


def is_enabled(state: AgentState, subagent_id: str) -> bool:
    item = state.subagents.get(subagent_id)
    return item is None or not item.disabled


def determine_bundle(order: Order, agent_path: str | None, job_bundle_id: str | None) -> DeterminedBundle:
    """JS7's determineSubagentBundle: the StickySubagent block the order is in on this Agent applies
    to a job without a bundle of its own or with the block's bundle."""
    in_block = STICKY_SUBAGENT_BRANCH in order.position[1::2]
    sticky = order.sticky_subagent_on(agent_path) if agent_path is not None and in_block else None
    if sticky is not None and (
        job_bundle_id is None or sticky.subagent_bundle_id is None or sticky.subagent_bundle_id == job_bundle_id
    ):
        if sticky.stuck_subagent_id is not None:
            return DeterminedBundle(sticky.stuck_subagent_id)
        return DeterminedBundle(sticky.subagent_bundle_id or job_bundle_id, stick=True)
    return DeterminedBundle(job_bundle_id)


def select_subagent(
    state: AgentState,
    order: Order,
    job: WorkflowJob,
    bundle_id: str | None,
    is_coupled: Callable[[str], bool],
    round_robin: RoundRobin,
    *,
    metering: Metering | None = None,
) -> str | None:
    """The Subagent to run `order`'s step of `job` on, or None when none is available now.

    `bundle_id`: the value of the job's `subagentBundleIdExpr` (`job_bundle_id`), or None.
    `metering`: the metering values of a Subagent for priority expressions (none: they see no values).
    """
    del job  # its bundle comes evaluated, as `bundle_id`
    determined = determine_bundle(order, state.agent_path, bundle_id)
    return select_through(state, determined.bundle_id, is_coupled, round_robin, metering=metering)


def select_through(
    state: AgentState,
    bundle_id: str | None,
    is_coupled: Callable[[str], bool],
    round_robin: RoundRobin,
    *,
    metering: Metering | None = None,
) -> str | None:
    """JS7's DirectorState.selectNext for a bundle id (or a Subagent id, or None)."""

    def available(subagent_id: str) -> bool:
        return is_enabled(state, subagent_id) and is_coupled(subagent_id)

    mine = agent_subagent_ids(state)
    if bundle_id is None:
        group = tuple(i for i in mine if available(i))
        return round_robin.next((), group) if group else None
    bundle = state.subagent_bundles.get(bundle_id)
    if bundle is None:  # a Subagent named directly: it runs there, once available
        return bundle_id if bundle_id in mine and available(bundle_id) else None
    for group in priority_groups(bundle.subagent_to_priority, metering):
        members = tuple(i for i in group if i in mine and available(i))
        if members:
            return round_robin.next(("bundle", bundle_id), members)
    return None


def priority_groups(subagent_to_priority: Mapping[str, str], metering: Metering | None = None) -> list[tuple[str, ...]]:
    """The Subagents grouped by their evaluated priority, highest first (JS7's groupByPriority); within a
    group in the bundle's order. A priority that fails or is no number leaves its Subagent out."""
    by_priority: dict[int | Decimal, list[str]] = {}
    for subagent_id, expression in subagent_to_priority.items():
        values = metering(subagent_id) if metering is not None else {}
        priority = evaluate_text(expression, MapScope(named_values=values))
        if isinstance(priority, bool) or not isinstance(priority, (int, Decimal)):
            continue  # a Problem, a missing value or no number: not selected (JS7 logs it)
        by_priority.setdefault(priority, []).append(subagent_id)
    return [tuple(by_priority[p]) for p in sorted(by_priority, reverse=True)]


def job_bundle_id(state: AgentState, order: Order, job: WorkflowJob, ctx: Context) -> str | Problem | None:
    """The job's `subagentBundleIdExpr` evaluated with the order's scope (JS7's
    SubagentKeeper.orderToSubagentBundleId): None without one; the empty string names the Director's
    own Subagent."""
    if job.subagent_bundle_id_expr is None:
        return None
    workflow = state.workflow_of(order)
    if workflow is None:
        return problem("UnknownItem", f"Unknown workflow {order.workflow_id}")
    value = evaluate_text(job.subagent_bundle_id_expr, OrderScope(order=order, workflow=workflow, ctx=ctx))
    if isinstance(value, Problem):
        return value
    if not isinstance(value, str):
        return problem("InvalidSubagentBundleId", f"subagentBundleIdExpr gives no string but {value!r}")
    if value == LOCAL_SUBAGENT:
        return state.local_subagent_id
    return value


def unknown_bundle(state: AgentState, bundle_id: str | None) -> Problem | None:
    """A problem when `bundle_id` names neither a bundle nor a Subagent of this Agent: the order can
    never start there (JS7: the step fails with UnknownKey)."""
    if bundle_id is None or bundle_id in state.subagent_bundles or bundle_id in agent_subagent_ids(state):
        return None
    return problem("UnknownKey", f"No such SubagentBundle or Subagent: {bundle_id}", key=bundle_id)


def processing_started(
    order: Order, agent_path: str | None, bundle_id: str | None, subagent_id: str
) -> OrderProcessingStarted:
    """The event of a step that starts on `subagent_id` chosen for `bundle_id` (the job's), with the
    StickySubagent's `stick` and the bundle it went through (left out when it is the Subagent itself)."""
    determined = determine_bundle(order, agent_path, bundle_id)
    through = determined.bundle_id if determined.bundle_id != subagent_id else None
    return OrderProcessingStarted(
        subagent_id=subagent_id, subagent_bundle_id=through, stick=True if determined.stick else None
    )
