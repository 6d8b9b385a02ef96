"""`js7es standalone`: the embedded all-in-one server on one data directory.

What runs today: the Controller's durable journal and state on the data directory, with the sample
workflow deployed on first start (all through the same command → event → journal loop the nodes use).
The Controller and Agent processes, certificates and the Cockpit join this command as they land
(issues 3 and 5); until then it prepares and shows the data directory and exits.
"""

from __future__ import annotations

import json
import time
from importlib import resources
from pathlib import Path

from js7es.domain.commands import execute
from js7es.domain.commands.items import UpdateItems
from js7es.domain.order.context import Context
from js7es.domain.problem import Problem, ProblemError
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json
from js7es.journal.file import FileJournal


def _sample(name: str) -> object:
    return json.loads(resources.files("js7es.nodes").joinpath("samples", name).read_text())


def run_standalone(data_dir: Path) -> int:
    state_dir = data_dir / "controller" / "state"
    state_dir.mkdir(parents=True, exist_ok=True)
    journal = FileJournal.open(state_dir, name="controller")
    try:
        recovered = journal.recovered
        state = ControllerState.from_snapshot(recovered.snapshot)
        for stamped in recovered.events:
            applied = state.apply_stamped(stamped)
            if isinstance(applied, Problem):
                raise ProblemError(applied)
        if state.current_workflow("hello") is None:
            operations = (
                {"TYPE": "AddVersion", "versionId": f"v{int(time.time())}"},
                {"TYPE": "AddOrChangeSimple", "item": _sample("agent.agentref.json")},
                {"TYPE": "AddOrChangeSimple", "item": _sample("agent-director.subagent.json")},
                {"TYPE": "AddOrChangeSimple", "item": _sample("hello.workflow.json")},
            )
            ctx = Context(now_ms=int(time.time() * 1000))
            decided = execute(state, UpdateItems(operations=tuple(value_from_json(o) for o in operations)), ctx)
            if isinstance(decided, Problem):
                raise ProblemError(decided)
            stamped_events = journal.persist_sync(list(decided.events))
            state.last_event_id = stamped_events[-1].event_id
            print(f"Deployed the sample workflow 'hello' ({len(stamped_events)} events committed).")
        print(f"Data directory: {data_dir.resolve()}")
        print(f"Controller journal: {state_dir.resolve()} (last EventId {journal.last_event_id})")
        print("State:", json.dumps(state.summary()))
        print(f"Check it offline: js7es journal verify {state_dir}")
        print("The Controller and Agent processes are not part of this build yet; nothing runs jobs.")
    finally:
        journal.close()
    return 0
