"""A node of a cluster — a Controller, or an Agent Director of a Director pair — which role it plays,
and starting over after each change of role. What runs while the node is active (the `ClusterCore`) is
made by the `core_factory` from the journal and the state recovered; `state_type` recovers the state.

The web service runs all the time; the role beneath it changes. At start, and whenever a role ends, the
node opens its journal, recovers its state and decides:

- no cluster yet: the Primary is active (it appoints the nodes), the Backup passive;
- the journal names the other node active: passive;
- the journal names this node active in a Coupled cluster: the other node may have failed over meanwhile.
  If the peer answers that it is active (FailedOver), this node truncates its journal at `failedAt`
  (fencing) and becomes passive; otherwise it is active, but does nothing observable until the
  standby acknowledged everything it recovered (see `active`);
- otherwise (a decoupled state naming this node): active.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from js7es.domain.cluster import ClusterEmpty, ClusterSetting, ClusterTiming, Coupled, HasNodes
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.journal.api import JournalError
from js7es.journal.file import FileJournal, fsync_directory
from js7es.nodes.client.http import Unreachable
from js7es.nodes.clock import clock_from_environment
from js7es.nodes.config import ClusterSettings, NodeSettings
from js7es.nodes.controller.cluster.active import ActiveRole, ClusterCore, not_active_problem
from js7es.nodes.controller.cluster.clients import PeerClient, WatchClient
from js7es.nodes.controller.cluster.passive import JOURNAL_NAME, FatalClusterError, PassiveRole, Promoted
from js7es.nodes.engine import JournalDoesNotApplyError, halt, recover_state

log = logging.getLogger(__name__)


class ClusterNode:
    def __init__(
        self,
        settings: NodeSettings,
        *,
        core_factory: Callable[[FileJournal, ControllerState], ClusterCore],
        peer_client: PeerClient,
        watch_client: WatchClient,
        cluster_id: str | None = None,
        state_type: type[ControllerState] = ControllerState,
        journal_name: str = JOURNAL_NAME,
        on_halt: Callable[[str], None] = halt,
    ) -> None:
        """`cluster_id`: the Controller's id (default) or the Agent's path."""
        assert settings.cluster is not None
        self.settings = settings
        self.cluster_id = settings.controller_id if cluster_id is None else cluster_id
        self.state_type = state_type
        self.journal_name = journal_name
        self.cluster: ClusterSettings = settings.cluster
        self.node_id = self.cluster.node_id
        self.peer = peer_client
        self.watch = watch_client
        self._core_factory = core_factory
        self._on_halt = on_halt
        self.role: ActiveRole | PassiveRole | None = None
        self.journal: FileJournal | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._earlier_applier_failures = 0  # of ended standby roles
        self.setting = ClusterSetting(
            id_to_uri=dict(self.cluster.nodes),
            active_id="Primary",
            timing=ClusterTiming(
                heartbeat_ms=round(self.cluster.heartbeat_s * 1000),
                heartbeat_timeout_ms=round(self.cluster.heartbeat_timeout_s * 1000),
                consent_timeout_ms=round(self.cluster.consent_timeout_s * 1000),
            ),
        )

    # -- what the web service asks ------------------------------------------------------------------

    def active_core(self) -> Any:
        """The active core (ControllerCore or AgentDirector), or the Problem why there is none here."""
        role = self.role
        if isinstance(role, ActiveRole):
            refused = role.refusal()
            return role.core if refused is None else refused
        return self._not_active()

    def _not_active(self) -> Problem:
        cluster = self.role.cluster if isinstance(self.role, PassiveRole) else None
        if isinstance(cluster, HasNodes) and cluster.setting.active_id != self.node_id:
            active = cluster.setting.active_id
            return not_active_problem(active, cluster.setting.uri(active))
        peer = self.cluster.peer_id
        return not_active_problem(None, None, f"the other node is {peer} at {self.cluster.nodes[peer]}")

    def info(self) -> dict[str, Any]:
        role = self.role
        if role is None:
            return {"nodeId": self.node_id, "active": False, "starting": True}
        return role.info()

    @property
    def applier_failures(self) -> int:
        role = self.role
        return self._earlier_applier_failures + (role.applier_failures if isinstance(role, PassiveRole) else 0)

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def before_exit(self) -> None:
        """While the web service still serves: an active node shuts down cleanly (ActiveShutDown)."""
        self._stopping = True
        role = self.role
        if isinstance(role, ActiveRole):
            await role.shut_down()

    async def stop(self) -> None:
        self._stopping = True
        role = self.role
        if isinstance(role, ActiveRole):
            await role.shut_down()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self.journal is not None:
            self.journal.close()
        await self.peer.close()
        await self.watch.close()

    async def _run(self) -> None:
        promoted: Promoted | None = None
        while not self._stopping:
            try:
                promoted = await self._run_role(promoted)
            except asyncio.CancelledError:
                raise
            except FatalClusterError as e:
                self._on_halt(f"cluster node {self.node_id}: {e}")
                return
            except Exception:
                log.exception("Cluster node %s: role failed; starting over", self.node_id)
                promoted = None
            self.role = None
            if promoted is None:
                if self.journal is not None:
                    self.journal.close()
                    self.journal = None
                await asyncio.sleep(self.cluster.heartbeat_s)

    async def _run_role(self, promoted: Promoted | None) -> Promoted | None:
        if promoted is None:
            journal, state = await self._open()
            decision = await self._decide(state, journal)
            if decision == "set-aside":
                journal.close()
                self.journal = None
                aside = await asyncio.to_thread(_set_journal_aside, self.settings.journal_dir, self.journal_name)
                log.warning("Fenced: the journal is set aside in %s; starting over as standby", aside)
                journal, state = await self._open()
                decision = "passive"
            if isinstance(decision, int):
                journal.close()
                self.journal = None
                removed = await asyncio.to_thread(
                    FileJournal.truncate_after, self.settings.journal_dir, self.journal_name, decision
                )
                log.warning("Fenced: journal truncated after failedAt=%d (%d events removed)", decision, removed)
                journal, state = await self._open()
                decision = "passive"
        else:
            journal, state, decision = promoted.journal, promoted.state, "active"
        self.journal = journal
        if decision == "passive":
            passive = PassiveRole(
                node_id=self.node_id,
                cluster_id=self.cluster_id,
                state_type=self.state_type,
                journal_name=self.journal_name,
                journal=journal,
                state=state,
                peer=self.peer,
                watch=self.watch,
                heartbeat_s=self.cluster.heartbeat_s,
                heartbeat_timeout_s=self.cluster.heartbeat_timeout_s,
                snapshot_after_events=self.settings.snapshot_after_events,
            )
            self.role = passive
            log.info("Cluster node %s is the standby", self.node_id)
            try:
                result = await passive.run()
            finally:
                self.journal = passive.journal
                self._earlier_applier_failures += passive.applier_failures
            return result
        core = self._core_factory(journal, state)
        active = ActiveRole(
            node_id=self.node_id,
            setting=self.setting,
            cluster_id=self.cluster_id,
            core=core,
            journal=journal,
            watch=self.watch,
            failed_over_event=promoted.event if promoted is not None else None,
        )
        self.role = active
        ended = await active.run()
        log.info("Cluster node %s: active role ended (%s)", self.node_id, ended.reason)
        if ended.stop:
            self._stopping = True
        return None

    async def _open(self) -> tuple[FileJournal, ControllerState]:
        """The journal and its recovered state. A journal that does not replay is set aside (kept for
        a person to look at) once the peer is the ready active node: this node then starts over as
        its standby from the active's snapshot. Until then, an ERROR every heartbeat."""
        while True:
            try:
                return await self._open_once()
            except JournalDoesNotApplyError as e:
                if self.journal is not None:
                    self.journal.close()
                    self.journal = None
                try:
                    info = await self.peer.info()
                except Unreachable:
                    info = None
                if isinstance(info, dict) and info.get("active") and info.get("ready"):
                    aside = await asyncio.to_thread(_set_journal_aside, self.settings.journal_dir, self.journal_name)
                    log.error("%s: journal set aside in %s; starting over as standby of the active peer", e, aside)
                    continue
                log.error("%s: waiting for the peer to be active, to start over from its snapshot", e)
                await asyncio.sleep(self.cluster.heartbeat_s)

    async def _open_once(self) -> tuple[FileJournal, ControllerState]:
        self.settings.journal_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(50):
            try:
                journal = await asyncio.to_thread(
                    FileJournal.open, self.settings.journal_dir, name=self.journal_name, clock=clock_from_environment()
                )
                break
            except JournalError:
                if attempt == 49:
                    raise
                await asyncio.sleep(0.1)  # the previous role's journal is still closing
        self.journal = journal
        state: ControllerState = await asyncio.to_thread(recover_state, journal, self.state_type)
        return journal, state

    async def _decide(self, state: ControllerState, journal: FileJournal) -> str | int:
        """ "active", "passive", the EventId to truncate the journal after (fencing), or "set-aside"
        (fencing when the fork point is unknown: the journal is replaced by the active's)."""
        cluster = state.cluster
        if isinstance(cluster, ClusterEmpty):
            return "active" if self.node_id == "Primary" else "passive"
        assert isinstance(cluster, HasNodes)
        if cluster.setting.active_id != self.node_id:
            return "passive"
        if not isinstance(cluster, Coupled):
            return "active"
        try:
            info = await self.peer.info()
        except Unreachable:
            return "active"  # the standby's acknowledgement or the Watch's consent decides (see active)
        if isinstance(info, Problem) or not info.get("active"):
            return "active"
        peer_state = info.get("clusterState") or {}
        failed_at = peer_state.get("failedAt")
        if peer_state.get("TYPE") == "FailedOver" and isinstance(failed_at, int):
            if journal.last_event_id <= failed_at:
                return "passive"
            return failed_at
        peer_active = (peer_state.get("setting") or {}).get("activeId")
        if peer_active is not None and peer_active != self.node_id and peer_state.get("TYPE") != "Coupled":
            # The peer took over while this node was down and has moved on since (it couples with this
            # node's earlier incarnation, say): the fork point (failedAt) is no longer in its state.
            # Events of this journal after it were never committed; the peer's journal is the truth.
            return "set-aside"
        raise FatalClusterError(
            f"both nodes claim to be active: the peer's cluster state is {peer_state.get('TYPE')}, ours Coupled"
        )


def _set_journal_aside(directory: Path, journal_name: str = JOURNAL_NAME) -> Path:
    """Move this node's journal files into a new subdirectory ``set-aside-<time>``; returns it."""
    aside = directory / f"set-aside-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 1_000_000_000:09d}"
    aside.mkdir()
    for path in directory.iterdir():
        kept = path.name.endswith((".lock", "-readers.json"))  # the lock, and the readers' positions
        if path.is_file() and path.name.startswith(journal_name) and not kept:
            path.rename(aside / path.name)
    fsync_directory(directory)
    return aside
