"""The active node of a Controller cluster.

Its commits count only after the standby acknowledged them while the cluster is Coupled (the Engine's
commit gate). It drives the coupling (CouplingPrepared when the standby replicates and acknowledges,
Coupled when the standby has that event), declares the standby lost when its acknowledgements stop —
only with the Cluster Watch's consent —, switches over by command, and reports to the Watch every
heartbeat. When the Watch says another node is active, or a switchover or shutdown is committed, the
role ends: the engine commits nothing more and the node starts over (as standby). From the moment it
starts handing over (the switchover's or shutdown's last commit) it no longer says it is active, and its
API refuses with the problem naming the other node.

A node that restarts as active with a recovered Coupled state may have been failed over meanwhile; it
therefore does nothing observable (no Agent, no timer) until the standby acknowledged everything it
recovered, or the Watch consented to the standby's loss. Its reports say `restarted` until then, so
that an untaught Watch does not learn the state from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from js7es.domain.cluster import (
    ActiveShutDown,
    ClusterActiveNodeRestarted,
    ClusterActiveNodeShutDown,
    ClusterCoupled,
    ClusterCouplingPrepared,
    ClusterEmpty,
    ClusterEvent,
    ClusterNodesAppointed,
    ClusterPassiveLost,
    ClusterSetting,
    ClusterState,
    ClusterSwitchedOver,
    Coupled,
    HasNodes,
    PreparedToBeCoupled,
    apply_cluster,
    cluster_state_to_json,
)
from js7es.domain.event import NO_KEY, KeyedEvent
from js7es.domain.problem import Problem, problem
from js7es.journal.api import Journal
from js7es.journal.file import FileJournal
from js7es.nodes.client.http import Unreachable
from js7es.nodes.controller.cluster.clients import WatchClient
from js7es.nodes.engine import Engine, RoleLost

log = logging.getLogger(__name__)
STANDBY_HOLD = "cluster-standby"


def not_active_problem(active_id: str | None, active_uri: str | None, reason: str = "") -> Problem:
    where = f": the active node is {active_id} at {active_uri}" if active_id else ""
    return problem(
        "ClusterNodeIsNotActive",
        f"This cluster node is not active{where}{'; ' + reason if reason else ''}",
        **({"activeId": active_id, "activeUri": active_uri or ""} if active_id else {}),
    )


class ClusterCore(Protocol):
    """What a cluster node runs while it is active: a Controller (ControllerCore) or an Agent Director
    (AgentDirector), over the journal and state the node recovered."""

    journal: Journal
    engine: Engine

    @property
    def state(self) -> Any: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RoleEnded:
    """Why the active role ended: the node starts over and decides its role again."""

    reason: str
    stop: bool = False  # the node shuts down (ActiveShutDown or ShutDown command)


class ActiveRole:
    def __init__(
        self,
        *,
        node_id: str,
        setting: ClusterSetting,
        cluster_id: str,
        core: ClusterCore,
        journal: FileJournal,
        watch: WatchClient,
        failed_over_event: ClusterEvent | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.node_id = node_id
        self.setting = setting  # as configured; the journal's setting wins once appointed
        self.cluster_id = cluster_id
        self.core = core
        self.engine = core.engine
        self.journal = journal
        self.watch = watch
        self._clock = clock
        self._first_event = failed_over_event
        self._acked = 0
        self._last_ack = clock()
        self._ack_changed = asyncio.Event()
        # A standby that takes over (failover, switchover) needs no acknowledgement: its peer is gone.
        self._acks_required = isinstance(core.state.cluster, Coupled) and failed_over_event is None
        self._restarted_coupled = self._acks_required
        self._recovered_until = journal.last_event_id
        self._heard_from_standby = False  # an acknowledgement arrived in this role
        # Where the standby must have come for ClusterCoupled; a recovered PreparedToBeCoupled has its
        # ClusterCouplingPrepared at or before the recovered end.
        self._prepared_at = journal.last_event_id if isinstance(core.state.cluster, PreparedToBeCoupled) else None
        self._ended: asyncio.Future[RoleEnded] = asyncio.get_running_loop().create_future()
        self._frozen: RoleEnded | None = None
        self._freeze_problem: Problem | None = None  # what the API answers while handing over
        self._tasks: list[asyncio.Task[Any]] = []
        self._duties_started = False
        self._watch_view: dict[str, Any] = {}  # what the Cluster Watch said last (for `info`)
        self._standby_hold: int | None = None  # the standby's position, kept from release (see standby_reads)
        self._standby_seen = clock()
        self._hold_expiry_s = max(60.0, 10 * self.timing.heartbeat_timeout_ms / 1000)
        self.engine.commit_gate = self._gate

    # -- state --------------------------------------------------------------------------------------

    @property
    def timing(self) -> Any:
        cluster = self.core.state.cluster
        return (cluster.setting if isinstance(cluster, HasNodes) else self.setting).timing

    @property
    def peer_id(self) -> str:
        return self.setting.passive_id if self.setting.active_id == self.node_id else self.setting.active_id

    def refusal(self) -> Problem | None:
        """Why this role must not serve the Controller's API now, if it must not: it is handing over
        (switchover, shutdown) or has lost its role, or it has not yet started its duties (a restarted
        node whose recovered events are not yet known to be committed)."""
        if self._freeze_problem is not None:
            return self._freeze_problem
        if self.engine.role_lost or self._ended.done():
            reason = self._ended.result().reason if self._ended.done() else "role lost"
            return not_active_problem(None, None, reason)
        if not self._duties_started:
            what = (
                "it restarted and waits for its standby's acknowledgement or the Cluster Watch's consent"
                if self._restarted_coupled
                else "it is starting"
            )
            return not_active_problem(None, None, what)
        return None

    def info(self) -> dict[str, Any]:
        return {
            "nodeId": self.node_id,
            "active": self._freeze_problem is None and not self.engine.role_lost and not self._ended.done(),
            "clusterState": cluster_state_to_json(self.core.state.cluster),
            "eventId": self.journal.last_event_id,
            "acknowledgedEventId": self._acked,
            "ready": self._duties_started,
            "clusterWatch": self._watch_view,
        }

    # -- running ------------------------------------------------------------------------------------

    async def run(self) -> RoleEnded:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._report_loop()), loop.create_task(self._peer_loop())]
        try:
            first = self._first_event or self._startup_event()
            if first is not None:
                await self.engine.emit([KeyedEvent(NO_KEY, first)])
            if self._restarted_coupled:
                log.info("Restarted with a Coupled cluster: waiting for the standby's acknowledgement first")
                await self._gate(self._recovered_until)
                self._restarted_coupled = False
            await self.core.start()
            self._duties_started = True
            log.info("Cluster node %s is active", self.node_id)
            return await self._ended
        except RoleLost as e:
            return self._end(RoleEnded(str(e.problem)))
        finally:
            self.journal.hold(STANDBY_HOLD, None)
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(BaseException):
                    await task
            await self.core.stop()

    def _startup_event(self) -> ClusterEvent | None:
        cluster = self.core.state.cluster
        if isinstance(cluster, ClusterEmpty):
            return ClusterNodesAppointed(setting=self.setting)
        if isinstance(cluster, ActiveShutDown):
            return ClusterActiveNodeRestarted()
        return None

    def _end(self, ended: RoleEnded) -> RoleEnded:
        if not self.engine.role_lost:
            self.engine.lose_role(RoleLost(not_active_problem(None, None, ended.reason)))
        if not self._ended.done():
            self._ended.set_result(ended)
        self._ack_changed.set()
        return ended

    def lose(self, reason: str) -> None:
        log.warning("Cluster node %s gives up its active role: %s", self.node_id, reason)
        self._end(RoleEnded(reason))

    # -- the standby's acknowledgements -------------------------------------------------------------

    def acknowledged(self, node_id: str, event_id: int) -> Problem | None:
        if node_id != self.peer_id:
            return problem("UnknownClusterNode", f"{node_id!r} is not this cluster's standby")
        self._last_ack = self._clock()
        self._heard_from_standby = True
        if event_id > self._acked:
            self._acked = event_id
        self.standby_reads(event_id)
        self._ack_changed.set()
        return None

    def standby_reads(self, after: int) -> None:
        """The standby reads (or will read: it got a snapshot at `after`) the journal after `after`:
        keep those segments from release while it does, else under load a standby that starts from a
        snapshot would find its position released again before it got there, time after time."""
        self._standby_seen = self._clock()
        if after != self._standby_hold:
            self._standby_hold = after
            self.journal.hold(STANDBY_HOLD, after)

    def _drop_standby_hold_if_gone(self) -> None:
        """A standby silent for long holds nothing: the journal must not grow without bound; it
        will start from a snapshot when it comes back."""
        if self._standby_hold is not None and self._clock() - self._standby_seen > self._hold_expiry_s:
            self._drop_standby_hold()

    def _drop_standby_hold(self) -> None:
        if self._standby_hold is not None:
            log.info("Standby %s gone: the journal no longer keeps its position", self.peer_id)
            self._standby_hold = None
            self.journal.hold(STANDBY_HOLD, None)

    async def _gate(self, event_id: int) -> None:
        """While Coupled, a commit counts only when the standby has acknowledged it."""
        while self._acks_required and self._acked < event_id:
            if self._ended.done():
                raise RoleLost(not_active_problem(None, None, self._ended.result().reason))
            self._ack_changed.clear()
            await self._ack_changed.wait()

    def _standby_connected(self) -> bool:
        timeout_s: float = self.timing.heartbeat_timeout_ms / 1000
        return self._clock() - self._last_ack < timeout_s

    # -- the coupling, and the standby's loss -------------------------------------------------------

    async def _peer_loop(self) -> None:
        while not self._ended.done():
            await asyncio.sleep(self.timing.heartbeat_ms / 2000)
            try:
                await self._peer_step()
            except RoleLost:
                return
            except Exception:
                log.exception("cluster coupling step failed")

    async def _peer_step(self) -> None:
        self._drop_standby_hold_if_gone()
        cluster = self.core.state.cluster
        if self._frozen is not None or not isinstance(cluster, HasNodes):
            return
        connected = self._standby_connected()
        if self._acks_required:
            if not connected:
                await self._declare_passive_lost()
            return
        if isinstance(cluster, PreparedToBeCoupled):
            if not connected:
                self._drop_standby_hold()
                await self.engine.emit([KeyedEvent(NO_KEY, ClusterPassiveLost(id=self.peer_id))])
            elif (
                self._prepared_at is not None
                and self._acked >= self._prepared_at
                and "problem" not in self._watch_view  # the Watch answered the last report
            ):
                await self._couple()
            return
        if isinstance(cluster, Coupled):
            return
        # The standby need not have caught up yet (under load it always lags a little): ClusterCoupled
        # waits until it has ClusterCouplingPrepared, and every commit after that waits for it.
        if connected and self._heard_from_standby:
            stamped = await self.engine.emit([KeyedEvent(NO_KEY, ClusterCouplingPrepared(active_id=self.node_id))])
            self._prepared_at = stamped[-1].event_id

    async def _couple(self) -> None:
        """Write ClusterCoupled once the Cluster Watch knows the cluster Coupled (JS7's
        ClusterWatchCheckEvent): the standby learns of ClusterCoupled as soon as it is written here and
        may from then on ask to fail over, which the Watch grants only while it knows the cluster
        Coupled, at the EventId ClusterCoupled will directly follow (checked with the engine quiesced,
        so that no commit can come between and make that report stale). If this node dies before writing
        it, the Watch knows a Coupled state the journals lack: harmless, as a standby asks to fail over
        only from a Coupled state in its own journal. The Watch is not awaited inside the quiesced
        block at first (a slow Watch must not stall every command); if an event was committed meanwhile,
        the Watch is told again, and after two such attempts it is asked inside the block (under a
        steady stream of orders a free attempt never wins: the cluster stayed PreparedToBeCoupled).

        The commit is not awaited: while it waits for the standby's acknowledgement, the peer loop must
        stay free to declare the standby lost."""
        coupled = ClusterCoupled(active_id=self.node_id)
        for attempt in range(4):
            reported = self.journal.last_event_id + 1
            held = attempt >= 2  # under a steady stream of commits the free attempts never win
            if not held and not await self._watch_confirms(coupled, event_id=reported):
                return
            async with self.engine.quiesced():
                if held:
                    # Commands wait for one answer of the Watch (bounded by its client's timeout).
                    reported = self.journal.last_event_id + 1
                    if not isinstance(self.core.state.cluster, PreparedToBeCoupled) or self._frozen is not None:
                        return
                    if not await self._watch_confirms(coupled, event_id=reported):
                        return
                # No await from here on: nothing can come between the check and ClusterCoupled.
                if not isinstance(self.core.state.cluster, PreparedToBeCoupled) or self._frozen is not None:
                    return
                if self.journal.last_event_id + 1 != reported:
                    continue  # events were committed meanwhile: tell the Watch again
                self._acks_required = True  # from this commit on, the standby must acknowledge
                keyed = [KeyedEvent(NO_KEY, coupled)]
                self.engine.apply_now(keyed)
                commit = asyncio.ensure_future(self.engine.persist(keyed))  # before any other decision
                break
        else:
            return
        log.info("Cluster coupling: %s active, %s standby", self.node_id, self.peer_id)
        commit.add_done_callback(self._coupled)

    def _coupled(self, commit: asyncio.Future[Any]) -> None:
        if not commit.cancelled() and commit.exception() is None:
            log.info("Cluster coupled: %s active, %s standby", self.node_id, self.peer_id)

    async def _declare_passive_lost(self) -> None:
        body = self._report_body()
        body["lostNodeId"] = self.peer_id
        try:
            answer = await self.watch.node_loss(body)
        except Unreachable as e:
            log.warning("Standby %s is silent, and the Cluster Watch does not answer: %s", self.peer_id, e)
            return
        if isinstance(answer, Problem):
            if answer.code == "ClusterNodeIsNotActive":
                self.lose(f"the Cluster Watch says: {answer.message}")
            else:
                log.warning("Cluster Watch refuses the loss of the standby %s: %s", self.peer_id, answer)
            return
        log.warning("Standby %s lost (the Cluster Watch consented): committing without it", self.peer_id)
        self._drop_standby_hold()  # it starts from a snapshot if its position is released meanwhile
        self._acks_required = False
        self._restarted_coupled = False
        self._ack_changed.set()
        await self.engine.emit([KeyedEvent(NO_KEY, ClusterPassiveLost(id=self.peer_id))])

    # -- the Cluster Watch --------------------------------------------------------------------------

    async def _watch_confirms(self, event: ClusterEvent, *, event_id: int) -> bool:
        """Whether the Cluster Watch accepts the cluster state that `event`, about to be written with
        `event_id`, makes."""
        state = apply_cluster(self.core.state.cluster, event)
        if isinstance(state, Problem):
            log.warning("%s does not apply: %s", type(event).__name__, state)
            return False
        body = self._report_body(state, event_id=event_id)
        try:
            answer = await self.watch.report(body)
        except Unreachable as e:
            self._watch_view = {"problem": f"unreachable: {e}"}
            log.warning("%s waits for the Cluster Watch, which does not answer: %s", type(event).__name__, e)
            return False
        if isinstance(answer, Problem):
            self._watch_view = {"problem": str(answer)}
            if answer.code == "ClusterNodeIsNotActive":
                self.lose(f"the Cluster Watch says: {answer.message}")
            else:
                log.warning("The Cluster Watch does not confirm %s: %s", type(event).__name__, answer)
            return False
        self._note_watch_answer(answer, body["eventId"])
        return True

    def _report_body(self, state: ClusterState | None = None, *, event_id: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "clusterId": self.cluster_id,
            "from": self.node_id,
            "eventId": self.journal.last_event_id if event_id is None else event_id,
            "clusterState": cluster_state_to_json(self.core.state.cluster if state is None else state),
        }
        if self._restarted_coupled:
            body["restarted"] = True
        return body

    def _note_watch_answer(self, answer: Any, event_id: int) -> None:
        """What the Watch knows after accepting a report: it can grant a failover only while it knows
        the cluster Coupled (shown by `js7es ctl cluster`)."""
        known = answer.get("clusterState") if isinstance(answer, dict) else None
        kind = known.get("TYPE") if isinstance(known, dict) else None
        self._watch_view = {
            "clusterState": kind,
            "eventId": event_id,
            "failoverPossible": kind == "Coupled" and isinstance(self.core.state.cluster, Coupled),
        }

    async def _report_loop(self) -> None:
        while not self._ended.done():
            if isinstance(self.core.state.cluster, HasNodes) and self._frozen is None:
                try:
                    body = self._report_body()
                    answer = await self.watch.report(body)
                    if isinstance(answer, Problem):
                        self._watch_view = {"problem": str(answer)}
                        if answer.code == "ClusterNodeIsNotActive":
                            self.lose(f"the Cluster Watch says: {answer.message}")
                            return
                        log.warning("Cluster Watch refuses the report: %s", answer)
                    else:
                        self._note_watch_answer(answer, body["eventId"])
                except Unreachable as e:
                    self._watch_view = {"problem": f"unreachable: {e}"}
                    log.debug("Cluster Watch unreachable: %s", e)
            await asyncio.sleep(self.timing.heartbeat_ms / 1000)

    # -- commands -----------------------------------------------------------------------------------

    async def switch_over(self) -> Problem | None:
        """JS7's ClusterSwitchOver: the standby becomes active; nothing is lost or done twice."""
        cluster = self.core.state.cluster
        if not isinstance(cluster, Coupled) or not self._acks_required:
            return problem(
                "ClusterNodesNotCoupled", f"Switchover needs a Coupled cluster (it is {type(cluster).__name__})"
            )
        if self._frozen is not None:
            return problem("ClusterSwitchOverInProgress", "The cluster is switching over already")
        await self._freeze_with(ClusterSwitchedOver(activated_id=self.peer_id), RoleEnded("switched over"))
        return None

    async def shut_down(self) -> None:
        """A clean shutdown: when Coupled the standby learns it must not fail over (ActiveShutDown)."""
        if isinstance(self.core.state.cluster, Coupled) and self._acks_required and self._frozen is None:
            try:
                await asyncio.wait_for(
                    self._freeze_with(ClusterActiveNodeShutDown(), RoleEnded("shut down", stop=True)),
                    self.timing.heartbeat_timeout_ms / 1000,
                )
            except RoleLost:
                pass
            except TimeoutError:
                # The standby did not acknowledge in time: stop without it, as after a crash (it may
                # fail over, which is safe: this node is fenced when it comes back).
                log.warning("ClusterActiveNodeShutDown was not acknowledged in time: stopping without it")
        self._end(RoleEnded("shut down", stop=True))

    async def _freeze_with(self, event: ClusterEvent, ended: RoleEnded) -> None:
        """Commit `event` as the last commit of this role: later events are refused (the other node
        will not have them), then the role ends."""
        self._frozen = ended
        self._freeze_problem = not_active_problem(self.peer_id, self.setting.uri(self.peer_id), ended.reason)
        self.engine.freeze(RoleLost(self._freeze_problem))
        stamped = await self.engine.emit([KeyedEvent(NO_KEY, event)], final=True)
        log.info("%s committed at %d", type(event).__name__, stamped[-1].event_id)
        self._end(ended)
