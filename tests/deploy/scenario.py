"""The failover scenario of deploy/compose/cluster.yaml, the same on containers and on processes.

A `ClusterDriver` runs `js7es ctl` against both Controller nodes (as the ctl service of cluster.yaml
does) and kills a service: `docker compose kill` in tests/deploy/test_containers.py, SIGKILL of a
process in tests/deploy/test_compose_processes.py.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
NODES = {"Primary": "primary", "Backup": "backup"}  # cluster node id -> compose service
ITEMS = ("agent.agentref.json", "agent-director.subagent.json", "sleep.workflow.json", "hello.workflow.json")


class ClusterDriver(Protocol):
    items_dir: str  # deploy/compose/items as ctl sees it

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`js7es ctl --controller <primary> --controller <backup> --ca/--cert/--key <cli> ARGS`."""
        ...

    def kill(self, service: str) -> None: ...

    def diagnostics(self) -> str:
        """What helps to understand a failure: the services' logs."""
        ...


def ctl_ok(driver: ClusterDriver, *args: str) -> str:
    result = driver.ctl(*args)
    assert result.returncode == 0, f"js7es ctl {' '.join(args)}: {result.stdout}{result.stderr}"
    return result.stdout


def cluster_info(driver: ClusterDriver) -> dict[str, Any] | None:
    """`ctl cluster --json` of the first node that answers, or None."""
    result = driver.ctl("cluster", "--json")
    return json.loads(result.stdout) if result.returncode == 0 else None


def order_state(driver: ClusterDriver, order_id: str) -> str | None:
    result = driver.ctl("show", order_id)
    return json.loads(result.stdout)["state"]["TYPE"] if result.returncode == 0 else None


def wait(driver: ClusterDriver, what: str, probe: Callable[[], T | None], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value is not None:
            return value
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout} s: {what}\n{driver.diagnostics()}")


def coupled_active(driver: ClusterDriver) -> str | None:
    info = cluster_info(driver)
    state = (info or {}).get("clusterState") or {}
    return NODES[state["setting"]["activeId"]] if state.get("TYPE") == "Coupled" else None


def active_node(driver: ClusterDriver) -> str | None:
    info = cluster_info(driver)
    state = (info or {}).get("clusterState") or {}
    active_id = (state.get("setting") or {}).get("activeId")
    return NODES.get(active_id) if active_id else None


def run_failover_scenario(driver: ClusterDriver, *, timeout: float) -> None:
    """Deploy a workflow and an order through the active node, kill the active node while the order's
    job runs on the Agent: the standby takes over (the Cluster Watch consents), the order finishes,
    and the new active node runs new orders."""
    active = wait(driver, "the cluster is Coupled", lambda: coupled_active(driver), timeout)
    assert active == "primary"
    ctl_ok(driver, "deploy", *(f"{driver.items_dir}/{item}" for item in ITEMS))
    ctl_ok(driver, "add-order", "sleep", "--id", "through-failover", "--arg", "seconds=8")
    wait(
        driver,
        "the order's job runs",
        lambda: True if order_state(driver, "through-failover") == "Processing" else None,
        timeout,
    )

    driver.kill(active)
    standby = "backup"
    wait(driver, f"{standby} is active", lambda: True if active_node(driver) == standby else None, timeout)
    wait(
        driver,
        "the order finishes on the new active node",
        lambda: True if order_state(driver, "through-failover") == "Finished" else None,
        timeout,
    )
    ctl_ok(driver, "add-order", "hello", "--id", "after-failover")
    wait(
        driver,
        "a new order finishes",
        lambda: True if order_state(driver, "after-failover") == "Finished" else None,
        timeout,
    )
