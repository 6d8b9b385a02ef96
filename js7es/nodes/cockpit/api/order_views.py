"""Orders as the Cockpit's projection shows them (joc-cockpit.md §1.4 "Orders"): /orders, /order,
/orders/overview/snapshot and /orders/overview/summary — thin handlers over queries/orders.py — and
js7es's own /orders/overview/throughput (the orders ended per minute, for the UI's dashboard).

JOC checks `sos:products:controller:orders:view` for each (OrdersResourceImpl, OrderResourceImpl,
OrdersResourceOverviewSnapshotImpl, OrdersResourceOverviewSummaryImpl). The account's folders are applied
inside the queries' SQL; an order outside them is invisible in a list and JOC-419 when asked for by id.
Filters js7es has no data for (order and workflow tags, state dates) are refused with JOC-400 rather
than ignored.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import bad_request, delivered, folder_denied, not_exist, now_ms
from js7es.nodes.cockpit.api.models import ControllerId, Request, Response, String255
from js7es.nodes.cockpit.api.orders import Folder, OrderStateText, WorkflowId
from js7es.nodes.cockpit.api.reading import Limit, check_regex, folder_filter, history_controllers, query
from js7es.projections.cockpit.queries import history as hq
from js7es.projections.cockpit.queries import orders as q
from js7es.projections.cockpit.queries.common import joc_path
from js7es.projections.cockpit.queries.events import stored_event_id

ORDERS_VIEW = "sos:products:controller:orders:view"
DateFromTo = Annotated[str, StringConstraints(max_length=64)]


class OrdersFilterVBase(Request):
    """order/ordersFilterVBase-schema.json"""

    controllerId: ControllerId
    workflowIds: list[WorkflowId] | None = None
    folders: list[Folder] | None = None
    dateTo: DateFromTo | None = None
    timeZone: String255 | None = None


class OrdersFilterV(OrdersFilterVBase):
    """order/ordersFilterV-schema.json"""

    orderIds: list[String255] | None = None
    compact: bool = False
    regex: String255 | None = None
    states: list[OrderStateText] | None = None
    orderTags: list[String255] | None = None
    workflowTags: list[String255] | None = None
    stateDateFrom: DateFromTo | None = None
    stateDateTo: DateFromTo | None = None
    limit: Limit | None = None
    withoutWorkflowTags: bool = False


class OrderFilter(Request):
    """order/orderFilter-schema.json"""

    controllerId: ControllerId
    orderId: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    compact: bool = False
    withoutWorkflowTags: bool = False


class OrderPath(Request):
    """order/orderPath-schema.json"""

    workflowPath: String255
    orderId: String255 | None = None


class OrdersFilter(Request):
    """order/ordersFilter-schema.json (the history filters)"""

    controllerId: ControllerId | None = None
    orders: list[OrderPath] | None = None
    excludeWorkflows: list[Annotated[str, StringConstraints(min_length=1, max_length=255)]] | None = None
    compact: bool = False
    orderId: String255 | None = None
    workflowPath: String255 | None = None
    workflowName: String255 | None = None
    dateFrom: DateFromTo | None = None
    dateTo: DateFromTo | None = None
    completedDateFrom: DateFromTo | None = None
    completedDateTo: DateFromTo | None = None
    timeZone: String255 | None = None
    folders: list[Folder] | None = None
    limit: Limit | None = None
    historyStates: list[Annotated[str, StringConstraints(pattern="^(SUCCESSFUL|INCOMPLETE|FAILED)$")]] | None = None
    historyIds: list[Annotated[int, Field(ge=0, le=2**63 - 1)]] | None = None
    workflowTags: list[String255] | None = None
    orderTags: list[String255] | None = None
    withoutWorkflowTags: bool = False


class Orders(Response):
    """order/orders_v-schema.json"""

    surveyDate: str | None = None
    orders: list[dict[str, Any]]


class Order(Response):
    """order/order_v-schema.json"""

    orderId: str
    workflowId: dict[str, Any]
    state: dict[str, Any]


class ThroughputFilter(Request):
    """js7es's own: the Controller, how many minutes back (1 to a day), and JOC's folder filter."""

    controllerId: ControllerId
    minutes: Annotated[int, Field(ge=1, le=1440)] = 60
    folders: list[Folder] | None = None


class OrdersThroughput(Response):
    """js7es's own: main orders ended per minute, oldest first, the last minute ending at surveyDate."""

    surveyDate: str
    minutes: int
    ended: list[int]


class OrdersSnapshot(Response):
    """order/snapshot-schema.json"""

    surveyDate: str
    orders: dict[str, int]


def no_tags(body: Any) -> None:
    for name in ("orderTags", "workflowTags", "stateDateFrom", "stateDateTo"):
        if getattr(body, name, None):
            raise bad_request(f"{name}: not supported by js7es yet (no order tags or state dates are projected)")


async def survey_ms(call: Call, controller_id: str) -> int:
    """When the projection's data is from: the last event committed for the Controller (now before any)."""
    _, at = await call.in_thread(stored_event_id, call.services.engine, controller_id)
    return at if at is not None else now_ms()


@API.post("/orders", summary="The current orders (from the projection), latest scheduledFor first",
          request=OrdersFilterV, response=Orders, permission=ORDERS_VIEW, controller_scoped=True)  # fmt: skip
async def list_orders(call: Call, body: OrdersFilterV) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    no_tags(body)
    check_regex(body.regex)
    answer = await query(
        call,
        q.list_orders,
        controller_id,
        now_ms=now_ms(),
        order_ids=body.orderIds,
        workflow_ids=[(w.path, w.versionId) for w in body.workflowIds or []],
        states=body.states,
        folders=folder_filter(call, controller_id, body.folders),
        date_to=body.dateTo,
        time_zone=body.timeZone,
        regex=body.regex,
        limit=body.limit,
        compact=body.compact,
    )
    return delivered(answer, survey_ms=await survey_ms(call, controller_id))


@API.post("/order", summary="One current order (from the projection)", request=OrderFilter, response=Order,
          permission=ORDERS_VIEW, controller_scoped=True)  # fmt: skip
async def get_order(call: Call, body: OrderFilter) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    now = now_ms()
    folders = folder_filter(call, controller_id)
    order = await query(
        call, q.get_order, controller_id, body.orderId, now_ms=now, folders=folders, compact=body.compact
    )
    if order is None:
        if folders is not None:
            hidden = await query(call, q.get_order, controller_id, body.orderId, now_ms=now, compact=True)
            if hidden is not None:
                raise folder_denied(parent(hidden["workflowId"]["path"]))
        raise not_exist(f"unknown order '{body.orderId}' at Controller '{controller_id}'")
    return delivered(order, survey_ms=await survey_ms(call, controller_id))


def parent(path: str) -> str:
    return joc_path(path).rsplit("/", 1)[0] or "/"


@API.post("/orders/overview/snapshot", summary="The number of current orders per state",
          request=OrdersFilterVBase, response=OrdersSnapshot, permission=ORDERS_VIEW,
          controller_scoped=True)  # fmt: skip
async def snapshot(call: Call, body: OrdersFilterVBase) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    counts = await query(
        call,
        q.orders_snapshot,
        controller_id,
        now_ms=now_ms(),
        workflow_ids=[(w.path, w.versionId) for w in body.workflowIds or []],
        folders=folder_filter(call, controller_id, body.folders),
    )
    return delivered({"orders": counts}, survey_ms=await survey_ms(call, controller_id))


@API.post("/orders/overview/summary", summary="Main orders that ended successfully or failed in a period",
          request=OrdersFilter, response=OrdersSnapshot, permission=ORDERS_VIEW, access="session")  # fmt: skip
async def summary(call: Call, body: OrdersFilter) -> dict[str, Any]:
    no_tags(body)
    totals = {"successful": 0, "failed": 0}
    now = now_ms()
    for controller_id in history_controllers(call, body.controllerId, ORDERS_VIEW):
        counts = await query(
            call,
            q.orders_summary,
            controller_id,
            now_ms=now,
            date_from=body.dateFrom,
            date_to=body.dateTo,
            time_zone=body.timeZone,
            folders=folder_filter(call, controller_id, body.folders),
        )
        for k in totals:
            totals[k] += counts[k]
    return delivered({"orders": totals}, survey_ms=now)


@API.post("/orders/overview/throughput", summary="js7es: main orders ended in each of the last minutes",
          request=ThroughputFilter, response=OrdersThroughput, permission=ORDERS_VIEW,
          controller_scoped=True)  # fmt: skip
async def throughput(call: Call, body: ThroughputFilter) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    now = now_ms()
    ended = await query(
        call,
        hq.ended_per_minute,
        controller_id,
        now_ms=now,
        minutes=body.minutes,
        folders=folder_filter(call, controller_id, body.folders),
    )
    return delivered({"minutes": body.minutes, "ended": ended}, survey_ms=now)
