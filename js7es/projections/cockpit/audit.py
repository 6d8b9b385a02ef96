"""The audit log is a projection of the Cockpit store's events (ARCHITECTURE §7).

`AuditProjector(store, engine).catch_up()` reads the store's notifications after the position tracked in
`store_tracking` and writes, in ONE transaction per batch with the new position:

- a row of `audit_log` per IAM or settings change (category IDENTITY or SETTINGS; password hashes left
  out of the parameters), with the ChangeMeta's account, request, comment, time spent and ticket link;
- a row per Controller command (its category, parameters and controller), outcome ``Pending``, which
  ControllerCommandAnswered turns into ``Accepted`` or ``Refused: <code>: <message>`` and
  ControllerCommandOutcomeUnknown into ``Unknown``;
- a row of `login_history` per login attempt.

A crash anywhere leaves the old rows with the old position or the new rows with the new one, so a
projector that starts again neither loses nor repeats a row (the unique `store_notification_id` would
refuse a repetition anyway). Several projectors on one database take turns on the tracking row's lock.

`AuditFollower` runs a projector in a thread: it catches up, then waits for the store's next
notification (at once for appends through the same store handle, by polling for other writers').
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.value import dumps, value_to_json
from js7es.journal.cockpit.store import CockpitStore
from js7es.projections.cockpit import schema

log = logging.getLogger(__name__)

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
}
_SECRET_FIELDS = ("passwordHash",)


class AuditProjector:
    def __init__(self, store: CockpitStore, engine: Engine, *, batch_size: int = 200, follower: str = FOLLOWER) -> None:
        self.store = store
        self.engine = engine
        self.batch_size = batch_size
        self.follower = follower
        self._tracking_ready = False

    def position(self) -> int:
        """The last store notification id whose rows are committed."""
        with self.engine.connect() as connection:
            value = connection.execute(self._tracked()).scalar()
        return int(value or 0)

    def catch_up(self) -> int:
        """Projects every notification after the tracked position, batch by batch; returns how many."""
        total = 0
        while True:
            done = self.project_batch()
            total += done
            if done < self.batch_size:
                return total

    def project_batch(self) -> int:
        """One batch in one transaction: rows and the new position, or nothing."""
        self._ensure_tracking()
        with self.engine.begin() as connection:
            # The row lock keeps a second projector (another Cockpit) out until this batch is committed.
            position = int(connection.execute(self._tracked().with_for_update()).scalar() or 0)
            records = self.store.notifications(position, self.batch_size)
            for record in records:
                self._project(connection, record)
            if records:
                self._store_position(connection, records[-1].notification_id)
        return len(records)

    def _tracked(self) -> sa.Select[Any]:
        table = schema.store_tracking
        return sa.select(table.c.notification_id).where(table.c.follower == self.follower)

    def _store_position(self, connection: Connection, notification_id: int) -> None:
        table = schema.store_tracking
        connection.execute(
            table.update().where(table.c.follower == self.follower).values(notification_id=notification_id)
        )

    def _ensure_tracking(self) -> None:
        if self._tracking_ready:
            return
        try:
            with self.engine.begin() as connection:
                if connection.execute(self._tracked()).first() is None:
                    connection.execute(schema.store_tracking.insert().values(follower=self.follower, notification_id=0))
        except IntegrityError:
            pass  # another projector inserted it meanwhile
        self._tracking_ready = True

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


def _refused(problem: Any) -> str:
    if not problem:
        return "Refused"
    code, message = problem.get("code"), problem.get("message")
    text = ": ".join(str(p) for p in (code, message) if p) or dumps(value_to_json(problem))
    return f"Refused: {text}"


class AuditFollower:
    """Keeps the audit log up to date in a daemon thread until `stop()`."""

    def __init__(self, projector: AuditProjector, *, idle_wait_s: float = 5.0) -> None:
        self.projector = projector
        self.idle_wait_s = idle_wait_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-follower", daemon=True)

    def start(self) -> AuditFollower:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        position = self.projector.position()
        while not self._stopping.is_set():
            try:
                self.projector.catch_up()
                position = self.projector.position()
            except Exception:  # the database may be away for a while: try again later
                log.exception("audit projection failed; retrying")
                self._stopping.wait(self.idle_wait_s)
                continue
            # Short waits, so that stop() is prompt; the store wakes it at once on a local append.
            while not self._stopping.is_set() and not self.projector.store.wait(position, min(self.idle_wait_s, 0.5)):
                pass
