"""The Cockpit's projection of the orders of AddOrder, Stop and Options(stopOnFailure): an AddOrder's
order appears with OrderOrderAdded (it has no OrderAdded of its own), a stopped order is JOC's FAILED
(OrdersHelper.groupByStates), and a resumed one goes on to Finished."""

from __future__ import annotations

from js7es.domain.commands.orders import ResumeOrders
from js7es.domain.problem import orthrow
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.queries.states import order_state_text
from tests.cockpit.conftest import DatabaseFactory
from tests.cockpit.contract import project, rows
from tests.cockpit.support import T0, stamp
from tests.domain.simulator import Simulator

PROMPT = {"TYPE": "Prompt", "question": "'?'"}


def test_added_and_stopped_orders_project(sqlite_database: DatabaseFactory) -> None:
    engine = sqlite_database()[0]
    sim = Simulator()
    adding = {"TYPE": "AddOrder", "orderId": "'ADDED'", "workflowPath": "B"}
    sim.deploy(
        {"path": "A", "instructions": [adding, {"TYPE": "Stop"}], "jobs": {}},
        {"path": "B", "instructions": [PROMPT], "jobs": {}},
    )
    sim.add_order("O", "A")
    sim.run()
    first = stamp(sim.log, start=T0 * 1000)
    project(engine, first, batch=3)
    by_id = {r["order_id"]: r for r in rows(engine, schema.orders)}
    assert (by_id["O"]["state"], by_id["ADDED"]["state"]) == ("Stopped", "Prompting")
    assert order_state_text("Stopped", False, None, T0) == "FAILED"
    assert order_state_text("StoppedWhileFresh", False, None, T0) == "FAILED"
    runs = {r["order_id"] for r in rows(engine, schema.order_history)}
    assert runs >= {"O", "ADDED"}

    orthrow(sim.command(ResumeOrders(order_ids=("O",), position=(2,))))
    sim.run()
    rest = stamp(sim.log[len(first) :], start=first[-1].event_id + 1)
    project(engine, rest, batch=2)
    by_id = {r["order_id"]: r for r in rows(engine, schema.orders)}
    assert by_id["O"]["state"] == "Finished"
