"""JOC's order states: js7es/JS7 state names (orders.state, is_suspended, scheduled_for) → JOC's
grouped state text and severity, in Python for one order and in SQL for filters and counts.

Ported from JOC (sos-components, sos-webservices-joc-global/.../classes/order/OrdersHelper.java):
`groupByStates` (state name → OrderStateText), `severityByGroupedStates`, `getState(state,
isSuspended)` (SUSPENDED wins unless FINISHED/CANCELLED) and `mapJOrderToOrderV` (a Fresh order whose
scheduledFor has passed is BLOCKED; one scheduled for never, JobSchedulerDate.NEVER_MILLIS, is
PENDING). History severities from HistorySeverity.map2DbSeverity and HistoryMapper.getState.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from js7es.projections.cockpit import schema
from js7es.projections.cockpit.queries.common import NEVER_MS

# OrdersHelper.groupByStates (JS7 state names; the js7es states are a subset)
GROUPED_STATE: Mapping[str, str] = {
    "Planned": "PLANNED",
    "Fresh": "SCHEDULED",
    "Pending": "PENDING",
    "DelayedAfterError": "WAITING",
    "DelayingRetry": "WAITING",
    "Forked": "WAITING",
    "ExpectingNotice": "WAITING",
    "ExpectingNotices": "WAITING",
    "WaitingForLock": "WAITING",
    "WaitingForAdmission": "WAITING",
    "BetweenCycles": "WAITING",
    "Ready": "WAITING",
    "Sleeping": "WAITING",
    "Broken": "FAILED",
    "Failed": "FAILED",
    "FailedInFork": "FAILED",
    "FailedWhileFresh": "FAILED",
    "Stopped": "FAILED",
    "StoppedWhileFresh": "FAILED",
    "Processed": "INPROGRESS",
    "Processing": "RUNNING",
    "Suspended": "SUSPENDED",
    "Finished": "FINISHED",
    "Cancelled": "CANCELLED",
    "ProcessingKilled": "FAILED",
    "Blocked": "BLOCKED",
    "Prompting": "PROMPTING",
}

# OrdersHelper.severityByGroupedStates
SEVERITY: Mapping[str, int] = {
    "PLANNED": 4,
    "PENDING": 10,
    "SCHEDULED": 1,
    "WAITING": 8,
    "FAILED": 2,
    "SUSPENDED": 5,
    "CANCELLED": 2,
    "BROKEN": 2,
    "RUNNING": 0,
    "INPROGRESS": 3,
    "FINISHED": 6,
    "BLOCKED": 7,
    "PROMPTING": 12,
    "UNKNOWN": 2,
}

# order/orderStateText-schema.json
STATE_TEXTS = tuple(SEVERITY)


def order_state_text(state: str, is_suspended: bool, scheduled_for: int | None, now_ms: int) -> str:
    grouped = GROUPED_STATE.get(state, "UNKNOWN")
    if state == "Fresh" and scheduled_for is not None:
        if scheduled_for < now_ms:
            grouped = "BLOCKED"
        elif scheduled_for == NEVER_MS:
            grouped = "PENDING"
    if is_suspended and grouped not in ("CANCELLED", "FINISHED"):
        return "SUSPENDED"
    return grouped


def order_state(state: str, is_suspended: bool, scheduled_for: int | None, now_ms: int) -> dict[str, object]:
    """order/orderState-schema.json: {"severity", "_text"}."""
    text = order_state_text(state, is_suspended, scheduled_for, now_ms)
    return {"severity": SEVERITY[text], "_text": text}


def _names_of(text: str) -> list[str]:
    return sorted(name for name, grouped in GROUPED_STATE.items() if grouped == text)


def state_predicate(text: str, now_ms: int, table: sa.Table = schema.orders) -> ColumnElement[bool]:
    """SQL for "the order's JOC state is `text`", the same rule as `order_state_text`."""
    c = table.c
    terminated = c.state.in_(["Finished", "Cancelled"])
    suspended = sa.and_(c.is_suspended, sa.not_(terminated))
    not_suspended = sa.not_(suspended)
    fresh = c.state == "Fresh"
    blocked = sa.and_(fresh, c.scheduled_for.is_not(None), c.scheduled_for < now_ms)
    pending = sa.and_(fresh, c.scheduled_for.is_not(None), c.scheduled_for == NEVER_MS, c.scheduled_for >= now_ms)
    match text:
        case "SUSPENDED":
            return suspended
        case "BLOCKED":
            return sa.and_(not_suspended, blocked)
        case "PENDING":
            return sa.and_(not_suspended, pending)
        case "SCHEDULED":
            return sa.and_(not_suspended, fresh, sa.not_(sa.or_(blocked, pending)))
        case "UNKNOWN":
            return sa.and_(not_suspended, c.state.not_in(list(GROUPED_STATE)))
    names = [n for n in _names_of(text) if n not in ("Fresh", "Suspended", "Blocked", "Pending")]
    if not names:
        return sa.false()
    return sa.and_(not_suspended, c.state.in_(names)) if text not in ("FINISHED", "CANCELLED") else c.state.in_(names)


def states_predicate(texts: Iterable[str], now_ms: int, table: sa.Table = schema.orders) -> ColumnElement[bool]:
    return sa.or_(*(state_predicate(t, now_ms, table) for t in sorted(set(texts))))


def state_text_case(now_ms: int, table: sa.Table = schema.orders) -> ColumnElement[str]:
    """The JOC state text as one SQL expression (for GROUP BY counts)."""
    return sa.case(*((state_predicate(t, now_ms, table), t) for t in STATE_TEXTS), else_="UNKNOWN")


# -- history --------------------------------------------------------------------------------------------

# order_history.state (js7es) → JOC's OrderStateText of the history row (HistoryModel)
HISTORY_ORDER_STATE: Mapping[str, str] = {
    "Pending": "PENDING",
    "Running": "RUNNING",
    "Finished": "FINISHED",
    "Failed": "FAILED",
    "Cancelled": "CANCELLED",
    "Broken": "BROKEN",
}

# HistorySeverity.map2DbSeverity: FINISHED → SUCCESSFUL; BROKEN, CANCELLED, FAILED, UNKNOWN → FAILED;
# the rest INCOMPLETE. HistoryMapper.getState gives the severity of FINISHED / INPROGRESS / FAILED.
HISTORY_SEVERITY: Mapping[str, int] = {"SUCCESSFUL": 6, "INCOMPLETE": 3, "FAILED": 2}


def history_state_text(order_state_text_: str) -> str:
    if order_state_text_ == "FINISHED":
        return "SUCCESSFUL"
    if order_state_text_ in ("BROKEN", "CANCELLED", "FAILED", "UNKNOWN"):
        return "FAILED"
    return "INCOMPLETE"


def history_state(text: str) -> dict[str, object]:
    """common/historyState-schema.json"""
    return {"severity": HISTORY_SEVERITY[text], "_text": text}


def history_order_state(run_state: str) -> dict[str, object]:
    """order/orderState-schema.json of a history row (OrdersHelper.getHistoryState)."""
    text = HISTORY_ORDER_STATE.get(run_state, "UNKNOWN")
    return {"severity": SEVERITY[text], "_text": text}


def run_states_of(history_states: Iterable[str]) -> list[str]:
    """order_history.state values for JOC's historyStates filter."""
    wanted = set(history_states)
    return sorted(s for s, text in HISTORY_ORDER_STATE.items() if history_state_text(text) in wanted)


# order_steps.outcome (None while running) → history state text of a task (HistoryModel: a step that
# succeeded is SUCCESSFUL, a running one INCOMPLETE, any other outcome FAILED)
def step_history_text(outcome: str | None) -> str:
    if outcome is None:
        return "INCOMPLETE"
    return "SUCCESSFUL" if outcome == "Succeeded" else "FAILED"


def step_outcomes_of(history_states: Iterable[str]) -> tuple[list[str], bool, bool]:
    """(failed-outcome filter, succeeded wanted, running wanted) for the tasks' historyStates filter."""
    wanted = set(history_states)
    return (
        ["Failed", "Killed", "TimedOut", "Disrupted"] if "FAILED" in wanted else [],
        "SUCCESSFUL" in wanted,
        "INCOMPLETE" in wanted,
    )
