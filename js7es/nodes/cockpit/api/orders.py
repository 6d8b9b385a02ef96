"""Order commands (joc-cockpit.md §1.4): /orders/add, /orders/cancel, /orders/suspend, /orders/resume,
/orders/confirm — each audited (services.controller_command) and sent as one JS7 command.

Decisions: a request is all or nothing — every order of `/orders/add` is checked (workflow known to
the Controller, in the account's folders, JOC's orderName rules) before one command with all of them
goes out, and the Controller refuses AddOrders as a whole; JOC adds the valid ones and reports the rest
with 419, which would leave a half-applied request. The selectors of the modifying calls (orderIds,
workflowIds, states, folders, dateFrom/dateTo) are resolved against the Cockpit's projection; orders
outside the account's folders are left out, and an explicitly named one is refused with JOC-419.
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from js7es.nodes.cockpit.api import selection
from js7es.nodes.cockpit.api.call import Call
from js7es.nodes.cockpit.api.endpoint import API
from js7es.nodes.cockpit.api.joc import JocError, bad_request, delivered, folder_denied, not_exist, now_ms, ok
from js7es.nodes.cockpit.api.models import Audited, ControllerId, OkResponse, Request, Response, String255
from js7es.nodes.cockpit.api.scheduled_for import plan_date, scheduled_for_ms

CONTROLLER = "CONTROLLER"
_counter = itertools.count()
_ORDER_NAME = re.compile(r"^[^\s/\\#\"'<>|:*?]*$")

Position = list[int | str]
Arguments = dict[str, Any]


class AddOrder(Request):
    """order/addOrder-schema.json"""

    workflowPath: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    orderName: Annotated[str, StringConstraints(max_length=30)] | None = None
    scheduledFor: str | None = None
    timeZone: str | None = None
    arguments: Arguments | None = None
    startPosition: Position | String255 | None = None
    endPositions: list[Position | String255] | None = None
    blockPosition: Position | String255 | None = None
    forceJobAdmission: bool = False
    planId: dict[str, Any] | None = None
    openClosedPlan: bool = False
    tags: list[String255] | None = None
    priority: int | Decimal = 0  # JS7 2.7's BigDecimal (JOC's priorities are whole numbers; fractions pass)


class AddOrders(Audited):
    """order/addOrders-schema.json"""

    controllerId: ControllerId
    orders: Annotated[list[AddOrder], Field(min_length=1)]


class OrderIds(Response):
    """order/orderIds-schema.json"""

    orderIds: list[str] = []


class WorkflowId(Request):
    path: String255
    versionId: String255 | None = None


class Folder(Request):
    folder: String255
    recursive: bool = True


OrderStateText = Literal[
    "PLANNED", "PENDING", "SCHEDULED", "INPROGRESS", "RUNNING", "SUSPENDED", "PROMPTING", "WAITING",
    "BLOCKED", "FAILED", "CANCELLED", "FINISHED", "BROKEN", "UNKNOWN", "COMPLETED", "CALLING",
]  # fmt: skip


class ModifyOrdersBase(Audited):
    """order/modifyOrdersBase-schema.json"""

    controllerId: ControllerId
    orderIds: list[String255] | None = None
    workflowIds: list[WorkflowId] | None = None
    states: list[OrderStateText] | None = None
    folders: list[Folder] | None = None


class CancelOrders(ModifyOrdersBase):
    """order/modify/cancelOrders-schema.json"""

    dateFrom: str | None = None
    dateTo: str | None = None
    timeZone: str | None = None
    orderType: Literal["FreshOnly", "FreshOrStarted"] = "FreshOrStarted"
    kill: bool = False
    deep: bool = False


class SuspendOrders(ModifyOrdersBase):
    """order/modify/suspendOrders-schema.json"""

    dateFrom: str | None = None
    dateTo: str | None = None
    timeZone: str | None = None
    kill: bool = False
    deep: bool = False
    reset: bool = False


class ResumeOrders(ModifyOrdersBase):
    """order/modify/resumeOrders-schema.json"""

    force: bool = False
    fromCurrentBlock: bool = False
    position: Position | String255 | None = None
    variables: Arguments | None = None
    cycleEndTime: Annotated[int, Field(ge=0)] | None = None


def _workflow_name(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def new_order_id(now: int, date: str, order_name: str) -> str:
    """JOC's ad-hoc order id `#<date>#T<unique>-<name>` (OrdersHelper.getUniqueOrderId)."""
    unique = str(now * 100 + next(_counter) % 100)[4:]
    return f"#{date}#T{unique}-{order_name}"


def _unsupported(field: str, what: str) -> JocError:
    return bad_request(f"{field}: {what} is not supported by js7es yet")


@API.post(
    "/orders/add",
    summary="Adds orders (JOC's ad-hoc order ids #date#T…-name)",
    request=AddOrders,
    response=OrderIds,
    permission="sos:products:controller:orders:create",
    controller_scoped=True,
)
async def add_orders(call: Call, body: AddOrders) -> dict[str, Any]:
    controller_id = call.controller_id(body)
    now = now_ms()
    date_zone = call.services.setting("dailyplan", "time_zone", "Etc/UTC")
    known = await call.in_thread(selection.current_workflows, call.services.engine, controller_id)
    fresh: list[dict[str, Any]] = []
    for nr, order in enumerate(body.orders):
        if order.blockPosition:
            raise _unsupported(f"orders[{nr}].blockPosition", "adding an order into a block")
        if order.planId is not None or order.tags:
            raise _unsupported(f"orders[{nr}]", "plans and order tags")
        name = _workflow_name(order.workflowPath)
        path = known.get(name)
        if path is None:
            raise not_exist(f"orders[{nr}]: no workflow '{order.workflowPath}' at Controller '{controller_id}'")
        if not call.folder_permitted(path, controller_id):
            raise folder_denied(path.rsplit("/", 1)[0] or "/")
        order_name = order.orderName or _rule_conform(call.account)
        if not _ORDER_NAME.match(order_name):
            raise bad_request(f"orders[{nr}].orderName '{order_name}' has characters JS7 does not allow in an order id")
        fresh_order: dict[str, Any] = {
            "id": new_order_id(now, plan_date(now, date_zone), order_name),
            "workflowPath": name,
            "arguments": order.arguments or {},
        }
        at = scheduled_for_ms(order.scheduledFor, order.timeZone, now)
        if at is not None:
            fresh_order["scheduledFor"] = at
        if order.startPosition is not None:
            fresh_order["startPosition"] = order.startPosition  # a position or a label, as JOC passes it on
        if order.endPositions:
            fresh_order["stopPositions"] = order.endPositions  # JOC's endPositions are JS7's stopPositions
        if order.forceJobAdmission:
            fresh_order["forceJobAdmission"] = True
        if order.priority:
            fresh_order["priority"] = order.priority  # JS7 2.7: ranks the orders waiting for a lock
        fresh.append(fresh_order)
    await call.services.controller_command(
        call.change_meta(body, controller_id),
        controller_id=controller_id,
        category=CONTROLLER,
        parameters={"orders": [{"orderId": o["id"], "workflowPath": known[o["workflowPath"]]} for o in fresh]},
        send=lambda client: client.command({"TYPE": "AddOrders", "orders": fresh}),
    )
    return delivered({"orderIds": [o["id"] for o in fresh]})


def _rule_conform(name: str) -> str:
    """JOC's default orderName: the account name made a valid name (SOSCheckJavaVariableName)."""
    return re.sub(r"[^A-Za-z0-9_$.-]", "_", name)[:30] or "order"


async def _selected(call: Call, body: ModifyOrdersBase, controller_id: str, **extra: Any) -> list[str]:
    ids = await call.in_thread(
        lambda: selection.select_order_ids(
            call.services.engine,
            controller_id,
            order_ids=body.orderIds,
            workflow_paths=[w.path for w in body.workflowIds or []],
            states=body.states,
            folders=[(f.folder, f.recursive) for f in body.folders or []],
            permitted=lambda path: call.folder_permitted(path, controller_id),
            **extra,
        )
    )
    if isinstance(ids, selection.Denied):
        raise folder_denied(ids.folder)
    if not ids:
        raise not_exist("no order matches the request")
    return ids


def _kill(kill: bool) -> dict[str, Any]:
    return {"kill": {"immediately": False}} if kill else {}


async def _modify(
    call: Call, body: ModifyOrdersBase, command: dict[str, Any], ids: list[str], controller_id: str
) -> None:
    await call.services.controller_command(
        call.change_meta(body, controller_id),
        controller_id=controller_id,
        category=CONTROLLER,
        parameters={"orderIds": ids, "command": command["TYPE"]},
        send=lambda client: client.command(command),
    )


@API.post(
    "/orders/cancel",
    summary="Cancels orders",
    request=CancelOrders,
    response=OkResponse,
    permission="sos:products:controller:orders:cancel",
    controller_scoped=True,
)
async def cancel_orders(call: Call, body: CancelOrders) -> Any:
    mode = {"TYPE": body.orderType, **_kill(body.kill)}
    return await _kill_or_suspend(call, body, "CancelOrders", mode, "cancelling")


@API.post(
    "/orders/suspend",
    summary="Suspends orders",
    request=SuspendOrders,
    response=OkResponse,
    permission="sos:products:controller:orders:suspend_resume",
    controller_scoped=True,
)
async def suspend_orders(call: Call, body: SuspendOrders) -> Any:
    mode: dict[str, Any] = {**_kill(body.kill), **({"resetState": True} if body.reset else {})}
    return await _kill_or_suspend(call, body, "SuspendOrders", mode, "suspending")


async def _kill_or_suspend(
    call: Call, body: CancelOrders | SuspendOrders, command: str, mode: dict[str, Any], doing: str
) -> Any:
    if body.deep:
        raise _unsupported("deep", f"{doing} the orders of called workflows")
    controller_id = call.controller_id(body)
    ids = await _selected(
        call, body, controller_id, date_from=body.dateFrom, date_to=body.dateTo, time_zone=body.timeZone
    )
    await _modify(call, body, {"TYPE": command, "orderIds": ids, "mode": mode}, ids, controller_id)
    return ok()


@API.post(
    "/orders/resume",
    summary="Resumes suspended or failed orders",
    request=ResumeOrders,
    response=OkResponse,
    permission="sos:products:controller:orders:suspend_resume",
    controller_scoped=True,
)
async def resume_orders(call: Call, body: ResumeOrders) -> Any:
    if body.variables or body.cycleEndTime is not None or body.fromCurrentBlock:
        raise _unsupported("variables/cycleEndTime/fromCurrentBlock", "changing variables or blocks on resumption")
    controller_id = call.controller_id(body)
    ids = await _selected(call, body, controller_id)
    command: dict[str, Any]
    if body.position is not None:
        if isinstance(body.position, str):
            raise _unsupported("position", "a label as position")
        if len(ids) != 1:
            raise bad_request("a position is given: name exactly one order")
        command = {"TYPE": "ResumeOrder", "orderId": ids[0], "position": body.position}
    else:
        command = {"TYPE": "ResumeOrders", "orderIds": ids}
    if body.force:
        command["restartKilledJob"] = True
    await _modify(call, body, command, ids, controller_id)
    return ok()


@API.post(
    "/orders/confirm",
    summary="Confirms (answers) prompting orders",
    request=ModifyOrdersBase,
    response=OkResponse,
    permission="sos:products:controller:orders:confirm",
    controller_scoped=True,
)
async def confirm_orders(call: Call, body: ModifyOrdersBase) -> Any:
    controller_id = call.controller_id(body)
    ids = await _selected(call, body, controller_id)
    for order_id in ids:
        await _modify(call, body, {"TYPE": "AnswerOrderPrompt", "orderId": order_id}, [order_id], controller_id)
    return ok()
