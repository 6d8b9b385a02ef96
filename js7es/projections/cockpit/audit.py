"""The audit log is a projection of the Cockpit store's events (ARCHITECTURE §7).

`AuditProjector(store, engine).catch_up()` reads the store's notifications after the position tracked in
`store_tracking` and writes, in ONE transaction per batch with the new position:

- a row of `audit_log` per IAM or settings change (category IDENTITY or SETTINGS; password hashes left
  out of the parameters), with the ChangeMeta's account, request, comment, time spent and ticket link;
- a row per Controller command (its category, parameters and controller), outcome ``Pending``, which
  ControllerCommandAnswered turns into ``Accepted`` or ``Refused: <code>: <message>`` and
  ControllerCommandOutcomeUnknown into ``Unknown``;
- a row of `login_history` per login attempt.

Exactly once (tracked.py): a crash leaves the old rows with the old position or the new rows with the new
one (the unique `store_notification_id` would refuse a repetition anyway).

`AuditFollower` runs it in a thread, together with the deployed objects' projector (deployed.py), which
tracks its own position.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.value import dumps, value_to_json
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.tracked import StoreFollower, TrackedProjector

FOLLOWER = "audit"
PENDING = "Pending"
ACCEPTED = "Accepted"
UNKNOWN = "Unknown"
CATEGORIES = {
    keys.ACCOUNT: "IDENTITY",
    keys.ROLE: "IDENTITY",
    keys.IDENTITY_SERVICE: "IDENTITY",
    keys.SETTINGS: "SETTINGS",
    keys.INVENTORY: "INVENTORY",
    keys.FOLDER: "INVENTORY",
    keys.DEPLOYMENT: "DEPLOYMENT",
    keys.CONTROLLER: "CONTROLLER",
    keys.DAILY_PLAN: "DAILYPLAN",
}
SYSTEM_ACCOUNT = "js7es"  # the account of the Cockpit's own changes (the daily plan service, recovery)
_SECRET_FIELDS = ("passwordHash",)


class AuditProjector(TrackedProjector):
    follower = FOLLOWER

    def _project(self, connection: Connection, record: ev.CockpitRecord) -> None:
        kind, name = keys.split(record.key)
        event, meta = record.event, record.meta
        match event:
            case ev.LoginSucceeded() | ev.LoginFailed():
                connection.execute(
                    schema.login_history.insert().values(
                        account=event.account,
                        address=event.address,
                        succeeded=isinstance(event, ev.LoginSucceeded),
                        reason=event.reason if isinstance(event, ev.LoginFailed) else None,
                        identity_service=event.identity_service if isinstance(event, ev.LoginSucceeded) else None,
                        created_at=meta.at_ms,
                        store_notification_id=record.notification_id,
                    )
                )
            case ev.ControllerCommandRequested():
                self._insert_audit(
                    connection,
                    record,
                    controller_id=event.controller_id,
                    category=event.category,
                    parameters=dumps(value_to_json(event.parameters)),
                    request_id=name,
                    outcome=PENDING,
                )
            case ev.ControllerCommandAnswered():
                self._set_outcome(connection, name, ACCEPTED if event.accepted else _refused(event.problem))
            case ev.ControllerCommandOutcomeUnknown():
                self._set_outcome(connection, name, UNKNOWN)
            case ev.DailyPlanEvent() if meta.account == SYSTEM_ACCOUNT:
                pass  # the daily plan service's own work: JOC audits what persons do to the plan
            case ev.DailyPlanEvent():
                self._insert_audit(
                    connection,
                    record,
                    controller_id=meta.controller_id,
                    category=CATEGORIES[keys.DAILY_PLAN],
                    parameters=_daily_plan_parameters(record),
                    request_id=None,
                    outcome=None,
                )
            case _:
                self._insert_audit(
                    connection,
                    record,
                    controller_id=meta.controller_id,
                    category=CATEGORIES.get(kind),
                    parameters=_parameters(record),
                    request_id=None,
                    outcome=None,
                )

    @staticmethod
    def _insert_audit(connection: Connection, record: ev.CockpitRecord, **values: Any) -> None:
        meta = record.meta
        connection.execute(
            schema.audit_log.insert().values(
                account=meta.account,
                request=meta.request,
                comment=meta.comment,
                ticket_link=meta.ticket_link,
                time_spent_s=meta.time_spent_s,
                created_at=meta.at_ms,
                store_notification_id=record.notification_id,
                **values,
            )
        )

    @staticmethod
    def _set_outcome(connection: Connection, request_id: str, outcome: str) -> None:
        table = schema.audit_log
        connection.execute(table.update().where(table.c.request_id == request_id).values(outcome=outcome))


def _parameters(record: ev.CockpitRecord) -> str:
    """What changed, as JSON: the key and the event, without secrets."""
    event_json = ev.event_to_json(record.event)
    for name in _SECRET_FIELDS:
        event_json.pop(name, None)
    return dumps({"Key": record.key, **event_json})


def _daily_plan_parameters(record: ev.CockpitRecord) -> str:
    """The key, the TYPE and the order ids (not the orders' whole JSON)."""
    event = record.event
    if isinstance(event, ev.DailyPlanOrdersPlanned):
        order_ids = [o.order_id for o in event.orders]
    else:
        order_ids = list(getattr(event, "order_ids", ()))
    return dumps({"Key": record.key, "TYPE": type(event).__name__, "orderIds": order_ids})


def _refused(problem: Any) -> str:
    if not problem:
        return "Refused"
    code, message = problem.get("code"), problem.get("message")
    text = ": ".join(str(p) for p in (code, message) if p) or dumps(value_to_json(problem))
    return f"Refused: {text}"


class AuditFollower(StoreFollower):
    """Keeps the audit log (and the other projectors given) up to date in a daemon thread until `stop()`."""
