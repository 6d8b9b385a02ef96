"""No per-order work proportional to the number of waiting orders (issue 18): what the Controller decides
for one order — adding it, its next events, the follow-ups every commit runs (file orders, obsolete
workflow versions) — never walks the other orders. With 50,000 orders waiting, `obsolete_workflow_ids`
walking them was 63 % of the domain bench's time (bench/README.md); it counts orders per version now.
"""

from __future__ import annotations

from typing import Any

from js7es.domain.commands import obsolete_item_events
from js7es.domain.commands.orders import AddOrders, FreshOrder
from js7es.domain.order.event_source import follow_up
from js7es.domain.orderwatch.decide import order_watch_follow_up
from js7es.domain.problem import Problem
from tests.domain.simulator import Simulator

WAITING = 3_000
DAY_MS = 86_400_000


class CountingOrders(dict[str, Any]):
    """The state's orders, counting every walk over them."""

    walks = 0

    def _walk(self, view: Any) -> Any:
        self.walks += 1
        return view

    def __iter__(self) -> Any:
        return self._walk(super().__iter__())

    def keys(self) -> Any:
        return self._walk(super().keys())

    def values(self) -> Any:
        return self._walk(super().values())

    def items(self) -> Any:
        return self._walk(super().items())


def workflow(script: str) -> dict[str, Any]:
    executable = {"TYPE": "ShellScriptExecutable", "script": script}
    return {
        "path": "W",
        "instructions": [{"TYPE": "Execute.Named", "jobName": "J"}],
        "jobs": {"J": {"agentPath": "AGENT", "executable": executable}},
    }


def test_deciding_for_one_order_does_not_walk_the_waiting_orders() -> None:
    sim = Simulator()
    sim.deploy(workflow("true"))
    tomorrow = sim.now_ms + DAY_MS
    waiting = tuple(FreshOrder(id=f"waiting-{i}", workflow_path="W", scheduled_for=tomorrow) for i in range(WAITING))
    assert not isinstance(sim.command(AddOrders(orders=waiting)), Problem)
    sim.deploy(workflow("exit 0"))  # a second version: the first one is obsolete once no order uses it
    orders = sim.state.orders = CountingOrders(sim.state.orders)

    decided = sim.command(AddOrders(orders=(FreshOrder(id="now", workflow_path="W"),)))
    assert not isinstance(decided, Problem)
    events = follow_up(sim.state, ["now"], sim.ctx())  # what the engine runs after each commit's events
    events += order_watch_follow_up(sim.state, sim.ctx())
    events += obsolete_item_events(sim.state)

    assert [type(k.event).__name__ for k in (*decided.events, *events) if k.key == "now"] == [
        "OrderAdded",
        "OrderAttachable",
    ]
    assert orders.walks == 0
    assert len(orders) == WAITING + 1
