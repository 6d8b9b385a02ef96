"""The standby (passive) node of a Controller cluster.

It pulls the active node's journal commit by commit from its own last EventId, writes each commit to its
own journal durably (same EventIds, the active's event lines as they came), acknowledges it and applies
it to its state. The commits that arrive together (a group) are handed to the journal together and
acknowledged once, when the last of them is durable.
If its position is no longer kept by the active (released segments) or it has no journal of this
cluster yet, it starts from the active's snapshot. When the replicated cluster state is Coupled and
the active falls silent for the heartbeat timeout, it stops replicating and acknowledging and asks the
Cluster Watch to consent to the active's loss; only with that consent it becomes active, writing
ClusterFailedOver with `failedAt`, the end of the last commit it has. Refused, it replicates again and
asks again only after its next attempt to reach the active (so that a healed link is noticed). A
replicated ClusterSwitchedOver naming it makes it active at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from js7es.domain.cluster import (
    ClusterFailedOver,
    ClusterState,
    ClusterSwitchedOver,
    Coupled,
    HasNodes,
    cluster_state_to_json,
)
from js7es.domain.event import Stamped
from js7es.domain.problem import Problem
from js7es.domain.standby_apply import HoldingApplier
from js7es.domain.state import ControllerState
from js7es.journal.file import FileJournal
from js7es.nodes.client.http import Unreachable
from js7es.nodes.clock import clock_from_environment
from js7es.nodes.controller.cluster.clients import PeerClient, WatchClient
from js7es.nodes.controller.cluster.replication import ReplicatedCommit
from js7es.nodes.engine import recover_state
from js7es.nodes.http.event_stream import resolved_within

log = logging.getLogger(__name__)
JOURNAL_NAME = "controller"
ACKS_PER_REQUEST = 20_000  # then the streamed request ends and a new one begins (bodies are bounded)


class _Wakeup:
    """A flag that one task awaits with a timeout. Setting it wakes that task in the next round of the
    event loop (an asyncio.Event awaited through wait_for takes three rounds): the active's commit
    waits for the acknowledgement that this task sends."""

    def __init__(self) -> None:
        self._set = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        self._set = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Until the flag is set or `timeout` seconds passed; clears the flag."""
        if not self._set:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await resolved_within(self._waiter, timeout, None)
            finally:
                self._waiter = None
        self._set = False


class FatalClusterError(Exception):
    """Something a person must look at (two different journals, two active nodes): the node halts."""


@dataclass(frozen=True, slots=True)
class Promoted:
    """The standby becomes active with its journal and state; `event` is its first event (FailedOver)."""

    journal: FileJournal
    state: ControllerState
    event: ClusterFailedOver | None


class PassiveRole:
    def __init__(
        self,
        *,
        node_id: str,
        cluster_id: str,
        state_type: type[ControllerState] = ControllerState,
        journal_name: str = JOURNAL_NAME,
        journal: FileJournal,
        state: ControllerState,
        peer: PeerClient,
        watch: WatchClient,
        heartbeat_s: float,
        heartbeat_timeout_s: float,
        snapshot_after_events: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.node_id = node_id
        self.cluster_id = cluster_id
        self.state_type = state_type
        self.journal_name = journal_name
        self.journal = journal
        self._holding = HoldingApplier(state)
        self.peer = peer
        self.watch = watch
        self._heartbeat_s = heartbeat_s
        self._heartbeat_timeout_s = heartbeat_timeout_s
        self._snapshot_after = snapshot_after_events
        self._events_since_snapshot = len(journal.recovered.events)
        self._clock = clock
        self._last_heard = clock()
        self._written: asyncio.Queue[tuple[asyncio.Future[list[Stamped]], list[Stamped]]] = asyncio.Queue()
        self._acked_target = journal.last_event_id
        self._ack_wanted = _Wakeup()
        # No acknowledgement while asking for the active's loss, nor after the consent: a restarted
        # active node takes an acknowledgement of its recovered position as proof that its standby
        # has not failed over.
        self._failing_over = False
        self._replication_attempts = 0  # ended attempts to read the active's journal stream
        self._last_refusal = ""
        self._result: asyncio.Future[Promoted] = asyncio.get_running_loop().create_future()
        self._replicating: asyncio.Task[None] | None = None
        self._applier: asyncio.Task[None] | None = None
        self._recovering: asyncio.Task[None] | None = None
        self.problem: str | None = None  # set while the state does not follow the journal (see _applier_failed)
        self.applier_failures = 0

    def complete_state(self, *, recover: bool = True) -> ControllerState | None:
        """The replicated state with every event held back applied (js7es.domain.standby_apply); None
        when one does not apply: an applier failure (`_applier_failed`), the state is not to be used.
        The cluster state needs none of this: `cluster`."""
        released = self._holding.release_all()
        if released is not None:
            self._applier_failed(f"held events do not apply: {released}", recover=recover)
            return None
        return self._holding.state

    @property
    def cluster(self) -> ClusterState:
        """The replicated cluster state (a cluster event is never held, nor applied before held events)."""
        return self._holding.state.cluster

    def info(self) -> dict[str, Any]:
        return {
            "nodeId": self.node_id,
            "active": False,
            "clusterState": cluster_state_to_json(self.cluster),
            "eventId": self.journal.last_event_id,
            "applierFailures": self.applier_failures,
            "heldEvents": self._holding.held_events,  # replicated, not applied yet (standby_apply)
            **({"problem": self.problem} if self.problem is not None else {}),
        }

    @property
    def timing(self) -> tuple[float, float]:
        cluster = self.cluster
        if isinstance(cluster, HasNodes):
            t = cluster.setting.timing
            return t.heartbeat_ms / 1000, t.heartbeat_timeout_ms / 1000
        return self._heartbeat_s, self._heartbeat_timeout_s

    async def run(self) -> Promoted:
        loop = asyncio.get_running_loop()
        self._start_replication()
        tasks = [loop.create_task(self._ack_loop()), loop.create_task(self._failover_loop())]
        try:
            return await self._result
        finally:
            for task in tasks:
                task.cancel()
            if self._recovering is not None:
                self._recovering.cancel()
                with contextlib.suppress(BaseException):
                    await self._recovering
            await self._stop_replication()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task

    # -- replication --------------------------------------------------------------------------------

    def _start_replication(self) -> None:
        loop = asyncio.get_running_loop()
        self._applier = loop.create_task(self._apply_loop())
        self._replicating = loop.create_task(self._replicate_loop())

    async def _stop_replication(self) -> None:
        """Stop reading, then let every commit handed to the journal be written and applied."""
        if self._replicating is not None:
            self._replicating.cancel()
            with contextlib.suppress(BaseException):
                await self._replicating
            self._replicating = None
        if self._applier is not None:
            await self._written.put((asyncio.get_running_loop().create_future(), []))  # end marker
            with contextlib.suppress(BaseException):
                await self._applier
            self._applier = None

    async def _replicate_loop(self) -> None:
        while True:
            heartbeat, _ = self.timing
            try:
                await self._replicate_once(heartbeat)
            except asyncio.CancelledError:
                raise
            except Unreachable as e:
                log.debug("Active node unreachable: %s", e)
            except FatalClusterError as e:
                if not self._result.done():
                    self._result.set_exception(e)
                return
            except Exception:
                log.exception("Replication failed; trying again")
            self._replication_attempts += 1
            await asyncio.sleep(heartbeat / 2)

    async def _replicate_once(self, heartbeat: float) -> None:
        await self._drain()
        stream = await self.peer.journal(self.journal.last_event_id, node_id=self.node_id, heartbeat_s=heartbeat)
        if isinstance(stream, Problem):
            if stream.code in ("EventSeqTorn", "NotACommitBoundary", "UnknownEventId"):
                if stream.code != "EventSeqTorn":
                    raise FatalClusterError(f"The active node refuses this journal's position: {stream}")
                await self._start_from_snapshot(f"the active node no longer keeps our position: {stream.message}")
            else:
                log.info("Active node refuses replication: %s", stream)
            return
        loop = asyncio.get_running_loop()
        async for item in stream:
            self._last_heard = self._clock()
            self._last_refusal = ""
            if item is None:
                continue  # heartbeat
            if isinstance(item, dict):
                if item.get("journalId") != self.journal.journal_id:
                    if (
                        self.journal.last_event_id != 0
                        and self.journal.last_event_id != self.journal.recovered.snapshot_event_id
                    ):
                        raise FatalClusterError(
                            f"The active node's journal {item.get('journalId')} is not ours ({self.journal.journal_id})"
                        )
                    if self.journal.last_event_id == 0:  # a new node: the whole journal, if kept
                        await self._adopt_journal(str(item["journalId"]))
                    else:
                        await self._start_from_snapshot("this node has no journal of the cluster yet")
                    return
                continue
            await self._write(item, loop)

    async def _write(self, group: list[ReplicatedCommit], loop: asyncio.AbstractEventLoop) -> None:
        """Hand a group of commits to the journal at once (one fdatasync for them all) and to the
        applier, which acknowledges them when the last one is durable. (A refused group raises
        ValueError and nothing of it is written.)"""
        written = self.journal.persist_replicated_group([(c.stamped, c.lines) for c in group])
        events = [s for commit in group for s in commit.stamped]
        await self._written.put((asyncio.wrap_future(written, loop=loop), events))

    async def _apply_loop(self) -> None:
        while True:
            future, stamped = await self._written.get()
            if not stamped:  # the end: nothing stays held (the node may be promoted next)
                self.complete_state(recover=False)
                return
            await future
            # Durable here: acknowledge before applying, the active's commit waits for it.
            self._acked_target = stamped[-1].event_id
            self._ack_wanted.set()
            await asyncio.sleep(0)  # the acknowledgement goes out now, not after the group is applied
            apply = self._holding.apply
            for s in stamped:
                applied = apply(s)
                if applied is not None:
                    what = f"replicated event {s.event_id} ({type(s.event).__name__})"
                    self._applier_failed(f"{what} does not apply: {applied}")
                    return
            self._events_since_snapshot += len(stamped)
            for s in stamped:
                if isinstance(s.event, ClusterSwitchedOver) and s.event.activated_id == self.node_id:
                    await self._promote_after_switchover(s.event_id)
            if self._events_since_snapshot >= self._snapshot_after and self._written.empty():
                await self._snapshot()

    def _applier_failed(self, reason: str, *, recover: bool = True) -> None:
        """This node's state no longer follows its journal (it must never happen; it did once, from a
        snapshot holding uncommitted events): stop acknowledging at once — the active then goes on
        without this standby, with the Watch's consent — and start over from a fresh snapshot (unless
        the caller stopped the replication and decides: the node stops, or no failover)."""
        self.problem = f"The standby's state does not follow the replicated journal: {reason}"
        log.error("%s. No more acknowledgements; starting over from the active node's snapshot", self.problem)
        self.applier_failures += 1
        self._ack_wanted.set()
        if recover and self._recovering is None:
            self._recovering = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        """Replace the journal by the active's snapshot once it covers everything acknowledged (so that
        no acknowledged event is missing here), then replicate again."""
        highest_acked = self._acked_target
        try:
            await self._stop_replication()
            while True:
                try:
                    if await self._start_from_snapshot(self.problem or "", covering=highest_acked):
                        break
                except Unreachable as e:
                    log.warning("Waiting for the active node's snapshot: %s", e)
                except Exception:
                    log.exception("Starting from the active node's snapshot failed; trying again")
                heartbeat, _ = self.timing
                await asyncio.sleep(heartbeat)
            self.problem = None
            log.info("The standby follows the active node again from EventId %d", self.journal.last_event_id)
            self._written = asyncio.Queue()  # what the failed applier left (commits of the replaced journal)
            self._start_replication()
        finally:
            self._recovering = None

    async def _drain(self) -> None:
        while not self._written.empty():
            await asyncio.sleep(0.001)

    async def _snapshot(self) -> None:
        state = self.complete_state()
        if state is None:
            return
        objects = list(state.snapshot_objects())
        taken = await asyncio.to_thread(
            self.journal.take_snapshot, objects, at_event_id=state.last_event_id, timeout=60
        )
        if not isinstance(taken, Problem):
            self._events_since_snapshot = 0
            await asyncio.to_thread(self.journal.release_events)

    async def _adopt_journal(self, journal_id: str) -> None:
        """An empty journal with the active's journalId: replication then starts at its beginning."""
        await self._reset(journal_id, 0, [])

    async def _reset(self, journal_id: str, event_id: int, objects: list[dict[str, Any]]) -> None:
        directory = self.journal.directory
        self.journal.close()
        await asyncio.to_thread(
            FileJournal.reset_to_snapshot,
            directory,
            self.journal_name,
            journal_id=journal_id,
            event_id=event_id,
            objects=objects,
        )
        self.journal = await asyncio.to_thread(
            FileJournal.open, directory, name=self.journal_name, clock=clock_from_environment()
        )
        self._holding = HoldingApplier(recover_state(self.journal, self.state_type))
        self._acked_target = self.journal.last_event_id
        self._events_since_snapshot = 0

    async def _start_from_snapshot(self, reason: str, *, covering: int = 0) -> bool:
        """Replace the journal by the active's snapshot, if it stands at `covering` or later; whether
        it did. Raises Unreachable."""
        got = await self.peer.snapshot()
        if isinstance(got, Problem):
            log.warning("Active node refuses its snapshot: %s", got)
            return False
        header, objects = got
        journal_id, event_id = str(header["journalId"]), int(header["eventId"])
        if event_id < covering:
            log.warning("The active node's snapshot at EventId %d does not cover EventId %d yet", event_id, covering)
            return False
        log.warning("Starting from the active node's snapshot at EventId %d (%s)", event_id, reason)
        await self._reset(journal_id, event_id, objects)
        return True

    # -- acknowledgements ---------------------------------------------------------------------------

    async def _ack_loop(self) -> None:
        """Acknowledge what is durable here, as lines of one streamed request (reopened when it ends);
        every heartbeat also when nothing changed (a heartbeat)."""
        while True:
            try:
                answer = await self.peer.ack_stream(self._ack_lines())
                if isinstance(answer, Problem) and answer.code != "ClusterNodeIsNotActive":
                    log.warning("Active node refuses the acknowledgements: %s", answer)
            except Unreachable as e:
                log.debug("Acknowledgements: %s", e)
            heartbeat, _ = self.timing
            await asyncio.sleep(heartbeat / 2)

    async def _ack_lines(self) -> AsyncIterator[bytes]:
        for _ in range(ACKS_PER_REQUEST):
            heartbeat, timeout = self.timing
            if self._clock() - self._last_heard > timeout:
                return  # the active is silent: end this request (it may be stuck) and open a new one later
            await self._ack_wanted.wait(heartbeat)
            if self._failing_over or self.problem is not None:
                continue
            yield f'{{"nodeId":"{self.node_id}","eventId":{self._acked_target}}}\n'.encode()

    # -- failover and switchover --------------------------------------------------------------------

    async def _failover_loop(self) -> None:
        refused_after: int | None = None  # the replication attempts when the last failover was refused
        refused_at = 0.0  # and when
        while True:
            heartbeat, timeout = self.timing
            await asyncio.sleep(heartbeat / 2)
            cluster = self.cluster
            if not isinstance(cluster, Coupled) or cluster.setting.active_id == self.node_id:
                continue
            if self._clock() - self._last_heard < timeout or self.problem is not None:
                continue
            if (
                refused_after is not None
                and self._replication_attempts <= refused_after
                and self._last_heard <= refused_at
            ):
                # Asking again at once would stop the replication again before it could reach the
                # active (a healed link would never be noticed): let it try once first. Once it heard
                # from the active (the link healed within that same try), the active's next silence is
                # a new one: the stream that heard it may hang on a link cut without a reset for good.
                continue
            if not await self._try_failover(cluster):
                refused_after, refused_at = self._replication_attempts, self._clock()

    async def _try_failover(self, cluster: Coupled) -> bool:
        lost = cluster.setting.active_id
        self._failing_over = True
        await self._stop_replication()  # nothing more may arrive after failedAt
        if self.problem is not None:  # the held events did not apply: this state must not take over
            self._failing_over = False
            if self._recovering is None:
                self._recovering = asyncio.get_running_loop().create_task(self._recover())
            return False
        if self.cluster != cluster:  # a replicated cluster event (ActiveShutDown, say) came first
            self._failing_over = False
            self._start_replication()
            return False
        failed_at = self.journal.last_event_id
        body = {
            "clusterId": self.cluster_id,
            "from": self.node_id,
            "lostNodeId": lost,
            "eventId": failed_at,
            "failedAt": failed_at,
            "clusterState": cluster_state_to_json(cluster),
        }
        try:
            answer = await self.watch.node_loss(body)
        except Unreachable as e:
            answer = Problem(code="ClusterWatchUnreachable", message=str(e))
        if isinstance(answer, Problem):
            level = logging.WARNING if answer.code != self._last_refusal else logging.DEBUG
            log.log(level, "Active node %s is silent, but no failover: %s", lost, answer)
            self._last_refusal = answer.code
            self._failing_over = False
            self._start_replication()
            return False
        log.warning("Failing over: active node %s lost (the Cluster Watch consented), failedAt=%d", lost, failed_at)
        event = ClusterFailedOver(failed_active_id=lost, activated_id=self.node_id, failed_at=failed_at)
        if not self._result.done():
            self._result.set_result(Promoted(self.journal, self._holding.state, event))  # complete: stopped
        return True

    async def _promote_after_switchover(self, event_id: int) -> None:
        with contextlib.suppress(Unreachable):
            await self.peer.ack(self.node_id, event_id)  # the old active waits for it to finish
        log.info("Switched over: this node %s becomes active", self.node_id)
        state = self.complete_state()
        if state is not None and not self._result.done():
            self._result.set_result(Promoted(self.journal, state, None))
