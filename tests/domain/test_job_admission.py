"""A job's admission times as they bear on an order: skipping (decided wherever the order is) and when
the Agent may start it (JS7's ExecuteExecutor, AdmissionTimeSwitch)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from js7es.domain.order.admission import admission_start, skips_job
from js7es.domain.order.events import OrderMoved
from js7es.domain.order.order import Order
from js7es.domain.workflow.parse import parse_workflow
from js7es.domain.workflow.workflow import Workflow, WorkflowId
from tests.domain.simulator import Simulator

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY_10_TO_11 = {"periods": [{"TYPE": "WeekdayPeriod", "secondOfWeek": 86400 + 10 * 3600, "duration": 3600}]}


def workflow_json(**job: Any) -> dict[str, Any]:
    return {
        "TYPE": "Workflow",
        "path": "W",
        "timeZone": "Europe/Berlin",
        "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
        "jobs": {
            "J": {
                "agentPath": "AGENT",
                "executable": {"TYPE": "ShellScriptExecutable", "script": "true"},
                "admissionTimeScheme": TUESDAY_10_TO_11,
                **job,
            }
        },
    }


def parsed(**job: Any) -> Workflow:
    workflow = parse_workflow({**workflow_json(**job), "versionId": "1"})
    assert isinstance(workflow, Workflow)
    return workflow


def berlin_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=BERLIN).timestamp() * 1000)


def order(order_id: str, *, force: bool = False) -> Order:
    return Order(id=order_id, workflow_id=WorkflowId("W", "1"), position=(0,), force_admission=force)


def test_admission_start_before_inside_after_and_forced() -> None:
    workflow = parsed()
    job = workflow.jobs["J"]
    o = order("x")
    monday = berlin_ms("2025-06-02T12:00")
    assert admission_start(workflow, job, o, monday) == berlin_ms("2025-06-03T10:00")
    inside = berlin_ms("2025-06-03T10:30")
    assert admission_start(workflow, job, o, inside) == inside
    after = berlin_ms("2025-06-03T11:00")  # the end is exclusive: the next Tuesday
    assert admission_start(workflow, job, o, after) == berlin_ms("2025-06-10T10:00")
    assert admission_start(workflow, job, order("x", force=True), monday) == monday
    never = parsed(admissionTimeScheme={"periods": []})
    assert admission_start(never, never.jobs["J"], o, monday) is None


def test_skips_only_with_the_flag_a_daily_plan_day_without_start_and_no_force() -> None:
    skipping = parsed(skipIfNoAdmissionStartForOrderDay=True)
    job = skipping.jobs["J"]
    assert skips_job(skipping, job, order("#2025-06-02#P1-x"))  # a Monday
    assert not skips_job(skipping, job, order("#2025-06-03#P1-x"))  # a Tuesday
    assert not skips_job(skipping, job, order("#2025-06-02#P1-x", force=True))
    assert not skips_job(skipping, job, order("adhoc-order"))  # no day: JS7 does not skip
    plain = parsed()
    assert not skips_job(plain, plain.jobs["J"], order("#2025-06-02#P1-x"))


def test_a_skipped_job_moves_the_order_on_with_js7s_reason() -> None:
    sim = Simulator()
    sim.deploy(workflow_json(skipIfNoAdmissionStartForOrderDay=True))
    sim.add_order("#2025-06-02#P1-monday", "W")
    sim.add_order("#2025-06-02#P2-forced", "W", force_admission=True)
    sim.run()
    assert sim.events_of("#2025-06-02#P1-monday") == [
        "OrderAdded",
        "OrderAttachable",
        "OrderAttached",
        "OrderStarted",
        "OrderMoved",  # on the Agent, as JS7 starts a Fresh order where it is
        "OrderDetachable",
        "OrderDetached",
        "OrderFinished",
    ]
    moved = [e for e in sim.typed_events_of("#2025-06-02#P1-monday") if isinstance(e, OrderMoved)]
    assert moved == [OrderMoved(to=(1,), reason="NoAdmissionPeriodStart")]
    assert "OrderProcessingStarted" in sim.events_of("#2025-06-02#P2-forced")
