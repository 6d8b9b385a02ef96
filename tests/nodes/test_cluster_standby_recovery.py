"""A standby whose state stops following the replicated journal (issue 10): it stops acknowledging, says
so (`info()["problem"]`), and starts over by itself from a snapshot of the active node that covers
everything it acknowledged — instead of dying silently while its acknowledgements go on.

The standby is the real PassiveRole on a real FileJournal; the active node is a stand-in serving the
commits and the snapshot of a real Engine, with one inapplicable commit injected into its stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from js7es.domain.commands.items import UpdateItems
from js7es.domain.commands.orders import AddOrders, FreshOrder
from js7es.domain.event import Stamped
from js7es.domain.order.events import OrderAdded
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.value import loads, value_from_json
from js7es.journal.api import encode_lines
from js7es.journal.file import FileJournal
from js7es.journal.format import list_segments
from js7es.journal.tools import replay
from js7es.nodes.controller.cluster.passive import JOURNAL_NAME, PassiveRole
from js7es.nodes.controller.cluster.replication import CommitDecoder, encode_commits
from js7es.nodes.engine import Engine, recover_state
from tests.nodes.test_engine import deploy
from tests.nodes.waiting import until

HEARTBEAT_S = 0.05


def framed(commits: list[list[Stamped]]) -> Any:
    """The commits as the standby's client decodes them from the replication stream."""
    data = encode_commits(encode_lines(c, 0) for c in commits)
    [group] = CommitDecoder().feed(data.splitlines())
    return group


class ActiveStandIn:
    """What the standby asks of the active node: its journal stream, the acknowledgements, a snapshot."""

    def __init__(self, journal_id: str) -> None:
        self.journal_id = journal_id
        self.commits: list[list[Stamped]] = []
        self.snapshot_at: tuple[dict[str, Any], list[dict[str, Any]]] | None = None
        self.snapshot_requests = 0
        self.snapshot_may_go = asyncio.Event()
        self.acks: list[int] = []

    async def journal(self, after: int, *, node_id: str, heartbeat_s: float) -> AsyncIterator[Any]:
        async def stream() -> AsyncIterator[Any]:
            yield {"TYPE": "ClusterJournalHeader", "journalId": self.journal_id}
            position = after
            while True:
                for commit in [c for c in self.commits if c[0].event_id > position]:
                    yield framed([commit])
                    position = commit[-1].event_id
                await asyncio.sleep(heartbeat_s)
                yield None

        return stream()

    async def ack_stream(self, lines: AsyncIterator[bytes]) -> Any:
        async for line in lines:
            self.acks.append(int(loads(line)["eventId"]))
        return {"TYPE": "Accepted"}

    async def snapshot(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        self.snapshot_requests += 1
        await self.snapshot_may_go.wait()
        assert self.snapshot_at is not None
        return self.snapshot_at

    async def info(self) -> dict[str, Any]:
        return {"active": True, "ready": True}

    async def ack(self, node_id: str, event_id: int) -> Any:
        return {"TYPE": "Accepted"}


def add(*order_ids: str) -> AddOrders:
    return AddOrders(orders=tuple(FreshOrder(id=i, workflow_path="W") for i in order_ids))


def standby_role(journal: FileJournal, active: Any) -> PassiveRole:
    """The standby's role over `journal`, following `active` (a stand-in of the active's API), without a
    Cluster Watch (no cluster state: it never asks for a failover)."""
    return PassiveRole(
        node_id="Backup",
        cluster_id="c",
        journal=journal,
        state=recover_state(journal, ControllerState),
        peer=active,
        watch=None,  # type: ignore[arg-type]
        heartbeat_s=HEARTBEAT_S,
        heartbeat_timeout_s=1.0,
    )


def complete(standby: PassiveRole) -> ControllerState:
    """The standby's state with all it held applied (as it takes over)."""
    state = standby.complete_state()
    assert state is not None, standby.problem
    return state


def applied(standby: PassiveRole) -> int:
    """The EventId up to which the standby applied what it replicated."""
    return complete(standby).last_event_id


async def stopped_and_replayed(role: asyncio.Task[Any], standby: PassiveRole, engine: Engine, tmp_path: Path) -> None:
    """Stop the standby's role and close both journals; the standby's journal replays to the active's state."""
    role.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await role
    standby.journal.close()
    engine.journal.close()
    replayed = replay(tmp_path / "standby", ControllerState, False, name=JOURNAL_NAME)
    assert replayed.ok, replayed.problems
    assert replayed.state.state_hash() == engine.state.state_hash()


def test_a_standby_that_cannot_apply_stops_acknowledging_and_starts_over_from_a_snapshot(tmp_path: Path) -> None:
    async def run() -> None:
        active_journal = FileJournal.open(tmp_path / "active", name=JOURNAL_NAME)
        engine = Engine(
            state=recover_state(active_journal, ControllerState), journal=active_journal, here=None, controller_id="c"
        )
        await deploy(engine)
        await engine.execute(add("a", "b"))
        active = ActiveStandIn(active_journal.journal_id)
        commits = active_journal.read_commits(0)
        assert not isinstance(commits, list) and not hasattr(commits, "code")
        active.commits = list(commits)  # type: ignore[arg-type]
        # A commit the standby cannot apply: "a" exists already (as once from a bad snapshot).
        last = active.commits[-1][-1]
        order_a = engine.state.orders["a"]
        bad = Stamped(last.event_id + 1, last.timestamp_ms, "a", OrderAdded(workflow_id=order_a.workflow_id))
        active.commits.append([bad])

        standby_journal = FileJournal.open(tmp_path / "standby", name=JOURNAL_NAME)
        standby = standby_role(standby_journal, active)
        role = asyncio.create_task(standby.run())

        await until(lambda: standby.problem is not None)
        assert f"replicated event {bad.event_id} (OrderAdded) does not apply" in standby.problem
        assert standby.info()["problem"] == standby.problem
        assert standby.applier_failures == 1
        await until(lambda: active.snapshot_requests >= 1)
        acks_then = len(active.acks)
        await asyncio.sleep(10 * HEARTBEAT_S)  # several heartbeats: no acknowledgement while broken
        assert len(active.acks) == acks_then
        assert max(active.acks, default=0) <= bad.event_id  # nothing beyond what was durable

        # The active goes on; its snapshot covers what the standby acknowledged.
        await engine.execute(add("c"))
        async with engine.quiesced() as state:
            header = {"TYPE": "ClusterSnapshotHeader", "journalId": active_journal.journal_id,
                      "eventId": state.last_event_id}  # fmt: skip
            active.snapshot_at = (header, list(state.snapshot_objects()))
            snapshot_event_id = state.last_event_id
        assert snapshot_event_id > bad.event_id
        await engine.execute(add("d"))
        active.commits = list(active_journal.read_commits(snapshot_event_id))  # type: ignore[arg-type]
        active.snapshot_may_go.set()

        await until(lambda: standby.problem is None and applied(standby) == engine.state.last_event_id)
        assert complete(standby).state_hash() == engine.state.state_hash()
        acks_then = len(active.acks)
        await until(lambda: len(active.acks) > acks_then)  # acknowledging again
        assert active.acks[-1] == engine.state.last_event_id
        assert standby.info().get("problem") is None

        await stopped_and_replayed(role, standby, engine, tmp_path)

    asyncio.run(run())


def test_a_standby_holds_short_lived_orders_back_but_its_snapshots_and_its_state_have_them(tmp_path: Path) -> None:
    """The orders wait for an Agent that never comes: each is held (js7es.domain.standby_apply) until
    the standby's snapshot, or a read of its state, applies them."""

    async def run() -> None:
        active_journal = FileJournal.open(tmp_path / "active", name=JOURNAL_NAME)
        engine = Engine(
            state=recover_state(active_journal, ControllerState), journal=active_journal, here=None, controller_id="c"
        )
        job = {"agentPath": "AGENT", "executable": {"TYPE": "ShellScriptExecutable", "script": "true"}}
        execute = {"TYPE": "Execute.Named", "jobName": "J"}
        items: list[Any] = [
            {"TYPE": "AddVersion", "versionId": "1"},
            {"TYPE": "AddOrChangeSimple", "item": {"TYPE": "AgentRef", "path": "AGENT", "uri": "https://x"}},
            {"TYPE": "AddOrChangeSimple", "item": {"path": "W", "instructions": [execute], "jobs": {"J": job}}},
        ]
        assert not isinstance(await engine.execute(UpdateItems(operations=tuple(map(value_from_json, items)))), Problem)
        active = ActiveStandIn(active_journal.journal_id)

        async def commit(*order_ids: str) -> None:
            await engine.execute(add(*order_ids))
            active.commits = list(active_journal.read_commits(0))  # type: ignore[arg-type]

        standby_journal = FileJournal.open(tmp_path / "standby", name=JOURNAL_NAME)
        standby = PassiveRole(
            node_id="Backup", cluster_id="c", journal=standby_journal,
            state=recover_state(standby_journal, ControllerState), peer=active, watch=None,  # type: ignore[arg-type]
            heartbeat_s=HEARTBEAT_S, heartbeat_timeout_s=1.0, snapshot_after_events=12,
        )  # fmt: skip
        role = asyncio.create_task(standby.run())
        await commit("a", "b")
        # Durable (eventId) comes before applied: wait for the applier. OrderAdded and OrderAttachable of each.
        await until(lambda: standby.info()["heldEvents"] == 4)
        assert standby.cluster is not None and standby.info()["heldEvents"] == 4  # what requests read: no release
        for i in range(6):  # past snapshot_after_events: the standby's snapshot, with what it held
            await commit(f"c{i}")
        await until(lambda: list_segments(tmp_path / "standby", JOURNAL_NAME)[-1][0] > 0)  # a segment from a snapshot
        await until(lambda: applied(standby) == engine.state.last_event_id)
        assert complete(standby).state_hash() == engine.state.state_hash()  # all held applied, as at a takeover
        assert standby.info()["heldEvents"] == 0

        # From the standby's snapshot on, its events apply: no held order was missing from it.
        await stopped_and_replayed(role, standby, engine, tmp_path)

    asyncio.run(run())
