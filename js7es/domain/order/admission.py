"""A job's admission times, as they bear on one order (JS7's ExecuteExecutor and AdmissionTimeSwitch).

- An order whose id carries a daily-plan day (`#YYYY-MM-DD#…`) skips a job marked
  `skipIfNoAdmissionStartForOrderDay` when no period of the job's scheme starts on that day, local
  time in the workflow's `timeZone`: it moves on with `OrderMoved(reason=NoAdmissionPeriodStart)`. An
  order without such a day never skips (JS7: `orderIdToDate` gives None, so no skip).
- Otherwise the Agent starts the order's process only while a period admits it; before, it stays
  Ready at the Execute position, and the Agent's timer wakes it at the next period's start (JS7:
  `WaitingForAdmission(next start)`, found within `js7.findTimeIntervalLimit` = 1096 days).
- An order added with `forceAdmission` (AddOrder's `forceJobAdmission`) ignores both.
JS7 uses no date offset for jobs (`ExecuteExecutor.noDateOffset`): neither does js7es.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from js7es.domain.order.order import Order
from js7es.domain.time.admission import find_interval, has_admission_start_on_day, order_id_to_day
from js7es.domain.workflow.job import WorkflowJob
from js7es.domain.workflow.workflow import Workflow

NO_ADMISSION_PERIOD_START = "NoAdmissionPeriodStart"  # OrderMoved's reason (JS7's OrderMoved.NoAdmissionPeriodStart)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    """The workflow's zone; UTC for a name this machine does not know (a workflow committed before
    js7es checked `timeZone` at deployment)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def skips_job(workflow: Workflow, job: WorkflowJob, order: Order) -> bool:
    scheme = job.admission_time_scheme
    if order.force_admission or not job.skip_if_no_admission_start_for_order_day or scheme is None:
        return False
    day = order_id_to_day(order.id)
    return day is not None and not has_admission_start_on_day(scheme, day)


def admission_start(workflow: Workflow, job: WorkflowJob, order: Order, now_ms: int) -> int | None:
    """When the job may start the order: `now_ms` when it may now, else the next period's start;
    None when no period starts within JS7's limit (the order waits until a new scheme is deployed)."""
    scheme = job.admission_time_scheme
    if scheme is None or order.force_admission:
        return now_ms
    interval = find_interval(scheme, now_ms, _zone(workflow.time_zone))
    if interval is None:
        return None
    return max(now_ms, interval.start_ms)
