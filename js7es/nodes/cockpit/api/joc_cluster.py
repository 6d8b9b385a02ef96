"""The Cockpit cluster's switch-over (joc-cockpit.md §6): ``POST /joc/api/joc/cluster/switch_member``.

JOC's request {memberId, auditLog}, its permission ``sos:products:joc:cluster:manage``. The active member
(a standby forwards the call to it: forwarding.py) writes the audit entry, steps down (its services stop,
the fence refuses its writes from then on) and releases the lease to the named member alone (the lease
row's `switch_to`, JOC's SWITCH_MEMBER_ID), which takes it at its next look (cluster.py); no other member
takes it before the lease would have expired. ``/joc/api/jocs`` shows the new state. A member that is
unknown, is this one, or has not shown a sign of life for a lease is refused with JOC-420.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response

from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import JocError, ok
from js7es.nodes.cockpit.api.models import Audited, OkResponse, String255

MANAGE = "sos:products:joc:cluster:manage"


class SwitchMember(Audited):
    """joc/cluster/switchMember: the member that is to become active."""

    memberId: String255


@API.post("/joc/cluster/switch_member", summary="Makes another member of the Cockpit cluster the active one",
          request=SwitchMember, response=OkResponse, permission=MANAGE)  # fmt: skip
async def switch_member(call: Call, body: SwitchMember) -> Response:
    activity = call.services.cockpit_cluster
    if activity is None:
        raise JocError("JOC-420", "this Cockpit is not a member of a Cockpit cluster: there is nothing to switch")
    members = {m.member_id: m for m in await call.in_thread(activity.lease.members)}
    target = members.get(body.memberId)
    if target is None:
        raise JocError(
            "JOC-420", f"unknown member '{body.memberId}' of Cockpit cluster '{activity.settings.cluster_id}'"
        )
    if body.memberId == activity.settings.member_id:
        raise JocError("JOC-420", f"'{body.memberId}' is the active member already")
    silent_s = (datetime.now(UTC) - target.heartbeat_at).total_seconds()
    if silent_s > activity.settings.lease_s:
        raise JocError("JOC-420", f"member '{body.memberId}' has shown no sign of life for {silent_s:.0f} s")
    meta = call.change_meta(body)
    await call.services.audited_call(
        meta,
        controller_id="",
        category="CONTROLLER",
        parameters={"memberId": body.memberId},
        send=lambda: None,  # audited (and answered) while this member may still write
        unavailable=lambda reason: JocError("JOC-420", reason),
    )
    if not await call.in_thread(activity.switch_to, body.memberId):
        raise JocError("JOC-420", f"could not hand the lease over to '{body.memberId}': this member is not active")
    return ok()
