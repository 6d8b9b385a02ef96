"""The actions of ``js7es ctl``: each takes the `ControllerClient` and the parsed arguments, prints what
it did and returns the exit code (a failure raises `ClientError`)."""

from __future__ import annotations

import argparse
import datetime
import json
import secrets
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from js7es.domain.value import dumps, loads
from js7es.nodes.cli.ctl.output import format_event, format_table, local_time, order_row, state_of
from js7es.nodes.client.controller import PREFIX, ControllerClient
from js7es.nodes.client.errors import ClientError, usage_error
from js7es.nodes.client.items import deploy_operations, new_version_id, read_item_file

# A long poll of the event stream waits this long (the Controller caps it at 60 s).
FOLLOW_TIMEOUT_S = 50.0


def deploy_items(client: ControllerClient, args: argparse.Namespace) -> int:
    items = [read_item_file(Path(f)) for f in args.files]
    keys = [f"{_type(i)}:{i.get('path', i.get('id'))}" for i in items]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise usage_error(f"the same item twice: {', '.join(duplicates)}")
    version_id = args.version_id or new_version_id()
    client.login()
    client.post("/item", deploy_operations(items, version_id))
    workflows = sum(1 for i in items if "instructions" in i)
    print(f"Deployed {len(items)} item(s): {', '.join(keys)}" + (f" (version {version_id})" if workflows else ""))
    return 0


def _type(item: dict[str, Any]) -> str:
    return str(item.get("TYPE") or "Workflow")


def parse_argument(text: str) -> tuple[str, Any]:
    """``name=value``: the value as JSON when it is JSON (3, true, "3", [1, 2]), else the text."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise usage_error(f"--arg {text!r}: expected name=value")
    try:
        return name, loads(value)
    except ValueError:
        return name, value


def parse_at(text: str, now: Callable[[], float] = time.time) -> int:
    """``--at``: ``+SECONDS`` from now, or an ISO time (local time without a zone); epoch milliseconds."""
    if text.startswith("+"):
        try:
            seconds = float(text[1:])
        except ValueError:
            raise usage_error(f"--at {text!r}: expected +SECONDS or an ISO time like 2026-01-31T12:00:00") from None
        return int((now() + seconds) * 1000)
    return int(at_moment(text).timestamp() * 1000)


def at_moment(text: str) -> datetime.datetime:
    """``--at`` as an ISO time: with its offset, or local time without one."""
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise usage_error(f"--at {text!r}: expected +SECONDS or an ISO time like 2026-01-31T12:00:00") from None
    return moment if moment.tzinfo is not None else moment.astimezone()


def new_order_id(workflow: str) -> str:
    now = datetime.datetime.now()
    return f"#{now:%Y-%m-%d}#C{now:%H%M%S}{secrets.randbelow(10000):04d}-{workflow.rsplit('/', 1)[-1]}"


def add_order(client: ControllerClient, args: argparse.Namespace) -> int:
    order: dict[str, Any] = {"id": args.id or new_order_id(args.workflow), "workflowPath": args.workflow}
    if args.arg:
        order["arguments"] = dict(parse_argument(a) for a in args.arg)
    if args.at:
        order["scheduledFor"] = parse_at(args.at)
    if args.priority is not None:
        order["priority"] = args.priority
    client.login()
    client.post("/order", order)
    when = f", scheduled for {local_time(order['scheduledFor'])}" if "scheduledFor" in order else ""
    print(f"Added order {order['id']} to workflow {args.workflow}{when}")
    return 0


def _kill_mode(args: argparse.Namespace) -> dict[str, Any]:
    if args.kill_immediately:
        return {"kill": {"immediately": True}}
    return {"kill": {"immediately": False}} if args.kill else {}


def cancel_orders(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    mode = {"TYPE": "FreshOrStarted", **_kill_mode(args)}
    client.command({"TYPE": "CancelOrders", "orderIds": args.ids, "mode": mode})
    print(f"Cancelling {', '.join(args.ids)}")
    return 0


def suspend_orders(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    command: dict[str, Any] = {"TYPE": "SuspendOrders", "orderIds": args.ids}
    if args.kill or args.kill_immediately:
        command["mode"] = _kill_mode(args)
    client.command(command)
    print(f"Suspending {', '.join(args.ids)}")
    return 0


def resume_order(client: ControllerClient, args: argparse.Namespace) -> int:
    command: dict[str, Any] = {"TYPE": "ResumeOrder"}
    if args.position is not None:
        try:
            position = json.loads(args.position)
        except ValueError:
            raise usage_error(f'--position {args.position!r}: expected JSON like [1, "then", 0]') from None
        command["position"] = [position] if isinstance(position, int) else position
    client.login()
    for order_id in args.ids:  # one ResumeOrder each: its position is of one order
        client.command({**command, "orderId": order_id})
    print(f"Resumed {', '.join(args.ids)}")
    return 0


def change_order(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    client.command({"TYPE": "ChangeOrder", "orderId": args.id, "priority": args.priority})
    print(f"Changed the priority of {args.id} to {args.priority}")
    return 0


def answer_prompt(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    client.command({"TYPE": "AnswerOrderPrompt", "orderId": args.id})
    print(f"Answered the prompt of {args.id}")
    return 0


def go_order(client: ControllerClient, args: argparse.Namespace) -> int:
    """GoOrder at the order's position (JS7 asks for it, so that a go meant for one wait ends no other)."""
    client.login()
    if args.position is not None:
        try:
            position = json.loads(args.position)
        except ValueError:
            raise usage_error(f'--position {args.position!r}: expected JSON like [1, "then", 0]') from None
        position = [position] if isinstance(position, int) else position
    else:
        position = client.get("/order/" + urllib.parse.quote(args.id, safe=""))["position"]
    client.command({"TYPE": "GoOrder", "orderId": args.id, "position": position})
    print(f"{args.id} goes on")
    return 0


def transfer_orders(client: ControllerClient, args: argparse.Namespace) -> int:
    """TransferOrders: the orders of WORKFLOW (PATH~VERSION) continue in the current version."""
    path, tilde, version = args.workflow.partition("~")
    if not tilde or not path or not version:
        raise usage_error(f"{args.workflow!r}: expected the workflow version as PATH~VERSION")
    client.login()
    client.command({"TYPE": "TransferOrders", "workflowId": {"path": path, "versionId": version}})
    print(f"Transferred the orders of {args.workflow} to the current version of {path}")
    return 0


def control_workflow_path(client: ControllerClient, args: argparse.Namespace) -> int:
    """suspend-workflow, resume-workflow, skip-job, unskip-job: JS7's ControlWorkflowPath."""
    command: dict[str, Any] = {"TYPE": "ControlWorkflowPath", "workflowPath": args.workflow}
    match args.control:
        case "suspend" | "resume":
            command["suspend"] = args.control == "suspend"
            done = f"{'Suspended' if args.control == 'suspend' else 'Resumed'} the workflow {args.workflow}"
        case _:
            command["skip"] = {args.label: args.control == "skip"}
            done = f"{'Skipping' if args.control == 'skip' else 'No longer skipping'} {args.label} in {args.workflow}"
    client.login()
    client.command(command)
    print(done)
    return 0


def control_subagents(client: ControllerClient, args: argparse.Namespace) -> int:
    """disable-subagent, enable-subagent (js7es's Disable/EnableSubagents, as JOC's), reset-subagent (JS7's
    ResetSubagent)."""
    command: dict[str, Any]
    match args.control:
        case "reset":
            (subagent_id,) = args.subagents
            command = {"TYPE": "ResetSubagent", "subagentId": subagent_id, "force": args.force}
            done = f"Resetting the Subagent {subagent_id}"
        case control:
            command = {"TYPE": f"{control.capitalize()}Subagents", "subagentIds": list(args.subagents)}
            done = f"{control.capitalize()}d the Subagents {', '.join(args.subagents)}"
    client.login()
    client.command(command)
    print(done)
    return 0


def notice_id(args: argparse.Namespace) -> list[str]:
    """JS7's NoticeId: [board, key?] or, in a daily plan, ["DailyPlan", date, board, key?]."""
    plan = ["DailyPlan", args.plan] if args.plan else []
    return [*plan, args.board, *([args.notice_key] if args.notice_key else [])]


def post_notice(client: ControllerClient, args: argparse.Namespace) -> int:
    command: dict[str, Any] = {"TYPE": "PostNotice", "noticeId": notice_id(args)}
    if args.end_of_life:
        command["endOfLife"] = parse_at(args.end_of_life)
    client.login()
    client.command(command)
    print(
        f"Posted the notice {args.notice_key!r} to board {args.board}"
        + (f" in the plan {args.plan}" if args.plan else "")
    )
    return 0


def delete_notice(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    client.command({"TYPE": "DeleteNotice", "noticeId": notice_id(args)})
    print(f"Deleted the notice {args.notice_key!r} of board {args.board}")
    return 0


def list_orders(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    orders = client.get("/order").get("orders", [])
    if args.state:
        wanted = args.state.lower()
        orders = [
            o for o in orders if state_of(o).lower() == wanted or (wanted == "suspended" and o.get("isSuspended"))
        ]
    if args.json:
        for order in orders:
            print(dumps(order))
        return 0
    if not orders:
        print("No orders" + (f" in state {args.state}" if args.state else ""))
        return 0
    rows = [order_row(o) for o in sorted(orders, key=lambda o: str(o.get("id")))]
    print(format_table(["ID", "WORKFLOW", "POSITION", "STATE", ""], rows))
    return 0


def show_order(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    order = client.get("/order/" + urllib.parse.quote(args.id, safe=""))
    print(dumps(order, indent=2))
    return 0


def print_events(client: ControllerClient, args: argparse.Namespace) -> int:
    client.login()
    after: int = args.after
    show: Callable[[dict[str, Any]], str] = dumps if args.json else format_event
    lost = False
    while True:
        try:
            for event in client.events(after, timeout=FOLLOW_TIMEOUT_S if args.follow else 0):
                after = int(event["eventId"])
                sys.stdout.write(show(event) + "\n")
                sys.stdout.flush()
            if lost:
                print("js7es: connected again", file=sys.stderr)
                lost = False
        except ClientError as e:
            if not args.follow or ("cannot talk" not in str(e) and "in time" not in str(e)):
                raise
            if not lost:
                print(f"js7es: {e}; retrying", file=sys.stderr)
                lost = True
            time.sleep(1)
        if not args.follow:
            return 0


def print_overview(client: ControllerClient, args: argparse.Namespace) -> int:
    overview = client.get("")
    if args.json:
        print(dumps(overview, indent=2))
        return 0
    running = overview.get("totalRunningTime")
    print(
        f"Controller {overview.get('id')} at {client.connection.uris[0]}{PREFIX} "
        f"(js7es {overview.get('version')}, running {running} s"
        f"{', terminating' if overview.get('isTerminating') else ''})"
    )
    print(f"EventId {overview.get('eventId')}, {overview.get('orders')} order(s)")
    for path, agent in sorted((overview.get("agents") or {}).items()):
        problem = f" — {agent['problem']}" if agent.get("problem") else ""
        print(f"Agent {path}: {agent.get('coupling')}{problem}")
    return 0


def print_cluster(client: ControllerClient, args: argparse.Namespace) -> int:
    info = client.cluster_info()
    if args.json:
        print(dumps(info, indent=2))
        return 0
    state = info.get("clusterState") or {}
    setting = state.get("setting") or {}
    role = "active" if info.get("active") else "standby"
    print(f"Node {info.get('nodeId')} at {client.url}: {role}, EventId {info.get('eventId')}")
    print(f"Cluster {state.get('TYPE')}, active node {setting.get('activeId')}")
    for node_id, uri in sorted((setting.get("idToUri") or {}).items()):
        print(f"  {node_id}: {uri}")
    if info.get("problem"):
        print(f"PROBLEM: {info['problem']}")
    if info.get("active"):
        print(f"Failover: {_failover_possible(state.get('TYPE'), info.get('clusterWatch') or {})}")
    return 0


def _failover_possible(cluster_state: str | None, watch: dict[str, Any]) -> str:
    """Whether the standby could take over now if the active node died: only from a Coupled cluster
    that the Cluster Watch knows Coupled."""
    if cluster_state != "Coupled":
        return f"not possible now: the cluster is {cluster_state}, not Coupled"
    if watch.get("problem"):
        return f"unknown: the Cluster Watch's last answer was {watch['problem']}"
    if watch.get("failoverPossible"):
        return "possible now (the Cluster Watch knows the cluster Coupled)"
    return f"not possible now: the Cluster Watch knows {watch.get('clusterState') or 'nothing yet'}, not Coupled"


def switch_over(client: ControllerClient, args: argparse.Namespace) -> int:
    agent = getattr(args, "agent", None)
    if agent:
        client.command({"TYPE": "ClusterSwitchOver", "agentPath": agent})
        print(f"Switchover accepted: the standby Director of Agent {agent} becomes active")
        return 0
    client.command({"TYPE": "ClusterSwitchOver"})
    print("Switchover accepted: the standby becomes active, this node restarts as standby")
    return 0
