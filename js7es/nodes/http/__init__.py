"""The HTTP layer shared by every js7es node (Controller, Agent Director, Subagent), on Starlette.

Modules, one concept each:

- `problems` — the problem body ``{"TYPE":"Problem","code","message","arguments"}``, the status of a
  code, exception handlers and `CatchAllMiddleware`: no input ever yields a traceback or a bare 500;
- `body` — `read_json` / `read_ndjson` (Content-Type, streamed size limit, strict JSON) and `Shape` /
  `check_fields` (unknown fields refused, types checked);
- `auth` — `Users.from_config`, `SessionStore`, `Authenticator` (session header, HTTP Basic, client
  certificate) with ``POST <prefix>/session`` and `Authenticator.require(permission)`;
- `event_stream` — `event_stream_route`: JS7's ``GET …/event`` long-poll ndjson stream on a `Journal`;
- `metrics` — `NodeMetrics`: a registry per node, ``GET /metrics``, request counting;
- `app` — `build_app`: all of the above assembled, plus the overview ``GET <prefix>`` and a body guard.

Example, a node with one command route and the event stream::

    from starlette.routing import Route
    from js7es.domain.problem import Problem
    from js7es.nodes.http import (ARRAY, Authenticator, NodeMetrics, NodeOverview, Shape, User, Users,
                                  build_app, event_stream_route, hash_password, json_response,
                                  problem_response, read_json)

    users = Users.from_config({"cockpit": {"password": hash_password("secret"),
                                           "permissions": ["ReadState", "Command"]}})
    auth = Authenticator(users)
    metrics = NodeMetrics()
    metrics.track_journal(journal)
    CANCEL = Shape("CancelOrders", required={"orderIds": ARRAY})

    @auth.require("Command")
    async def command(request, user: User):
        obj = CANCEL.check(await read_json(request))
        if isinstance(obj, Problem):
            return problem_response(obj)              # 400/413/415 with a coded body
        ...
        return json_response({"TYPE": "Accepted"})

    app = build_app(
        prefix="/controller/api", overview=NodeOverview(id="Controller"), authenticator=auth, metrics=metrics,
        routes=[Route("/controller/api/command", command, methods=["POST"]),
                Route("/controller/api/event", event_stream_route(lambda: journal, authenticator=auth))])
    # uvicorn.Server(uvicorn.Config(app, ..., timeout_graceful_shutdown=5)).run()
"""

from js7es.nodes.http.app import BodySizeLimitMiddleware, NodeOverview, build_app
from js7es.nodes.http.auth import (
    PERMISSIONS,
    Authenticator,
    ConfigError,
    SessionStore,
    User,
    Users,
    hash_password,
)
from js7es.nodes.http.body import (
    ANY,
    ARRAY,
    BOOLEAN,
    INTEGER,
    NULL,
    NUMBER,
    OBJECT,
    STRING,
    Shape,
    check_fields,
    read_json,
    read_ndjson,
)
from js7es.nodes.http.event_stream import event_stream_route
from js7es.nodes.http.metrics import NodeMetrics
from js7es.nodes.http.problems import (
    CatchAllMiddleware,
    exception_handlers,
    problem_body,
    problem_response,
    register_status,
)
from js7es.nodes.http.responses import json_response

__all__ = [
    "ANY",
    "ARRAY",
    "BOOLEAN",
    "INTEGER",
    "NULL",
    "NUMBER",
    "OBJECT",
    "PERMISSIONS",
    "STRING",
    "Authenticator",
    "BodySizeLimitMiddleware",
    "CatchAllMiddleware",
    "ConfigError",
    "NodeMetrics",
    "NodeOverview",
    "SessionStore",
    "Shape",
    "User",
    "Users",
    "build_app",
    "check_fields",
    "event_stream_route",
    "exception_handlers",
    "hash_password",
    "json_response",
    "problem_body",
    "problem_response",
    "read_json",
    "read_ndjson",
    "register_status",
]
