"""/joc/api/events: the long poll with which JOC's GUI learns what to reload (joc-cockpit.md §1.4 "Events
for the GUI"; api-internal.raml, event/controllerFilter-schema.json → event/event-schema.json).

The request is JOC's `{controllerId, eventId}`; the answer `{controllerId, eventId, eventSnapshots,
deliveryDate, surveyDate}` comes as soon as the projection has committed something after `eventId` that
the account may see (queries/events.py derives the snapshots from the committed rows), else after
`services.events_wait_s` with no snapshots. The call waits on the projector's batch signal and looks at
the projection at least every `services.events_poll_s` (another process may be the one projecting).

EventIds: the answer's eventId is the projection's JS7 EventId, which the GUI sends back. JOC's own
eventIds are epoch seconds (and its GUI sends none at first); a value below 10^12 is taken as seconds and
made the EventId of that moment, none (or 0) means "from now". JOC lets any account call /events
(EventResourceImpl: initPermissions(controllerId, true)); the snapshots keep to the account's folders.
"""

from __future__ import annotations

import time
from typing import Any

from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import delivered, now_ms
from js7es.nodes.cockpit.api.models import ControllerId, Request, Response
from js7es.nodes.cockpit.api.reading import NonNegativeLong, folder_filter
from js7es.projections.cockpit.queries.events import event_snapshots, stored_event_id

SECONDS_BELOW = 10**12  # an eventId below this is JOC's epoch seconds, not a JS7 EventId


class ControllerFilter(Request):
    """event/controllerFilter-schema.json"""

    controllerId: ControllerId
    eventId: NonNegativeLong | None = None


class Event(Response):
    """event/event-schema.json"""

    controllerId: str
    eventId: int
    eventSnapshots: list[dict[str, Any]]
    surveyDate: str


def as_event_id(event_id: int) -> int:
    return event_id * 1_000_000 if event_id < SECONDS_BELOW else event_id


def _snapshots(engine: Any, controller_id: str, after: int, folders: Any) -> tuple[int, list[dict[str, Any]]]:
    return event_snapshots(engine, controller_id, after, folders=folders)


@API.post("/events", summary="Waits for changes in the projection (JOC's GUI event long poll)",
          request=ControllerFilter, response=Event, access="session")  # fmt: skip
async def events(call: Call, body: ControllerFilter) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    engine = call.services.engine
    folders = folder_filter(call, controller_id)
    if body.eventId:
        after = as_event_id(body.eventId)
    else:
        after, _ = await call.in_thread(stored_event_id, engine, controller_id)
    deadline = time.monotonic() + call.services.events_wait_s
    snapshots: list[dict[str, Any]] = []
    while True:
        with call.services.batches.waiter() as waiter:
            event_id, snapshots = await call.in_thread(_snapshots, engine, controller_id, after, folders)
            # what was committed but not visible to this account is passed over, not reported again
            after = max(after, event_id)
            remaining = deadline - time.monotonic()
            if snapshots or remaining <= 0:
                break
            await waiter.wait(min(remaining, call.services.events_poll_s))
    _, survey = await call.in_thread(stored_event_id, engine, controller_id)
    return delivered(
        {"controllerId": controller_id, "eventId": after, "eventSnapshots": snapshots},
        survey_ms=survey if survey is not None else now_ms(),
    )
