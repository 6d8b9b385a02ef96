"""Which inventory objects are deployed to which Controller, at which path: `deployed_objects`, a projection
of the Cockpit store's inventory events.

JS7 Controllers know objects by name only; the folder is the Cockpit's (JOC's) knowledge. So the read
queries (queries/common.py) take a workflow's JOC path from here: a row per (controller_id, object_type,
name) with the path and folder of the version deployed there —

- InventoryObjectDeployed (a deployment concluded successfully at a Controller) → the row, with the path
  the object had in that deployment (a later rename of the draft moves nothing until it is deployed again);
- InventoryObjectRevoked (deleted from the Controller by a revoke) → no row.

Decision: a projector of its own (tracking key ``deployed_objects``), not more rows of the audit
projector. It is exactly-once in the same way (its rows and its position in one transaction, tracked.py)
and runs in the same follower thread, but it can be rebuilt alone (`rebuild`: delete the rows, replay the
store from notification 0, in one transaction, so that readers never see it half done) without touching
the audit log, whose row ids and JOC-visible history must stay as they are.

Every column comes from the events (the deployment's own `at_ms`, the store's notification id), so a
replay from notification 0 gives the very same rows.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.tracked import TrackedProjector

FOLLOWER = "deployed_objects"
D = schema.deployed_objects


def folder_of(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


class DeployedObjectsProjector(TrackedProjector):
    follower = FOLLOWER

    def _project(self, connection: Connection, record: ev.CockpitRecord) -> None:
        event = record.event
        if not isinstance(event, ev.InventoryObjectDeployed | ev.InventoryObjectRevoked):
            return
        kind, name = keys.split(record.key)
        if kind != keys.INVENTORY:
            return
        object_type, _, object_name = name.partition(":")
        key = (D.c.controller_id == event.controller_id, D.c.object_type == object_type, D.c.name == object_name)
        connection.execute(D.delete().where(*key))
        if isinstance(event, ev.InventoryObjectDeployed):
            path = event.path if event.path.startswith("/") else "/" + event.path
            connection.execute(
                D.insert().values(
                    controller_id=event.controller_id,
                    object_type=object_type,
                    name=object_name,
                    path=path,
                    folder=folder_of(path),
                    commit_id=event.commit_id,
                    deployed_at=event.at_ms,
                    store_notification_id=record.notification_id,
                )
            )

    def rebuild(self) -> int:
        """Replays the store from notification 0 into an emptied table, in one transaction; returns how many
        notifications were read."""
        self._ensure_tracking()
        total = 0
        with self.engine.begin() as connection:
            connection.execute(self._tracked().with_for_update())
            connection.execute(D.delete())
            position = 0
            while True:
                records = self.store.notifications(position, self.batch_size)
                for record in records:
                    self._project(connection, record)
                total += len(records)
                if records:
                    position = records[-1].notification_id
                if len(records) < self.batch_size:
                    break
            self._store_position(connection, position)
        return total
