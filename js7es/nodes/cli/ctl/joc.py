"""The actions of ``js7es ctl`` through the Cockpit's JOC API (``--cockpit URL`` or ``--joc``): each takes
the `CockpitClient` and the parsed arguments, prints what it did and returns the exit code (a failure
raises `ClientError`). They print as the direct actions (commands.py) where the data are the same; the
order ids are JOC's (``#2026-01-31#T…-name``), the workflow paths JOC's (``/hello``).

Each modifying action sends ``--comment`` as JOC's ``auditLog`` comment; the Cockpit records it in its
audit log (``js7es ctl --joc audit``)."""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Callable
from typing import Any

from js7es.domain.value import dumps
from js7es.nodes.cli.ctl.commands import at_moment, parse_argument
from js7es.nodes.cli.ctl.output import format_table, local_iso, local_time, position_text
from js7es.nodes.client.cockpit import CockpitClient
from js7es.nodes.client.errors import ClientError, usage_error

# The actions that only the Controller's own API has, by the name the user typed.
DIRECT_ONLY = {
    "deploy_items": "deploy",
    "answer_prompt": "answer",
    "change_order": "change-order",
    "show_order": "show",
    "print_events": "events",
    "print_overview": "overview",
    "print_cluster": "cluster",
    "switch_over": "switch-over",
    "post_notice": "post-notice",
    "delete_notice": "delete-notice",
    "control_subagents": "disable-subagent, enable-subagent, reset-subagent",
}


def _audited(args: argparse.Namespace, body: dict[str, Any]) -> dict[str, Any]:
    comment = getattr(args, "comment", None)
    if comment is not None:
        if len(comment) > 255:
            raise usage_error("--comment: at most 255 characters (JOC's auditLog.comment)")
        body["auditLog"] = {"comment": comment}
    return body


def _with_controller(client: CockpitClient, args: argparse.Namespace, body: dict[str, Any]) -> dict[str, Any]:
    body["controllerId"] = args.controller_id or client.controller_id()
    return body


def scheduled_for(text: str, now: float | None = None) -> str:
    """``--at`` in JOC's form: ``+SECONDS`` as ``now + SECONDS``, an ISO time (local without a zone) as
    ISO 8601 with its offset."""
    if text.startswith("+"):
        try:
            seconds = float(text[1:])
        except ValueError:
            raise usage_error(f"--at {text!r}: expected +SECONDS or an ISO time like 2026-01-31T12:00:00") from None
        if seconds < 0:
            raise usage_error(f"--at {text!r}: a time in the future")
        return f"now + {round(seconds)}"
    return at_moment(text).isoformat(timespec="seconds")


def add_order(client: CockpitClient, args: argparse.Namespace) -> int:
    if args.id is not None:
        raise usage_error("--id: the Cockpit makes the order id (JOC's #date#T…-name); --name NAME sets its name")
    if args.priority is not None:
        raise usage_error("--priority: only with the Controller's API; leave out --cockpit and --joc")
    order: dict[str, Any] = {"workflowPath": args.workflow}
    if args.name:
        order["orderName"] = args.name
    if args.arg:
        order["arguments"] = dict(parse_argument(a) for a in args.arg)
    if args.at:
        order["scheduledFor"] = scheduled_for(args.at)
    answer = client.post("/orders/add", _audited(args, _with_controller(client, args, {"orders": [order]})))
    [order_id] = answer["orderIds"]
    when = f", scheduled for {order['scheduledFor']}" if "scheduledFor" in order else ""
    print(f"Added order {order_id} to workflow {args.workflow}{when}")
    return 0


def _modify(client: CockpitClient, args: argparse.Namespace, path: str, extra: dict[str, Any]) -> None:
    body = _with_controller(client, args, {"orderIds": list(args.ids), **extra})
    client.post(path, _audited(args, body))


def cancel_orders(client: CockpitClient, args: argparse.Namespace) -> int:
    _modify(client, args, "/orders/cancel", _kill(args))
    print(f"Cancelling {', '.join(args.ids)}")
    return 0


def suspend_orders(client: CockpitClient, args: argparse.Namespace) -> int:
    _modify(client, args, "/orders/suspend", _kill(args))
    print(f"Suspending {', '.join(args.ids)}")
    return 0


def _kill(args: argparse.Namespace) -> dict[str, Any]:
    if args.kill_immediately:
        raise usage_error("--kill-immediately: the JOC API kills with SIGTERM, then SIGKILL; use --kill")
    return {"kill": True} if args.kill else {}


def resume_order(client: CockpitClient, args: argparse.Namespace) -> int:
    import json

    extra: dict[str, Any] = {}
    if args.position is not None:
        try:
            position = json.loads(args.position)
        except ValueError:
            raise usage_error(f'--position {args.position!r}: expected JSON like [1, "then", 0]') from None
        extra["position"] = [position] if isinstance(position, int) else position
    _modify(client, args, "/orders/resume", extra)
    print(f"Resumed {', '.join(args.ids)}")
    return 0


def _state_text(item: dict[str, Any]) -> str:
    state = item.get("state")
    return str(state.get("_text", "?")) if isinstance(state, dict) else str(state or "")


def _print_items(
    items: list[dict[str, Any]], as_json: bool, none: str, headers: list[str], rows: Callable[[], list[list[str]]]
) -> int:
    """One JSON line per item (`--json`), `none` when there is none, else the table of `rows()`."""
    if as_json:
        for item in items:
            print(dumps(item))
    elif not items:
        print(none)
    else:
        print(format_table(headers, rows()))
    return 0


def list_orders(client: CockpitClient, args: argparse.Namespace) -> int:
    body = _with_controller(client, args, {})
    if args.state:
        body["states"] = [args.state.upper()]
    orders = client.post("/orders", body).get("orders", [])
    none = "No orders" + (f" in state {args.state.upper()}" if args.state else "")
    return _print_items(
        orders, args.json, none, ["ID", "WORKFLOW", "POSITION", "STATE", ""], lambda: _order_rows(orders)
    )


def _order_rows(orders: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for order in sorted(orders, key=lambda o: str(o.get("orderId"))):
        workflow = order.get("workflowId") or {}
        notes = []
        attached = order.get("attachedState")
        if isinstance(attached, dict):
            notes.append(f"{str(attached.get('TYPE', 'Attached')).lower()} {attached.get('agentName')}")
        if order.get("scheduledFor") is not None and _state_text(order) in ("SCHEDULED", "PENDING", "BLOCKED"):
            notes.append(
                "never" if order.get("scheduledNever") else f"scheduled for {local_time(order['scheduledFor'])}"
            )
        rows.append(
            [
                str(order.get("orderId")),
                f"{workflow.get('path')}~{workflow.get('versionId')}",
                position_text(order.get("position", [])),
                _state_text(order),
                ", ".join(notes),
            ]
        )
    return rows


def _filter(client: CockpitClient, args: argparse.Namespace) -> dict[str, Any]:
    body = _with_controller(client, args, {"limit": args.limit})
    if args.order:
        body["orderId"] = args.order
    if args.workflow:
        body["workflowName" if "/" not in args.workflow else "workflowPath"] = args.workflow
    return body


def print_history(client: CockpitClient, args: argparse.Namespace) -> int:
    body = _filter(client, args)
    if args.state:
        body["historyStates"] = [args.state.upper()]
    history = client.post("/orders/history", body).get("history", [])
    headers = ["HISTORY", "ORDER", "WORKFLOW", "STATE", "POSITION", "START", "END"]
    return _print_items(
        history,
        args.json,
        "No order history",
        headers,
        lambda: [
            [
                str(h.get("historyId")),
                str(h.get("orderId")),
                str(h.get("workflow")),
                _state_text(h),
                position_text(h.get("position", "")),
                local_iso(h.get("startTime")),
                local_iso(h.get("endTime")),
            ]
            for h in history
        ],
    )


def print_tasks(client: CockpitClient, args: argparse.Namespace) -> int:
    tasks = client.post("/tasks/history", _filter(client, args)).get("history", [])
    headers = ["TASK", "ORDER", "WORKFLOW", "JOB", "STATE", "EXIT", "START", "END"]
    return _print_items(
        tasks,
        args.json,
        "No tasks",
        headers,
        lambda: [
            [
                str(t.get("taskId")),
                str(t.get("orderId")),
                str(t.get("workflow")),
                str(t.get("job") or "-"),
                _state_text(t),
                "" if t.get("exitCode") is None else str(t.get("exitCode")),
                local_iso(t.get("startTime")),
                local_iso(t.get("endTime")),
            ]
            for t in tasks
        ],
    )


def print_task_log(client: CockpitClient, args: argparse.Namespace) -> int:
    answer = client.post_text("/task/log", _with_controller(client, args, {"taskId": args.task_id}))
    print(answer.text, end="" if answer.text.endswith("\n") or not answer.text else "\n")
    return 0


def print_order_log(client: CockpitClient, args: argparse.Namespace) -> int:
    runs = client.post("/orders/history", _with_controller(client, args, {"orderId": args.order_id, "limit": 1}))
    history = [h for h in runs.get("history", []) if h.get("orderId") == args.order_id]
    if not history:
        raise ClientError(f"no run of order {args.order_id} in the Cockpit's history (yet)")
    body = _with_controller(client, args, {"historyId": history[0]["historyId"], "orderId": args.order_id})
    log = client.post("/order/log", body)
    for event in log.get("logEvents", []):
        print(dumps(event) if args.json else format_log_event(event))
    if not args.json and not log.get("complete"):
        print("(the order runs still: its log goes on)")
    return 0


def format_log_event(event: dict[str, Any]) -> str:
    """One line of an order's log: time, logEvent, position and the details JOC gives."""
    details = []
    for key in ("job", "taskId", "agentId", "returnCode", "msg", "error", "arguments", "returnValues"):
        value = event.get(key)
        if value not in (None, "", {}, []):
            details.append(f"{key}={value if isinstance(value, str) else dumps(value)}")
    position = event.get("position")
    return "  ".join(
        part
        for part in (local_iso(event.get("controllerDatetime")), str(event.get("logEvent")), str(position or ""))
        if part
    ) + ("  " + " ".join(details) if details else "")


def print_audit(client: CockpitClient, args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"limit": args.limit}
    if args.controller_id:
        body["controllerId"] = args.controller_id
    entries = client.post("/audit_log", body).get("auditLog", [])
    headers = ["CREATED", "ACCOUNT", "CATEGORY", "REQUEST", "COMMENT"]
    return _print_items(
        entries,
        args.json,
        "No audit log entries",
        headers,
        lambda: [
            [
                local_iso(e.get("created")),
                str(e.get("account")),
                str(e.get("category")),
                str(e.get("request")),
                str(e.get("comment") or ""),
            ]
            for e in entries
        ],
    )


def _plan_date(text: str | None, option: str) -> str | None:
    if text is None:
        return None
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise usage_error(f"{option} {text!r}: expected a date YYYY-MM-DD") from None


def print_daily_plan(client: CockpitClient, args: argparse.Namespace) -> int:
    day = _plan_date(args.date, "--date") or datetime.date.today().isoformat()
    body: dict[str, Any] = {"dailyPlanDateFrom": day, "dailyPlanDateTo": _plan_date(args.to, "--to") or day}
    if args.controller_id:
        body["controllerIds"] = [args.controller_id]
    if args.state:
        body["states"] = [args.state.upper()]
    items = client.post("/daily_plan/orders", body).get("plannedOrderItems", [])
    headers = ["PLANNED START", "ORDER", "SCHEDULE", "WORKFLOW", "STATE", ""]

    def rows() -> list[list[str]]:
        out = []
        for item in items:
            notes = []
            cyclic = item.get("cyclicOrder")
            if isinstance(cyclic, dict):
                notes.append(f"{cyclic.get('count')} starts to {local_iso(cyclic.get('lastStart'))}")
            if item.get("late"):
                notes.append("skipped (late)" if item.get("skipped") else "late")
            out.append(
                [
                    local_iso(item.get("plannedStartTime")),
                    str(item.get("orderId")),
                    str(item.get("schedulePath")),
                    str(item.get("workflowPath")),
                    _state_text(item),
                    ", ".join(notes),
                ]
            )
        return out

    return _print_items(items, args.json, f"No planned orders on {body['dailyPlanDateFrom']}", headers, rows)


def run(args: argparse.Namespace, action: str) -> int:
    """`action` through the Cockpit the arguments name (where.cockpit_from_args)."""
    from js7es.nodes.cli.ctl.where import cockpit_from_args

    if action in DIRECT_ONLY:
        raise usage_error(f"{DIRECT_ONLY[action]}: only with the Controller's API; leave out --cockpit and --joc")
    url, user, password, tls, from_file = cockpit_from_args(args)
    with CockpitClient(url, user, password, tls) as client:
        try:
            client.login()
        except ClientError as e:
            if from_file is not None and "HTTP 401" in str(e):
                raise ClientError(
                    f"{e} (the first password of {user} in {from_file}: changed since? give env JS7ES_PASSWORD)"
                ) from None
            raise
        return int(globals()[action](client, args))
