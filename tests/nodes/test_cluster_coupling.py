"""The active node's coupling (`ActiveRole._couple`) while commits keep coming: ClusterCoupled is written
only at the EventId the Cluster Watch confirmed, and a steady stream of commits cannot keep the cluster
PreparedToBeCoupled for ever (the CI failure of 2026-12-06: three chaos tests waited 30-60 s for Coupled).

In-process: a real Engine on a real FileJournal, a Watch that answers each report after another commit
came in — as every report did under a steady stream of orders."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from js7es.domain.cluster import ClusterCouplingPrepared, ClusterNodesAppointed, ClusterSetting, Coupled
from js7es.domain.commands.items import UpdateItems
from js7es.domain.event import NO_KEY, KeyedEvent
from js7es.domain.problem import Problem
from js7es.domain.state import ControllerState
from js7es.domain.value import value_from_json
from js7es.journal.file import FileJournal
from js7es.nodes.controller.cluster.active import ActiveRole
from js7es.nodes.engine import Engine, recover_state

SETTING = ClusterSetting(id_to_uri={"Primary": "https://a:1", "Backup": "https://b:2"}, active_id="Primary")


class Core:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.journal = engine.journal

    @property
    def state(self) -> Any:
        return self.engine.state

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


class RacingWatch:
    """Confirms every report, but before answering lets a command be committed (the steady stream of
    orders); a commit that cannot go through now (the engine quiesced) is left to go through later."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.reported: list[int] = []
        self.commits: list[asyncio.Task[Any]] = []
        self._version = 0

    async def report(self, body: dict[str, Any]) -> Any:
        self.reported.append(body["eventId"])
        self._version += 1
        operations = [{"TYPE": "AddVersion", "versionId": str(self._version)}]
        task = asyncio.ensure_future(
            self.engine.execute(UpdateItems(operations=tuple(map(value_from_json, operations))))
        )
        self.commits.append(task)
        if self.engine._barrier is None:  # not quiesced: the command is committed before the answer
            await task
        else:  # quiesced: the command gets as far as the engine's admission and waits there, as a request would
            await asyncio.sleep(0)
        return {"clusterState": body["clusterState"]}


def test_a_steady_stream_of_commits_does_not_keep_the_cluster_from_coupling(tmp_path: Path) -> None:
    async def run() -> None:
        journal = FileJournal.open(tmp_path, name="controller")
        engine = Engine(state=recover_state(journal, ControllerState), journal=journal, here=None, controller_id="test")
        appointed = ClusterNodesAppointed(setting=SETTING)
        await engine.emit(
            [KeyedEvent(NO_KEY, appointed), KeyedEvent(NO_KEY, ClusterCouplingPrepared(active_id="Primary"))]
        )
        watch = RacingWatch(engine)
        role = ActiveRole(
            node_id="Primary",
            setting=SETTING,
            cluster_id="c",
            core=Core(engine),
            journal=journal,
            watch=watch,  # type: ignore[arg-type]
        )
        await role._couple()

        assert isinstance(engine.state.cluster, Coupled), (engine.state.cluster, watch.reported)
        # The first two reports went stale (a commit came between); the third was asked with the engine
        # quiesced, so ClusterCoupled got exactly the EventId the Watch confirmed.
        assert len(watch.reported) == 3
        role.acknowledged("Backup", 10**18)  # the standby's acknowledgement lets the commits through
        for task in watch.commits:
            assert not isinstance(await task, Problem)
        stamped = journal.read(0)
        assert not isinstance(stamped, Problem)
        ids = [(s.event_id, type(s.event).__name__) for s in stamped]
        (at,) = [i for i, (_, name) in enumerate(ids) if name == "ClusterCoupled"]
        # Directly after the last event the Watch was told of: the EventId it confirmed is the one after that.
        assert ids[at - 1][0] + 1 == watch.reported[-1], (ids, watch.reported)
        journal.close()

    asyncio.run(run())
