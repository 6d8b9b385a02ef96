"""The consistency of Agents, Subagents and SubagentBundles in one deployment (issue 16): UpdateItems
refuses the whole deployment when one of these does not hold, so nothing is half applied.

- a SubagentItem names a known AgentRef;
- an AgentRef's `directors` are not Subagents of another Agent;
- a SubagentBundle names only known Subagents, and all of one Agent;
- a deleted SubagentItem is used by no bundle and no AgentRef (as a Director);
- a workflow job's constant `subagentBundleIdExpr` names a bundle or a Subagent (JS7's
  ControllerState.referencedItemExists: a SubagentId may stand for a SubagentBundleId; the empty
  string is the Agent's local Subagent).

A "known Subagent" is a SubagentItem, or the Director of an AgentRef that has no SubagentItem yet
(a legacy AgentRef with only a `uri` runs its jobs on the Subagent named by its path).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, TypeVar

from js7es.domain.expression import MapScope, evaluate_text, parse_expression
from js7es.domain.expression.ast import referenced_names
from js7es.domain.items import AgentRef, SimpleItem, SubagentBundle, SubagentItem, simple_item_id
from js7es.domain.problem import Problem, problem
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.workflow import Workflow

if TYPE_CHECKING:
    from js7es.domain.state import ControllerState

_Item = TypeVar("_Item", AgentRef, SubagentItem, SubagentBundle)


def check_subagent_references(
    state: ControllerState,
    workflows: Iterable[Workflow],
    simple: list[SimpleItem],
    deleted_keys: list[str],
    agents: set[str],
) -> Problem | None:
    """`workflows`: the current workflows after the deployment; `agents`: the AgentRef paths after it."""
    deleted = set(deleted_keys)
    refs = _after(state.agent_refs, [i for i in simple if isinstance(i, AgentRef)], "AgentRef", deleted)
    subagents = _after(state.subagents, [i for i in simple if isinstance(i, SubagentItem)], "SubagentItem", deleted)
    bundles = _after(
        state.subagent_bundles, [i for i in simple if isinstance(i, SubagentBundle)], "SubagentBundle", deleted
    )
    for subagent in subagents.values():
        if subagent.agent_path not in agents:
            new = subagent.id not in state.subagents or any(i is subagent for i in simple)
            return problem(
                "UnknownItem" if new else "ItemIsStillReferenced",
                f"SubagentItem:{subagent.id} refers to AgentRef:{subagent.agent_path}",
                key=f"AgentRef:{subagent.agent_path}",
            )
    owner = {s.id: s.agent_path for s in subagents.values()}
    for ref in refs.values():
        for director in ref.directors or (ref.path,):
            there = owner.setdefault(director, ref.path)
            if there != ref.path:
                return problem(
                    "InvalidItem",
                    f"AgentRef:{ref.path}: its Director {director} is a Subagent of AgentRef:{there}",
                    key=f"AgentRef:{ref.path}",
                    subagentId=director,
                )
    for key in deleted_keys:
        kind, _, ident = key.partition(":")
        if kind == "SubagentItem":
            users = [b.key for b in bundles.values() if ident in b.subagent_to_priority]
            users += [r.key for r in refs.values() if ident in r.directors]
            if users:
                return problem("ItemIsStillReferenced", f"{key} is used by {', '.join(sorted(users))}", key=key)
    for bundle in bundles.values():
        agent_paths = set()
        for subagent_id in bundle.subagent_to_priority:
            if subagent_id not in owner:
                return problem(
                    "UnknownItem",
                    f"{bundle.key}: unknown SubagentItem:{subagent_id}",
                    key=f"SubagentItem:{subagent_id}",
                )
            agent_paths.add(owner[subagent_id])
        if len(agent_paths) > 1:
            return problem(
                "InvalidItem",
                f"{bundle.key}: its Subagents belong to different Agents ({', '.join(sorted(agent_paths))})",
                key=bundle.key,
            )
    for workflow in workflows:
        for position, instruction in workflow.positions():
            job = workflow.job_of(instruction)
            constant = None if job is None else constant_bundle_id(job.subagent_bundle_id_expr)
            if constant and constant not in bundles and constant not in owner:
                return problem(
                    "UnknownItem",
                    f"Workflow {workflow.path} at {pos.to_string(position)}: "
                    f"unknown SubagentBundle:{constant} (nor a Subagent)",
                    key=f"SubagentBundle:{constant}",
                    workflow=workflow.path,
                    position=pos.to_string(position),
                )
    for key in deleted_keys:
        kind, _, ident = key.partition(":")
        if kind == "SubagentBundle":
            for workflow in workflows:
                for _, instruction in workflow.positions():
                    job = workflow.job_of(instruction)
                    if job is not None and constant_bundle_id(job.subagent_bundle_id_expr) == ident:
                        return problem("ItemIsStillReferenced", f"{key} is used by Workflow:{workflow.id}", key=key)
    return None


def constant_bundle_id(expression: str | None) -> str | None:
    """The bundle id of a `subagentBundleIdExpr` that reads no names (JS7's knownSubagentBundleIds,
    evaluated with an empty scope), or None when it depends on the order."""
    if expression is None:
        return None
    parsed = parse_expression(expression)
    if isinstance(parsed, Problem) or referenced_names(parsed):
        return None
    value = evaluate_text(expression, MapScope(named_values={}))
    return value if isinstance(value, str) else None


def _after(table: Mapping[str, _Item], changed: list[_Item], kind: str, deleted: set[str]) -> dict[str, _Item]:
    result = dict(table)
    for item in changed:
        result[simple_item_id(item)] = item
    return {ident: item for ident, item in result.items() if f"{kind}:{ident}" not in deleted}
