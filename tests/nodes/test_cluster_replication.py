"""The replication stream's framing and the standby: the standby writes the active's journal lines as
they came (byte-identical event lines) and acknowledges each group of commits that arrived together
once: the real PassiveRole on a real FileJournal, fed by a stand-in for the active that serves a real
Engine's journal in the replication stream's framing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.journal import Journal, MemoryJournal
from js7es.journal.file import FileJournal
from js7es.journal.format import COMMIT_PREFIX, EVENT_PREFIX
from js7es.journal.tools import verify
from js7es.nodes.controller.cluster.passive import JOURNAL_NAME, _Wakeup
from js7es.nodes.controller.cluster.replication import HEARTBEAT, CommitDecoder, ReplicatedCommit, encode_commits
from js7es.nodes.engine import Engine, recover_state
from tests.journal.support import FakeClock, counted
from tests.journal.test_lines import encoded
from tests.journal.test_replication import (
    commit_positions,
    commits_of,
    lines_starting,
    open_journal,
    source_with_snapshots,
)
from tests.nodes.test_cluster_standby_recovery import ActiveStandIn, add, applied, complete, standby_role
from tests.nodes.test_engine import deploy
from tests.nodes.waiting import until


def stream_chunks(data: bytes, size: int) -> list[list[bytes]]:
    """The stream cut into chunks of `size` bytes, split into lines as the standby's client does."""
    chunks, rest = [], b""
    for i in range(0, len(data), size):
        lines = (rest + data[i : i + size]).split(b"\n")
        rest = lines.pop()
        chunks.append([line for line in lines if line.strip()])
    return chunks


def replicate_by_lines(source: Journal, target: Journal, chunk_size: int) -> list[list[ReplicatedCommit]]:
    """What a standby does with the replication stream: the active's commit lines framed, cut into
    chunks anywhere, decoded, and each group of commits written with the lines as they came."""
    commits = source.read_commit_lines(target.last_event_id)
    assert not isinstance(commits, Problem)
    data = b'{"TYPE":"ClusterJournalHeader"}\n' + encode_commits(commits) + b'{"TYPE":"Heartbeat"}\n'
    decoder = CommitDecoder()
    items: list[Any] = [item for chunk in stream_chunks(data, chunk_size) for item in decoder.feed(chunk)]
    assert items[0] == {"TYPE": "ClusterJournalHeader"} and items[-1] is None
    groups: list[list[ReplicatedCommit]] = items[1:-1]
    for group in groups:
        written = target.persist_replicated_group([(c.stamped, c.lines) for c in group])
        assert written.result(10) == group[-1].stamped
    return groups


@pytest.mark.parametrize("chunk_size", [50, 4096, 1 << 20])
def test_a_standby_writing_the_active_lines_holds_byte_identical_event_lines(tmp_path: Path, chunk_size: int) -> None:
    clock = FakeClock()
    source, commits = source_with_snapshots(tmp_path / "active", clock)
    with source, open_journal(tmp_path / "standby", FakeClock(clock.now - 60_000)) as target:
        groups = replicate_by_lines(source, target, chunk_size)
        assert [c.stamped for g in groups for c in g] == commits
        if chunk_size == 1 << 20:
            assert len(groups) == 1  # one chunk: one group, written and acknowledged at once
        assert commits_of(target.read_commits(0)) == commits
        assert target.read_lines(0, limit=10_000) == source.read_lines(0, limit=10_000)
    active_lines = lines_starting(tmp_path / "active", EVENT_PREFIX)
    assert b'"timestamp":' in b"".join(active_lines) and b'"Key":"\xc3\xa4' in b"".join(active_lines)
    assert lines_starting(tmp_path / "standby", EVENT_PREFIX) == active_lines
    assert commit_positions(tmp_path / "standby") == commit_positions(tmp_path / "active")
    assert verify(tmp_path / "standby").ok
    with open_journal(tmp_path / "standby") as target:
        assert target.recovered.events == [s for c in commits for s in c]


def test_decoder_refuses_a_frame_that_does_not_match_its_lines() -> None:
    clock = FakeClock()
    with MemoryJournal.open(clock=clock) as journal:
        stamped = journal.persist_sync([counted("a"), counted("b")])
    lines = encoded(stamped).splitlines()
    for frame in (
        b'{"TYPE":"Commit","eventId":%d,"count":3}' % stamped[-1].event_id,
        b'{"TYPE":"Commit","eventId":%d,"count":2}' % stamped[0].event_id,
    ):
        with pytest.raises(ValueError, match="commit frame"):
            CommitDecoder().feed([*lines, frame])
    with pytest.raises(ValueError, match="commit frame"):
        CommitDecoder().feed([b'{"TYPE":"Commit","eventId":1,"count":0}'])
    with pytest.raises(ValueError, match="earlier version"):
        CommitDecoder().feed([b"[" + lines[0] + b"]"])


class FramingActive(ActiveStandIn):
    """Serves `journal`'s commits after the standby's position, as the active's route frames them,
    all the commits of a `release()` in one chunk (one group), cut into lines as the client does."""

    def __init__(self, journal: FileJournal) -> None:
        super().__init__(journal.journal_id)
        self.source = journal
        self.released = asyncio.Queue[int]()
        self.groups: list[list[int]] = []  # the commit ends of each group served

    async def journal(self, after: int, *, node_id: str, heartbeat_s: float) -> AsyncIterator[Any]:
        async def stream() -> AsyncIterator[Any]:
            decoder = CommitDecoder()
            for item in decoder.feed([b'{"TYPE":"ClusterJournalHeader","journalId":"%s"}' % self.journal_id.encode()]):
                yield item
            position = after
            while True:
                try:
                    until = await asyncio.wait_for(self.released.get(), heartbeat_s)
                except TimeoutError:
                    for item in decoder.feed(HEARTBEAT.splitlines()):
                        yield item
                    continue
                commits = self.source.read_commit_lines(position)
                assert not isinstance(commits, Problem)
                chunk = [c for c in commits if c.last_event_id <= until]
                self.groups.append([c.last_event_id for c in chunk])
                position = chunk[-1].last_event_id
                for item in decoder.feed(encode_commits(chunk).split(b"\n")[:-1]):
                    yield item

        return stream()


def test_the_standby_writes_the_active_lines_and_acknowledges_a_group_once(tmp_path: Path) -> None:
    async def run() -> None:
        active_journal = FileJournal.open(tmp_path / "active", name=JOURNAL_NAME)
        engine = Engine(
            state=recover_state(active_journal, ControllerState), journal=active_journal, here=None, controller_id="c"
        )
        active = FramingActive(active_journal)
        standby_journal = FileJournal.open(tmp_path / "standby", name=JOURNAL_NAME)
        standby = standby_role(standby_journal, active)
        role = asyncio.create_task(standby.run())
        await deploy(engine)
        for i in range(5):  # a group of several commits, five times
            for j in range(4):
                await engine.execute(add(f"order-{i}-{j}"))
            await active.released.put(active_journal.last_event_id)
            await until(lambda: applied(standby) == engine.state.last_event_id)
            await until(lambda: active.acks and active.acks[-1] == engine.state.last_event_id)
        assert complete(standby).state_hash() == engine.state.state_hash()
        assert all(len(group) >= 4 for group in active.groups)
        commit_ends = {end for group in active.groups for end in group}
        group_ends = {group[-1] for group in active.groups}
        # One acknowledgement per group (repeated as a heartbeat), never one of a commit inside a group.
        assert set(active.acks) & commit_ends == group_ends

        role.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await role
        standby.journal.close()
        active_journal.close()

    asyncio.run(run())
    active_lines = lines_starting(tmp_path / "active", EVENT_PREFIX)
    assert len(active_lines) > 20
    assert lines_starting(tmp_path / "standby", EVENT_PREFIX) == active_lines
    # The same commits (the hashes differ: each journal chains from its own segment header).
    commits = [line.split(b',"hash"')[0] for line in lines_starting(tmp_path / "active", COMMIT_PREFIX)]
    assert [line.split(b',"hash"')[0] for line in lines_starting(tmp_path / "standby", COMMIT_PREFIX)] == commits


def test_the_acknowledgement_task_runs_before_the_applier_resumes() -> None:
    """`_Wakeup`: the applier sets it and yields once; the acknowledging task has run by then (it
    sends the acknowledgement before the group is applied). A flag set while nobody waits is kept."""

    async def run() -> None:
        wakeup = _Wakeup()
        wakeup.set()
        await asyncio.wait_for(wakeup.wait(60), 10)  # set before: no waiting
        order: list[str] = []

        async def acknowledger() -> None:
            await wakeup.wait(60)
            order.append("acknowledged")

        task = asyncio.create_task(acknowledger())
        await asyncio.sleep(0)  # it waits now
        wakeup.set()
        await asyncio.sleep(0)
        order.append("applier resumed")
        await task
        assert order == ["acknowledged", "applier resumed"]
        await wakeup.wait(0.01)  # not set: the timeout ends the wait

    asyncio.run(run())
