"""The Cockpit's event-sourced store: commands in, events appended under optimistic concurrency."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, JSONTranscoder, Notification
from eventsourcing.popo import POPOApplicationRecorder

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import events as ev
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.apply import AggregateState, apply, apply_iam, apply_to_inventory
from js7es.domain.cockpit.bootstrap import bootstrap
from js7es.domain.cockpit.controllers import NO_CONTROLLERS, RegisteredControllers, apply_registered
from js7es.domain.cockpit.decide import CockpitContext, decide
from js7es.domain.cockpit.iam import EMPTY_IAM, IamState, PermissionGrant
from js7es.domain.cockpit.inventory import EMPTY_INVENTORY, InventoryState
from js7es.domain.problem import Problem, problem
from js7es.journal.cockpit.fence import Fence
from js7es.journal.cockpit.mapper import RecordMapper, aggregate_id, store_event
from js7es.journal.cockpit.settings import StoreSettings

MAX_ATTEMPTS = 5  # decisions retried after another writer's append conflicted with ours
PAGE = 500

IAM_TOPICS: tuple[str, ...] = tuple(
    name
    for name, cls in ev.COCKPIT_EVENTS.items()
    if issubclass(cls, (ev.AccountEvent, ev.RoleEvent, ev.IdentityServiceEvent, ev.SettingsEvent))
)
INVENTORY_TOPICS: tuple[str, ...] = tuple(
    name
    for name, cls in ev.COCKPIT_EVENTS.items()
    if issubclass(cls, (ev.InventoryEvent, ev.DeploymentEvent, ev.FolderEvent))
)
CONTROLLER_TOPICS: tuple[str, ...] = tuple(
    name for name, cls in ev.COCKPIT_EVENTS.items() if issubclass(cls, ev.ControllerEvent)
)
COMMAND_TOPICS: tuple[str, ...] = tuple(
    name for name, cls in ev.COCKPIT_EVENTS.items() if issubclass(cls, ev.ControllerCommandEvent)
)


class CockpitStoreError(Exception):
    """The store holds events that do not apply (a bug or a tampered database)."""


class CockpitStore:
    """One Cockpit's handle on the store; several handles (threads, processes, Cockpits on one
    PostgreSQL) may write to one store at once."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        *,
        poll_interval_s: float = 0.5,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self.recorder = recorder
        self._mapper = RecordMapper(transcoder=JSONTranscoder())
        self._poll_interval_s = poll_interval_s
        self._on_close = on_close
        self._lock = threading.Lock()  # guards the IAM state and its position
        self._iam = EMPTY_IAM
        self._iam_position = 0
        self._inventory_lock = threading.Lock()
        self._inventory = EMPTY_INVENTORY
        self._inventory_position = 0
        self._controllers_lock = threading.Lock()
        self._controllers = NO_CONTROLLERS
        self._controllers_position = 0
        self._appended = threading.Condition()

    @classmethod
    def open(cls, settings: StoreSettings | str, *, fence: Fence | None = None) -> CockpitStore:
        """Opens (creating its tables if missing) the store at a URL (settings.py) or with settings;
        with a `fence` (PostgreSQL only: a Cockpit cluster member), every append is fenced (fence.py)."""
        if isinstance(settings, str):
            settings = StoreSettings.parse(settings)
        kind = settings.kind
        if fence is not None and kind != "postgresql":
            raise ValueError("a fenced Cockpit store (a Cockpit cluster) needs PostgreSQL")
        if kind == "memory":
            return cls(POPOApplicationRecorder(), poll_interval_s=settings.poll_interval_s)
        if kind == "sqlite":
            from js7es.journal.cockpit.backends import open_sqlite

            recorder, close = open_sqlite(settings)
        else:
            from js7es.journal.cockpit.backends import open_postgres

            recorder, close = open_postgres(settings, fence)
        return cls(recorder, poll_interval_s=settings.poll_interval_s, on_close=close)

    def close(self) -> None:
        with self._appended:
            self._appended.notify_all()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    def __enter__(self) -> CockpitStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- writing ---------------------------------------------------------------------------------

    def execute(self, key: str, command: cmd.CockpitCommand, meta: ev.ChangeMeta) -> list[ev.CockpitRecord] | Problem:
        """Decides `command` on the aggregate `key` (its own events, and the IAM state for the rest) and
        appends the events, all or none. When another writer appended to one of the aggregates
        meanwhile, decides again on what it wrote (a few times). [] when nothing would change."""
        for _ in range(MAX_ATTEMPTS):
            iam = self.iam()
            inventory = self.inventory()
            version, state = self.load(key)
            decided = decide(key, state, command, CockpitContext(iam=iam, inventory=inventory))
            if isinstance(decided, Problem):
                return decided
            if not decided:
                return []
            try:
                return self._append(decided, meta, {**iam.versions, **inventory.versions}, {key: version})
            except IntegrityError:
                continue
        return problem("CockpitStoreBusy", f"{key}: other writers conflicted {MAX_ATTEMPTS} times", key=key)

    def record_login(
        self,
        account: str,
        address: str,
        *,
        succeeded: bool,
        meta: ev.ChangeMeta,
        reason: str = "",
        identity_service: str | None = None,
    ) -> list[ev.CockpitRecord] | Problem:
        """A login attempt, for JOC's login history (each attempt an aggregate of its own)."""
        command = cmd.RecordLogin(
            account=account, address=address, succeeded=succeeded, reason=reason, identity_service=identity_service
        )
        return self.execute(keys.login(uuid.uuid4().hex), command, meta)

    def bootstrap_root(
        self,
        password_hash: str,
        meta: ev.ChangeMeta,
        default_roles: Mapping[str, tuple[PermissionGrant, ...]] | None = None,
    ) -> bool:
        """On the very first start (no IAM event ever written), creates JOC's initial identity service,
        the roles and `root` (domain/cockpit/bootstrap.py) in one append. False when the store has IAM
        events already (a removed root is never recreated) or another Cockpit bootstrapped it first."""
        iam = self.iam()
        if iam.versions:
            return False
        decided = bootstrap(password_hash, default_roles)
        if isinstance(decided, Problem):
            raise CockpitStoreError(str(decided))
        try:
            self._append(decided, meta, iam.versions, {})
        except IntegrityError:
            return False
        return True

    def recover_unanswered(self, meta: ev.ChangeMeta) -> list[str]:
        """Writes ControllerCommandOutcomeUnknown for every command requested and never answered (the
        Cockpit stopped in between); returns their request ids. For the active Cockpit at its start:
        commands in flight are its own only."""
        pending: dict[str, str | None] = {}
        position = 0
        while True:
            page = self._notifications(position, PAGE, COMMAND_TOPICS)
            for record in page:
                _, request_id = keys.split(record.key)
                if isinstance(record.event, ev.ControllerCommandRequested):
                    pending[request_id] = record.event.controller_id
                else:
                    pending.pop(request_id, None)
            if len(page) < PAGE:
                break
            position = page[-1].notification_id
        recovered = []
        for request_id, controller_id in pending.items():
            result = self.execute(
                keys.command(request_id), cmd.MarkOutcomeUnknown(), replace(meta, controller_id=controller_id)
            )
            if not isinstance(result, Problem):
                recovered.append(request_id)
        return recovered

    def append(
        self, decided: Sequence[ev.KeyedCockpitEvent], meta: ev.ChangeMeta, versions: Mapping[str, int]
    ) -> list[ev.CockpitRecord] | Problem:
        """Appends events decided elsewhere (the daily plan decides for many aggregates at once) in one
        transaction, each aggregate expected at the version given (0: new). When another writer appended to
        one of them meanwhile, nothing is appended: the problem CockpitStoreConflict, to decide again."""
        if not decided:
            return []
        try:
            return self._append(decided, meta, {}, versions)
        except IntegrityError:
            return problem("CockpitStoreConflict", "another writer changed the same aggregates: decide again")

    def _append(
        self,
        decided: Sequence[ev.KeyedCockpitEvent],
        meta: ev.ChangeMeta,
        known_versions: Mapping[str, int],
        loaded_versions: Mapping[str, int],
    ) -> list[ev.CockpitRecord]:
        versions = dict(loaded_versions)
        records = []
        for keyed in decided:
            version = versions.get(keyed.key, known_versions.get(keyed.key, 0)) + 1
            versions[keyed.key] = version
            records.append(ev.CockpitRecord(key=keyed.key, version=version, event=keyed.event, meta=meta))
        stored = [self._mapper.to_stored_event(store_event(r)) for r in records]
        ids = self.recorder.insert_events(stored) or [0] * len(records)
        with self._appended:
            self._appended.notify_all()
        return [replace(r, notification_id=i) for r, i in zip(records, ids, strict=True)]

    # --- reading ---------------------------------------------------------------------------------

    def load(self, key: str) -> tuple[int, AggregateState | None]:
        """The version (number of events) and the state of the aggregate `key`."""
        state: AggregateState | None = None
        version = 0
        for record in self.events(key):
            result = apply(state, key, record.event)
            if isinstance(result, Problem):
                raise CockpitStoreError(str(result))
            state, version = result, record.version
        return version, state

    def events(self, key: str) -> list[ev.CockpitRecord]:
        """The records of one aggregate, in version order (their notification ids are not read: 0)."""
        return [self._mapper.to_domain_event(s).record for s in self.recorder.select_events(aggregate_id(key))]

    def iam(self) -> IamState:
        """Every account, role, identity service and settings section: kept in memory, brought up to
        date with the store's newer notifications on each call (so writes of other Cockpits show)."""
        with self._lock:
            while True:
                page = self._notifications(self._iam_position, PAGE, IAM_TOPICS)
                for record in page:
                    result = apply_iam(self._iam, record.key, record.event, record.version)
                    if isinstance(result, Problem):
                        raise CockpitStoreError(str(result))
                    self._iam = result
                    self._iam_position = record.notification_id
                if len(page) < PAGE:
                    return self._iam

    def inventory(self) -> InventoryState:
        """Every inventory object, deployment and folder: kept in memory as the IAM state is."""
        with self._inventory_lock:
            while True:
                page = self._notifications(self._inventory_position, PAGE, INVENTORY_TOPICS)
                for record in page:
                    result = apply_to_inventory(self._inventory, record.key, record.event, record.version)
                    if isinstance(result, Problem):
                        raise CockpitStoreError(str(result))
                    self._inventory = result
                    self._inventory_position = record.notification_id
                if len(page) < PAGE:
                    return self._inventory

    def controllers(self) -> RegisteredControllers:
        """The Controllers registered through the API: kept in memory as the IAM state is."""
        with self._controllers_lock:
            while True:
                page = self._notifications(self._controllers_position, PAGE, CONTROLLER_TOPICS)
                for record in page:
                    result = apply_registered(self._controllers, record.key, record.event, record.version)
                    if isinstance(result, Problem):
                        raise CockpitStoreError(str(result))
                    self._controllers = result
                    self._controllers_position = record.notification_id
                if len(page) < PAGE:
                    return self._controllers

    def notifications(self, after_id: int = 0, limit: int = PAGE) -> list[ev.CockpitRecord]:
        """The records after notification `after_id`, in the store's total order (for followers)."""
        return self._notifications(after_id, limit, ())

    def _notifications(self, after_id: int, limit: int, topics: Sequence[str]) -> list[ev.CockpitRecord]:
        found: Sequence[Notification] = self.recorder.select_notifications(
            after_id, limit, topics=topics, inclusive_of_start=False
        )
        return [self._mapper.to_store_event(n, notification_id=n.id).record for n in found]

    def last_notification_id(self) -> int:
        return self.recorder.max_notification_id() or 0

    def wait(self, after_id: int, timeout_s: float) -> bool:
        """Waits until the store holds a notification after `after_id` (True) or the time is up (False).
        An append through this handle wakes it at once; others' appends are seen by polling."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.last_notification_id() > after_id:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._appended:
                self._appended.wait(min(remaining, self._poll_interval_s))
