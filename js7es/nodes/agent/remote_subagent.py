"""The Director's driver of one remote Subagent (JS7's RemoteSubagentDriver) and its HTTP client.

A session: DedicateSubagent (once per Subagent run; journaled as SubagentDedicated) or CoupleDirector
(the run journaled before, from the last Subagent event the Director journaled), then four loops until
the connection fails: commands out (StartOrderProcess, KillProcess), the Subagent's events in (a
heartbeat stream; journaled by the JobRunner with SubagentEventsObserved in one commit), ReleaseEvents of
what is committed, and the Director's heartbeat (NoOperation). Between sessions it waits 0.5 s … 10 s.

While the Subagent is unreachable its steps stay Processing (its processes may still run). When it
answers CoupleDirector with SubagentNotDedicated (it restarted: a new run), or when it is reset, each
step that was processing there ends as Disrupted(ProcessLost) — the order repeats it unless the job is
not restartable — with SubagentRestarted or SubagentReset. Every command is idempotent at the Subagent,
so after a reconnection the starts not yet acknowledged are simply sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Callable
from typing import Any

from js7es.domain import codec
from js7es.domain.agent.events import SubagentDedicated, SubagentReset, SubagentRestarted
from js7es.domain.event import KeyedEvent, Stamped, stamped_from_json
from js7es.domain.problem import Problem
from js7es.domain.subagent.commands import (
    CoupleDirector,
    DedicateSubagent,
    KillProcess,
    StartOrderProcess,
    SubagentBatch,
    SubagentCommand,
    SubagentNoOperation,
    SubagentReleaseEvents,
    SubagentShutDown,
)
from js7es.domain.value import loads
from js7es.nodes.agent.subagents import RemoteJobProcess, SubagentHost
from js7es.nodes.client.command_stream import CommandStreamClient
from js7es.nodes.client.http import Unreachable, read_ahead, timeouts
from js7es.nodes.subagent.base import JobProcess
from js7es.nodes.subagent.spec import OutputCallback, ProcessSpec
from js7es.nodes.subagent.wire import start_command

log = logging.getLogger(__name__)

RECONNECT_DELAYS_S = (0.5, 1.0, 2.0, 5.0, 10.0)
RESTARTED = ("SubagentNotDedicated", "SubagentRunIdMismatch")
RESET_TIMEOUT_S = 5.0
BATCH_SIZE = 100  # commands per request


class SubagentClient(CommandStreamClient):
    """A Subagent's `/subagent/api`: answers are values or Problems; no answer raises Unreachable. Commands
    go over its command stream (client/command_stream.py): a StartOrderProcess the Director gave up on
    and sent again, delivered late after a network cut healed, would otherwise start the step a second
    time once its outcome was released (the Subagent's repetition check has forgotten the step then)."""

    REFUSED_CODE = "SubagentRefused"
    COMMAND_PATH = "/subagent/api/command"

    async def command(self, command: SubagentCommand, *, timeout_s: float | None = None) -> Any | Problem:
        return await self.send_command(codec.encode(command), timeout_s=timeout_s)

    async def events(
        self, after: int, *, heartbeat_s: float, timeout_s: float
    ) -> AsyncGenerator[list[Stamped], None] | Problem:
        """The Subagent's events after `after` in batches as they come (joined while the Director
        commits the last batch: `read_ahead`); a stream silent for `timeout_s` raises Unreachable."""
        params = {"after": str(after), "heartbeat": str(heartbeat_s), "delay": "0.005"}
        response = await self._node.open_stream(
            "/subagent/api/event", params, timeout=timeouts(timeout_s, connect_s=3.0)
        )
        if isinstance(response, Problem):
            return response
        return read_ahead(self._batches(response))

    async def _batches(self, response: Any) -> AsyncGenerator[list[Stamped], None]:
        async for lines in self._node.lines(response):
            yield [stamped_from_json(loads(line)) for line in lines]


class _CouplingProblem(Exception):
    pass


def _checked(result: Any) -> Any:
    if isinstance(result, Problem):
        raise _CouplingProblem(str(result))
    return result


class RemoteSubagentDriver:
    def __init__(
        self,
        *,
        subagent_id: str,
        uri: str,
        host: SubagentHost,
        client_factory: Callable[[str], SubagentClient],
        on_coupling: Callable[[], None],
        heartbeat_s: float = 3.0,
        heartbeat_timeout_s: float = 10.0,
        release_period_s: float = 1.0,
    ) -> None:
        self._subagent_id = subagent_id
        self.uri = uri
        self.host = host
        self._client_factory = client_factory
        self._on_coupling = on_coupling
        self.heartbeat_s = heartbeat_s
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.release_period_s = release_period_s
        self._coupled = False
        self.processes: dict[str, RemoteJobProcess] = {}
        self._to_start: dict[str, StartOrderProcess] = {}  # not yet acknowledged by the Subagent
        self._to_kill: dict[str, str] = {}  # order id → signal
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._released = 0
        self._committed = 0  # the Subagent's EventId up to which its events are committed here
        self.last_problem: str | None = None
        self._coupled_once = False  # the last session got as far as coupling

    @property
    def subagent_id(self) -> str:
        return self._subagent_id

    @property
    def is_coupled(self) -> bool:
        return self._coupled

    def _set_coupled(self, coupled: bool, problem: str | None = None) -> None:
        if problem is not None and problem != self.last_problem:
            log.info("Subagent %s: %s", self.subagent_id, problem)
        self.last_problem = problem
        if coupled != self._coupled:
            self._coupled = coupled
            log.info("Subagent %s %s", self.subagent_id, "coupled" if coupled else "decoupled")
            self._on_coupling()

    # -- the JobRunner's side ---------------------------------------------------------------------

    async def start(self, spec: ProcessSpec, on_output: OutputCallback) -> JobProcess:
        """The step's process there: its StartOrderProcess goes out with the next command batch (again
        after a reconnection until acknowledged); output and outcome come with the Subagent's events."""
        del on_output  # journaled with the Subagent's event position by the JobRunner
        process = self.processes.get(spec.order_id)
        if process is None:
            process = self.processes[spec.order_id] = RemoteJobProcess(self._kill, spec.order_id)
        self._to_start[spec.order_id] = start_command(spec)
        self._wake.set()
        return process

    def _kill(self, order_id: str, immediately: bool) -> None:
        if order_id in self.processes:
            self._to_kill[order_id] = (
                "SIGKILL" if immediately or self._to_kill.get(order_id) == "SIGKILL" else "SIGTERM"
            )
            self._wake.set()

    def processed(self, order_id: str, outcome: Any) -> None:
        """The step's OrderProcessed is committed: its process ends."""
        self._to_start.pop(order_id, None)
        self._to_kill.pop(order_id, None)
        process = self.processes.pop(order_id, None)
        if process is not None:
            process.processed(outcome)

    def adopt(self, previous: RemoteSubagentDriver) -> None:
        """Follow the steps of the driver this one replaces (the Subagent's URI changed)."""
        self.processes.update(previous.processes)
        self._to_start.update(previous._to_start)
        self._to_kill.update(previous._to_kill)

    # -- the session loop -------------------------------------------------------------------------

    def start_observing(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"Subagent:{self.subagent_id}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._set_coupled(False)

    async def reset(self) -> None:
        await self.stop()
        client = self._client_factory(self.uri)
        try:  # one try now; an unreachable Subagent ends that run when it is dedicated again (`_dedicate`)
            await client.command(SubagentShutDown(process_signal="SIGKILL", restart=True), timeout_s=RESET_TIMEOUT_S)
        except Unreachable as e:
            log.warning("Subagent %s: ShutDown for the reset failed: %s", self.subagent_id, e)
        finally:
            await client.close()
        await self.host.subagent_lost(self.subagent_id, SubagentReset(), "ProcessLostDueToReset")
        self.start_observing()

    async def _run(self) -> None:
        failures = 0
        while True:
            client = self._client_factory(self.uri)
            try:
                await self._session(client)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                error = _first_error(e)
                if isinstance(error, (Unreachable, _CouplingProblem, TimeoutError)):
                    self._set_coupled(False, str(error) or type(error).__name__)
                else:
                    log.error("Subagent %s driver failed", self.subagent_id, exc_info=error)
                    self._set_coupled(False, f"{type(error).__name__}: {error}")
            finally:
                with contextlib.suppress(Exception):
                    await client.close()
            if self._coupled_once:
                failures = 0
            await asyncio.sleep(RECONNECT_DELAYS_S[min(failures, len(RECONNECT_DELAYS_S) - 1)])
            failures += 1

    async def _session(self, client: SubagentClient) -> None:
        self._coupled_once = False
        state = self.host.state
        run = state.subagent_runs.get(self.subagent_id)
        if run is not None and not run.ended:
            coupled = await client.command(
                CoupleDirector(subagent_id=self.subagent_id, subagent_run_id=run.subagent_run_id, event_id=run.event_id)
            )
            if isinstance(coupled, Problem) and coupled.code in RESTARTED:
                log.warning("Subagent %s restarted: its order processes are lost", self.subagent_id)
                await self.host.subagent_lost(self.subagent_id, SubagentRestarted(), "ProcessLostDueToRestart")
                run = None
            else:
                _checked(coupled)
        if run is None or run.ended:
            run_id = await self._dedicate(client, None if run is None else run.subagent_run_id)
            await self.host.engine.emit([KeyedEvent(self.subagent_id, SubagentDedicated(subagent_run_id=run_id))])
            run = self.host.state.subagent_runs[self.subagent_id]
            _checked(
                await client.command(
                    CoupleDirector(
                        subagent_id=self.subagent_id, subagent_run_id=run.subagent_run_id, event_id=run.event_id
                    )
                )
            )
        self._committed = self._released = run.event_id
        self._coupled_once = True
        self._set_coupled(True)
        self._wake.set()
        async with asyncio.TaskGroup() as group:
            group.create_task(self._send_loop(client))
            group.create_task(self._event_loop(client))
            group.create_task(self._release_loop(client))
            group.create_task(self._heartbeat_loop(client))

    async def _dedicate(self, client: SubagentClient, ended_run_id: str | None) -> str:
        """A new run of the Subagent for this Director. The Subagent answers a repeated DedicateSubagent
        with the run it has; when that is a run this Director ended (a reset that did not reach it), the
        run ends there now (its processes are killed), and the next is dedicated."""
        state = self.host.state
        command = DedicateSubagent(
            subagent_id=self.subagent_id,
            agent_path=state.agent_path or "",
            agent_run_id=state.agent_run_id or "",
            controller_id=state.controller_id or "",
        )
        run_id = str(_checked(await client.command(command))["subagentRunId"])
        if run_id == ended_run_id:
            log.info("Subagent %s still runs the run that was reset: ending it", self.subagent_id)
            _checked(await client.command(SubagentShutDown(process_signal="SIGKILL", restart=True)))
            run_id = str(_checked(await client.command(command))["subagentRunId"])
        return run_id

    async def _send_loop(self, client: SubagentClient) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._to_start or self._to_kill:
                starts = list(self._to_start.items())[:BATCH_SIZE]
                kills = [(o, s) for o, s in self._to_kill.items() if o not in self._to_start][
                    : BATCH_SIZE - len(starts)
                ]
                if not starts and not kills:
                    break  # kills wait for their starts' acknowledgement
                commands: list[SubagentCommand] = [c for _, c in starts]
                commands += [KillProcess(order_id=o, signal=s) for o, s in kills]
                replies = _checked(await client.command(SubagentBatch(commands=tuple(commands))))
                for reply in replies:
                    if isinstance(reply, dict) and reply.get("TYPE") == "Problem":
                        raise _CouplingProblem(f"Subagent refused a command: {reply.get('message')}")
                for order_id, command in starts:
                    if self._to_start.get(order_id) is command:
                        del self._to_start[order_id]
                for order_id, signal in kills:
                    if self._to_kill.get(order_id) == signal:
                        del self._to_kill[order_id]

    async def _event_loop(self, client: SubagentClient) -> None:
        while True:
            after = self.host.state.subagent_runs[self.subagent_id].event_id
            batches = _checked(
                await client.events(after, heartbeat_s=self.heartbeat_s, timeout_s=self.heartbeat_timeout_s)
            )
            async with contextlib.aclosing(batches):  # its read-ahead ends with this loop
                async for stamped in batches:
                    await self.host.engine.admission()
                    await self.host.subagent_events(self.subagent_id, stamped)
                    self._committed = stamped[-1].event_id

    async def _release_loop(self, client: SubagentClient) -> None:
        while True:
            await asyncio.sleep(self.release_period_s)
            committed = self._committed
            if committed > self._released:
                _checked(await client.command(SubagentReleaseEvents(until_event_id=committed)))
                self._released = committed

    async def _heartbeat_loop(self, client: SubagentClient) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            _checked(await client.command(SubagentNoOperation(), timeout_s=self.heartbeat_timeout_s))


def _first_error(e: BaseException) -> BaseException:
    while isinstance(e, BaseExceptionGroup) and e.exceptions:
        e = e.exceptions[0]
    return e
