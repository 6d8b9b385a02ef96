"""Problems over HTTP: the JSON problem body, the status of a problem code, and the exception handlers.

The body is JS7's: ``{"TYPE":"Problem","code":"UnknownOrder","message":"…","arguments":{"orderId":"x"}}``
(``arguments`` always present, possibly empty, so clients need no special case).

Statuses. JS7 answers most problems with 400, and so do we: a command naming an unknown order or item is
a bad request, not a missing resource. A route that *addresses* a resource by its path may pass
``status=404`` itself. The exceptions are those where the status tells the client what to do next:

==========================  ======  ===========================================================
code                        status  why
==========================  ======  ===========================================================
Unauthorized,               401     log in (again), or send credentials
InvalidLogin,
InvalidSessionToken
Forbidden                   403     the user lacks a permission; retrying will not help
UnknownRoute                404     no such path
MethodNotAllowed            405
DuplicateOrder              409     JS7's order route answers a duplicate with 409
PayloadTooLarge             413     the body exceeds the limit (refused without reading it all)
UnsupportedMediaType        415     wrong Content-Type
InternalError               500     a bug: logged with its traceback, the body says nothing more
ServiceUnavailable,         503     try another cluster node or later
ClusterNodeIsNotActive,
Terminating
(everything else,           400
 e.g. EventSeqTorn,
 InvalidJson, UnknownField)
==========================  ======  ===========================================================

`register_status` adds a code (at import time of the module that defines it).

No bad input may yield a traceback or a bare 500: `exception_handlers()` turns `HTTPException` and
`ProblemError` into problem bodies, and `CatchAllMiddleware` turns any other exception into a logged
500 ``InternalError`` whose body leaks nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from js7es.domain.problem import Problem, ProblemError, problem
from js7es.nodes.http.responses import json_response

logger = logging.getLogger(__name__)

_STATUS_BY_CODE: dict[str, int] = {
    "Unauthorized": 401,
    "InvalidLogin": 401,
    "InvalidSessionToken": 401,
    "Forbidden": 403,
    "UnknownRoute": 404,
    "MethodNotAllowed": 405,
    "DuplicateOrder": 409,
    "PayloadTooLarge": 413,
    "UnsupportedMediaType": 415,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "ClusterNodeIsNotActive": 503,
    "Terminating": 503,
}

# The problem code for an HTTPException raised by starlette itself (routing) or by a handler.
_CODE_BY_STATUS: dict[int, str] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "UnknownRoute",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    503: "ServiceUnavailable",
}


def register_status(code: str, status: int) -> None:
    """Answer problems with `code` with HTTP `status` (default: 400)."""
    if not 400 <= status <= 599:
        raise ValueError(f"not an error status: {status}")
    _STATUS_BY_CODE[code] = status


def status_of(p: Problem) -> int:
    return _STATUS_BY_CODE.get(p.code, 400)


def problem_body(p: Problem) -> dict[str, Any]:
    return {"TYPE": "Problem", "code": p.code, "message": p.message, "arguments": dict(p.arguments)}


def problem_response(p: Problem, status: int | None = None, *, headers: Mapping[str, str] | None = None) -> Response:
    """The problem as a JSON response; `status` defaults to the code's status (see the table above)."""
    return json_response(problem_body(p), status=status or status_of(p), headers=headers)


def internal_error() -> Problem:
    return problem("InternalError", "Internal error; the server log has the details")


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _CODE_BY_STATUS.get(exc.status_code, "BadRequest" if exc.status_code < 500 else "InternalError")
    message = exc.detail if code != "UnknownRoute" else f"No such route: {request.method} {request.url.path}"
    p = problem(code, message)
    if exc.status_code in (204, 304):  # not an error (raised by a handler as a shortcut): no body allowed
        return Response(status_code=exc.status_code, headers=exc.headers)
    return problem_response(p, exc.status_code, headers=exc.headers)


async def _problem_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc.problem)


def exception_handlers() -> dict[Any, Any]:
    """For ``Starlette(exception_handlers=...)``: HTTPException and ProblemError become problem bodies."""
    return {HTTPException: _http_exception, ProblemError: _problem_error}


class CatchAllMiddleware:
    """Turn any exception escaping the app into a logged 500 InternalError (never a traceback to the client).

    Installed outside all other middleware but the request metrics (which count its 500s), so it sees
    everything but what starlette's ExceptionMiddleware already handled. Unlike starlette's
    ServerErrorMiddleware it does not re-raise: the error is logged once, here. A client that
    disconnects is not an error.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            logger.debug("Client disconnected: %s %s", scope.get("method"), scope.get("path"))
        except Exception:
            logger.exception("Internal error in %s %s", scope.get("method"), scope.get("path"))
            if not started:  # else the client sees a truncated body: the best we can do
                await problem_response(internal_error())(scope, receive, send)
