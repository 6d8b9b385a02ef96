"""Server-Sent Events, pushed when the projection commits (the projector's batch signal, as the JOC API's
/events long poll waits on it; a look at the projection every `events_poll_s` catches batches of another
process).

``GET /live?after=EventId`` (the EventId the page was read at, see web.Viewer): ``event: changed`` (data:
the projection's EventId) after each commit — at most one every `MIN_INTERVAL_S` — on which the page's
panels reload themselves through the API (hx-trigger="sse:changed").
``GET /log/live?taskId=&eventId=``: what a running task logs (``event: log``, HTML-escaped text, read with
the API's /task/log/running), then ``event: done`` when the task has ended.
A stream ends after `MAX_STREAM_S` (the browser reconnects with Last-Event-ID), so that a shutdown never
waits for it; without a valid session it answers 204, which tells the browser not to reconnect.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from markupsafe import escape
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from js7es.nodes.cockpit.ui.web import LoginNeeded, PasswordChangeNeeded, Ui, UiError, Viewer
from js7es.projections.cockpit.queries.events import stored_event_id

MIN_INTERVAL_S = 0.25
MAX_STREAM_S = 300.0
HEARTBEAT_S = 15.0
SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no", "X-Content-Type-Options": "nosniff"}


def sse(event: str, data: str, event_id: int | None = None) -> str:
    lines = [f"event: {event}", *(f"data: {line}" for line in data.split("\n"))]
    if event_id is not None:
        lines.insert(0, f"id: {event_id}")
    return "\n".join(lines) + "\n\n"


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def routes(ui: Ui) -> list[Route]:
    services = ui.services

    async def session(request: Request) -> Viewer | None:
        try:
            return await ui.viewer(request)
        except (LoginNeeded, PasswordChangeNeeded, UiError):
            return None

    async def changes(request: Request, viewer: Viewer, after: int) -> AsyncIterator[str]:
        engine = services.engine
        controller_id = viewer.controller_id
        yield "retry: 500\n\n"
        end = time.monotonic() + MAX_STREAM_S
        last_sent = time.monotonic()
        while time.monotonic() < end:
            with services.batches.waiter() as waiter:
                event_id, _ = await asyncio.to_thread(stored_event_id, engine, controller_id)
                if event_id > after:
                    after = event_id
                    yield sse("changed", str(event_id), event_id)
                    last_sent = time.monotonic()
                    await asyncio.sleep(MIN_INTERVAL_S)
                    continue
                if time.monotonic() - last_sent > HEARTBEAT_S:
                    if await request.is_disconnected() or await session(request) is None:
                        return
                    yield ": still here\n\n"
                    last_sent = time.monotonic()
                await waiter.wait(services.events_poll_s)

    async def live(request: Request) -> Response:
        viewer = await session(request)
        if viewer is None or not viewer.controller_id:
            return Response(status_code=204)
        resumed = _int(request.headers.get("last-event-id")) or _int(request.query_params.get("after"))
        if resumed is None:
            after, _ = await asyncio.to_thread(stored_event_id, services.engine, viewer.controller_id)
        else:
            after = resumed
        return StreamingResponse(changes(request, viewer, after), media_type="text/event-stream", headers=SSE_HEADERS)

    async def task_log(request: Request, viewer: Viewer, task_id: int, event_id: int) -> AsyncIterator[str]:
        end = time.monotonic() + MAX_STREAM_S
        while time.monotonic() < end:
            with services.batches.waiter() as waiter:
                body = {"controllerId": viewer.controller_id, "taskId": task_id, "eventId": event_id}
                answer = await ui.api.call(request, "/task/log/running", body, token=viewer.token)
                if not answer.ok:
                    yield sse("done", f'<p class="error" role="alert">{escape(answer.message)}</p>')
                    return
                event_id = int(answer.body.get("eventId") or event_id)
                text = answer.body.get("log")
                if text:
                    yield sse("log", str(escape(text)), event_id)
                if answer.body.get("complete"):
                    yield sse("done", '<p class="notice" role="status">The task has ended.</p>')
                    return
                await waiter.wait(services.events_poll_s)

    async def log_live(request: Request) -> Response:
        viewer = await session(request)
        task_id = _int(request.query_params.get("taskId"))
        event_id = _int(request.headers.get("last-event-id")) or _int(request.query_params.get("eventId"))
        if viewer is None or task_id is None or event_id is None:
            return Response(status_code=204)
        return StreamingResponse(
            task_log(request, viewer, task_id, event_id), media_type="text/event-stream", headers=SSE_HEADERS
        )

    return [Route("/live", live, methods=["GET"]), Route("/log/live", log_live, methods=["GET"])]
