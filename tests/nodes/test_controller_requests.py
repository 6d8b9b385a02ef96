"""The Controller API's command bodies in JS7's JSON (ControllerCommand.scala): every JS7 option is
carried into the domain command or refused with a coded problem, never silently dropped."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from js7es.domain.commands.change_order import ChangeOrder, GoOrder
from js7es.domain.commands.orders import AddOrders, CancelOrders, FreshOrder, ResumeOrders, SuspendOrders
from js7es.domain.commands.subagents import DisableSubagents, EnableSubagents, ResetSubagent
from js7es.domain.commands.transfer import TransferOrders
from js7es.domain.commands.workflow_controls import ControlWorkflow, ControlWorkflowPath
from js7es.domain.workflow.workflow import WorkflowId
from js7es.nodes.controller.requests import BadRequest, command


def refused(obj: Any) -> str:
    with pytest.raises(BadRequest) as e:
        command(obj)
    return e.value.problem.code


def test_add_order_and_add_orders_are_commands_as_in_js7() -> None:
    order = {"id": "o", "workflowPath": "W", "arguments": {"n": 1}}
    assert command({"TYPE": "AddOrder", "order": order}) == AddOrders(
        orders=(FreshOrder(id="o", workflow_path="W", arguments={"n": 1}),)
    )
    added = command({"TYPE": "AddOrders", "orders": [order, {**order, "id": "p"}]})
    assert isinstance(added, AddOrders) and [o.id for o in added.orders] == ["o", "p"]
    assert refused({"TYPE": "AddOrder", "order": {**order, "priorty": 3}}) == "UnknownField"  # misspelt
    assert refused({"TYPE": "AddOrder", "order": {**order, "priority": "1.5"}}) == "InvalidRequest"
    assert refused({"TYPE": "AddOrder", "order": {**order, "priority": Decimal("1E+999999999")}}) == "InvalidRequest"
    assert refused({"TYPE": "AddOrder", "order": {**order, "priority": Decimal("NaN")}}) == "InvalidRequest"
    assert refused({"TYPE": "AddOrders", "orders": order}) == "InvalidRequest"
    with_priority = command({"TYPE": "AddOrder", "order": {**order, "priority": -20000}})
    assert isinstance(with_priority, AddOrders) and with_priority.orders[0].priority == -20000
    decimal = command({"TYPE": "AddOrder", "order": {**order, "priority": Decimal("1.50")}})
    assert isinstance(decimal, AddOrders) and decimal.orders[0].priority == Decimal("1.5")
    whole = command({"TYPE": "AddOrder", "order": {**order, "priority": Decimal("2.0")}})
    assert isinstance(whole, AddOrders) and type(whole.orders[0].priority) is int  # as JS7 values: whole → int


def test_add_order_start_and_stop_positions_by_label_and_plan_id() -> None:
    """JS7's FreshOrder: startPosition and each of the stopPositions a position or a label; planId."""
    order = {"id": "o", "workflowPath": "W", "startPosition": "START", "stopPositions": [[2, "then", 0], "STOP"]}
    added = command({"TYPE": "AddOrder", "order": {**order, "planId": []}})
    assert isinstance(added, AddOrders)
    fresh = added.orders[0]
    assert (fresh.start_position, fresh.stop_positions, fresh.plan_id) == ("START", ((2, "then", 0), "STOP"), ())
    assert refused({"TYPE": "AddOrder", "order": {**order, "stopPositions": "STOP"}}) == "InvalidPosition"
    assert refused({"TYPE": "AddOrder", "order": {**order, "stopPositions": [[2, "then"]]}}) == "InvalidPosition"
    assert refused({"TYPE": "AddOrder", "order": {**order, "startPosition": ""}}) == "InvalidPosition"
    assert refused({"TYPE": "AddOrder", "order": {**order, "planId": ["DailyPlan"]}}) == "InvalidRequest"


def test_change_order_priority() -> None:
    assert command({"TYPE": "ChangeOrder", "orderId": "o", "priority": 7}) == ChangeOrder(order_id="o", priority=7)
    fraction = command({"TYPE": "ChangeOrder", "orderId": "o", "priority": Decimal("-3.25")})
    assert fraction == ChangeOrder(order_id="o", priority=Decimal("-3.25"))
    assert refused({"TYPE": "ChangeOrder", "orderId": "o", "priority": "high"}) == "InvalidRequest"
    assert refused({"TYPE": "ChangeOrder", "orderId": "o", "position": [1]}) == "UnknownField"


def test_cancel_orders_kill_immediately() -> None:
    def cancel(mode: dict[str, Any]) -> Any:
        return command({"TYPE": "CancelOrders", "orderIds": ["o"], "mode": mode})

    assert cancel({"TYPE": "FreshOrStarted"}) == CancelOrders(order_ids=("o",))
    assert cancel({"TYPE": "FreshOrStarted", "kill": {}}) == CancelOrders(order_ids=("o",), kill=True)
    assert cancel({"TYPE": "FreshOrStarted", "kill": {"immediately": True}}) == CancelOrders(
        order_ids=("o",), kill=True, kill_immediately=True
    )
    assert refused({"TYPE": "CancelOrders", "orderIds": ["o"], "mode": {"kill": {"immediately": "yes"}}}) == (
        "InvalidRequest"
    )
    position = {"TYPE": "FreshOrStarted", "kill": {"workflowPosition": {"workflowId": {}, "position": [0]}}}
    assert refused({"TYPE": "CancelOrders", "orderIds": ["o"], "mode": position}) == "NotSupported"


def test_suspend_orders_reset_state_and_kill_immediately() -> None:
    mode = {"resetState": True, "kill": {"immediately": True}}
    assert command({"TYPE": "SuspendOrders", "orderIds": ["o"], "mode": mode}) == SuspendOrders(
        order_ids=("o",), kill=True, kill_immediately=True, reset_state=True
    )
    assert command({"TYPE": "SuspendOrders", "orderIds": ["o"]}) == SuspendOrders(order_ids=("o",))


def test_resume_order_restart_killed_job() -> None:
    assert command({"TYPE": "ResumeOrder", "orderId": "o"}) == ResumeOrders(order_ids=("o",))
    assert command({"TYPE": "ResumeOrder", "orderId": "o", "restartKilledJob": False}) == ResumeOrders(
        order_ids=("o",), restart_killed_job=False
    )
    resumed = command({"TYPE": "ResumeOrder", "orderId": "o", "position": [0, "then+2", 0], "restartKilledJob": True})
    assert resumed == ResumeOrders(order_ids=("o",), position=(0, "then+2", 0), restart_killed_job=True)
    assert command({"TYPE": "ResumeOrders", "orderIds": ["o"], "restartKilledJob": True}) == ResumeOrders(
        order_ids=("o",), restart_killed_job=True
    )
    assert command({"TYPE": "ResumeOrder", "orderId": "o", "historyOperations": []}) == ResumeOrders(order_ids=("o",))
    history = [{"TYPE": "Delete", "position": [0]}]
    assert refused({"TYPE": "ResumeOrder", "orderId": "o", "historyOperations": history}) == "NotSupported"


def test_workflow_controls_go_and_transfer_as_in_js7() -> None:
    """ControlWorkflowPath, ControlWorkflow, GoOrder and TransferOrders in JS7's JSON; bad input is a
    coded problem."""
    assert command(
        {"TYPE": "ControlWorkflowPath", "workflowPath": "W", "suspend": True, "skip": {"L": True, "M": False}}
    ) == ControlWorkflowPath(workflow_path="W", suspend=True, skip={"L": True, "M": False})
    assert command({"TYPE": "ControlWorkflowPath", "workflowPath": "W"}) == ControlWorkflowPath(workflow_path="W")
    assert refused({"TYPE": "ControlWorkflowPath", "workflowPath": "W", "skip": {"L": "yes"}}) == "InvalidRequest"
    assert refused({"TYPE": "ControlWorkflowPath", "workflowPath": "W", "suspend": 1}) == "InvalidRequest"
    assert refused({"TYPE": "ControlWorkflowPath", "workflowPath": "W", "suspended": True}) == "UnknownField"
    workflow_id = {"path": "W", "versionId": "1"}
    assert command(
        {"TYPE": "ControlWorkflow", "workflowId": workflow_id, "addBreakpoints": [[0], [1, "then", 0]]}
    ) == ControlWorkflow(workflow_id=WorkflowId("W", "1"), add_breakpoints=((0,), (1, "then", 0)))
    assert refused({"TYPE": "ControlWorkflow", "workflowId": workflow_id, "addBreakpoints": [1]}) == "InvalidPosition"
    assert refused({"TYPE": "ControlWorkflow", "workflowId": "W~1"}) == "InvalidRequest"
    assert command({"TYPE": "GoOrder", "orderId": "o", "position": [0, "try+1", 0]}) == GoOrder(
        order_id="o", position=(0, "try+1", 0)
    )
    assert refused({"TYPE": "GoOrder", "orderId": "o"}) == "MissingField"
    assert command({"TYPE": "TransferOrders", "workflowId": workflow_id}) == TransferOrders(
        workflow_id=WorkflowId("W", "1")
    )
    assert refused({"TYPE": "TransferOrders", "workflowId": {"path": "W"}}) == "MissingField"


def test_subagent_commands() -> None:
    """JS7's ResetSubagent; js7es's Enable/DisableSubagents (JOC's enable/disable of Subagents)."""
    assert command({"TYPE": "ResetSubagent", "subagentId": "s"}) == ResetSubagent(subagent_id="s")
    assert command({"TYPE": "ResetSubagent", "subagentId": "s", "force": True}) == ResetSubagent(
        subagent_id="s", force=True
    )
    assert command({"TYPE": "DisableSubagents", "subagentIds": ["a", "b"]}) == DisableSubagents(subagent_ids=("a", "b"))
    assert command({"TYPE": "EnableSubagents", "subagentIds": ["a"]}) == EnableSubagents(subagent_ids=("a",))
    assert refused({"TYPE": "ResetSubagent"}) == "MissingField"
    assert refused({"TYPE": "ResetSubagent", "subagentId": "s", "force": "yes"}) == "InvalidRequest"
    assert refused({"TYPE": "EnableSubagents", "subagentIds": "a"}) == "InvalidRequest"
    assert refused({"TYPE": "DisableSubagents", "subagentIds": ["a"], "all": True}) == "UnknownField"
