"""/task/log, /task/log/running and /order/log from `order_steps`, `task_logs` and `order_history`.

A task's log is streamed chunk by chunk (each decompressed alone, never the whole log in memory), up
to the last chunk committed when the call began: its EventId is `X-Log-Event-Id`, from which
/task/log/running continues. A log is complete when its step has ended and no chunk follows.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from js7es.domain.value import loads
from js7es.domain.workflow.position import to_string
from js7es.projections.cockpit import schema
from js7es.projections.cockpit.queries.common import Db, Folders, WorkflowPaths, connected, joc_date

S = schema.order_steps
L = schema.task_logs
H = schema.order_history
A = schema.agents
SP = WorkflowPaths(S, S.c.workflow_path)
HP = WorkflowPaths(H, H.c.workflow_path)


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskLog:
    """POST /task/log (job/taskFilter-schema.json): text/plain with JOC's headers (`headers`)."""

    task_id: int
    complete: bool  # X-Log-Complete: the step has ended
    event_id: int  # X-Log-Event-Id: the last chunk's EventId (the task's own before any output)
    chunks: Iterator[bytes]  # UTF-8, one stored chunk at a time

    def headers(self) -> dict[str, str]:
        return {
            "X-Log-Complete": "true" if self.complete else "false",
            "X-Log-Event-Id": str(self.event_id),
            "X-Log-Task-Id": str(self.task_id),
        }


def _step(c: Connection, controller_id: str, task_id: int, folders: Folders | None) -> Any:
    return c.execute(
        sa.select(S.c.step_event_id, S.c.ended_at)
        .select_from(SP.joined)
        .where(
            S.c.controller_id == controller_id, S.c.step_event_id == task_id, SP.in_folders(c, folders, [controller_id])
        )
    ).first()


def _last_chunk(c: Connection, controller_id: str, task_id: int) -> int | None:
    return c.execute(
        sa.select(sa.func.max(L.c.event_id)).where(L.c.controller_id == controller_id, L.c.step_event_id == task_id)
    ).scalar()


def _chunks_query(controller_id: str, task_id: int, after: int, until: int) -> sa.Select[Any]:
    return (
        sa.select(L.c.data)
        .where(
            L.c.controller_id == controller_id,
            L.c.step_event_id == task_id,
            L.c.event_id > after,
            L.c.event_id <= until,
        )
        .order_by(L.c.event_id)
    )


def _stream(db: Db, query: sa.Select[Any]) -> Iterator[bytes]:
    def rows(c: Connection) -> Iterator[bytes]:
        result = c.execution_options(yield_per=64).execute(query)
        try:
            for (data,) in result:
                yield zlib.decompress(data)
        finally:
            result.close()  # also when the reader stops early (a client gone): the server-side cursor ends now

    if isinstance(db, Engine):
        with db.connect() as c:
            yield from rows(c)
    else:
        yield from rows(db)


def task_log(db: Db, controller_id: str, task_id: int, *, folders: Folders | None = None) -> TaskLog | None:
    """The log of task `task_id` (order_steps.step_event_id); None when unknown or outside `folders`.
    Iterate `chunks` while `db` is open (an Engine: the iterator holds its own connection)."""
    with connected(db) as c:
        step = _step(c, controller_id, task_id, folders)
        if step is None:
            return None
        last = _last_chunk(c, controller_id, task_id)
    until = last if last is not None else task_id
    return TaskLog(
        task_id=task_id,
        complete=step.ended_at is not None,
        event_id=until,
        chunks=_stream(db, _chunks_query(controller_id, task_id, task_id - 1, until)),
    )


def running_task_log(
    db: Db, controller_id: str, task_id: int, event_id: int, *, folders: Folders | None = None
) -> dict[str, Any] | None:
    """POST /task/log/running (job/runningTaskLogFilter-schema.json → job/runningTaskLog-schema.json):
    the chunks after `event_id` (the last one seen), the new eventId and whether the log is complete
    (the step has ended: nothing will follow). None when unknown or outside `folders`."""
    with connected(db) as c:
        step = _step(c, controller_id, task_id, folders)
        if step is None:
            return None
        last = _last_chunk(c, controller_id, task_id)
        until = max(event_id, last if last is not None else task_id)
        text = b"".join(
            zlib.decompress(data) for (data,) in c.execute(_chunks_query(controller_id, task_id, event_id, until))
        )
    out: dict[str, Any] = {
        "controllerId": controller_id,
        "taskId": task_id,
        "eventId": until,
        "complete": step.ended_at is not None,
    }
    if text:
        out["log"] = text.decode("utf-8", errors="replace")
    return out


def order_log(
    db: Db, controller_id: str, history_id: int, *, order_id: str | None = None, folders: Folders | None = None
) -> dict[str, Any] | None:
    """POST /order/log (orderHistoryFilter → order/orderLog-schema.json): the run's log events
    (history/order/orderLogEntry-schema.json) built from `order_history` and `order_steps`:
    OrderStarted, OrderProcessingStarted/OrderProcessed per task, and the run's end. `order_id` picks
    the child order of a fork run (they share the historyId)."""
    with connected(db) as c:
        where = [
            H.c.controller_id == controller_id,
            H.c.run_event_id == history_id,
            HP.in_folders(c, folders, [controller_id]),
        ]
        where.append(H.c.order_id == order_id if order_id is not None else H.c.parent_order_id.is_(None))
        run = c.execute(sa.select(H).select_from(HP.joined).where(*where)).first()
        if run is None:
            return None
        steps = c.execute(
            sa.select(*S.c, A.c.uri.label("agent_uri"))
            .select_from(
                S.outerjoin(A, sa.and_(A.c.controller_id == S.c.controller_id, A.c.agent_path == S.c.agent_path))
            )
            .where(S.c.controller_id == controller_id, S.c.order_id == run.order_id, S.c.run_event_id == history_id)
            .order_by(S.c.step_event_id)
        ).all()
    events: list[dict[str, Any]] = []

    def entry(at: int, level: str, event: str, position: str, **fields: Any) -> None:
        events.append(
            {
                "controllerDatetime": joc_date(at),
                "orderId": run.order_id,
                "logLevel": level,
                "logEvent": event,
                "position": position,
                **{k: v for k, v in fields.items() if v is not None},
            }
        )

    if run.started_at is not None:
        entry(run.started_at, "MAIN", "OrderStarted", "0", arguments=loads(run.arguments) or None)
    last_event_id = history_id
    for step in steps:
        position = to_string(tuple(loads(step.position)))
        agent = {"agentId": step.agent_path, "agentName": step.agent_path, "agentUrl": step.agent_uri}
        entry(
            step.started_at,
            "DETAIL",
            "OrderProcessingStarted",
            position,
            job=step.job_name,
            taskId=step.step_event_id,
            subagentClusterId=step.subagent_id,
            **agent,
        )
        last_event_id = max(last_event_id, step.step_event_id)
        if step.ended_at is not None:
            failed = step.outcome != "Succeeded"
            error = {"errorState": step.outcome.lower(), "errorText": step.error_message} if failed else None
            entry(
                step.ended_at,
                "ERROR" if failed else "DETAIL",
                "OrderProcessed",
                position,
                job=step.job_name,
                taskId=step.step_event_id,
                returnCode=step.return_code,
                error=error,
                **agent,
            )
    complete = run.ended_at is not None
    if complete:
        position = to_string(tuple(loads(run.end_position))) if run.end_position else "0"
        match run.state:
            case "Finished":
                entry(run.ended_at, "SUCCESS", "OrderFinished", position)
            case "Cancelled":
                entry(run.ended_at, "MAIN", "OrderCancelled", position)
            case "Broken":
                entry(run.ended_at, "ERROR", "OrderBroken", position, error={"errorText": run.error_message})
            case _:
                entry(run.ended_at, "ERROR", "OrderFailed", position, error={"errorText": run.error_message})
    events.sort(key=lambda e: str(e["controllerDatetime"]))
    return {"complete": complete, "eventId": last_event_id, "historyId": history_id, "logEvents": events}
