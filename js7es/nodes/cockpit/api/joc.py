"""JOC Cockpit's wire conventions: dates, the response envelope and the error bodies (JOCDefaultResponse).

JOC answers every expected failure of a request with **420 "Invalid Request"** and
``{"deliveryDate", "surveyDate", "error": {"code": "JOC-…", "message": …}}``; the code says what kind
(JOC-400 a bad request, JOC-002 an object that does not exist, JOC-300 a missing audit comment, JOC-419
a folder outside the account's folder permissions, JOC-420 a refusal by a Controller, JOC-503 a
Controller that does not answer). Authentication failures are **401**, a missing permission **403**, both
with JOC's account answer (``isAuthenticated``, ``isPermitted``, ``message``); an expired session is
**440 "Login Timeout"**. Facts from sos-components' JOCDefaultResponse.java, JOCResourceImpl.java and the
exception classes (joc-cockpit.md §1.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from js7es.nodes.http.responses import json_response

NO_CACHE = {"Cache-Control": "no-cache, no-store, must-revalidate"}


def joc_date(epoch_ms: int | float | None) -> str | None:
    """JOC's date: ISO 8601 in UTC with milliseconds, e.g. 2026-12-06T09:31:34.123Z."""
    if epoch_ms is None:
        return None
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def delivered(body: Mapping[str, Any] | None = None, *, survey_ms: int | None = None) -> dict[str, Any]:
    """`body` with JOC's `deliveryDate` (and `surveyDate`, when the data is of an earlier moment)."""
    out: dict[str, Any] = {"deliveryDate": joc_date(now_ms())}
    if survey_ms is not None:
        out["surveyDate"] = joc_date(survey_ms)
    out.update(body or {})
    return out


def ok(survey_ms: int | None = None) -> Response:
    return joc_response(delivered({"ok": True}, survey_ms=survey_ms))


def joc_response(body: Any, status: int = 200, *, headers: Mapping[str, str] | None = None) -> Response:
    return json_response(body, status, headers={**NO_CACHE, **(headers or {})})


@dataclass(frozen=True, slots=True)
class JocError(Exception):
    """An expected failure of a JOC request, raised at the API boundary and answered as JOC does."""

    code: str
    message: str
    status: int = 420
    account_answer: Mapping[str, Any] = field(default_factory=dict)  # for 401/403/440: JOC's account answer

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def response(self) -> Response:
        if self.status not in (401, 403, 440):
            now = joc_date(now_ms())
            body: dict[str, Any] = {
                "deliveryDate": now,
                "surveyDate": now,
                "error": {"code": self.code, "message": self.message},
            }
            return joc_response(body, self.status)
        body = account_answer(self.message, **self.account_answer)
        if self.status == 440:
            # JOC's RAML documents the error object, its code the account answer (SessionNotExistException): both.
            body["error"] = {"code": self.code, "message": self.message}
        return joc_response(body, self.status)


def account_answer(message: str, **fields: Any) -> dict[str, Any]:
    """JOC's SOSAuthCurrentAccountAnswer (null fields left out, as JOC's JsonInclude.NON_NULL)."""
    body: dict[str, Any] = {
        "isAuthenticated": False,
        "isPermitted": False,
        "hasRole": False,
        "isApprover": False,
        "isApprovalRequestor": False,
        "forcePasswordChange": False,
        "enableTouch": True,
        "message": message,
    }
    body.update({k: v for k, v in fields.items() if v is not None})
    return body


def bad_request(message: str) -> JocError:
    return JocError("JOC-400", message)


def missing_parameter(name: str) -> JocError:
    return JocError("JOC-406", f"undefined '{name}'")


def not_exist(message: str) -> JocError:
    return JocError("JOC-002", message)


def already_exists(message: str) -> JocError:
    return JocError("JOC-171", message)


def missing_comment() -> JocError:
    return JocError("JOC-300", "The comment in the audit log is required (setting joc.force_comments_for_audit_log)")


def folder_denied(folder: str) -> JocError:
    return JocError("JOC-419", f"Access denied for folder: {folder}")


def controller_refused(code: str, message: str) -> JocError:
    """A Controller's problem, inside JOC's 420 (JS7's problem code first, as JOC's message shows it)."""
    return JocError("JOC-420", f"{code}: {message}")


def controller_unavailable(controller_id: str, reason: str) -> JocError:
    return JocError("JOC-503", f"Controller '{controller_id}' is not available: {reason}")


def unauthenticated(message: str = "Access denied") -> JocError:
    return JocError("JOC-401", message, 401)


def session_expired() -> JocError:
    return JocError("AUTH-440", "Session has expired! Please log in again.", 440)


def access_denied(account: str, permission: str) -> JocError:
    return JocError(
        "JOC-403",
        f"Access denied: the account lacks the permission {permission}",
        403,
        {"isAuthenticated": True, "account": account, "permission": permission},
    )
