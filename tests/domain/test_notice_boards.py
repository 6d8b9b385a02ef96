"""Notice boards in the pure domain, with JS7's event sequences as the oracle (GlobalBoardTest,
ConsumeNoticesTest, PlannableBoardTest, NoticeEventSource)."""

from __future__ import annotations

from typing import Any

from js7es.domain.board.events import (
    NoticeDeleted,
    NoticePosted,
    OrderNoticeAnnounced,
    OrderNoticePosted,
    OrderNoticesConsumed,
    OrderNoticesConsumptionStarted,
    OrderNoticesExpected,
    OrderNoticesRead,
)
from js7es.domain.board.notice import GLOBAL, NoticeId, PlanId
from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.notices import DeleteNotice, PostNotice, end_of_life_events
from js7es.domain.commands.orders import CancelOrders, DeleteOrdersWhenTerminated, SuspendOrders
from js7es.domain.order import events as ev
from js7es.domain.order import states as st
from js7es.domain.order.outcome import Failed, Outcome, Succeeded
from js7es.domain.problem import Problem, orthrow
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json
from tests.domain.simulator import Simulator

DAY = "#2024-11-25#"
DAY_KEY = "match(orderId, '#([0-9]{4}-[0-9]{2}-[0-9]{2})#.*', '$1')"  # JS7's GlobalBoard.joc
LIFETIME_MS = 24 * 3600 * 1000
SHELL = {"TYPE": "ShellScriptExecutable", "script": "exit 0"}


def board(path: str, *, lifetime_ms: int | None = LIFETIME_MS, key: str = DAY_KEY) -> dict[str, Any]:
    obj: dict[str, Any] = {"TYPE": "GlobalBoard", "path": path, "postOrderToNoticeKey": key}
    obj["expectOrderToNoticeKey"] = key
    if lifetime_ms is not None:
        obj["endOfLife"] = f"$js7EpochMilli + {lifetime_ms}"
    return obj


def workflow(path: str, *instructions: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": path,
        "instructions": list(instructions),
        "jobs": {"J": {"agentPath": "AGENT", "executable": SHELL}},
    }


POST = {"TYPE": "PostNotices", "boardPaths": ["B"]}
EXPECT = {"TYPE": "ExpectNotices", "boardPaths": "'B'"}
JOB = {"TYPE": "Execute.Named", "jobName": "J"}


def deploy_items(sim: Simulator, *items: dict[str, Any]) -> Any:
    operations = tuple(value_from_json({"TYPE": "AddOrChangeSimple", "item": i}) for i in items)
    return sim.command(UpdateItems(operations=operations))


def setup(*boards: dict[str, Any], workflows: tuple[dict[str, Any], ...] = ()) -> Simulator:
    sim = Simulator()
    orthrow(deploy_items(sim, *(boards or (board("B"),))))
    sim.deploy(*workflows)
    return sim


def events(sim: Simulator, order_id: str) -> list[Any]:
    return sim.typed_events_of(order_id)


def nid(key: str, board_path: str = "B") -> tuple[str, ...]:
    return (board_path, key)


def test_expecting_order_waits_until_another_workflow_posts() -> None:
    """GlobalBoardTest "ExpectNotices": OrderNoticesExpected, then OrderNoticesRead and OrderMoved when
    the poster posts, in the poster's commit."""
    sim = setup(workflows=(workflow("POSTING", POST), workflow("EXPECTING", EXPECT)))
    sim.add_order(f"{DAY}EXPECTING", "EXPECTING")
    sim.run()
    order = sim.state.orders[f"{DAY}EXPECTING"]
    assert order.state == st.ExpectingNotices(notice_ids=(nid("2024-11-25"),))
    assert sim.state.boards.expecting_orders(NoticeId(plan=GLOBAL, board_path="B", notice_key="2024-11-25")) == {
        f"{DAY}EXPECTING"
    }

    before = len(sim.log)
    sim.add_order(f"{DAY}POSTING", "POSTING")
    sim.run()
    assert events(sim, f"{DAY}POSTING") == [
        ev.OrderAdded(workflow_id=sim.state.orders[f"{DAY}POSTING"].workflow_id),
        ev.OrderStarted(),
        OrderNoticePosted(notice_id=nid("2024-11-25"), end_of_life=sim.now_ms + LIFETIME_MS),
        ev.OrderMoved(to=(1,)),
        ev.OrderFinished(),
    ]
    assert events(sim, f"{DAY}EXPECTING") == [
        ev.OrderAdded(workflow_id=sim.state.orders[f"{DAY}EXPECTING"].workflow_id),
        ev.OrderStarted(),
        OrderNoticesExpected(notice_ids=(nid("2024-11-25"),)),
        OrderNoticesRead(),
        ev.OrderMoved(to=(1,)),
        ev.OrderFinished(),
    ]
    # the expecting order went on in the poster's follow-up, before the poster finished
    keys = [(k.key, type(k.event).__name__) for k in sim.log[before:]]
    assert keys.index((f"{DAY}EXPECTING", "OrderNoticesRead")) < keys.index((f"{DAY}POSTING", "OrderFinished"))
    # ExpectNotices reads, it does not consume: the notice stays, without expectations
    notice = sim.state.boards.notice(NoticeId(plan=GLOBAL, board_path="B", notice_key="2024-11-25"))
    assert notice is not None and not sim.state.boards.expecting_orders(notice.id)


def test_notice_posted_before_is_read_at_once() -> None:
    """GlobalBoardTest: an expecting order after the post: OrderStarted, OrderNoticesRead, OrderMoved."""
    sim = setup(workflows=(workflow("POSTING", POST), workflow("EXPECTING", EXPECT)))
    sim.add_order(f"{DAY}POSTING", "POSTING")
    sim.run()
    sim.add_order(f"{DAY}EXPECTING", "EXPECTING")
    sim.run()
    assert sim.events_of(f"{DAY}EXPECTING") == [
        "OrderAdded",
        "OrderStarted",
        "OrderNoticesRead",
        "OrderMoved",
        "OrderFinished",
    ]


CONSUME = {"TYPE": "ConsumeNotices", "boardPaths": "'B'", "subworkflow": {"instructions": [JOB]}}


def test_consume_notices_consumes_a_notice_posted_before_once() -> None:
    """ConsumeNoticesTest "A single Order": consumption around the job; the notice is gone after it, so
    a second consuming order waits."""
    sim = setup(workflows=(workflow("CONSUMING", CONSUME),))
    orthrow(sim.command(PostNotice(notice_id=nid("2024-11-25"))))
    sim.add_order(f"{DAY}FIRST", "CONSUMING")
    sim.run()
    assert sim.events_of(f"{DAY}FIRST") == [
        "OrderAdded",
        "OrderStarted",
        "OrderNoticesConsumptionStarted",
        "OrderAttachable",
        "OrderAttached",
        "OrderProcessingStarted",
        "OrderProcessed",
        "OrderMoved",
        "OrderDetachable",
        "OrderDetached",
        "OrderNoticesConsumed",
        "OrderFinished",
    ]
    moved = [e for e in events(sim, f"{DAY}FIRST") if isinstance(e, ev.OrderMoved)]
    assert moved == [ev.OrderMoved(to=(0, "consumeNotices", 1))]
    assert OrderNoticesConsumed() in events(sim, f"{DAY}FIRST")
    assert sim.state.boards.notice(NoticeId(plan=GLOBAL, board_path="B", notice_key="2024-11-25")) is None
    assert not sim.state.boards.places and not sim.state.boards.consumptions

    sim.add_order(f"{DAY}SECOND", "CONSUMING")
    sim.run()
    assert sim.events_of(f"{DAY}SECOND") == ["OrderAdded", "OrderStarted", "OrderNoticesExpected"]


def test_consume_with_or_names_every_notice_and_waits_for_none() -> None:
    """ConsumeNoticesTest: 'A' || 'B' with only A posted: ConsumptionStarted names both notices."""
    sim = setup(board("A"), board("B"), workflows=(workflow("W", {**CONSUME, "boardPaths": "'A' || 'B'"}),))
    sim.add_order(f"{DAY}X", "W")
    sim.run()
    assert events(sim, f"{DAY}X")[-1] == OrderNoticesExpected(notice_ids=(nid("2024-11-25", "A"), nid("2024-11-25")))
    orthrow(sim.command(PostNotice(notice_id=nid("2024-11-25", "A"))))
    sim.run()
    started = [e for e in events(sim, f"{DAY}X") if isinstance(e, OrderNoticesConsumptionStarted)]
    assert started == [OrderNoticesConsumptionStarted(notice_ids=(nid("2024-11-25", "A"), nid("2024-11-25")))]
    assert sim.events_of(f"{DAY}X")[-1] == "OrderFinished"
    assert not sim.state.boards.places


def test_post_then_consume_in_one_workflow_as_in_js7() -> None:
    """ConsumeNoticesTest "Simple test with two boards" (an empty consume block)."""
    sim = setup(
        board("A"),
        board("MY", key="match(orderId, '#([0-9]{4}-[0-9]{2}-[0-9]{2})#(.*)', '$1-$2')"),
        workflows=(
            workflow(
                "W",
                {"TYPE": "PostNotices", "boardPaths": ["A", "MY"]},
                {"TYPE": "ConsumeNotices", "boardPaths": "'A' && 'MY'", "subworkflow": {"instructions": []}},
            ),
        ),
    )
    sim.add_order("#2022-10-23#X", "W", delete_when_terminated=True)
    sim.run()
    eol = sim.now_ms + LIFETIME_MS
    assert events(sim, "#2022-10-23#X")[1:] == [
        ev.OrderStarted(),
        OrderNoticePosted(notice_id=("A", "2022-10-23"), end_of_life=eol),
        OrderNoticePosted(notice_id=("MY", "2022-10-23-X"), end_of_life=eol),
        ev.OrderMoved(to=(1,)),
        OrderNoticesConsumptionStarted(notice_ids=(("A", "2022-10-23"), ("MY", "2022-10-23-X"))),
        OrderNoticesConsumed(),
        ev.OrderFinished(),
        ev.OrderDeleted(),
    ]
    assert not sim.state.boards.places


def failing(order: Any, job: Any) -> Outcome:
    return Failed(error_message="no") if "FAIL" in order.id else Succeeded(named_values={"returnCode": 0})


def test_a_failure_in_the_consume_block_keeps_the_notice() -> None:
    """JS7: OrderNoticesConsumed(failed=true) when a failure leaves the block; the notice stays."""
    sim = setup(workflows=(workflow("W", CONSUME),))
    sim.run_job = failing
    orthrow(sim.command(PostNotice(notice_id=nid("2024-11-25"))))
    sim.add_order(f"{DAY}FAIL", "W")
    sim.run()
    tail = events(sim, f"{DAY}FAIL")[-2:]
    assert tail == [OrderNoticesConsumed(failed=True), ev.OrderFailed(moved_to=(0,))]
    assert isinstance(sim.state.orders[f"{DAY}FAIL"].state, st.Failed)
    assert sim.state.boards.notice(NoticeId(plan=GLOBAL, board_path="B", notice_key="2024-11-25")) is not None


def test_when_not_announced_skips_or_reads() -> None:
    sim = setup(
        workflows=(
            workflow("SKIP", {**EXPECT, "whenNotAnnounced": "SkipWhenNoNotice"}),
            workflow("DONT", {**CONSUME, "whenNotAnnounced": "DontWait"}),
        )
    )
    sim.add_order(f"{DAY}S", "SKIP")
    sim.add_order(f"{DAY}D", "DONT")
    sim.run()
    assert events(sim, f"{DAY}S")[2:] == [
        OrderNoticesRead(),
        ev.OrderMoved(to=(1,), reason="NoNotice"),
        ev.OrderFinished(),
    ]
    assert sim.events_of(f"{DAY}D")[2] == "OrderNoticesConsumptionStarted"
    assert sim.events_of(f"{DAY}D")[-1] == "OrderFinished"


def test_plannable_board_notices_are_in_the_order_plan() -> None:
    plannable = {"TYPE": "PlannableBoard", "path": "P"}
    sim = setup(
        plannable,
        workflows=(
            workflow("POST", {"TYPE": "PostNotices", "boardPaths": ["P"]}),
            workflow("EXPECT", {"TYPE": "ExpectNotices", "boardPaths": "'P'"}),
        ),
    )
    sim.add_order("#2024-11-26#E", "EXPECT")
    sim.add_order("#2024-11-25#P", "POST")
    sim.run()
    assert events(sim, "#2024-11-25#P")[1:4] == [
        OrderNoticeAnnounced(notice_id=("DailyPlan", "2024-11-25", "P")),
        ev.OrderStarted(),
        OrderNoticePosted(notice_id=("DailyPlan", "2024-11-25", "P")),
    ]
    assert events(sim, "#2024-11-26#E")[-1] == OrderNoticesExpected(notice_ids=(("DailyPlan", "2024-11-26", "P"),))
    sim.add_order("#2024-11-26#P", "POST")
    sim.run()
    assert sim.events_of("#2024-11-26#E")[-1] == "OrderFinished"
    plan = PlanId("DailyPlan", "2024-11-26")
    assert sim.state.boards.notice(NoticeId(plan=plan, board_path="P", notice_key="")) is not None


def test_post_and_delete_notice_commands_and_end_of_life() -> None:
    sim = setup(workflows=(workflow("EXPECTING", EXPECT),))
    sim.add_order(f"{DAY}E", "EXPECTING")
    sim.run()
    decided = orthrow(sim.command(PostNotice(notice_id=nid("2024-11-25"), end_of_life=sim.now_ms + 1000)))
    assert [(k.key, k.event) for k in decided.events[:1]] == [
        ("B", NoticePosted(planned_notice_key="2024-11-25", end_of_life=sim.now_ms + 1000))
    ]
    assert sim.events_of(f"{DAY}E")[-3:] == ["OrderNoticesRead", "OrderMoved", "OrderFinished"]
    assert end_of_life_events(sim.state, sim.now_ms + 999) == []
    due = end_of_life_events(sim.state, sim.now_ms + 1000)
    assert [(k.key, k.event) for k in due] == [("B", NoticeDeleted(planned_notice_key="2024-11-25"))]
    for keyed in due:
        assert sim.state.apply_event(keyed.key, keyed.event) is None
    assert sim.state.boards.next_end_of_life() is None

    # a past end of life: posted and deleted in one commit (JS7)
    decided = orthrow(sim.command(PostNotice(notice_id=nid("X"), end_of_life=sim.now_ms - 1)))
    assert [type(k.event).__name__ for k in decided.events] == ["NoticePosted", "NoticeDeleted"]

    orthrow(sim.command(PostNotice(notice_id=nid("Y"))))  # the board's endOfLife
    notice = sim.state.boards.notice(NoticeId(plan=GLOBAL, board_path="B", notice_key="Y"))
    assert notice is not None and notice.end_of_life == sim.now_ms + LIFETIME_MS
    orthrow(sim.command(DeleteNotice(notice_id=nid("Y"))))
    assert sim.state.boards.notice(NoticeId(plan=GLOBAL, board_path="B", notice_key="Y")) is None


def test_bad_notice_commands_are_coded_problems() -> None:
    sim = setup()
    refused = [
        sim.command(PostNotice(notice_id=("UNKNOWN", "K"))),
        sim.command(PostNotice(notice_id=("DailyPlan", "2024-11-25", "B", "K"))),  # a GlobalBoard has no plans
        sim.command(PostNotice(notice_id=())),
        sim.command(PostNotice(notice_id=("B", "bad\nkey"))),
        sim.command(DeleteNotice(notice_id=("B", "NONE"))),
    ]
    assert [p.code for p in refused if isinstance(p, Problem)] == [
        "UnknownKey",
        "InvalidNoticeId",
        "InvalidNoticeId",
        "InvalidNoticeKey",
        "UnknownKey",
    ]


def test_workflow_with_an_unknown_board_is_refused_as_a_whole() -> None:
    sim = Simulator()
    operations = [
        {"TYPE": "AddVersion", "versionId": "1"},
        {"TYPE": "AddOrChangeSimple", "item": {"TYPE": "AgentRef", "path": "AGENT", "uri": "https://x"}},
        {"TYPE": "AddOrChangeSimple", "item": workflow("OK", JOB)},
        {"TYPE": "AddOrChangeSimple", "item": workflow("W", EXPECT)},
    ]
    refused = sim.command(UpdateItems(operations=tuple(value_from_json(o) for o in operations)))
    assert isinstance(refused, Problem) and refused.code == "UnknownItem" and "Board:B" in refused.message
    assert not sim.state.workflows and not sim.state.agent_refs


def test_board_deletion_is_refused_while_in_use() -> None:
    sim = setup(workflows=(workflow("EXPECTING", EXPECT),))
    sim.add_order(f"{DAY}E", "EXPECTING")
    sim.run()
    delete = UpdateItems(operations=(value_from_json({"TYPE": "DeleteSimple", "path": "Board:B"}),))
    refused = sim.command(delete)
    assert isinstance(refused, Problem) and refused.code == "ItemIsStillReferenced"
    orthrow(sim.command(PostNotice(notice_id=nid("2024-11-25"))))
    sim.run()
    assert sim.state.orders[f"{DAY}E"].is_terminal
    remove = UpdateItems(
        operations=tuple(
            value_from_json(o)
            for o in ({"TYPE": "RemoveVersioned", "path": "EXPECTING"}, {"TYPE": "DeleteSimple", "path": "Board:B"})
        )
    )
    refused = sim.command(remove)
    assert isinstance(refused, Problem), "orders still use the workflow version"
    sim.command(DeleteOrdersWhenTerminated(order_ids=(f"{DAY}E",)))
    orthrow(sim.command(remove))
    assert "B" not in sim.state.boards.items and not sim.state.boards.places


def test_cancel_and_suspend_reset_end_the_expectation() -> None:
    sim = setup(workflows=(workflow("EXPECTING", EXPECT),))
    sim.add_order(f"{DAY}C", "EXPECTING")
    sim.add_order(f"{DAY}S", "EXPECTING")
    sim.run()
    orthrow(sim.command(CancelOrders(order_ids=(f"{DAY}C",))))
    orthrow(sim.command(SuspendOrders(order_ids=(f"{DAY}S",), reset_state=True)))
    sim.run()
    assert sim.events_of(f"{DAY}C")[-3:] == ["OrderCancellationMarked", "OrderStateReset", "OrderCancelled"]
    assert sim.events_of(f"{DAY}S")[-2:] == ["OrderStateReset", "OrderSuspended"]
    assert not sim.state.boards.places


def test_snapshot_and_replay_keep_notices_expectations_and_consumptions() -> None:
    sim = setup(
        workflows=(
            workflow("EXPECTING", EXPECT),
            workflow(
                "CONSUMING", {**CONSUME, "subworkflow": {"instructions": [{"TYPE": "Prompt", "question": "'?'"}]}}
            ),
        )
    )
    orthrow(sim.command(PostNotice(notice_id=nid("2024-11-25"))))
    sim.add_order("#2024-11-26#E", "EXPECTING")
    sim.add_order(f"{DAY}CONSUMER", "CONSUMING")
    sim.run()
    assert isinstance(sim.state.orders["#2024-11-26#E"].state, st.ExpectingNotices)
    assert isinstance(sim.state.orders[f"{DAY}CONSUMER"].state, st.Prompting)
    assert sim.state.boards.consumptions
    restored = ControllerState.from_snapshot(sim.state.snapshot_objects())
    assert restored == sim.state
    assert restored.boards.places == sim.state.boards.places
    assert restored.boards.consumptions == sim.state.boards.consumptions
    replayed = ControllerState()
    for keyed in sim.log:
        assert replayed.apply_event(keyed.key, keyed.event) is None
    assert replayed.boards.places == sim.state.boards.places


def test_an_order_of_a_plan_announces_its_plannable_notices() -> None:
    """JS7's PlannableBoardTest: OrderNoticeAnnounced with OrderAdded; an announced notice is waited for
    even with SkipWhenNoNotice; an unannounced one is skipped."""
    plannable = {"TYPE": "PlannableBoard", "path": "P"}
    skipping = {"TYPE": "ExpectNotices", "boardPaths": "'P'", "whenNotAnnounced": "SkipWhenNoNotice"}
    sim = setup(
        plannable,
        workflows=(
            workflow("POST", JOB, {"TYPE": "PostNotices", "boardPaths": ["P"]}),
            workflow("EXPECT", skipping),
        ),
    )
    sim.add_order("#2024-11-25#POST", "POST")
    assert sim.events_of("#2024-11-25#POST")[:2] == ["OrderAdded", "OrderNoticeAnnounced"]
    sim.add_order("#2024-11-25#EXPECT", "EXPECT")  # announced: it waits
    sim.add_order("#2024-11-26#EXPECT", "EXPECT")  # another plan, nothing announced: skipped
    sim.add_order("ad-hoc", "POST")  # the global plan announces nothing
    assert sim.events_of("ad-hoc")[:2] == ["OrderAdded", "OrderAttachable"]
    sim.run()
    assert sim.events_of("#2024-11-26#EXPECT")[2:4] == ["OrderNoticesRead", "OrderMoved"]
    assert events(sim, "#2024-11-25#EXPECT")[2] == OrderNoticesExpected(notice_ids=(("DailyPlan", "2024-11-25", "P"),))
    assert sim.events_of("#2024-11-25#EXPECT")[-3:] == ["OrderNoticesRead", "OrderMoved", "OrderFinished"]
    restored = ControllerState.from_snapshot(sim.state.snapshot_objects())
    assert restored.boards.places == sim.state.boards.places


def test_cancel_while_consuming_and_prompting_as_in_js7() -> None:
    """ConsumeNoticesTest "Cancel while consuming a Notice and sticking in Promting": OrderStateReset,
    OrderNoticesConsumed(failed=true), OrderCancelled; the notice stays, no consumption is left."""
    prompting = {**CONSUME, "subworkflow": {"instructions": [{"TYPE": "Prompt", "question": "'PROMPT'"}]}}
    sim = setup(workflows=(workflow("W", prompting),))
    order_id = f"{DAY}CANCEL-WHILE-PROMPTING"
    sim.add_order(order_id, "W", delete_when_terminated=True)
    sim.run()
    orthrow(sim.command(PostNotice(notice_id=nid("2024-11-25"))))
    sim.run()
    orthrow(sim.command(CancelOrders(order_ids=(order_id,))))
    sim.run()
    assert sim.events_of(order_id) == [
        "OrderAdded",
        "OrderStarted",
        "OrderNoticesExpected",
        "OrderNoticesConsumptionStarted",
        "OrderPrompted",
        "OrderCancellationMarked",
        "OrderStateReset",
        "OrderNoticesConsumed",
        "OrderCancelled",
        "OrderDeleted",
    ]
    assert OrderNoticesConsumed(failed=True) in events(sim, order_id)
    notice_id = NoticeId(plan=GLOBAL, board_path="B", notice_key="2024-11-25")
    assert sim.state.boards.notice(notice_id) is not None
    assert not sim.state.boards.consumptions and sim.state.boards.places[notice_id].consumption_count == 0


TRY_AROUND_CONSUME = {
    "TYPE": "Try",
    "try": {"instructions": [CONSUME]},
    "catch": {"instructions": []},
}


def test_a_failure_on_the_agent_caught_outside_the_block_ends_the_consumption_on_the_controller() -> None:
    """The job fails on the Agent; the Try is outside the ConsumeNotices block: the order comes back to
    the Controller, which ends the consumption (failed) before OrderCaught."""
    sim = setup(workflows=(workflow("W", TRY_AROUND_CONSUME),))
    sim.run_job = failing
    orthrow(sim.command(PostNotice(notice_id=nid("2024-11-25"))))
    sim.add_order(f"{DAY}FAIL", "W")
    sim.run()
    types = sim.events_of(f"{DAY}FAIL")
    assert types[types.index("OrderProcessed") :] == [
        "OrderProcessed",
        "OrderDetachable",
        "OrderDetached",
        "OrderNoticesConsumed",
        "OrderCaught",
        "OrderMoved",
        "OrderFinished",
    ]
    assert OrderNoticesConsumed(failed=True) in events(sim, f"{DAY}FAIL")
    assert not sim.state.boards.consumptions
    assert sim.state.boards.notice(NoticeId(plan=GLOBAL, board_path="B", notice_key="2024-11-25")) is not None


def test_resume_into_a_consume_block_is_refused_and_a_start_there_too() -> None:
    from js7es.domain.commands.orders import ResumeOrders

    sim = setup(workflows=(workflow("W", JOB, CONSUME),))
    sim.run_job = failing
    sim.add_order(f"{DAY}FAIL", "W")
    sim.run()
    refused = sim.command(ResumeOrders(order_ids=(f"{DAY}FAIL",), position=(1, "consumeNotices", 0)))
    assert isinstance(refused, Problem) and refused.code == "InvalidPosition"
    started = sim.add_order(f"{DAY}X", "W", start_position=(1, "consumeNotices", 0))
    assert isinstance(started, Problem) and started.code == "InvalidPosition"
