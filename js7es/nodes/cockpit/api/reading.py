"""What the read endpoints share: request pieces (JOC's folder and workflowId objects, limits, ids), the
account's folders as the queries' SQL filter, and running a query off the event loop with a date or a
regex JOC would refuse answered as 420 JOC-400.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from pydantic import Field

from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.joc import bad_request, not_exist
from js7es.nodes.cockpit.api.orders import Folder
from js7es.projections.cockpit.queries.common import Folders, normal_folder

T = TypeVar("T")

# JOC's `limit` is a Java Integer: -1 (any negative) unlimited, absent 10000
Limit = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
# JOC's nonNegativeLong (historyId, taskId, eventId)
NonNegativeLong = Annotated[int, Field(ge=0, le=2**63 - 1)]


def _inside(folder: str, grant: str, recursive: bool) -> bool:
    return folder == grant or (recursive and (grant == "/" or folder.startswith(grant.rstrip("/") + "/")))


def folder_filter(call: Call, controller_id: str | None, requested: Sequence[Folder] | None = None) -> Folders | None:
    """The folders a query may read: the account's (None = all) narrowed to the request's `folders` as
    JOC's FolderPermissions.getPermittedFolders does — a requested folder inside a grant stays (recursive
    only if the grant is), a grant inside a recursive requested folder stays."""
    grants = call.folders.folders_for(controller_id) if call.folders is not None else None
    account = None if grants is None else [(g.folder, g.recursive) for g in grants]
    if not requested:
        return account
    wanted = [(normal_folder(f.folder), f.recursive) for f in requested]
    if account is None:
        return wanted
    out: set[tuple[str, bool]] = set()
    for folder, recursive in wanted:
        for grant, grant_recursive in account:
            if _inside(folder, grant, grant_recursive):
                out.add((folder, recursive and grant_recursive))
            elif recursive and _inside(grant, folder, True):
                out.add((grant, grant_recursive))
    return sorted(out)


def check_regex(regex: str | None) -> None:
    if regex:
        try:
            re.compile(regex.replace("%", ".*"))
        except re.error as e:
            raise bad_request(f"regex: {e}") from None


async def query(call: Call, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(engine, *args, **kwargs)` in a worker thread; a filter value the query refuses (a date JOC
    cannot read, a number out of range) is JOC-400."""
    engine = call.services.engine
    try:
        return await call.in_thread(lambda: fn(engine, *args, **kwargs))
    except (ValueError, OverflowError) as e:
        raise bad_request(str(e)) from None


def history_controllers(call: Call, controller_id: str | None, permission: str) -> list[str]:
    """The Controllers a history call reads: the one asked for (its permission required), else every
    Controller the account may read with `permission` (JOC: none of them → 403)."""
    if controller_id:
        if controller_id not in call.services.controller_ids():
            raise not_exist(f"unknown controllerId '{controller_id}'")
        call.require(permission, controller_id)
        return [controller_id]
    allowed = [c for c in call.services.controller_ids() if call.permitted(permission, c)]
    if not allowed:
        call.require(permission, None)
    return allowed
