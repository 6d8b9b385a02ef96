"""Logs (joc-cockpit.md §1.4 "History and logs"): /task/log (text/plain, streamed chunk by chunk with JOC's
X-Log-Complete, X-Log-Event-Id and X-Log-Task-Id headers), /task/log/running (what came after the
X-Log-Event-Id) and /order/log — thin handlers over queries/logs.py.

JOC checks `sos:products:controller:orders:view` (TaskLogResourceImpl, OrderLogResourceImpl). A task or
run outside the account's folders is JOC-419, an unknown one JOC-002.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from starlette.responses import Response, StreamingResponse

from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.history import OrderHistoryFilter
from js7es.nodes.cockpit.api.joc import NO_CACHE, delivered, folder_denied, not_exist, now_ms
from js7es.nodes.cockpit.api.models import ControllerId, Request
from js7es.nodes.cockpit.api.models import Response as JocResponse
from js7es.nodes.cockpit.api.order_views import ORDERS_VIEW, parent
from js7es.nodes.cockpit.api.reading import NonNegativeLong, folder_filter, query
from js7es.projections.cockpit.queries import history, logs


class TaskFilter(Request):
    """job/taskFilter-schema.json"""

    controllerId: ControllerId
    taskId: Annotated[int, Field(ge=0, le=2**63 - 1)]


class RunningTaskLogFilter(Request):
    """job/runningTaskLogFilter-schema.json"""

    controllerId: ControllerId
    taskId: NonNegativeLong
    eventId: NonNegativeLong


class RunningTaskLog(JocResponse):
    """job/runningTaskLog-schema.json"""

    complete: bool
    eventId: int | None = None
    log: str | None = None


class OrderLog(JocResponse):
    """order/orderLog-schema.json"""

    complete: bool
    eventId: int
    logEvents: list[dict[str, Any]]


async def _task_denied_or_unknown(call: Call, controller_id: str, task_id: int) -> Exception:
    found = await query(
        call, history.tasks_history, now_ms=now_ms(), controller_ids=[controller_id], task_ids=[task_id]
    )
    if found["history"]:
        return folder_denied(parent(found["history"][0]["workflow"]))
    return not_exist(f"unknown taskId {task_id} at Controller '{controller_id}'")


@API.post("/task/log", summary="A task's log (text/plain, streamed)", request=TaskFilter, response=None,
          produces="text/plain", permission=ORDERS_VIEW, controller_scoped=True)  # fmt: skip
async def task_log(call: Call, body: TaskFilter) -> Response:
    controller_id = call.controller_id(body)
    found = await query(call, logs.task_log, controller_id, body.taskId, folders=folder_filter(call, controller_id))
    if found is None:
        raise await _task_denied_or_unknown(call, controller_id, body.taskId)
    return StreamingResponse(
        found.chunks, media_type="text/plain; charset=UTF-8", headers={**NO_CACHE, **found.headers()}
    )


@API.post("/task/log/running", summary="What a task logged after an eventId", request=RunningTaskLogFilter,
          response=RunningTaskLog, permission=ORDERS_VIEW, controller_scoped=True)  # fmt: skip
async def running_task_log(call: Call, body: RunningTaskLogFilter) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    folders = folder_filter(call, controller_id)
    found = await query(call, logs.running_task_log, controller_id, body.taskId, body.eventId, folders=folders)
    if found is None:
        raise await _task_denied_or_unknown(call, controller_id, body.taskId)
    return delivered(found)


@API.post("/order/log", summary="An order run's log events", request=OrderHistoryFilter, response=OrderLog,
          permission=ORDERS_VIEW, controller_scoped=True)  # fmt: skip
async def order_log(call: Call, body: OrderHistoryFilter) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    folders = folder_filter(call, controller_id)
    found = await query(call, logs.order_log, controller_id, body.historyId, order_id=body.orderId, folders=folders)
    if found is None:
        if folders is not None:
            hidden = await query(call, logs.order_log, controller_id, body.historyId, order_id=body.orderId)
            if hidden is not None:
                runs = await query(
                    call,
                    history.orders_history,
                    now_ms=now_ms(),
                    controller_ids=[controller_id],
                    history_ids=[body.historyId],
                )
                raise folder_denied(parent(runs["history"][0]["workflow"]) if runs["history"] else "/")
        raise not_exist(f"unknown historyId {body.historyId} at Controller '{controller_id}'")
    return delivered(found)
