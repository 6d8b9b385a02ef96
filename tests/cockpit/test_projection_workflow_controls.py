"""The Cockpit's projection of JS7's WorkflowPathControl: ControlWorkflowPath's item events keep one row
per workflow path (suspended, skipped labels), ItemDeleted removes it; /workflows shows a suspended
workflow as JOC does (suspended, state SUSPENDED with severity 11), and as IN_SYNC again once resumed."""

from __future__ import annotations

from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.workflow_controls import ControlWorkflowPath
from js7es.domain.problem import orthrow
from js7es.domain.value import value_from_json
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.queries.workflows import get_workflow, list_workflows
from tests.cockpit.conftest import DatabaseFactory
from tests.cockpit.contract import C1, project, rows
from tests.cockpit.support import T0, stamp
from tests.domain.simulator import Simulator
from tests.domain.test_workflow_controls import JOB, workflow


def test_workflow_path_controls_project(sqlite_database: DatabaseFactory) -> None:
    engine = sqlite_database()[0]
    sim = Simulator()
    sim.deploy(workflow("W", {**JOB, "label": "a"}, JOB), workflow("V", JOB))
    orthrow(sim.command(ControlWorkflowPath(workflow_path="W", suspend=True, skip={"a": True})))
    first = stamp(sim.log, start=T0 * 1000)
    project(engine, first, batch=2)
    [row] = rows(engine, schema.workflow_path_controls)
    assert (row["path"], row["suspended"], row["skip"]) == ("W", True, '["a"]')
    states = {w["path"]: (w["suspended"], w["state"]) for w in list_workflows(engine, C1)["workflows"]}
    assert states == {
        "/W": (True, {"severity": 11, "_text": "SUSPENDED"}),
        "/V": (False, {"severity": 6, "_text": "IN_SYNC"}),
    }
    one = get_workflow(engine, C1, "W")
    assert one is not None and one["suspended"] is True

    orthrow(sim.command(ControlWorkflowPath(workflow_path="W", suspend=False)))
    second = stamp(sim.log[len(first) :], start=first[-1].event_id + 1)
    project(engine, second, batch=2)
    assert [(r["suspended"], r["skip"]) for r in rows(engine, schema.workflow_path_controls)] == [(False, '["a"]')]
    one = get_workflow(engine, C1, "W")
    assert one is not None and (one["suspended"], one["state"]["_text"]) == (False, "IN_SYNC")

    removed = UpdateItems(operations=(value_from_json({"TYPE": "RemoveVersioned", "path": "W"}),))
    orthrow(sim.command(removed))  # no version of W left: ItemDeleted WorkflowPathControl:W too
    done = len(first) + len(second)
    project(engine, stamp(sim.log[done:], start=second[-1].event_id + 1), batch=2)
    assert rows(engine, schema.workflow_path_controls) == []
