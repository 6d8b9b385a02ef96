"""The Subagent node and the Director's drivers of it, in one process: the Subagent's commands on its core
(dedication, idempotent starts, release, the end of a run), and a Director (AgentDirector on a memory
journal) driving a Subagent served by uvicorn on loopback — what the end-to-end tests cannot reach
cheaply: ResetSubagent (`SubagentPool.reset`), coupling changes, a repeated start after a reconnection."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from js7es.domain import codec
from js7es.domain.agent.agent_state import AgentState, SubagentRun
from js7es.domain.agent.commands import AttachItems, AttachOrder, DedicateAgentDirector
from js7es.domain.agent.events import (
    SubagentDedicated,
    SubagentEventsObserved,
    SubagentReset,
    SubagentRestarted,
)
from js7es.domain.event import Stamped
from js7es.domain.order import states as st
from js7es.domain.order.events import OrderProcessed, OrderProcessingStarted, OrderStdoutWritten
from js7es.domain.order.order import Order
from js7es.domain.order.outcome import Disrupted, Failed, Killed, Succeeded
from js7es.domain.problem import Problem
from js7es.domain.subagent.commands import (
    CoupleDirector,
    DedicateSubagent,
    KillProcess,
    StartOrderProcess,
    SubagentReleaseEvents,
    SubagentShutDown,
)
from js7es.domain.workflow.job import ReturnCodeMeaning, ShellScriptExecutable
from js7es.domain.workflow.workflow import WorkflowId
from js7es.journal.memory import MemoryJournal
from js7es.nodes.agent.director import AgentDirector
from js7es.nodes.agent.remote_subagent import SubagentClient
from js7es.nodes.http import Authenticator, NodeOverview, Users, build_app
from js7es.nodes.subagent.api import PREFIX, decode_command, subagent_routes
from js7es.nodes.subagent.node import SubagentNode
from js7es.nodes.subagent.spec import ProcessSpec
from js7es.nodes.subagent.wire import spec_of, start_command
from tests.nodes.serving import Counting, serving
from tests.nodes.waiting import until

AGENT = "agent"
DEDICATE = DedicateSubagent(subagent_id="sub", agent_path=AGENT, agent_run_id="run-1", controller_id="C")


def script(text: str) -> dict[str, Any]:
    return {"TYPE": "ShellScriptExecutable", "script": text}


def events_of(node: SubagentNode) -> list[Stamped]:
    read = node.journal.read(node.journal.segments()[0].file_event_id)  # what is kept
    assert not isinstance(read, Problem)
    return list(read)


# -- the Subagent's core --------------------------------------------------------------------------------


def test_a_subagent_serves_one_director_starts_each_order_once_and_keeps_its_events_until_released(
    tmp_path: Path,
) -> None:
    async def run() -> None:
        node = SubagentNode(work_dir=tmp_path / "work", subagent_id="sub")
        try:
            assert isinstance(await node.execute(StartOrderProcess(order_id="o", executable=script("true"))), Problem)
            first = await node.execute(DEDICATE)
            assert not isinstance(first, Problem)
            assert await node.execute(DEDICATE) == first  # idempotent for the same Agent run
            for other in ({"agent_path": "other"}, {"agent_run_id": "run-2"}, {"controller_id": "other"}):
                refused = await node.execute(replace(DEDICATE, **other))
                assert isinstance(refused, Problem) and refused.code == "SubagentAlreadyDedicated"
            wrong_id = await node.execute(replace(DEDICATE, subagent_id="x"))
            assert isinstance(wrong_id, Problem) and wrong_id.code == "SubagentIdMismatch"
            run_id = first["subagentRunId"]
            assert await node.execute(CoupleDirector(subagent_id="sub", subagent_run_id=run_id, event_id=0)) == {
                "TYPE": "Accepted"
            }

            marker = tmp_path / "ran"
            start = StartOrderProcess(order_id="o", executable=script(f"echo x >> {marker}\necho hello\n"))
            for _ in range(3):  # repeated after a connection loss: started once
                await node.execute(start)
            await until(lambda: any(isinstance(s.event, OrderProcessed) for s in events_of(node)))
            assert await node.execute(start) == {"TYPE": "Accepted"}  # its outcome not released yet: not again
            assert marker.read_text() == "x\n"
            events = events_of(node)
            assert [type(s.event) for s in events] == [OrderStdoutWritten, OrderProcessed]
            assert events[0].event == OrderStdoutWritten(chunk="hello\n")
            assert events[1].event == OrderProcessed(outcome=Succeeded(named_values={"returnCode": 0}))
            assert {s.key for s in events} == {"o"}

            bad = await node.execute(StartOrderProcess(order_id="bad", executable={"TYPE": "Nonsense"}))
            assert bad == {"TYPE": "Accepted"}  # the step fails, as a step that cannot start does
            last = events_of(node)[-1]
            assert last.key == "bad" and isinstance(last.event, OrderProcessed)
            assert isinstance(last.event.outcome, Failed)

            assert await node.execute(SubagentReleaseEvents(until_event_id=last.event_id)) == {"TYPE": "Accepted"}
            assert events_of(node) == []  # released
            assert node.journal.last_event_id == last.event_id
            await node.execute(start)  # released, so a new step of the order: it runs again
            await until(lambda: marker.read_text() == "x\nx\n")
            too_far = await node.execute(SubagentReleaseEvents(until_event_id=last.event_id + 10**9))
            assert isinstance(too_far, Problem)

            # The end of the run (ResetSubagent's ShutDown with restart): undedicated, its processes killed.
            sleeper = StartOrderProcess(order_id="sleeper", executable=script("sleep 60"))
            await node.execute(sleeper)
            await until(lambda: node.launcher.running == 1)
            assert await node.execute(SubagentShutDown(process_signal="SIGKILL", restart=True)) == {"TYPE": "Accepted"}
            assert node.launcher.running == 0 and node.dedication is None
            gone = await node.execute(CoupleDirector(subagent_id="sub", subagent_run_id=run_id, event_id=0))
            assert isinstance(gone, Problem) and gone.code == "SubagentNotDedicated"
            again = await node.execute(DEDICATE)
            assert not isinstance(again, Problem) and again["subagentRunId"] != run_id
            assert await node.execute(KillProcess(order_id="unknown", signal="SIGKILL")) == {"TYPE": "Accepted"}
            assert isinstance(await node.execute(KillProcess(order_id="unknown", signal="SIGHUP")), Problem)
        finally:
            await node.stop()

    asyncio.run(run())


def test_the_next_step_of_an_order_runs_before_the_earlier_outcome_is_released(tmp_path: Path) -> None:
    """StartOrderProcess names its step (position and outcome count): a repetition of a step starts
    nothing, the order's next step on the same Subagent starts even before the periodic ReleaseEvents
    (the suite found an order hanging there: its next step was taken for a repetition)."""

    async def run() -> None:
        node = SubagentNode(work_dir=tmp_path / "work", subagent_id="sub")
        try:
            await node.execute(DEDICATE)
            marker = tmp_path / "ran"
            first = StartOrderProcess(order_id="o", executable=script(f"echo 1 >> {marker}\n"), step="[0]:0")
            second = replace(first, executable=script(f"echo 2 >> {marker}\n"), step="[1]:1")
            for _ in range(2):
                await node.execute(first)
            await until(lambda: sum(isinstance(s.event, OrderProcessed) for s in events_of(node)) == 1)
            assert await node.execute(first) == {"TYPE": "Accepted"}  # a repetition: not again
            for _ in range(2):  # not released yet: the next step runs, once
                assert await node.execute(second) == {"TYPE": "Accepted"}
            await until(lambda: sum(isinstance(s.event, OrderProcessed) for s in events_of(node)) == 2)
            await asyncio.sleep(0.3)
            assert marker.read_text() == "1\n2\n"
        finally:
            await node.stop()

    asyncio.run(run())


def test_commands_are_checked_before_they_are_decoded() -> None:
    assert not isinstance(decode_command({"TYPE": "KillProcess", "orderId": "o"}), Problem)
    for body, code in (
        ([], "InvalidRequest"),
        ({"TYPE": "AttachOrder"}, "UnknownCommand"),
        ({"TYPE": "KillProcess"}, "MissingField"),
        ({"TYPE": "KillProcess", "orderId": 1}, "WrongType"),
        ({"TYPE": "ReleaseEvents", "untilEventId": -1}, "InvalidRequest"),
        ({"TYPE": "StartOrderProcess", "orderId": "o", "executable": {}, "env": {"A": 1}}, "InvalidRequest"),
        ({"TYPE": "NoOperation", "x": 1}, "UnknownField"),
    ):
        decoded = decode_command(body)
        assert isinstance(decoded, Problem) and decoded.code == code, (body, decoded)


def test_a_process_spec_crosses_the_wire_unchanged(tmp_path: Path) -> None:
    spec = ProcessSpec(
        order_id="o",
        job_name="J",
        workflow_path="W",
        executable=ShellScriptExecutable(
            script="exit 3", return_code_meaning=ReturnCodeMeaning(success=((0, 0), (3, 5))), v1_compatible=True
        ),
        env={"A": "1"},
        arguments={"n": 7, "s": "x"},
        work_dir=tmp_path,
        executables_dir=tmp_path / "bin",
        timeout_s=2.5,
        sigkill_delay_s=1.0,
        fail_on_err_written=True,
        return_code_meaning=ReturnCodeMeaning(success=((0, 0), (3, 5))),
        v1_compatible=True,
    )
    command = start_command(spec)
    decoded = decode_command(_json(command))
    assert decoded == command
    assert isinstance(decoded, StartOrderProcess)
    assert spec_of(decoded, work_dir=tmp_path, executables_dir=tmp_path / "bin") == spec


def _json(command: Any) -> Any:
    from js7es.domain import codec
    from js7es.domain.value import dumps, loads

    return loads(dumps(codec.encode(command)))


# -- a Director driving a Subagent over HTTP ------------------------------------------------------------

USERS = {"director": {"password": "plain:pw", "permissions": ["AgentDirector"]}}


@pytest.fixture
def counted_subagent(tmp_path: Path) -> Iterator[tuple[SubagentNode, str, Counting]]:
    node = SubagentNode(work_dir=tmp_path / "subagent", subagent_id="sub")
    auth = Authenticator(Users.from_config(USERS))
    app = Counting(
        build_app(
            prefix=PREFIX, overview=NodeOverview(id="sub"), authenticator=auth, routes=subagent_routes(node, auth)
        )
    )
    with serving(app) as uri:
        yield node, uri, app
    node.launcher.close()


@pytest.fixture
def subagent(counted_subagent: tuple[SubagentNode, str, Counting]) -> tuple[SubagentNode, str]:
    node, uri, _ = counted_subagent
    return node, uri


def workflow_json(script_text: str, **job: Any) -> dict[str, Any]:
    return {
        "TYPE": "Workflow",
        "path": "W",
        "versionId": "1",
        "instructions": [
            {
                "TYPE": "Execute.Anonymous",
                "job": {"agentPath": AGENT, "executable": script(script_text), "processLimit": 10, **job},
            }
        ],
    }


class Director:
    def __init__(self, tmp_path: Path, uri: str) -> None:
        self.director = AgentDirector(
            journal=MemoryJournal.open(),
            work_dir=tmp_path / "director",
            subagent_client_factory=self._client,
        )
        self.uri = uri
        self.reachable = True  # False: the Director's connections to the Subagent are refused
        self.stamped: list[Stamped] = []
        self.director.engine.on_commit(self.stamped.extend)

    timeout_s = 10.0  # the Subagent's answer to a command

    def _client(self, uri: str) -> SubagentClient:
        return SubagentClient(
            uri if self.reachable else "http://127.0.0.1:9",
            ssl_context=None,
            auth=("director", "pw"),
            timeout_s=self.timeout_s,
        )

    @property
    def state(self) -> AgentState:
        return self.director.state

    async def start(self, *workflows: dict[str, Any]) -> None:
        local = {"TYPE": "SubagentItem", "id": "local", "agentPath": AGENT, "uri": "https://-", "disabled": True}
        remote = {"TYPE": "SubagentItem", "id": "sub", "agentPath": AGENT, "uri": self.uri}
        for command in (
            DedicateAgentDirector(agent_path=AGENT, controller_id="C", directors=("local",)),
            AttachItems(items=(local, remote, *workflows)),
        ):
            assert not isinstance(await self.director.execute(command), Problem)
        await until(lambda: self.director.runner.pool.is_coupled("sub"))

    async def attach(self, order_id: str, workflow: str = "W") -> None:
        order = Order(id=order_id, workflow_id=WorkflowId(workflow, "1"), position=(0,), state=st.Ready())
        assert not isinstance(await self.director.execute(AttachOrder(order=order)), Problem)

    def events(self, order_id: str) -> list[Any]:
        return [s.event for s in self.stamped if s.key == order_id]

    def processed(self, order_id: str) -> list[Any]:
        return [e.outcome for e in self.events(order_id) if isinstance(e, OrderProcessed)]


def test_a_director_runs_steps_on_its_subagent_and_resets_it(
    tmp_path: Path, subagent: tuple[SubagentNode, str]
) -> None:
    node, uri = subagent

    async def run() -> None:
        director = Director(tmp_path, uri)
        await director.start(workflow_json("echo hello; sleep ${JS7_ARG_SLEEP:-0}"))
        try:
            await director.attach("quick")
            await until(lambda: bool(director.processed("quick")))
            assert director.processed("quick") == [Succeeded(named_values={"returnCode": 0})]
            assert [type(e).__name__ for e in director.events("quick")] == [
                "OrderAttachedToAgent",
                "OrderProcessingStarted",
                "OrderStdoutWritten",
                "OrderProcessed",
                "OrderMoved",
                "OrderDetachable",
            ]
            assert OrderProcessingStarted(subagent_id="sub") in director.events("quick")
            assert OrderStdoutWritten(chunk="hello\n") in director.events("quick")
            dedicated = [s for s in director.stamped if isinstance(s.event, SubagentDedicated)]
            assert [s.key for s in dedicated] == ["sub"]
            assert isinstance(dedicated[0].event, SubagentDedicated)
            observed = [s.event for s in director.stamped if isinstance(s.event, SubagentEventsObserved)]
            assert observed and director.state.subagent_runs["sub"] == SubagentRun(
                subagent_run_id=dedicated[0].event.subagent_run_id, event_id=observed[-1].until_event_id
            )
            # The Subagent releases what the Director has committed.
            await until(lambda: events_of(node) == [])

            killed = Order(
                id="killed", workflow_id=WorkflowId("W", "1"), position=(0,), state=st.Ready(), arguments={"SLEEP": 60}
            )
            assert not isinstance(await director.director.execute(AttachOrder(order=killed)), Problem)
            await until(lambda: node.launcher.running == 1)
            director.director.runner.kill("killed", immediately=True)  # a cancellation or suspension with kill
            await until(lambda: bool(director.processed("killed")))
            assert director.processed("killed") == [Killed(outcome=Failed(named_values={"returnCode": 137}))]
            assert node.launcher.running == 0

            order = Order(
                id="long", workflow_id=WorkflowId("W", "1"), position=(0,), state=st.Ready(), arguments={"SLEEP": 60}
            )
            assert not isinstance(await director.director.execute(AttachOrder(order=order)), Problem)
            await until(lambda: node.launcher.running == 1)
            await director.director.reset_subagent("sub")  # ResetSubagent
            await until(lambda: bool(director.processed("long")))
            assert node.launcher.running == 0  # killed there
            assert director.processed("long") == [Disrupted(reason="ProcessLost", message="ProcessLostDueToReset")]
            assert any(isinstance(s.event, SubagentReset) and s.key == "sub" for s in director.stamped)
            # Dedicated again (a new run), the step runs again there (the order repeats it) and ends.
            await until(lambda: len([s for s in director.stamped if isinstance(s.event, SubagentDedicated)]) == 2)
            await until(lambda: node.launcher.running == 1)
            assert director.state.orders["long"].position == (0,)
        finally:
            await director.director.stop()

    asyncio.run(run())


def test_the_director_commands_its_subagent_over_the_command_stream(
    tmp_path: Path, counted_subagent: tuple[SubagentNode, str, Counting]
) -> None:
    """Dedication, coupling, starts, releases and heartbeats: all over one stream, none POSTed (a POST has
    no guard against a stale StartOrderProcess, tests below)."""
    node, uri, app = counted_subagent

    async def run() -> None:
        director = Director(tmp_path, uri)
        await director.start(workflow_json("echo hello"))
        try:
            for i in range(3):
                await director.attach(f"o{i}")
            await until(lambda: all(director.processed(f"o{i}") for i in range(3)))
            await until(lambda: events_of(node) == [])  # released too
        finally:
            await director.director.stop()

    asyncio.run(run())
    assert app.posts == 0 and app.streams == 1


def test_a_start_on_a_superseded_command_stream_starts_no_process(
    subagent: tuple[SubagentNode, str],
) -> None:
    """A StartOrderProcess that still arrives on an older stream after the Director opened a newer one is
    stale (the Director gave up on it and sent it again; TCP may deliver it after a network cut heals,
    after the step ran and its outcome was released): the Subagent does not start it."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    node, uri = subagent
    start = json.dumps(codec.encode(StartOrderProcess(order_id="o", executable=script("true"), step="0:0")))

    async def scenario() -> tuple[int | None, str]:
        headers = {"Authorization": "Basic " + base64.b64encode(b"director:pw").decode()}
        url = "ws:" + uri.split(":", 1)[1] + PREFIX + "/command"
        async with connect(url, additional_headers=headers) as old, connect(url, additional_headers=headers) as new:
            await new.send(json.dumps(codec.encode(DEDICATE)))
            assert str(await new.recv()).startswith("200 ")
            await old.send(start)
            with pytest.raises(ConnectionClosed) as closed:
                await old.recv()
            code = closed.value.rcvd.code if closed.value.rcvd is not None else None
            assert not node.launcher.running and not [s for s in events_of(node) if s.key == "o"]
            await new.send(start)  # the same command on the newest stream: started
            return code, str(await new.recv())

    code, answer = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert code == 4001
    assert answer == '200 {"TYPE":"Accepted"}'
    asyncio.run(asyncio.wait_for(until_processed(node, "o"), 30))
    processed = [s.event for s in events_of(node) if s.key == "o" and isinstance(s.event, OrderProcessed)]
    assert len(processed) == 1  # once: the stale copy started nothing


class CuttingProxy:
    """A TCP proxy in front of the Subagent that cuts the network: while cut, what the Director sends on
    its open connections is held (in flight) and new connections are refused; healed, new connections
    pass, and what was held is delivered when `deliver` says — TCP retransmits what was never
    acknowledged, even for a socket its sender has closed meanwhile, and may do so long after a new
    connection has carried the newer copy."""

    def __init__(self, upstream: str) -> None:
        self._host, port = upstream.rsplit("//", 1)[1].rsplit(":", 1)
        self._port = int(port)
        self.connections: list[_Connection] = []
        self.cut_off = False
        self.uri = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.uri = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    def cut(self) -> list[_Connection]:
        self.cut_off = True
        held = [c for c in self.connections if not c.ended]
        for connection in held:
            connection.holding = True
        return held

    def heal(self) -> None:
        self.cut_off = False

    async def close(self) -> None:
        self._server.close()
        for connection in self.connections:
            connection.upstream.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:  # nothing reaches the Subagent
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        connection = _Connection(up_writer)
        self.connections.append(connection)

        async def down() -> None:  # the Subagent's answers, lost while cut
            with contextlib.suppress(OSError):
                while data := await up_reader.read(65536):
                    if not connection.holding:
                        writer.write(data)
            connection.subagent_ended.set()
            writer.close()

        task = asyncio.create_task(down())
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                connection.pass_on(data)
        connection.pass_on(b"")  # the Director's end of it: held too while cut
        await task


class _Connection:
    def __init__(self, upstream: asyncio.StreamWriter) -> None:
        self.upstream = upstream
        self.holding = False
        self.ended = False  # the Director has closed it
        self.held: list[bytes] = []
        self.subagent_ended = asyncio.Event()  # the Subagent has closed it: it has handled what came

    def pass_on(self, data: bytes) -> None:
        if not data:
            self.ended = True
        if self.holding:
            self.held.append(data)
        elif data:
            self.upstream.write(data)
        else:
            self.upstream.close()

    async def deliver(self) -> int:
        """What was held, now; its end a moment later (the data and the FIN may come in separate
        segments); returns how many bytes came."""
        self.holding = False
        held, self.held = self.held, []
        data = b"".join(held)
        self.upstream.write(data)
        await asyncio.sleep(0.5)
        if held and not held[-1]:
            self.upstream.close()
        return len(data)


def test_a_start_held_in_a_network_cut_and_delivered_after_the_step_ran_starts_nothing(
    tmp_path: Path, subagent: tuple[SubagentNode, str]
) -> None:
    """The hazard itself, over real connections: the network between Director and Subagent is cut while
    the Director sends a StartOrderProcess; the Director gives up on it; healed, it couples again on a new
    connection and sends it again; the step runs, its outcome is journaled and released (the Subagent
    forgets the step). Only then does the first copy arrive (TCP's retransmission): it must start
    nothing. Over POSTs it started the step a second time (checked: with the stream refused, this test
    fails with two runs)."""
    node, uri = subagent
    tally = tmp_path / "tally"

    async def run() -> None:
        proxy = CuttingProxy(uri)
        await proxy.start()
        director = Director(tmp_path, proxy.uri)
        director.timeout_s = 1.0  # gives up on a command soon
        await director.start(workflow_json(f"echo ran >> {tally}"))
        try:
            # a connection for commands besides the event stream's (over POSTs: after the first heartbeat)
            await until(lambda: len([c for c in proxy.connections if not c.ended]) >= 2)
            held = proxy.cut()
            await director.attach("o")
            await until(lambda: not director.director.runner.pool.is_coupled("sub"))  # it gave up
            proxy.heal()
            await until(lambda: director.processed("o") == [Succeeded(named_values={"returnCode": 0})])
            await until(lambda: events_of(node) == [])  # released: the Subagent has forgotten the step
            assert tally.read_text() == "ran\n"
            delivered = sum(await asyncio.gather(*(c.deliver() for c in held)))  # the retransmission
            assert delivered > 0
            # Each held connection ended as the Director had ended it; the Subagent has handled what came on it.
            await asyncio.wait_for(asyncio.gather(*(c.subagent_ended.wait() for c in held)), 10)
            assert "o" not in node._processes  # a start would be there at once, before its answer
            assert not [s for s in events_of(node) if s.key == "o"]  # nothing started, nothing to report
            assert tally.read_text() == "ran\n"
        finally:
            await director.director.stop()
            await proxy.close()

    asyncio.run(asyncio.wait_for(run(), 60))


async def until_processed(node: SubagentNode, order_id: str) -> None:
    await until(lambda: any(s.key == order_id and isinstance(s.event, OrderProcessed) for s in events_of(node)))


def test_a_restarted_subagent_loses_its_steps_and_a_not_restartable_one_fails(
    tmp_path: Path, subagent: tuple[SubagentNode, str]
) -> None:
    """The Subagent ends its run (as a restart does) while the Director cannot reach it: coupling again,
    the Director learns that the run is gone (SubagentNotDedicated)."""
    node, uri = subagent

    async def run() -> None:
        director = Director(tmp_path, uri)
        nr = {**workflow_json("sleep 60", isNotRestartable=True), "path": "NR"}
        await director.start(workflow_json("sleep 60"), nr)
        try:
            await director.attach("restartable")
            await director.attach("not-restartable", "NR")
            await until(lambda: node.launcher.running == 2)
            driver = director.director.runner.pool.remotes["sub"]
            await driver.stop()  # unreachable for a moment
            assert not director.director.runner.pool.is_coupled("sub")
            client = SubagentClient(uri, ssl_context=None, auth=("director", "pw"))  # the node runs in its thread
            assert await client.command(SubagentShutDown(process_signal="SIGKILL", restart=True)) == {
                "TYPE": "Accepted"
            }
            await client.close()
            assert director.processed("restartable") == []  # still Processing while unreachable
            driver.start_observing()
            await until(lambda: bool(director.processed("not-restartable")))
            assert director.processed("restartable") == [
                Disrupted(reason="ProcessLost", message="ProcessLostDueToRestart")
            ]
            assert director.processed("not-restartable") == [
                Disrupted(reason="Other", message="ProcessLostDueToRestart")
            ]
            assert any(isinstance(s.event, SubagentRestarted) for s in director.stamped)
            await until(lambda: node.launcher.running == 1)  # the restartable one runs again
        finally:
            await director.director.stop()

    asyncio.run(run())


def test_a_changed_uri_replaces_the_driver_which_follows_the_running_step(
    tmp_path: Path, subagent: tuple[SubagentNode, str]
) -> None:
    node, uri = subagent

    async def run() -> None:
        director = Director(tmp_path, uri)
        await director.start(workflow_json("sleep ${JS7_ARG_SLEEP:-0}; echo slept"))
        try:
            order = Order(
                id="moving",
                workflow_id=WorkflowId("W", "1"),
                position=(0,),
                state=st.Ready(),
                arguments={"SLEEP": Decimal("1.5")},
            )
            assert not isinstance(await director.director.execute(AttachOrder(order=order)), Problem)
            await until(lambda: node.launcher.running == 1)
            first = director.director.runner.pool.remotes["sub"]
            other_uri = uri.replace("127.0.0.1", "localhost")  # the same Subagent under another name
            moved = {"TYPE": "SubagentItem", "id": "sub", "agentPath": AGENT, "uri": other_uri}
            assert not isinstance(await director.director.execute(AttachItems(items=(moved,))), Problem)
            await until(lambda: director.director.runner.pool.remotes["sub"] is not first)
            assert director.director.runner.pool.remotes["sub"].uri == other_uri
            await until(lambda: bool(director.processed("moving")))
            assert director.processed("moving") == [Succeeded(named_values={"returnCode": 0})]
            assert OrderStdoutWritten(chunk="slept\n") in director.events("moving")
            dedicated = [s for s in director.stamped if isinstance(s.event, SubagentDedicated)]
            assert len(dedicated) == 1  # the same run of the Subagent, coupled again at its new URI
        finally:
            await director.director.stop()

    asyncio.run(run())


def test_a_reset_of_an_unreachable_subagent_ends_its_run_when_it_is_reached_again(
    tmp_path: Path, subagent: tuple[SubagentNode, str]
) -> None:
    node, uri = subagent

    async def run() -> None:
        director = Director(tmp_path, uri)
        await director.start(workflow_json("sleep 60"))
        try:
            await director.attach("long")
            await until(lambda: node.launcher.running == 1)
            first_run = director.state.subagent_runs["sub"].subagent_run_id
            director.reachable = False
            await director.director.reset_subagent("sub")
            assert director.processed("long") == [Disrupted(reason="ProcessLost", message="ProcessLostDueToReset")]
            assert node.launcher.running == 1  # the reset did not reach it: its process goes on for now
            assert director.state.subagent_runs["sub"].ended
            director.reachable = True
            await until(lambda: not director.state.subagent_runs["sub"].ended)
            assert director.state.subagent_runs["sub"].subagent_run_id != first_run  # the old run is over
            await until(lambda: director.director.runner.running_count == 1 and node.launcher.running == 1)
            assert [o.state for o in director.state.orders.values()] == [st.Processing(subagent_id="sub")]
        finally:
            await director.director.stop()

    asyncio.run(run())
