"""The Cockpit's projection of notice boards: the notice events and the orders' notice events apply
(the order waits in ExpectingNotices, JOC's WAITING, and goes on), board items and NoticePosted /
NoticeDeleted pass without breaking anything."""

from __future__ import annotations

from types import SimpleNamespace

from js7es.domain import codec
from js7es.domain.commands.notices import DeleteNotice, PostNotice
from js7es.domain.order.order import Order
from js7es.domain.order.states import ExpectingNotices
from js7es.domain.problem import orthrow
from js7es.domain.value import dumps
from js7es.domain.workflow.workflow import WorkflowId
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.queries.orders import order_v
from js7es.projections.cockpit.queries.states import order_state_text
from tests.cockpit.conftest import DatabaseFactory
from tests.cockpit.contract import project, rows
from tests.cockpit.support import T0, stamp
from tests.domain.test_notice_boards import CONSUME, DAY, EXPECT, POST, setup, workflow


def test_notice_events_project(sqlite_database: DatabaseFactory) -> None:
    engine = sqlite_database()[0]
    sim = setup(workflows=(workflow("POSTING", POST), workflow("EXPECTING", EXPECT), workflow("CONSUMING", CONSUME)))
    sim.add_order(f"{DAY}E", "EXPECTING")
    sim.run()
    waiting = stamp(sim.log, start=T0 * 1000)
    project(engine, waiting, batch=3)
    by_id = {r["order_id"]: r for r in rows(engine, schema.orders)}
    assert by_id[f"{DAY}E"]["state"] == "ExpectingNotices"
    assert order_state_text("ExpectingNotices", False, None, T0) == "WAITING"

    orthrow(sim.command(PostNotice(notice_id=("B", "2024-11-25"))))
    sim.add_order(f"{DAY}C", "CONSUMING")
    sim.add_order(f"{DAY}P", "POSTING")
    sim.run()
    orthrow(sim.command(PostNotice(notice_id=("B", "X"))))
    orthrow(sim.command(DeleteNotice(notice_id=("B", "X"))))
    rest = stamp(sim.log[len(waiting) :], start=waiting[-1].event_id + 1)
    project(engine, rest, batch=4)
    by_id = {r["order_id"]: r for r in rows(engine, schema.orders)}
    assert {o: by_id[o]["state"] for o in (f"{DAY}E", f"{DAY}C", f"{DAY}P")} == {
        f"{DAY}E": "Finished",
        f"{DAY}C": "Finished",
        f"{DAY}P": "Finished",
    }


def test_joc_order_shows_the_expected_notices() -> None:
    state = ExpectingNotices(notice_ids=(("B", "2024-11-25"), ("DailyPlan", "2024-11-25", "P")))
    order = Order(id="o", workflow_id=WorkflowId("W", "1"), position=(0,), state=state)
    row = SimpleNamespace(
        order_id="o",
        joc_path="/W",
        workflow_version="1",
        state="ExpectingNotices",
        is_suspended=False,
        scheduled_for=None,
        position="[0]",
        order_json=dumps(codec.encode(order)),
        agent_path=None,
        parent_order_id=None,
    )
    out = order_v(row, T0, compact=True)
    assert out["state"] == {"severity": 8, "_text": "WAITING"}
    assert out["expectedNotices"] == [{"boardName": "B", "noticeId": "2024-11-25"}, {"boardName": "P", "noticeId": ""}]
