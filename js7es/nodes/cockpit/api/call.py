"""One API call's context: the session, its effective permissions and folder permissions, the services.

`Call.require(permission, controller_id)` and `Call.require_folder(path, controller_id)` are how a
handler checks more than the endpoint's declared permission; `Call.change_meta(body)` is the account,
time, request and audit parameters that every event of the Cockpit store carries (refused with JOC-300
when the setting makes the audit comment mandatory and none is given).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
from pydantic import BaseModel
from starlette.requests import Request as HttpRequest

from js7es.nodes.cockpit.api.endpoint import Endpoint, controller_id_of
from js7es.nodes.cockpit.api.joc import JocError, access_denied, folder_denied, missing_comment, now_ms

if TYPE_CHECKING:
    from js7es.domain.cockpit.permissions import EffectivePermissions, FolderPermissions
    from js7es.nodes.cockpit.api.services import CockpitServices
    from js7es.nodes.cockpit.api.sessions import Session

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeMetaArgs:
    """What the API knows of a change; the store's ChangeMeta is made from it."""

    account: str
    at_ms: int
    request: str
    comment: str | None
    time_spent: int | None
    ticket_link: str | None
    controller_id: str | None


@dataclass(slots=True, kw_only=True)
class Call:
    request: HttpRequest
    endpoint: Endpoint
    services: CockpitServices
    session: Session | None
    permissions: EffectivePermissions | None
    folders: FolderPermissions | None

    @property
    def account(self) -> str:
        assert self.session is not None
        return self.session.account

    @property
    def caller_ip(self) -> str | None:
        """The caller's address; of a request forwarded by another member of the Cockpit cluster, the
        address that member vouches for (forwarding.py)."""
        forwarder = self.services.forwarder
        vouched = forwarder.vouched_caller(self.request) if forwarder is not None else None
        if vouched is not None:
            return vouched
        return self.request.client.host if self.request.client else None

    def controller_id(self, body: BaseModel | None = None, *, required: bool = True) -> str:
        """The request's controllerId, else the session's current Controller, else the only one."""
        chosen = controller_id_of(body) if body is not None else None
        if chosen is None and self.session is not None:
            chosen = self.session.selected_controller
        if chosen is None:
            ids = self.services.controller_ids()
            if len(ids) == 1:
                chosen = ids[0]
        if chosen is None:
            if required:
                raise JocError("JOC-406", "undefined 'controllerId'")
            return ""
        if chosen not in self.services.controller_ids():
            raise JocError("JOC-002", f"unknown controllerId '{chosen}'")
        return chosen

    def permitted(self, permission: str, controller_id: str | None = None) -> bool:
        return self.permissions is not None and self.permissions.allows(permission, controller_id)

    def require(self, permission: str, controller_id: str | None = None) -> None:
        if not self.permitted(permission, controller_id):
            raise access_denied(self.account, permission)

    def folder_permitted(self, path: str, controller_id: str | None = None) -> bool:
        """Whether the object at `path` lies in the account's folders (for the Controller)."""
        return self.folders is None or self.folders.is_path_permitted(path, controller_id)

    def require_folder(self, path: str, controller_id: str | None = None) -> None:
        if not self.folder_permitted(path, controller_id):
            raise folder_denied(path.rsplit("/", 1)[0] or "/")

    def change_meta(self, body: BaseModel, controller_id: str | None = None) -> ChangeMetaArgs:
        audit = getattr(body, "auditLog", None)
        comment = getattr(audit, "comment", None) or None
        if comment is None and self.services.comment_required():
            raise missing_comment()
        return ChangeMetaArgs(
            account=self.account,
            at_ms=now_ms(),
            request=self.endpoint.url,
            comment=comment,
            time_spent=getattr(audit, "timeSpent", None),
            ticket_link=getattr(audit, "ticketLink", None) or None,
            controller_id=controller_id,
        )

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(fn, *args)
