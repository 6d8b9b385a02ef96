"""Event sources for the projection tests: the domain simulator's events, stamped like a journal's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from js7es.domain.event import KeyedEvent, Stamped
from js7es.domain.order.events import OrderProcessed, OrderProcessingStarted, OrderStderrWritten, OrderStdoutWritten
from tests.domain.simulator import Simulator

T0 = 1_700_000_000_000


def job(script: str = "echo hi", agent: str = "AGENT") -> dict[str, Any]:
    return {"agentPath": agent, "executable": {"TYPE": "ShellScriptExecutable", "script": script}}


def linear_workflow(path: str = "W", steps: int = 2) -> dict[str, Any]:
    return {
        "path": path,
        "instructions": [{"TYPE": "Execute.Named", "jobName": f"J{i}"} for i in range(steps)],
        "jobs": {f"J{i}": job() for i in range(steps)},
    }


def fork_workflow(path: str = "F") -> dict[str, Any]:
    return {
        "path": path,
        "instructions": [
            {
                "TYPE": "Fork",
                "branches": [
                    {"id": "a", "workflow": {"instructions": [{"TYPE": "Execute.Named", "jobName": "A"}]}},
                    {"id": "b", "workflow": {"instructions": [{"TYPE": "Execute.Named", "jobName": "B"}]}},
                ],
            },
            {"TYPE": "Execute.Named", "jobName": "C"},
        ],
        "jobs": {"A": job(), "B": job(), "C": job()},
    }


def failing_workflow(path: str = "X") -> dict[str, Any]:
    return {"path": path, "instructions": [{"TYPE": "Fail", "message": "'boom'"}]}


def stamp(keyed: Sequence[KeyedEvent], *, start: int = T0 * 1000, step_ms: int = 1) -> list[Stamped]:
    """EventIds as a journal gives them: epoch_ms * 1000 + n, increasing."""
    out = []
    for n, k in enumerate(keyed):
        event_id = start + n * step_ms * 1000
        out.append(Stamped(event_id, event_id // 1000, k.key, k.event))
    return out


def with_output(keyed: Sequence[KeyedEvent], chunk: str = "line of output\n", *, repeat: int = 1) -> list[KeyedEvent]:
    """The simulator's events with stdout and stderr chunks between each process start and end."""
    out: list[KeyedEvent] = []
    for k in keyed:
        if isinstance(k.event, OrderProcessed):
            for _ in range(repeat):
                out.append(KeyedEvent(k.key, OrderStdoutWritten(chunk=chunk)))
            out.append(KeyedEvent(k.key, OrderStderrWritten(chunk="warning\n")))
        out.append(k)
        if isinstance(k.event, OrderProcessingStarted):
            pass
    return out


def simulated_history(orders: int = 20, *, seed_ids: str = "o") -> list[Stamped]:
    """A realistic history: a deployment, linear orders, a fork/join, a failing order, cancel and delete."""
    sim = Simulator()
    sim.deploy(linear_workflow(), fork_workflow(), failing_workflow())
    for i in range(orders):
        sim.add_order(f"{seed_ids}-{i}", "W", arguments={"n": i, "text": f"ä{i}"})
    sim.add_order(f"{seed_ids}-fork", "F")
    sim.add_order(f"{seed_ids}-fail", "X")
    sim.run()
    return stamp(with_output(sim.log))


def deploy_through_inventory(
    store: Any,
    controller_id: str,
    paths: Sequence[str],
    *,
    commit_id: str,
    at_ms: int = T0,
    operation: str = "UPDATE",
) -> None:
    """Stores each workflow at its path (folder + name) in the Cockpit's inventory and deploys (or, with
    operation DELETE, revokes) them at the Controller, concluded as succeeded: the store's events that the
    deployed objects' projection follows."""
    from js7es.domain.cockpit import commands as cmd
    from js7es.domain.cockpit import keys
    from js7es.domain.cockpit.events import ChangeMeta
    from js7es.domain.problem import Problem

    meta = ChangeMeta(account="root", at_ms=at_ms, request="/joc/api/inventory/deployment/deploy")
    names = [p.rsplit("/", 1)[-1] for p in paths]

    def ok(result: Any) -> None:
        assert not isinstance(result, Problem), result

    if operation == "UPDATE":
        for path, name in zip(paths, names, strict=True):
            configuration = {k: v for k, v in linear_workflow(name).items() if k != "path"}
            ok(
                store.execute(
                    keys.inventory("WORKFLOW", name),
                    cmd.StoreInventoryObject(path=path, configuration=configuration),
                    meta,
                )
            )
    items = tuple(cmd.DeploymentItem(object_type="WORKFLOW", name=n) for n in names)
    request = cmd.RequestDeployment(controller_id=controller_id, operation=operation, account="root", objects=items)
    ok(store.execute(keys.deployment(commit_id), request, meta))
    ok(store.execute(keys.deployment(commit_id), cmd.ConcludeDeployment(succeeded=True, at_ms=at_ms), meta))
