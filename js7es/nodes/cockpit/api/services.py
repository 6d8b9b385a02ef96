"""What the JOC API's handlers use: the Cockpit store (IAM, settings, the audit trail of commands), the
projection database, the Controllers, the sessions — one object, made once by the Cockpit process.

`controller_command` is the one way a handler sends a command to a Controller: the audit entry is
committed to the store *before* the command leaves, its outcome (accepted, refused with the
Controller's problem, or unknown when no answer came) after. No action without a trace.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import anyio.to_thread

from js7es.domain.cockpit import commands as cmd
from js7es.domain.cockpit import keys
from js7es.domain.cockpit.events import ChangeMeta
from js7es.domain.cockpit.iam import Account, IamState
from js7es.domain.cockpit.permissions import EffectivePermissions, FolderPermissions, effective
from js7es.domain.problem import Problem
from js7es.nodes.client.connection import ControllerConnection
from js7es.nodes.client.errors import ClientError
from js7es.nodes.cockpit.api.joc import JocError, controller_refused, controller_unavailable
from js7es.nodes.cockpit.api.notifier import BatchSignal
from js7es.nodes.cockpit.api.sessions import LoginThrottle, Sessions
from js7es.nodes.cockpit.cluster import joc_instance
from js7es.nodes.crash import crash_point

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from js7es.domain.cockpit.controllers import ControllerRegistration
    from js7es.journal.cockpit.store import CockpitStore
    from js7es.nodes.client.controller import ControllerClient
    from js7es.nodes.cluster_watch.api import WatchGate
    from js7es.nodes.cluster_watch.client import ClusterWatchClient
    from js7es.nodes.cockpit.api.call import ChangeMetaArgs
    from js7es.nodes.cockpit.api.forwarding import Forwarder
    from js7es.nodes.cockpit.cluster import ClusterActivity
    from js7es.nodes.cockpit.daily_plan import DailyPlanService

log = logging.getLogger(__name__)
T = TypeVar("T")

JOC_SETTINGS = "joc"
IDENTITY_SETTINGS = "identityService"
DEFAULT_IDLE_TIMEOUT_S = 30 * 60.0
# /joc/api/events answers with no snapshots after this long (JOC: about a minute; its RAML says ~3 min)
DEFAULT_EVENTS_WAIT_S = 60.0
# … and looks at the projection at least this often, for batches committed by another process
EVENTS_POLL_S = 1.0


def to_change_meta(args: ChangeMetaArgs | ChangeMeta) -> ChangeMeta:
    """The store's ChangeMeta of what the API knows (a ChangeMeta made elsewhere, e.g. by the daily plan
    service, passes as it is)."""
    if isinstance(args, ChangeMeta):
        return args
    return ChangeMeta(
        account=args.account,
        at_ms=args.at_ms,
        request=args.request,
        comment=args.comment,
        time_spent_s=None if args.time_spent is None else args.time_spent * 60,  # JOC's timeSpent: minutes
        ticket_link=args.ticket_link,
        controller_id=args.controller_id,
    )


def parse_duration_s(text: object, default: float) -> float:
    """JOC's durations in settings: "30m", "1h", "45s", "90" (seconds)."""
    if isinstance(text, (int, float)):
        return float(text)
    if not isinstance(text, str) or not text.strip():
        return default
    value = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if value[-1] in units:
            return float(value[:-1]) * units[value[-1]]
        return float(value)
    except ValueError:
        return default


class Following(Protocol):
    """The Cockpit's set of followers (nodes/cockpit/followers.py), as the API changes it."""

    def add(self, connection: ControllerConnection) -> None: ...

    def remove(self, controller_id: str) -> None: ...


class NotFollowing:
    """No follower set (the API in a test): what was asked is kept, for the test to see."""

    def __init__(self) -> None:
        self.following: dict[str, ControllerConnection] = {}

    def add(self, connection: ControllerConnection) -> None:
        self.following[connection.controller_id] = connection

    def remove(self, controller_id: str) -> None:
        self.following.pop(controller_id, None)


def _no_overview(url: str) -> Mapping[str, Any]:
    raise ClientError(f"no Controller at {url} in this test")


@dataclass
class ControllerDirectory:
    """The Controllers this Cockpit follows — those of its configuration file (fixed at start) and those
    registered through the API (the store's, read at each call) — with their clients for commands (made
    on first use), their Cluster Watches, and the set of followers the API changes."""

    make_client: Callable[[ControllerConnection], ControllerClient]
    configured: Mapping[str, ControllerConnection] = field(default_factory=dict)
    registered: Callable[[], Mapping[str, ControllerRegistration]] = dict
    configured_watches: Mapping[str, str] = field(default_factory=dict)
    # The overview (GET /controller/api) of whatever answers at a URL, with the Cockpit's certificate
    overview: Callable[[str], Mapping[str, Any]] = _no_overview
    make_watch_client: Callable[[str], ClusterWatchClient] | None = None
    # This Cockpit's own Cluster Watch (cockpit/watch.py), for the Controllers without a configured one
    hosted_watch: WatchGate | None = None
    following: Following = field(default_factory=NotFollowing)
    _clients: dict[str, ControllerClient] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        """The configured ones in the file's order, then the registered ones by id."""
        return [*self.configured, *sorted(c for c in self.registered() if c not in self.configured)]

    def is_configured(self, controller_id: str) -> bool:
        return controller_id in self.configured

    def registration(self, controller_id: str) -> ControllerRegistration | None:
        """The registration through the API (None for a configured or an unknown Controller)."""
        if controller_id in self.configured:
            return None
        return self.registered().get(controller_id)

    def connection(self, controller_id: str) -> ControllerConnection | None:
        configured = self.configured.get(controller_id)
        if configured is not None:
            return configured
        registration = self.registration(controller_id)
        if registration is None:
            return None
        return registration_connection(registration)

    def uris(self, controller_id: str) -> tuple[str, ...]:
        """The URIs of a Controller's nodes: one for a standalone Controller, the primary's then the
        backup's for a cluster."""
        connection = self.connection(controller_id)
        return connection.uris if connection is not None else ()

    def cluster_watch(self, controller_id: str) -> str | None:
        if controller_id in self.configured:
            return self.configured_watches.get(controller_id)
        registration = self.registration(controller_id)
        return registration.cluster_watch if registration is not None else None

    def client(self, controller_id: str) -> ControllerClient:
        with self._lock:
            client = self._clients.get(controller_id)
            if client is None:
                connection = self.connection(controller_id)
                if connection is None:
                    raise ClientError(f"no Controller {controller_id!r} is known to the Cockpit")
                client = self._clients[controller_id] = self.make_client(connection)
            return client

    def forget(self, controller_id: str) -> None:
        with self._lock:
            client = self._clients.pop(controller_id, None)
        if client is not None:
            client.close()

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for c in clients:
            c.close()


def registration_connection(registration: ControllerRegistration) -> ControllerConnection:
    """How the Cockpit reaches a registered Controller: its nodes' URLs, with the Cockpit's certificate."""
    return ControllerConnection(controller_id=registration.controller_id, uris=registration.uris)


class CockpitServices:
    def __init__(
        self,
        *,
        store: CockpitStore,
        engine: Engine,
        controllers: ControllerDirectory,
        throttle: LoginThrottle | None = None,
        version: str,
        events_wait_s: float = DEFAULT_EVENTS_WAIT_S,
    ) -> None:
        self.store = store
        self.engine = engine
        self.controllers = controllers
        self.throttle = throttle or LoginThrottle()
        self.sessions = Sessions(engine, self.idle_timeout_s)
        self.version = version
        self.batches = BatchSignal()  # signalled after each batch the projector commits (server.py)
        self.events_wait_s = events_wait_s
        self.events_poll_s = EVENTS_POLL_S
        self._permissions_cache: tuple[int, dict[str, tuple[EffectivePermissions, FolderPermissions | None]]] = (
            -1,
            {},
        )
        self._cache_lock = threading.Lock()
        self.daily_plan: DailyPlanService | None = None  # set by start_joc (api/service.py)
        self.forwarder: Forwarder | None = None  # a Cockpit cluster member's (server.py): a standby's changes
        self.cockpit_cluster: ClusterActivity | None = None  # the same: its lease (joc_cluster.py)
        # /joc/api/jocs: JOC's Cockpit instances (server.py: the cluster's members; alone: this one)
        self.cockpit_instances: Callable[[], list[dict[str, Any]]] = lambda: [
            joc_instance("cockpit", "", active=True, current=True, version=self.version)
        ]

    # --- reading the store

    def iam(self) -> IamState:
        iam: IamState = self.store.iam()
        return iam

    def setting(self, section: str, name: str, default: Any = None) -> Any:
        return self.iam().settings.get(section, {}).get(name, default)

    def comment_required(self) -> bool:
        value = self.setting(JOC_SETTINGS, "force_comments_for_audit_log", False)
        return value is True or (isinstance(value, str) and value.lower() == "true")

    def idle_timeout_s(self) -> float:
        return parse_duration_s(self.setting(IDENTITY_SETTINGS, "idle_session_timeout", None), DEFAULT_IDLE_TIMEOUT_S)

    def controller_ids(self) -> list[str]:
        return list(self.controllers.ids())

    def account(self, name: str) -> Account | None:
        return self.iam().accounts.get(name)

    def permissions_of(self, account: str) -> tuple[EffectivePermissions, FolderPermissions | None]:
        """The account's effective permissions and folders from its roles now (a role changed after login
        counts at once), cached per store version."""
        iam = self.iam()
        version = sum(iam.versions.values())
        with self._cache_lock:
            cached_version, cache = self._permissions_cache
            if cached_version != version:
                cache = {}
                self._permissions_cache = (version, cache)
            found = cache.get(account)
            if found is None:
                got = iam.accounts.get(account)
                roles = [iam.roles[r] for r in (got.roles if got else ()) if r in iam.roles]
                found = cache[account] = (effective(roles), FolderPermissions.of_roles(roles))
            return found

    # --- changing the store

    async def execute(
        self, aggregate_key: str, command: cmd.CockpitCommand, meta: ChangeMetaArgs | ChangeMeta
    ) -> list[Any]:
        """Executes `command` in the store; a refusal becomes JOC's 420 with the problem."""
        result = await anyio.to_thread.run_sync(self.store.execute, aggregate_key, command, to_change_meta(meta))
        if isinstance(result, Problem):
            raise JocError(_joc_code(result), result.message)
        return list(result)

    async def controller_command(
        self,
        meta: ChangeMetaArgs | ChangeMeta,
        *,
        controller_id: str,
        category: str,
        parameters: Mapping[str, Any],
        send: Callable[[ControllerClient], T],
    ) -> T:
        """Audit, send, audit the outcome (see the module's docstring)."""
        return await self.audited_call(
            meta,
            controller_id=controller_id,
            category=category,
            parameters=parameters,
            send=lambda: send(self.controllers.client(controller_id)),
            unavailable=lambda reason: controller_unavailable(controller_id, reason),
        )

    async def audited_call(
        self,
        meta: ChangeMetaArgs | ChangeMeta,
        *,
        controller_id: str,
        category: str,
        parameters: Mapping[str, Any],
        send: Callable[[], T],
        unavailable: Callable[[str], JocError],
    ) -> T:
        """`controller_command` for any call on a Controller's behalf (e.g. to its Cluster Watch): the audit
        entry committed before `send` runs (in a thread), its outcome after; a `ClientError` with a
        problem is a refusal (JOC-420), without one `unavailable`, of unknown outcome when in doubt."""
        request_id = str(uuid.uuid4())
        key = keys.command(request_id)
        await self.execute(
            key,
            cmd.RequestControllerCommand(
                controller_id=controller_id, request=meta.request, category=category, parameters=dict(parameters)
            ),
            meta,
        )
        crash_point("cockpit-command-audited")
        try:
            answer = await anyio.to_thread.run_sync(send)
        except ClientError as e:
            if e.problem is not None:
                await self.execute(
                    key, cmd.AnswerControllerCommand(accepted=False, problem=_problem_json(e.problem)), meta
                )
                raise controller_refused(e.problem.code, e.problem.message) from None
            if e.in_doubt:
                await self.execute(key, cmd.MarkOutcomeUnknown(), meta)
            else:
                refusal = {"code": "ControllerUnavailable", "message": str(e)}
                await self.execute(key, cmd.AnswerControllerCommand(accepted=False, problem=refusal), meta)
            raise unavailable(str(e)) from None
        crash_point("cockpit-command-answered")
        await self.execute(key, cmd.AnswerControllerCommand(accepted=True), meta)
        return answer

    def close(self) -> None:
        self.controllers.close()


def _problem_json(p: Problem) -> dict[str, Any]:
    out: dict[str, Any] = {"code": p.code, "message": p.message}
    if p.arguments:
        out["arguments"] = dict(p.arguments)
    return out


def _joc_code(p: Problem) -> str:
    if p.code.startswith("JOC-"):
        return p.code
    return {
        "UnknownAccount": "JOC-002",
        "UnknownRole": "JOC-002",
        "UnknownIdentityService": "JOC-002",
        "UnknownController": "JOC-002",
        "ControllerAlreadyRegistered": "JOC-171",
    }.get(p.code, "JOC-400")
