"""Several Cockpits on one PostgreSQL database: one active, the others standby (JOC's passive cluster).

Activity is a lease row per cluster id (table joc_cluster_lease, migration 0009): the active member's id,
its URI, a generation and an expiry on the database's clock. A member takes the lease when it is
released or expired (or still names this member id: a restarted member), with the generation + 1; the
active renews it every `renew_s`; a clean stop releases it, so that a standby (looking every `poll_s`)
takes over at once. After a kill -9 the standby takes over when the lease has expired: within
`lease_s` + `poll_s` of the last renewal.

Fencing (journal/cockpit/fence.py): every write transaction of the active (projection batches, the audit
and daily-plan projections, the Cockpit store's appends: audit entries, daily-plan submissions, every
API change) runs ``joc_cluster_fence(cluster, generation)`` first, which share-locks the lease row while
the generation is still ours and makes the database refuse the transaction otherwise. A member whose
write was refused, or whose renewal found the lease taken, steps down at once (its services stop); so
does one that could not renew for most of a lease (its database is away).

SQLite stays single-instance: without [cluster] a Cockpit is always active, with no lease (server.py).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from js7es.journal.cockpit.fence import Fence

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSettings:
    cluster_id: str
    member_id: str
    uri: str = ""  # how others reach this member's API (shown to clients of a standby)
    lease_s: float = 4.0  # a lease not renewed this long is free (takeover after kill -9: bench/README.md)
    renew_s: float = 1.0  # the active renews this often
    poll_s: float = 0.5  # a standby looks this often


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    uri: str
    started_at: datetime
    heartbeat_at: datetime
    active: bool  # holds the lease, not expired


@dataclass(frozen=True, slots=True)
class LeaseRow:
    holder: str  # "" = released
    holder_uri: str
    generation: int
    expired: bool


# Taken when released (handed over to nobody, or to this member), expired, or still ours (a restart of this
# member: the old incarnation is fenced).
_ACQUIRE = sa.text(
    """
    INSERT INTO joc_cluster_lease AS l (cluster_id, holder, holder_uri, generation, expires_at)
    VALUES (:cluster, :member, :uri, 1, clock_timestamp() + make_interval(secs => :lease))
    ON CONFLICT (cluster_id) DO UPDATE
        SET holder = EXCLUDED.holder, holder_uri = EXCLUDED.holder_uri, generation = l.generation + 1,
            expires_at = clock_timestamp() + make_interval(secs => :lease), switch_to = ''
        WHERE (l.holder = '' AND l.switch_to IN ('', EXCLUDED.holder)) OR l.holder = EXCLUDED.holder
            OR l.expires_at < clock_timestamp()
    RETURNING generation
    """
)
_RENEW = sa.text(
    """
    UPDATE joc_cluster_lease SET expires_at = clock_timestamp() + make_interval(secs => :lease)
    WHERE cluster_id = :cluster AND holder = :member AND generation = :generation
    """
)
_RELEASE = sa.text(
    """
    UPDATE joc_cluster_lease SET holder = '', holder_uri = '', expires_at = clock_timestamp(), switch_to = ''
    WHERE cluster_id = :cluster AND holder = :member AND generation = :generation
    """
)
# A switch-over (JOC's SWITCH_MEMBER_ID): released to `target` alone until the lease would have expired.
_HAND_OVER = sa.text(
    """
    UPDATE joc_cluster_lease SET holder = '', holder_uri = '', switch_to = :target,
        expires_at = clock_timestamp() + make_interval(secs => :lease)
    WHERE cluster_id = :cluster AND holder = :member AND generation = :generation
    """
)
_READ = sa.text(
    """
    SELECT holder, holder_uri, generation, expires_at < clock_timestamp() FROM joc_cluster_lease
    WHERE cluster_id = :cluster
    """
)
_HEARTBEAT = sa.text(
    """
    INSERT INTO joc_cluster_members AS m (cluster_id, member_id, uri, started_at, heartbeat_at)
    VALUES (:cluster, :member, :uri, :started_at, clock_timestamp())
    ON CONFLICT (cluster_id, member_id) DO UPDATE
        SET uri = EXCLUDED.uri, started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at
    """
)
_MEMBERS = sa.text(
    """
    SELECT m.member_id, m.uri, m.started_at, m.heartbeat_at,
           coalesce(l.holder = m.member_id AND l.expires_at >= clock_timestamp(), false)
    FROM joc_cluster_members m LEFT JOIN joc_cluster_lease l ON l.cluster_id = m.cluster_id
    WHERE m.cluster_id = :cluster ORDER BY m.member_id
    """
)
_NEW_SECRET = sa.text(
    "INSERT INTO joc_cluster_secrets (cluster_id, secret) VALUES (:cluster, :secret) ON CONFLICT DO NOTHING"
)
_SECRET = sa.text("SELECT secret FROM joc_cluster_secrets WHERE cluster_id = :cluster")
LOCK_TIMEOUT_MS = 2000  # a lease statement waits this long for the writes in flight (their share locks)


class LeaseClient:
    """The lease statements of one member, each in a transaction of its own on `engine` (PostgreSQL)."""

    def __init__(self, engine: Engine, settings: ClusterSettings) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("a Cockpit cluster needs PostgreSQL: SQLite is single-instance")
        self.engine = engine
        self.settings = settings

    def acquire(self) -> int | None:
        """The new generation when this member took the lease, else None."""
        s = self.settings
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}")
            value = connection.execute(
                _ACQUIRE, {"cluster": s.cluster_id, "member": s.member_id, "uri": s.uri, "lease": s.lease_s}
            ).scalar()
        return None if value is None else int(value)

    def renew(self, generation: int) -> bool:
        """False when the lease is no longer ours (another member took it over)."""
        s = self.settings
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}")
            count = connection.execute(
                _RENEW, {"cluster": s.cluster_id, "member": s.member_id, "generation": generation, "lease": s.lease_s}
            ).rowcount
        return count == 1

    def release(self, generation: int) -> bool:
        s = self.settings
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}")
            count = connection.execute(
                _RELEASE, {"cluster": s.cluster_id, "member": s.member_id, "generation": generation}
            ).rowcount
        return count == 1

    def hand_over(self, generation: int, target: str) -> bool:
        s = self.settings
        with self.engine.begin() as connection:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}")
            count = connection.execute(
                _HAND_OVER,
                {
                    "cluster": s.cluster_id,
                    "member": s.member_id,
                    "generation": generation,
                    "target": target,
                    "lease": s.lease_s,
                },
            ).rowcount
        return count == 1

    def secret(self) -> bytes:
        """The cluster's key for vouching between members (created by the first member that asks)."""
        with self.engine.begin() as connection:
            connection.execute(_NEW_SECRET, {"cluster": self.settings.cluster_id, "secret": secrets.token_hex(32)})
            value = connection.execute(_SECRET, {"cluster": self.settings.cluster_id}).scalar_one()
        return bytes.fromhex(str(value))

    def heartbeat(self, started_at: datetime) -> None:
        """This member's row in joc_cluster_members (its URI, start and last sign of life)."""
        s = self.settings
        with self.engine.begin() as connection:
            connection.execute(
                _HEARTBEAT, {"cluster": s.cluster_id, "member": s.member_id, "uri": s.uri, "started_at": started_at}
            )

    def members(self) -> list[Member]:
        with self.engine.connect() as connection:
            rows = connection.execute(_MEMBERS, {"cluster": self.settings.cluster_id}).all()
        return [Member(str(r[0]), str(r[1]), r[2], r[3], bool(r[4])) for r in rows]

    def read(self) -> LeaseRow | None:
        with self.engine.connect() as connection:
            row = connection.execute(_READ, {"cluster": self.settings.cluster_id}).one_or_none()
        return None if row is None else LeaseRow(str(row[0]), str(row[1]), int(row[2]), bool(row[3]))


class ClusterActivity:
    """Runs the lease of one member in a thread of its own: takes it over when free, renews it while
    active, steps down when it is lost or a write was fenced. `on_active(generation)` and `on_standby()`
    are called from that thread (the Cockpit passes them to its event loop); `fence` follows along."""

    def __init__(
        self,
        lease: LeaseClient,
        fence: Fence,
        *,
        on_active: Callable[[int], None],
        on_standby: Callable[[], None],
    ) -> None:
        self.lease = lease
        self.fence = fence
        self.settings = lease.settings
        self._on_active = on_active
        self._on_standby = on_standby
        self._generation: int | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cockpit-cluster", daemon=True)
        self.started_at = datetime.now(UTC)
        # monotonic time just before the statement that last took or renewed the lease (the hosted
        # Cluster Watch answers only while that is younger than the lease: see held_for)
        self._renewed_at: float | None = None
        fence.on_fenced(self._fenced)

    @property
    def generation(self) -> int | None:
        return self._generation

    @property
    def active(self) -> bool:
        return self._generation is not None

    def held_for(self) -> float:
        """Seconds the lease is surely still ours by this process's clock (0 when not active): from just
        before its last renewal, minus a quarter for clock drift. A member paused past its lease
        (SIGSTOP) sees 0 at once when it continues, before its lease thread notices."""
        renewed_at = self._renewed_at
        if self._generation is None or renewed_at is None:
            return 0.0
        return max(0.0, renewed_at + self.settings.lease_s * 0.75 - time.monotonic())

    def start(self) -> ClusterActivity:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops the lease thread; the caller stops its services first, then `release`s."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def release(self) -> None:
        generation = self._generation
        if generation is None:
            return
        self._generation = None
        self.fence.deactivate()
        try:
            if self.lease.release(generation):
                log.info("Cockpit cluster %r: released the lease (generation %d)", self.settings.cluster_id, generation)
        except sa.exc.SQLAlchemyError as e:
            log.warning("Cockpit cluster %r: could not release the lease: %s", self.settings.cluster_id, e)

    def switch_to(self, target: str) -> bool:
        """Hands the lease to the member `target` (/joc/cluster/switch_member): this member steps down
        (its services stop, its writes are refused from now on), then releases the lease to `target`
        alone, which takes it at its next look. False when this member was not active."""
        generation = self._generation
        if generation is None:
            return False
        self._step_down(generation)
        try:
            handed = self.lease.hand_over(generation, target)
        except sa.exc.SQLAlchemyError as e:
            log.warning("Cockpit cluster %r: could not hand the lease over: %s", self.settings.cluster_id, e)
            handed = False
        if handed:
            self.fence.active_member, self.fence.active_uri = "", ""
            log.warning("Cockpit cluster %r: handed the lease over to %r", self.settings.cluster_id, target)
        self._wake.set()
        return handed

    def _fenced(self, generation: int) -> None:
        log.warning(
            "Cockpit cluster %r: a write of generation %d was fenced: stepping down",
            self.settings.cluster_id,
            generation,
        )
        self._step_down(generation)
        self._wake.set()

    def _step_down(self, generation: int | None) -> None:
        if generation is None or self._generation != generation:
            return
        self._generation = None
        self.fence.deactivate()
        self._on_standby()

    def _run(self) -> None:
        s = self.settings
        last_renewal = time.monotonic()
        while not self._stop.is_set():
            generation = self._generation
            try:
                self.lease.heartbeat(self.started_at)
                attempt = time.monotonic()
                if generation is None:
                    taken = self.lease.acquire()
                    if taken is not None and not self._stop.is_set():
                        log.warning(
                            "Cockpit cluster %r: %r is active (generation %d)", s.cluster_id, s.member_id, taken
                        )
                        self._generation = taken
                        last_renewal = self._renewed_at = attempt
                        self.fence.activate(taken)
                        self.fence.active_member, self.fence.active_uri = s.member_id, s.uri
                        self._on_active(taken)
                    elif taken is None:
                        row = self.lease.read()
                        if row is not None:
                            self.fence.active_member, self.fence.active_uri = row.holder, row.holder_uri
                elif self.lease.renew(generation):
                    last_renewal = self._renewed_at = attempt
                else:
                    log.warning("Cockpit cluster %r: the lease was taken over: stepping down", s.cluster_id)
                    self._step_down(generation)
            except sa.exc.SQLAlchemyError as e:
                log.warning("Cockpit cluster %r: lease statement failed: %s", s.cluster_id, str(e).splitlines()[0])
                if generation is not None and time.monotonic() - last_renewal > s.lease_s * 0.75:
                    log.warning("Cockpit cluster %r: lease not renewed for too long: stepping down", s.cluster_id)
                    self._step_down(generation)
            self._wake.wait(s.renew_s if self._generation is not None else s.poll_s)
            self._wake.clear()


def joc_instance(
    member_id: str,
    uri: str,
    *,
    active: bool,
    current: bool,
    version: str,
    started_at: datetime | None = None,
    heartbeat_at: datetime | None = None,
    ordinal: int = 0,
) -> dict[str, Any]:
    """One Cockpit in JOC's shape (controller/joc-schema.json), for /joc/api/jocs."""
    out: dict[str, Any] = {
        "id": ordinal,
        "instanceId": member_id,
        "memberId": member_id,
        "title": member_id,
        "current": current,
        "url": uri,
        "version": version,
        "isApiServer": False,
        "connectionState": {"severity": 0, "_text": "established"},
        "componentState": {"severity": 0, "_text": "operational"},
        "clusterNodeState": {"severity": 0, "_text": "active"} if active else {"severity": 1, "_text": "inactive"},
        "controllerConnectionStates": [],
    }
    if started_at is not None:
        out["startedAt"] = _joc_time(started_at)
    if heartbeat_at is not None:
        out["lastHeartbeat"] = _joc_time(heartbeat_at)
    return out


def _joc_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
