"""What the Controller's AgentDriver sends of an Agent's items before each Batch (SubagentItems, bundles,
workflow controls, FileWatches): only what changed, and without writing every item's JSON for every
Batch — that was work proportional to the Controller's items for every few orders (issue 18)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.commands.items import UpdateItems
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.value import dumps, value_from_json
from js7es.journal.file import FileJournal
from js7es.nodes.controller import agent_driver
from js7es.nodes.controller.agent_driver import AgentDriver
from js7es.nodes.engine import Engine, recover_state

AGENT = {"TYPE": "AgentRef", "path": "agent-1", "directors": ["subagent-1a"]}
SUBAGENTS = [
    {"TYPE": "SubagentItem", "id": f"subagent-1{c}", "agentPath": "agent-1", "uri": f"https://{c}:4443"} for c in "abc"
]
WORKFLOW = {"path": "W", "instructions": [{"TYPE": "Prompt", "question": "'?'"}]}
WATCHES = [
    {"TYPE": "FileWatch", "path": f"watch-{i}", "agentPath": "agent-1", "workflowPath": "W", "directoryExpr": "'/in'"}
    for i in range(20)
]


async def update(engine: Engine, *items: dict[str, Any]) -> None:
    operations: list[dict[str, Any]] = [{"TYPE": "AddVersion", "versionId": "1"}] if WORKFLOW in items else []
    operations += [{"TYPE": "AddOrChangeSimple", "item": item} for item in items]
    decided = await engine.execute(UpdateItems(operations=tuple(value_from_json(o) for o in operations)))
    assert not isinstance(decided, Problem), decided


def sent_ids(commands: list[Any]) -> list[str]:
    return [i.get("id") or i.get("path") for c in commands for i in getattr(c, "items", ())]


def test_unchanged_items_are_neither_sent_again_nor_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[Any] = []

    def counted_dumps(obj: Any) -> str:
        written.append(obj)
        return dumps(obj)

    monkeypatch.setattr(agent_driver, "dumps", counted_dumps)

    async def run() -> None:
        journal = FileJournal.open(tmp_path, name="controller")
        engine = Engine(state=recover_state(journal, ControllerState), journal=journal, here=None, controller_id="t")
        await update(engine, AGENT, *SUBAGENTS, WORKFLOW, *WATCHES)
        driver = AgentDriver(engine=engine, agent_path="agent-1", client_factory=lambda uri: None)  # type: ignore[arg-type,return-value]

        first = driver._subagent_commands()
        assert sorted(sent_ids(first)) == sorted([s["id"] for s in SUBAGENTS] + [w["path"] for w in WATCHES])
        assert len(written) >= 23

        written.clear()
        assert driver._subagent_commands() == []  # as for every Batch while nothing changed
        assert written == []  # and nothing written for it

        await update(engine, {**SUBAGENTS[1], "uri": "https://moved:4443"})  # one item changes
        written.clear()
        assert sent_ids(driver._subagent_commands()) == ["subagent-1b"]
        assert len(written) == 1  # only the changed item's JSON is made
        journal.close()

    asyncio.run(run())
