"""History (joc-cockpit.md §1.4 "History and logs", §5): /orders/history, /order/history and
/tasks/history — thin handlers over queries/history.py.

JOC checks `sos:products:controller:orders:view` for all three (OrdersResourceHistoryImpl,
OrderHistoryResourceImpl, TasksResourceHistoryImpl); without a controllerId the history of every
Controller the account may view is read, each inside that Controller's folders, merged newest first.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import StringConstraints

from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import delivered, folder_denied, not_exist, now_ms
from js7es.nodes.cockpit.api.models import ControllerId, Request, Response, String255
from js7es.nodes.cockpit.api.order_views import ORDERS_VIEW, DateFromTo, OrdersFilter, no_tags, parent
from js7es.nodes.cockpit.api.orders import Folder
from js7es.nodes.cockpit.api.reading import Limit, NonNegativeLong, folder_filter, history_controllers, query
from js7es.projections.cockpit.queries import history as q
from js7es.projections.cockpit.queries.common import effective_limit


class OrderHistoryFilter(Request):
    """order/orderHistoryFilter-schema.json"""

    controllerId: ControllerId
    historyId: NonNegativeLong
    orderId: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None


class JobPath(Request):
    """job/jobPath-schema.json"""

    workflowPath: String255
    job: String255 | None = None


class TaskIdOfOrder(Request):
    """job/taskIdOfOrder-schema.json"""

    historyId: NonNegativeLong
    position: str


class JobsFilter(Request):
    """job/jobsFilter-schema.json"""

    controllerId: ControllerId | None = None
    jobs: list[JobPath] | None = None
    excludeJobs: list[JobPath] | None = None
    jobName: String255 | None = None
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
    criticalities: list[Annotated[str, StringConstraints(pattern="^(NORMAL|MINOR|MAJOR|CRITICAL)$")]] | None = None
    taskIds: list[NonNegativeLong] | None = None
    historyIds: list[TaskIdOfOrder] | None = None
    workflowTags: list[String255] | None = None
    orderTags: list[String255] | None = None
    orderId: String255 | None = None
    withoutWorkflowTags: bool = False


class History(Response):
    """order/orderHistory-schema.json, job/history-schema.json"""

    history: list[dict[str, Any]]


class HistoryChildren(Response):
    """order/orderHistoryItemChildren-schema.json"""

    historyId: int
    children: list[dict[str, Any]] = []


def _merged(pages: Sequence[list[dict[str, Any]]], limit: int | None) -> list[dict[str, Any]]:
    """Each Controller's page newest first (JOC's ISO dates sort as text), merged and cut at `limit`."""
    merged = list(heapq.merge(*pages, key=lambda h: str(h["startTime"]), reverse=True))
    return merged if effective_limit(limit) is None else merged[: effective_limit(limit)]


@API.post("/orders/history", summary="The history of main orders, newest start first", request=OrdersFilter,
          response=History, permission=ORDERS_VIEW, access="session")  # fmt: skip
async def orders_history(call: Call, body: OrdersFilter) -> dict[str, Any]:
    return await _history(
        call,
        body,
        q.orders_history,
        orders=[(o.workflowPath, o.orderId or None) for o in body.orders or []],
        exclude_workflows=body.excludeWorkflows,
        history_ids=body.historyIds,
    )


@API.post("/tasks/history", summary="The history of tasks (job runs), newest start first", request=JobsFilter,
          response=History, permission=ORDERS_VIEW, access="session")  # fmt: skip
async def tasks_history(call: Call, body: JobsFilter) -> dict[str, Any]:
    return await _history(
        call,
        body,
        q.tasks_history,
        jobs=[(j.workflowPath, j.job or None) for j in body.jobs or []],
        exclude_jobs=[(j.workflowPath, j.job or None) for j in body.excludeJobs or []],
        job_name=body.jobName,
        task_ids=body.taskIds,
        history_ids=[h.historyId for h in body.historyIds or []],
    )


async def _history(call: Call, body: OrdersFilter | JobsFilter, query_fn: Any, **filters: Any) -> dict[str, Any]:
    """One page per Controller the account may read (the filters common to both histories), merged."""
    no_tags(body)
    now = now_ms()
    pages = []
    for controller_id in history_controllers(call, body.controllerId, ORDERS_VIEW):
        answer = await query(
            call,
            query_fn,
            now_ms=now,
            controller_ids=[controller_id],
            order_id=body.orderId,
            workflow_path=body.workflowPath,
            workflow_name=body.workflowName,
            date_from=body.dateFrom,
            date_to=body.dateTo,
            completed_date_from=body.completedDateFrom,
            completed_date_to=body.completedDateTo,
            time_zone=body.timeZone,
            folders=folder_filter(call, controller_id, body.folders),
            limit=body.limit,
            history_states=body.historyStates,
            **filters,
        )
        pages.append(answer["history"])
    return delivered({"history": _merged(pages, body.limit)})


@API.post("/order/history", summary="A main order's run: its tasks and child orders",
          request=OrderHistoryFilter, response=HistoryChildren, permission=ORDERS_VIEW,
          controller_scoped=True)  # fmt: skip
async def order_history(call: Call, body: OrderHistoryFilter) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    folders = folder_filter(call, controller_id)
    answer = await query(call, q.order_history_children, controller_id, body.historyId, folders=folders)
    if answer is None:
        if folders is not None:
            hidden = await query(call, q.order_history_children, controller_id, body.historyId)
            if hidden is not None:
                raise folder_denied(parent(hidden["workflow"]["path"]))
        raise not_exist(f"unknown historyId {body.historyId} at Controller '{controller_id}'")
    return delivered(answer)
