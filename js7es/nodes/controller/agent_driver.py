"""Couples the Controller with one Agent: dedicates and couples it, sends it orders, items and marks,
adopts its events, and lets it release what the Controller has adopted (JS7's AgentDriver).

Everything it sends is derived from the Controller's committed state and is idempotent at the Agent,
so after any connection loss or restart it simply sends again what is still pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from js7es.domain.agent import commands as agent_commands
from js7es.domain.agent.events import AgentCoupled, AgentCouplingFailed, AgentDedicated
from js7es.domain.agent.translate import adopted_order_watch_events, check_applicable, controller_events
from js7es.domain.codec import type_name_of
from js7es.domain.event import KeyedEvent
from js7es.domain.items import SubagentBundle
from js7es.domain.order.order import Order
from js7es.domain.problem import Problem, problem
from js7es.domain.state import ControllerState, PreApplied
from js7es.domain.value import dumps
from js7es.nodes.client.http import Unreachable
from js7es.nodes.controller.agent_client import AgentClient

if TYPE_CHECKING:
    from js7es.nodes.engine import Engine

log = logging.getLogger(__name__)

BATCH_SIZE = 100
# After the first order to send, a moment for more to join its Batch (JS7's agent-driver
# command-batch-delay): each Batch costs both nodes an HTTP request and the Agent a commit, which
# node_bench's profile put at 13 % of the Controller's CPU with Batches of a few commands.
COMMAND_BATCH_DELAY_S = 0.005
RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0, 3.0)
PAIR_RETRY_DELAY_S = 0.3  # between two tries of both Directors of a pair


class AgentDriver:
    def __init__(
        self,
        *,
        engine: Engine,
        agent_path: str,
        client_factory: Callable[[str], AgentClient],
        poll_timeout_s: float = 10.0,
        release_period_s: float = 5.0,
        command_batch_delay_s: float = COMMAND_BATCH_DELAY_S,
    ) -> None:
        self.engine = engine
        self.command_batch_delay_s = command_batch_delay_s
        self.agent_path = agent_path
        self._client_factory = client_factory
        self.poll_timeout_s = poll_timeout_s
        self.release_period_s = release_period_s
        # Orders with something to send, in arrival order; attachments wait behind detachments and
        # marks, so that a flood of new orders does not hold back the ones finishing.
        # Each order as its last commit left it: commands are decided from committed orders only.
        self._pending: dict[str, Order] = {}
        self._pending_attach: dict[str, Order] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._items_sent: set[str] = set()
        self._job_resource_paths: dict[str, tuple[str, ...]] = {}  # per "Workflow:<id>": the JobResources it names
        self._subagents_sent: dict[str, str] = {}  # SubagentItem key -> its JSON as last sent
        self._json_made: dict[str, tuple[object, str]] = {}  # key -> (the item object, its JSON): see _json_of
        self._file_watches_there: set[str] = set()  # paths of the FileWatches the Agent runs
        self._subagent_keys_there: set[str] = set()  # keys of the SubagentItems and bundles the Agent has
        self._released = 0
        self._adopted = 0  # the Agent's EventId up to which its events are committed here
        self._client: AgentClient | None = None  # while a session runs (for ClusterSwitchOver)
        self._stopping = False

    @property
    def state(self) -> ControllerState:
        return self.engine.state

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"AgentDriver:{self.agent_path}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def order_changed(self, order: Order) -> None:
        """`order` as a commit left it (Engine.committed_order). The Agent is told only what is committed:
        the live state may hold events still in flight, which a crash or a failover would lose while the
        Agent acted on them (a mark sent ahead of its commit made the Agent's OrderCancellationMarked an
        event the restarted Controller refused)."""
        attaching = order.attached is not None and order.attached.kind == "Attaching"
        queue, other = (self._pending_attach, self._pending) if attaching else (self._pending, self._pending_attach)
        other.pop(order.id, None)
        queue[order.id] = order  # one already queued keeps its place
        self._wake.set()

    def items_changed(self) -> None:
        """An item changed at the Controller: send this Agent its SubagentItems again where they differ."""
        self._wake.set()

    def _take_pending(self, n: int) -> list[Order]:
        taken: list[Order] = []
        for queue in (self._pending, self._pending_attach):
            while queue and len(taken) < n:
                order_id = next(iter(queue))
                taken.append(queue.pop(order_id))
        return taken

    # -- the session loop -------------------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        director = 0  # which Director of a pair to try: the next one after each failed session
        while not self._stopping:
            uris = self._director_uris()
            uri = uris[director % len(uris)] if uris else None
            client = self._client_factory(uri) if uri else None
            try:
                if client is None:
                    raise Unreachable(f"AgentRef:{self.agent_path} has no URI")
                await self._session(client)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if self._stopping:
                    # Python 3.11's TaskGroup drops a cancellation that arrives while a child fails
                    # (it raises the child's error instead): `stop()` must still stop this loop.
                    raise asyncio.CancelledError from e
                error = _first_error(e)
                if isinstance(error, (Unreachable, _CouplingProblem)):
                    await self._coupling_failed(str(error))
                else:
                    log.error("AgentDriver %s failed", self.agent_path, exc_info=error)
                    await self._coupling_failed(f"{type(error).__name__}: {error}")
            else:
                failures = 0
            finally:
                if client is not None:
                    await client.close()
            director += 1
            if len(uris) > 1 and director % len(uris) != 0:
                continue  # a Director pair: the other Director at once (the active one answers)
            delay = RETRY_DELAYS_S[min(failures, len(RETRY_DELAYS_S) - 1)]
            if len(uris) > 1:  # a Director pair failing or switching over: its new active answers within moments
                delay = min(delay, PAIR_RETRY_DELAY_S)
            await asyncio.sleep(delay)
            failures += 1

    def _director_uris(self) -> list[str]:
        """The URIs of the Agent's Director(s): one for a standalone Agent, two for a Director pair (the
        Controller talks to whichever is active; the standby refuses with ClusterNodeIsNotActive)."""
        ref = self.state.agent_refs.get(self.agent_path)
        if ref is None:
            return []
        uris = [s.uri for d in ref.directors if (s := self.state.subagents.get(d)) is not None]
        if not uris and ref.uri:
            uris = [ref.uri]
        return uris

    async def _coupling_failed(self, message: str) -> None:
        log.info("Agent %s: %s", self.agent_path, message)
        agent = self.state.agents.get(self.agent_path)
        if self.agent_path in self.state.agent_refs and (agent is None or agent.problem != message):
            with contextlib.suppress(Exception):
                await self.engine.emit([KeyedEvent(self.agent_path, AgentCouplingFailed(problem=message))])

    async def switch_over(self) -> Problem | None:
        """Ask the active Director of the pair to hand over to its standby (ClusterSwitchOver)."""
        client = self._client
        if client is None:
            return problem("AgentNotCoupled", f"Agent {self.agent_path} is not coupled: no Director to switch over")
        reply = await client.command(agent_commands.AgentClusterSwitchOver())
        return reply if isinstance(reply, Problem) else None

    async def _session(self, client: AgentClient) -> None:
        self._client = client
        try:
            await self._coupled_session(client)
        finally:
            self._client = None

    async def _coupled_session(self, client: AgentClient) -> None:
        agent = self.state.agents.get(self.agent_path)
        if agent is None or agent.agent_run_id is None:
            ref = self.state.agent_refs[self.agent_path]
            reply = _checked(
                await client.command(
                    agent_commands.DedicateAgentDirector(
                        agent_path=self.agent_path,
                        directors=tuple(ref.directors),
                        controller_id=self.engine.controller_id,
                    )
                )
            )
            dedicated = AgentDedicated(agent_run_id=reply["agentRunId"], agent_event_id=int(reply["agentEventId"]))
            await self.engine.emit([KeyedEvent(self.agent_path, dedicated)])
            agent = self.state.agents[self.agent_path]
        assert agent.agent_run_id is not None  # dedicated above
        coupled = _checked(
            await client.command(
                agent_commands.CoupleController(
                    agent_path=self.agent_path, agent_run_id=agent.agent_run_id, event_id=agent.event_id
                )
            )
        )
        if self.state.agents[self.agent_path].coupling != "Coupled":
            await self.engine.emit([KeyedEvent(self.agent_path, AgentCoupled())])
        # Only this driver adopts the Agent's events, and none is in flight now: all are committed.
        self._adopted = self.state.agents[self.agent_path].event_id
        self._items_sent.clear()
        self._subagents_sent.clear()
        # FileWatches the Agent runs: those deleted here meanwhile are detached by the send loop
        self._file_watches_there = set(coupled.get("fileWatchPaths", ())) if isinstance(coupled, dict) else set()
        self._subagent_keys_there = set(coupled.get("subagentKeys", ())) if isinstance(coupled, dict) else set()
        async with self.engine.quiesced() as state:  # at a commit boundary: every order as committed
            for order in state.orders.values():
                if self._is_mine(order):
                    self.order_changed(order)
        self._wake.set()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._send_loop(client))
            group.create_task(self._event_loop(client))
            group.create_task(self._release_loop(client))

    def _is_mine(self, order: Order) -> bool:
        return order.attached is not None and order.attached.agent_path == self.agent_path

    # -- Controller → Agent ------------------------------------------------------------------------

    async def _send_loop(self, client: AgentClient) -> None:
        while True:
            await self._wake.wait()
            if self.command_batch_delay_s > 0 and len(self._pending) + len(self._pending_attach) < BATCH_SIZE:
                await asyncio.sleep(self.command_batch_delay_s)
            self._wake.clear()
            if subagents := self._subagent_commands():  # before orders: a disabled Subagent starts none
                replies = _checked(await client.command(agent_commands.AgentBatch(commands=tuple(subagents))))
                for reply in replies:
                    if isinstance(reply, dict) and reply.get("TYPE") == "Problem":
                        log.warning("Agent %s refused its SubagentItems: %s", self.agent_path, reply)
                        self._subagents_sent.clear()
            while orders := self._take_pending(BATCH_SIZE):
                commands: list[agent_commands.AgentCommand] = []
                for order in orders:
                    commands.extend(self._commands_for(order))
                if commands:
                    replies = _checked(await client.command(agent_commands.AgentBatch(commands=tuple(commands))))
                    for command, reply in zip(commands, replies, strict=False):
                        if isinstance(reply, dict) and reply.get("TYPE") == "Problem":
                            log.warning("Agent %s refused %s: %s", self.agent_path, type_name_of(type(command)), reply)
                            self._items_sent.clear()  # maybe the Agent lost an item: send them again

    def _commands_for(self, order: Order) -> list[agent_commands.AgentCommand]:
        if order.attached is None or order.attached.agent_path != self.agent_path:
            return []
        match order.attached.kind:
            case "Attaching":
                return [*self._item_commands(order), agent_commands.AttachOrder(order=order)]
            case "Detaching":
                return [agent_commands.DetachOrder(order_id=order.id)]
        if order.mark is not None and not order.mark_on_agent:
            return [agent_commands.MarkOrder(order_id=order.id, mark=order.mark)]
        return []

    def _subagent_commands(self) -> list[agent_commands.AgentCommand]:
        """The Agent's SubagentItems (their `disabled` rules where its jobs run) and the
        WorkflowPathControls (a suspended workflow, skipped jobs) and WorkflowControls (breakpoints)
        not sent as they are now."""
        items = []
        for subagent in sorted(self.state.subagents.values(), key=lambda s: s.id):
            if subagent.agent_path != self.agent_path:  # another Agent's: not even its JSON is made
                continue
            now = self._json_of(subagent.key, subagent, subagent.raw)
            if self._subagents_sent.get(subagent.key) != now:
                items.append(dict(subagent.raw))
                self._subagents_sent[subagent.key] = now
                self._subagent_keys_there.add(subagent.key)
        for bundle in sorted(self.state.subagent_bundles.values(), key=lambda b: b.id):
            if not self._is_my_bundle(bundle):
                continue
            now = self._json_of(bundle.key, bundle, bundle.raw)  # after its Subagents (one Agent's: checked)
            if self._subagents_sent.get(bundle.key) != now:
                items.append(dict(bundle.raw))
                self._subagents_sent[bundle.key] = now
                self._subagent_keys_there.add(bundle.key)
        for control in sorted(self.state.workflow_path_controls.values(), key=lambda c: c.path):
            now = self._json_of(control.key, control, control.raw)  # every Agent: it may hold the workflow's orders
            if self._subagents_sent.get(control.key) != now:
                items.append(dict(control.raw))
                self._subagents_sent[control.key] = now
        for workflow_control in sorted(self.state.workflow_controls.values(), key=lambda c: c.key):
            now = self._json_of(workflow_control.key, workflow_control, None)
            if self._subagents_sent.get(workflow_control.key) != now:
                items.append(workflow_control.to_json())
                self._subagents_sent[workflow_control.key] = now
        for watch_state in sorted(self.state.order_watches.watches.values(), key=lambda w: w.item.path):
            watch = watch_state.item  # JS7 attaches a FileWatch to its Agent, which watches the directory
            if watch.agent_path != self.agent_path:
                continue
            now = self._json_of(watch.key, watch, watch.raw)
            if self._subagents_sent.get(watch.key) != now:
                items.append(dict(watch.raw))
                self._subagents_sent[watch.key] = now
                self._file_watches_there.add(watch.path)
        commands: list[agent_commands.AgentCommand] = []
        resets: list[agent_commands.AgentCommand] = []  # after the items: they may bring the Subagent
        for subagent_id, force in sorted(self.state.subagent_resets.items()):
            reset = self.state.subagents.get(subagent_id)
            sent_key, now = f"ResetSubagent:{subagent_id}", dumps({"force": force})
            mine = reset is not None and reset.agent_path == self.agent_path
            if mine and self._subagents_sent.get(sent_key) != now:
                # JS7's CommandQueue: sent again after a reconnection until the Agent's SubagentResetStarted
                # arrives; the Agent may reset it twice then, which loses nothing more
                resets.append(agent_commands.ResetSubagent(subagent_id=subagent_id, force=force))
                self._subagents_sent[sent_key] = now
        for key in sorted(self._subagent_keys_there):  # deleted here: detached there (bundles first)
            kind, _, ident = key.partition(":")
            table: Mapping[str, object] = (
                self.state.subagents if kind == "SubagentItem" else self.state.subagent_bundles
            )
            if ident not in table:
                commands.append(agent_commands.DetachItem(key=key))
                self._subagent_keys_there.discard(key)
                self._subagents_sent.pop(key, None)
                self._json_made.pop(key, None)
        for path in sorted(self._file_watches_there):
            there = self.state.order_watches.watches.get(path)
            if there is None or there.item.agent_path != self.agent_path:
                commands.append(agent_commands.DetachItem(key=f"OrderWatch:{path}"))
                self._file_watches_there.discard(path)
                self._subagents_sent.pop(f"OrderWatch:{path}", None)
                self._json_made.pop(f"OrderWatch:{path}", None)
        attach = [agent_commands.AttachItems(items=tuple(items))] if items else []
        return [*commands, *attach, *resets]

    def _json_of(self, key: str, item: Any, raw: Mapping[str, Any] | None) -> str:
        """The JSON of an item to compare with what was sent, made once per item object (items are
        immutable: a change is a new object). Made anew for every Batch, every SubagentItem, bundle,
        workflow control and FileWatch of the Controller was written per Batch: work proportional to
        the items, for every few orders."""
        made = self._json_made.get(key)
        if made is not None and made[0] is item:
            return made[1]
        now = dumps(dict(raw) if raw is not None else item.to_json())
        self._json_made[key] = (item, now)
        return now

    def _is_my_bundle(self, bundle: SubagentBundle) -> bool:
        """A bundle goes to the Agent its Subagents belong to (its Directors' or its SubagentItems)."""
        ref = self.state.agent_refs.get(self.agent_path)
        mine = set(ref.directors) if ref is not None else set()
        mine |= {s.id for s in self.state.subagents.values() if s.agent_path == self.agent_path}
        return any(subagent_id in mine for subagent_id in bundle.subagent_to_priority)

    def _item_commands(self, order: Order) -> list[agent_commands.AgentCommand]:
        workflow = self.state.workflow_of(order)
        if workflow is None:
            return []
        items = []
        key = f"Workflow:{workflow.id}"
        if key not in self._items_sent:
            items.append(dict(workflow.raw))
            self._items_sent.add(key)
        paths = self._job_resource_paths.get(key)
        if paths is None:  # a version never changes: its walk once, not once per order (node_bench's profile)
            found = set(workflow.job_resource_paths)
            for _, instruction in workflow.positions():
                job = workflow.job_of(instruction)
                if job is not None:
                    found.update(job.job_resource_paths)
            paths = self._job_resource_paths[key] = tuple(sorted(found))
        for path in paths:
            resource = self.state.job_resources.get(path)
            if resource is not None and resource.key not in self._items_sent:
                items.append(dict(resource.raw))
                self._items_sent.add(resource.key)
        return [agent_commands.AttachItems(items=tuple(items))] if items else []

    # -- Agent → Controller ------------------------------------------------------------------------

    async def _event_loop(self, client: AgentClient) -> None:
        while True:
            after = self.state.agents[self.agent_path].event_id
            batches = _checked(await client.events(after, timeout_s=self.poll_timeout_s, limit=10_000))
            async with contextlib.aclosing(batches):  # its read-ahead ends with this loop
                async for stamped in batches:
                    await self.engine.admission()  # before deciding from the state: emit applies at once
                    known = adopted_order_watch_events(self.state, controller_events(self.agent_path, stamped))
                    if isinstance(known, Problem):
                        raise _CouplingProblem(f"Agent events do not fit: {known}")
                    events = known
                    checked: PreApplied = {}
                    inapplicable = check_applicable(self.state.orders, events, checked)
                    if inapplicable is not None:
                        raise _CouplingProblem(f"Agent events do not fit: {inapplicable}")
                    with self.state.applying_checked(checked):  # what the check computed is not computed again
                        applied = self.engine.apply_and_follow(events)
                    await self.engine.persist(applied)
                    self._adopted = self.state.agents[self.agent_path].event_id  # committed with that emit

    async def _release_loop(self, client: AgentClient) -> None:
        while True:
            await asyncio.sleep(self.release_period_s)
            # Committed, not merely applied: in a cluster a commit may still wait for the standby, and
            # a new active node after a failover must find at the Agent every event it does not have.
            observed = self._adopted
            if observed > self._released:
                _checked(await client.command(agent_commands.ReleaseAgentEvents(until_event_id=observed)))
                self._released = observed


class _CouplingProblem(Exception):
    def __init__(self, problem: Problem | str) -> None:
        super().__init__(str(problem))
        self.code = problem.code if isinstance(problem, Problem) else None


def _first_error(e: BaseException) -> BaseException:
    """The cause of a session's end: the first error of a TaskGroup's group."""
    while isinstance(e, BaseExceptionGroup) and e.exceptions:
        e = e.exceptions[0]
    return e


def _checked(result: Any) -> Any:
    if isinstance(result, Problem):
        raise _CouplingProblem(result)
    return result
