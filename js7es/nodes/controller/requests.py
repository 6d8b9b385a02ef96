"""The Controller API's request bodies (JS7's JSON shapes) read strictly into domain commands.

Unknown fields are refused rather than ignored: a misspelt option must not silently do something else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from js7es.domain.commands import Command
from js7es.domain.commands.change_order import ChangeOrder, GoOrder
from js7es.domain.commands.orders import (
    AddOrders,
    AnswerOrderPrompt,
    CancelOrders,
    DeleteOrdersWhenTerminated,
    FreshOrder,
    ResumeOrders,
    SuspendOrders,
)
from js7es.domain.commands.subagents import DisableSubagents, EnableSubagents, ResetSubagent
from js7es.domain.commands.transfer import TransferOrders
from js7es.domain.commands.workflow_controls import ControlWorkflow, ControlWorkflowPath
from js7es.domain.problem import Problem, problem
from js7es.domain.value import normalize_number, value_from_json
from js7es.domain.workflow import position as pos
from js7es.domain.workflow.workflow import WorkflowId
from js7es.nodes.controller.notice_requests import NoticeRequestError, notice_command

MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: beyond it, no timestamp can be shown or stored as JS7's


class BadRequest(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _bad(code: str, message: str) -> BadRequest:
    return BadRequest(problem(code, message))


def _object(obj: Any, where: str, required: set[str], optional: set[str]) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise _bad("InvalidRequest", f"{where}: expected a JSON object")
    unknown = set(obj) - required - optional - {"TYPE"}
    if unknown:
        raise _bad("UnknownField", f"{where}: unknown field(s) {sorted(unknown)}")
    missing = required - set(obj)
    if missing:
        raise _bad("MissingField", f"{where}: missing field(s) {sorted(missing)}")
    return obj


def _string(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise _bad("InvalidRequest", f"{where}.{key} must be a string")
    return value


def _strings(obj: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = obj[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad("InvalidRequest", f"{where}.{key} must be a list of strings")
    return tuple(value)


def _bool(obj: Mapping[str, Any], key: str, where: str, default: bool = False) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise _bad("InvalidRequest", f"{where}.{key} must be true or false")
    return value


def _position(obj: Mapping[str, Any], key: str, where: str) -> pos.Position | None:
    value = obj.get(key)
    if value is None:
        return None
    if not pos.is_valid(value):
        raise _bad("InvalidPosition", f'{where}.{key} must be a position like [1, "then", 0]')
    return tuple(value)


def _position_or_label(value: Any, where: str) -> pos.PositionOrLabel:
    """A startPosition or one of the stopPositions: a position or a label."""
    if isinstance(value, str) and value:
        return value  # a label: the domain resolves it (an unknown one is refused as UnknownKey)
    if not pos.is_valid(value):
        raise _bad("InvalidPosition", f'{where}: a position like [1, "then", 0] or a label is needed, not {value!r}')
    return tuple(value)


def _stop_positions(obj: Mapping[str, Any], where: str) -> tuple[pos.PositionOrLabel, ...] | None:
    value = obj.get("stopPositions")
    if value is None:
        return None
    if not isinstance(value, list):
        raise _bad("InvalidPosition", f"{where}.stopPositions must be a list of positions or labels")
    return tuple(_position_or_label(v, f"{where}.stopPositions[{i}]") for i, v in enumerate(value)) or None


def fresh_order(obj: Any) -> FreshOrder:
    where = "order"
    o = _object(
        obj,
        where,
        {"id", "workflowPath"},
        {
            "arguments",
            "scheduledFor",
            "deleteWhenTerminated",
            "startPosition",
            "forceAdmission",
            "forceJobAdmission",
            "priority",
            "stopPositions",
            "planId",
        },
    )
    arguments = o.get("arguments", {})
    if not isinstance(arguments, Mapping):
        raise _bad("InvalidRequest", "order.arguments must be an object")
    scheduled_for = o.get("scheduledFor")
    if scheduled_for is not None and (
        not isinstance(scheduled_for, int) or isinstance(scheduled_for, bool) or not 0 <= scheduled_for <= MAX_MS
    ):
        raise _bad("InvalidRequest", "order.scheduledFor must be epoch milliseconds (1970 to 9999)")
    converted = value_from_json(dict(arguments))
    assert isinstance(converted, Mapping)
    return FreshOrder(
        id=_string(o, "id", where),
        workflow_path=_string(o, "workflowPath", where),
        arguments=converted,
        scheduled_for=scheduled_for,
        delete_when_terminated=_bool(o, "deleteWhenTerminated", where),
        start_position=None
        if o.get("startPosition") is None
        else _position_or_label(o["startPosition"], f"{where}.startPosition"),
        stop_positions=_stop_positions(o, where),
        plan_id=_plan_id(o, where),
        # JS7 writes forceAdmission and reads forceJobAdmission too (its name up to 2.8.1)
        force_admission=_bool(o, "forceJobAdmission", where) or _bool(o, "forceAdmission", where),
        priority=_priority(o, where),
    )


def _plan_id(obj: Mapping[str, Any], where: str) -> tuple[str, ...] | None:
    """JS7 2.8's planId: [] (the global plan) or [planSchemaId, planKey]."""
    value = obj.get("planId")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) not in (0, 2) or not all(isinstance(v, str) for v in value):
        raise _bad(
            "InvalidRequest", f'{where}.planId must be [] or [planSchemaId, planKey], e.g. ["DailyPlan", "2025-01-31"]'
        )
    return tuple(value)


def _priority(obj: Mapping[str, Any], where: str) -> int | Decimal | None:
    """JS7 2.7's priority, a BigDecimal: a number such as 1, 1.5 or -3.25 (an int when whole)."""
    value = obj.get("priority")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise _bad("InvalidRequest", f"{where}.priority must be a number")
    number = Decimal(value)
    # Bounded, so that no request makes a huge number (1E+999999999 would be a billion-digit int)
    if not number.is_finite() or number.adjusted() > 30 or len(number.as_tuple().digits) > 60:
        raise _bad("InvalidRequest", f"{where}.priority must be a number below 1E+31 with at most 60 digits")
    return normalize_number(number)


# The fields of each ItemOperation. The items inside are the domain's to read (leniently, as JS7 does).
_ITEM_OPERATIONS: dict[str, tuple[set[str], set[str]]] = {
    "AddVersion": ({"versionId"}, set()),
    "AddOrChangeSigned": ({"signedString"}, set()),
    "AddOrChangeSimple": ({"item"}, set()),
    "RemoveVersioned": ({"path"}, set()),
    "DeleteSimple": ({"path"}, set()),
}


def item_operations(body: Any) -> list[Any]:
    """The ItemOperations of a deployment (one or a list), each with exactly its own fields.

    Unknown operation TYPEs and the items themselves are left to the domain, which refuses the
    deployment as a whole.
    """
    operations = body if isinstance(body, list) else [body]
    for nr, op in enumerate(operations):
        if isinstance(op, Mapping) and isinstance(op.get("TYPE"), str) and op["TYPE"] in _ITEM_OPERATIONS:
            where = f"Operation {nr} ({op['TYPE']})"
            _object(op, where, *_ITEM_OPERATIONS[op["TYPE"]])
            if op["TYPE"] == "AddOrChangeSigned":
                _object(op["signedString"], f"{where}.signedString", {"string"}, {"signature"})
    return operations


def _kill(mode: Mapping[str, Any], where: str) -> tuple[bool, bool]:
    """JS7's `kill: {immediately?, workflowPosition?}`: (kill, immediately)."""
    kill = mode.get("kill")
    if kill is None:
        return False, False
    _object(kill, f"{where}.kill", set(), {"immediately", "workflowPosition"})
    if kill.get("workflowPosition") is not None:
        raise _not_supported(f"{where}.kill.workflowPosition", "killing only at a given workflow position")
    return True, _bool(kill, "immediately", f"{where}.kill")


def _not_supported(field: str, what: str) -> BadRequest:
    """A JS7 option js7es does not implement: refused, never silently ignored."""
    return BadRequest(problem("NotSupported", f"{field}: js7es does not support {what} yet", field=field))


def _workflow_id(obj: Any, where: str) -> WorkflowId:
    """JS7's WorkflowId JSON: {"path": ..., "versionId": ...}."""
    o = _object(obj, where, {"path", "versionId"}, set())
    return WorkflowId(_string(o, "path", where), _string(o, "versionId", where))


def _positions(obj: Mapping[str, Any], key: str, where: str) -> tuple[pos.Position, ...]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(pos.is_valid(p) for p in value):
        raise _bad("InvalidPosition", f'{where}.{key} must be a list of positions like [1, "then", 0]')
    return tuple(tuple(p) for p in value)


def _optional_bool(obj: Mapping[str, Any], key: str, where: str) -> bool | None:
    return None if obj.get(key) is None else _bool(obj, key, where)


@dataclass(frozen=True, slots=True)
class ReleaseEvents:
    """A reader (JS7: a user listed in users-allowed-to-release-events) has read up to this EventId."""

    until_event_id: int


@dataclass(frozen=True, slots=True)
class AgentClusterSwitchOverRequest:
    """ClusterSwitchOver with agentPath: the Agent's Director pair switches over (JS7's ControllerCommand)."""

    agent_path: str


def command(obj: Any) -> Command | ReleaseEvents | AgentClusterSwitchOverRequest | str:
    """A domain command, or the name of a node command (TakeSnapshot, ShutDown, NoOperation,
    ClusterSwitchOver)."""
    if not isinstance(obj, Mapping) or not isinstance(obj.get("TYPE"), str):
        raise _bad("InvalidRequest", "A command is a JSON object with a TYPE")
    type_ = obj["TYPE"]
    where = type_
    match type_:
        case "AddOrder":
            o = _object(obj, where, {"order"}, set())
            return AddOrders(orders=(fresh_order(o["order"]),))
        case "AddOrders":
            o = _object(obj, where, {"orders"}, set())
            if not isinstance(o["orders"], list):
                raise _bad("InvalidRequest", f"{where}.orders must be a list of orders")
            return AddOrders(orders=tuple(fresh_order(order) for order in o["orders"]))
        case "CancelOrders":
            o = _object(obj, where, {"orderIds"}, {"mode"})
            mode = _object(o.get("mode", {"TYPE": "FreshOrStarted"}), f"{where}.mode", set(), {"kill"})
            mode_type = mode.get("TYPE", "FreshOrStarted")
            if mode_type not in ("FreshOnly", "FreshOrStarted"):
                raise _bad("InvalidRequest", f"{where}.mode.TYPE must be FreshOnly or FreshOrStarted")
            kill, immediately = _kill(mode, f"{where}.mode")
            return CancelOrders(
                order_ids=_strings(o, "orderIds", where), mode=mode_type, kill=kill, kill_immediately=immediately
            )
        case "SuspendOrders":
            o = _object(obj, where, {"orderIds"}, {"mode"})
            mode = _object(o.get("mode", {}), f"{where}.mode", set(), {"kill", "resetState"})
            kill, immediately = _kill(mode, f"{where}.mode")
            return SuspendOrders(
                order_ids=_strings(o, "orderIds", where),
                kill=kill,
                kill_immediately=immediately,
                reset_state=_bool(mode, "resetState", f"{where}.mode"),
            )
        case "ResumeOrder":
            o = _object(obj, where, {"orderId"}, {"position", "asSucceeded", "historyOperations", "restartKilledJob"})
            if o.get("historyOperations"):
                raise _not_supported(f"{where}.historyOperations", "changing the order's history on resumption")
            return ResumeOrders(
                order_ids=(_string(o, "orderId", where),),
                position=_position(o, "position", where),
                as_succeeded=_bool(o, "asSucceeded", where),
                restart_killed_job=_optional_bool(o, "restartKilledJob", where),
            )
        case "ResumeOrders":
            o = _object(obj, where, {"orderIds"}, {"asSucceeded", "restartKilledJob"})
            return ResumeOrders(
                order_ids=_strings(o, "orderIds", where),
                as_succeeded=_bool(o, "asSucceeded", where),
                restart_killed_job=_optional_bool(o, "restartKilledJob", where),
            )
        case "AnswerOrderPrompt":
            o = _object(obj, where, {"orderId"}, set())
            return AnswerOrderPrompt(order_id=_string(o, "orderId", where))
        case "ChangeOrder":
            o = _object(obj, where, {"orderId"}, {"priority"})
            return ChangeOrder(order_id=_string(o, "orderId", where), priority=_priority(o, where))
        case "GoOrder":
            o = _object(obj, where, {"orderId", "position"}, set())
            position = _position(o, "position", where)
            assert position is not None  # required above
            return GoOrder(order_id=_string(o, "orderId", where), position=position)
        case "DeleteOrdersWhenTerminated":
            o = _object(obj, where, {"orderIds"}, set())
            return DeleteOrdersWhenTerminated(order_ids=_strings(o, "orderIds", where))
        case "ControlWorkflowPath":
            o = _object(obj, where, {"workflowPath"}, {"suspend", "skip"})
            skip = o.get("skip", {})
            if not isinstance(skip, Mapping) or not all(isinstance(v, bool) for v in skip.values()):
                raise _bad("InvalidRequest", f"{where}.skip must be an object of label: true or false")
            return ControlWorkflowPath(
                workflow_path=_string(o, "workflowPath", where),
                suspend=_optional_bool(o, "suspend", where),
                skip={str(label): on for label, on in skip.items()},
            )
        case "TransferOrders":
            o = _object(obj, where, {"workflowId"}, set())
            return TransferOrders(workflow_id=_workflow_id(o["workflowId"], f"{where}.workflowId"))
        case "ControlWorkflow":
            o = _object(obj, where, {"workflowId"}, {"addBreakpoints", "removeBreakpoints"})
            return ControlWorkflow(
                workflow_id=_workflow_id(o["workflowId"], f"{where}.workflowId"),
                add_breakpoints=_positions(o, "addBreakpoints", where),
                remove_breakpoints=_positions(o, "removeBreakpoints", where),
            )
        case "ResetSubagent":
            o = _object(obj, where, {"subagentId"}, {"force"})
            return ResetSubagent(subagent_id=_string(o, "subagentId", where), force=_bool(o, "force", where))
        case "EnableSubagents" | "DisableSubagents":  # js7es's: JOC changes the SubagentItems' `disabled`
            o = _object(obj, where, {"subagentIds"}, set())
            ids = _strings(o, "subagentIds", where)
            return (
                EnableSubagents(subagent_ids=ids) if type_ == "EnableSubagents" else DisableSubagents(subagent_ids=ids)
            )
        case "ReleaseEvents":
            o = _object(obj, where, {"untilEventId"}, set())
            until = o["untilEventId"]
            if not isinstance(until, int) or isinstance(until, bool) or until < 0:
                raise _bad("InvalidRequest", "ReleaseEvents.untilEventId must be an EventId")
            return ReleaseEvents(until_event_id=until)
        case "PostNotice" | "DeleteNotice":
            try:
                return notice_command(obj)
            except NoticeRequestError as e:
                raise _bad(e.code, str(e)) from None
        case "ClusterSwitchOver":
            o = _object(obj, where, set(), {"agentPath"})
            if "agentPath" in o:
                if not isinstance(o["agentPath"], str) or not o["agentPath"]:
                    raise _bad("InvalidRequest", "ClusterSwitchOver.agentPath must be an AgentPath")
                return AgentClusterSwitchOverRequest(agent_path=o["agentPath"])
            return str(type_)
        case "TakeSnapshot" | "NoOperation":
            _object(obj, where, set(), set())
            return str(type_)
        case "ShutDown":
            _object(obj, where, set(), {"restart", "suppressSnapshot", "clusterAction"})
            return str(type_)
    raise _bad("UnknownCommand", f"Unknown command TYPE {type_!r}")
