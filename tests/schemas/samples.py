"""One realistic sample per event class (and per nested type), for the golden files and round trips.

Every field that has a default gets a non-default value where the class allows it, so that a field
silently dropped by a codec shows. Numbers are exact in JSON and Avro alike, as JS7's BigDecimal:
`RICH_VALUES` holds one with more digits than a float keeps.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from js7es.domain import cluster as c
from js7es.domain.agent import events as a
from js7es.domain.agent import subagent_events as sub
from js7es.domain.board import events as n
from js7es.domain.event import NO_KEY, Event, Stamped
from js7es.domain.items import (
    ItemDeleted,
    SignedItemAdded,
    SignedItemChanged,
    UnsignedItemAdded,
    UnsignedItemChanged,
    UnsignedSimpleItemAdded,
    UnsignedSimpleItemChanged,
    VersionAdded,
    VersionedItemAdded,
    VersionedItemChanged,
    VersionedItemRemoved,
)
from js7es.domain.lock import LockDemand
from js7es.domain.order import events as e
from js7es.domain.order import states as s
from js7es.domain.order.cycle import CycleState
from js7es.domain.order.order import (
    Attachment,
    Cancelling,
    Going,
    HistoricOutcome,
    Order,
    Resuming,
    StickySubagent,
    Suspending,
)
from js7es.domain.order.outcome import Caught, Disrupted, Failed, Killed, Succeeded, TimedOut
from js7es.domain.orderwatch import events as w
from js7es.domain.orderwatch.key import ExternalOrderKey, ExternalOrderLink
from js7es.domain.workflow.workflow import WorkflowId

FIRST_EVENT_ID = 1_732_521_600_000_000  # 2024-11-25T08:00:00Z, as JS7 EventIds go: epoch_ms * 1000 + n
WORKFLOW_ID = WorkflowId("/daily/ProcessInvoices", "2024-11-25#1")

WORKFLOW_JSON: dict[str, Any] = {
    "TYPE": "Workflow",
    "path": "/daily/ProcessInvoices",
    "versionId": "2024-11-25#1",
    "instructions": (
        {
            "TYPE": "Execute.Anonymous",
            "job": {
                "agentPath": "agent-1",
                "executable": {"TYPE": "ShellScriptExecutable", "script": "#!/bin/sh\necho ok\n"},
                "processLimit": 3,
                "timeout": Decimal("12.5"),
            },
        },
        {"TYPE": "If", "predicate": "$returnCode == 0", "then": {"instructions": ()}},
    ),
}

JOB_RESOURCE_JSON: dict[str, Any] = {
    "TYPE": "JobResource",
    "path": "invoices-env",
    "variables": {"dbUrl": "'jdbc:postgresql://db:5432/invoices'"},
    "env": {"DB_URL": "$dbUrl"},
}

AGENT_REF_JSON: dict[str, Any] = {"TYPE": "AgentRef", "path": "agent-1", "directors": ("subagent-1a", "subagent-1b")}

RICH_VALUES: dict[str, Any] = {
    "invoiceCount": 1200,
    "amount": Decimal("1234.56"),
    "ratio": Decimal("-0.000125"),
    "pi": Decimal("3.14159265358979323846264338327950288"),
    "tiny": Decimal("1E-30"),
    "customer": "Müller & Söhne — ÄÖÜ ✓ 日本",
    "urgent": True,
    "tags": ("q4", "eu", 7, None),
    "address": {"city": "Köln", "zip": "50667", "lines": ()},
    "nothing": None,
}

# JS7's UnsignedItemEventTest: the breakpoints of one workflow version
WORKFLOW_CONTROL_JSON: dict[str, Any] = {
    "TYPE": "WorkflowControl",
    "id": {"path": "/daily/ProcessInvoices", "versionId": "2024-11-25#1"},
    "breakpoints": ((0,), (1, "then", 0)),  # a Value: JSON arrays are tuples
    "itemRevision": 0,
}

ORDER = Order(
    id="invoices-2024-11-25",
    workflow_id=WORKFLOW_ID,
    position=(1, "then", 0),
    state=s.Processing(subagent_id="subagent-1a"),
    arguments={"customer": "ACME", "limit": 10, "factor": Decimal("2.75")},
    scheduled_for=1_732_525_200_000,
    historic_outcomes=(
        HistoricOutcome(position=(0,), outcome=Succeeded(named_values={"returnCode": 0})),
        HistoricOutcome(
            position=(1, "then", 0),
            outcome=TimedOut(outcome=Failed(error_message="SIGTERM", named_values={"returnCode": 143})),
        ),
    ),
    attached=Attachment(kind="Attached", agent_path="agent-1"),
    parent="invoices",
    mark=Resuming(position=(2,), as_succeeded=True, restart_killed_job=True),
    is_suspended=True,
    delete_when_terminated=True,
    mark_on_agent=True,
    force_admission=True,
    priority=Decimal("-20000.5"),
    is_resumed=True,
    external_order=ExternalOrderLink(order_watch_path="invoices-watch", name="invoice-4711.csv", vanished=True),
    stop_positions=((4,), "CLEANUP"),
    sticky_subagents=(
        StickySubagent(agent_path="agent-1", subagent_bundle_id="bundle-a", stuck_subagent_id="subagent-1a"),
    ),
)

# 2024-11-25, a day from 06:00 Europe/Berlin: the third cycle of the second period of scheme 1
CYCLE_STATE = CycleState(end=1_732_597_200_000, scheme_index=1, period_index=2, index=3, next=1_732_537_800_000)

CLUSTER_SETTING = c.ClusterSetting(
    id_to_uri={"Primary": "https://controller-1:4443", "Backup": "https://controller-2:4443"},
    active_id="Primary",
    timing=c.ClusterTiming(heartbeat_ms=500, heartbeat_timeout_ms=2000, consent_timeout_ms=1000),
)

EVENT_SAMPLES: dict[str, Event] = {
    "OrderAdded": e.OrderAdded(
        workflow_id=WORKFLOW_ID,
        arguments=RICH_VALUES,
        scheduled_for=1_732_525_200_000,
        delete_when_terminated=True,
        start_position=(2, "try+0", 1),
        force_admission=True,
        priority=10000,
        external_order_key=ExternalOrderKey(order_watch_path="invoices-watch", name="invoice-4711.csv"),
        stop_positions=((3,), "PRINT", (2, "catch", 0)),
    ),
    "OrderExternalVanished": e.OrderExternalVanished(),
    "ExternalOrderAppeared": w.ExternalOrderAppeared(
        external_order_name="invoice-4711.csv",
        arguments={"file": "/data/in/invoice-4711.csv"},
        order_id="#2024-11-25#F-invoice-4711",
    ),
    "ExternalOrderRejected": w.ExternalOrderRejected(
        external_order_name="invoice 4711|.csv", problem="InvalidOrderId: Invalid order id"
    ),
    "ExternalOrderVanished": w.ExternalOrderVanished(external_order_name="invoice-4711.csv"),
    "OrderAttachable": e.OrderAttachable(agent_path="agent-1"),
    "OrderAttachedToAgent": e.OrderAttachedToAgent(order=ORDER),
    "OrderAttached": e.OrderAttached(agent_path="agent-1"),
    "OrderDetachable": e.OrderDetachable(),
    "OrderDetached": e.OrderDetached(),
    "OrderStarted": e.OrderStarted(),
    "OrderProcessingStarted": e.OrderProcessingStarted(
        subagent_id="subagent-1a", subagent_bundle_id="bundle-a", stick=True
    ),
    "OrderStdoutWritten": e.OrderStdoutWritten(chunk="processing 1200 invoices…\nok ✓\n"),
    "OrderStderrWritten": e.OrderStderrWritten(chunk="WARN: slow response from db:5432\n"),
    "OrderProcessed": e.OrderProcessed(
        outcome=Succeeded(named_values={"returnCode": 0, "total": Decimal("98765.4321"), "report": "/tmp/r.pdf"})
    ),
    "OrderProcessingKilled": e.OrderProcessingKilled(),
    "OrderMoved": e.OrderMoved(to=(1, "then", 0), reason="SkippedDueToWorkflowPathControl"),
    "OrderForked": e.OrderForked(
        children=(
            e.ForkedChild(order_id="invoices-2024-11-25|eu", branch_id="eu"),
            e.ForkedChild(order_id="invoices-2024-11-25|us", branch_id="us"),
        )
    ),
    "OrderJoined": e.OrderJoined(outcome=Failed(error_message="Order:invoices|us failed", named_values={"n": 2})),
    "OrderOutcomeAdded": e.OrderOutcomeAdded(outcome=Disrupted(reason="ProcessLost", message="subagent restarted")),
    "OrderFailed": e.OrderFailed(moved_to=(3, "catch+0", 0)),
    "OrderFailedInFork": e.OrderFailedInFork(moved_to=(1, "fork+eu", 2)),
    "OrderCaught": e.OrderCaught(moved_to=(2, "catch+0", 0)),
    "OrderRetrying": e.OrderRetrying(moved_to=(2, "try+1", 0), delayed_until=1_732_525_260_000),
    "OrderAwoke": e.OrderAwoke(),
    "OrderBroken": e.OrderBroken(problem="UnknownKey: No such key 'Agent:agent-9'"),
    "OrderFinished": e.OrderFinished(outcome=Killed(outcome=Failed(error_message="SIGKILL"))),
    "OrderCancellationMarked": e.OrderCancellationMarked(mode="FreshOnly", kill=True, kill_immediately=True),
    "OrderCancellationMarkedOnAgent": e.OrderCancellationMarkedOnAgent(),
    "OrderCancelled": e.OrderCancelled(),
    "OrderDeletionMarked": e.OrderDeletionMarked(),
    "OrderDeleted": e.OrderDeleted(),
    "OrderSuspensionMarked": e.OrderSuspensionMarked(kill=True, kill_immediately=True, reset_state=True),
    "OrderSuspensionMarkedOnAgent": e.OrderSuspensionMarkedOnAgent(),
    "OrderSuspended": e.OrderSuspended(),
    "OrderResumptionMarked": e.OrderResumptionMarked(position=(4,), as_succeeded=True, restart_killed_job=True),
    "OrderResumed": e.OrderResumed(position=(1, "else", 2), as_succeeded=True, restart_killed_job=True),
    "OrderStateReset": e.OrderStateReset(),
    "OrderPrompted": e.OrderPrompted(question={"text": "Release 1200 invoices?", "limit": Decimal("0.5")}),
    "OrderPromptAnswered": e.OrderPromptAnswered(),
    "OrderSleeping": e.OrderSleeping(until=1_732_528_800_000),
    "OrderCyclingPrepared": e.OrderCyclingPrepared(cycle_state=CYCLE_STATE),
    "OrderCycleStarted": e.OrderCycleStarted(skipped=1200.0),
    "OrderCycleFinished": e.OrderCycleFinished(cycle_state=CYCLE_STATE),
    "OrderNoticeAnnounced": n.OrderNoticeAnnounced(notice_id=("DailyPlan", "2024-11-25", "invoices-done")),
    "OrderNoticePosted": n.OrderNoticePosted(notice_id=("invoices-done", "2024-11-25"), end_of_life=1_732_608_000_000),
    "OrderNoticesExpected": n.OrderNoticesExpected(
        notice_ids=(("invoices-done", "2024-11-25"), ("DailyPlan", "2024-11-25", "payments-done", "eu"))
    ),
    "OrderNoticesRead": n.OrderNoticesRead(),
    "OrderNoticesConsumptionStarted": n.OrderNoticesConsumptionStarted(
        notice_ids=(("invoices-done", "2024-11-25"), ("DailyPlan", "2024-11-25", "payments-done"))
    ),
    "OrderNoticesConsumed": n.OrderNoticesConsumed(failed=True),
    "NoticePosted": n.NoticePosted(planned_notice_key="2024-11-25", end_of_life=1_732_608_000_000),
    "NoticeDeleted": n.NoticeDeleted(planned_notice_key=("DailyPlan", "2024-11-25", "eu")),
    "OrderLocksQueued": e.OrderLocksQueued(
        demands=(LockDemand(lock_path="invoice-db"), LockDemand(lock_path="print-queue", count=2))
    ),
    "OrderLocksAcquired": e.OrderLocksAcquired(
        demands=(LockDemand(lock_path="invoice-db"), LockDemand(lock_path="print-queue", count=2))
    ),
    "OrderLocksReleased": e.OrderLocksReleased(lock_paths=("invoice-db", "print-queue")),
    "OrderPriorityChanged": e.OrderPriorityChanged(priority=Decimal("-3.25")),
    "OrderStopped": e.OrderStopped(),
    "OrderOrderAdded": e.OrderOrderAdded(
        order_id="invoices-2024-11-25-print",
        workflow_id=WorkflowId("/daily/PrintInvoices", "2024-11-25#1"),
        arguments={"copies": 2, "printer": "hall-b"},
        delete_when_terminated=True,
        force_admission=True,
        start_position=(1, "then", 0),
        stop_positions=("STOP",),
    ),
    "OrderStickySubagentEntered": e.OrderStickySubagentEntered(agent_path="agent-1", subagent_bundle_id="bundle-a"),
    "OrderStickySubagentLeaved": e.OrderStickySubagentLeaved(),
    "VersionAdded": VersionAdded(version_id="2024-11-25#1"),
    "VersionedItemAdded": VersionedItemAdded(item=WORKFLOW_JSON),
    "VersionedItemChanged": VersionedItemChanged(item={**WORKFLOW_JSON, "versionId": "2024-11-25#2"}),
    "VersionedItemRemoved": VersionedItemRemoved(path="/daily/ProcessInvoices"),
    "UnsignedSimpleItemAdded": UnsignedSimpleItemAdded(item=AGENT_REF_JSON),
    "UnsignedSimpleItemChanged": UnsignedSimpleItemChanged(item={**AGENT_REF_JSON, "processLimit": 40}),
    "SignedItemAdded": SignedItemAdded(item=JOB_RESOURCE_JSON),
    "SignedItemChanged": SignedItemChanged(item={**JOB_RESOURCE_JSON, "env": {}}),
    "ItemDeleted": ItemDeleted(key="JobResource:invoices-env"),
    "SubagentResetStartedByController": sub.SubagentResetStartedByController(force=True),
    "SubagentResetStarted": sub.SubagentResetStarted(force=True),
    "AgentDedicated": a.AgentDedicated(agent_run_id="Zm9vYmFyLTIwMjQ", agent_event_id=1_732_521_000_000_007),
    "AgentCoupled": a.AgentCoupled(),
    "AgentCouplingFailed": a.AgentCouplingFailed(problem="java.net.ConnectException: Connection refused"),
    "AgentEventsObserved": a.AgentEventsObserved(until_event_id=1_732_521_599_000_042),
    "AgentDirectorDedicated": a.AgentDedicatedToController(
        agent_path="agent-1",
        controller_id="js7es-prod",
        agent_run_id="Zm9vYmFyLTIwMjQ",
        directors=("subagent-1a", "subagent-1b"),
    ),
    "ItemAttachedToMe": a.ItemAttachedToMe(item=WORKFLOW_JSON),
    "ItemDetachedFromMe": a.ItemDetachedFromMe(key="Workflow:/daily/ProcessInvoices~2024-11-25#1"),
    "ClusterNodesAppointed": c.ClusterNodesAppointed(setting=CLUSTER_SETTING),
    "ClusterCouplingPrepared": c.ClusterCouplingPrepared(active_id="Primary"),
    "ClusterCoupled": c.ClusterCoupled(active_id="Primary"),
    "ClusterPassiveLost": c.ClusterPassiveLost(id="Backup"),
    "ClusterFailedOver": c.ClusterFailedOver(
        failed_active_id="Primary", activated_id="Backup", failed_at=1_732_521_599_000_041
    ),
    "ClusterSwitchedOver": c.ClusterSwitchedOver(activated_id="Backup"),
    "ClusterActiveNodeShutDown": c.ClusterActiveNodeShutDown(),
    "ClusterActiveNodeRestarted": c.ClusterActiveNodeRestarted(),
    # ControlWorkflow's item (added last: the samples' EventIds follow their order)
    "UnsignedItemAdded": UnsignedItemAdded(item=WORKFLOW_CONTROL_JSON),
    "UnsignedItemChanged": UnsignedItemChanged(
        item={**WORKFLOW_CONTROL_JSON, "breakpoints": ((1, "then", 0),), "itemRevision": 1}
    ),
    # GoOrder
    "OrderGoMarked": e.OrderGoMarked(position=(0, "try+1", 0)),
    "OrderGoes": e.OrderGoes(),
    # TransferOrders
    "OrderTransferred": e.OrderTransferred(
        workflow_position=e.WorkflowPosition(
            workflow_id=WorkflowId("/daily/ProcessInvoices", "2024-11-25#2"), position=(2,)
        )
    ),
    # The Director's remote Subagents (issue 16)
    "SubagentDedicated": a.SubagentDedicated(subagent_run_id="c3ViYWdlbnQtcnVu"),
    "SubagentEventsObserved": a.SubagentEventsObserved(until_event_id=1_732_521_599_000_017),
    "SubagentRestarted": a.SubagentRestarted(),
    "SubagentReset": a.SubagentReset(),
}

# The nested records (types.avsc): one instance each, carried inside an OrderAttachedToAgent.
TYPE_SAMPLES: dict[str, Any] = {
    "Attachment": Attachment(kind="Detaching", agent_path="agent-2"),
    "WorkflowId": WORKFLOW_ID,
    "HistoricOutcome": HistoricOutcome(position=(5,), outcome=Caught()),
    "ForkedChild": e.ForkedChild(order_id="a|de", arguments={"country": "de", "index": 2}),  # a ForkList's
    "Order": ORDER,
    "Succeeded": Succeeded(named_values={"x": "y"}),
    "Failed": Failed(error_message="exit 1", named_values={"returnCode": 1}),
    "TimedOut": TimedOut(outcome=Killed(outcome=Failed())),
    "Killed": Killed(outcome=Succeeded()),
    "Disrupted": Disrupted(reason="Other", message="lost"),
    "Caught": Caught(),
    "Cancelling": Cancelling(mode="FreshOnly", kill=True, kill_immediately=True),
    "Suspending": Suspending(kill=True, kill_immediately=True, reset_state=True),
    "Resuming": Resuming(position=(7, "then+2", 1), as_succeeded=True, restart_killed_job=True),
    "Going": Going(position=(0, "try+1", 0)),
    "WorkflowPosition": e.WorkflowPosition(workflow_id=WORKFLOW_ID, position=(1, "lock", 0)),
    "Fresh": s.Fresh(),
    "Ready": s.Ready(),
    "Processing": s.Processing(subagent_id="subagent-2"),
    "Processed": s.Processed(),
    "ProcessingKilled": s.ProcessingKilled(),
    "DelayingRetry": s.DelayingRetry(until_ms=1_732_525_260_000),
    "Forked": s.Forked(children=("a|x", "a|y")),
    "Prompting": s.Prompting(question=("yes", "no", Decimal("0.5"))),
    "Sleeping": s.Sleeping(until_ms=1_732_528_800_000),
    "BetweenCycles": s.BetweenCycles(cycle_state=CYCLE_STATE),
    "ExpectingNotices": s.ExpectingNotices(notice_ids=(("invoices-done", "2024-11-25"),)),
    "WaitingForLock": s.WaitingForLock(),
    "LockDemand": LockDemand(lock_path="print-queue", count=3),
    "CycleState": CycleState(end=1_732_597_200_000, index=0, next=0),
    "FailedState": s.Failed(),
    "FailedInFork": s.FailedInFork(),
    "Finished": s.Finished(),
    "Cancelled": s.Cancelled(),
    "Broken": s.Broken(problem="boom"),
    "StickySubagent": StickySubagent(agent_path="agent-1", subagent_bundle_id="bundle-a", stuck_subagent_id="sub-1b"),
    "Stopped": s.Stopped(),
    "StoppedWhileFresh": s.StoppedWhileFresh(),
    "ExternalOrderKey": ExternalOrderKey(order_watch_path="invoices-watch", name="invoice-4711.csv"),
    "ExternalOrderLink": ExternalOrderLink(order_watch_path="invoices-watch", name="invoice-4711.csv", vanished=True),
    "ClusterSetting": CLUSTER_SETTING,
    "ClusterTiming": CLUSTER_SETTING.timing,
}


def stamped_sample(type_name: str) -> Stamped:
    """The sample of an event class, stamped with its key as the journal writes it."""
    event = EVENT_SAMPLES[type_name]
    event_id = FIRST_EVENT_ID + sorted(EVENT_SAMPLES).index(type_name)
    match event:
        case e.OrderEvent():
            key = "invoices-2024-11-25"
        case a.AgentRefEvent():
            key = "agent-1"  # Controller side: keyed by the agent path
        case n.NoticeEvent():
            key = "invoices-done"  # the board path
        case w.OrderWatchEvent():
            key = "invoices-watch"  # the FileWatch's path
        case _:
            key = NO_KEY  # item events; the Agent's own events
    # One sample's timestamp differs from eventId/1000, so that the JSON "timestamp" field is covered.
    timestamp = event_id // 1000 + (1500 if type_name == "OrderMoved" else 0)
    return Stamped(event_id, timestamp, key, event)
