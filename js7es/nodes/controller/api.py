"""The Controller's web service, `/controller/api/...` in JS7's shapes (reference §7).

- ``POST /controller/api/order``: one FreshOrder (201 + Location, 409 when the id exists), or a JSON
  array / ndjson of them (200 with ``ignoredBecauseDuplicate``);
- ``POST /controller/api/item``: ItemOperations (array or ndjson), all or nothing;
- ``POST /controller/api/command``: AddOrder, AddOrders, CancelOrders, SuspendOrders, ResumeOrder(s),
  AnswerOrderPrompt, ChangeOrder (priority), DeleteOrdersWhenTerminated, ReleaseEvents (by a registered
  reader), TakeSnapshot, ShutDown, NoOperation, ClusterSwitchOver; JS7 options js7es does not implement are refused
  (NotSupported), never ignored;
- ``GET /controller/api/event``: the event stream; ``GET /controller/api/snapshot``: the state as ndjson;
- ``GET /controller/api/order[?id=…]``: orders (a js7es addition, for `js7es ctl`);
- ``GET /controller/api/health``: readiness (public).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from js7es.domain import codec
from js7es.domain.commands import Decided
from js7es.domain.problem import Problem, ProblemError, problem
from js7es.domain.value import dumps, value_from_json
from js7es.nodes.controller.controller import ControllerCore
from js7es.nodes.controller.requests import (
    AgentClusterSwitchOverRequest,
    BadRequest,
    ReleaseEvents,
    command,
    fresh_order,
    item_operations,
)
from js7es.nodes.http import Authenticator, json_response, problem_response, read_json, read_ndjson
from js7es.nodes.http.body import is_ndjson
from js7es.nodes.http.event_stream import event_stream_route
from js7es.nodes.http.problems import register_status

PREFIX = "/controller/api"
register_status("DuplicateOrder", 409)
register_status("UnknownOrder", 404)


CoreSource = Callable[[], ControllerCore | Problem]


def controller_routes(
    core_source: ControllerCore | CoreSource,
    auth: Authenticator,
    *,
    on_shutdown: Callable[[], None],
    on_switchover: Callable[[], Awaitable[Problem | None]] | None = None,
    event_journal: Callable[[ControllerCore], Any] | None = None,
) -> list[BaseRoute]:
    """The routes over a Controller core, or over whatever core `core_source()` gives at each request (a
    cluster node: the active role's core, or the problem ClusterNodeIsNotActive naming the active node).
    `event_journal(core)` gives what the event stream serves (default: the core's journal)."""

    def active() -> ControllerCore:
        got = core_source() if callable(core_source) else core_source
        if isinstance(got, Problem):
            raise ProblemError(got)
        return got

    async def read_body(request: Request) -> Any | Problem:
        return await (read_ndjson(request) if is_ndjson(request) else read_json(request))

    @auth.require("Command")
    async def post_order(request: Request, user: Any) -> Response:
        body = await read_body(request)
        if isinstance(body, Problem):
            return problem_response(body)
        single = isinstance(body, dict)
        try:
            orders = [fresh_order(o) for o in ([body] if single else body if isinstance(body, list) else [body])]
        except BadRequest as e:
            return problem_response(e.problem)
        decided = await active().add_orders(orders)
        if isinstance(decided, Problem):
            return problem_response(decided)
        if single:
            if decided.reply.get("ignoredBecauseDuplicate"):
                return problem_response(problem("DuplicateOrder", f"Order {orders[0].id!r} exists already"))
            # Percent-encoded: an order id may hold blanks and any printable Unicode, a header may not.
            location = f"{PREFIX}/order/{quote(orders[0].id, safe='')}"
            return json_response({}, status=201, headers={"Location": location})
        return json_response({"TYPE": "Accepted", **decided.reply})

    @auth.require("UpdateItem")
    async def post_item(request: Request, user: Any) -> Response:
        body = await read_body(request)
        if isinstance(body, Problem):
            return problem_response(body)
        try:
            operations = item_operations(body)
        except BadRequest as e:
            return problem_response(e.problem)
        decided = await active().update_items([value_from_json(o) for o in operations])
        if isinstance(decided, Problem):
            return problem_response(decided)
        return json_response({"TYPE": "Accepted", "events": len(decided.events)})

    @auth.require("Command")
    async def post_command(request: Request, user: Any) -> Response:
        body = await read_json(request)
        if isinstance(body, Problem):
            return problem_response(body)
        try:
            parsed = command(body)
        except BadRequest as e:
            return problem_response(e.problem)
        if parsed == "NoOperation":
            return json_response({"TYPE": "Accepted"})
        if parsed == "TakeSnapshot":
            taken = await active().take_snapshot()
            if isinstance(taken, Problem):
                return problem_response(taken)
            return json_response({"TYPE": "Accepted", "eventId": taken})
        if parsed == "ShutDown":
            on_shutdown()
            return json_response({"TYPE": "Accepted"})
        if parsed == "ClusterSwitchOver":
            if on_switchover is None:
                return problem_response(problem("ClusterNodesNotCoupled", "This Controller is not a cluster node"))
            switched = await on_switchover()
            if isinstance(switched, Problem):
                return problem_response(switched)
            return json_response({"TYPE": "Accepted"})
        if isinstance(parsed, AgentClusterSwitchOverRequest):
            switched = await active().switch_over_agent(parsed.agent_path)
            if isinstance(switched, Problem):
                return problem_response(switched)
            return json_response({"TYPE": "Accepted"})
        if isinstance(parsed, ReleaseEvents):
            released = await active().release_events(user.id, parsed.until_event_id)
            if isinstance(released, Problem):
                return problem_response(released)
            return json_response({"TYPE": "Accepted"})
        assert not isinstance(parsed, str)
        core = active()
        decided = await core.execute(parsed)
        if isinstance(decided, Problem):
            return problem_response(decided)
        match body.get("TYPE"):
            case "AddOrder":  # JS7's AddOrder.Response
                ignored = bool(decided.reply.get("ignoredBecauseDuplicate"))
                return json_response({"TYPE": "AddOrder.Response", "ignoredBecauseDuplicate": ignored})
            case "AddOrders":  # JS7's AddOrders.Response: the orders' events are at or before this EventId
                return json_response({"TYPE": "AddOrders.Response", "eventId": core.journal.last_event_id})
        return json_response(_reply(decided))

    @auth.require("ReadState")
    async def get_orders(request: Request, user: Any) -> Response:
        ids = request.query_params.getlist("id")
        core = active()
        orders = core.state.orders
        selected = [orders[i] for i in ids if i in orders] if ids else [orders[i] for i in sorted(orders)]
        encoded = [codec.encode(o) for o in selected]
        event_id = await core.engine.settle()  # nothing is observable before its commit
        return json_response({"eventId": event_id, "orders": encoded})

    @auth.require("ReadState")
    async def get_order(request: Request, user: Any) -> Response:
        core = active()
        order = core.state.orders.get(request.path_params["order_id"])
        await core.engine.settle()
        if order is None:
            return problem_response(problem("UnknownOrder", f"Unknown order {request.path_params['order_id']!r}"))
        return json_response(codec.encode(order))

    @auth.require("ReadState")
    async def get_snapshot(request: Request, user: Any) -> Response:
        core = active()
        async with core.engine.quiesced() as state:
            objects = list(state.snapshot_objects())

        async def lines() -> Any:
            for obj in objects:
                yield dumps(obj) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    async def health(request: Request) -> Response:
        got = core_source() if callable(core_source) else core_source
        if isinstance(got, Problem):
            return json_response({"status": "standby"})
        return json_response({"status": "ok", "eventId": got.journal.last_event_id})

    def journal_of_active() -> Any:
        core = active()
        return core.journal if event_journal is None else event_journal(core)

    return [
        Route(f"{PREFIX}/order", post_order, methods=["POST"]),
        Route(f"{PREFIX}/order", get_orders, methods=["GET"]),
        Route(f"{PREFIX}/order/{{order_id:path}}", get_order, methods=["GET"]),
        Route(f"{PREFIX}/item", post_item, methods=["POST"]),
        Route(f"{PREFIX}/command", post_command, methods=["POST"]),
        Route(f"{PREFIX}/event", event_stream_route(journal_of_active, authenticator=auth)),
        Route(f"{PREFIX}/snapshot", get_snapshot, methods=["GET"]),
        Route(f"{PREFIX}/health", health, methods=["GET"]),
    ]


def _reply(decided: Decided) -> dict[str, Any]:
    return {"TYPE": "Accepted", **decided.reply}
