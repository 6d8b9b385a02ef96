"""What a rebuild carries from one batch to the next: the rows it has committed, so that a batch reads
them from memory instead of selecting them again and decoding every order's JSON.

The rows in the database are exactly the ones a rebuild wrote since it emptied the Controller's read
model, so memory can stand in for them — as long as nothing else wrote in between. `Rebuilding`
remembers the stored EventId of its last commit; a batch that finds another one under its lock
(another writer, a commit whose outcome the rebuild did not learn) stops using the carried rows for
good and reads from the database like the live path.

What is carried is bounded by the orders that exist (as the Controller holds them in memory too):
each order's row with the history row of its current run and the step row of its running job, and
the Agents' rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from js7es.domain.order.order import Order

Row = dict[str, Any]


@dataclass(slots=True)
class OrderRow:
    """An `orders` row as the batch works on it: the domain's order and the columns not in it."""

    order: Order
    run_event_id: int
    step_event_id: int | None
    updated_at: int
    last_event_id: int


@dataclass(frozen=True, slots=True)
class CarriedOrder:
    row: OrderRow
    run: Row | None  # the order_history row of (order_id, row.run_event_id)
    step: Row | None  # the order_steps row of row.step_event_id


@dataclass(slots=True)
class Rebuilding:
    """The rows of one Controller that a rebuild has committed so far (see the module's docstring).
    Start one right after emptying the Controller's read model, with its stored EventId (0)."""

    event_id: int | None  # the stored EventId the carried rows belong to; None: no longer usable
    orders: dict[str, CarriedOrder] = field(default_factory=dict)
    agents: dict[str, Row] | None = None  # None: not read yet (a batch reads them from the database)

    def usable_at(self, stored_event_id: int) -> bool:
        if self.event_id != stored_event_id:
            self.event_id = None
            self.orders.clear()
            self.agents = None
        return self.event_id is not None
